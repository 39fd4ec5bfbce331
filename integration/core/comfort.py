"""The comfort controller: holds one bedroom inside a scheduled temperature band all night.

Theory of operation
-------------------
Sans-I/O, like h11: the shell calls `ComfortController.step(inputs, now)` with whatever arrived
since the last call (temperature readings, band overrides, the pause switch; an empty list is a
tick) and has the returned intents carried out. The controller never reads a clock or does I/O; `now` is
UTC epoch seconds and local schedule times come from `datetime.fromtimestamp(now, tz)`.

Each step:
1. keeps the latest reading per sensor; the room temperature is the median of the FRESH ones
   (younger than that sensor's staleness limit), so one stuck or dead sensor cannot steer;
2. looks up the band in force: the schedule by local wall-clock time, or a runtime override
   that lasts until `night_end`;
3. fires at most one trigger per pass through `TRANSITIONS` (below), a few passes per step;
4. derives what every actuator should be doing in the new state and emits only the differences
   from what it last commanded (so a repeated tick commands nothing).

Thresholds use the whole band rather than one target (HA's generic_thermostat has one target and
a tolerance each side): heating starts within `edge_margin` of `low` and stops `edge_margin` +
`hysteresis` below `high`; cooling mirrors it, so the two never meet. The wide dead band is why
it switches less. Within `schedule_lead_s` before the band changes, every edge moves toward the
next band's, still inside the current band, so the room is already on its way when the band
steps; this is why it is in band more. A trend predictor was tried and left out: on the
simulated nights (`python -m bench.comfort`) it added switches and no comfort.

Invariants:
- An actuator is switched on only after it has been off for `min_off_s` and off only after it
  has been on for `min_on_s`, except when going blind, pausing or entering SAFE.
- With every sensor stale the controller is BLIND: `hold` keeps what runs, `safe_off` turns all
  off; either way heating (heater switch or climate in heat mode) stops after
  `max_heater_blind_s` blind, because a heater must never run unobserved.
- A clock set back (more than `LATE_INPUT_S`) shifts every time held with it (runs, rests and
  readings keep their ages), so the controller neither stalls until the clock catches up nor
  goes SAFE over it; input a little older than the last step is late, and time stands still.
- SAFE is sticky (like h11's ERROR): an internal inconsistency turns everything off once,
  raises a notification, and from then on the controller commands nothing at all.
- PAUSED turns off what it runs and then commands nothing until resumed.

Actuators are known here by id and role only (`ActuatorSpec(id, role)`): a heater, cooler or
fan is switched on and off (`SwitchActuator`), a climate actuator gets a mode and the band's
middle as its target (`SetClimate`). How each is reached (an HA entity, an MQTT command topic)
is the service config's and the actions adapter's business.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from integration.core.events import WhyValue
from integration.core.intents import ClimateMode, Notify, Role, SetClimate, SwitchActuator
from integration.core.localtime import parse_hhmm
from integration.core.readings import TemperatureReading, Tick

_LOGGER = logging.getLogger(__name__)


# Input up to this much older than the last step is late, not a clock set back: ticks trail
# arrivals (by seconds, more on a sped-up clock), so the step just takes the last time.
LATE_INPUT_S = 60.0


class State(StrEnum):
    """What the controller is doing for its room."""

    IDLE = "idle"  # in band (or nothing can help): every actuator off
    HEATING = "heating"
    COOLING = "cooling"
    BLIND = "blind"  # no fresh sensor: hold or safe_off, heating capped in time
    PAUSED = "paused"  # a person switched control off: all off, then hands off
    SAFE = "safe"  # sticky after an internal inconsistency: all off, then nothing


class Trigger(StrEnum):
    """What moves the controller from one state to another."""

    TOO_COLD = "too_cold"
    TOO_HOT = "too_hot"
    WARM_ENOUGH = "warm_enough"
    COOL_ENOUGH = "cool_enough"
    SENSORS_LOST = "sensors_lost"
    SENSORS_BACK = "sensors_back"
    PAUSE = "pause"
    RESUME = "resume"
    FAULT = "fault"


_ACTIVE = (State.IDLE, State.HEATING, State.COOLING)

# The only legal transitions; anything else is an internal inconsistency (→ SAFE).
TRANSITIONS: Mapping[tuple[State, Trigger], State] = {
    (State.IDLE, Trigger.TOO_COLD): State.HEATING,
    (State.IDLE, Trigger.TOO_HOT): State.COOLING,
    (State.HEATING, Trigger.WARM_ENOUGH): State.IDLE,
    (State.COOLING, Trigger.COOL_ENOUGH): State.IDLE,
    **{(s, Trigger.SENSORS_LOST): State.BLIND for s in _ACTIVE},
    (State.BLIND, Trigger.SENSORS_BACK): State.IDLE,
    **{(s, Trigger.PAUSE): State.PAUSED for s in (*_ACTIVE, State.BLIND)},
    (State.PAUSED, Trigger.RESUME): State.IDLE,
    **{(s, Trigger.FAULT): State.SAFE for s in State},
}

_MAX_PASSES = 4  # BLIND → IDLE → HEATING needs two; more means a loop (→ SAFE)


# --- settings -----------------------------------------------------------------------------

# A bedroom band outside this range is almost surely a unit mix-up (65 with unit C).
_PLAUSIBLE_C = (5.0, 35.0)


def _f_to_c(value_f: float) -> float:
    return (value_f - 32.0) * 5.0 / 9.0


def _parse_hhmm(text: str) -> time:
    """A validated setting's time of day."""
    parsed = parse_hhmm(text)
    if parsed is None:  # settings are validated on load
        raise ValueError(text)
    return parsed


class BandSetting(BaseModel):
    """One band of the nightly schedule, in force from `start` until the next band starts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=40, description="shown in HA and in `why`")
    start: str = Field(description='local wall-clock time "HH:MM" the band starts (quote it)')
    low: float = Field(description="lowest comfortable temperature, in the settings' unit")
    high: float = Field(description="highest comfortable temperature, in the settings' unit")

    @field_validator("start", mode="before")
    @classmethod
    def _time_of_day(cls, value: object) -> str:
        if not isinstance(value, str) or parse_hhmm(value) is None:
            raise ValueError(f'start {value!r} is not a time of day like "21:30" (quote it)')
        return value

    @model_validator(mode="after")
    def _low_below_high(self) -> Self:
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} is above high {self.high:g}")
        if self.low == self.high:
            raise ValueError(f"low and high are both {self.low:g}; a band needs some width")
        return self


class ComfortSettings(BaseModel):
    """Every tunable of the comfort controller (the `comfort:` section of the rule files)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: Literal["C", "F"] = Field(
        default="C", description="unit of every temperature and temperature step in this section"
    )
    bands: tuple[BandSetting, ...] = Field(
        default=(
            BandSetting(name="pre_cool", start="21:30", low=18.0, high=20.0),
            BandSetting(name="deep_sleep", start="23:30", low=16.5, high=18.5),
            BandSetting(name="pre_wake", start="05:30", low=18.0, high=20.0),
            BandSetting(name="day", start="08:00", low=17.0, high=24.0),
        ),
        description="daily schedule; each band runs until the next starts, the last wraps",
    )
    night_end: str = Field(
        default="08:00", description='local "HH:MM" when a runtime band override expires'
    )
    hysteresis: float = Field(
        default=0.4, gt=0, description="gap between a heating stop and the cooling start (and back)"
    )
    edge_margin: float = Field(
        default=0.25, ge=0, description="act when the temperature is this close to an edge"
    )
    schedule_lead_s: float = Field(
        default=1800.0,
        ge=0,
        le=7200,
        description="this long before a warmer (cooler) band starts, heat (cool) toward it",
    )
    sensor_stale_s: float = Field(
        default=900.0, gt=0, description="a reading older than this no longer counts"
    )
    sensor_stale_s_by_id: dict[str, float] = Field(
        default_factory=dict, description="per-sensor staleness limits, by sensor id"
    )
    min_on_s: float = Field(default=300.0, ge=0, le=3600, description="shortest run of an actuator")
    min_off_s: float = Field(
        default=300.0, ge=0, le=3600, description="shortest rest of an actuator"
    )
    blind_policy: Literal["hold", "safe_off"] = Field(
        default="hold", description="with every sensor stale: keep what runs, or turn all off"
    )
    max_heater_blind_s: float = Field(
        default=1800.0, gt=0, le=7200, description="heating stops after this long without a sensor"
    )

    @field_validator("night_end", mode="before")
    @classmethod
    def _night_end_time(cls, value: object) -> str:
        if not isinstance(value, str) or parse_hhmm(value) is None:
            raise ValueError(f'night_end {value!r} is not a time of day like "08:00" (quote it)')
        return value

    @field_validator("sensor_stale_s_by_id")
    @classmethod
    def _positive_staleness(cls, limits: dict[str, float]) -> dict[str, float]:
        for sensor_id, limit_s in limits.items():
            if limit_s <= 0:
                raise ValueError(f"sensor {sensor_id!r}: staleness {limit_s:g} s must be above 0")
        return limits

    @model_validator(mode="after")
    def _bands_fit(self) -> Self:
        if not self.bands:
            raise ValueError("bands: give at least one band")
        starts = [b.start for b in self.bands]
        dupes = sorted({s for s in starts if starts.count(s) > 1})
        if dupes:
            raise ValueError(f"two bands start at {dupes[0]}")
        need = 2 * self.edge_margin + self.hysteresis
        lo_c, hi_c = _PLAUSIBLE_C
        for band in self.bands:
            width = band.high - band.low
            if width <= need:
                raise ValueError(
                    f"band {band.name!r} is {width:g}° wide; it must be wider than"
                    f" 2 x edge_margin + hysteresis = {need:g}°"
                )
            for edge in (band.low, band.high):
                edge_c = self.to_c(edge)
                if not lo_c <= edge_c <= hi_c:
                    raise ValueError(
                        f"band {band.name!r}: {edge:g} °{self.unit} is outside"
                        f" {lo_c:g}-{hi_c:g} °C; is the unit right?"
                    )
        return self

    def to_c(self, value: float) -> float:
        """A temperature in the settings' unit, in °C."""
        return _f_to_c(value) if self.unit == "F" else value

    def step_c(self, step: float) -> float:
        """A temperature difference in the settings' unit, in °C."""
        return step * 5.0 / 9.0 if self.unit == "F" else step


# --- values in and out ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActuatorSpec:
    """One actuator of a room, as the controller knows it: its id and what it does."""

    id: str
    role: Role


@dataclass(frozen=True, slots=True)
class BandOverride:
    """A person's band for the rest of the night (°C); both None clears it."""

    room: str
    t: float
    low_c: float | None
    high_c: float | None


@dataclass(frozen=True, slots=True)
class PauseSwitch:
    """A person's pause switch: while paused the controller commands nothing."""

    room: str
    t: float
    paused: bool


ComfortInput = TemperatureReading | BandOverride | PauseSwitch | Tick
ComfortIntent = SwitchActuator | SetClimate | Notify


@dataclass(frozen=True, slots=True)
class Band:
    """The band in force, in °C."""

    name: str
    low_c: float
    high_c: float

    @property
    def mid_c(self) -> float:
        """The middle of the band: the set point a climate entity is given."""
        return (self.low_c + self.high_c) / 2


@dataclass(frozen=True, slots=True)
class Edges:
    """The temperatures at which heating and cooling start and stop, in °C."""

    heat_on_c: float
    heat_off_c: float
    cool_on_c: float
    cool_off_c: float


# --- the controller -----------------------------------------------------------------------


def band_at(settings: ComfortSettings, now: float, tz: ZoneInfo) -> Band:
    """The scheduled band at `now` by local wall-clock time (wraps past midnight)."""
    clock = datetime.fromtimestamp(now, tz).time()
    ordered = sorted(settings.bands, key=lambda b: b.start)
    current = ordered[-1]  # before the first start of the day, yesterday's last band runs
    for band in ordered:
        if _parse_hhmm(band.start) <= clock:
            current = band
    return Band(current.name, settings.to_c(current.low), settings.to_c(current.high))


def fuse(
    latest: Iterable[TemperatureReading], now: float, settings: ComfortSettings
) -> tuple[float, tuple[str, ...]] | None:
    """Median of the fresh readings and the sensors it came from; None when all are stale."""
    limits = settings.sensor_stale_s_by_id
    fresh = sorted(
        (r for r in latest if now - r.t <= limits.get(r.sensor_id, settings.sensor_stale_s)),
        key=lambda r: r.sensor_id,
    )
    if not fresh:
        return None
    return statistics.median(r.temp_c for r in fresh), tuple(r.sensor_id for r in fresh)


def next_local_time(now: float, at: time, tz: ZoneInfo) -> float:
    """The next epoch time after `now` when the local clock shows `at`."""
    today: date = datetime.fromtimestamp(now, tz).date()
    for days in (0, 1, 2):
        candidate = datetime.combine(today + timedelta(days=days), at, tzinfo=tz).timestamp()
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a local time recurs within two days")  # pragma: no cover


class ComfortController:
    """One room's comfort controller; feed it with `step`, send what it returns."""

    def __init__(
        self,
        room: str,
        actuators: Sequence[ActuatorSpec],
        settings: ComfortSettings,
        tz: ZoneInfo,
    ) -> None:
        self.room = room
        self.settings = settings
        self._actuators = tuple(actuators)
        self._tz = tz
        self.state = State.BLIND  # nothing seen yet
        self.fault: str | None = None
        self._latest: dict[str, TemperatureReading] = {}
        self._override: tuple[Band, float] | None = None  # band, expires at
        self._paused = False
        self._last_now: float | None = None
        self._blind_since: float | None = None
        self._commanded: dict[str, str] = {}  # actuator id → "on"/"off"/"heat"/"cool"
        self._setpoint_c: dict[str, float] = {}
        self._switched_at: dict[str, float] = {}
        self._can_heat = any(a.role in (Role.HEATER, Role.CLIMATE) for a in actuators)
        self._can_cool = any(a.role is not Role.HEATER for a in actuators)

    def step(self, inputs: Sequence[ComfortInput], now: float) -> list[ComfortIntent]:
        """Take what arrived since the last step, decide at `now`, return what to command."""
        if self.state is State.SAFE:
            return []
        if self._last_now is not None and now < self._last_now:
            if self._last_now - now > LATE_INPUT_S:
                self._clock_set_back(self._last_now - now)
            else:  # late input (ticks trail arrivals on a sped-up clock): time stands still
                now = self._last_now
        for item in inputs:
            self._take(item, now)
        fault = self._inconsistency(now)
        self._last_now = now
        band = self._band(now)
        fused = fuse(self._latest.values(), now, self.settings)
        transitions: list[str] = []
        if fault is not None:
            self._fire(Trigger.FAULT, transitions)
            self.fault = fault
            _LOGGER.error("room %s: comfort controller SAFE: %s", self.room, fault)
        else:
            for _ in range(_MAX_PASSES):
                trigger = self._trigger(band, fused, now)
                if trigger is None:
                    break
                self._fire(trigger, transitions)
            else:
                self._fire(Trigger.FAULT, transitions)
                self.fault = "transitions did not settle"
        if self.state is State.BLIND and self._blind_since is None:
            self._blind_since = now
        elif self.state is not State.BLIND:
            self._blind_since = None
        why = self._why(band, fused, transitions)
        intents = self._command(band, now, why)
        if self.fault is not None:  # just entered SAFE: say so once
            title = "Bedroom comfort control stopped"
            intents.append(Notify(self.room, now, title, self.fault, why=why, key="comfort_fault"))
        return intents

    def status(self, now: float) -> tuple[float | None, Band]:
        """The fused room temperature (None when every sensor is stale) and the band in force."""
        fused = fuse(self._latest.values(), now, self.settings)
        return (fused[0] if fused is not None else None), self._band(now)

    # --- inputs ---

    def _clock_set_back(self, by_s: float) -> None:
        """Shift every time held by `by_s`: runs, rests and readings keep their ages.

        A wall clock stepped back (by hand, or NTP correcting a fast clock) must neither stall
        the controller until it catches up nor make it refuse fresh readings as older.
        """
        _LOGGER.warning(
            "room %s: the clock went back %.0f s; times held shift with it", self.room, by_s
        )
        self._latest = {k: replace(r, t=r.t - by_s) for k, r in self._latest.items()}
        self._switched_at = {k: t - by_s for k, t in self._switched_at.items()}
        if self._blind_since is not None:
            self._blind_since -= by_s

    def _take(self, item: ComfortInput, now: float) -> None:
        if isinstance(item, Tick) or item.room != self.room:
            return
        if isinstance(item, TemperatureReading):
            known = self._latest.get(item.sensor_id)
            if known is None or item.t >= known.t:
                self._latest[item.sensor_id] = item
        elif isinstance(item, PauseSwitch):
            self._paused = item.paused
        elif item.low_c is None or item.high_c is None:
            self._override = None
        elif item.low_c < item.high_c:
            end = _parse_hhmm(self.settings.night_end)
            expires = next_local_time(now, end, self._tz)
            self._override = (Band("override", item.low_c, item.high_c), expires)
        else:
            _LOGGER.warning(
                "room %s: band override ignored, low %.1f is not below high %.1f",
                self.room,
                item.low_c,
                item.high_c,
            )

    def _band(self, now: float) -> Band:
        if self._override is not None and now >= self._override[1]:
            self._override = None
        if self._override is not None:
            return self._override[0]
        return band_at(self.settings, now, self._tz)

    def _inconsistency(self, now: float) -> str | None:
        if not math.isfinite(now):
            return f"time is not a number ({now})"
        if any(not math.isfinite(r.temp_c) for r in self._latest.values()):
            return "a temperature reading is not a number"
        running = set(self._commanded.values())
        heating = "heat" in running or any(
            self._commanded.get(a.id) == "on" for a in self._actuators if a.role is Role.HEATER
        )
        cooling = "cool" in running or any(
            self._commanded.get(a.id) == "on"
            for a in self._actuators
            if a.role in (Role.COOLER, Role.FAN)
        )
        if heating and cooling:
            return "heating and cooling were commanded at once"
        return None

    # --- decisions ---

    def _trigger(
        self, band: Band, fused: tuple[float, tuple[str, ...]] | None, now: float
    ) -> Trigger | None:
        if self.state is State.SAFE:
            return None
        if self._paused:
            return Trigger.PAUSE if self.state is not State.PAUSED else None
        if self.state is State.PAUSED:
            return Trigger.RESUME
        if fused is None:
            return Trigger.SENSORS_LOST if self.state in _ACTIVE else None
        if self.state is State.BLIND:
            return Trigger.SENSORS_BACK
        temp_c = fused[0]
        edges = self._edges(band, now)
        if self.state is State.IDLE:
            if self._can_heat and temp_c <= edges.heat_on_c and self._may("heat", now):
                return Trigger.TOO_COLD
            if self._can_cool and temp_c >= edges.cool_on_c and self._may("cool", now):
                return Trigger.TOO_HOT
        elif self.state is State.HEATING:
            if temp_c >= edges.heat_off_c and self._may("idle", now):
                return Trigger.WARM_ENOUGH
        elif self.state is State.COOLING and temp_c <= edges.cool_off_c and self._may("idle", now):
            return Trigger.COOL_ENOUGH
        return None

    def _edges(self, band: Band, now: float) -> Edges:
        """Where heating and cooling start and stop; the next band pulls them early."""
        edges = self._band_edges(band)
        if self._override is not None or self.settings.schedule_lead_s == 0:
            return edges
        upcoming = self._band_edges(
            band_at(self.settings, now + self.settings.schedule_lead_s, self._tz)
        )
        # Move toward the next band's edges, never beyond this band's, keeping each on/off
        # pair at least `hysteresis` apart.
        gap = self.settings.step_c(self.settings.hysteresis)
        heat_on_c = max(edges.heat_on_c, min(upcoming.heat_on_c, edges.heat_off_c - gap))
        heat_off_c = min(edges.heat_off_c, max(upcoming.heat_off_c, heat_on_c + gap))
        cool_on_c = min(edges.cool_on_c, max(upcoming.cool_on_c, edges.cool_off_c + gap))
        cool_off_c = max(edges.cool_off_c, min(upcoming.cool_off_c, cool_on_c - gap))
        return Edges(heat_on_c, heat_off_c, cool_on_c, cool_off_c)

    def _band_edges(self, band: Band) -> Edges:
        margin = self.settings.step_c(self.settings.edge_margin)
        gap = self.settings.step_c(self.settings.hysteresis)
        return Edges(
            heat_on_c=band.low_c + margin,
            heat_off_c=band.high_c - margin - gap,
            cool_on_c=band.high_c - margin,
            cool_off_c=band.low_c + margin + gap,
        )

    def _may(self, mode: str, now: float) -> bool:
        """Whether every actuator that would switch for `mode` has run or rested long enough."""
        for spec in self._actuators:
            before = self._commanded.get(spec.id)
            after = _wanted(spec, mode)
            if before is None or before == after:
                continue
            since = self._switched_at.get(spec.id, -math.inf)
            limit = self.settings.min_off_s if before == "off" else self.settings.min_on_s
            if now - since < limit:
                return False
        return True

    def _fire(self, trigger: Trigger, transitions: list[str]) -> None:
        target = TRANSITIONS.get((self.state, trigger))
        if target is None:  # a bug, never a user error: stop commanding
            self.fault = f"no transition from {self.state} on {trigger}"
            target = State.SAFE
        transitions.append(f"{self.state}->{target}")
        _LOGGER.debug("room %s: comfort %s -> %s on %s", self.room, self.state, target, trigger)
        self.state = target

    # --- outputs ---

    def _mode(self, now: float) -> str | None:
        """What the actuators should do now: heat/cool/idle, or None to leave them be."""
        if self.state is State.HEATING:
            return "heat"
        if self.state is State.COOLING:
            return "cool"
        if self.state is State.BLIND and self.settings.blind_policy == "hold":
            blind_s = now - (self._blind_since if self._blind_since is not None else now)
            if blind_s >= self.settings.max_heater_blind_s:
                return "no_heat"
            return None
        if self.state is State.PAUSED and self._all_off():
            return None
        return "idle"

    def _all_off(self) -> bool:
        return all(self._commanded.get(a.id) == "off" for a in self._actuators)

    def _command(self, band: Band, now: float, why: Mapping[str, WhyValue]) -> list[ComfortIntent]:
        mode = self._mode(now)
        if mode is None:
            return []
        intents: list[ComfortIntent] = []
        for spec in self._actuators:
            before = self._commanded.get(spec.id)
            after = _wanted(spec, mode, before)
            if after is None:
                continue
            switched = after != before
            if switched:
                self._commanded[spec.id] = after
                self._switched_at[spec.id] = now
            if spec.role is not Role.CLIMATE:
                if switched:
                    intents.append(
                        SwitchActuator(self.room, now, spec.id, spec.role, after == "on", why)
                    )
                continue
            climate_mode: ClimateMode | None = _CLIMATE_MODES[after] if switched else None
            target_c: float | None = None
            if after in ("heat", "cool") and self._setpoint_c.get(spec.id) != band.mid_c:
                self._setpoint_c[spec.id] = band.mid_c
                target_c = band.mid_c
            elif after not in ("heat", "cool"):
                self._setpoint_c.pop(spec.id, None)
            if climate_mode is not None or target_c is not None:
                intents.append(SetClimate(self.room, now, spec.id, climate_mode, target_c, why))
        return intents

    def _why(
        self,
        band: Band,
        fused: tuple[float, tuple[str, ...]] | None,
        transitions: list[str],
    ) -> dict[str, WhyValue]:
        temp_c = None if fused is None else round(fused[0], 2)
        return {
            "rule": "comfort",
            "state": str(self.state),
            "transition": ", ".join(transitions) or None,
            "band": band.name,
            "band_low_c": round(band.low_c, 2),
            "band_high_c": round(band.high_c, 2),
            "temp_c": temp_c,
            "sensors": None if fused is None else ",".join(fused[1]),
            "fault": self.fault,
        }


# A climate actuator's commanded state, as the intent names its modes.
_CLIMATE_MODES: Mapping[str, ClimateMode] = {"heat": "heat", "cool": "cool", "off": "off"}


def _wanted(spec: ActuatorSpec, mode: str, before: str | None = None) -> str | None:
    """What `spec` should be doing in `mode`; None leaves it be.

    "no_heat" stops anything that may be heating and leaves cooling as it is.
    """
    if mode == "no_heat":
        if spec.role is Role.HEATER or (spec.role is Role.CLIMATE and before != "cool"):
            return "off"
        return None
    if spec.role is Role.CLIMATE:
        return mode if mode in ("heat", "cool") else "off"
    heats = spec.role is Role.HEATER
    on = (mode == "heat" and heats) or (mode == "cool" and not heats)
    return "on" if on else "off"
