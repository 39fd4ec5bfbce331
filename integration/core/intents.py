"""What the core wants done, in the user's terms: switch this actuator, notify this person.

The core decides; it never names a Home Assistant service, an entity or an MQTT payload. One
adapter (`integration.adapters.actions`) turns each intent into the `Action`s that go out,
from the room's actuator config. `CallService` and `PublishMqtt` carry a service or topic only
because a user's automation rule names one: that is the user's data, passed through.

Every intent carries its room, the time it refers to (`t`, UTC epoch seconds) and `why`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from integration.core.events import Action, WhyValue

__all__ = [
    "CallService",
    "ClimateMode",
    "Intent",
    "Notify",
    "PublishMqtt",
    "Role",
    "SetBand",
    "SetClimate",
    "SwitchActuator",
    "Translate",
]


class Role(StrEnum):
    """What an actuator does to the room."""

    HEATER = "heater"
    COOLER = "cooler"
    FAN = "fan"
    CLIMATE = "climate"


ClimateMode = Literal["heat", "cool", "off"]


@dataclass(frozen=True, slots=True)
class SwitchActuator:
    """Switch a heater, cooler or fan of the room on or off."""

    room: str
    t: float
    actuator_id: str
    role: Role
    on: bool
    why: Mapping[str, WhyValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SetClimate:
    """Give a climate actuator a mode, a target temperature (°C), or both; None keeps it."""

    room: str
    t: float
    actuator_id: str
    mode: ClimateMode | None
    target_c: float | None
    why: Mapping[str, WhyValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notify:
    """Tell a person something; `service` is a user's extra notification target, if any."""

    room: str
    t: float
    title: str
    message: str
    service: str | None = None
    why: Mapping[str, WhyValue] = field(default_factory=dict)
    # What it is about, so each thing keeps its own notification until dismissed (a night's
    # summary, an episode, a fault); a later notice about the same thing replaces the earlier.
    key: str = "notice"


@dataclass(frozen=True, slots=True)
class CallService:
    """A service call a user's automation rule asks for, as written in the rule."""

    room: str
    t: float
    service: str
    data: Mapping[str, WhyValue] = field(default_factory=dict)
    why: Mapping[str, WhyValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PublishMqtt:
    """An MQTT message a user's automation rule asks for, as written in the rule."""

    room: str
    t: float
    topic: str
    payload: str
    retain: bool = False
    why: Mapping[str, WhyValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SetBand:
    """An automation's comfort band for the rest of the night, in °C."""

    room: str
    t: float
    low_c: float
    high_c: float
    why: Mapping[str, WhyValue] = field(default_factory=dict)


Intent = SwitchActuator | SetClimate | Notify | CallService | PublishMqtt | SetBand

# The shell's translation of an intent into what goes out; the core takes it only to count,
# in the night summary, what went out (`NightAccumulator.add_action`).
Translate = Callable[[Intent], Sequence[Action]]
