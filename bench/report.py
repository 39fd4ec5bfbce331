"""Time to make the report: gather simulated weeks from a real store, render HTML, print the PDF.

Usage: python -m bench.report [--nights 30 90] [--seed 1]

For each period the simulated nights (`core.simulation.weeks`, with the medication note) are
kept in a fresh SQLite history, then timed: building the report from the store (the queries and
the associations), rendering its HTML (charts included) and WeasyPrint's PDF.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium

from integration.adapters.report import build_report, render_html, render_pdf
from integration.adapters.store import Store
from integration.core.simulation.weeks import WeeksSpec, simulate_weeks


async def measure(nights: int, seed: int, directory: Path) -> tuple[float, float, float, int, int]:
    """Seconds to build, render HTML and print the PDF; the PDF's pages and size in bytes."""
    spec = WeeksSpec(nights=nights, seed=seed, medication_night=nights // 2)
    simulated, notes = simulate_weeks(spec)
    store = await Store.open(directory / f"history-{nights}.db")
    try:
        for night in simulated:
            await store.record(
                events=night.events, minutes=night.minutes, summaries=[night.summary]
            )
        for note in notes:
            await store.add_note(note)
        started = time.perf_counter()
        report = await build_report(
            store,
            room=spec.room,
            room_names={spec.room: spec.room_name},
            first=spec.start,
            last=spec.start + timedelta(days=nights - 1),
            zone=ZoneInfo(spec.zone),
        )
        built = time.perf_counter()
        html = render_html(report)
        rendered = time.perf_counter()
        pdf = render_pdf(html)
        printed = time.perf_counter()
    finally:
        await store.close()
    pages = len(pdfium.PdfDocument(pdf))
    return built - started, rendered - built, printed - rendered, pages, len(pdf)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, nargs="+", default=[30, 90])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(
        f"{'nights':>6} {'build s':>8} {'HTML s':>7} {'PDF s':>6} {'total s':>8} {'pages':>5} {'PDF KB':>7}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for nights in args.nights:
            build_s, html_s, pdf_s, pages, size = asyncio.run(
                measure(nights, args.seed, Path(folder))
            )
            print(
                f"{nights:>6} {build_s:8.2f} {html_s:7.2f} {pdf_s:6.2f} "
                f"{build_s + html_s + pdf_s:8.2f} {pages:>5} {size / 1024:7.0f}"
            )


if __name__ == "__main__":
    main()
