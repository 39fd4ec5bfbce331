"""Several service instances on one broker, each owning its rooms (a care home, a family)."""

from __future__ import annotations

import json
from typing import Any

import aiomqtt

from integration import __version__
from integration.adapters.ha_discovery import discovery_messages
from integration.config import ServiceConfig
from integration.service import Service
from tests.e2e.helpers import SETTLE_S, next_message, running
from tests.mosquitto import Mosquitto


def instance(broker: Mosquitto, prefix: str, name: str, rooms: list[str]) -> ServiceConfig:
    """One instance: its own client id and base topic, the shared discovery prefix."""
    return ServiceConfig.model_validate(
        {
            "timezone": "Europe/London",
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "client_id": f"sb_{name}_{prefix[-8:]}",
                "base_topic": f"{prefix}/{name}",
            },
            "homeassistant": {"enabled": False, "discovery_prefix": f"{prefix}/ha"},
            "dashboard": {"enabled": False},
            "rooms": [
                {
                    "id": room,
                    "name": room.title(),
                    "sensors": [{"id": "t", "kind": "temperature", "topic": f"{prefix}/{room}/t"}],
                }
                for room in rooms
            ],
        }
    )


async def test_each_room_is_one_device_and_goes_unavailable_with_its_instance(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    first = instance(mosquitto, unique_topic, "east", ["room_1", "room_2"])
    second = instance(mosquitto, unique_topic, "west", ["room_3"])
    expected = len(discovery_messages(first, __version__)) + len(
        discovery_messages(second, __version__)
    )
    configs: dict[str, dict[str, Any]] = {}
    east = Service(first, None, discovery_settle_s=SETTLE_S)
    west = Service(second, None, discovery_settle_s=SETTLE_S)
    async with (
        aiomqtt.Client(mosquitto.host, mosquitto.port) as ha,
        running(east.run, east.mqtt),
    ):
        await ha.subscribe(f"{unique_topic}/ha/+/+/+/config", qos=1)
        await ha.subscribe(f"{unique_topic}/+/availability", qos=1)
        async with running(west.run, west.mqtt):
            while len(configs) < expected:
                message = await next_message(ha)
                if str(message.topic).endswith("/config"):
                    configs[str(message.topic)] = json.loads(message.payload)  # type: ignore[arg-type]
        # West stopped: its availability says offline; east's rooms are untouched.
        while True:
            message = await next_message(ha)
            if str(message.topic) == second.availability_topic and message.payload == b"offline":
                break
    devices: dict[str, set[str]] = {}
    for payload in configs.values():
        device = payload["device"]["identifiers"][0]
        if "availability" in payload:
            devices.setdefault(device, set()).add(payload["availability"][0]["topic"])
    # One device per room, whichever instance serves it, tied to that instance's will only.
    assert devices == {
        "smart_bedroom_room_1": {first.availability_topic},
        "smart_bedroom_room_2": {first.availability_topic},
        "smart_bedroom_room_3": {second.availability_topic},
    }
