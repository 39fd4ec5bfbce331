"""The dashboard behind Home Assistant's ingress: only the Supervisor's address is answered, with
no token of ours, and every link, form and redirect stays under the `X-Ingress-Path` prefix.

The test client connects from 127.0.0.1: trusting that address stands in for the Supervisor;
trusting HA's real one (172.30.32.2) makes the test client a stranger.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import IPv4Address, ip_address
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from integration.adapters.metrics import ServiceMetrics
from integration.adapters.store import Store
from integration.adapters.web import Health, make_app, serve_dashboard
from integration.config import DashboardConfig, SecretRef, load_config
from integration.core.labels import EventLabel, Label
from integration.errors import ConfigError
from tests.browser.history import DEMO, ROOM_NAMES, ZONE, ReplayedNight

SUPERVISOR = DashboardConfig().ingress_proxy  # HA's own default, 172.30.32.2
LOOPBACK = IPv4Address("127.0.0.1")
PREFIX = "/api/hassio_ingress/Xq3_token-9"
# What HA's frontend address is, as HA's proxy tells us (X-Forwarded-*); ours is 127.0.0.1:port.
HA_ORIGIN = "https://ha.example:8123"
INGRESS = {
    "X-Ingress-Path": PREFIX,
    "X-Forwarded-Host": "ha.example:8123",
    "X-Forwarded-Proto": "https",
    "X-Remote-User-Id": "8a1f",
    "X-Remote-User-Name": "alice",
    "X-Remote-User-Display-Name": "Alice",
}


class KeepingLabeller:
    """Takes every label and keeps it, as the service's `Outbound` would."""

    def __init__(self) -> None:
        self.labels: list[tuple[int | None, Label]] = []

    async def label_event(self, event_id: int, label: Label, source: str) -> EventLabel:
        self.labels.append((event_id, label))
        return EventLabel("bedroom", 0.0, 1.0, label, "jerk", 0.0, source, event_id)

    async def report_missed(self, room: str, source: str) -> EventLabel:
        self.labels.append((None, Label.MISSED))
        return EventLabel(room, 0.0, 0.0, Label.MISSED, None, 0.0, source)


@asynccontextmanager
async def ingress(
    store: Store, proxy: IPv4Address = LOOPBACK, labeller: KeepingLabeller | None = None
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The dashboard as HA's ingress listener, answering `proxy` alone."""
    app = make_app(
        store=store,
        zone=ZONE,
        health=lambda: Health("connected", "available"),
        metrics=ServiceMetrics(),
        token=None,
        room_names=ROOM_NAMES,
        labeller=labeller or KeepingLabeller(),
        ingress_proxy=proxy,
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


def urls_in(page: str) -> list[str]:
    """Every link and form action of a page, unescaped."""
    return [html.unescape(u) for u in re.findall(r'(?:href|action)="([^"]*)"', page)]


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def unprefixed(browser_url: str) -> str:
    """What HA's proxy asks us for when the browser asks HA for `browser_url`."""
    parts = urlsplit(browser_url)
    assert parts.path.startswith(PREFIX + "/"), browser_url
    return parts.path.removeprefix(PREFIX) + (f"?{parts.query}" if parts.query else "")


async def test_the_proxy_is_answered_without_a_token(store: Store, night: ReplayedNight) -> None:
    async with ingress(store) as client:
        pages = [await client.get(p, headers=INGRESS) for p in ("/", "/api/nights", "/healthz")]
    assert [p.status for p in pages] == [200, 200, 200]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/nights/bedroom/2026-11-23"),
        ("GET", "/api/nights"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("POST", "/rooms/bedroom/missed"),
    ],
)
async def test_anyone_but_the_supervisor_gets_403(
    store: Store, night: ReplayedNight, method: str, path: str
) -> None:
    labeller = KeepingLabeller()
    async with ingress(store, SUPERVISOR, labeller) as client:
        # Headers are anyone's to send: claiming to be ingress changes nothing.
        response = await client.request(method, path, headers=INGRESS)
        text = await response.text()
    assert response.status == 403
    assert "Home Assistant's ingress only" in text
    assert labeller.labels == []


def test_the_default_trusted_address_is_the_supervisors() -> None:
    assert ip_address("172.30.32.2") == SUPERVISOR


async def test_a_refused_address_is_logged_once_at_warning(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="integration.adapters.web")
    async with ingress(store, SUPERVISOR) as client:
        for _ in range(3):
            assert (await client.get("/")).status == 403
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert [r.levelno for r in refusals] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    assert "127.0.0.1" in refusals[0].getMessage()


async def test_links_forms_and_redirects_stay_under_the_prefix(
    store: Store, night: ReplayedNight
) -> None:
    """Followed as a browser at HA's address would: each URL resolved against the page's own."""
    labeller = KeepingLabeller()
    home = f"{HA_ORIGIN}{PREFIX}/"
    async with ingress(store, labeller=labeller) as client:
        index = await (await client.get("/", headers=INGRESS)).text()
        seen: dict[str, int] = {}
        for url in {urljoin(home, u) for u in urls_in(index)}:
            if not url.endswith("/missed"):  # a form: posted below
                seen[url] = (await client.get(unprefixed(url), headers=INGRESS)).status
        night_url = urljoin(home, f"nights/bedroom/{night.summary.night_date}")
        night_page = await (await client.get(unprefixed(night_url), headers=INGRESS)).text()
        for url in {urljoin(night_url, u) for u in urls_in(night_page)}:
            if url.endswith("/label"):
                event = re.findall(r'name="event" value="(\d+)"', night_page)[0]
                form = {"csrf": csrf_of(night_page), "event": event, "label": "rejected"}
                posted = await client.post(
                    unprefixed(url),
                    data=form,
                    headers={**INGRESS, "Sec-Fetch-Site": "same-origin"},
                    allow_redirects=False,
                )
                assert posted.status == 303
                landing = urljoin(url, posted.headers["Location"])
                assert landing == night_url
                seen[landing] = (await client.get(unprefixed(landing), headers=INGRESS)).status
            else:
                seen[url] = (await client.get(unprefixed(url), headers=INGRESS)).status
        missed_form = next(u for u in urls_in(index) if u.endswith("/missed"))
        missed = await client.post(
            unprefixed(urljoin(home, missed_form)),
            data={"csrf": csrf_of(index)},
            headers={**INGRESS, "Sec-Fetch-Site": "same-origin"},
            allow_redirects=False,
        )
        assert missed.status == 303
        back = urljoin(urljoin(home, missed_form), missed.headers["Location"])
        assert back == f"{home}?room=bedroom"
        seen[back] = (await client.get(unprefixed(back), headers=INGRESS)).status
    assert len(seen) > 10
    assert {u: s for u, s in seen.items() if s != 200} == {}
    assert labeller.labels[0][1] is Label.REJECTED
    assert labeller.labels[-1] == (None, Label.MISSED)


async def test_a_refused_label_leads_back_to_its_night_under_the_prefix(
    store: Store, night: ReplayedNight
) -> None:
    night_url = f"{HA_ORIGIN}{PREFIX}/nights/bedroom/{night.summary.night_date}"
    async with ingress(store) as client:
        page = await (await client.get(unprefixed(night_url), headers=INGRESS)).text()
        refused = await client.post(
            unprefixed(night_url + "/label"),
            data={"csrf": csrf_of(page), "event": "1", "label": "missed"},
            headers={**INGRESS, "Sec-Fetch-Site": "same-origin"},
        )
        text = await refused.text()
    assert refused.status == 400
    (back,) = re.findall(r'href="([^"]*)">All nights', text)
    assert urljoin(night_url + "/label", html.unescape(back)) == night_url


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-Fetch-Site": "same-origin", "Origin": HA_ORIGIN}, 303),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403),
        ({"Sec-Fetch-Site": "same-site", "Origin": "https://other.ha.example:8123"}, 403),
        ({"Origin": HA_ORIGIN}, 303),  # a browser without Sec-Fetch-Site
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "http://ha.example:8123"}, 403),  # not the scheme HA serves
        ({"Origin": "null"}, 403),
    ],
    ids=[
        "same-origin",
        "cross-site",
        "same-site",
        "origin-ha",
        "origin-evil",
        "origin-http",
        "null",
    ],
)
async def test_forms_through_ingress_are_checked_against_has_origin(
    store: Store, night: ReplayedNight, headers: dict[str, str], status: int
) -> None:
    labeller = KeepingLabeller()
    async with ingress(store, labeller=labeller) as client:
        page = await (await client.get("/", headers=INGRESS)).text()
        response = await client.post(
            "/rooms/bedroom/missed",
            data={"csrf": csrf_of(page)},
            headers={**INGRESS, **headers},
            allow_redirects=False,
        )
    assert response.status == status
    assert len(labeller.labels) == (1 if status == 303 else 0)


async def test_our_own_address_is_not_the_origin_behind_ingress(store: Store) -> None:
    """The browser only ever sees HA's address; a page at ours posting is someone else's."""
    async with ingress(store) as client:
        page = await (await client.get("/", headers=INGRESS)).text()
        ours = f"http://{client.host}:{client.port}"
        response = await client.post(
            "/rooms/bedroom/missed",
            data={"csrf": csrf_of(page)},
            headers={**INGRESS, "Origin": ours},
            allow_redirects=False,
        )
    assert response.status == 403


@pytest.mark.parametrize(
    "path",
    [
        '"><script>alert(1)</script>',
        "https://evil.example/",
        "//evil.example",
        "/api/hassio_ingress/../../evil",
        "/api/hassio_ingress/abc\r\nSet-Cookie: x=1",
    ],
    ids=["markup", "absolute-url", "scheme-relative", "dot-dot", "header-splitting"],
)
async def test_the_ingress_path_header_is_never_reflected(
    store: Store, night: ReplayedNight, path: str
) -> None:
    night_path = f"/nights/bedroom/{night.summary.night_date}"
    headers = {**INGRESS, "X-Ingress-Path": path.replace("\r\n", " ")}
    async with ingress(store) as client:
        responses = [await client.get(p, headers=headers) for p in ("/", night_path, "/nope")]
        texts = [await r.text() for r in responses]
    assert [r.status for r in responses] == [200, 200, 404]
    for response, text in zip(responses, texts, strict=True):
        assert "evil" not in text
        assert "hassio_ingress" not in text
        assert all("evil" not in v for v in response.headers.values())


async def test_the_ha_user_is_named_as_text(store: Store, night: ReplayedNight) -> None:
    hostile = {**INGRESS, "X-Remote-User-Display-Name": "<b>Alice</b> " + "x" * 200}
    async with ingress(store) as client:
        named = await (await client.get("/", headers=INGRESS)).text()
        by_username = await (await client.get("/", headers={"X-Remote-User-Name": "alice"})).text()
        escaped = await (await client.get("/", headers=hostile)).text()
    assert '<span class="viewer" title="signed in to Home Assistant">Alice</span>' in named
    assert ">alice</span>" in by_username
    assert "<b>" not in escaped
    assert "&lt;b&gt;Alice&lt;/b&gt; " + "x" * 51 + "</span>" in escaped


async def test_the_direct_listener_ignores_ingress_headers(
    store: Store, night: ReplayedNight
) -> None:
    """Without ingress the X-* headers are anyone's words: no name shown, our own origin."""
    app = make_app(
        store=store,
        zone=ZONE,
        health=lambda: Health("connected", "available"),
        metrics=ServiceMetrics(),
        token=None,
        room_names=ROOM_NAMES,
        labeller=KeepingLabeller(),
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        page = await (await client.get("/", headers=INGRESS)).text()
        forged = await client.post(
            "/rooms/bedroom/missed",
            data={"csrf": csrf_of(page)},
            headers={**INGRESS, "Origin": HA_ORIGIN},
            allow_redirects=False,
        )
    assert "Alice" not in page
    assert forged.status == 403


def test_an_ingress_listener_takes_no_token(store: Store) -> None:
    with pytest.raises(ValueError, match="no token"):
        make_app(
            store=store,
            zone=ZONE,
            health=lambda: Health("connected", "available"),
            metrics=ServiceMetrics(),
            token="s3cret",  # noqa: S106 - a test's own token
            room_names=ROOM_NAMES,
            ingress_proxy=LOOPBACK,
        )


def test_ingress_needs_no_token_but_a_direct_port_beyond_localhost_still_does() -> None:
    assert DashboardConfig(ingress_port=8099).token is None
    with pytest.raises(ValueError, match="needs a token"):
        DashboardConfig(host="0.0.0.0", ingress_port=8099)  # noqa: S104 - the point of the test


def test_a_trusted_address_that_is_no_address_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    demo = DEMO.read_text(encoding="utf-8")
    assert "\ndashboard:" not in demo
    config.write_text(
        demo + "\ndashboard:\n  ingress_port: 8099\n  ingress_proxy: supervisor\n", "utf-8"
    )
    with pytest.raises(ConfigError, match=r"ingress_proxy: value is not a valid IPv4 or IPv6"):
        load_config(config)


@pytest.mark.parametrize("direct_token", [None, "empty"], ids=["direct-too", "direct-refused"])
async def test_serve_dashboard_starts_the_ingress_listener(
    store: Store,
    night: ReplayedNight,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    direct_token: str | None,
) -> None:
    """Beside the direct listener, or alone when the direct one's token is empty."""
    monkeypatch.setenv("TEST_DASHBOARD_TOKEN", "")
    settings = DashboardConfig(
        port=0,
        token=SecretRef(env="TEST_DASHBOARD_TOKEN") if direct_token else None,
        ingress_port=0,
        ingress_proxy=LOOPBACK,
    )
    config = load_config(DEMO).model_copy(update={"dashboard": settings})
    served = await serve_dashboard(
        config, store, lambda: Health("connected", "available"), ServiceMetrics()
    )
    assert served is not None
    listeners, url = served
    try:
        assert listeners.ingress is not None
        port = listeners.ingress.addresses[0][1]
        async with aiohttp.ClientSession() as http:
            through = await http.get(f"http://127.0.0.1:{port}/api/nights", headers=INGRESS)
            assert through.status == 200
            if direct_token:
                assert (listeners.direct, url) == (None, None)
            else:
                assert url is not None
                assert (await http.get(url + "api/nights")).status == 200
    finally:
        await listeners.cleanup()
