"""HA entities as sensors: states over HA's WebSocket API (a fake HA speaking its shapes)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integration.adapters.ha_states import HaSourceState, HomeAssistantStates, ha_entity_topics
from integration.adapters.payloads import parse_payload
from integration.config import ServiceConfig, load_config
from integration.core.readings import (
    OccupancyReading,
    Rejection,
    RejectReason,
    SensorKind,
    TemperatureReading,
)
from integration.errors import ConfigError
from integration.messages import InboundMessage, PayloadFormat, SensorSpec, ha_entity_topic
from tests.fake_ha import TOKEN, FakeHomeAssistant

TEMP = "sensor.bedroom_thermometer"
BED = "binary_sensor.bed_presence"
TOPICS = {TEMP: ha_entity_topic(TEMP), BED: ha_entity_topic(BED)}


@contextlib.asynccontextmanager
async def following(
    fake_ha: FakeHomeAssistant, token: str = TOKEN, delays: list[float] | None = None
) -> AsyncIterator[HomeAssistantStates]:
    async def sleep(delay: float) -> None:
        if delays is not None:
            delays.append(delay)
        await asyncio.sleep(0)

    source = HomeAssistantStates(
        f"ws://127.0.0.1:{fake_ha.server.port}/api/websocket",  # type: ignore[union-attr]
        token,
        TOPICS,
        lambda: 1_000.0,
        rng=random.Random(1),
        sleep=sleep,
    )
    task = asyncio.create_task(source.run())
    try:
        yield source
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def next_messages(source: HomeAssistantStates, count: int) -> list[InboundMessage]:
    messages = source.messages()
    async with asyncio.timeout(10):
        return [await anext(messages) for _ in range(count)]


def payload(message: InboundMessage) -> dict[str, object]:
    document: dict[str, object] = json.loads(message.payload)
    return document


async def test_each_entitys_state_then_its_changes_arrive_on_its_topic(
    fake_ha: FakeHomeAssistant,
) -> None:
    fake_ha.entity_states = {
        TEMP: ("68.9", {"unit_of_measurement": "°F", "device_class": "temperature"}),
        BED: ("on", {"device_class": "occupancy"}),
        "light.not_asked_for": ("on", {}),
    }
    async with following(fake_ha) as source:
        first = await next_messages(source, 2)
        await source.wait_for(lambda: source.state is HaSourceState.CONNECTED)
        await fake_ha.change(
            TEMP, "70.7", {"unit_of_measurement": "°F", "device_class": "temperature"}
        )
        (changed,) = await next_messages(source, 1)
    assert {m.topic: payload(m)["state"] for m in first} == {
        TOPICS[TEMP]: "68.9",
        TOPICS[BED]: "on",
    }
    assert changed.topic == TOPICS[TEMP]
    # HA sends only the attributes that changed: the unit is kept from the first state.
    assert payload(changed) == {
        "state": "70.7",
        "attributes": {"unit_of_measurement": "°F", "device_class": "temperature"},
    }
    assert (source.connections, fake_ha.subscriptions) == (1, 1)


def spec(kind: SensorKind, entity: str, unit: str | None = None) -> SensorSpec:
    return SensorSpec(
        "bedroom", "s", kind, ha_entity_topic(entity), PayloadFormat.HOMEASSISTANT, unit=unit
    )


@pytest.mark.parametrize(
    ("state", "attributes", "expected_c"),
    [("68.9", {"unit_of_measurement": "°F"}, 20.5), ("19.5", {"unit_of_measurement": "°C"}, 19.5)],
)
def test_a_temperature_entity_is_read_in_the_unit_it_names(
    state: str, attributes: dict[str, str], expected_c: float
) -> None:
    document = json.dumps({"state": state, "attributes": attributes}).encode()
    (reading,) = parse_payload(spec(SensorKind.TEMPERATURE, TEMP), document, 5.0)  # type: ignore[misc]
    assert isinstance(reading, TemperatureReading)
    assert reading.temp_c == pytest.approx(expected_c)


@pytest.mark.parametrize("state", ["unknown", "unavailable"])
def test_unknown_and_unavailable_are_no_reading(state: str) -> None:
    document = json.dumps({"state": state, "attributes": {}}).encode()
    result = parse_payload(spec(SensorKind.OCCUPANCY, BED), document, 5.0)
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.UNAVAILABLE


def test_a_presence_entity_is_in_bed_or_not() -> None:
    for state, in_bed in (("on", True), ("off", False)):
        document = json.dumps({"state": state, "attributes": {}}).encode()
        (reading,) = parse_payload(spec(SensorKind.OCCUPANCY, BED), document, 5.0)  # type: ignore[misc]
        assert isinstance(reading, OccupancyReading)
        assert reading.occupied is in_bed


async def test_home_assistant_restarting_is_followed_by_a_new_subscription(
    fake_ha: FakeHomeAssistant,
) -> None:
    fake_ha.entity_states = {TEMP: ("19.0", {"unit_of_measurement": "°C"})}
    async with following(fake_ha) as source:
        await next_messages(source, 1)
        await fake_ha.drop_sockets()
        (again,) = await next_messages(source, 1)  # the state as HA has it after its restart
        await source.wait_for(lambda: source.state is HaSourceState.CONNECTED)
    assert payload(again)["state"] == "19.0"
    assert (source.connections, fake_ha.subscriptions) == (2, 2)


async def test_a_refused_token_is_said_plainly_and_waits_the_longest(
    fake_ha: FakeHomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    delays: list[float] = []
    states: list[HaSourceState] = []
    async with following(fake_ha, token="not-the-token", delays=delays) as source:  # noqa: S106
        await source.wait_for(lambda: states.append(source.state) or len(delays) >= 2)
    assert HaSourceState.AUTH_FAILED in states
    assert delays[:2] == [60.0, 60.0]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "Home Assistant entities: HA refused the token on its WebSocket API; check the "
        "long-lived token; retrying with backoff"
    ]


def config_with(sensor: dict[str, object], **ha: object) -> ServiceConfig:
    return ServiceConfig.model_validate(
        {
            "homeassistant": {"enabled": True, **ha},
            "rooms": [{"id": "bedroom", "name": "Bedroom", "sensors": [sensor]}],
        }
    )


def test_an_entity_sensor_has_its_pseudo_topic_and_no_mqtt_subscription() -> None:
    config = config_with(
        {"id": "t", "kind": "temperature", "source": "homeassistant", "entity_id": TEMP}
    )
    assert ha_entity_topics(config) == {TEMP: "$homeassistant/" + TEMP}
    (only,) = config.sensor_specs()
    assert (only.topic, only.payload_format) == (
        "$homeassistant/" + TEMP,
        PayloadFormat.HOMEASSISTANT,
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["source: homeassistant"],
            ":5: rooms[0].sensors[0].entity_id: a Home Assistant sensor needs its entity_id",
        ),
        (
            ["source: homeassistant", f"entity_id: {TEMP}", "topic: x/y"],
            ":9: rooms[0].sensors[0].topic: a Home Assistant sensor has no topic: it is read "
            "by entity_id",
        ),
        (
            ["source: homeassistant", "entity_id: sensor.accel"],
            ":7: rooms[0].sensors[0].source: raw accelerometer samples do not pass through HA "
            "entities; use `kind: vibration` for an HA vibration or motion binary sensor",
        ),
        ([], ":5: rooms[0].sensors[0].topic: an MQTT sensor needs its topic"),
    ],
)
def test_a_sensor_names_one_source_exactly(lines: list[str], expected: str, tmp_path: Path) -> None:
    kind = "motion" if "sensor.accel" in " ".join(lines) else "temperature"
    path = tmp_path / "config.yaml"
    body = "".join(f"        {line}\n" for line in lines)
    path.write_text(
        "rooms:\n  - id: bedroom\n    name: Bedroom\n    sensors:\n"
        f"      - id: t\n        kind: {kind}\n{body}",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}{expected}"]


def test_an_entity_sensor_without_home_assistant_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        """\
homeassistant:
  enabled: false
rooms:
  - id: bedroom
    name: Bedroom
    sensors:
      - id: t
        kind: temperature
        source: homeassistant
        entity_id: sensor.bedroom_thermometer
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:9: rooms[0].sensors[0].source: reads a Home Assistant entity, but "
        "homeassistant.enabled is false"
    ]
