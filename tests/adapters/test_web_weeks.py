"""The dashboard's weeks view and printable report, over a real store of simulated weeks."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from integration.adapters.metrics import ServiceMetrics
from integration.adapters.store import Store
from integration.adapters.web import Health, make_app
from integration.core.simulation.weeks import WeeksSpec
from tests.weeks_history import ROOM_NAMES, fill_weeks

ZONE = ZoneInfo("Europe/Berlin")
SPEC = WeeksSpec(nights=100, seed=4, medication_night=60)
LAST = SPEC.start + timedelta(days=SPEC.nights - 1)
TOKEN = "weeks-token"  # noqa: S105 - a test's own token


@asynccontextmanager
async def serve(
    store: Store, *, token: str | None = None, room_names: Mapping[str, str] = ROOM_NAMES
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = make_app(
        store=store,
        zone=ZONE,
        health=lambda: Health("connected", "connected"),
        metrics=ServiceMetrics(),
        token=token,
        room_names=room_names,
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@pytest.fixture
async def weeks(store: Store) -> Store:
    await fill_weeks(store, SPEC, skip={95})
    return store


def hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page)]


@pytest.mark.parametrize("nights", [30, 90])
async def test_the_weeks_view_draws_the_last_nights_at_both_widths(
    weeks: Store, nights: int
) -> None:
    async with serve(weeks) as client:
        response = await client.get(f"/weeks?nights={nights}")
        page = await response.text()
    assert response.status == 200
    first = LAST - timedelta(days=nights - 1)
    for chart in ("weeks-chart", "heat-chart", "temp-weeks-chart", "forest-chart"):
        assert page.count(f'class="chart {chart}"') >= 2, chart  # wide and narrow
    # One slot a night: bars where there is data, a dashed box for the one night without.
    assert page.count('class="no-data"') == 2  # night 95, at both widths
    assert f"Spasm-like events per night from {first} to {LAST}" in page
    assert f"report?from={first}&to={LAST}&room=bedroom" in hrefs(page)
    assert 'aria-current="page">Last ' + str(nights) in page
    assert "This is an association in one person" in page


async def test_the_weeks_view_marks_the_note_and_compares_before_with_after(weeks: Store) -> None:
    async with serve(weeks) as client:
        page = await (await client.get("/weeks?nights=90")).text()
    assert page.count('class="note-line"') == 2  # the medication note, at both widths
    assert "baclofen" in page
    assert "Spasm-like events before and after" in page


async def test_the_index_links_to_the_weeks_and_its_trend_shows_the_notes(weeks: Store) -> None:
    async with serve(weeks) as client:
        index = await (await client.get("/")).text()
        assert "weeks" in hrefs(index)
        # The month's trend holds no note (the change was 40 nights before the last night).
        assert 'class="note-line"' not in index
    await fill_weeks(weeks, WeeksSpec(nights=1, seed=5, start=LAST, medication_night=0))
    async with serve(weeks) as client:
        index = await (await client.get("/")).text()
    assert index.count('class="note-line"') == 2
    assert '<ol class="notes">' in index


async def test_the_report_page_prints_the_period_asked_for(weeks: Store) -> None:
    first = LAST - timedelta(days=55)
    async with serve(weeks, token=TOKEN) as client:
        response = await client.get(f"/report?from={first}&to={LAST}&token={TOKEN}")
        page = await response.text()
    assert response.status == 200
    assert "Not a medical device." in page
    assert f"{first:%d %b %Y} to {LAST:%d %b %Y}" in page
    assert "Sleep efficiency (movement-based estimate)" in page
    assert f"weeks?room=bedroom&token={TOKEN}" in hrefs(page)
    assert "<style>" in page
    assert page.count("<style") == 1
    assert "style=" not in page
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("/weeks?nights=45", 400, "nights must be one of 30, 90"),
        ("/weeks?room=attic", 400, "no room 'attic'"),
        ("/report?from=2026-12-01", 400, "to must be a night's date"),
        ("/report?from=yesterday&to=2026-12-01", 400, "from must be a night's date"),
        ("/report?from=2026-12-01&to=2026-11-01", 400, "back to front"),
        ("/report?from=2020-01-01&to=2024-01-01", 400, "a report covers at most 366"),
        ("/report?from=2026-09-07&to=2026-09-20&room=attic", 400, "no room 'attic'"),
        ("/report?from=2025-01-01&to=2025-01-31", 404, "No nights of Bedroom"),
    ],
    ids=[
        "weeks-span",
        "weeks-room",
        "report-no-to",
        "report-not-a-date",
        "report-out-of-order",
        "report-too-long",
        "report-unknown-room",
        "report-empty",
    ],
)
async def test_a_bad_query_names_the_problem(
    weeks: Store, query: str, status: int, words: str
) -> None:
    async with serve(weeks) as client:
        response = await client.get(query)
        text = await response.text()
    assert response.status == status
    assert words in text


async def test_an_empty_history_says_there_are_no_nights_yet(store: Store) -> None:
    async with serve(store) as client:
        response = await client.get("/weeks")
        page = await response.text()
    assert response.status == 200
    assert "No nights of Bedroom yet." in page
