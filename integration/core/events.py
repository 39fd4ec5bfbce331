"""What the core decides: movement events, notices about what it can and cannot see, actions.

Each value carries `why` (thresholds, inputs, rule id) and the time it refers to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

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

# Each kind in the words a person reads: the dashboard, its charts, HA's logbook.
KIND_LABELS: dict[MovementKind, str] = {
    MovementKind.JERK: "jerk",
    MovementKind.CLONUS: "clonus",
    MovementKind.PLM: "periodic limb movement",
    MovementKind.PLM_SERIES: "periodic series",
    MovementKind.TURNOVER: "turnover",
    MovementKind.MOVEMENT: "other movement",
    MovementKind.OUT_OF_BED: "out of bed",
    MovementKind.RESTLESS_START: "restless: start",
    MovementKind.RESTLESS_END: "restless episode",
}


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


def describe(event: MovementEvent, zone: ZoneInfo) -> str:
    """One event in a line a person reads: "02:14:03 jerk, 0.8 s, peak 11.8 times resting"."""
    clock = datetime.fromtimestamp(event.start, zone).strftime("%H:%M:%S")
    text = f"{clock} {KIND_LABELS[event.kind]}, {event.end - event.start:.1f} s"
    if event.kind not in (MovementKind.RESTLESS_START, MovementKind.RESTLESS_END):
        text += f", peak {event.peak:.1f} times resting"
    return text + (", spasm-like" if event.spasm_like else "")


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
    STATISTICS = "statistics"  # one figure of a closed night, for HA's long-term statistics


@dataclass(frozen=True, slots=True)
class Action:
    """What went out for an intent (the actions adapter's translation), recorded with why."""

    room: str
    t: float
    kind: ActionKind
    target: str  # the HA service or MQTT topic it went to ("comfort_band" for a band change)
    data: Mapping[str, WhyValue] = field(default_factory=dict)
    why: Mapping[str, WhyValue] = field(default_factory=dict)
