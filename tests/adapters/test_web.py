"""The dashboard app over a real store holding a night replayed through the real pipeline."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import sqlite3
import tomllib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path, PurePosixPath

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from markupsafe import escape
from prometheus_client.parser import text_string_to_metric_families

from integration.adapters.metrics import ServiceMetrics
from integration.adapters.store import Store
from integration.adapters.web import Health, make_app
from integration.core.summary import render_text
from tests.browser.history import (
    EARLIER_NIGHTS,
    HOSTILE_NAME,
    HOSTILE_RULE,
    ROOM_NAMES,
    ZONE,
    ReplayedNight,
)

TOKEN = "s3cret-token"  # noqa: S105 - a test's own token
CONNECTED = Health("connected", "connected", {"bedroom/bed_motion": 1795482000.0})


@asynccontextmanager
async def serve(
    store: Store | None,
    *,
    token: str | None = None,
    health: Health = CONNECTED,
    metrics: ServiceMetrics | None = None,
    room_names: Mapping[str, str] = ROOM_NAMES,
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = make_app(
        store=store,
        zone=ZONE,
        health=lambda: health,
        metrics=metrics or ServiceMetrics(),
        token=token,
        room_names=room_names,
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


def night_url(night: ReplayedNight, prefix: str = "") -> str:
    return f"{prefix}/nights/bedroom/{night.summary.night_date}"


def hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page)]


async def test_nights_list_shows_each_night_with_its_figures(
    store: Store, night: ReplayedNight
) -> None:
    async with serve(store) as client:
        response = await client.get("/")
        page = await response.text()
    assert response.status == 200
    assert response.content_type == "text/html"
    assert '<meta name="viewport"' in page
    rows = re.findall(r"<tr><td data-label=\"Night\">", page)
    assert len(rows) == EARLIER_NIGHTS + 2  # the replayed night, the month before, the guest room
    s = night.summary
    assert f'href="nights/bedroom/{s.night_date}"' in page
    assert (
        f'<td data-label="In bed">{s.time_in_bed_s / 3600:.1f} h</td>'
        f'<td data-label="Spasm-like">{s.spasm_count}</td>'
    ) in page
    assert page.count('class="chart trend-chart"') == 4  # two rooms, wide and narrow each


async def test_nights_list_of_one_room(store: Store, night: ReplayedNight) -> None:
    async with serve(store) as client:
        page = await (await client.get("/?room=bedroom")).text()
    assert len(re.findall(r"<tr><td data-label=\"Night\">", page)) == EARLIER_NIGHTS + 1
    assert 'aria-current="page">Bedroom</a>' in page
    assert page.count('class="chart trend-chart"') == 2


async def test_night_page_has_the_chart_the_summary_and_the_events(
    store: Store, night: ReplayedNight
) -> None:
    async with serve(store) as client:
        response = await client.get(night_url(night))
        page = await response.text()
    assert response.status == 200
    assert page.count('class="chart night-chart"') == 2  # wide and narrow
    assert page.count('class="marker ') == 2 * len(night.events)
    assert page.count('class="action"') >= 2 * (len(night.actions) - 1)
    for line in render_text(night.summary).splitlines():
        assert f"<p>{escape(line)}</p>" in page
    assert f"<h2>Events ({len(night.events)})</h2>" in page
    assert "../../" in hrefs(page)  # back to the list, relative for HA's ingress


async def test_every_link_is_relative(store: Store, night: ReplayedNight) -> None:
    async with serve(store) as client:
        pages = [await (await client.get(u)).text() for u in ("/", night_url(night))]
    links = [h for page in pages for h in hrefs(page)]
    assert links
    assert not [h for h in links if h.startswith(("/", "http:", "https:"))]
    assert not [p for p in pages if re.search(r"<(script|link|img|iframe)\b", p)]


@pytest.mark.parametrize(
    "path",
    ["/nights/bedroom/2020-01-01", "/nights/nobody/2026-11-23", "/nights/bedroom/2026-13-45"],
    ids=["no-night-that-date", "unknown-room", "not-a-date"],
)
async def test_a_night_that_does_not_exist_is_404(
    store: Store, night: ReplayedNight, path: str
) -> None:
    async with serve(store) as client:
        response = await client.get(path)
    assert response.status == 404


async def test_api_lists_summaries_newest_first(store: Store, night: ReplayedNight) -> None:
    async with serve(store) as client:
        response = await client.get("/api/nights")
        body = await response.json()
        limited = await (await client.get("/api/nights?room=bedroom&limit=3")).json()
        bad = await client.get("/api/nights?limit=many")
    assert response.status == 200
    bed_times = [n["bed_time"] for n in body["nights"]]
    assert len(bed_times) == EARLIER_NIGHTS + 2
    assert bed_times == sorted(bed_times, reverse=True)
    newest = next(n for n in body["nights"] if n["room"] == "bedroom")
    assert newest["night_date"] == night.summary.night_date
    assert newest["spasm_count"] == night.summary.spasm_count
    assert [n["room"] for n in limited["nights"]] == ["bedroom"] * 3
    assert bad.status == 400


async def test_api_night_has_summary_minutes_events_and_actions(
    store: Store, night: ReplayedNight
) -> None:
    async with serve(store) as client:
        response = await client.get(night_url(night, "/api"))
        body = await response.json()
    assert response.status == 200
    assert body["summary"]["spasm_count"] == night.summary.spasm_count
    assert body["text"] == render_text(night.summary)
    assert len(body["minutes"]) == len(night.minutes)
    assert [e["kind"] for e in body["events"]] == [e.kind.value for e in night.events]
    assert body["events"][0]["why"] == dict(night.events[0].why)
    assert len(body["actions"]) == len(night.actions) + 1  # and the test's hostile one
    assert {a["target"] for a in body["actions"]} >= {"persistent_notification.create"}


async def test_api_night_by_date_alone_needs_one_room(store: Store, night: ReplayedNight) -> None:
    path = f"/api/nights/{night.summary.night_date}"
    async with serve(store, room_names={"bedroom": "Bedroom"}) as client:
        alone = await client.get(path)
        assert (await alone.json())["summary"]["room"] == "bedroom"
    async with serve(store) as client:
        ambiguous = await client.get(path)
        ambiguous_text = await ambiguous.text()
        chosen = await client.get(f"{path}?room=bedroom")
    assert alone.status == 200
    assert ambiguous.status == 404
    assert "several rooms" in ambiguous_text
    assert chosen.status == 200


@pytest.mark.parametrize(
    ("broker", "status"),
    [("connected", 200), ("connecting", 503), ("disconnected", 503)],
)
async def test_healthz_is_200_only_with_the_broker(store: Store, broker: str, status: int) -> None:
    health = Health(
        broker,
        "disabled",
        {"bedroom/room_temperature": 1795480000.5},
        "ok",
        flooding={"zigbee2mqtt/stuck": 280},
        dropped={"queue_full": 0, "flood": 280, "oversize": 1},
    )
    async with serve(store, health=health) as client:
        response = await client.get("/healthz")
        body = await response.json()
    assert response.status == status
    assert body == {
        "broker": broker,
        "home_assistant": "disabled",
        "last_seen": {"bedroom/room_temperature": 1795480000.5},
        "store": "ok",
        "store_failures": 0,
        "flooding": {"zigbee2mqtt/stuck": 280},
        "dropped": {"queue_full": 0, "flood": 280, "oversize": 1},
        "home_assistant_detail": "",
        "dead_letters": 0,
        "dead_letters_kept": 0,
        "home_assistant_entities": "disabled",
        "home_assistant_entities_detail": "",
        "comfort_learned": {},
        "malformed_requests": 0,
    }


async def test_metrics_are_prometheus_text(store: Store) -> None:
    metrics = ServiceMetrics()
    metrics.messages(5)
    metrics.rejected("bad_json")
    metrics.rejected("bad_json")
    metrics.event("jerk")
    metrics.action("mqtt_publish")
    metrics.loop_lag(0.03)
    metrics.loop_lag(-0.001)
    async with serve(store, metrics=metrics) as client:
        response = await client.get("/metrics")
        text = await response.text()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("smart_bedroom_messages_total", ())] == 5
    assert samples[("smart_bedroom_rejected_messages_total", (("reason", "bad_json"),))] == 2
    assert samples[("smart_bedroom_events_total", (("kind", "jerk"),))] == 1
    assert samples[("smart_bedroom_actions_total", (("kind", "mqtt_publish"),))] == 1
    assert samples[("smart_bedroom_loop_lag_seconds_count", ())] == 2
    assert samples[("smart_bedroom_loop_lag_seconds_bucket", (("le", "0.005"),))] == 1


def test_two_services_keep_separate_metrics() -> None:
    first, second = ServiceMetrics(), ServiceMetrics()
    first.messages(3)
    assert b"smart_bedroom_messages_total 3.0" in first.render()[0]
    assert b"smart_bedroom_messages_total 0.0" in second.render()[0]


@pytest.mark.parametrize(
    "path", ["/", "/api/nights", "/metrics", "/nights/bedroom/2026-11-23", "/api/nights/2026-11-23"]
)
async def test_a_token_guards_every_route_but_healthz(
    store: Store, night: ReplayedNight, path: str
) -> None:
    async with serve(store, token=TOKEN) as client:
        missing = await client.get(path)
        wrong = await client.get(path, headers={"Authorization": "Bearer nope"})
        by_header = await client.get(
            path, params={"room": "bedroom"}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        by_query = await client.get(path, params={"room": "bedroom", "token": TOKEN})
        health = await client.get("/healthz")
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status == 401
    assert by_header.status == 200
    assert by_query.status == 200
    assert health.status == 200


async def test_a_page_opened_with_a_token_carries_it_in_its_links(
    store: Store, night: ReplayedNight
) -> None:
    async with serve(store, token=TOKEN) as client:
        index = await (await client.get("/", params={"token": TOKEN})).text()
        links = hrefs(index)
        night_page = await (await client.get(links[-1])).text()
        header_only = await (
            await client.get("/", headers={"Authorization": f"Bearer {TOKEN}"})
        ).text()
    assert links
    assert all(f"token={TOKEN}" in h for h in links)
    assert f"../../?token={TOKEN}" in hrefs(night_page)
    assert TOKEN not in header_only  # a header token never leaks into the page


async def test_nothing_from_data_is_markup(store: Store, night: ReplayedNight) -> None:
    async with serve(store) as client:
        responses = [await client.get(u) for u in ("/", night_url(night))]
        pages = [await r.text() for r in responses]
    for response, page in zip(responses, pages, strict=True):
        assert "script-src" not in response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "<script" not in page
        assert "<img" not in page
        assert "<b>" not in page
    assert escape(HOSTILE_NAME) in pages[0]  # the templates' escaping: quotes as &#39; &#34;
    assert escape(HOSTILE_RULE) in pages[1]


async def test_an_empty_store_says_no_nights_yet(store: Store) -> None:
    async with serve(store) as client:
        page = await (await client.get("/")).text()
        body = await (await client.get("/api/nights")).json()
    assert "No nights yet" in page
    assert "<table" not in page
    assert body == {"nights": []}


async def test_without_a_store_pages_say_so_and_the_api_is_unavailable() -> None:
    async with serve(None) as client:
        page = await client.get("/")
        page_text = await page.text()
        api = await client.get("/api/nights")
        night_api = await client.get("/api/nights/bedroom/2026-11-23")
        health = await client.get("/healthz")
    assert page.status == 200
    assert "history store is not available" in page_text
    assert api.status == 503
    assert night_api.status == 503
    assert health.status == 200


async def test_a_failing_store_answers_503_with_the_reason(
    store: Store, night: ReplayedNight
) -> None:
    with sqlite3.connect(store.path) as db:  # another process breaks the file under the service
        db.execute("DROP TABLE summaries")
    async with serve(store) as client:
        page = await client.get("/")
        reason = await page.text()
        api = await client.get("/api/nights")
    assert page.status == 503
    assert "history store" in reason
    assert api.status == 503


EVIL_NAME = """Bob's "room" </title><script>alert(1)</script> & <style>*{color:red}</style>"""


@pytest.mark.parametrize(
    "path",
    ["/", "/?room=bedroom", "/nights/bedroom/{date}"],
    ids=["nights-list", "one-room-list", "night-page"],
)
async def test_a_hostile_room_name_is_text_on_every_page_that_shows_it(
    store: Store, night: ReplayedNight, path: str
) -> None:
    room_names = {"bedroom": EVIL_NAME, "guest": "Guest room"}
    async with serve(store, room_names=room_names) as client:
        response = await client.get(path.format(date=night.summary.night_date))
        page = await response.text()
    assert response.status == 200
    assert page.count(escape(EVIL_NAME)) >= 2  # list: nav, trend, rows; night: <title>, <h1>
    assert EVIL_NAME not in page
    assert "<script" not in page
    assert page.count("<style>") == 1  # the page's own stylesheet, nothing from data


PACKAGE = files("integration.adapters")
NEEDED = {
    "templates/base.html",
    "templates/charts.html",
    "templates/message.html",
    "templates/night.html",
    "templates/nights.html",
    "static/dashboard.css",
}


def test_templates_and_stylesheet_are_package_data() -> None:
    """Found through importlib.resources, and every such file matched by pyproject's globs."""
    found = {
        f"{folder}/{entry.name}"
        for folder in ("templates", "static")
        for entry in PACKAGE.joinpath(folder).iterdir()
        if entry.is_file()
    }
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["integration"]
    assert found >= NEEDED
    assert [
        f for f in sorted(found) if not any(PurePosixPath("adapters", f).match(g) for g in globs)
    ] == []


@pytest.mark.parametrize(
    ("path", "status"),
    [("/", 200), ("/nights/bedroom/{date}", 200), ("/nights/bedroom/2020-01-01", 404)],
    ids=["nights-list", "night-page", "no-such-night"],
)
async def test_pages_carry_the_packaged_stylesheet_allowed_by_its_hash_alone(
    store: Store, night: ReplayedNight, path: str, status: int
) -> None:
    stylesheet = PACKAGE.joinpath("static/dashboard.css").read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(stylesheet.encode()).digest()).decode()
    async with serve(store) as client:
        response = await client.get(path.format(date=night.summary.night_date))
        page = await response.text()
    csp = response.headers["Content-Security-Policy"]
    assert response.status == status
    assert re.findall(r"<style>(.*?)</style>", page, re.DOTALL) == [stylesheet]
    assert f"style-src 'sha256-{digest}';" in csp
    assert "unsafe-inline" not in csp
    assert "--bg: #0d1117" in stylesheet  # the dark theme the browser tests look for
