"""Heater and cooler over MQTT on the real broker: they never take turns."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt

from integration.clock import ScaledClock
from integration.core.comfort import ComfortSettings
from integration.service import Service
from tests.e2e.helpers import SETTLE_S, next_message, publish_all, running, service_config
from tests.mosquitto import Mosquitto

SPEED = 300.0  # the half hour heating and cooling keep apart passes in 6 s
START = datetime(2026, 1, 15, 0, 30, tzinfo=ZoneInfo("Europe/London")).timestamp()  # 16.5-18.5


async def test_cooling_waits_its_half_hour_after_heating_even_above_the_band(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    room: dict[str, Any] = {
        "id": "bedroom",
        "name": "Bedroom",
        "sensors": [
            {
                "id": "temp",
                "kind": "temperature",
                "topic": f"{unique_topic}/temp",
                "format": "plain",
            }
        ],
        "actuators": [
            {"id": "heater", "role": "heater", "command_topic": f"{unique_topic}/heater/set"},
            {"id": "cooler", "role": "cooler", "command_topic": f"{unique_topic}/cooler/set"},
        ],
    }
    clock = ScaledClock(START, SPEED)
    service = Service(
        service_config(mosquitto, unique_topic, room),
        None,
        clock=clock,
        discovery_settle_s=SETTLE_S,
    )
    reverse_min_s = ComfortSettings().reverse_min_s
    temperature = f"{unique_topic}/temp"
    async with (
        running(service.run, service.mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as devices,
    ):
        await devices.subscribe(f"{unique_topic}/+/set", qos=1)
        await publish_all(mosquitto, [(temperature, b"16.4")])  # below the band: heat
        first = {str((await next_message(devices)).topic).split("/")[-2] for _ in range(2)}
        assert first == {"heater", "cooler"}  # the heater on, the cooler said off

        # The heater overshoots the band (a radiator stays hot): 18.7 is above 18.5.
        await publish_all(mosquitto, [(temperature, b"18.7")])
        heater_off = await next_message(devices)
        assert (str(heater_off.topic), heater_off.payload) == (f"{unique_topic}/heater/set", b"OFF")
        stopped_at = clock.now()

        async def keep_reporting() -> None:  # a sensor reporting every five minutes
            while True:
                await devices.publish(temperature, b"18.7", qos=1)
                await clock.sleep_until(clock.now() + 300)

        reporter = asyncio.create_task(keep_reporting())
        try:
            cooler_on = await next_message(devices)
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        started_at = clock.now()
    assert (str(cooler_on.topic), cooler_on.payload) == (f"{unique_topic}/cooler/set", b"ON")
    # Not before the half hour (a tick's slack after it, at most a minute of night).
    assert reverse_min_s <= started_at - stopped_at <= reverse_min_s + 120
