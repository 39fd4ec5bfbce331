"""Disk used by the kept raw nights over a simulated month: per night and in total, under the cap.

Usage: python -m bench.rawnights [--nights 30] [--hours 8] [--rate 50] [--keep 14] [--cap-mb 500]

Each night is simulated (a realistic bedroom at the given rate, one accelerometer in batches and
an occupancy sensor) and written as the service writes it, a minute's gzip member at a time,
then pruned as the service prunes; the table shows what the folder holds after each night.
Simulating a full night takes a few seconds, so nights are simulated once per distinct seed
(`--distinct`, default 3) and reused with their times shifted a day at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from integration.adapters.rawnights import FLUSH_S, RawNights, stored_nights
from integration.core.simulation.night import (
    NightSpec,
    realistic_counts,
    scaled_counts,
    simulate_night,
)
from integration.messages import InboundMessage

ZONE = ZoneInfo("Europe/London")
DAY_S = 86_400.0


async def fill(
    directory: Path,
    nights: int,
    hours: float,
    rate_hz: float,
    keep: int,
    cap_mb: float,
    distinct: int,
) -> list[str]:
    now = [0.0]
    raw = RawNights(
        directory, ZONE, keep_nights=keep, max_total_bytes=round(cap_mb * 1e6), now=lambda: now[0]
    )
    made = []
    for seed in range(1, distinct + 1):
        counts = scaled_counts(hours) | realistic_counts(hours)
        spec = NightSpec(seed=seed, hours=hours, rate_hz=rate_hz, **counts)
        night = simulate_night(spec)
        made.append(
            [
                InboundMessage(t, topic, payload)
                for t, topic, payload in night.messages()
                if topic in (spec.accel_topic, spec.occupancy_topic)
            ]
        )
    rows = [
        f"{'night':>5} {'messages':>9} {'night MB':>9} {'kept':>5} {'folder MB':>10} {'write s':>8}"
    ]
    most = 0
    for index in range(nights):
        messages = made[index % distinct]
        shift = index * DAY_S
        began = time.perf_counter()
        next_flush = messages[0].t + shift + FLUSH_S
        for message in messages:
            t = message.t + shift
            if t >= next_flush:
                now[0] = t
                await raw.flush()
                next_flush = t + FLUSH_S
            await raw.take(["bedroom"], InboundMessage(t, message.topic, message.payload))
        now[0] = messages[-1].t + shift
        await raw.flush()
        wall = time.perf_counter() - began
        kept = stored_nights(directory)
        total = sum(n.size_bytes for n in kept)
        most = max(most, total)
        latest = kept[-1].size_bytes if kept else 0
        rows.append(
            f"{index + 1:>5} {len(messages):>9} {latest / 1e6:>9.2f} {len(kept):>5} "
            f"{total / 1e6:>10.1f} {wall:>8.2f}"
        )
    under = "yes" if most <= cap_mb * 1e6 else "NO"
    rows.append(
        f"{nights} nights of {hours:g} h at {rate_hz:g} Hz (batched, plus occupancy), written a "
        f"minute's gzip member at a time and pruned as the service does: largest folder "
        f"{most / 1e6:.1f} MB, under the {cap_mb:g} MB cap: {under}; keep {keep} nights; "
        f"pruned {raw.pruned}, failures {raw.failures}; {distinct} distinct simulated nights, "
        "reused a day apart (simulating is the slow part; writing is timed per night)"
    )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--keep", type=int, default=14)
    parser.add_argument("--cap-mb", type=float, default=500.0)
    parser.add_argument("--distinct", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        rows = asyncio.run(
            fill(
                Path(directory),
                args.nights,
                args.hours,
                args.rate,
                args.keep,
                args.cap_mb,
                args.distinct,
            )
        )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
