"""The dashboard in a real browser: Debian's headless Chromium against the real app and store.

Each page is loaded at a phone's and a desktop's size in the light and the dark theme; the
screenshots go to `test-artifacts/` for a person to look at. Any console message fails the test:
the pages have no scripts, so a message means a blocked resource or a CSP violation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import pytest

from integration.adapters.livesignal import LiveSensor, LiveSignal, SensorFigures
from integration.adapters.metrics import ServiceMetrics
from integration.adapters.store import Store
from integration.adapters.web import Health, make_app, start_dashboard
from integration.core.labels import EventLabel, Label
from integration.core.notes import Note, NoteRefused, make_note
from integration.core.readings import AccelSamples
from integration.errors import LabelRefusedError
from tests.browser.history import ROOM_NAMES, ZONE, ReplayedNight, fill

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_TIMEOUT_S = 60.0
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 900)}
# Blink's preferred colour scheme: 0 is dark, 1 is light (what `prefers-color-scheme` reports).
THEMES = {"light": 1, "dark": 0}
# The page background at the top-left corner in each theme (`--bg` in the page's CSS).
BACKGROUNDS = {"light": (0xFF, 0xFF, 0xFF), "dark": (0x0D, 0x11, 0x17)}


@dataclass(frozen=True, slots=True)
class Dashboard:
    base_url: str
    night: ReplayedNight

    @property
    def night_url(self) -> str:
        return f"{self.base_url}nights/bedroom/{self.night.summary.night_date}"

    def url(self, page: str) -> str:
        return {"nights": self.base_url, "night": self.night_url, "live": self.base_url + "live"}[
            page
        ]


def live_minute(t0: float) -> LiveSignal:
    """A bed sensor with a minute of rest and a tap, and one that has never spoken (long topic)."""
    bed = LiveSensor("bedroom", "Bedroom", "bed", "bedsensor/bed/accel")
    silent = LiveSensor(
        "bedroom",
        "Bedroom",
        "partner",
        "home/bedroom/bedsensors/partner-side-under-the-slats/accel",
    )
    figures = {bed.key: SensorFigures(60, 0, {"flood": 0, "duplicate": 0, "late": 0}, 2.6)}
    signal = LiveSignal([bed, silent], lambda: figures)
    for second in range(60):
        z = [1.0 + 0.003 * ((i * 7919) % 11 - 5) / 5 for i in range(50)]
        if second == 45:
            z[20:24] = [1.3, 0.75, 1.2, 0.9]
        samples = AccelSamples(
            "bedroom", "bed", t0 + second, 50.0, (0.0,) * 50, (0.0,) * 50, tuple(z)
        )
        signal.take(t0 + second + 1, [samples])
    return signal


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Debian's chromium is not installed: run `bash .ci/browser` first")
    return path


class RefusingLabeller:
    """Labels are taken (the forms show in every event row) and refused: layout is the point."""

    async def label_event(self, event_id: int, label: Label, source: str) -> EventLabel:
        raise LabelRefusedError("not in this test")

    async def report_missed(self, room: str, source: str) -> EventLabel:
        raise LabelRefusedError("not in this test")


class RefusingNoteKeeper:
    """Notes are taken (a form per room on the nights page) and refused: layout is the point."""

    async def keep_note(self, room: str, text: str, at: float | None, source: str) -> Note:
        raise NoteRefused("not in this test")


@pytest.fixture
async def dashboard(tmp_path: Path) -> AsyncIterator[Dashboard]:
    store = await Store.open(tmp_path / "history.db")
    night = await fill(store)
    bed = night.summary.bed_time
    for at, text in ((bed - 3600, "baclofen 10 mg at 22:00, first dose"), (bed + 5400, "woke hot")):
        await store.add_note(make_note("bedroom", text, at, night.summary.wake_time, "cli"))
    live = live_minute(1_764_962_400.0)
    app = make_app(
        store=store,
        zone=ZONE,
        health=lambda: Health("connected", "disabled"),
        metrics=ServiceMetrics(),
        token=None,
        room_names=ROOM_NAMES,
        labeller=RefusingLabeller(),
        live=lambda: live.view(1_764_962_460.4),
        note_keeper=RefusingNoteKeeper(),
    )
    runner = await start_dashboard(app, "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    try:
        yield Dashboard(f"http://{host}:{port}/", night)
    finally:
        await runner.cleanup()
        await store.close()


async def run_chromium(profile: Path, *args: str) -> tuple[str, list[str]]:
    """Chromium's stdout and its console lines (errors, uncaught exceptions, CSP refusals)."""
    process = await asyncio.create_subprocess_exec(
        chromium(),
        "--headless=new",
        # Containers run tests as root, where Chromium's sandbox cannot start; the pages are ours.
        *(["--no-sandbox"] if os.geteuid() == 0 else []),
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(CHROMIUM_TIMEOUT_S):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    console = [
        line
        for line in stderr.decode(errors="replace").splitlines()
        if ":CONSOLE" in line or "Uncaught" in line
    ]
    return stdout.decode(), console


def top_left_pixel(png: bytes) -> tuple[int, int, int]:
    """The first pixel of a PNG: stored as is whatever the first row's filter (no neighbours)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    offset, data, colour_type = 8, b"", 0
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        chunk = png[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            colour_type = chunk[9]
        elif kind == b"IDAT":
            data += chunk
        offset += 12 + length
    assert colour_type in (2, 6), "expected RGB or RGBA"
    raw = zlib.decompress(data)
    red, green, blue = raw[1:4]  # raw[0] is the first row's filter type
    return red, green, blue


async def screenshot(
    dashboard: Dashboard, profile: Path, page: str, viewport: str, theme: str
) -> tuple[Path, list[str]]:
    """One page at one size in one theme, saved under test-artifacts/, with its console."""
    shot = ARTIFACTS / f"dashboard-{page}-{viewport}-{theme}.png"
    shot.unlink(missing_ok=True)
    width, height = VIEWPORTS[viewport]
    _, console = await run_chromium(
        profile,
        f"--window-size={width},{height}",
        f"--blink-settings=preferredColorScheme={THEMES[theme]}",
        # Let layout and paint settle before the picture is taken (virtual time: instant); the
        # live page reloads itself every second, so less than that there, or it never settles.
        f"--virtual-time-budget={500 if page == 'live' else 2000}",
        f"--screenshot={shot}",
        dashboard.url(page),
    )
    return shot, console


@pytest.mark.parametrize("page", ["nights", "night", "live"])
async def test_page_renders_in_both_themes_at_both_sizes_without_console_errors(
    dashboard: Dashboard, tmp_path: Path, page: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    views = [(viewport, theme) for viewport in VIEWPORTS for theme in THEMES]
    # Separate profiles, so the four browsers can run at once.
    results = await asyncio.gather(
        *(screenshot(dashboard, tmp_path / f"profile-{v}-{t}", page, v, t) for v, t in views)
    )
    for (viewport, theme), (shot, console) in zip(views, results, strict=True):
        assert console == [], f"{viewport} {theme}"
        png = shot.read_bytes()
        assert struct.unpack(">II", png[16:24]) == VIEWPORTS[viewport]
        assert top_left_pixel(png) == BACKGROUNDS[theme], f"{viewport} {theme}"


async def test_nights_list_dom_has_the_trend_and_links_that_resolve(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    dom, console = await run_chromium(tmp_path / "profile", "--dump-dom", dashboard.base_url)
    assert console == []
    assert dom.count('class="chart trend-chart"') == 4  # two rooms, wide and narrow
    assert "<h1>Nights</h1>" in dom
    assert dom.count('<form class="note" method="post"') == 2  # a note form per room
    links = re.findall(r'href="(nights/[^"]+)"', dom)
    assert urljoin(dashboard.base_url, links[1]) == dashboard.night_url  # [0]: the guest room
    night_dom, night_console = await run_chromium(
        tmp_path / "profile", "--dump-dom", urljoin(dashboard.base_url, links[1])
    )
    assert night_console == []
    assert 'class="chart night-chart"' in night_dom


async def test_night_dom_has_the_chart_the_figures_and_every_event(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    dom, console = await run_chromium(tmp_path / "profile", "--dump-dom", dashboard.night_url)
    assert console == []
    night = dashboard.night
    assert dom.count('class="chart night-chart"') == 2
    assert dom.count('class="marker ') == 2 * len(night.events)
    assert dom.count('class="figure"') == 6
    assert f'<span class="value">{night.summary.spasm_count}</span>' in dom
    assert "<h2>Morning summary</h2>" in dom
    assert f"<h2>Events ({len(night.events)})</h2>" in dom
    assert "<h2>Your notes (2)</h2>" in dom  # the evening's note belongs to this night too
    assert "baclofen 10 mg at 22:00, first dose" in dom
    assert "<script" not in dom


# Measured in the page through Chromium's DevTools protocol (its evaluation is not subject to
# the page's CSP, which rightly forbids scripts of the page's own).
OVERFLOW = """JSON.stringify({
  view: document.documentElement.clientWidth,
  page: document.documentElement.scrollWidth,
  tables: [...document.querySelectorAll('table')].map(t => ({
    right: Math.ceil(t.getBoundingClientRect().right),
    scroll: t.parentElement.scrollWidth, box: t.parentElement.clientWidth,
  })),
  ready: document.readyState,
  url: location.href,
})"""


async def layout(profile: Path, url: str, width: int, height: int) -> dict[str, Any]:
    """The page's and each table's widths in a `width` x `height` viewport (a phone's)."""
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
        async with asyncio.timeout(CHROMIUM_TIMEOUT_S):
            port_file = profile / "DevToolsActivePort"
            # Chromium writes its port when it is up: a process to wait for, not a clock.
            while not port_file.exists() or not port_file.read_text().strip():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            port = int(port_file.read_text().split()[0])
            async with aiohttp.ClientSession() as http:
                pages = await (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
                target = next(p for p in pages if p.get("type") == "page")
                async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    calls = iter(range(1, 1000))

                    async def call(method: str, **params: Any) -> dict[str, Any]:
                        ident = next(calls)
                        await ws.send_json({"id": ident, "method": method, "params": params})
                        while True:
                            answer: dict[str, Any] = await ws.receive_json()
                            if answer.get("id") == ident:
                                return answer

                    await call(
                        "Emulation.setDeviceMetricsOverride",
                        width=width,
                        height=height,
                        deviceScaleFactor=1,
                        mobile=True,
                    )
                    await call("Page.enable")
                    await call("Page.navigate", url=url)
                    while True:
                        answer = await call(
                            "Runtime.evaluate", expression=OVERFLOW, returnByValue=True
                        )
                        value = answer.get("result", {}).get("result", {}).get("value")
                        if value is None:  # the old document went away mid-call: ask again
                            continue
                        found: dict[str, Any] = json.loads(value)
                        if found["ready"] == "complete" and found["url"] == url:
                            return found
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


@pytest.mark.parametrize("page", ["nights", "night", "live"])
async def test_no_table_runs_off_the_side_of_a_phone(
    dashboard: Dashboard, tmp_path: Path, page: str
) -> None:
    width, height = VIEWPORTS["phone"]
    found = await layout(tmp_path / "profile", dashboard.url(page), width, height)
    assert found["tables"] or page == "live", found  # the live page has figures, no table
    assert found["page"] <= found["view"], found
    for table in found["tables"]:
        assert table["right"] <= found["view"], found
        assert table["scroll"] <= table["box"], found
