"""Typed readings: what a device message means once its vendor format is peeled off.

Every reading carries `t`, UTC epoch seconds stamped once at the edge (MQTT arrival or the
recording), so the core never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SensorKind(StrEnum):
    """What a configured sensor measures."""

    TEMPERATURE = "temperature"
    HUMIDITY = "humidity"
    MOTION = "motion"  # raw accelerometer, single samples or batches
    VIBRATION = "vibration"  # event-style vibration sensor (Aqara-like), no raw signal
    OCCUPANCY = "occupancy"
    # An mmWave radar's moving-target energy, 0-100 (HLK-LD2410 on ESPHome), or its movement
    # state (Aqara FP1E on Zigbee2MQTT): how much moves, never the shape of it.
    MOVEMENT_ENERGY = "movement_energy"
    CONTACT = "contact"  # a window or door contact: open or closed


class RejectReason(StrEnum):
    """Why a message produced no reading; counted per reason, never raised."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    MALFORMED_JSON = "malformed_json"
    MISSING_FIELD = "missing_field"
    NOT_A_NUMBER = "not_a_number"
    NOT_FINITE = "not_finite"
    SENTINEL = "sentinel_value"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_UNIT = "unknown_unit"
    BAD_BATCH = "bad_batch"
    RATE_OUT_OF_RANGE = "rate_out_of_range"
    UNAVAILABLE = "unavailable"  # the device says it has no value (e.g. ESPHome "nan")


@dataclass(frozen=True, slots=True)
class TemperatureReading:
    """Air temperature in °C."""

    room: str
    sensor_id: str
    t: float
    temp_c: float


@dataclass(frozen=True, slots=True)
class HumidityReading:
    """Relative humidity in %."""

    room: str
    sensor_id: str
    t: float
    humidity_pct: float


@dataclass(frozen=True, slots=True)
class AccelSamples:
    """Accelerometer samples in g: one sample (rate_hz None) or a batch at a fixed rate.

    Sample i was taken at `t + i / rate_hz`.
    """

    room: str
    sensor_id: str
    t: float
    rate_hz: float | None
    x_g: tuple[float, ...]
    y_g: tuple[float, ...]
    z_g: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class VibrationReading:
    """An event-style vibration report; fields a device does not send are None."""

    room: str
    sensor_id: str
    t: float
    action: str | None  # "vibration", "tilt", "drop", or None when only a flag/strength came
    strength: float | None
    angle_x_deg: float | None = None
    angle_y_deg: float | None = None
    angle_z_deg: float | None = None


@dataclass(frozen=True, slots=True)
class OccupancyReading:
    """Whether someone is in the bed (or the room, for a presence sensor)."""

    room: str
    sensor_id: str
    t: float
    occupied: bool


@dataclass(frozen=True, slots=True)
class MovementEnergyReading:
    """An mmWave sensor's moving-target energy in 0..100, held until the next report."""

    room: str
    sensor_id: str
    t: float
    energy_pct: float


@dataclass(frozen=True, slots=True)
class ContactReading:
    """A window or door contact: open (True) or closed, held until the next report."""

    room: str
    sensor_id: str
    t: float
    open: bool


Reading = (
    TemperatureReading
    | HumidityReading
    | AccelSamples
    | VibrationReading
    | OccupancyReading
    | MovementEnergyReading
    | ContactReading
)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message that gave no reading, with enough to find it in the log."""

    reason: RejectReason
    topic: str
    excerpt: str  # first bytes of the payload, for DEBUG logs only


# Live and in replay a Tick comes this often: time-driven decisions are this coarse.
TICK_S = 1.0


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passing with no message: drives staleness, schedules and the morning summary."""

    now: float
