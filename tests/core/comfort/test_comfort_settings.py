from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from integration.core.comfort import (
    ActuatorSpec,
    BandSetting,
    ComfortController,
    ComfortSettings,
    Role,
    band_at,
)
from integration.core.intents import SwitchActuator
from integration.core.readings import TemperatureReading

BAND = {"name": "night", "start": "22:00", "low": 18, "high": 20}

MESSAGE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("low_above_high", {"bands": [{**BAND, "low": 23, "high": 21}]}, "low 23 is above high 21"),
    ("low_equals_high", {"bands": [{**BAND, "low": 20}]}, "low and high are both 20; a band needs some width"),
    ("start_not_a_time", {"bands": [{**BAND, "start": "25:00"}]}, 'start \'25:00\' is not a time of day like "21:30" (quote it)'),
    ("start_unquoted_yaml_sexagesimal", {"bands": [{**BAND, "start": 1290}]}, 'start 1290 is not a time of day like "21:30" (quote it)'),
    ("night_end_not_a_time", {"night_end": "8am"}, 'night_end \'8am\' is not a time of day like "08:00" (quote it)'),
    ("no_bands", {"bands": []}, "bands: give at least one band"),
    ("two_bands_same_start", {"bands": [BAND, {**BAND, "name": "other"}]}, "two bands start at 22:00"),
    ("band_too_narrow", {"bands": [{**BAND, "high": 18.8}]}, "band 'night' is 0.8° wide; it must be wider than 2 x edge_margin + hysteresis = 0.9°"),
    ("celsius_band_in_fahrenheit_numbers", {"bands": [{**BAND, "low": 64, "high": 68}]}, "band 'night': 64 °C is outside 5-35 °C; is the unit right?"),
    ("fahrenheit_band_in_celsius_numbers", {"unit": "F", "bands": [BAND]}, "band 'night': 18 °F is outside 5-35 °C; is the unit right?"),
    ("staleness_not_positive", {"sensor_stale_s_by_id": {"bedside": 0}}, "sensor 'bedside': staleness 0 s must be above 0"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"), [c[1:] for c in MESSAGE_CASES], ids=[c[0] for c in MESSAGE_CASES]
)
def test_validators_explain_in_plain_words(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ComfortSettings.model_validate(data)
    assert [e["msg"].removeprefix("Value error, ") for e in caught.value.errors()] == [message]


BOUND_CASES = [
    ("unknown_key", {"hysteresys": 0.3}, "extra_forbidden"),
    ("unknown_unit", {"unit": "K"}, "literal_error"),
    ("unknown_blind_policy", {"blind_policy": "panic"}, "literal_error"),
    ("negative_hysteresis", {"hysteresis": -0.1}, "greater_than"),
    ("min_on_over_an_hour", {"min_on_s": 7200}, "less_than_equal"),
]


@pytest.mark.parametrize(
    ("data", "error_type"), [c[1:] for c in BOUND_CASES], ids=[c[0] for c in BOUND_CASES]
)
def test_out_of_range_and_unknown_keys_are_refused(data: dict[str, Any], error_type: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ComfortSettings.model_validate(data)
    assert [e["type"] for e in caught.value.errors()] == [error_type]


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        ComfortSettings().min_on_s = 10


FAHRENHEIT = ComfortSettings(
    unit="F",
    bands=(BandSetting(name="night", start="00:00", low=64.4, high=68.0),),
    edge_margin=0.45,  # 0.25 °C
    hysteresis=0.72,  # 0.4 °C
    schedule_lead_s=0,
)


def test_fahrenheit_band_is_converted_to_celsius() -> None:
    band = band_at(FAHRENHEIT, 0.0, ZoneInfo("UTC"))
    assert (round(band.low_c, 6), round(band.high_c, 6)) == (18.0, 20.0)


F_EDGE_CASES = [
    ("heat_on_at_18_25_c", 18.25, True),
    ("idle_at_18_26_c", 18.26, False),
]


@pytest.mark.parametrize(
    ("temp_c", "target"), [c[1:] for c in F_EDGE_CASES], ids=[c[0] for c in F_EDGE_CASES]
)
def test_fahrenheit_steps_are_converted_too(temp_c: float, target: bool) -> None:
    heater = ActuatorSpec("heater", Role.HEATER)
    ctl = ComfortController("bedroom", [heater], FAHRENHEIT, ZoneInfo("UTC"))
    intents = ctl.step([TemperatureReading("bedroom", "s1", 0.0, temp_c)], 0.0)
    assert [(a.actuator_id, a.on) for a in intents if isinstance(a, SwitchActuator)] == [
        ("heater", target)
    ]


def test_shipped_defaults_validate_and_match_the_code_defaults() -> None:
    path = Path(__file__).parents[3] / "rules" / "comfort.yaml"
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    assert ComfortSettings.model_validate(data["comfort"]) == ComfortSettings()
