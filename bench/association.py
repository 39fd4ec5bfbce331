"""The association statistics over simulated weeks: what the weeks view and the report wait for.

Run: python -m bench.association [--nights 90] [--repeat 5]

`simulate_weeks` makes the nights (the default planted effects); each statistic then runs on all
their minutes and counted spasm-like events, `--repeat` times, and the table gives the median
wall time with the figure it found. The exact intervals are the cost: a bisection on binomial
tails for each rate ratio, a few hundred terms each.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from integration.core.association import (
    Association,
    BandSuggestion,
    around_note,
    by_temperature,
    suggest_band,
)
from integration.core.simulation.weeks import WeeksSpec, simulate_weeks


@dataclass(frozen=True, slots=True)
class Timing:
    """One statistic's median time and what it found."""

    name: str
    median_ms: float
    found: str


def _found(result: Association | BandSuggestion | None) -> str:
    if result is None:
        return "no band clearly better"
    if isinstance(result, BandSuggestion):
        return f"{result.low_c:g}-{result.high_c:g} °C, ratio {result.ratio.ratio:.2f}"
    ratios = [
        f"{g.name} {g.versus_reference.ratio:.2f}"
        for g in result.groups
        if g.versus_reference is not None
    ]
    return ", ".join(ratios) if result.enough else "not enough"


def measure(nights: int = 90, repeat: int = 5) -> tuple[int, int, float, list[Timing]]:
    """(minutes, events, simulation seconds, timings) for `nights` simulated nights."""
    spec = WeeksSpec(nights=nights, medication_night=nights // 2)
    started = time.perf_counter()
    simulated, notes = simulate_weeks(spec)
    simulate_s = time.perf_counter() - started
    minutes = [m for night in simulated for m in night.minutes]
    times = [e.start for night in simulated for e in night.events if e.spasm_like]
    zone = ZoneInfo(spec.zone)
    runs: list[tuple[str, Callable[[], Association | BandSuggestion | None]]] = [
        ("by_temperature (band)", lambda: by_temperature(minutes, times)),
        ("by_temperature (degree)", lambda: by_temperature(minutes, times, "degree")),
        ("around_note (14 each side)", lambda: around_note(minutes, times, notes[0], zone)),
        ("suggest_band (from 19-21 °C)", lambda: suggest_band(minutes, times, 19.0, 21.0)),
    ]
    timings = []
    for name, run in runs:
        walls, result = [], None
        for _ in range(repeat):
            started = time.perf_counter()
            result = run()
            walls.append(time.perf_counter() - started)
        timings.append(Timing(name, statistics.median(walls) * 1000, _found(result)))
    return len(minutes), len(times), simulate_s, timings


def table(
    nights: int, minutes: int, events: int, simulate_s: float, rows: Sequence[Timing]
) -> list[str]:
    """The table's lines."""
    header = f"{'statistic':<30}{'median ms':>10}  found (rate ratios vs the reference)"
    lines = [header, "-" * len(header)]
    lines.extend(f"{r.name:<30}{r.median_ms:>10.1f}  {r.found}" for r in rows)
    lines.append(
        f"{nights} simulated nights ({minutes:,} minutes, {events:,} spasm-like events; "
        f"simulated in {simulate_s:.1f} s); planted 1.6 above the band, 0.6 after the note"
    )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=90, help="simulated nights")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each statistic")
    args = parser.parse_args(argv)
    minutes, events, simulate_s, rows = measure(args.nights, args.repeat)
    print("\n".join(table(args.nights, minutes, events, simulate_s, rows)))


if __name__ == "__main__":
    main()
