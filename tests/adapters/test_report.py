"""The report: simulated weeks in a real store, gathered, drawn as HTML, and printed to PDF."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdfium2 import raw as pdfium_c

from integration.adapters.report import (
    MAX_REPORT_NIGHTS,
    NOT_A_MEDICAL_DEVICE,
    NoNightsError,
    Report,
    ReportRefusedError,
    build_report,
    render_html,
    render_pdf,
)
from integration.adapters.store import Store
from integration.core.association import ASSOCIATION_CAVEAT
from integration.core.labels import Label
from integration.core.notes import make_note
from integration.core.simulation.weeks import WeeksSpec
from tests.weeks_history import ROOM_NAMES, fill_weeks, period, zone

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "report"
WEEKS = WeeksSpec(nights=56, seed=1)  # the medication change at night 28: 4 weeks each side
FEW = WeeksSpec(nights=5, seed=2, medication_night=2)
# The headings a clinician looks for in the nights table, in the words the report uses.
TABLE_HEADINGS = (
    "Spasm-like events",
    "Frequency (Penn scale words)",
    "Restless episodes",
    "Time out of bed",
    "Sleep efficiency (movement-based estimate)",
    "In comfort band",
)


async def report_of(store: Store, spec: WeeksSpec, **kw: object) -> Report:
    first, last = period(spec)
    return await build_report(
        store,
        room=None,
        room_names=ROOM_NAMES,
        first=first,
        last=last,
        zone=zone(spec),
        made_on=last + timedelta(days=1),
        **kw,
    )


async def test_weeks_become_a_table_of_local_rounded_nights(store: Store) -> None:
    nights, notes = await fill_weeks(store, WEEKS)
    report = await report_of(store, WEEKS)
    assert len(report.rows) == WEEKS.nights
    assert report.gaps == ()
    first = report.rows[0]
    assert first.night == WEEKS.start
    assert re.fullmatch(r"\d\d:\d\d", first.bed)
    assert re.fullmatch(r"\d\d:\d\d", first.wake)
    assert first.bed.startswith("22")  # the simulated bedtime is 22:30 local, Berlin
    assert re.fullmatch(r"\d+\.\d h", first.in_bed)
    assert first.spasms == nights[0].summary.spasm_count
    assert first.frequency in {
        "none",
        "less than 1 an hour",
        "1 or more an hour",
        "10 or more an hour",
    }
    assert report.notes == tuple(n for n in (await store.notes("bedroom", 0, 2e9)))
    assert [n.text for n in report.notes] == [n.text for n in notes]
    assert report.bands[WEEKS.start] == (WEEKS.low_c, WEEKS.high_c)
    assert report.current_band == (WEEKS.low_c, WEEKS.high_c)


async def test_the_report_recovers_the_planted_effects(store: Store) -> None:
    await fill_weeks(store, WEEKS)
    report = await report_of(store, WEEKS)
    warm = next(g for g in report.by_band.groups if g.name == "above the band")
    assert report.by_band.enough
    assert warm.versus_reference is not None
    ratio = warm.versus_reference
    assert ratio.ratio > 1  # the direction planted: warm nights worse
    assert ratio.low <= WEEKS.warm_rate_ratio <= ratio.high  # the CI covers the planted size
    (around,) = report.around_notes
    assert around.number == 1
    assert around.association.enough
    after = next(g for g in around.association.groups if g.versus_reference is not None)
    assert after.versus_reference is not None
    assert after.versus_reference.ratio < 1  # fewer after the medication change
    assert after.versus_reference.low <= WEEKS.medication_rate_ratio <= after.versus_reference.high
    page = render_html(report)
    assert report.by_band.verdict in page
    assert around.association.verdict.replace("'", "&#39;") in page


async def test_too_few_nights_say_not_enough_instead_of_a_number(store: Store) -> None:
    await fill_weeks(store, FEW)
    report = await report_of(store, FEW)
    assert not report.by_band.enough
    assert report.by_band.verdict.startswith("Not enough nights to say")
    assert all(not item.association.enough for item in report.around_notes)
    assert report.suggestion is None
    page = render_html(report)
    assert "Not enough nights to say" in page
    assert ASSOCIATION_CAVEAT.replace("'", "&#39;") in page


async def test_a_period_with_gaps_renders_and_says_where_they_are(store: Store) -> None:
    await fill_weeks(store, WEEKS, skip={10, 11, 12, 40})
    report = await report_of(store, WEEKS)
    start = WEEKS.start
    assert report.gaps == (
        (start + timedelta(days=10), start + timedelta(days=12)),
        (start + timedelta(days=40), start + timedelta(days=40)),
    )
    assert len(report.rows) == WEEKS.nights - 4
    page = render_html(report)
    gap = start + timedelta(days=10)
    assert f"{gap:%a %d %b} to" in page
    assert "(3 nights)" in page
    assert page.count('class="no-data"') == 4  # the nights chart shows each missing night


async def test_the_persons_labels_count_and_show(store: Store) -> None:
    await fill_weeks(store, WEEKS)
    report_before = await report_of(store, WEEKS)
    from_t = report_before.summaries[0].bed_time
    ((event_id, event, _),) = (await store.spasm_events("bedroom", from_t, from_t + 86400))[:1]
    await store.label_event(event_id, Label.REJECTED, event.start + 60, "cli", not_before=0.0)
    report = await report_of(store, WEEKS)
    assert report.labels.rejected == 1
    assert report.rows[0].labels == "1 rejected"
    assert report.rows[0].spasms == report_before.rows[0].spasms - 1
    counted_before = sum(g.events for g in report_before.by_band.groups)
    assert sum(g.events for g in report.by_band.groups) == counted_before - 1


@pytest.mark.parametrize(
    ("room", "first", "last", "names", "error", "words"),
    [
        (
            "bedroom",
            date(2026, 9, 20),
            date(2026, 9, 7),
            ROOM_NAMES,
            ReportRefusedError,
            "back to front",
        ),
        (
            "attic",
            date(2026, 9, 7),
            date(2026, 9, 20),
            ROOM_NAMES,
            ReportRefusedError,
            "No room 'attic'",
        ),
        (
            None,
            date(2026, 9, 7),
            date(2026, 9, 20),
            {"a": "A", "b": "B"},
            ReportRefusedError,
            "say which",
        ),
        (
            "bedroom",
            date(2025, 1, 1),
            date(2025, 1, 9),
            ROOM_NAMES,
            NoNightsError,
            "No nights of Bedroom",
        ),
        (
            "bedroom",
            date(2024, 1, 1),
            date(2024, 1, 1) + timedelta(days=MAX_REPORT_NIGHTS),
            ROOM_NAMES,
            ReportRefusedError,
            "at most",
        ),
    ],
    ids=[
        "dates-out-of-order",
        "unknown-room",
        "several-rooms-none-said",
        "empty-period",
        "too-long",
    ],
)
async def test_a_report_that_cannot_be_made_says_why(
    store: Store,
    room: str | None,
    first: date,
    last: date,
    names: dict[str, str],
    error: type[Exception],
    words: str,
) -> None:
    await fill_weeks(store, FEW)
    with pytest.raises(error, match=re.escape(words)):
        await build_report(
            store, room=room, room_names=names, first=first, last=last, zone=zone(FEW)
        )


async def test_a_hostile_note_is_text_in_the_report(store: Store) -> None:
    await fill_weeks(store, FEW)
    at = zone_time(FEW)
    await store.add_note(make_note("bedroom", "<script>alert(1)</script>", at, at, "cli"))
    page = render_html(await report_of(store, FEW))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def zone_time(spec: WeeksSpec) -> float:
    """23:00 local on the first night."""
    return datetime.combine(spec.start, time(23, 0), zone(spec)).timestamp()


async def test_the_pdf_has_the_cover_tables_and_figures_page_by_page(store: Store) -> None:
    await fill_weeks(store, WEEKS, skip={20})
    report = await report_of(store, WEEKS)
    pdf = render_pdf(render_html(report))
    assert pdf.startswith(b"%PDF-")
    document = pdfium.PdfDocument(pdf)
    pages = [document[i] for i in range(len(document))]
    assert len(pages) >= 5  # cover, nights chart and hours, temperature and association, tables
    texts = [page.get_textpage().get_text_range() for page in pages]
    # Text runs wrap at line ends: compare with whitespace squeezed out.
    squeezed = [re.sub(r"\s+", "", text) for text in texts]
    cover = squeezed[0]
    assert re.sub(r"\s+", "", NOT_A_MEDICAL_DEVICE) in cover
    assert re.sub(r"\s+", "", report.period) in cover
    assert "Bedroom" in texts[0]
    everything = "".join(squeezed)
    for heading in ("Spasm-like events per night", "Events by hour of the night"):
        assert re.sub(r"\s+", "", heading) in everything, heading
    # A table's headings wrap within their cells (at spaces and hyphens), and text comes out line by line across the
    # cells: each heading's words are on the page of the nights table.
    table_page = next(text for text in texts if "The nights" in text)
    for heading in TABLE_HEADINGS:
        assert all(part in table_page for part in re.split(r"[\s-]+", heading)), heading
    assert re.sub(r"\s+", "", ASSOCIATION_CAVEAT) in everything
    gap = WEEKS.start + timedelta(days=20)
    assert re.sub(r"\s+", "", f"Nights without any data: {gap:%a %d %b}") in everything
    # The charts are vector drawings: count the path objects each page draws.
    paths = [
        sum(obj.type == pdfium_c.FPDF_PAGEOBJ_PATH for obj in page.get_objects(max_depth=8))
        for page in pages
    ]
    assert paths[1] > 100  # the nights' bars and the heat-map's cells
    assert sum(paths) > 500
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("page-*.png"):
        old.unlink()
    for number, page in enumerate(pages, start=1):
        image = page.render(scale=1.5).to_pil().convert("L")
        image.save(ARTIFACTS / f"page-{number:02d}.png")
        darkest, lightest = image.getextrema()
        assert lightest == 255
        assert darkest < 80
    (ARTIFACTS / "report.pdf").write_bytes(pdf)
