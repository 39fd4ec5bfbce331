"""The bed sensor firmware's YAML says what the service and the build guide expect.

ESPHome itself validates these files in `.ci/esphome`; this reads them with a plain YAML loader
taught ESPHome's tags, and checks the contract with smart-bedroom: the topic the guide's config
snippet reads, 50 Hz, one-second batches, a sampler that only reads the accelerometer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.nodes import ScalarNode

from integration.adapters.payloads import parse_payload
from integration.core.readings import AccelSamples, SensorKind
from integration.messages import SensorSpec

FIRMWARE_DIR = Path(__file__).parents[2] / "config" / "esphome"
VARIANTS = sorted(FIRMWARE_DIR.glob("bed-sensor-*.yaml"))
_SUBSTITUTION = re.compile(r"\$\{(\w+)\}|\$(\w+)")


class Secret(str):
    """A `!secret name` reference, kept by name."""

    __slots__ = ()


class Lambda(str):
    """A `!lambda` C++ body."""

    __slots__ = ()


def load_esphome_yaml(path: Path) -> Any:
    """The file as ESPHome reads it before validation: tags kept, `!include` followed."""
    yaml = YAML(typ="safe", pure=True)
    constructor = yaml.constructor
    assert isinstance(constructor, SafeConstructor)

    def scalar(node: ScalarNode) -> str:
        value = constructor.construct_scalar(node)
        assert isinstance(value, str)
        return value

    constructor.add_constructor("!secret", lambda _c, node: Secret(scalar(node)))
    constructor.add_constructor("!lambda", lambda _c, node: Lambda(scalar(node)))
    constructor.add_constructor(
        "!include", lambda _c, node: load_esphome_yaml(FIRMWARE_DIR / scalar(node))
    )
    return yaml.load(path.read_text(encoding="utf-8"))


def substitute(value: Any, subs: dict[str, str]) -> Any:
    """`${name}` and `$name` replaced throughout, repeatedly (substitutions may nest)."""
    if isinstance(value, dict):
        return {key: substitute(item, subs) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, subs) for item in value]
    if isinstance(value, str):
        text = str(value)
        for _ in range(10):
            replaced = _SUBSTITUTION.sub(lambda m: subs.get(m[1] or m[2], m[0]), text)
            if replaced == text:
                break
            text = replaced
        return type(value)(text) if isinstance(value, Secret | Lambda) else text
    return value


def firmware(path: Path) -> dict[str, Any]:
    """A variant with its packages merged (lists joined, maps merged) and substitutions applied."""
    doc = load_esphome_yaml(path)
    merged: dict[str, Any] = {}
    for package in doc.pop("packages", {}).values():
        _merge(merged, package)
    _merge(merged, doc)
    subs = {key: str(value) for key, value in merged.pop("substitutions").items()}
    subs = {key: substitute(value, subs) for key, value in subs.items()}
    result = substitute(merged, subs)
    result["substitutions"] = subs
    assert isinstance(result, dict)
    return result


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            into[key] = into[key] + value
        else:
            into[key] = value


def sampler(config: dict[str, Any]) -> tuple[str, str]:
    """(poll interval, C++ body) of the interval that reads the accelerometer."""
    [entry] = [i for i in config["interval"] if "update()" in i["then"][0]["lambda"]]
    return entry["interval"], entry["then"][0]["lambda"]


def guide_sensor() -> dict[str, str]:
    """The motion sensor in the build guide's config snippet for smart-bedroom."""
    guide = (FIRMWARE_DIR / "README.md").read_text(encoding="utf-8")
    [match] = re.findall(r"- \{id: (\w+), kind: (\w+), topic: ([\w/]+)\}", guide)
    return {"id": match[0], "kind": match[1], "topic": match[2]}


def test_there_are_firmware_variants() -> None:
    assert [p.name for p in VARIANTS] == ["bed-sensor-m5atom.yaml", "bed-sensor-mpu6050.yaml"]


@pytest.mark.parametrize("path", VARIANTS, ids=lambda p: p.stem)
def test_topic_is_the_one_the_guide_configures(path: Path) -> None:
    config = firmware(path)
    sensor = guide_sensor()
    assert sensor["kind"] == "motion"
    assert config["substitutions"]["accel_topic"] == sensor["topic"] == "bedsensor/bed/accel"
    _, body = sampler(config)
    assert f'publish("{sensor["topic"]}", batch.to_json()' in body
    # Availability (birth and will) lives beside it, under the same prefix.
    assert config["mqtt"]["topic_prefix"] == "bedsensor/bed"


@pytest.mark.parametrize("path", VARIANTS, ids=lambda p: p.stem)
def test_samples_at_50_hz_in_one_second_batches(path: Path) -> None:
    config = firmware(path)
    rate = int(config["substitutions"]["rate_hz"])
    assert rate == 50
    interval, body = sampler(config)
    # A 20 ms grid, polled four times per slot; a batch is published when it holds `rate`
    # samples: one a second.
    assert "SampleGrid grid(1000 / 50)" in body
    assert interval == "5ms"
    assert "Batch batch(50, 50)" in body
    assert "if (batch.full()) {\n  publish();" in body


@pytest.mark.parametrize("path", VARIANTS, ids=lambda p: p.stem)
def test_accelerometer_is_read_only_by_the_sampler_and_never_published_raw(path: Path) -> None:
    config = firmware(path)
    [imu] = [s for s in config["sensor"] if s.get("id") == "imu"]
    assert imu["platform"] in {"mpu6050", "mpu6886"}
    assert imu["update_interval"] == "never"
    for axis in ("accel_x", "accel_y", "accel_z", "temperature"):
        assert imu[axis]["internal"] is True
    assert config["logger"]["level"] == "INFO"  # DEBUG would log 200 lines a second


@pytest.mark.parametrize("path", VARIANTS, ids=lambda p: p.stem)
def test_status_sensors_and_secrets(path: Path) -> None:
    config = firmware(path)
    platforms = {s["platform"] for s in config["sensor"]}
    assert {"wifi_signal", "uptime", "template"} <= platforms
    names = {s.get("name") for s in config["sensor"]}
    assert {"Samples dropped", "Sensor temperature"} <= names
    assert config["time"][0]["platform"] == "sntp"
    example = load_esphome_yaml(FIRMWARE_DIR / "secrets.example.yaml")
    used = _secrets(config)
    assert used == set(example)


def _secrets(value: Any) -> set[str]:
    if isinstance(value, Secret):
        return {str(value)}
    if isinstance(value, dict):
        return set().union(*(_secrets(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_secrets(v) for v in value))
    return set()


def test_guide_snippet_reads_the_firmware_payload() -> None:
    sensor = guide_sensor()
    spec = SensorSpec("bedroom", sensor["id"], SensorKind(sensor["kind"]), sensor["topic"])
    payload = b'{"t0":1764962399.000,"rate":50,"x":[0.0012],"y":[-0.0030],"z":[0.9987]}'
    [reading] = parse_payload(spec, payload, 1_764_962_400.0)  # type: ignore[misc]
    assert isinstance(reading, AccelSamples)
    assert (reading.x_g, reading.z_g, reading.rate_hz) == ((0.0012,), (0.9987,), 50.0)
