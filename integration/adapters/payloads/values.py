"""Scalar values from devices: numbers, on/off flags, temperature units and plausibility."""

from __future__ import annotations

import math
from typing import Any

from integration.core.readings import RejectReason

# Strings a device or bridge sends when it has no value: ESPHome publishes "nan" for a sensor
# without a state (esphome.io/components/sensor, "NAN"), HA uses "unknown"/"unavailable".
_NO_VALUE = frozenset({"nan", "null", "unknown", "unavailable"})

# Raw values firmware sends for "no reading", unit-independent: -999/999 and -99.9 placeholders,
# int16/uint16 error codes (32767, -32768, 0xFFFF) and their /10 scaled forms.
_RAW_SENTINELS = frozenset({-999.0, 999.0, -99.9, 32767.0, -32768.0, 65535.0, 3276.7, -3276.8})

# DS18B20 error values in °C: -127 when the probe is disconnected (DallasTemperature
# DEVICE_DISCONNECTED_C) and 85 for the power-on reset value of the scratchpad (Maxim DS18B20
# datasheet, "the power-on reset value of the temperature register is +85°C").
_DS18B20_SENTINELS_C = frozenset({-127.0, 85.0})

# Plausible bedroom air: anything outside is a broken or misplaced probe, not weather.
TEMP_MIN_C = -30.0
TEMP_MAX_C = 60.0

_ON = frozenset({"on", "true", "1", "open", "occupied", "detected"})
_OFF = frozenset({"off", "false", "0", "closed", "clear", "unoccupied"})


def number(value: Any) -> float | RejectReason:
    """A finite float from a JSON value or text; booleans are not numbers."""
    if type(value) is float:  # what JSON numbers mostly are: skip the checks below
        return value if math.isfinite(value) else RejectReason.NOT_FINITE
    if value is None:
        return RejectReason.UNAVAILABLE
    if isinstance(value, bool):
        return RejectReason.NOT_A_NUMBER
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _NO_VALUE:
            return RejectReason.UNAVAILABLE
        try:
            result = float(text)
        except ValueError:
            return RejectReason.NOT_A_NUMBER
    elif isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError:  # a JSON integer with hundreds of digits
            return RejectReason.OUT_OF_RANGE
    else:
        return RejectReason.NOT_A_NUMBER
    return result if math.isfinite(result) else RejectReason.NOT_FINITE


def flag(value: Any) -> bool | RejectReason:
    """An on/off state: JSON bool, 1/0, or ON/OFF, true/false, open/closed text (HA style)."""
    if value is None:
        return RejectReason.UNAVAILABLE
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return value == 1
        return RejectReason.NOT_A_NUMBER
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _ON:
            return True
        if text in _OFF:
            return False
        if text in _NO_VALUE:
            return RejectReason.UNAVAILABLE
    return RejectReason.NOT_A_NUMBER


def _temperature_unit(unit: str | None) -> str | None:
    """Normal unit "C"/"F" of a unit string ("°F", "c"); "C" when absent, None when unknown."""
    if unit is None:
        return "C"
    normal = unit.strip().removeprefix("°").upper()
    return normal if normal in ("C", "F") else None


def temperature_c(value: Any, unit: str | None) -> float | RejectReason:
    """A plausible air temperature in °C from a raw value in `unit` ("C"/"F"/None)."""
    raw = number(value)
    if isinstance(raw, RejectReason):
        return raw
    normal = _temperature_unit(unit)
    if normal is None:
        return RejectReason.UNKNOWN_UNIT
    temp_c = (raw - 32.0) * 5.0 / 9.0 if normal == "F" else raw
    if raw in _RAW_SENTINELS or round(temp_c, 1) in _DS18B20_SENTINELS_C:
        return RejectReason.SENTINEL
    if not TEMP_MIN_C <= temp_c <= TEMP_MAX_C:
        return RejectReason.OUT_OF_RANGE
    return temp_c


def humidity_pct(value: Any) -> float | RejectReason:
    """A relative humidity in 0..100 %."""
    raw = number(value)
    if isinstance(raw, RejectReason):
        return raw
    if raw in _RAW_SENTINELS:
        return RejectReason.SENTINEL
    if not 0.0 <= raw <= 100.0:
        return RejectReason.OUT_OF_RANGE
    return raw


# Aqara FP1E `movement` states (zigbee-herdsman-converters lumi.ts `fp1eMovement`): it says
# whether it sees movement, not how much, so the two ends of the energy scale stand for it.
_MOVEMENT_STATES = {"movement": 100.0, "no_movement": 0.0, "no_presence": 0.0}
# A radar 10 m away is in another room: farther is a garbled report, not a target.
MAX_TARGET_DISTANCE_M = 10.0


def energy_pct(value: Any) -> float | RejectReason:
    """A moving-target energy in 0..100 (LD2410), or an FP1E movement state as 100 or 0."""
    if isinstance(value, str) and value.strip().lower() in _MOVEMENT_STATES:
        return _MOVEMENT_STATES[value.strip().lower()]
    if isinstance(value, str) and value.strip().lower().startswith("unknown"):
        return RejectReason.UNAVAILABLE  # FP1E `unknown_0`, `unknown_1`
    raw = number(value)
    if isinstance(raw, RejectReason):
        return raw
    if not 0.0 <= raw <= 100.0:
        return RejectReason.OUT_OF_RANGE
    return raw


def distance_m(value: float, unit: str) -> float | RejectReason:
    """A target distance in metres from `value` in "cm" or "m"; 0 means no target."""
    normal = unit.strip().lower()
    if normal not in ("cm", "m"):
        return RejectReason.UNKNOWN_UNIT
    metres = value / 100.0 if normal == "cm" else value
    if not 0.0 <= metres <= MAX_TARGET_DISTANCE_M:
        return RejectReason.OUT_OF_RANGE
    return metres
