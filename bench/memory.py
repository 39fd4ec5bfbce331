"""Memory over a simulated week: seven 8-hour nights at 50 Hz through one long-lived pipeline.

Run: python -m bench.memory [--nights N] [--hours H] [--quick]

One `Pipeline` (embedded demo config, the rule files in `rules/`) lives through the week, as
the service does for months: each night is replayed into it (rendered lazily, never held in
memory), summarised in the morning, and the day in between is ticked once a second as the live
ticker would. After each night and its day the garbage collector runs and the process's resident
memory and live Python objects are read; a service that leaks grows night by night.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psutil

from bench.detection import RULES_DIR, demo_config
from integration.adapters.rulefiles import load_rules
from integration.core.readings import TICK_S, Tick
from integration.core.simulation.night import (
    DEFAULT_START,
    NightSpec,
    scaled_counts,
    simulate_night,
)
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import FLUSH_HORIZON_S, replay

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class NightMemory:
    """The process after one night and the day that followed it."""

    night: int
    messages: int
    events: int
    summaries: int
    rss_bytes: int
    python_objects: int
    wall_s: float


def live_week(nights: int, hours: float) -> list[NightMemory]:
    """Replay `nights` consecutive nights through one pipeline, measuring after each."""
    pipeline = Pipeline(demo_config(), load_rules(RULES_DIR))
    process = psutil.Process()
    rows = []
    for night in range(nights):
        began = time.perf_counter()
        start = DEFAULT_START + night * DAY_S
        spec = NightSpec(seed=night + 1, start=start, hours=hours, **scaled_counts(hours))
        before = pipeline.stats.messages
        result = replay((InboundMessage(*m) for m in simulate_night(spec).messages()), pipeline)
        # The replay ticked on past its last message to flush what was held: go on from there.
        t = (result.last_t or start) + FLUSH_HORIZON_S + TICK_S
        while t < start + DAY_S:  # the day: nobody in bed, the ticker runs on
            pipeline.handle(Tick(t))
            t += TICK_S
        events, summaries = len(result.events), len(result.summaries)
        del result
        gc.collect()
        rows.append(
            NightMemory(
                night=night + 1,
                messages=pipeline.stats.messages - before,
                events=events,
                summaries=summaries,
                rss_bytes=process.memory_info().rss,
                python_objects=len(gc.get_objects()),
                wall_s=time.perf_counter() - began,
            )
        )
    return rows


def table(rows: Sequence[NightMemory], hours: float) -> list[str]:
    """The table's lines, growth counted from the first night (imports and caches settle)."""
    header = (
        f"{'night':>5}{'messages':>10}{'events':>8}{'summaries':>10}{'RSS MB':>9}"
        f"{'Δ MB':>8}{'objects':>10}{'Δ objects':>11}{'seconds':>9}"
    )
    lines = [header, "-" * len(header)]
    first = rows[0]
    lines.extend(
        f"{r.night:>5}{r.messages:>10,}{r.events:>8}{r.summaries:>10}{r.rss_bytes / 2**20:>9.1f}"
        f"{(r.rss_bytes - first.rss_bytes) / 2**20:>+8.1f}{r.python_objects:>10,}"
        f"{r.python_objects - first.python_objects:>+11,}{r.wall_s:>9.1f}"
        for r in rows
    )
    last = rows[-1]
    per_night = (last.rss_bytes - first.rss_bytes) / 2**20 / max(1, len(rows) - 1)
    lines.append(
        f"{len(rows)} nights of {hours:g} h at 50 Hz (batched) replayed through one pipeline, each "
        f"followed by its day ticked once a second; after night 1: {per_night:+.2f} MB a night; "
        "measured after gc.collect()"
    )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=7, help="nights in a row")
    parser.add_argument("--hours", type=float, default=8.0, help="length of each night")
    parser.add_argument("--quick", action="store_true", help="three half-hour nights")
    args = parser.parse_args(argv)
    nights, hours = (3, 0.5) if args.quick else (args.nights, args.hours)
    print("\n".join(table(live_week(nights, hours), hours)))


if __name__ == "__main__":
    main()
