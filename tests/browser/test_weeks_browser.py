"""The weeks view in a real browser: Debian's headless Chromium against the real app and store.

Each span (30 and 90 nights) at a phone's and a desktop's size, light and dark; screenshots go
to `test-artifacts/` for a person to look at. Any console message fails: the page has no
scripts, so a message means a blocked resource or a CSP violation.
"""

from __future__ import annotations

import asyncio
import re
import struct
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from integration.adapters.metrics import ServiceMetrics
from integration.adapters.store import Store
from integration.adapters.web import Health, make_app, start_dashboard
from integration.core.simulation.weeks import WeeksSpec
from tests.browser.test_dashboard_browser import (
    ARTIFACTS,
    BACKGROUNDS,
    THEMES,
    VIEWPORTS,
    layout,
    run_chromium,
    top_left_pixel,
)
from tests.weeks_history import ROOM_NAMES, fill_weeks

pytestmark = pytest.mark.browser

SPEC = WeeksSpec(nights=100, seed=4, medication_night=75)
LAST = SPEC.start + timedelta(days=SPEC.nights - 1)


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    store = await Store.open(tmp_path / "history.db")
    await fill_weeks(store, SPEC, skip={80, 81})
    app = make_app(
        store=store,
        zone=ZoneInfo(SPEC.zone),
        health=lambda: Health("connected", "disabled"),
        metrics=ServiceMetrics(),
        token=None,
        room_names=ROOM_NAMES,
    )
    runner = await start_dashboard(app, "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/"
    finally:
        await runner.cleanup()
        await store.close()


async def shoot(
    url: str, profile: Path, name: str, viewport: str, theme: str
) -> tuple[Path, list[str]]:
    shot = ARTIFACTS / f"weeks-{name}-{viewport}-{theme}.png"
    shot.unlink(missing_ok=True)
    width, height = VIEWPORTS[viewport]
    _, console = await run_chromium(
        profile,
        f"--window-size={width},{height}",
        f"--blink-settings=preferredColorScheme={THEMES[theme]}",
        "--virtual-time-budget=2000",
        f"--screenshot={shot}",
        url,
    )
    return shot, console


@pytest.mark.parametrize("nights", [30, 90])
async def test_weeks_renders_in_both_themes_at_both_sizes_without_console_errors(
    base_url: str, tmp_path: Path, nights: int
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    views = [(viewport, theme) for viewport in VIEWPORTS for theme in THEMES]
    url = f"{base_url}weeks?nights={nights}"
    results = await asyncio.gather(
        *(shoot(url, tmp_path / f"profile-{v}-{t}", str(nights), v, t) for v, t in views)
    )
    for (viewport, theme), (shot, console) in zip(views, results, strict=True):
        assert console == [], f"{viewport} {theme}"
        png = shot.read_bytes()
        assert struct.unpack(">II", png[16:24]) == VIEWPORTS[viewport]
        assert top_left_pixel(png) == BACKGROUNDS[theme], f"{viewport} {theme}"


async def test_weeks_dom_has_every_chart_and_a_report_link_that_resolves(
    base_url: str, tmp_path: Path
) -> None:
    dom, console = await run_chromium(
        tmp_path / "profile", "--dump-dom", f"{base_url}weeks?nights=90"
    )
    assert console == []
    for chart in ("weeks-chart", "heat-chart", "temp-weeks-chart", "forest-chart"):
        assert dom.count(f'class="chart {chart}"') >= 2, chart
    assert dom.count('class="no-data"') == 4  # two nights without data, wide and narrow
    (report,) = re.findall(r'href="(report\?[^"]+)"', dom)
    report_dom, report_console = await run_chromium(
        tmp_path / "profile", "--dump-dom", base_url + report.replace("&amp;", "&")
    )
    assert report_console == []
    assert "Not a medical device." in report_dom
    assert f"to {LAST:%d %b %Y}" in report_dom


async def test_no_table_or_chart_runs_off_the_side_of_a_phone(
    base_url: str, tmp_path: Path
) -> None:
    width, height = VIEWPORTS["phone"]
    found = await layout(tmp_path / "profile", f"{base_url}weeks?nights=90", width, height)
    assert found["tables"], found
    assert found["page"] <= found["view"], found
    for table in found["tables"]:
        assert table["right"] <= found["view"], found
        assert table["scroll"] <= table["box"], found
