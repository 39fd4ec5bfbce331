"""What goes out for each intent: HA service calls and MQTT publishes, from the room's config."""

from __future__ import annotations

from typing import Any

import pytest

from integration.adapters.actions import ActionTranslator
from integration.adapters.ha_rest import service_call
from integration.config import RoomConfig
from integration.core.events import Action, ActionKind, WhyValue
from integration.core.intents import (
    CallService,
    Intent,
    Notify,
    PublishMqtt,
    Role,
    SetBand,
    SetClimate,
    SwitchActuator,
)

T = 1_767_225_600.0
WHY: dict[str, WhyValue] = {"rule": "comfort", "state": "heating"}
ROOM = RoomConfig.model_validate(
    {
        "id": "bedroom",
        "name": "Bedroom",
        "sensors": [{"id": "temp", "kind": "temperature", "topic": "room/temp"}],
        "actuators": [
            {"id": "heater", "role": "heater", "entity_id": "switch.heater"},
            {"id": "cooler", "role": "cooler", "entity_id": "fan.cooler"},
            {"id": "lamp_fan", "role": "fan", "entity_id": "light.ceiling_fan"},
            {"id": "fan", "role": "fan", "command_topic": "cmnd/fan/POWER", "payload_on": "1"},
            {"id": "mqtt_heater", "role": "heater", "command_topic": "home/heater/set"},
            {"id": "ac", "role": "climate", "entity_id": "climate.bedroom"},
        ],
    }
)
translate = ActionTranslator([ROOM])


def switch(actuator_id: str, role: Role, *, on: bool) -> SwitchActuator:
    return SwitchActuator("bedroom", T, actuator_id, role, on, WHY)


def climate(mode: Any, target_c: float | None) -> SetClimate:
    return SetClimate("bedroom", T, "ac", mode, target_c, WHY)


def ha(service: str, data: dict[str, WhyValue]) -> Action:
    return Action("bedroom", T, ActionKind.HA_SERVICE, service, data, WHY)


def mqtt(topic: str, data: dict[str, WhyValue]) -> Action:
    return Action("bedroom", T, ActionKind.MQTT_PUBLISH, topic, data, WHY)


def notify(target: str, title: str, message: str, key: str = "notice") -> Action:
    """A notification, with the id that keeps one per thing in HA (`Notify.key`)."""
    data: dict[str, WhyValue] = {
        "title": title,
        "message": message,
        "notification_id": f"smart_bedroom_bedroom_{key}",
    }
    return Action("bedroom", T, ActionKind.NOTIFY, target, data, WHY)


CASES: list[tuple[str, Intent, list[Action]]] = [
    ("switch_entity_on", switch("heater", Role.HEATER, on=True), [ha("switch.turn_on", {"entity_id": "switch.heater"})]),
    ("switch_entity_off", switch("heater", Role.HEATER, on=False), [ha("switch.turn_off", {"entity_id": "switch.heater"})]),
    ("fan_entity_on", switch("cooler", Role.COOLER, on=True), [ha("fan.turn_on", {"entity_id": "fan.cooler"})]),
    ("fan_entity_off", switch("cooler", Role.COOLER, on=False), [ha("fan.turn_off", {"entity_id": "fan.cooler"})]),
    ("any_domain_turns_on", switch("lamp_fan", Role.FAN, on=True), [ha("light.turn_on", {"entity_id": "light.ceiling_fan"})]),
    ("mqtt_own_payload_on", switch("fan", Role.FAN, on=True), [mqtt("cmnd/fan/POWER", {"payload": "1"})]),
    ("mqtt_default_payload_off", switch("fan", Role.FAN, on=False), [mqtt("cmnd/fan/POWER", {"payload": "OFF"})]),
    ("mqtt_default_payload_on", switch("mqtt_heater", Role.HEATER, on=True), [mqtt("home/heater/set", {"payload": "ON"})]),
    ("climate_heat", climate("heat", 19.0), [
        ha("climate.set_hvac_mode", {"entity_id": "climate.bedroom", "hvac_mode": "heat"}),
        ha("climate.set_temperature", {"entity_id": "climate.bedroom", "temperature": 19.0}),
    ]),
    ("climate_cool", climate("cool", 19.0), [
        ha("climate.set_hvac_mode", {"entity_id": "climate.bedroom", "hvac_mode": "cool"}),
        ha("climate.set_temperature", {"entity_id": "climate.bedroom", "temperature": 19.0}),
    ]),
    ("climate_off", climate("off", None), [ha("climate.set_hvac_mode", {"entity_id": "climate.bedroom", "hvac_mode": "off"})]),
    ("climate_target_only", climate(None, 17.5), [ha("climate.set_temperature", {"entity_id": "climate.bedroom", "temperature": 17.5})]),
    ("climate_target_in_tenths", climate(None, 17.25 + 1 / 3), [ha("climate.set_temperature", {"entity_id": "climate.bedroom", "temperature": 17.6})]),
    ("notify_in_ha", Notify("bedroom", T, "Stopped", "why", None, WHY), [notify("persistent_notification.create", "Stopped", "why")]),
    ("notify_also_phone", Notify("bedroom", T, "Night", "text", "notify.mobile_app_phone", WHY), [
        notify("persistent_notification.create", "Night", "text"),
        notify("notify.mobile_app_phone", "Night", "text"),
    ]),
    ("call_service_as_written", CallService("bedroom", T, "script.turn_on", {"entity_id": "script.x"}, WHY), [ha("script.turn_on", {"entity_id": "script.x"})]),
    ("publish_as_written", PublishMqtt("bedroom", T, "house/warm", "30", False, WHY), [mqtt("house/warm", {"payload": "30", "retain": False})]),
    ("publish_retained", PublishMqtt("bedroom", T, "house/warm", "x", True, WHY), [mqtt("house/warm", {"payload": "x", "retain": True})]),
    ("set_band", SetBand("bedroom", T, 17.0, 18.5, WHY), [
        Action("bedroom", T, ActionKind.SET_TARGET, "comfort_band", {"low_c": 17.0, "high_c": 18.5}, WHY)
    ]),
    ("unknown_actuator_sends_nothing", switch("kettle", Role.HEATER, on=True), []),
    ("actuator_of_another_room_sends_nothing", SwitchActuator("study", T, "heater", Role.HEATER, True, WHY), []),
]  # fmt: skip


@pytest.mark.parametrize(("intent", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_intent_goes_out_as_todays_actions(intent: Intent, expected: list[Action]) -> None:
    assert list(translate(intent)) == expected


def test_automation_intents_go_out_as_the_rule_wrote_them() -> None:
    """The intents of tests/core/test_automations.py's rendered rule, as they go out."""
    why: dict[str, WhyValue] = {"rule": "fan_on_when_restless", "count": 2}
    message = "2 spasm-like movements (clonus) in Bedroom by 23:05"
    data: dict[str, WhyValue] = {"entity_id": "climate.bedroom", "temperature": 16.5}
    intents: list[Intent] = [
        CallService("bedroom", T, "climate.set_temperature", data, why),
        PublishMqtt("bedroom", T, "bedroom/fan/set", '{"state": "ON", "count": 2}', True, why),
        Notify(
            "bedroom",
            T,
            "Restless night",
            message,
            "notify.mobile_app_phone",
            why,
            key="fan_on_when_restless_1",
        ),
        SetBand("bedroom", T, 17.0, 18.5, why),
    ]
    titled: dict[str, WhyValue] = {
        "title": "Restless night",
        "message": message,
        "notification_id": "smart_bedroom_bedroom_fan_on_when_restless_1",
    }
    assert [a for intent in intents for a in translate(intent)] == [
        Action("bedroom", T, ActionKind.HA_SERVICE, "climate.set_temperature", data, why),
        Action("bedroom", T, ActionKind.MQTT_PUBLISH, "bedroom/fan/set",
               {"payload": '{"state": "ON", "count": 2}', "retain": True}, why),
        Action("bedroom", T, ActionKind.NOTIFY, "persistent_notification.create", titled, why),
        Action("bedroom", T, ActionKind.NOTIFY, "notify.mobile_app_phone", titled, why),
        Action("bedroom", T, ActionKind.SET_TARGET, "comfort_band", {"low_c": 17.0, "high_c": 18.5}, why),
    ]  # fmt: skip


def test_each_thing_keeps_its_own_notification_in_home_assistant() -> None:
    """Two nights' summaries and an episode's notice: three notifications, none replacing another."""
    notices = [
        Notify("bedroom", T, "Bedroom: the night of 2026-12-03", "…", key="summary_2026-12-03"),
        Notify("bedroom", T, "Bedroom: the night of 2026-12-04", "…", key="summary_2026-12-04"),
        Notify("bedroom", T, "Restless night", "…", key="fan_on_when_restless_1768518300"),
    ]
    ids = [service_call(translate(n)[0])[2]["notification_id"] for n in notices]
    assert len(set(ids)) == 3
    assert ids[0] == "smart_bedroom_bedroom_summary_2026-12-03"
