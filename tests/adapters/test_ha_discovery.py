"""Discovery payloads against HA's documented keys; HA's commands parsed or refused."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from integration.adapters.ha_discovery import (
    EVENT_TYPES,
    BandCommand,
    Command,
    NoteDraftCommand,
    PauseCommand,
    SaveNoteCommand,
    SummaryNowCommand,
    clear_messages,
    command_topics,
    discovery_messages,
    discovery_topic_filter,
    ha_status_topic,
    messages_to_publish,
    movement_message,
    parse_command,
    room_topics,
    state_message,
)
from integration.config import ServiceConfig
from integration.core.comfort import State
from integration.core.events import MovementEvent, MovementKind

VERSION = "1.2.3"
BASE = "home/smart-bedroom"

# Keys every MQTT entity platform documents ("Configuration Variables" of each page below),
# plus `origin`, which MQTT discovery accepts in every config:
# https://www.home-assistant.io/integrations/mqtt/#adding-information-about-the-origin-of-a-discovery-message
_ENTITY_KEYS = frozenset(
    {
        "availability",
        "availability_mode",
        "availability_template",
        "availability_topic",
        "default_entity_id",
        "device",
        "enabled_by_default",
        "encoding",
        "entity_category",
        "entity_picture",
        "icon",
        "json_attributes_template",
        "json_attributes_topic",
        "name",
        "object_id",
        "origin",
        "payload_available",
        "payload_not_available",
        "qos",
        "unique_id",
    }
)
ALLOWED_KEYS: dict[str, frozenset[str]] = {
    # https://www.home-assistant.io/integrations/sensor.mqtt/
    "sensor": _ENTITY_KEYS
    | {
        "device_class",
        "expire_after",
        "force_update",
        "last_reset_value_template",
        "options",
        "state_class",
        "state_topic",
        "suggested_display_precision",
        "unit_of_measurement",
        "value_template",
    },
    # https://www.home-assistant.io/integrations/binary_sensor.mqtt/
    "binary_sensor": _ENTITY_KEYS
    | {
        "device_class",
        "expire_after",
        "force_update",
        "off_delay",
        "payload_off",
        "payload_on",
        "state_topic",
        "value_template",
    },
    # https://www.home-assistant.io/integrations/event.mqtt/
    "event": _ENTITY_KEYS | {"device_class", "event_types", "state_topic", "value_template"},
    # https://www.home-assistant.io/integrations/number.mqtt/
    "number": _ENTITY_KEYS
    | {
        "command_template",
        "command_topic",
        "device_class",
        "max",
        "min",
        "mode",
        "optimistic",
        "payload_reset",
        "retain",
        "state_topic",
        "step",
        "unit_of_measurement",
        "value_template",
    },
    # https://www.home-assistant.io/integrations/switch.mqtt/
    "switch": _ENTITY_KEYS
    | {
        "command_template",
        "command_topic",
        "device_class",
        "optimistic",
        "payload_off",
        "payload_on",
        "retain",
        "state_off",
        "state_on",
        "state_topic",
        "value_template",
    },
    # https://www.home-assistant.io/integrations/button.mqtt/
    "button": _ENTITY_KEYS
    | {"command_template", "command_topic", "device_class", "payload_press", "retain"},
    # https://www.home-assistant.io/integrations/text.mqtt/
    "text": _ENTITY_KEYS
    | {
        "command_template",
        "command_topic",
        "max",
        "min",
        "mode",
        "pattern",
        "retain",
        "state_topic",
        "value_template",
    },
    # https://www.home-assistant.io/integrations/device_trigger.mqtt/
    "device_automation": frozenset(
        {
            "automation_type",
            "device",
            "origin",
            "payload",
            "qos",
            "subtype",
            "topic",
            "type",
            "value_template",
        }
    ),
}
REQUIRED_KEYS: dict[str, frozenset[str]] = {
    "sensor": frozenset({"state_topic"}),
    "binary_sensor": frozenset({"state_topic"}),
    "event": frozenset({"state_topic", "event_types"}),
    "number": frozenset({"command_topic"}),
    "switch": frozenset({"command_topic"}),
    "button": frozenset({"command_topic"}),
    "text": frozenset({"command_topic"}),
    "device_automation": frozenset({"automation_type", "topic", "type", "subtype", "device"}),
}
# https://www.home-assistant.io/integrations/sensor.mqtt/#device
DEVICE_KEYS = frozenset(
    {
        "configuration_url",
        "connections",
        "hw_version",
        "identifiers",
        "manufacturer",
        "model",
        "model_id",
        "name",
        "serial_number",
        "suggested_area",
        "sw_version",
        "via_device",
    }
)
ORIGIN_KEYS = frozenset({"name", "sw_version", "support_url"})
AVAILABILITY_KEYS = frozenset(
    {"payload_available", "payload_not_available", "topic", "value_template"}
)
# https://www.home-assistant.io/integrations/sensor/#available-state-classes and device classes
SENSOR_STATE_CLASSES = frozenset({"measurement", "total", "total_increasing"})
ENTITY_CATEGORIES = frozenset({"config", "diagnostic"})


def make_config(**mqtt: Any) -> ServiceConfig:
    rooms = [
        {
            "id": room_id,
            "name": name,
            "sensors": [{"id": "temp", "kind": "temperature", "topic": f"z2m/{room_id}"}],
        }
        for room_id, name in (("bedroom", "Bedroom"), ("guest", "Guest room"))
    ]
    return ServiceConfig.model_validate(
        {"mqtt": {"base_topic": BASE, **mqtt}, "homeassistant": {"enabled": False}, "rooms": rooms}
    )


CONFIG = make_config()
MESSAGES = discovery_messages(CONFIG, VERSION, support_url="https://example.org/smart-bedroom")
PAYLOADS = [(topic, json.loads(payload)) for topic, payload in MESSAGES]


def component_of(topic: str) -> str:
    return topic.split("/")[-4]


@pytest.mark.parametrize(("topic", "payload"), PAYLOADS, ids=[t for t, _ in PAYLOADS])
def test_payload_uses_only_documented_keys(topic: str, payload: dict[str, Any]) -> None:
    component = component_of(topic)
    assert set(payload) <= ALLOWED_KEYS[component]
    assert REQUIRED_KEYS[component] <= set(payload)
    assert set(payload["device"]) <= DEVICE_KEYS
    assert set(payload["origin"]) == ORIGIN_KEYS
    for availability in payload.get("availability", []):
        assert set(availability) <= AVAILABILITY_KEYS


@pytest.mark.parametrize(("topic", "payload"), PAYLOADS, ids=[t for t, _ in PAYLOADS])
def test_payload_values_are_ones_ha_accepts(topic: str, payload: dict[str, Any]) -> None:
    component = component_of(topic)
    if component == "sensor" and "state_class" in payload:
        assert payload["state_class"] in SENSOR_STATE_CLASSES
    if "entity_category" in payload:
        assert payload["entity_category"] in ENTITY_CATEGORIES
    if component == "number":
        assert payload["min"] < payload["max"]
        assert payload["mode"] in {"auto", "box", "slider"}
    if component == "text":  # HA's text state holds at most 255 characters
        assert 0 <= payload["min"] < payload["max"] <= 255
        assert payload["mode"] in {"text", "password"}
    if component == "device_automation":
        assert payload["automation_type"] == "trigger"
    else:
        assert payload["availability"] == [{"topic": CONFIG.availability_topic}]


def test_topics_follow_the_per_entity_discovery_scheme() -> None:
    for topic, payload in PAYLOADS:
        prefix, component, node, key, config = topic.split("/")
        assert (prefix, config) == ("homeassistant", "config")
        room = node.removeprefix("smart_bedroom_")
        assert payload["device"]["identifiers"] == [node]
        if component != "device_automation":
            assert payload["unique_id"] == f"{node}_{key}"
            assert payload["object_id"] == f"{room}_{key}"
            assert payload["default_entity_id"] == f"{component}.{room}_{key}"


def test_one_device_per_room_with_its_name_and_version() -> None:
    devices = {json.dumps(p["device"], sort_keys=True) for _, p in PAYLOADS}
    assert sorted(json.loads(d)["name"] for d in devices) == ["Bedroom", "Guest room"]
    for device in map(json.loads, devices):
        assert device["manufacturer"] == "smart-bedroom"
        assert device["model"] == "Bedroom monitor"
        assert device["sw_version"] == VERSION


def test_unique_ids_and_topics_are_unique() -> None:
    unique_ids = [p["unique_id"] for _, p in PAYLOADS if "unique_id" in p]
    assert len(unique_ids) == len(set(unique_ids))
    assert len(MESSAGES) == len({topic for topic, _ in MESSAGES})


def test_each_room_has_the_documented_entities() -> None:
    keys = Counter(
        (component_of(topic), topic.split("/")[-2])
        for topic, _ in MESSAGES
        if "smart_bedroom_bedroom" in topic
    )
    assert set(keys) == {
        ("sensor", "temperature"),
        ("sensor", "comfort_low"),
        ("sensor", "comfort_high"),
        ("sensor", "comfort_status"),
        ("sensor", "spasms_tonight"),
        ("sensor", "last_night_spasms"),
        ("sensor", "last_night_restless_minutes"),
        ("sensor", "last_night_time_in_band"),
        ("sensor", "last_night_sleep_efficiency"),
        ("sensor", "last_night"),
        ("sensor", "tonight_so_far"),
        ("binary_sensor", "in_bed"),
        ("binary_sensor", "restless"),
        ("binary_sensor", "sensor_problem"),
        ("binary_sensor", "rules_problem"),
        ("binary_sensor", "delivery_problem"),
        ("event", "movement"),
        ("number", "comfort_band_low"),
        ("number", "comfort_band_high"),
        ("switch", "pause"),
        ("button", "summary_now"),
        ("button", "confirm_spasm"),
        ("button", "reject_spasm"),
        ("button", "report_spasm"),
        ("text", "note"),
        ("button", "save_note"),
        ("sensor", "latest_spasm_label"),
        ("sensor", "last_movement"),
        ("binary_sensor", "window_open"),
        ("sensor", "heating_rate_c_per_h"),
        ("sensor", "cooling_rate_c_per_h"),
        ("sensor", "room_lag_min"),
        ("sensor", "heating_overshoot_c"),
        ("sensor", "cooling_overshoot_c"),
        ("sensor", "learned_at"),
        *(("device_automation", event_type) for event_type in EVENT_TYPES),
    }


def test_event_types_cover_every_movement_kind_and_summary_ready() -> None:
    assert set(EVENT_TYPES) == {kind.value for kind in MovementKind} | {"summary_ready"}
    events = [p for t, p in PAYLOADS if component_of(t) == "event"]
    assert all(p["event_types"] == list(EVENT_TYPES) for p in events)


def test_each_event_in_words_differs_even_when_several_share_a_moment() -> None:
    """HA's logbook shows a sensor's state changes: each event must be a different state."""
    config = CONFIG
    t = 1_795_473_000.0  # 2026-11-23 22:30 in London
    same_moment = [
        MovementEvent("bedroom", MovementKind.JERK, t, t + 0.8, 11.84, 0.9, True),
        MovementEvent("bedroom", MovementKind.CLONUS, t, t + 4.2, 6.0, 0.8, True),
        MovementEvent("bedroom", MovementKind.RESTLESS_START, t, t, 0.0, 1.0, False),
    ]
    sent = [movement_message(config, event) for event in same_moment]
    texts = [json.loads(payload)["text"] for _topic, payload, _retain in sent]
    assert texts == [
        "22:30:00 jerk, 0.8 s, peak 11.8 times resting, spasm-like",
        "22:30:00 clonus, 4.2 s, peak 6.0 times resting, spasm-like",
        "22:30:00 restless: start, 0.0 s",
    ]
    assert {(topic, retain) for topic, _payload, retain in sent} == {
        (f"{BASE}/bedroom/movement", False)  # an old event is never logged again on restart
    }
    sensor = next(
        p for t, p in PAYLOADS if t.endswith("smart_bedroom_bedroom/last_movement/config")
    )
    assert "unit_of_measurement" not in sensor  # a unit would keep it out of HA's logbook
    assert "state_class" not in sensor


def test_device_triggers_have_a_unique_type_and_subtype_per_device() -> None:
    pairs = Counter(
        (p["device"]["identifiers"][0], p["type"], p["subtype"])
        for t, p in PAYLOADS
        if component_of(t) == "device_automation"
    )
    assert set(pairs.values()) == {1}
    assert len(pairs) == 2 * len(EVENT_TYPES)


def test_comfort_status_options_are_the_controller_states() -> None:
    status = next(p for t, p in PAYLOADS if t.endswith("/comfort_status/config"))
    assert status["device_class"] == "enum"
    assert status["options"] == [state.value for state in State]


def test_every_state_and_command_topic_is_a_room_topic() -> None:
    rules_topics = {f"{BASE}/rules/problem", f"{BASE}/rules/problem/attributes"} | {
        f"{BASE}/delivery/problem",
        f"{BASE}/delivery/problem/attributes",
    }
    for topic, payload in PAYLOADS:
        room = topic.split("/")[-3].removeprefix("smart_bedroom_")
        own = room_topics(BASE, room)
        published = {
            own.state,
            own.event,
            own.movement,
            own.summary,
            own.label,
            own.so_far,
            own.learned,
            own.note,
        } | rules_topics
        commands = {
            own.set_band_low,
            own.set_band_high,
            own.set_pause,
            own.summary_now,
            own.set_label,
            own.set_note,
            own.save_note,
        }
        for key in ("state_topic", "json_attributes_topic", "topic"):
            if key in payload:
                assert payload[key] in published, (topic, key)
        if "command_topic" in payload:
            assert payload["command_topic"] in commands
            assert payload["command_topic"] in command_topics(CONFIG)


def test_room_topics_scheme() -> None:
    assert room_topics("sb", "bedroom") == room_topics("sb", "bedroom")
    topics = room_topics("sb", "bedroom")
    assert (topics.state, topics.event, topics.summary) == (
        "sb/bedroom/state",
        "sb/bedroom/event",
        "sb/bedroom/summary",
    )
    assert (topics.set_band_low, topics.set_band_high, topics.set_pause, topics.summary_now) == (
        "sb/bedroom/set/band_low",
        "sb/bedroom/set/band_high",
        "sb/bedroom/set/pause",
        "sb/bedroom/set/summary_now",
    )


def test_command_topics_are_seven_per_room() -> None:
    assert len(command_topics(CONFIG)) == 14
    assert f"{BASE}/guest/set/pause" in command_topics(CONFIG)


def test_origin_omits_support_url_unless_given() -> None:
    _, payload = discovery_messages(CONFIG, VERSION)[0]
    assert json.loads(payload)["origin"] == {"name": "smart-bedroom", "sw_version": VERSION}


def test_payloads_are_stable_for_the_same_config() -> None:
    assert discovery_messages(CONFIG, VERSION) == discovery_messages(CONFIG, VERSION)


def test_discovery_prefix_comes_from_config() -> None:
    config = ServiceConfig.model_validate(
        {**CONFIG.model_dump(mode="json"), "homeassistant": {"discovery_prefix": "ha-test"}}
    )
    assert all(topic.startswith("ha-test/") for topic, _ in discovery_messages(config, VERSION))
    assert discovery_topic_filter(config) == "ha-test/+/+/+/config"
    assert ha_status_topic(config) == "ha-test/status"


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        (f"{BASE}/bedroom/set/band_low", b"17.5", BandCommand("bedroom", "low", 17.5)),
        (f"{BASE}/guest/set/band_high", b" 21 ", BandCommand("guest", "high", 21.0)),
        (f"{BASE}/bedroom/set/band_low", b"5", BandCommand("bedroom", "low", 5.0)),
        (f"{BASE}/bedroom/set/band_high", b"35.0", BandCommand("bedroom", "high", 35.0)),
        (f"{BASE}/bedroom/set/pause", b"ON", PauseCommand("bedroom", paused=True)),
        (f"{BASE}/bedroom/set/pause", b"off", PauseCommand("bedroom", paused=False)),
        (f"{BASE}/bedroom/set/summary_now", b"PRESS", SummaryNowCommand("bedroom")),
        (
            f"{BASE}/bedroom/set/note",
            b" baclofen 10 mg at 22:00 ",
            NoteDraftCommand("bedroom", "baclofen 10 mg at 22:00"),
        ),
        (f"{BASE}/guest/set/note", b"", NoteDraftCommand("guest", "")),
        (f"{BASE}/guest/set/note", "é" * 255, NoteDraftCommand("guest", "é" * 255)),
        (f"{BASE}/bedroom/set/save_note", b"PRESS", SaveNoteCommand("bedroom")),
    ],
    ids=[
        "low",
        "high-padded",
        "low-edge",
        "high-edge",
        "pause",
        "resume",
        "summary",
        "note-draft",
        "note-draft-cleared",
        "note-draft-longest",
        "save-note",
    ],
)
def test_parse_command_accepts_what_ha_sends(
    topic: str, payload: bytes | str, expected: Command
) -> None:
    payload = payload.encode() if isinstance(payload, str) else payload
    assert parse_command(CONFIG, topic, payload) == expected


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (f"{BASE}/attic/set/band_low", b"18"),
        (f"{BASE}/bedroom/set/band_low", b"warm"),
        (f"{BASE}/bedroom/set/band_low", b""),
        (f"{BASE}/bedroom/set/band_low", b"4.9"),
        (f"{BASE}/bedroom/set/band_high", b"35.1"),
        (f"{BASE}/bedroom/set/band_high", b"nan"),
        (f"{BASE}/bedroom/set/band_high", b"inf"),
        (f"{BASE}/bedroom/set/band_low", b"\xff\xfe"),
        (f"{BASE}/bedroom/set/pause", b"maybe"),
        (f"{BASE}/bedroom/set/summary_now", b"ON"),
        (f"{BASE}/bedroom/set/note", b"x" * 256),
        (f"{BASE}/bedroom/set/note", b"\xff\xfe"),
        (f"{BASE}/bedroom/set/save_note", b"ON"),
        (f"{BASE}/attic/set/save_note", b"PRESS"),
        (f"{BASE}/bedroom/set/volume", b"3"),
        (f"{BASE}/bedroom/state", b"{}"),
        (f"{BASE}/bedroom/set/band_low/extra", b"18"),
        (f"{BASE}/set/band_low", b"18"),
        ("other/bedroom/set/band_low", b"18"),
        (f"{BASE}x/bedroom/set/band_low", b"18"),
    ],
    ids=[
        "unknown-room",
        "not-a-number",
        "empty",
        "too-cold",
        "too-warm",
        "nan",
        "infinite",
        "not-utf8",
        "pause-garbage",
        "summary-wrong-payload",
        "note-draft-too-long",
        "note-draft-not-utf8",
        "save-note-wrong-payload",
        "save-note-unknown-room",
        "unknown-verb",
        "not-a-command",
        "extra-level",
        "missing-room",
        "other-base",
        "base-prefix-only",
    ],
)
def test_parse_command_refuses_malformed_commands(topic: str, payload: bytes) -> None:
    assert parse_command(CONFIG, topic, payload) is None


@given(suffix=st.text(max_size=40), payload=st.binary(max_size=40))
def test_parse_command_never_raises(suffix: str, payload: bytes) -> None:
    command = parse_command(CONFIG, f"{BASE}/{suffix}", payload)
    assert command is None or command.room in {"bedroom", "guest"}


def test_clear_messages_empties_only_our_vanished_configs() -> None:
    current = [topic for topic, _ in MESSAGES]
    ghost = "homeassistant/sensor/smart_bedroom_bedroom/old_sensor/config"
    gone_room = "homeassistant/switch/smart_bedroom_nursery/pause/config"
    foreign = "homeassistant/sensor/0x00158d0001/temperature/config"
    read_back = [*current, ghost, gone_room, foreign, ghost]
    assert clear_messages(read_back, current) == [(ghost, ""), (gone_room, "")]
    assert clear_messages(current, current) == []


def test_messages_to_publish_skips_configs_the_broker_already_holds() -> None:
    (first_topic, first), (second_topic, second) = MESSAGES[:2]
    reordered = json.dumps(json.loads(first), sort_keys=False, indent=2)
    retained = {first_topic: reordered.encode(), second_topic: b'{"name": "old"}'}
    assert messages_to_publish(MESSAGES[:2], retained) == [(second_topic, second)]
    assert messages_to_publish(MESSAGES[:1], {first_topic: b"not json"}) == [(first_topic, first)]


@pytest.mark.parametrize("room_id", ["bed/room", "bed+", "bed#", "Bedroom", "../x", ""])
def test_a_room_id_cannot_inject_topic_levels(room_id: str) -> None:
    with pytest.raises(ValidationError):
        ServiceConfig.model_validate(
            {
                "rooms": [
                    {
                        "id": room_id,
                        "name": "x",
                        "sensors": [{"id": "t", "kind": "temperature", "topic": "t"}],
                    }
                ]
            }
        )


def test_room_names_with_any_characters_stay_json() -> None:
    config = ServiceConfig.model_validate(
        {
            "rooms": [
                {
                    "id": "bedroom",
                    "name": 'Anna\'s "blue" room / 2',
                    "sensors": [{"id": "t", "kind": "temperature", "topic": "t"}],
                }
            ]
        }
    )
    for topic, payload in discovery_messages(config, VERSION):
        assert "smart_bedroom_bedroom" in topic
        assert json.loads(payload)["device"]["name"] == 'Anna\'s "blue" room / 2'


def test_null_tolerant_templates_render_none_for_missing_values() -> None:
    templates = [p["value_template"] for t, p in PAYLOADS if "value_template" in p]
    guarded = [t for t in templates if "else None" in t]
    # Only the device triggers compare the raw event type; everything shown in HA is guarded.
    assert len(templates) - len(guarded) == 2 * len(EVENT_TYPES)


def test_room_state_says_yes_and_no_as_binary_sensor_payloads() -> None:
    status = {"in_bed": True, "restless": False, "paused": None, "spasms_tonight": 1}
    topic, payload, retain = state_message(CONFIG, "bedroom", status)
    assert (topic, retain) == (room_topics(BASE, "bedroom").state, True)
    assert json.loads(payload) == {
        "in_bed": "ON",
        "restless": "OFF",
        "paused": None,
        "spasms_tonight": 1,
    }
