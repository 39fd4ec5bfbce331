"""What the core decides: movement events, notices about what it can and cannot see, actions.

Each value carries `why` (thresholds, inputs, rule id) and the time it refers to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

WhyValue = str | int | float | bool | None


class MovementKind(StrEnum):
    """Kinds of bed movement; see README "What each kind means"."""

    JERK = "jerk"
    CLONUS = "clonus"
    PLM = "plm"
    PLM_SERIES = "plm_series"
    TURNOVER = "turnover"
    OUT_OF_BED = "out_of_bed"
    MOVEMENT = "movement"  # ordinary movement: a vibration burst, or not spasm-shaped
    RESTLESS_START = "restless_start"
    RESTLESS_END = "restless_end"


SPASM_LIKE_KINDS = frozenset({MovementKind.JERK, MovementKind.CLONUS, MovementKind.PLM})


@dataclass(frozen=True, slots=True)
class MovementEvent:
    """A detected movement or episode; times are UTC epoch seconds."""

    room: str
    kind: MovementKind
    start: float
    end: float
    peak: float  # peak intensity as a multiple of the night's resting baseline
    confidence: float  # 0..1
    spasm_like: bool
    why: Mapping[str, WhyValue] = field(default_factory=dict)
    detected_at: float | None = None  # when it was emitted: its end plus the detection delay


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a person should know about what the detectors can see (e.g. rate too low)."""

    room: str
    sensor_id: str
    t: float
    code: str
    message: str


class ActionKind(StrEnum):
    """How an action reaches the world."""

    HA_SERVICE = "ha_service"  # a Home Assistant service call
    MQTT_PUBLISH = "mqtt_publish"
    NOTIFY = "notify"
    SET_TARGET = "set_target"


@dataclass(frozen=True, slots=True)
class Action:
    """What went out for an intent (the actions adapter's translation), recorded with why."""

    room: str
    t: float
    kind: ActionKind
    target: str  # the HA service or MQTT topic it went to ("comfort_band" for a band change)
    data: Mapping[str, WhyValue] = field(default_factory=dict)
    why: Mapping[str, WhyValue] = field(default_factory=dict)
