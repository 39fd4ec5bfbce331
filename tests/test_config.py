from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from integration.config import (
    ActuatorConfig,
    SecretRef,
    load_config,
    resolve_secret,
    topic_filter_problem,
)
from integration.core.readings import SensorKind
from integration.errors import ConfigError
from integration.messages import PayloadFormat

REPO = Path(__file__).resolve().parents[1]

MINIMAL = """\
timezone: Europe/London
rooms:
  - id: bedroom
    name: Bedroom
    sensors:
      - id: temp
        kind: temperature
        topic: zigbee2mqtt/bedroom_climate
        format: zigbee2mqtt
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smart-bedroom.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(problem) for problem in caught.value.problems]


def test_shipped_example_config_is_valid() -> None:
    config = load_config(REPO / "config" / "smart-bedroom.yaml")
    kinds = {spec.kind for spec in config.sensor_specs()}
    assert kinds == set(SensorKind)
    assert config.availability_topic == "smart-bedroom/availability"
    assert config.rooms[0].actuators[0].entity_id == "climate.bedroom"


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    (spec,) = config.sensor_specs()
    assert (spec.room, spec.sensor_id, spec.kind) == ("bedroom", "temp", SensorKind.TEMPERATURE)
    assert spec.payload_format is PayloadFormat.ZIGBEE2MQTT
    assert config.mqtt.port == 1883
    assert str(config.zone) == "Europe/London"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "timezone: Europe/London",
            "timezone: Mars/Olympus",
            ":1: timezone: unknown timezone 'Mars/Olympus'",
        ),
        ("kind: temperature", "kind: thermometer", ":7: rooms[0].sensors[0].kind: Input should be"),
        (
            "topic: zigbee2mqtt/bedroom_climate",
            "topic: a/#/b",
            ":8: rooms[0].sensors[0].topic: '#' must be a whole level and the last one",
        ),
        ("  - id: bedroom", "  - id: Bed Room", ":3: rooms[0].id: String should match pattern"),
        (
            "        format: zigbee2mqtt",
            "        format: zigbee2mqtt\n        colour: red",
            ":10: rooms[0].sensors[0].colour: unknown key",
        ),
        (
            "        format: zigbee2mqtt",
            "        format: zigbee2mqtt\n        unit: g",
            ":10: rooms[0].sensors[0].unit: unit 'g' does not fit a temperature sensor",
        ),
        ("    name: Bedroom\n", "", ":3: rooms[0].name: required, but missing"),
        (
            "        format: zigbee2mqtt\n",
            "        format: zigbee2mqtt\n    actuators:\n      - id: heat\n        role: climate\n"
            "        command_topic: cmnd/heat/POWER\n",
            ":12: rooms[0].actuators[0].role: a climate actuator is an HA climate.* entity",
        ),
    ],
    ids=["timezone", "kind", "wildcard", "room-id", "unknown-key", "unit", "missing", "climate"],
)
def test_every_problem_is_located_by_file_and_line(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new))
    problems = problems_of(path)
    assert any(p.startswith(str(path)) and expected in p for p in problems), problems


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("    name: Bedroom", "    name: [Bedroom"))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:")
    assert "YAML syntax" in problem


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    text = MINIMAL + MINIMAL.split("rooms:\n")[1]
    path = write(tmp_path, text)
    # At the second room's id, the one to rename, not at the file's first line.
    assert problems_of(path) == [f"{path}:10: rooms[1].id: room id 'bedroom' is used twice"]


# Every problem with one field lands on that field's own line, under a path ending in its name,
# even when a check needs another field (the sensor's kind) or the whole model (duplicate ids).
FIELD_CASES = {
    "unit": (
        "        unit: kelvinish\n",
        "rooms[0].sensors[0].unit: unit 'kelvinish' does not fit a temperature sensor (use: C, F)",
    ),
    "side": (
        "        side: partner\n",
        "rooms[0].sensors[0].side: partner is for motion sensors only (a partner-side "
        "accelerometer)",
    ),
    "rate_hz": (
        "        rate_hz: 0\n",
        "rooms[0].sensors[0].rate_hz: Input should be greater than or equal to 1 (got 0)",
    ),
    "field": (
        "        field: [temperature]\n",
        "rooms[0].sensors[0].field: Input should be a valid string (got ['temperature'])",
    ),
}


@pytest.mark.parametrize(("line", "expected"), FIELD_CASES.values(), ids=FIELD_CASES.keys())
def test_a_field_problem_lands_on_the_fields_own_line(
    tmp_path: Path, line: str, expected: str
) -> None:
    path = write(tmp_path, MINIMAL + line)
    assert problems_of(path) == [f"{path}:10: {expected}"]


def test_every_wrong_field_of_a_sensor_is_reported_each_at_its_line(tmp_path: Path) -> None:
    text = MINIMAL + "        unit: kelvinish\n        rate_hz: 0\n        side: partner\n"
    path = write(tmp_path, text)
    assert problems_of(path) == [
        f"{path}:10: rooms[0].sensors[0].unit: unit 'kelvinish' does not fit a temperature "
        "sensor (use: C, F)",
        f"{path}:11: rooms[0].sensors[0].rate_hz: Input should be greater than or equal to 1 "
        "(got 0)",
        f"{path}:12: rooms[0].sensors[0].side: partner is for motion sensors only (a "
        "partner-side accelerometer)",
    ]


MODEL_CASES = {
    "duplicate-sensor": (
        "      - id: temp\n        kind: humidity\n        topic: z2m/h\n",
        "rooms[0].sensors[1].id: sensor id 'temp' is used twice in room 'bedroom'",
    ),
    "climate-entity": (
        "    actuators:\n      - id: heat\n        role: climate\n"
        "        entity_id: switch.heater\n",
        "rooms[0].actuators[0].entity_id: a climate actuator is an HA climate.* entity "
        "(give entity_id)",
    ),
    "command-wildcard": (
        "    actuators:\n      - id: fan\n        role: fan\n        command_topic: cmnd/+/set\n",
        "rooms[0].actuators[0].command_topic: command_topic must not contain MQTT wildcards + or #",
    ),
    "dashboard-host": (
        "dashboard:\n  port: 8080\n  host: 0.0.0.0\n",
        "dashboard.host: a dashboard on 0.0.0.0 needs a token (env: or file:)",
    ),
}


@pytest.mark.parametrize(("extra", "expected"), MODEL_CASES.values(), ids=MODEL_CASES.keys())
def test_a_check_across_fields_lands_on_the_field_to_change(
    tmp_path: Path, extra: str, expected: str
) -> None:
    text = MINIMAL + extra
    path = write(tmp_path, text)
    field = expected.split(":", 1)[0].rsplit(".", 1)[-1]
    line = max(i for i, row in enumerate(text.splitlines(), 1) if f"{field}:" in row)
    assert problems_of(path) == [f"{path}:{line}: {expected}"]


def test_a_key_the_file_writes_as_a_number_is_still_located(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "        1: one\n")
    assert problems_of(path) == [
        f"{path}:10: rooms[0].sensors[0].1: unknown key "
        + "(check the spelling; see the commented example)"
    ]


def test_python_tags_are_not_constructed(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("Bedroom", "!!python/object/apply:os.system ['true']"))
    problems = problems_of(path)
    assert problems
    assert all(p.startswith(str(path)) for p in problems)


def test_secret_comes_from_env_then_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("from-file\n", encoding="utf-8")
    ref = SecretRef(env="SB_TEST_TOKEN", file=secret_file)
    assert resolve_secret(ref, {"SB_TEST_TOKEN": "from-env"}) == "from-env"
    assert resolve_secret(ref, {}) == "from-file"
    assert resolve_secret(None, {}) is None


def test_secret_cannot_be_written_inline(tmp_path: Path) -> None:
    text = MINIMAL + "mqtt:\n  password: hunter2\n"
    problems = problems_of(write(tmp_path, text))
    assert any("mqtt.password" in p for p in problems), problems


@pytest.mark.parametrize(
    ("topic", "ok"),
    [
        ("a/b", True),
        ("a/+/c", True),
        ("a/#", True),
        ("#", True),
        ("a/b#", False),
        ("a+/b", False),
        ("", False),
    ],
    ids=["plain", "plus", "hash-last", "hash-only", "hash-inside", "plus-inside", "empty"],
)
def test_topic_filters_follow_mqtt_rules(topic: str, ok: bool) -> None:
    assert (topic_filter_problem(topic) is None) is ok


# How an actuator is reached is config's business (the core knows id and role only).
ACTUATOR_CASES = [
    ("neither", {}, "give exactly one of entity_id"),
    ("both", {"entity_id": "switch.x", "command_topic": "cmnd/x"}, "give exactly one"),
    ("climate_over_mqtt", {"role": "climate", "command_topic": "cmnd/x"}, r"climate\.\* entity"),
    ("climate_not_climate", {"role": "climate", "entity_id": "switch.x"}, r"climate\.\* entity"),
]


@pytest.mark.parametrize(
    ("kwargs", "message"), [c[1:] for c in ACTUATOR_CASES], ids=[c[0] for c in ACTUATOR_CASES]
)
def test_actuator_needs_one_way_to_command(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ActuatorConfig.model_validate({"id": "x", "role": "heater", **kwargs})
