"""Every captured device payload under tests/fixtures/payloads parses to what its file expects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integration.adapters.payloads import parse_payload
from integration.core.readings import (
    AccelSamples,
    ContactReading,
    HumidityReading,
    MovementEnergyReading,
    OccupancyReading,
    Rejection,
    SensorKind,
    TemperatureReading,
    VibrationReading,
)
from integration.messages import PayloadFormat, SensorSpec

FIXTURES = Path(__file__).parents[2] / "fixtures" / "payloads"
FILES = sorted(FIXTURES.glob("*/*.json"))
ARRIVAL_T = 1_767_225_600.0  # 2026-01-01T00:00:00Z, unless a fixture gives "arrival_t"
READING_TYPES = {
    SensorKind.TEMPERATURE: TemperatureReading,
    SensorKind.HUMIDITY: HumidityReading,
    SensorKind.MOTION: AccelSamples,
    SensorKind.VIBRATION: VibrationReading,
    SensorKind.OCCUPANCY: OccupancyReading,
    SensorKind.MOVEMENT_ENERGY: MovementEnergyReading,
    SensorKind.CONTACT: ContactReading,
}


def _approx(want: Any) -> Any:
    if isinstance(want, list):
        return [_approx(item) for item in want]
    if isinstance(want, float):
        return pytest.approx(want, abs=1e-6)
    return want


def test_every_vendor_has_fixtures() -> None:
    vendors = {path.parent.name for path in FILES}
    assert vendors == {"esphome", "shelly", "tasmota", "zigbee2mqtt"}


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_captured_payload_parses_as_expected(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    raw = case["spec"]
    spec = SensorSpec(
        room="bedroom",
        sensor_id=path.stem,
        kind=SensorKind(raw["kind"]),
        topic=case["topic"],
        payload_format=PayloadFormat(raw["payload_format"]),
        field=raw["field"],
        unit=raw["unit"],
        rate_hz=raw["rate_hz"],
        max_distance_m=raw.get("max_distance_m"),
    )
    t = case.get("arrival_t", ARRIVAL_T)

    result = parse_payload(spec, case["payload"].encode("utf-8"), t)

    expected = case["expected"]
    if isinstance(expected, dict):
        assert isinstance(result, Rejection), result
        assert (result.reason.value, result.topic) == (expected["rejected"], case["topic"])
        return
    assert isinstance(result, list), result
    assert len(result) == len(expected)
    for reading, want in zip(result, expected, strict=True):
        assert type(reading) is READING_TYPES[spec.kind]
        assert (reading.room, reading.sensor_id) == ("bedroom", path.stem)
        got = {key: getattr(reading, key) for key in want}
        got = {k: list(v) if isinstance(v, tuple) else v for k, v in got.items()}
        assert got == {key: _approx(value) for key, value in want.items()}
        if "t" not in want:
            assert reading.t == t
