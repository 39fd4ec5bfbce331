"""The live page in headless Chromium against the running service on the private broker.

The page reloads itself (`<meta http-equiv="refresh">`); the test waits on Chromium's load
events, reads the chart and the figures from each new document, and taps the "mattress" by
publishing a short burst of samples, as a person placing a sensor would.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from itertools import count
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from integration.service import Service
from tests.browser.test_dashboard_browser import ARTIFACTS, CHROMIUM_TIMEOUT_S, VIEWPORTS, chromium
from tests.e2e.helpers import SETTLE_S, publish_all, running, service_config
from tests.mosquitto import Mosquitto

pytestmark = pytest.mark.browser

RATE_HZ = 50
# What the test reads of each document: the first (wide) chart's line, the figures, the layout.
STATE = """JSON.stringify({
  ready: document.readyState,
  line: (document.querySelector('svg.live-chart path.signal') || {getAttribute: () => null})
    .getAttribute('d'),
  figures: Object.fromEntries([...document.querySelectorAll('.figure')].map(
    f => [f.querySelector('.label').textContent, f.querySelector('.value').textContent])),
  refresh: document.querySelector('meta[http-equiv=refresh]')?.content ?? null,
  view: document.documentElement.clientWidth,
  page: document.documentElement.scrollWidth,
  scripts: document.scripts.length,
})"""


class DevTools:
    """One page of a headless Chromium over its DevTools protocol: calls, and events queued."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.loads: asyncio.Queue[None] = asyncio.Queue()
        self.problems: list[dict[str, Any]] = []  # console errors, CSP refusals

    async def pump(self) -> None:
        async for message in self._ws:
            data: dict[str, Any] = json.loads(message.data)
            if "id" in data:
                self._answers.pop(data["id"]).set_result(data)
            elif data.get("method") == "Page.loadEventFired":
                self.loads.put_nowait(None)
            elif data.get("method") == "Log.entryAdded":
                self.problems.append(data["params"]["entry"])
            elif data.get("method") == "Runtime.consoleAPICalled":
                self.problems.append(data["params"])

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        answer = self._answers[ident] = asyncio.get_running_loop().create_future()
        await self._ws.send_json({"id": ident, "method": method, "params": params})
        return await answer

    async def state(self) -> dict[str, Any]:
        answer = await self.call("Runtime.evaluate", expression=STATE, returnByValue=True)
        found: dict[str, Any] = json.loads(answer["result"]["result"]["value"])
        return found

    async def reload_until(self, holds: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The state of the first freshly loaded document for which `holds` is true."""
        while True:
            await self.loads.get()
            found = await self.state()
            if holds(found):
                return found


@contextlib.asynccontextmanager
async def devtools(profile: Path, width: int, height: int) -> AsyncIterator[DevTools]:
    process = await asyncio.create_subprocess_exec(
        chromium(),
        "--headless=new",
        *(["--no-sandbox"] if os.geteuid() == 0 else []),
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        async with asyncio.timeout(CHROMIUM_TIMEOUT_S):
            # Chromium writes its port when it is up: a process to wait for, not a clock.
            while not port_file.exists() or not port_file.read_text().strip():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as http:
            pages = await (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
            target = next(p for p in pages if p.get("type") == "page")
            async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                tools = DevTools(ws)
                pump = asyncio.create_task(tools.pump(), name="devtools-pump")
                try:
                    await tools.call(
                        "Emulation.setDeviceMetricsOverride",
                        width=width,
                        height=height,
                        deviceScaleFactor=1,
                        mobile=True,
                    )
                    for domain in ("Page", "Log", "Runtime"):
                        await tools.call(f"{domain}.enable")
                    yield tools
                finally:
                    pump.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pump
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def batch(topic: str, t0: float, z: list[float]) -> tuple[str, bytes]:
    n = len(z)
    body = {"t0": round(t0, 3), "rate": RATE_HZ, "x": [0.0] * n, "y": [0.0] * n, "z": z}
    return topic, json.dumps(body).encode()


@pytest.fixture
async def live_service(
    mosquitto: Mosquitto, unique_topic: str, tmp_path: Path
) -> AsyncIterator[Service]:
    room = {
        "id": "bedroom",
        "name": "Bedroom",
        "sensors": [{"id": "bed", "kind": "motion", "topic": f"{unique_topic}/bed/accel"}],
    }
    config = service_config(mosquitto, unique_topic, room)
    store = config.store.model_copy(update={"path": tmp_path / "history.db"})  # raw nights beside
    service = Service(config.model_copy(update={"store": store}), None, discovery_settle_s=SETTLE_S)
    async with running(service.run, service.mqtt):
        yield service


async def test_a_tap_on_the_mattress_shows_on_the_live_page_at_the_next_reload(
    live_service: Service, mosquitto: Mosquitto, unique_topic: str, tmp_path: Path
) -> None:
    topic = f"{unique_topic}/bed/accel"
    assert live_service.dashboard_url is not None
    url = live_service.dashboard_url + "live"
    width, height = VIEWPORTS["phone"]
    async with asyncio.timeout(CHROMIUM_TIMEOUT_S), devtools(tmp_path / "p", width, height) as tab:
        await tab.call("Page.navigate", url=url)
        silent = await tab.reload_until(lambda s: s["ready"] == "complete")
        assert silent["line"] is None  # never heard: no line, and the page says so
        assert silent["figures"]["Messages"] == "0"

        now = time.time()
        await publish_all(mosquitto, [batch(topic, now - 3 + s, [1.0] * RATE_HZ) for s in range(3)])
        resting = await tab.reload_until(lambda s: s["figures"].get("Messages") == "3")
        assert resting["line"] is not None
        assert resting["figures"]["Peak, last minute"] == "0 mg"

        tap = [1.0] * RATE_HZ
        tap[20:26] = [1.25, 0.8, 1.15, 0.9, 1.05, 0.98]  # a knock: a few tens of ms of ringing
        await publish_all(mosquitto, [batch(topic, now, tap)])
        tapped = await tab.reload_until(lambda s: s["figures"].get("Messages") == "4")

        assert tapped["line"] != resting["line"]
        assert int(tapped["figures"]["Peak, last minute"].removesuffix(" mg")) >= 200
        assert tapped["refresh"] == "1"
        assert tapped["scripts"] == 0
        assert tapped["page"] <= tapped["view"], tapped  # nothing runs off a phone
        shot = await tab.call("Page.captureScreenshot", format="png")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dashboard-live-phone-tapped.png").write_bytes(
        base64.b64decode(shot["result"]["data"])
    )
    assert tab.problems == []
