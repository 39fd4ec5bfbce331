"""The wall clock set back an hour, then forward three, mid-night: the room stays controlled."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import aiomqtt
import pytest

from integration.clock import ScaledClock
from integration.service import Service
from tests.e2e.helpers import (
    HOT_C,
    SETTLE_S,
    fan_room_config,
    next_message,
    publish_all,
    running,
    wait,
)
from tests.mosquitto import Mosquitto

SPEED = 120.0  # the fan's 300 s minimum run takes 2.5 s
COLD_C = b"10"  # below every band of the shipped schedule
START = datetime(2026, 1, 15, 0, 30, tzinfo=ZoneInfo("Europe/London")).timestamp()


class SteppedClock(ScaledClock):
    """A sped-up wall clock a test can set forward or back, as NTP or a person would."""

    def __init__(self, start: float, speed: float) -> None:
        super().__init__(start, speed)
        self._offset = 0.0
        self._steps: list[float] = []

    def now(self) -> float:
        return super().now() + self._offset

    def set_by(self, seconds: float) -> None:
        self._offset += seconds
        self._steps.append(seconds)

    def take_steps(self) -> list[float]:
        steps, self._steps = self._steps, []
        return steps


async def test_clock_steps_are_said_and_the_fan_still_follows_the_room(
    mosquitto: Mosquitto, unique_topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="integration")
    clock = SteppedClock(START, SPEED)
    service = Service(
        fan_room_config(mosquitto, unique_topic), None, clock=clock, discovery_settle_s=SETTLE_S
    )
    mqtt = service.mqtt
    temperature = f"{unique_topic}/temp"
    async with (
        running(service.run, mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as fan,
    ):
        await fan.subscribe(f"{unique_topic}/cmnd/fan/POWER", qos=1)
        await publish_all(mosquitto, [(temperature, HOT_C)])
        assert (await next_message(fan)).payload == b"ON"

        # An hour back: the fan's minimum run counts on from the new time (2.5 s here),
        # instead of holding the fan for the hour it would take the clock to catch up.
        clock.set_by(-3600.0)
        await wait(service.wait_for(lambda: service.ticker.clock_steps == 1))
        await publish_all(mosquitto, [(temperature, COLD_C)])
        assert (await next_message(fan)).payload == b"OFF"

        # Three hours forward: one tick at the new time, not ten thousand to catch up; the old
        # reading is stale, a new one is acted on at once.
        clock.set_by(10_800.0)
        await wait(service.wait_for(lambda: service.ticker.clock_steps == 2))
        await publish_all(mosquitto, [(temperature, HOT_C)])
        assert (await next_message(fan)).payload == b"ON"

        assert service.dashboard_url is not None
        async with (
            aiohttp.ClientSession(service.dashboard_url) as web,
            web.get("metrics") as metrics,
        ):
            text = await metrics.text()
    assert "smart_bedroom_clock_steps_total 2.0" in text
    # The forward step is not taken for a tick three hours late.
    lag_count = next(line for line in text.splitlines() if "loop_lag_seconds_count" in line)
    lag_under_10s = next(line for line in text.splitlines() if 'le="10.0"' in line)
    assert lag_count.split()[-1] == lag_under_10s.split()[-1]
    said = [r.getMessage() for r in caplog.records if "wall clock" in r.getMessage()]
    assert len(said) == 2
    assert "set back by 3600 s" in said[0]
    assert "set forward by 10800 s" in said[1]
