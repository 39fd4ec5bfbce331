"""The dashboard's note form: kept through the real history, CSRF- and origin-checked, listed."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from markupsafe import escape

from integration.adapters.history import History
from integration.adapters.metrics import ServiceMetrics
from integration.adapters.store import Store
from integration.adapters.web import Health, make_app
from integration.core.notes import Note
from tests.browser.history import HOSTILE_NAME, HOSTILE_RULE, ROOM_NAMES, ZONE, ReplayedNight

SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


@asynccontextmanager
async def dashboard(
    tmp_path: Path, night: ReplayedNight, *, keeps_notes: bool = True
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], History]]:
    """The dashboard over the filled store; notes kept by the service's History, an hour past waking."""
    history = History(tmp_path / "history.db", lambda: night.summary.wake_time + 3600, None)
    assert await history.open()
    app = make_app(
        store=history.store,
        zone=ZONE,
        health=lambda: Health("connected", "available"),
        metrics=ServiceMetrics(),
        token=None,
        room_names=ROOM_NAMES,
        note_keeper=history if keeps_notes else None,
    )
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield client, history
    finally:
        await history.close()


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def wall_time(t: float) -> str:
    """What a datetime-local input sends for `t`: local wall time, to the minute, no offset."""
    return datetime.fromtimestamp(t, ZONE).strftime("%Y-%m-%dT%H:%M")


async def kept(history: History) -> list[Note]:
    assert history.store is not None
    return await history.store.notes(None, 0, history.now() + 3600)


async def test_the_nights_page_has_a_note_form_per_room(
    tmp_path: Path, store: Store, night: ReplayedNight
) -> None:
    async with dashboard(tmp_path, night) as (client, _history):
        everyone = await (await client.get("/")).text()
        one_room = await (await client.get("/?room=bedroom")).text()
    actions = re.findall(r'<form class="note" method="post" action="([^"]+)"', everyone)
    assert actions == ["rooms/bedroom/notes", "rooms/guest/notes"]
    assert 'type="datetime-local" name="at"' in everyone
    assert 'name="text" maxlength="500" required' in everyone
    assert f"Note ({escape(HOSTILE_NAME)})" in everyone  # the room's name as text
    assert re.findall(r'<form class="note" [^>]*action="([^"]+)"', one_room) == [
        "rooms/bedroom/notes"
    ]


async def test_a_note_is_kept_at_its_local_time_and_listed_on_its_night(
    tmp_path: Path, store: Store, night: ReplayedNight
) -> None:
    at = night.summary.bed_time + 1800
    async with dashboard(tmp_path, night) as (client, history):
        page = await (await client.get("/")).text()
        response = await client.post(
            "/rooms/bedroom/notes",
            data={"csrf": csrf_of(page), "text": " baclofen 10 mg ", "at": wall_time(at)},
            headers=SAME_SITE,
            allow_redirects=False,
        )
        assert response.status == 303
        assert response.headers["Location"] == "../../?room=bedroom"
        now = await client.post(
            "/rooms/bedroom/notes",
            data={"csrf": csrf_of(page), "text": f"hot day {HOSTILE_RULE}", "at": ""},
            headers=SAME_SITE,
            allow_redirects=False,
        )
        assert now.status == 303
        notes = await kept(history)
        night_page = await (await client.get(f"/nights/bedroom/{night.summary.night_date}")).text()
    minute = at - at % 60  # the form says minutes
    assert [(n.room, n.at, n.text, n.source) for n in notes] == [
        ("bedroom", minute, "baclofen 10 mg", "dashboard"),
        ("bedroom", history.now(), f"hot day {HOSTILE_RULE}", "dashboard"),
    ]
    shown = datetime.fromtimestamp(minute, ZONE).strftime("%a %H:%M")
    assert "<h2>Your notes (2)</h2>" in night_page
    assert f'<span class="time">{shown}</span> baclofen 10 mg' in night_page
    assert HOSTILE_RULE not in night_page  # the note's text is text, never markup
    assert str(escape(HOSTILE_RULE)) in night_page


@pytest.mark.parametrize(
    ("fields", "status", "said"),
    [
        ({"text": "   "}, 400, "The note is empty"),
        ({"text": "x" * 501}, 400, "keep it to 500"),
        ({"text": "hot day", "at": "2999-01-01T00:00"}, 400, "in the future"),
        ({"text": "hot day", "at": "tonight"}, 400, "is not a date and time like"),
    ],
    ids=["empty", "too-long", "future", "not-a-time"],
)
async def test_a_note_that_cannot_be_kept_gets_a_page_saying_why(
    tmp_path: Path,
    store: Store,
    night: ReplayedNight,
    fields: dict[str, str],
    status: int,
    said: str,
) -> None:
    async with dashboard(tmp_path, night) as (client, history):
        page = await (await client.get("/")).text()
        response = await client.post(
            "/rooms/bedroom/notes",
            data={"csrf": csrf_of(page), **fields},
            headers=SAME_SITE,
            allow_redirects=False,
        )
        text = await response.text()
        assert await kept(history) == []
    assert response.status == status
    assert "<title>Not kept · smart-bedroom</title>" in text
    assert said in html.unescape(text)
    assert 'href="../../?room=bedroom"' in text  # back to the form


async def test_an_unknown_room_is_404_and_keeps_nothing(
    tmp_path: Path, store: Store, night: ReplayedNight
) -> None:
    async with dashboard(tmp_path, night) as (client, history):
        page = await (await client.get("/")).text()
        response = await client.post(
            "/rooms/attic/notes",
            data={"csrf": csrf_of(page), "text": "hot day"},
            headers=SAME_SITE,
            allow_redirects=False,
        )
        assert await kept(history) == []
    assert response.status == 404


@pytest.mark.parametrize(
    ("csrf", "headers"),
    [
        ("guess", SAME_SITE),
        (None, {"Sec-Fetch-Site": "cross-site"}),
        (None, {"Sec-Fetch-Site": "same-site"}),
        (None, {"Origin": "http://evil.example"}),
        (None, {"Origin": "null"}),
    ],
    ids=["forged-csrf", "cross-site", "same-site", "foreign-origin", "null-origin"],
)
async def test_a_forged_or_cross_site_note_is_refused(
    tmp_path: Path, store: Store, night: ReplayedNight, csrf: str | None, headers: dict[str, str]
) -> None:
    async with dashboard(tmp_path, night) as (client, history):
        page = await (await client.get("/")).text()
        response = await client.post(
            "/rooms/bedroom/notes",
            data={"csrf": csrf or csrf_of(page), "text": "hot day"},
            headers=headers,
            allow_redirects=False,
        )
        assert await kept(history) == []
    assert response.status == 403


async def test_without_the_service_there_is_no_form_and_nothing_is_kept(
    tmp_path: Path, store: Store, night: ReplayedNight
) -> None:
    async with dashboard(tmp_path, night, keeps_notes=False) as (client, history):
        page = await (await client.get("/")).text()
        response = await client.post(
            "/rooms/bedroom/notes",
            data={"csrf": "any", "text": "hot day"},
            headers=SAME_SITE,
            allow_redirects=False,
        )
        assert await kept(history) == []
    assert 'class="note"' not in page
    assert response.status == 404
