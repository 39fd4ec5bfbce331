"""Small automations: when something happens in a room, if conditions hold, then act.

Theory of operation
-------------------
Sans-I/O: the shell turns what the core saw into `Signal`s (a spasm-like movement, a restless
episode starting, the room leaving its comfort band, ...) and calls
`AutomationEngine.handle(signal, context)` with the room's state at that moment; the engine
returns intents (`CallService`, `PublishMqtt`, `Notify`, `SetBand`) for the shell to carry out. Time is the signal's `t` (UTC epoch seconds); local
wall-clock time comes from `datetime.fromtimestamp(t, zone)`, so replay and live agree.

For each signal, in this order:
1. the engine remembers it: `spasm` signals go into a bounded per-room history (for `count`
   conditions); `temperature_above_band` / `temperature_below_band` start a held condition,
   `temperature_in_band` (or the opposite side) ends it (for `for_s`);
2. each automation, in file order, fires when one of its `when` triggers matches, it is out of
   its per-room cooldown, and every `if` condition holds;
3. a firing starts the cooldown and turns `then` into intents, in order; inside quiet hours
   `notify` actions are dropped and the others still run.

Invariants:
- The language has no loops, delays, variables or code: templates name a fixed set of values
  and are checked when the rules load; rendering is plain substitution, never `str.format`.
- Every intent carries `why`: the rule id, the trigger, the room and the values used.
- Memory is bounded: `_SPASMS_KEPT_PER_ROOM` events per room, one held-since time per room
  and side, one last-fired time per automation and room.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    field_validator,
    model_validator,
)

from integration.core.events import SPASM_LIKE_KINDS, MovementKind, WhyValue
from integration.core.intents import CallService, Notify, PublishMqtt, SetBand
from integration.core.localtime import parse_hhmm

__all__ = [
    "TEMPLATE_NAMES",
    "TRIGGER_KINDS",
    "Automation",
    "AutomationEngine",
    "AutomationIntent",
    "Automations",
    "RoomContext",
    "Signal",
    "SignalKind",
    "render",
]

_LOGGER = logging.getLogger(__name__)

# A night of periodic limb movements at the fastest scored rate (one per 5 s, AASM scoring
# manual) is 720 an hour; 1024 covers any `count` window a person would write.
_SPASMS_KEPT_PER_ROOM = 1024
# Without a cooldown one cause fires on every signal; five minutes gives one action per episode.
_DEFAULT_COOLDOWN_S = 300.0
# Same shape as room ids in the service config (they become MQTT topic parts and HA ids).
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_]{0,47}$")
# HA services are `domain.service`, both slugs (HA docs, "Performing actions").
_SERVICE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$")
# The band a comfort action may set; outside it is almost surely a unit mix-up (65 meant °F).
_PLAUSIBLE_C = (5.0, 35.0)


class SignalKind(StrEnum):
    """What happened in a room; every member but TEMPERATURE_IN_BAND is a user trigger."""

    TEMPERATURE_ABOVE_BAND = "temperature_above_band"
    TEMPERATURE_BELOW_BAND = "temperature_below_band"
    TEMPERATURE_IN_BAND = "temperature_in_band"  # ends a held above/below; not a trigger
    SPASM = "spasm"  # one spasm-like movement; `movement_kind` says which
    RESTLESS_START = "restless_start"
    RESTLESS_END = "restless_end"
    OUT_OF_BED = "out_of_bed"  # someone got up
    NIGHT_START = "night_start"
    NIGHT_END = "night_end"
    SENSOR_STALE = "sensor_stale"
    RULES_RELOADED = "rules_reloaded"


TRIGGER_KINDS: tuple[SignalKind, ...] = tuple(
    kind for kind in SignalKind if kind is not SignalKind.TEMPERATURE_IN_BAND
)
_HELD_KINDS = (SignalKind.TEMPERATURE_ABOVE_BAND, SignalKind.TEMPERATURE_BELOW_BAND)
_SPASM_KIND_NAMES = ", ".join(sorted(SPASM_LIKE_KINDS))


# --- templates ----------------------------------------------------------------------------

TEMPLATE_NAMES: tuple[str, ...] = (
    "room",
    "room_name",
    "temperature_c",
    "band_low_c",
    "band_high_c",
    "count",
    "kind",
    "time",
)
_NUMERIC_NAMES = frozenset({"temperature_c", "band_low_c", "band_high_c", "count"})
# `{{` and `}}` are literal braces (as in str.format); `{...}` is a placeholder; a lone brace is
# an error. Only the placeholder's text is looked at, never evaluated.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_PRECISION = re.compile(r"^\.([0-9])f$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class _Placeholder:
    name: str
    precision: int | None  # digits after the point, for numbers only


def parse_template(text: str) -> tuple[str | _Placeholder, ...]:
    """Split a template into literal text and placeholders; ValueError in plain words."""
    parts: list[str | _Placeholder] = []
    position = 0
    for match in _TOKEN.finditer(text):
        parts.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif match.group(1) is None:
            raise ValueError(f"lone {token!r} in {text!r}: write {{{{ or }}}} for a literal brace")
        else:
            parts.append(_placeholder(match.group(1)))
    parts.append(text[position:])
    return tuple(part for part in parts if part != "")


def _placeholder(inner: str) -> _Placeholder:
    name, colon, spec = inner.partition(":")
    known = ", ".join(TEMPLATE_NAMES)
    if not name:
        raise ValueError(f"empty template value {{{inner}}}: name one of {known}")
    if "!" in name:
        raise ValueError(f"{{{inner}}}: conversions (!r, !s) are not allowed; write {{name}}")
    if any(char in name for char in ".[]"):
        raise ValueError(
            f"{{{inner}}}: attribute access and indexing are not allowed; use one of {known}"
        )
    if not _IDENTIFIER.match(name):
        raise ValueError(
            f"{{{inner}}} is not a template value; write {{{{ and }}}} for literal braces"
        )
    if name not in TEMPLATE_NAMES:
        raise ValueError(f"unknown template value {{{name}}}: use one of {known}")
    if not colon:
        return _Placeholder(name, None)
    precision = _PRECISION.match(spec)
    if precision is None:
        raise ValueError(
            f"{{{inner}}}: the only format allowed is a number precision like {{temperature_c:.1f}}"
        )
    if name not in _NUMERIC_NAMES:
        numbers = ", ".join(sorted(_NUMERIC_NAMES))
        raise ValueError(f"{{{inner}}}: a precision only applies to numbers ({numbers})")
    return _Placeholder(name, int(precision.group(1)))


def render(text: str, values: Mapping[str, WhyValue]) -> str:
    """A checked template with its values filled in; a value not known shows as "unknown"."""
    return "".join(
        part if isinstance(part, str) else _shown(values.get(part.name), part.precision)
        for part in parse_template(text)
    )


def _render_value(value: WhyValue, values: Mapping[str, WhyValue]) -> WhyValue:
    """A data value: a string that is exactly one `{name}` keeps the value's type (18.5 stays a number)."""
    if not isinstance(value, str):
        return value
    parts = parse_template(value)
    if len(parts) == 1 and isinstance(parts[0], _Placeholder) and parts[0].precision is None:
        return values.get(parts[0].name)
    return render(value, values)


def _shown(value: WhyValue, precision: int | None) -> str:
    if value is None:
        return "unknown"
    if precision is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{precision}f}"
    return str(value)


def _names_in(text: str) -> set[str]:
    return {part.name for part in parse_template(text) if isinstance(part, _Placeholder)}


def _template(value: object) -> object:
    if isinstance(value, str):
        parse_template(value)
    return value


Template = Annotated[str, BeforeValidator(_template)]


# --- shared field types -------------------------------------------------------------------


def _time_of_day(value: object) -> time:
    parsed = parse_hhmm(value)
    if parsed is None:
        raise ValueError(f'{value!r} is not a time of day like "22:00" (HH:MM, quote it)')
    return parsed


def _room_id(value: object) -> object:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise ValueError(f"{value!r} is not a room id (lowercase letters, digits and _)")
    return value


def _spasm_kinds(value: object) -> object:
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError(f"kinds must name at least one of {_SPASM_KIND_NAMES}")
        for item in value:
            if item not in SPASM_LIKE_KINDS:
                raise ValueError(
                    f"{item!r} is not a spasm-like movement kind: use {_SPASM_KIND_NAMES}"
                )
    return value


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
RoomId = Annotated[str, BeforeValidator(_room_id)]
SpasmKinds = Annotated[tuple[MovementKind, ...], BeforeValidator(_spasm_kinds)]


def in_window(clock: time, after: time | None, before: time | None) -> bool:
    """Whether a wall-clock time is in [after, before); after > before crosses midnight.

    A missing edge is midnight. HA's time condition works the same way
    (https://www.home-assistant.io/docs/scripts/conditions/#time-condition).
    """
    start = after or time(0)
    if before is None:
        return clock >= start
    if start < before:
        return start <= clock < before
    return clock >= start or clock < before


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimeWindow(_Rule):
    """A local time-of-day window; it may cross midnight."""

    after: TimeOfDay = Field(description='local "HH:MM" the window opens (inclusive)')
    before: TimeOfDay = Field(description='local "HH:MM" the window closes (exclusive)')

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.after == self.before:
            raise ValueError("after and before are the same time; the window would be empty")
        return self


# --- when ---------------------------------------------------------------------------------


class Trigger(_Rule):
    """One thing that starts the automation; any trigger of `when` fires it."""

    trigger: SignalKind = Field(description="what happened: " + ", ".join(TRIGGER_KINDS))
    room: RoomId | None = Field(
        default=None, description="only signals from this room id; default any room"
    )
    for_s: float = Field(
        default=0.0,
        description="temperature_above_band/below_band only: the room must stay out of band "
        "this long (seconds) before the trigger fires",
    )
    kinds: SpasmKinds | None = Field(
        default=None, description="spasm only: which movement kinds count; default all"
    )

    @field_validator("trigger", mode="before")
    @classmethod
    def _known_trigger(cls, value: object) -> object:
        if value not in TRIGGER_KINDS:
            known = ", ".join(TRIGGER_KINDS)
            raise ValueError(f"unknown trigger {value!r}: use one of {known}")
        return value

    @model_validator(mode="after")
    def _options_fit_trigger(self) -> Self:
        if self.for_s < 0:
            raise ValueError(f"for_s must not be negative (got {self.for_s:g})")
        if self.for_s and self.trigger not in _HELD_KINDS:
            raise ValueError(
                "for_s only applies to temperature_above_band and temperature_below_band"
            )
        if self.kinds is not None and self.trigger is not SignalKind.SPASM:
            raise ValueError("kinds only applies to the spasm trigger")
        return self


def _one_or_many(value: object) -> object:
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list | tuple) and not value:
        raise ValueError("when needs at least one trigger")
    return value


# --- if -----------------------------------------------------------------------------------


class TimeCondition(_Rule):
    """Holds inside a local time window; a missing edge is midnight."""

    condition: Literal["time"]
    after: TimeOfDay | None = Field(default=None, description='local "HH:MM", inclusive')
    before: TimeOfDay | None = Field(default=None, description='local "HH:MM", exclusive')

    @model_validator(mode="after")
    def _some_window(self) -> Self:
        if self.after is None and self.before is None:
            raise ValueError("a time condition needs after, before or both")
        if self.after == self.before:
            raise ValueError("after and before are the same time; the window would be empty")
        return self


class InBedCondition(_Rule):
    """Holds when the bed is (state: true) or is not (false) occupied; never when unknown."""

    condition: Literal["in_bed"]
    state: bool = Field(description="true: someone is in bed; false: the bed is empty")


class CountCondition(_Rule):
    """Holds when at least `min` spasm-like movements happened in the room within `window_s`."""

    condition: Literal["count"]
    min: int = Field(ge=1, le=_SPASMS_KEPT_PER_ROOM, description="at least this many events")
    window_s: float = Field(
        gt=0, description="within this many seconds up to the signal (the signal's own included)"
    )
    kinds: SpasmKinds | None = Field(
        default=None, description="count only these movement kinds; default all spasm-like"
    )


class RoomCondition(_Rule):
    """Holds when the signal comes from one of these rooms."""

    condition: Literal["room"]
    rooms: tuple[RoomId, ...] = Field(min_length=1, description="room ids from the service config")


def _tag(key: str) -> Callable[[Any], Hashable]:
    """The union member to validate against: the `key` of a mapping (or a built model)."""

    def tag_of(value: Any) -> Hashable:
        found = value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)
        return found if isinstance(found, str) else None

    return tag_of


Condition = Annotated[
    Annotated[TimeCondition, Tag("time")]
    | Annotated[InBedCondition, Tag("in_bed")]
    | Annotated[CountCondition, Tag("count")]
    | Annotated[RoomCondition, Tag("room")],
    Discriminator(
        _tag("condition"),
        custom_error_type="unknown_condition",
        custom_error_message="unknown or missing condition: use one of time, in_bed, count, room",
    ),
]


# --- then ---------------------------------------------------------------------------------


def _scalar_data(value: object) -> object:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Mapping | list | tuple):
                raise ValueError(  # noqa: TRY004 - pydantic reports ValueError, not TypeError
                    f"data.{key} must be a single value (text, number, true/false), "
                    "not a list or mapping"
                )
            _template(item)
    return value


class HaServiceAction(_Rule):
    """Call a Home Assistant service (an "action" in HA's UI), e.g. fan.turn_on."""

    action: Literal["ha_service"]
    service: str = Field(description='"domain.service", e.g. fan.turn_on, light.turn_on')
    data: Annotated[dict[str, WhyValue], BeforeValidator(_scalar_data)] = Field(
        default_factory=dict,
        description="service data; every value is one scalar (nested data is not supported); "
        "strings may use templates",
    )

    @field_validator("service")
    @classmethod
    def _service_name(cls, value: str) -> str:
        if not _SERVICE.match(value):
            raise ValueError(f'{value!r} is not an HA service like "fan.turn_on"')
        return value


class MqttPublishAction(_Rule):
    """Publish one MQTT message."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    action: Literal["mqtt_publish"]
    topic: str = Field(min_length=1, description="topic name, no + or # wildcards")
    payload: Template = Field(description="message text; may use templates")
    retain: bool = Field(default=False, description="ask the broker to keep the last message")

    @field_validator("topic")
    @classmethod
    def _no_wildcards(cls, value: str) -> str:
        # MQTT 3.1.1 section 4.7.1: wildcards are for subscriptions, never in a published topic.
        if "+" in value or "#" in value:
            raise ValueError(f"topic {value!r}: + and # are wildcards, not allowed when publishing")
        return value


class NotifyAction(_Rule):
    """A notification for a person in HA, also sent through a notify service if given."""

    action: Literal["notify"]
    title: Template = Field(default="{room_name}", description="notification title; templates")
    message: Template = Field(description="notification text; templates")
    service: str | None = Field(
        default=None,
        description="also send through this notify service, e.g. notify.mobile_app_phone",
    )

    @field_validator("service")
    @classmethod
    def _notify_service(cls, value: str | None) -> str | None:
        if value is not None and not (_SERVICE.match(value) and value.startswith("notify.")):
            raise ValueError(f"{value!r} is not a notify service like notify.mobile_app_phone")
        return value


class SetComfortBandAction(_Rule):
    """Change the comfort band for the rest of the night (until comfort's `night_end`)."""

    action: Literal["set_comfort_band"]
    low_c: float = Field(description="lowest comfortable temperature, °C")
    high_c: float = Field(description="highest comfortable temperature, °C")

    @model_validator(mode="after")
    def _plausible_band(self) -> Self:
        low, high = _PLAUSIBLE_C
        for value in (self.low_c, self.high_c):
            if not low <= value <= high:
                raise ValueError(f"{value:g} °C is outside {low:g}-{high:g} °C; is the unit right?")
        if self.low_c >= self.high_c:
            raise ValueError(f"low_c {self.low_c:g} must be below high_c {self.high_c:g}")
        return self


ActionSpec = Annotated[
    Annotated[HaServiceAction, Tag("ha_service")]
    | Annotated[MqttPublishAction, Tag("mqtt_publish")]
    | Annotated[NotifyAction, Tag("notify")]
    | Annotated[SetComfortBandAction, Tag("set_comfort_band")],
    Discriminator(
        _tag("action"),
        custom_error_type="unknown_action",
        custom_error_message="unknown or missing action: use one of ha_service, mqtt_publish, "
        "notify, set_comfort_band",
    ),
]


def _templates_of(
    step: HaServiceAction | MqttPublishAction | NotifyAction | SetComfortBandAction,
) -> list[str]:
    match step:
        case HaServiceAction():
            return [value for value in step.data.values() if isinstance(value, str)]
        case MqttPublishAction():
            return [step.payload]
        case NotifyAction():
            return [step.title, step.message]
        case SetComfortBandAction():
            return []


def _some_actions(value: object) -> object:
    if isinstance(value, list | tuple) and not value:
        raise ValueError("then needs at least one action")
    return value


# --- automation ---------------------------------------------------------------------------


class Automation(_Rule):
    """One automation: when a trigger fires, if every condition holds, then run the actions."""

    id: str = Field(description="unique slug, shown in logs and in every action's `why`")
    description: str = Field(default="", description="what it is for, in your words")
    when: Annotated[tuple[Trigger, ...], BeforeValidator(_one_or_many)] = Field(
        description="one trigger or a list; any of them fires the automation"
    )
    if_: tuple[Condition, ...] = Field(
        default=(), alias="if", description="conditions that must all hold (optional)"
    )
    then: Annotated[tuple[ActionSpec, ...], BeforeValidator(_some_actions)] = Field(
        description="one or more actions, run in order"
    )
    cooldown_s: float = Field(
        default=_DEFAULT_COOLDOWN_S,
        description="after firing, do not fire again in the same room for this many seconds",
    )
    quiet_hours: TimeWindow | None = Field(
        default=None,
        description="local window in which notify actions are dropped (other actions still run)",
    )

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(
                f"id {value!r} must be a slug: lowercase letters, digits and _ "
                "(like fan_on_when_restless)"
            )
        return value

    @field_validator("cooldown_s")
    @classmethod
    def _positive_cooldown(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"cooldown must be positive (got {value:g})")
        return value

    @model_validator(mode="after")
    def _count_is_known(self) -> Self:
        if any(isinstance(condition, CountCondition) for condition in self.if_):
            return self
        for step in self.then:
            if any("count" in _names_in(text) for text in _templates_of(step)):
                raise ValueError("{count} needs a count condition in `if`")
        return self


class Automations(RootModel[tuple[Automation, ...]]):
    """The `automations:` section of the rule files: a list with unique ids."""

    model_config = ConfigDict(frozen=True)

    root: tuple[Automation, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for automation in self.root:
            if automation.id in seen:
                raise ValueError(
                    f"duplicate id {automation.id!r}: each automation needs its own id"
                )
            seen.add(automation.id)
        return self


# --- engine -------------------------------------------------------------------------------

AutomationIntent = CallService | PublishMqtt | Notify | SetBand


@dataclass(frozen=True, slots=True)
class Signal:
    """What happened, in one room, at time `t` (UTC epoch seconds)."""

    room: str
    t: float
    kind: SignalKind
    movement_kind: MovementKind | None = None  # spasm signals: which kind of movement


@dataclass(frozen=True, slots=True)
class RoomContext:
    """The room's state when a signal is evaluated; None where it is not known."""

    room: str
    room_name: str
    in_bed: bool | None
    temperature_c: float | None
    band_low_c: float | None
    band_high_c: float | None


class AutomationEngine:
    """Runs automations over signals; remembers spasms, held temperatures and cooldowns."""

    def __init__(self, automations: Sequence[Automation], zone: ZoneInfo) -> None:
        self._automations = tuple(automations)
        self._zone = zone
        self._spasms: dict[str, deque[tuple[float, MovementKind | None]]] = {}
        self._held_since: dict[tuple[str, SignalKind], float] = {}
        self._fired_at: dict[tuple[str, str], float] = {}

    def reload(self, automations: Sequence[Automation]) -> None:
        """New rules; history and the cooldowns of ids still present carry over."""
        self._automations = tuple(automations)
        ids = {automation.id for automation in self._automations}
        self._fired_at = {key: t for key, t in self._fired_at.items() if key[0] in ids}

    def handle(self, signal: Signal, context: RoomContext) -> list[AutomationIntent]:
        """The intents every automation this signal fires asks for, in file order."""
        self._remember(signal)
        actions: list[AutomationIntent] = []
        for automation in self._automations:
            actions.extend(self._run(automation, signal, context))
        return actions

    def _remember(self, signal: Signal) -> None:
        room = signal.room
        if signal.kind is SignalKind.SPASM:
            history = self._spasms.setdefault(room, deque(maxlen=_SPASMS_KEPT_PER_ROOM))
            history.append((signal.t, signal.movement_kind))
        elif signal.kind in _HELD_KINDS:
            for kind in _HELD_KINDS:
                if kind is not signal.kind:
                    self._held_since.pop((room, kind), None)
            self._held_since.setdefault((room, signal.kind), signal.t)
        elif signal.kind is SignalKind.TEMPERATURE_IN_BAND:
            for kind in _HELD_KINDS:
                self._held_since.pop((room, kind), None)

    def _fires(self, trigger: Trigger, signal: Signal) -> bool:
        if trigger.trigger is not signal.kind:
            return False
        if trigger.room is not None and trigger.room != signal.room:
            return False
        if trigger.kinds is not None and signal.movement_kind not in trigger.kinds:
            return False
        if trigger.for_s > 0:
            since = self._held_since.get((signal.room, signal.kind))
            return since is not None and signal.t - since >= trigger.for_s
        return True

    def _count(self, condition: CountCondition, signal: Signal) -> int:
        history = self._spasms.get(signal.room, ())
        return sum(
            1
            for t, kind in history
            if 0 <= signal.t - t <= condition.window_s
            and (condition.kinds is None or kind in condition.kinds)
        )

    def _run(
        self, automation: Automation, signal: Signal, context: RoomContext
    ) -> list[AutomationIntent]:
        trigger = next((tr for tr in automation.when if self._fires(tr, signal)), None)
        if trigger is None:
            return []
        fired_at = self._fired_at.get((automation.id, signal.room))
        if fired_at is not None and signal.t - fired_at < automation.cooldown_s:
            return []
        local = datetime.fromtimestamp(signal.t, self._zone)
        count: int | None = None
        for condition in automation.if_:
            match condition:
                case TimeCondition():
                    holds = in_window(local.time(), condition.after, condition.before)
                case InBedCondition():
                    holds = context.in_bed is condition.state
                case RoomCondition():
                    holds = signal.room in condition.rooms
                case CountCondition():
                    count = self._count(condition, signal)
                    holds = count >= condition.min
            if not holds:
                return []
        self._fired_at[(automation.id, signal.room)] = signal.t
        kind = signal.movement_kind.value if signal.movement_kind is not None else None
        values: dict[str, WhyValue] = {
            "room": signal.room,
            "room_name": context.room_name,
            "temperature_c": context.temperature_c,
            "band_low_c": context.band_low_c,
            "band_high_c": context.band_high_c,
            "count": count,
            "kind": kind,
            "time": local.strftime("%H:%M"),
        }
        why: dict[str, WhyValue] = {
            "rule": automation.id,
            "trigger": signal.kind.value,
            "room": signal.room,
        }
        if trigger.for_s > 0:
            why["for_s"] = trigger.for_s
        why |= {
            name: values[name]
            for name in ("count", "temperature_c", "kind")
            if values[name] is not None
        }
        quiet = automation.quiet_hours is not None and in_window(
            local.time(), automation.quiet_hours.after, automation.quiet_hours.before
        )
        _LOGGER.debug("automation %s: fired in %s on %s", automation.id, signal.room, signal.kind)
        return self._actions(automation, signal, values, why, quiet=quiet)

    def _actions(
        self,
        automation: Automation,
        signal: Signal,
        values: Mapping[str, WhyValue],
        why: Mapping[str, WhyValue],
        *,
        quiet: bool,
    ) -> list[AutomationIntent]:
        room, t = signal.room, signal.t
        intents: list[AutomationIntent] = []
        for step in automation.then:
            match step:
                case HaServiceAction():
                    data = {key: _render_value(value, values) for key, value in step.data.items()}
                    intents.append(CallService(room, t, step.service, data, why))
                case MqttPublishAction():
                    payload = render(step.payload, values)
                    intents.append(PublishMqtt(room, t, step.topic, payload, step.retain, why))
                case NotifyAction() if quiet:
                    _LOGGER.debug(
                        "automation %s: notification dropped in quiet hours", automation.id
                    )
                case NotifyAction():
                    title, message = render(step.title, values), render(step.message, values)
                    key = f"{automation.id}_{t:.0f}"  # one per firing: an episode's stays
                    intents.append(Notify(room, t, title, message, step.service, why, key))
                case SetComfortBandAction():
                    intents.append(SetBand(room, t, step.low_c, step.high_c, why))
        return intents
