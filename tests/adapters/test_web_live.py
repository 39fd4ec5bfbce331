"""The live page and `/api/live`, served by the real app over a `LiveSignal` fed by hand."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from integration.adapters.livesignal import LiveSensor, LiveSignal, SensorFigures
from integration.adapters.metrics import ServiceMetrics
from integration.adapters.web import Health, LiveSource, make_app
from integration.core.readings import AccelSamples
from tests.browser.history import ROOM_NAMES, ZONE

TOKEN = "s3cret-token"  # noqa: S105 - a test's own token
T0 = 1_764_962_400.0
BED = LiveSensor("bedroom", "Bedroom", "bed", "bedsensor/bed/accel")
PARTNER = LiveSensor("bedroom", "Bedroom", "partner", "bedsensor/partner/accel")
FIGURES = {
    BED.key: SensorFigures(30, 2, {"flood": 0, "duplicate": 1, "late": 0}, 2.4),
    PARTNER.key: SensorFigures(0, 5, {"flood": 0, "duplicate": 0, "late": 0}, None, flat=True),
}


def fed(seconds: int = 30, tap_at: int | None = None) -> LiveSignal:
    signal = LiveSignal([BED, PARTNER], lambda: FIGURES)
    for second in range(seconds):
        z = [1.0] * 50
        if second == tap_at:
            z[10:14] = [1.3, 0.7, 1.2, 0.9]
        samples = AccelSamples(
            "bedroom", "bed", T0 + second, 50.0, (0.0,) * 50, (0.0,) * 50, tuple(z)
        )
        signal.take(T0 + second + 1, [samples])
    return signal


@asynccontextmanager
async def serve(
    live: LiveSource | None, token: str | None = None, health: Health | None = None
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = make_app(
        store=None,
        zone=ZONE,
        health=lambda: health or Health("connected", "disabled"),
        metrics=ServiceMetrics(),
        token=token,
        room_names=ROOM_NAMES,
        live=live,
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def test_live_page_draws_each_sensor_with_its_figures_and_reloads_itself() -> None:
    signal = fed(tap_at=25)
    async with serve(lambda: signal.view(T0 + 30.2)) as client:
        response = await client.get("/live")
        page = await response.text()
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "script" not in response.headers["Content-Security-Policy"]
    assert "<script" not in page
    assert '<meta http-equiv="refresh" content="1">' in page
    assert page.count('class="chart live-chart"') == 4  # two sensors, wide and narrow
    assert page.count('class="signal"') == 2  # the partner has no signal: no line
    assert "no signal yet" in page
    assert '<span class="value">50.0 Hz</span><span class="label">Rate, measured</span>' in page
    assert '<span class="value">50 Hz</span><span class="label">Rate, sent</span>' in page
    assert '<span class="value">30</span><span class="label">Messages</span>' in page
    assert '<span class="value">2</span><span class="label">Rejected</span>' in page
    assert '<span class="value">1</span><span class="label">Dropped</span>' in page
    assert '<span class="value">2.4 mg</span><span class="label">Resting level</span>' in page
    assert '<span class="value">0.2 s ago</span><span class="label">Last message</span>' in page
    assert 'class="resting"' in page
    peak = re.search(r'<span class="value">(\d+) mg</span><span class="label">Peak', page)
    assert peak is not None
    assert 250 <= int(peak.group(1)) <= 300  # the tap's 300 mg, less the running mean's share
    assert 'href="./">All nights</a>' in page


async def test_a_sensor_that_never_spoke_says_so_with_its_topic() -> None:
    signal = LiveSignal([BED])
    async with serve(lambda: signal.view(T0)) as client:
        page = await (await client.get("/live")).text()
    assert "This sensor has not spoken yet" in page
    assert "publishing on <code>bedsensor/bed/accel</code>" in page
    assert "Listening on <code>bedsensor/bed/accel</code>" in page


async def test_a_sensor_whose_messages_are_all_refused_says_so() -> None:
    signal = fed()
    async with serve(lambda: signal.view(T0 + 30)) as client:
        page = await (await client.get("/live")).text()
    assert "none could be read\n(5 refused)" in page
    assert page.count("flat line") == 1  # the partner's: stuck


async def test_no_motion_sensor_configured_is_said_plainly() -> None:
    signal = LiveSignal([])
    async with serve(lambda: signal.view(T0)) as client:
        page = await (await client.get("/live")).text()
    assert "No motion sensor is configured" in page
    assert "live-chart" not in page


async def test_api_live_has_points_rates_counts_and_resting_level() -> None:
    signal = fed(tap_at=25)
    async with serve(lambda: signal.view(T0 + 30.2)) as client:
        response = await client.get("/api/live")
        body = await response.json()
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert body["window_s"] == 60.0
    assert body["point_hz"] == 10.0
    bed, partner = body["sensors"]
    assert bed["sensor"] == "bed"
    assert bed["topic"] == "bedsensor/bed/accel"
    assert bed["declared_rate_hz"] == 50.0
    assert bed["measured_rate_hz"] == 50.0
    assert bed["messages"] == 30
    assert bed["rejected"] == 2
    assert bed["dropped"] == {"flood": 0, "duplicate": 1, "late": 0}
    assert bed["resting_mg"] == 2.4
    assert bed["heard_s_ago"] == 0.2
    assert len(bed["points"]) == 300  # 30 s at 10 a second
    assert bed["points"][-1][0] == 0.0
    assert max(abs(v) for _, v in bed["points"]) == bed["peak_mg"]
    assert partner["points"] == []
    assert partner["heard_s_ago"] is None
    assert partner["rejected"] == 5
    assert partner["flat"] is True
    assert bed["flat"] is False


async def test_the_nights_page_links_to_the_live_page_relatively_with_the_token() -> None:
    signal = LiveSignal([BED])
    async with serve(lambda: signal.view(T0), token=TOKEN) as client:
        nights = await (await client.get("/", params={"token": TOKEN})).text()
        live = await (await client.get("/live", params={"token": TOKEN})).text()
    assert f'href="live?token={TOKEN}">Live signal</a>' in nights
    assert f'href="./?token={TOKEN}">All nights</a>' in live


async def test_a_token_guards_the_live_page_and_its_json() -> None:
    signal = LiveSignal([BED])
    async with serve(lambda: signal.view(T0), token=TOKEN) as client:
        for path in ("/live", "/api/live"):
            assert (await client.get(path)).status == 401
            assert (await client.get(path, params={"token": TOKEN})).status == 200


async def test_without_the_running_service_there_is_no_live_view() -> None:
    async with serve(None) as client:
        page = await client.get("/live")
        page_text = await page.text()
        api = await client.get("/api/live")
        nights = await (await client.get("/")).text()
    assert page.status == 404
    assert "needs the running service" in page_text
    assert api.status == 404
    assert "Live signal" not in nights


async def test_hostile_names_and_topics_are_escaped() -> None:
    hostile = LiveSensor("bedroom", "<b>Bed</b>", "<script>x</script>", "bed/<img src=x>/accel")
    signal = LiveSignal([hostile])
    async with serve(lambda: signal.view(T0)) as client:
        page = await (await client.get("/live")).text()
    assert "<script>x" not in page
    assert "<img src=x>" not in page
    assert "&lt;img src=x&gt;" in page


async def test_what_the_comfort_controller_learned_is_on_the_live_page() -> None:
    learned = {
        "heating_rate_c_per_h": 2.38,
        "cooling_rate_c_per_h": None,
        "room_lag_min": 4.7,
        "heating_overshoot_c": 0.25,
        "cooling_overshoot_c": 0.0,
        "learned_at": "2026-11-24T03:12:00.000+00:00",
    }
    health = Health("connected", "disabled", comfort_learned={"bedroom": learned})
    signal = fed()
    async with serve(lambda: signal.view(T0 + 30.2), health=health) as client:
        page = await (await client.get("/live")).text()
    assert "The room, as the comfort controller learned it" in page
    for shown in ("2.38 °C/h", "4.7 min", "0.25 °C", "2026-11-24 03:12", "not yet"):
        assert shown in page
