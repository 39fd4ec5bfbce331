"""The whole service under overload and a full disk, on the real private Mosquitto.

A sensor stuck publishing as fast as a client can must cost bounded memory and nothing of the
other room; a full disk must cost history, never control. Both run on a clock the test moves,
so token buckets, comfort timers and /healthz's memory are deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import aiomqtt
import pytest

from integration.adapters.history import STORE_ERROR_HOLD_S
from integration.adapters.mqtt import mqtt_settings
from integration.adapters.store import Store
from integration.service import FLOOD_QUIET_S, Service
from tests.e2e.helpers import SETTLE_S, TIMEOUT_S, running, service_config, wait
from tests.mosquitto import Mosquitto

# Mid-night in the deep-sleep band (16.5-18.5 °C) and inside the bedtime window.
MIDNIGHT = datetime(2026, 11, 25, 1, 0, tzinfo=ZoneInfo("Europe/London")).timestamp()
HOT_C = 30.0  # above every band of the shipped schedule
COOL_C = 15.0  # below every band: a cooling fan goes off
FLOOD = 10_000  # single-sample messages from the stuck accelerometer, QoS 0, back to back
OVERSIZE = 3
CLIMATE_READINGS = 40  # the bedroom's, interleaved with the flood
MIN_ON_S = 300.0  # the comfort controller's default shortest run of an actuator


class ManualClock:
    """The service's time, moved only by the test; waiting on it waits for the test."""

    def __init__(self, t: float) -> None:
        self.t = t
        self._moved = asyncio.Event()

    def now(self) -> float:
        """The present, as the test set it."""
        return self.t

    def take_steps(self) -> list[float]:
        """Moved on purpose, never stepped."""
        return []

    async def sleep_until(self, t: float) -> None:
        """Return once the test has moved the clock to `t`."""
        while self.t < t:
            await self._moved.wait()

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper to look at it."""
        self.t += seconds
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()


def bedroom(prefix: str) -> dict[str, Any]:
    """The person's room: a climate sensor, a bed occupancy sensor and a fan over MQTT."""
    return {
        "id": "bedroom",
        "name": "Bedroom",
        "sensors": [
            {
                "id": "temp",
                "kind": "temperature",
                "topic": f"{prefix}/bedroom/climate",
                "format": "zigbee2mqtt",
            },
            {
                "id": "humidity",
                "kind": "humidity",
                "topic": f"{prefix}/bedroom/climate",
                "format": "zigbee2mqtt",
            },
            {
                "id": "bed",
                "kind": "occupancy",
                "topic": f"{prefix}/bedroom/bed",
                "format": "zigbee2mqtt",
            },
        ],
        "actuators": [
            {"id": "fan", "role": "fan", "command_topic": f"{prefix}/bedroom/fan/set"},
        ],
    }


def guest_room(prefix: str) -> dict[str, Any]:
    """Another room whose bed accelerometer sends one sample a message."""
    return {
        "id": "guest",
        "name": "Guest room",
        "sensors": [
            {
                "id": "accel",
                "kind": "motion",
                "topic": f"{prefix}/guest/accel",
                "format": "auto",
                "rate_hz": 50,
            }
        ],
    }


def climate(temp_c: float) -> bytes:
    return json.dumps({"temperature": temp_c, "humidity": 45}).encode()


async def next_payload(client: aiomqtt.Client) -> bytes:
    async with asyncio.timeout(TIMEOUT_S):
        message = await anext(aiter(client.messages))
    assert isinstance(message.payload, bytes)
    return message.payload


async def fetch(service: Service) -> tuple[int, dict[str, Any], str]:
    """/healthz (status, JSON) and /metrics (text), over HTTP as a monitor gets them."""
    assert service.dashboard_url is not None
    async with aiohttp.ClientSession(service.dashboard_url) as web:
        async with web.get("healthz") as health:
            status, body = health.status, await health.json()
        async with web.get("metrics") as metrics:
            text = await metrics.text()
    return status, body, text


async def pragma(store: Store, statement: str) -> int:
    """A PRAGMA on the store's own connection: the seam its adapter test fakes a full disk at."""
    async with store._db.execute(f"PRAGMA {statement}") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def test_a_stuck_sensor_loses_its_excess_and_the_other_room_loses_nothing(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    config = service_config(
        mosquitto, unique_topic, guest_room(unique_topic), bedroom(unique_topic)
    )
    settings = mqtt_settings(config)  # the defaults a real install runs with
    clock = ManualClock(MIDNIGHT)  # stands still through the flood: no bucket refills
    service = Service(config, None, clock=clock, mqtt=settings, discovery_settle_s=SETTLE_S)
    mqtt, stats = service.mqtt, service.pipeline.stats
    stuck, climate_topic = f"{unique_topic}/guest/accel", f"{unique_topic}/bedroom/climate"
    burst = round(2 * settings.max_rate_per_topic)  # what a token bucket lets in at once
    sample = b'{"x":0.01,"y":-0.02,"z":0.98}'
    huge = b'{"x":' + b" " * settings.max_payload_bytes + b"0}"

    peak_queued = 0

    def sample_queue() -> bool:  # re-checked at every arrival, so the peak is exact
        nonlocal peak_queued
        peak_queued = max(peak_queued, mqtt.queued)
        return False

    async with (
        running(service.run, mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as sensors,
        aiomqtt.Client(mosquitto.host, mosquitto.port) as fan,
    ):
        await fan.subscribe(f"{unique_topic}/bedroom/fan/set", qos=1)
        sampler = asyncio.create_task(mqtt.wait_for(sample_queue))
        every = FLOOD // CLIMATE_READINGS
        temperatures = [HOT_C + n / 100 for n in range(CLIMATE_READINGS)]  # a warm bedroom
        oversize_at = {FLOOD * (n + 1) // (OVERSIZE + 1) for n in range(OVERSIZE)}
        for seq in range(FLOOD):
            await sensors.publish(stuck, sample, qos=0)
            if seq % every == every // 2:  # the bedroom goes on reporting through the flood
                temp_c = temperatures[seq // every]
                await sensors.publish(climate_topic, climate(temp_c), qos=1)
            if seq in oversize_at:
                await sensors.publish(stuck, huge, qos=1)
        assert await next_payload(fan) == b"ON", "the bedroom's fan must still switch"

        expected_flood_drops = FLOOD - burst
        await wait(mqtt.wait_for(lambda: mqtt.counters.dropped_flood == expected_flood_drops))
        await wait(service.wait_for(lambda: stats.readings["temperature"] == CLIMATE_READINGS))
        http_status, health, metrics = await fetch(service)

        # The flood is over: on the service's clock, the topic is quiet long enough.
        clock.advance(FLOOD_QUIET_S)
        _, after, _ = await fetch(service)
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler

    counters = mqtt.counters
    # The bedroom lost nothing: every reading taken, and its fan still runs.
    assert stats.readings["temperature"] == stats.readings["humidity"] == CLIMATE_READINGS
    assert stats.last_seen["bedroom/temp"] == MIDNIGHT
    status = service.pipeline.rooms["bedroom"].status(clock.now())
    assert (status["temperature_c"], status["comfort_status"]) == (temperatures[-1], "cooling")
    # The stuck sensor got its burst in and no more; oversize payloads never got that far.
    assert stats.readings["motion"] == burst
    assert stats.messages == burst + CLIMATE_READINGS
    assert (counters.dropped_flood, counters.dropped_oversize) == (FLOOD - burst, OVERSIZE)
    assert counters.dropped_overflow == 0
    # Bounded: the queue never held more than the buckets let through, far below its bound.
    assert peak_queued <= burst + CLIMATE_READINGS < settings.max_queue
    # Shown over HTTP: the flooding topic and every drop, and what reached the pipeline.
    assert http_status == 200
    assert health["flooding"] == {stuck: FLOOD - burst}
    dropped = {"queue_full": 0, "flood": FLOOD - burst, "oversize": OVERSIZE}
    assert health["dropped"] == dropped
    assert f"smart_bedroom_messages_total {float(burst + CLIMATE_READINGS)}" in metrics
    assert 'smart_bedroom_actions_total{kind="mqtt_publish"} 1.0' in metrics
    assert f'smart_bedroom_dropped_messages_total{{reason="flood"}} {FLOOD - burst}.0' in metrics
    assert f'smart_bedroom_dropped_messages_total{{reason="oversize"}} {OVERSIZE}.0' in metrics
    # Once quiet, the topic is no longer flooding; the counts stay.
    assert (after["flooding"], after["dropped"]) == ({}, dropped)


async def test_a_full_disk_costs_history_never_control(
    mosquitto: Mosquitto, unique_topic: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="integration.adapters.history")
    # Capping the file at its size refuses only writes that need a new page: a short row
    # still fits in a page's free space. This rule's message is longer than a page of the
    # store (4 KiB), so the hot reading's actions need new pages, as on a disk with none left.
    rules = tmp_path / "rules"
    rules.mkdir()
    message = "{room_name} is at {temperature_c:.1f} °C. " + "Open a window. " * 400
    automation = {
        "id": "say_it_is_hot",
        "when": {"trigger": "temperature_above_band", "room": "bedroom"},
        "then": [{"action": "notify", "title": "Too warm", "message": message}],
    }
    (rules / "automations.yaml").write_text(
        json.dumps({"automations": [automation]}), encoding="utf-8"
    )
    config = service_config(mosquitto, unique_topic, bedroom(unique_topic))
    config = config.model_copy(
        update={"store": config.store.model_copy(update={"path": tmp_path / "history.db"})}
    )
    clock = ManualClock(MIDNIGHT)
    service = Service(config, rules, clock=clock, discovery_settle_s=SETTLE_S)
    mqtt, stats = service.mqtt, service.pipeline.stats
    climate_topic = f"{unique_topic}/bedroom/climate"
    fan_topic = f"{unique_topic}/bedroom/fan/set"

    async with (
        running(service.run, mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as sensors,
        aiomqtt.Client(mosquitto.host, mosquitto.port) as fan,
    ):
        store = service.history.store
        assert store is not None
        await fan.subscribe(fan_topic, qos=1)
        # In bed mid-night: the night opens and is kept. The mat reports twice: messages are
        # taken one at a time, so once the second is counted the first's writes are done.
        for _ in range(2):
            await sensors.publish(f"{unique_topic}/bedroom/bed", b'{"occupancy":true}', qos=1)
        await wait(service.wait_for(lambda: stats.messages == 2))
        night = await store.load_night_state("bedroom")
        assert night is not None
        assert night["tracker"]["night"]["bed_time"] == MIDNIGHT

        # The disk fills: the file may not grow by a page, and has no spare one inside.
        pages = await pragma(store, "page_count")
        assert await pragma(store, "freelist_count") == 0
        assert await pragma(store, f"max_page_count = {pages}") == pages

        await sensors.publish(climate_topic, climate(HOT_C), qos=1)
        assert await next_payload(fan) == b"ON", "control must not wait on history"
        await wait(service.wait_for(lambda: stats.messages == 3))
        failures = service.history.failures
        _, failing, _ = await fetch(service)
        kept_while_full = await store.export(MIDNIGHT, MIDNIGHT + 3600, "actions")

        # Space comes back; the fan may go off once it has run its shortest time.
        assert await pragma(store, "max_page_count = 1000000") == 1_000_000
        clock.advance(MIN_ON_S)
        await sensors.publish(climate_topic, climate(COOL_C), qos=1)
        assert await next_payload(fan) == b"OFF"
        await wait(service.wait_for(lambda: stats.messages == 4))
        _, recovered, metrics = await fetch(service)
        kept = await store.export(MIDNIGHT, MIDNIGHT + 3600, "actions")
        night_after = await store.load_night_state("bedroom")

    full = [r for r in caplog.records if "disk is full" in r.getMessage()]
    assert [(r.name, r.levelno) for r in full] == [("integration.adapters.history", logging.ERROR)]
    assert "the room is still controlled" in full[0].getMessage()
    assert failures >= 1
    assert failing["store"].startswith("error: ")
    assert "the disk is full; free space or move the store" in failing["store"]
    assert failing["store_failures"] == failures
    # What was kept: nothing of the hot minute's actions (one transaction, refused whole) ...
    assert kept_while_full == []
    # ... and history resumed with the next action, the fan going off; no new failure.
    fan_rows = [(r["t"], json.loads(str(r["data"]))) for r in kept if r["target"] == fan_topic]
    assert fan_rows == [(MIDNIGHT + MIN_ON_S, {"payload": "OFF"})]
    assert service.history.failures == failures
    # The night itself, saved again once space was back, still counts both switches.
    assert night_after is not None
    assert night_after["tracker"]["night"]["bed_time"] == MIDNIGHT
    tally = night_after["accumulator"]["actions"]  # [minute, kind, target, count] rows
    assert sum(count for _, _, target, count in tally if target == fan_topic) == 2
    assert clock.now() - MIDNIGHT >= STORE_ERROR_HOLD_S
    assert (recovered["store"], recovered["store_failures"]) == ("ok", failures)
    assert any("history store: writing again" in r.getMessage() for r in caplog.records)
    assert 'smart_bedroom_actions_total{kind="mqtt_publish"} 2.0' in metrics
    assert f"smart_bedroom_store_failures_total {float(failures)}" in metrics
