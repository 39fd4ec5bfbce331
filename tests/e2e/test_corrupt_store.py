"""A history file with a corrupted page, under the whole service on the real private Mosquitto:
/healthz says the store is unavailable and why (not "ok"), and the room is still controlled."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest

from integration.adapters.store import Store
from integration.core.events import Action, ActionKind
from integration.service import Service
from tests.browser.history import fill
from tests.e2e.helpers import (
    HOT_C,
    SETTLE_S,
    TIMEOUT_S,
    fan_room_config,
    next_message,
    running,
    wait,
)
from tests.mosquitto import Mosquitto


async def history_file(path: Path) -> None:
    """A real history: a month of nights, a night's minutes, events, actions and the outbox."""
    store = await Store.open(path)
    try:
        await fill(store)
        for t in range(200):  # HA actions delivered long ago, and one still waiting
            action = Action("bedroom", float(t), ActionKind.NOTIFY, "", {"message": "x" * 100})
            row = await store.keep_action(action)
            if t < 199:
                await store.mark_delivered([row])
    finally:
        await store.close()


def corrupt_page_of(path: Path, table: str) -> None:
    """Overwrite the body of `table`'s root page, as a failing SD card does."""
    with sqlite3.connect(path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        (root,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size + 8)  # past the page header's first bytes
        file.write(b"\xa5" * (page_size - 16))


async def get(url: str) -> tuple[int, Any]:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)  # an answer, or a clear failure
    async with aiohttp.ClientSession(timeout=timeout) as client, client.get(url) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("table", ["outbox", "readings_minute", "events"])
async def test_a_corrupt_history_file_is_reported_unavailable_and_control_goes_on(
    mosquitto: Mosquitto, unique_topic: str, tmp_path: Path, table: str
) -> None:
    path = tmp_path / "smart-bedroom.db"  # the e2e tests run from tmp_path
    await history_file(path)
    corrupt_page_of(path, table)
    service = Service(fan_room_config(mosquitto, unique_topic), None, discovery_settle_s=SETTLE_S)
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as fan:
        await fan.subscribe(f"{unique_topic}/cmnd/fan/POWER", qos=1)
        async with running(service.run, service.mqtt):
            assert service.dashboard_url is not None
            status, health = await get(service.dashboard_url + "healthz")
            api_status, api = await get(service.dashboard_url + "api/nights")
            async with aiomqtt.Client(mosquitto.host, mosquitto.port) as sensor:
                await sensor.publish(f"{unique_topic}/temp", HOT_C, qos=1)
            command = await next_message(fan)
            await wait(service.wait_for(lambda: service.pipeline.stats.readings["temperature"] > 0))
    assert status == 200  # the broker is connected: the service runs, without history
    assert health["store"].startswith("unavailable: ")
    assert "corrupt" in health["store"]
    assert path.name in health["store"]
    assert health["store_failures"] >= 1
    assert (api_status, api) == (503, {"error": "no history store"})
    assert command.payload == b"ON"  # the room is still controlled
