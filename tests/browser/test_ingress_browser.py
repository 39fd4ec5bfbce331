"""The dashboard in headless Chromium behind a reverse proxy that does what HA's ingress does.

The browser only ever talks to the proxy, at `/api/hassio_ingress/<token>/…`; the proxy strips the
prefix, adds `X-Ingress-Path`, `X-Forwarded-*` and `X-Remote-User-*` as HA and its Supervisor do,
streams bodies both ways, and connects from 127.0.0.2, the one address the dashboard is told to
trust (the Supervisor's 172.30.32.2 in an add-on). Chromium, from 127.0.0.1, is a stranger to it.
Driven through Chromium's DevTools protocol, whose network events show every request the pages
made. https://developers.home-assistant.io/docs/add-ons/presentation#ingress
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from itertools import count
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import hdrs, web
from yarl import URL

from integration.adapters.metrics import ServiceMetrics
from integration.adapters.store import Store
from integration.adapters.web import Health, make_app, start_dashboard
from integration.core.labels import EventLabel, Label
from tests.browser.history import ROOM_NAMES, ZONE, ReplayedNight, fill
from tests.browser.test_dashboard_browser import CHROMIUM_TIMEOUT_S, chromium

pytestmark = pytest.mark.browser

PROXY_SOURCE = "127.0.0.2"  # where the proxy's requests come from: the dashboard trusts it alone
PREFIX = "/api/hassio_ingress/r4nd0m_Ingress-token"
# Neither way: hop-by-hop headers, and the framing the proxy redoes; nor what only HA may say.
NOT_FORWARDED = {
    hdrs.CONNECTION,
    hdrs.KEEP_ALIVE,
    hdrs.TRANSFER_ENCODING,
    hdrs.CONTENT_LENGTH,
    hdrs.CONTENT_ENCODING,
    hdrs.ACCEPT_ENCODING,
    hdrs.UPGRADE,
    "X-Ingress-Path",
    "X-Remote-User-Id",
    "X-Remote-User-Name",
    "X-Remote-User-Display-Name",
}
HA_USER = {
    "X-Remote-User-Id": "0c8f2d",
    "X-Remote-User-Name": "alice",
    "X-Remote-User-Display-Name": "Alice",
}


class KeepingLabeller:
    """Takes every label and keeps it, as the service's `Outbound` would."""

    def __init__(self) -> None:
        self.labels: list[tuple[int, Label]] = []

    async def label_event(self, event_id: int, label: Label, source: str) -> EventLabel:
        self.labels.append((event_id, label))
        return EventLabel("bedroom", 0.0, 1.0, label, "jerk", 0.0, source, event_id)

    async def report_missed(self, room: str, source: str) -> EventLabel:
        return EventLabel(room, 0.0, 0.0, Label.MISSED, None, 0.0, source)


def ingress_proxy(upstream: str) -> web.Application:
    """A reverse proxy like HA's ingress in front of the dashboard at `upstream`."""
    session_key = web.AppKey("session", aiohttp.ClientSession)

    async def forward(request: web.Request) -> web.StreamResponse:
        if not request.path.startswith(PREFIX + "/"):
            raise web.HTTPNotFound
        headers = {k: v for k, v in request.headers.items() if k not in NOT_FORWARDED}
        headers |= {
            "X-Ingress-Path": PREFIX,
            "X-Forwarded-Host": request.host,
            "X-Forwarded-Proto": request.scheme,
            "X-Forwarded-For": request.remote or "",
            **HA_USER,
        }
        target = URL(upstream + request.raw_path.removeprefix(PREFIX), encoded=True)
        async with request.app[session_key].request(
            request.method,
            target,
            headers=headers,
            data=request.content if request.body_exists else None,
            allow_redirects=False,
        ) as answer:
            response = web.StreamResponse(
                status=answer.status,
                headers={k: v for k, v in answer.headers.items() if k not in NOT_FORWARDED},
            )
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def session(app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(local_addr=(PROXY_SOURCE, 0))
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as http:
            app[session_key] = http
            yield

    app = web.Application()
    app.cleanup_ctx.append(session)
    app.router.add_route("*", "/{path:.*}", forward)
    return app


@dataclass(frozen=True, slots=True)
class Ingress:
    home: str  # the ingress panel's URL, as the browser asks HA for it
    dashboard: str  # the dashboard's own address, which only the proxy may use
    night: ReplayedNight
    labeller: KeepingLabeller


@pytest.fixture
async def behind_ingress(tmp_path: Path) -> AsyncIterator[Ingress]:
    store = await Store.open(tmp_path / "history.db")
    labeller = KeepingLabeller()
    dashboard = make_app(
        store=store,
        zone=ZONE,
        health=lambda: Health("connected", "available"),
        metrics=ServiceMetrics(),
        token=None,
        room_names=ROOM_NAMES,
        labeller=labeller,
        ingress_proxy=IPv4Address(PROXY_SOURCE),
    )
    dashboard_runner = await start_dashboard(dashboard, "127.0.0.1", 0)
    upstream = f"http://127.0.0.1:{dashboard_runner.addresses[0][1]}"
    proxy_runner = web.AppRunner(ingress_proxy(upstream), access_log=None)
    await proxy_runner.setup()
    await web.TCPSite(proxy_runner, "127.0.0.1", 0).start()
    proxy_port = proxy_runner.addresses[0][1]
    try:
        yield Ingress(
            f"http://127.0.0.1:{proxy_port}{PREFIX}/", upstream + "/", await fill(store), labeller
        )
    finally:
        await proxy_runner.cleanup()
        await dashboard_runner.cleanup()
        await store.close()


@dataclass(slots=True)
class DevTools:
    """One page of Chromium over its DevTools protocol: calls, and the events it sends."""

    ws: aiohttp.ClientWebSocketResponse
    events: list[dict[str, Any]] = field(default_factory=list)
    _answers: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _ids: count[int] = field(default_factory=lambda: count(1))
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def read(self) -> None:
        """Route each message: an answer to its call, an event to `events`."""
        async for message in self.ws:
            data: dict[str, Any] = message.json()
            if "id" in data:
                self._answers.pop(data["id"]).set_result(data)
            else:
                async with self._arrived:
                    self.events.append(data)
                    self._arrived.notify_all()

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        self._answers[ident] = answer = asyncio.get_running_loop().create_future()
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        return (await answer).get("result", {})

    async def evaluate(self, expression: str) -> Any:
        """The expression's value in the page (not subject to the page's CSP)."""
        found = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return found["result"].get("value")

    def named(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.events if e["method"] == method]

    async def loads_after(self, action: Callable[[], Any]) -> str:
        """Do `action`, wait for the page it leads to to load, and say where it is."""
        before = len(self.named("Page.loadEventFired"))
        await action()
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.named("Page.loadEventFired")) > before)
        location: str = await self.evaluate("location.href")
        return location


@contextlib.asynccontextmanager
async def devtools(profile: Path) -> AsyncIterator[DevTools]:
    """A headless Chromium with network, page and log events on, for one test."""
    process = await asyncio.create_subprocess_exec(
        chromium(),
        "--headless=new",
        *(["--no-sandbox"] if os.geteuid() == 0 else []),
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    drain: asyncio.Task[bytes] | None = None
    try:
        async with asyncio.timeout(CHROMIUM_TIMEOUT_S):
            # Chromium says where DevTools listens when it is up: a line to read, not a clock.
            while not (line := (await process.stderr.readline()).decode()).startswith(
                "DevTools listening on "
            ):
                assert line, "Chromium ended before DevTools listened"
            drain = asyncio.create_task(process.stderr.read(), name="chromium-stderr")
            port = URL(line.split()[-1]).port
            async with aiohttp.ClientSession() as http:
                pages = await (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
                target = next(p for p in pages if p.get("type") == "page")
                async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    tools = DevTools(ws)
                    reader = asyncio.create_task(tools.read(), name="devtools-reader")
                    for domain in ("Network", "Page", "Log"):
                        await tools.call(f"{domain}.enable")
                    try:
                        yield tools
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await reader
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        if drain is not None:
            await drain


# Measured in the page: the stylesheet applied (a flex header, the chart shown at this width).
STYLED = """JSON.stringify([
  getComputedStyle(document.querySelector('header')).display,
  getComputedStyle(document.querySelector('.wide')).display,
  document.styleSheets.length,
])"""


async def test_the_dashboard_works_through_ingress_and_nothing_leaves_the_prefix(
    behind_ingress: Ingress, tmp_path: Path
) -> None:
    ingress, night_date = behind_ingress, behind_ingress.night.summary.night_date
    night_url = f"{ingress.home}nights/bedroom/{night_date}"
    async with devtools(tmp_path / "profile") as page:
        # The nights page, as HA's ingress panel opens it.
        home = await page.loads_after(lambda: page.call("Page.navigate", url=ingress.home))
        assert home == ingress.home
        assert await page.evaluate(STYLED) == '["flex","block",1]'
        assert await page.evaluate("document.querySelector('header .viewer').textContent") == (
            "Alice"
        )

        # A night, by its link.
        click_night = "document.querySelector('a[href^=\"nights/bedroom/\"]').click()"
        assert await page.loads_after(lambda: page.evaluate(click_night)) == night_url
        assert await page.evaluate(STYLED) == '["flex","block",1]'
        assert await page.evaluate("document.querySelectorAll('svg.night-chart').length") == 2

        # A label, by its form: posted, redirected, and back on the night's page.
        event_id = int(await page.evaluate("document.querySelector('form.label').event.value"))
        reject = "document.querySelector('form.label button[value=rejected]').click()"
        assert await page.loads_after(lambda: page.evaluate(reject)) == night_url
        assert ingress.labeller.labels == [(event_id, Label.REJECTED)]

        requests = page.named("Network.requestWillBeSent")
        responses = page.named("Network.responseReceived")
        problems = [e["entry"] for e in page.named("Log.entryAdded")]

        # The dashboard itself, asked directly by anyone but the proxy.
        await page.loads_after(lambda: page.call("Page.navigate", url=ingress.dashboard))
        direct = [r["response"]["status"] for r in page.named("Network.responseReceived")]

    urls = [r["request"]["url"] for r in requests]
    assert [u for u in urls if not u.startswith(ingress.home)] == []
    assert [(r["request"]["method"], r["request"]["url"]) for r in requests].count(
        ("POST", f"{night_url}/label")
    ) == 1
    assert {r["response"]["url"]: r["response"]["status"] for r in responses} == {
        ingress.home: 200,
        night_url: 200,
    }
    assert [r["redirectResponse"]["status"] for r in requests if "redirectResponse" in r] == [303]
    assert problems == []  # no CSP refusal, no failed load, no console error
    assert direct[len(responses) :] == [403]
