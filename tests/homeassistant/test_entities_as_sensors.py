"""Sensors that are Home Assistant entities (ZHA, Matter, Bluetooth, cloud), on a real HA core.

Its own HA: the test restarts it. Opt-in (`-m homeassistant`), like the other real-HA tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from integration.config import ServiceConfig
from integration.service import Service
from tests.homeassistant.hass import HomeAssistant, ha_venv
from tests.mosquitto import Mosquitto

pytestmark = pytest.mark.homeassistant

THERMOMETER = "sensor.attic_thermometer"  # a ZHA or Bluetooth thermometer, in °F
BED = "binary_sensor.attic_bed_presence"  # a Withings-like bed presence sensor


@pytest.fixture(scope="module")
def home_assistant(
    mosquitto: Mosquitto, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HomeAssistant]:
    ha = HomeAssistant(ha_venv(), tmp_path_factory.mktemp("ha-entities"), mosquitto.port)
    ha.start()
    yield ha
    ha.stop()


def set_state(ha: HomeAssistant, entity_id: str, state: str, attributes: dict[str, str]) -> None:
    """What an integration does when its device reports: HA's state machine changes."""
    ha.request("POST", f"/api/states/{entity_id}", {"state": state, "attributes": attributes})


async def until(service: Service, holds: Callable[[], bool]) -> None:
    async with asyncio.timeout(60):
        await service.wait_for(holds)


async def test_ha_entities_feed_the_room_and_are_followed_again_after_ha_restarts(
    home_assistant: HomeAssistant,
    mosquitto: Mosquitto,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fahrenheit = {"unit_of_measurement": "°F", "device_class": "temperature"}
    set_state(home_assistant, THERMOMETER, "68.9", fahrenheit)
    set_state(home_assistant, BED, "on", {"device_class": "occupancy"})
    monkeypatch.setenv("SB_TEST_HA_TOKEN", home_assistant.token)
    config = ServiceConfig.model_validate(
        {
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port, "base_topic": "sb-entities"},
            "homeassistant": {
                "url": home_assistant.url,
                "token": {"env": "SB_TEST_HA_TOKEN"},
                "discovery_prefix": home_assistant.discovery_prefix,
            },
            "dashboard": {"enabled": False},
            "store": {"path": str(tmp_path / "history.db")},
            "rooms": [
                {
                    "id": "attic",
                    "name": "Attic",
                    "sensors": [
                        {
                            "id": "air",
                            "kind": "temperature",
                            "source": "homeassistant",
                            "entity_id": THERMOMETER,
                        },
                        {
                            "id": "bed",
                            "kind": "occupancy",
                            "source": "homeassistant",
                            "entity_id": BED,
                        },
                    ],
                }
            ],
        }
    )
    service = Service(config, None, discovery_settle_s=0.1)
    assert service.entities is not None
    entities = service.entities
    room = service.pipeline.rooms["attic"]

    def status() -> dict[str, object]:
        return room.status(service.clock.now())

    task = asyncio.create_task(service.run())
    try:
        await until(service, lambda: status()["temperature_c"] == pytest.approx(20.5, abs=0.01))
        await until(service, lambda: status()["in_bed"] is True)
        health = service.health()  # what /healthz says of the link
        assert (health.home_assistant_entities, health.home_assistant_entities_detail) == (
            "connected",
            "",
        )
        set_state(home_assistant, THERMOMETER, "71.6", fahrenheit)
        await until(service, lambda: status()["temperature_c"] == pytest.approx(22.0, abs=0.01))

        await asyncio.to_thread(home_assistant.restart)
        # States set through the API are not restored by HA: the device reports again.
        set_state(home_assistant, THERMOMETER, "64.4", fahrenheit)
        await until(service, lambda: status()["temperature_c"] == pytest.approx(18.0, abs=0.01))
        assert entities.connections == 2
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert service.pipeline.stats.rejected == {}  # every state HA sent was read
