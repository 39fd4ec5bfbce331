"""Routing: each topic's sensors matched once and remembered; intents out as actions."""

from __future__ import annotations

import pytest

from integration.config import ServiceConfig
from integration.core.events import ActionKind
from integration.core.intents import SwitchActuator
from integration.core.rules import RuleSet
from integration.messages import InboundMessage
from integration.pipeline import _MAX_ROUTED_TOPICS, Pipeline

T = 1_767_225_600.0


def pipeline() -> Pipeline:
    config = ServiceConfig.model_validate(
        {
            "rooms": [
                {
                    "id": "bedroom",
                    "name": "Bedroom",
                    "sensors": [
                        {"id": "temp", "kind": "temperature", "topic": "room/temp"},
                        {"id": "any_temp", "kind": "temperature", "topic": "room/+"},
                        {"id": "beds", "kind": "temperature", "topic": "beds/#"},
                    ],
                }
            ]
        }
    )
    return Pipeline(config, RuleSet())


def test_wildcard_topics_beyond_the_remembered_bound_still_route() -> None:
    routing = pipeline()
    topics = [f"beds/{n}/temp" for n in range(_MAX_ROUTED_TOPICS + 50)]
    for topic in [*topics, *topics[:10]]:  # past the bound, then some seen before it was reset
        routing.handle(InboundMessage(T, topic, b"19.5"))
    routing.handle(InboundMessage(T, "elsewhere/temp", b"19.5"))
    assert routing.stats.readings["temperature"] == len(topics) + 10
    assert routing.stats.unrouted == 1
    assert routing.stats.last_seen == {"bedroom/beds": T}


def test_an_exact_and_a_wildcard_sensor_both_take_a_topic_exact_first() -> None:
    routing = pipeline()
    out = routing.handle(InboundMessage(T, "room/temp", b"20.5"))
    assert [r.sensor_id for r in out.readings] == ["temp", "any_temp"]
    out = routing.handle(InboundMessage(T + 1, "room/temp", b"21"))  # remembered route, same
    assert [r.sensor_id for r in out.readings] == ["temp", "any_temp"]
    assert routing.stats.last_seen == {"bedroom/temp": T + 1, "bedroom/any_temp": T + 1}


def test_the_cores_intents_go_out_as_actions_from_the_rooms_actuator_config() -> None:
    config = ServiceConfig.model_validate(
        {
            "rooms": [
                {
                    "id": "bedroom",
                    "name": "Bedroom",
                    "sensors": [{"id": "temp", "kind": "temperature", "topic": "room/temp"}],
                    "actuators": [
                        {"id": "fan", "role": "fan", "command_topic": "cmnd/fan/POWER"},
                        {"id": "heater", "role": "heater", "entity_id": "switch.heater"},
                    ],
                }
            ]
        }
    )
    out = Pipeline(config, RuleSet()).handle(InboundMessage(T, "room/temp", b"30"))
    assert [(i.actuator_id, i.on) for i in out.intents if isinstance(i, SwitchActuator)] == [
        ("fan", True),
        ("heater", False),
    ]
    assert [(a.kind, a.target, dict(a.data)) for a in out.actions] == [
        (ActionKind.MQTT_PUBLISH, "cmnd/fan/POWER", {"payload": "ON"}),
        (ActionKind.HA_SERVICE, "switch.turn_off", {"entity_id": "switch.heater"}),
    ]
    assert all(a.why == out.intents[0].why for a in out.actions)


def z2m_pipeline() -> Pipeline:
    config = ServiceConfig.model_validate(
        {
            "rooms": [
                {
                    "id": "bedroom",
                    "name": "Bedroom",
                    "sensors": [
                        {
                            "id": "climate",
                            "kind": "temperature",
                            "topic": "zigbee2mqtt/+",
                            "format": "zigbee2mqtt",
                        }
                    ],
                }
            ]
        }
    )
    return Pipeline(config, RuleSet())


def test_a_bare_number_on_a_zigbee2mqtt_topic_is_refused_not_read_as_degrees(
    caplog: pytest.LogCaptureFixture,
) -> None:
    routing = z2m_pipeline()
    out = routing.handle(InboundMessage(T, "zigbee2mqtt/bedroom_climate", b"0"))
    assert out.readings == []
    assert routing.stats.rejected == {"missing_field": 1}
    # The warning names the device's own topic, not the wildcard the sensor subscribes with.
    assert "rejected a message on zigbee2mqtt/bedroom_climate (missing_field)" in caplog.text
    out = routing.handle(InboundMessage(T + 1, "zigbee2mqtt/bedroom_climate", b'{"temperature":0}'))
    assert [r.temp_c for r in out.readings] == [0.0]  # type: ignore[union-attr]


def test_rejections_under_a_wildcard_are_logged_once_per_sensor_not_per_topic(
    caplog: pytest.LogCaptureFixture,
) -> None:
    routing = z2m_pipeline()
    for n in range(100):
        routing.handle(InboundMessage(T + n, f"zigbee2mqtt/device{n}", b"0"))
    assert routing.stats.rejected == {"missing_field": 100}
    assert caplog.text.count("rejected a message") == 1
