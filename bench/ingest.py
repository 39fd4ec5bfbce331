"""Ingest speed: a night of 50 Hz accelerometer samples through `replay` (parse + dispatch).

Run: python -m bench.ingest [--hours H] [--rate HZ] [--payload single|batch] [--profile N]

The night is simulated into a temporary recording first (not timed), then replayed from that
file exactly as `smart-bedroom replay` does — read, decode, parse, route, detect — through the
real pipeline (embedded demo config, the rule files in `rules/`). Both payload forms: one
message per sample (1.44 M messages for 8 h at 50 Hz, streamed from the file, never held in
memory) and one batched message per second. `--profile N` replays under cProfile instead and
prints the N costliest functions by own time and by cumulative time (its timings are inflated
by the profiler; compare them with each other, not with the table).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.detection import RULES_DIR, demo_config
from integration.adapters.recording import encode_line, read_recording
from integration.adapters.rulefiles import load_rules
from integration.core.simulation.night import (
    NightSpec,
    PayloadStyle,
    scaled_counts,
    simulate_night,
)
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import replay


@dataclass(frozen=True, slots=True)
class IngestRun:
    """One replay of one recording."""

    payload: PayloadStyle
    messages: int
    samples: int
    wall_s: float
    span_s: float


def write_recording(spec: NightSpec, path: Path) -> None:
    """The simulated night as a recording file, streamed line by line."""
    with path.open("w", encoding="utf-8") as out:
        for t, topic, payload in simulate_night(spec).messages():
            out.write(encode_line(InboundMessage(t, topic, payload)) + "\n")


def time_replay(spec: NightSpec, path: Path, profiler: cProfile.Profile | None = None) -> IngestRun:
    """Replay `path` through a fresh pipeline and time it (under `profiler`, if given)."""
    pipeline = Pipeline(demo_config(), load_rules(RULES_DIR))
    with path.open(encoding="utf-8") as lines:
        began = time.perf_counter()
        if profiler is None:
            replay(read_recording(lines), pipeline)
        else:
            profiler.runcall(replay, read_recording(lines), pipeline)
        wall_s = time.perf_counter() - began
    span_s = spec.hours * 3600.0
    samples = round(span_s * spec.rate_hz)  # the night has no dropouts
    return IngestRun(spec.payload, pipeline.stats.messages, samples, wall_s, span_s)


def hot_spots(profiler: cProfile.Profile, top: int) -> list[str]:
    """The `top` functions by own time, then by cumulative time, as pstats prints them."""
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    return [line for line in text.getvalue().splitlines() if line.strip()]


def run_bench(
    hours: float,
    rate_hz: float,
    payloads: Sequence[PayloadStyle] = tuple(PayloadStyle),
    profile_top: int = 0,
) -> list[str]:
    """The table's lines, one per payload form; with `profile_top`, each form's hot spots after."""
    header = (
        f"{'payload':<8}{'messages':>11}{'samples':>12}{'seconds':>9}{'msgs/s':>11}"
        f"{'samples/s':>12}{'x real time':>13}"
    )
    lines = [header, "-" * len(header)]
    profiles: list[tuple[PayloadStyle, cProfile.Profile]] = []
    with tempfile.TemporaryDirectory() as directory:
        for payload in payloads:
            counts = scaled_counts(hours) | {"dropouts": 0}
            spec = NightSpec(hours=hours, rate_hz=rate_hz, payload=payload, **counts)
            path = Path(directory) / f"night-{payload}.jsonl"
            write_recording(spec, path)
            profiler = cProfile.Profile() if profile_top else None
            run = time_replay(spec, path, profiler)
            path.unlink()
            if profiler is not None:
                profiles.append((payload, profiler))
            lines.append(
                f"{payload:<8}{run.messages:>11,}{run.samples:>12,}{run.wall_s:>9.2f}"
                f"{run.messages / run.wall_s:>11,.0f}{run.samples / run.wall_s:>12,.0f}"
                f"{run.span_s / run.wall_s:>13,.0f}"
            )
    lines.append(
        f"a {hours:g} h night at {rate_hz:g} Hz replayed from a recording file: read, decode, "
        "parse, route, detect (the file is written first, untimed)"
        + ("; under cProfile, so slower than without" if profile_top else "")
    )
    for payload, profiler in profiles:
        lines.append(f"\n-- {payload}: the {profile_top} costliest functions --")
        lines.extend(hot_spots(profiler, profile_top))
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0, help="length of the night")
    parser.add_argument("--rate", type=float, default=50.0, help="samples per second")
    parser.add_argument(
        "--payload",
        choices=[str(style) for style in PayloadStyle],
        action="append",
        help="payload form to replay (repeatable; default: both)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="replay under cProfile and print the N costliest functions",
    )
    args = parser.parse_args(argv)
    payloads = [PayloadStyle(p) for p in args.payload] if args.payload else list(PayloadStyle)
    print("\n".join(run_bench(args.hours, args.rate, payloads, args.profile)))


if __name__ == "__main__":
    main()
