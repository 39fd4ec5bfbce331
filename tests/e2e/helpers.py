"""What the end-to-end tests share: the service under test on the private broker, its configs,
a short simulated night, and waiting with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt

from integration.adapters.mqtt import ConnectionState, MqttConnection
from integration.config import ServiceConfig
from integration.core.simulation.night import NightSpec
from tests.mosquitto import Mosquitto

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 10.0
# The service's wait for its own retained discovery configs before announcing (1 s in
# production). A test's topics are its own, so there are none to wait for on the loopback broker.
SETTLE_S = 0.05
SPEED = 100.0  # 12 minutes of night in about 7 s; faster, the host's scheduling skews arrival times
# Above every band of the shipped schedule (the highest is the day band's 24 °C), so the
# fan must run whatever the wall-clock time the test runs at.
HOT_C = b"30"


def service_config(broker: Mosquitto, prefix: str, *rooms: dict[str, Any]) -> ServiceConfig:
    """The service on the private broker, every topic (discovery too) under the test's prefix."""
    return ServiceConfig.model_validate(
        {
            "timezone": "Europe/London",
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "client_id": "sb_" + prefix[-12:],
                "base_topic": prefix + "/sb",
            },
            "homeassistant": {"enabled": False, "discovery_prefix": prefix + "/ha"},
            "dashboard": {"port": 0},  # any free port
            "rooms": list(rooms),
        }
    )


def fan_room_config(broker: Mosquitto, prefix: str) -> ServiceConfig:
    """A bedroom with a plain temperature sensor and a fan switched over MQTT."""
    room: dict[str, Any] = {
        "id": "bedroom",
        "name": "Bedroom",
        "sensors": [
            {"id": "temp", "kind": "temperature", "topic": f"{prefix}/temp", "format": "plain"}
        ],
        "actuators": [
            {"id": "fan", "role": "fan", "command_topic": f"{prefix}/cmnd/fan/POWER"},
        ],
    }
    return service_config(broker, prefix, room)


def short_night(unique_topic: str, seed: int = 5) -> NightSpec:
    """12 minutes of night with a few planted movements, on the test's own topics."""
    return NightSpec(
        seed=seed,
        hours=0.2,
        jerks=2,
        clonus=1,
        plm_series=0,
        turnovers=1,
        get_ups=0,
        dropouts=0,
        tonic=0,
        accel_topic=f"{unique_topic}/bed/accel",
        occupancy_topic=f"{unique_topic}/bed/occupancy",
        climate_topic=f"{unique_topic}/climate",
    )


def bedroom_config(broker: Mosquitto, unique_topic: str, spec: NightSpec) -> ServiceConfig:
    """A bedroom with the bed, occupancy and climate sensors of the simulated night `spec`."""
    sensors = [
        {"id": "bed", "kind": "motion", "topic": spec.accel_topic},
        {"id": "occ", "kind": "occupancy", "topic": spec.occupancy_topic},
        {"id": "temp", "kind": "temperature", "topic": spec.climate_topic},
    ]
    room = {"id": "bedroom", "name": "Bedroom", "sensors": sensors}
    return service_config(broker, unique_topic, room)


async def publish_all(broker: Mosquitto, messages: list[tuple[str, bytes]]) -> None:
    """Publish each (topic, payload) with QoS 1, in order, from a plain client."""
    async with aiomqtt.Client(broker.host, broker.port) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1)


@contextlib.asynccontextmanager
async def running(
    main: Callable[[], Any],
    mqtt: MqttConnection,
    until: ConnectionState = ConnectionState.CONNECTED,
) -> AsyncIterator[None]:
    """`main` runs for the block, which starts once its broker connection is `until`."""
    task = asyncio.create_task(main(), name="under-test")
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await mqtt.wait_for(lambda: mqtt.state is until)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            try:
                async with asyncio.timeout(TIMEOUT_S):
                    await asyncio.shield(task)
            except TimeoutError:  # a service that does not stop: say where each task waits
                for stuck in asyncio.all_tasks():
                    print(f"task {stuck.get_name()} still waits:", file=sys.stderr)
                    stuck.print_stack(file=sys.stderr)
                raise


async def wait(waitable: Any) -> None:
    """Await `waitable`, failing the test after `TIMEOUT_S`."""
    async with asyncio.timeout(TIMEOUT_S):
        await waitable


async def next_message(client: aiomqtt.Client) -> aiomqtt.Message:
    """The client's next message, failing the test after `TIMEOUT_S`."""
    async with asyncio.timeout(TIMEOUT_S):
        return await anext(aiter(client.messages))
