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
steps; this is why it is in band more. Then the room: the controller learns it.

Learning the room: a room keeps moving after a switch — a radiator stays hot, an AC keeps
blowing cold for minutes, walls give back heat, and the sensors see the air minutes late. After
each start and stop the controller watches the fused temperature run on in its old direction
until it turns (`Anticipation`): how far (the undershoot after a start, the overshoot after a
stop) and how long (the room's lag). It keeps a running mean per direction, bounded, starting
from nothing (the safe default: act at the edges), and switches that much ahead: heating starts
`undershoot` above its start point and stops `overshoot` before its stop point, and cooling
mirrors it. What it learned survives a restart (`learned()`), is shown in `why`, and is
re-learned continually, so a room that changes (a window left ajar) is followed.

Never heat and cool against each other: after heating stops, cooling waits `reverse_min_s`
(and back) unless the room is a degree out of the band; and it never cools a room below the
middle of the band it is in or heading for (the next band, within the lead), nor heats one
above it.

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
from collections import deque
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
from integration.core.readings import ContactReading, TemperatureReading, Tick

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
    reverse_min_s: float = Field(
        default=1800.0,
        ge=0,
        le=7200,
        description="after heating stops, cooling waits this long (and back), unless the room "
        "has left the band: heating and cooling never take turns",
    )
    learn: bool = Field(
        default=True,
        description="learn how far the room overshoots and undershoots (sensor and heater lag) "
        "and switch that much ahead",
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


ComfortInput = TemperatureReading | ContactReading | BandOverride | PauseSwitch | Tick
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


# --- learning the room ---------------------------------------------------------------------

# A room this far out of its band may change direction before `reverse_min_s` has passed.
REVERSE_ANYWAY_C = 1.0
# A run this long (or three learned lags, if longer) that has not changed how the room drifts
# by NO_EFFECT_C_PER_H is an actuator that does nothing: a window open, a heater unplugged, a
# radiator valve shut. It stops, is reported, and is tried again after NO_EFFECT_RETRY_S.
NO_EFFECT_S = 1800.0
NO_EFFECT_C_PER_H = 0.2
NO_EFFECT_RETRY_S = 3600.0
# Before a band change this far off, runs already stop where the band after it wants the room.
LATER_BAND_S = 7200.0
# The room's own drift, from one fused temperature a minute over the last ten: a room inside
# its band already moving toward the middle this fast needs no actuator started yet.
TREND_STEP_S = 60.0
TREND_SAMPLES = 11
DRIFT_HELPS_C_PER_H = 0.6

# A switch's effect is watched until the temperature turns back by this much (sensor noise and
# 0.1 °C steps would otherwise end the watch early), or for at most ANTICIPATE_WATCH_S.
ANTICIPATE_TURN_C = 0.15
ANTICIPATE_WATCH_S = 3600.0
# Each new observation counts this much in the running mean: a few nights settle it.
ANTICIPATE_WEIGHT = 0.3
# Never anticipate more than this: a bigger swing is a window, not a lag.
ANTICIPATE_MAX_C = 1.5
# A run shorter than this says little about how fast the actuator moves the room.
RATE_MIN_RUN_S = 600.0
# An actuator that moves the room slower than this can barely hold it: start it at the middle.
WEAK_RATE_C_PER_H = 0.5
# A room drifting faster than this by itself is a window open, not the room.
MAX_DRIFT_C_PER_H = 6.0
# Before a band change the room's own drift is counted on only as measured in an idle spell
# this recent, and only for this share of it: the drift follows the outside temperature, which
# keeps moving through the night (a warm evening's drift is not the one of 4 am).
IDLE_DRIFT_FRESH_S = 3600.0
DRIFT_TRUST = 0.5


@dataclass(slots=True)
class _Watch:
    """One switch's aftermath: where the temperature was, and how far it ran on."""

    key: str  # "heat_start", "heat_stop", "cool_start", "cool_stop"
    t: float
    start_c: float
    sign: float  # the direction the room keeps moving after this switch: -1 falls, +1 rises
    extreme_c: float
    extreme_t: float


class Anticipation:
    """How far the room keeps moving after each kind of switch, and how long it takes to turn.

    After a heating start the room keeps falling (undershoot); after a heating stop it keeps
    rising (overshoot); cooling mirrors both. Each is a running mean of what was seen, bounded
    by ANTICIPATE_MAX_C; `lag_s` is the mean time from a switch to the turn.
    """

    KEYS = ("heat_start", "heat_stop", "cool_start", "cool_stop")
    _SIGNS: Mapping[str, float] = {
        "heat_start": -1.0,
        "heat_stop": 1.0,
        "cool_start": 1.0,
        "cool_stop": -1.0,
    }

    def __init__(self) -> None:
        self.run_on_c: dict[str, float] = dict.fromkeys(self.KEYS, 0.0)
        # How fast a run moves the room in its direction (°C/h, "heat" up, "cool" down), over
        # whole runs: near 0 or below, the actuator can barely hold the room.
        self.rate_c_per_h: dict[str, float | None] = {"heat": None, "cool": None}
        self.lag_s: float | None = None
        # How the room drifts with everything off (°C/h; below 0 it cools by itself), from the
        # idle spells before each run: what the next band can count on the room doing alone.
        self.drift_c_per_h: float | None = None
        self.observations = 0
        self.updated_at: float | None = None
        self._watch: _Watch | None = None
        self._run: tuple[str, float, float] | None = None  # direction, start time, start °C

    def switched(self, key: str, t: float, temp_c: float | None) -> None:
        """A start or stop just happened: close the last watch, open one for this switch."""
        self._close(t)
        direction, what = key.split("_")
        if what == "start":
            self._run = None if temp_c is None else (direction, t, temp_c)
        elif self._run is not None and self._run[0] == direction and temp_c is not None:
            _, start_t, start_c = self._run
            self._run = None
            if t - start_t >= RATE_MIN_RUN_S:
                rate = (
                    (temp_c - start_c) / (t - start_t) * 3600 * (1 if direction == "heat" else -1)
                )
                old = self.rate_c_per_h[direction]
                self.rate_c_per_h[direction] = (
                    rate if old is None else old + ANTICIPATE_WEIGHT * (rate - old)
                )
        if temp_c is not None:
            self._watch = _Watch(key, t, temp_c, self._SIGNS[key], temp_c, t)

    def idle_drift(self, drift_c_per_h: float) -> None:
        """One idle spell's drift, clear of any switch's run-on: into the running mean."""
        old = self.drift_c_per_h
        drift = max(-MAX_DRIFT_C_PER_H, min(MAX_DRIFT_C_PER_H, drift_c_per_h))
        self.drift_c_per_h = drift if old is None else old + ANTICIPATE_WEIGHT * (drift - old)

    def weak(self, direction: str) -> bool:
        """Whether runs in `direction` barely move the room (slower than WEAK_RATE_C_PER_H)."""
        rate = self.rate_c_per_h[direction]
        return rate is not None and rate < WEAK_RATE_C_PER_H

    def observe(self, t: float, temp_c: float | None) -> None:
        """The fused temperature now; the watch ends when the room has turned."""
        watch = self._watch
        if watch is None or temp_c is None:
            return
        if (temp_c - watch.extreme_c) * watch.sign > 0:
            watch.extreme_c, watch.extreme_t = temp_c, t
        turned = (watch.extreme_c - temp_c) * watch.sign >= ANTICIPATE_TURN_C
        if turned or t - watch.t >= ANTICIPATE_WATCH_S:
            self._close(t)

    def _close(self, t: float) -> None:
        watch, self._watch = self._watch, None
        if watch is None:
            return
        ran_on = min(ANTICIPATE_MAX_C, max(0.0, (watch.extreme_c - watch.start_c) * watch.sign))
        old = self.run_on_c[watch.key]
        self.run_on_c[watch.key] = old + ANTICIPATE_WEIGHT * (ran_on - old)
        lag = watch.extreme_t - watch.t
        self.lag_s = (
            lag if self.lag_s is None else self.lag_s + ANTICIPATE_WEIGHT * (lag - self.lag_s)
        )
        self.observations += 1
        self.updated_at = t

    def snapshot(self) -> dict[str, float | int | None]:
        """What was learned, JSON-able: kept in the history so a restart keeps it."""
        return {
            **{key: round(value, 3) for key, value in self.run_on_c.items()},
            **{
                f"{direction}_rate_c_per_h": None if rate is None else round(rate, 3)
                for direction, rate in self.rate_c_per_h.items()
            },
            "lag_s": None if self.lag_s is None else round(self.lag_s, 1),
            "drift_c_per_h": None if self.drift_c_per_h is None else round(self.drift_c_per_h, 3),
            "observations": self.observations,
            "updated_at": self.updated_at,
        }

    def restore(self, saved: Mapping[str, object]) -> None:
        """Take back a `snapshot()`; anything missing or odd keeps the safe default."""
        for key in self.KEYS:
            value = saved.get(key)
            if isinstance(value, int | float) and math.isfinite(value):
                self.run_on_c[key] = min(ANTICIPATE_MAX_C, max(0.0, float(value)))
        for direction in self.rate_c_per_h:
            rate = saved.get(f"{direction}_rate_c_per_h")
            if isinstance(rate, int | float) and math.isfinite(rate):
                self.rate_c_per_h[direction] = max(-20.0, min(20.0, float(rate)))
        drift = saved.get("drift_c_per_h")
        if isinstance(drift, int | float) and math.isfinite(drift):
            self.drift_c_per_h = max(-MAX_DRIFT_C_PER_H, min(MAX_DRIFT_C_PER_H, float(drift)))
        lag = saved.get("lag_s")
        if isinstance(lag, int | float) and math.isfinite(lag) and lag >= 0:
            self.lag_s = float(lag)
        count = saved.get("observations")
        if isinstance(count, int) and count >= 0:
            self.observations = count
        updated = saved.get("updated_at")
        if isinstance(updated, int | float) and math.isfinite(updated):
            self.updated_at = float(updated)


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
        self._open: dict[str, bool] = {}  # window/door contact id → open
        self._override: tuple[Band, float] | None = None  # band, expires at
        self._paused = False
        self._last_now: float | None = None
        self._blind_since: float | None = None
        self._commanded: dict[str, str] = {}  # actuator id → "on"/"off"/"heat"/"cool"
        self._setpoint_c: dict[str, float] = {}
        self._switched_at: dict[str, float] = {}
        self._can_heat = any(a.role in (Role.HEATER, Role.CLIMATE) for a in actuators)
        self._can_cool = any(a.role is not Role.HEATER for a in actuators)
        self.anticipation = Anticipation()
        self._ran_until: dict[str, float] = {}  # "heat"/"cool" → when that direction stopped
        self._step_at: tuple[float, float | None] = (-math.inf, None)  # this step's time, °C
        self._trend: deque[tuple[float, float]] = deque(maxlen=TREND_SAMPLES)
        # The last clean idle TREND window's drift (°C/h) and when it was measured.
        self._idle_drift: float | None = None
        self._idle_drift_t = -math.inf
        self._idle_drift_new = False  # measured in this idle spell, not yet learned
        # An actuator that did nothing: "heat"/"cool" → not tried again before this time.
        self.no_effect: dict[str, float] = {}
        self._run_began: tuple[float, float] | None = None  # the run's start, the drift before
        self._said_no_effect: str | None = None
        self._run_best = -math.inf
        # The run began before the edge, on the room's drift: it only tops the room up (a run to
        # the far edge early in a warm night leaves the room too cold for the morning's band).
        self._early_run = False

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
        temp_c = None if fused is None else fused[0]
        self.anticipation.observe(now, temp_c)
        self._remember_trend(now, temp_c)
        self._remember_idle_drift(now)
        self._step_at = (now, temp_c)
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
        intents.extend(self._no_effect_notice(now, why))
        return intents

    def _no_effect_notice(self, now: float, why: Mapping[str, WhyValue]) -> list[ComfortIntent]:
        """Say once that an actuator does nothing (and nothing more until that changes)."""
        failing = next((mode for mode, until in self.no_effect.items() if until > now), None)
        if failing == self._said_no_effect:
            return []
        self._said_no_effect = failing
        if failing is None:
            return []
        what = "Heating" if failing == "heat" else "Cooling"
        message = (
            f"{what} ran for {max(NO_EFFECT_S, 3 * (self.anticipation.lag_s or 0.0)) / 60:.0f} "
            "minutes and the room did not change: is a window open, the device unplugged or a "
            f"valve shut? It is stopped and tried again in {NO_EFFECT_RETRY_S / 60:.0f} minutes."
        )
        title = f"Bedroom comfort: {what.lower()} has no effect"
        return [Notify(self.room, now, title, message, why=why, key=f"no_effect_{failing}")]

    @property
    def window_open(self) -> bool:
        """Whether a window or door contact of the room says open."""
        return any(self._open.values())

    def failing(self, now: float) -> bool:
        """Whether an actuator was found doing nothing and is not tried again yet."""
        return any(until > now for until in self.no_effect.values())

    def learned(self) -> dict[str, float | int | None]:
        """What the controller learned of the room (see `Anticipation`), to keep and to show."""
        return self.anticipation.snapshot()

    def restore_learned(self, saved: Mapping[str, object]) -> None:
        """Take back what `learned()` gave before a restart."""
        self.anticipation.restore(saved)

    def _note_switch(self, before: State, after: State) -> None:
        """A run started or stopped: watch its aftermath, and remember when a direction stopped."""
        now, temp_c = self._step_at
        if after in (State.HEATING, State.COOLING):
            self._run_began = (now, self._drifting())
            if self._idle_drift is not None and self._idle_drift_new:
                self.anticipation.idle_drift(self._idle_drift)
                self._idle_drift_new = False
            self._run_best = -math.inf  # the most the run has changed the drift, so far
        for mode, state in (("heat", State.HEATING), ("cool", State.COOLING)):
            if before is state:
                self._ran_until[mode] = now
                if after is State.IDLE:
                    self.anticipation.switched(f"{mode}_stop", now, temp_c)
            elif after is state:
                self.anticipation.switched(f"{mode}_start", now, temp_c)

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
        self._ran_until = {k: t - by_s for k, t in self._ran_until.items()}
        self._trend.clear()
        self._idle_drift = None
        if self._blind_since is not None:
            self._blind_since -= by_s

    def _take(self, item: ComfortInput, now: float) -> None:
        if isinstance(item, Tick) or item.room != self.room:
            return
        if isinstance(item, ContactReading):
            self._open[item.sensor_id] = item.open
        elif isinstance(item, TemperatureReading):
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
        if self.window_open:  # heating or cooling the street: stop at once, start nothing
            if self.state is State.HEATING:
                return Trigger.WARM_ENOUGH
            return Trigger.COOL_ENOUGH if self.state is State.COOLING else None
        edges = self._edges(band, now)
        if self.state is State.IDLE:
            heading = self._heading(band, now)
            ahead_c = self._ahead_c(temp_c)
            if (
                self._can_heat
                and min(temp_c, ahead_c) <= edges.heat_on_c
                and temp_c < max(heading.mid_c, band.mid_c)
                and not (temp_c >= band.low_c and self._drifting() >= DRIFT_HELPS_C_PER_H)
                and self.no_effect.get("heat", -math.inf) <= now
                and self._may_turn("heat", band.low_c - temp_c, now)
                and self._may("heat", now)
            ):
                self._early_run = temp_c > edges.heat_on_c  # started on the drift alone
                return Trigger.TOO_COLD
            if (
                self._can_cool
                and max(temp_c, ahead_c) >= edges.cool_on_c
                and temp_c > min(heading.mid_c, band.mid_c)
                and not (temp_c <= band.high_c and self._drifting() <= -DRIFT_HELPS_C_PER_H)
                and self.no_effect.get("cool", -math.inf) <= now
                and self._may_turn("cool", temp_c - band.high_c, now)
                and self._may("cool", now)
            ):
                self._early_run = temp_c < edges.cool_on_c
                return Trigger.TOO_HOT
        elif self.state is State.HEATING:
            if (temp_c >= self._stop_c(edges, band)[0] or self._does_nothing("heat", now)) and (
                self._may("idle", now)
            ):
                return Trigger.WARM_ENOUGH
        elif (
            self.state is State.COOLING
            and (temp_c <= self._stop_c(edges, band)[1] or self._does_nothing("cool", now))
            and self._may("idle", now)
        ):
            return Trigger.COOL_ENOUGH
        return None

    def _stop_c(self, edges: Edges, band: Band) -> tuple[float, float]:
        """Where a heating and a cooling run stop; an early cooling run `hysteresis` on.

        A cooling run started on the room's drift, before the edge (`_early_run`), only tops
        the room up: far enough that it cannot start and stop in one step, no further. A warm
        night cools by itself toward dawn, and a room cooled to the band's bottom at 2 am is
        below the warmer wake-up band at 5:30 with nothing to warm it. (Heating early on a cold
        night has no such cost, and topping up would only switch more.)
        """
        if not self._early_run or self.state is not State.COOLING:
            return edges.heat_off_c, edges.cool_off_c
        gap = self.settings.step_c(self.settings.hysteresis)
        return edges.heat_off_c, max(edges.cool_off_c, edges.cool_on_c - gap)

    def _edges(self, band: Band, now: float) -> Edges:
        """Where heating and cooling start and stop; the next band pulls them early.

        Within the lead the edges aim at the next band's, as far as the current band allows:
        heating may go on up to its ceiling (the high edge less margin and overshoot) to bring
        the room into a warmer band as it begins, and cooling mirrors it. Heading for a warmer
        band, cooling stops before the room is below it (and heading for a cooler one, heating
        stops before the room is above it): a run the next band must undo is a reversal.
        """
        edges = self._band_edges(band)
        upcoming_band = self._heading(band, now)
        if upcoming_band == band:
            return self._no_deeper_than_later(band, edges, now)
        s = self.settings
        margin, gap = s.step_c(s.edge_margin), s.step_c(s.hysteresis)
        upcoming = self._band_edges(upcoming_band)
        run_on = self._run_on()
        # The band in force holds until the next begins: a lead-in run stops short of its edge
        # by the run-on, and by what the room's own drift adds before the change.
        drift_c = self._drift_until(upcoming_band, now)
        ceiling = band.high_c - margin - run_on["heat_stop"] - max(0.0, drift_c)
        floor = band.low_c + margin + run_on["cool_stop"] + max(0.0, -drift_c)
        heat_on_c = _clamp(upcoming.heat_on_c, edges.heat_on_c, ceiling - gap)
        heat_off_c = _clamp(upcoming.heat_off_c, heat_on_c + gap, max(ceiling, heat_on_c + gap))
        cool_on_c = _clamp(upcoming.cool_on_c, floor + gap, edges.cool_on_c)
        cool_off_c = _clamp(upcoming.cool_off_c, min(floor, cool_on_c - gap), cool_on_c - gap)
        # Warmer ahead: cool no lower than it wants; cooler ahead: heat no higher than it wants
        # (unless the room's own drift takes it there before that band begins).
        floor_c, ceiling_c = upcoming_band.low_c + margin, upcoming_band.high_c - margin
        if upcoming_band.low_c > band.low_c and not self._drifts_back(
            floor_c - cool_off_c, 1.0, upcoming_band, now
        ):
            cool_off_c = max(cool_off_c, floor_c)
            cool_on_c = max(cool_on_c, cool_off_c + gap)
        if upcoming_band.high_c < band.high_c and not self._drifts_back(
            heat_off_c - ceiling_c, -1.0, upcoming_band, now
        ):
            heat_off_c = min(heat_off_c, ceiling_c)
            heat_on_c = min(heat_on_c, heat_off_c - gap)
        return Edges(heat_on_c, heat_off_c, cool_on_c, cool_off_c)

    def _no_deeper_than_later(self, band: Band, edges: Edges, now: float) -> Edges:
        """Before the lead, a run stops where the band after it still wants the room.

        A cooling run an hour before a warmer band would leave the room too cold for it, and
        heating it back is a reversal; so cooling stops no lower than that band's low edge
        (plus margin), and heating no higher than a cooler band's high edge.
        """
        s = self.settings
        if self._override is not None or s.schedule_lead_s == 0:
            return edges
        later = band_at(s, now + LATER_BAND_S, self._tz)
        margin, gap = s.step_c(s.edge_margin), s.step_c(s.hysteresis)
        heat_on_c, heat_off_c, cool_on_c, cool_off_c = (
            edges.heat_on_c,
            edges.heat_off_c,
            edges.cool_on_c,
            edges.cool_off_c,
        )
        floor_c = later.low_c + margin
        if later.low_c > band.low_c and not self._drifts_back(
            floor_c - cool_off_c, 1.0, later, now
        ):
            cool_off_c = max(cool_off_c, floor_c)
            cool_on_c = max(cool_on_c, cool_off_c + gap)
        return Edges(heat_on_c, heat_off_c, cool_on_c, cool_off_c)

    def _drift_until(self, ahead: Band, now: float) -> float:
        """How far (°C) the room's own drift is counted on to move it before `ahead` begins."""
        drift = self._idle_drift
        if (
            not self.settings.learn
            or drift is None
            or now - self._idle_drift_t > IDLE_DRIFT_FRESH_S
        ):
            return 0.0
        return DRIFT_TRUST * drift * self._until(ahead, now) / 3600

    def _drifts_back(self, excess_c: float, sign: float, ahead: Band, now: float) -> bool:
        """Whether the room left alone moves `excess_c` (sign +1 up, -1 down) before `ahead` begins.

        A run that leaves the room where the next band does not want it is a reversal in
        waiting, unless the room's own drift undoes it first: a draughty room falls into a
        cooler band by itself, a heavy one on a warm night warms into a warmer one. Counted on
        only when measured lately with everything off, and then only DRIFT_TRUST of it.
        """
        return excess_c <= 0 or self._drift_until(ahead, now) * sign >= excess_c

    def _until(self, band: Band, now: float) -> float:
        """Seconds from `now` until scheduled `band` next begins (0 if it is not scheduled)."""
        starts = [
            next_local_time(now, _parse_hhmm(b.start), self._tz) - now
            for b in self.settings.bands
            if b.name == band.name
        ]
        return min(starts, default=0.0)

    def _heading(self, band: Band, now: float) -> Band:
        """The band the room is heading for: the next one within the lead, else this one."""
        if self._override is not None or self.settings.schedule_lead_s == 0:
            return band
        return band_at(self.settings, now + self.settings.schedule_lead_s, self._tz)

    def _run_on(self) -> Mapping[str, float]:
        """How far the room runs on after each kind of switch (0 when not learning)."""
        if not self.settings.learn:
            return dict.fromkeys(Anticipation.KEYS, 0.0)
        return self.anticipation.run_on_c

    def _band_edges(self, band: Band) -> Edges:
        """The band's start and stop points, each moved ahead by what the room runs on.

        A start point moves inward by the undershoot (heating starts above the low edge by as
        much as the room keeps falling), a stop point by the overshoot; each pair keeps at
        least `hysteresis` between start and stop, and no start point passes the middle. An
        actuator that can barely hold the room (`Anticipation.weak`) starts at the middle.
        """
        margin = self.settings.step_c(self.settings.edge_margin)
        gap = self.settings.step_c(self.settings.hysteresis)
        run_on = self._run_on()
        mid = band.mid_c
        heat_on_c = min(band.low_c + margin + run_on["heat_start"], mid - gap / 2)
        cool_on_c = max(band.high_c - margin - run_on["cool_start"], mid + gap / 2)
        if self.settings.learn and self.anticipation.weak("heat"):
            heat_on_c = mid - gap / 2
        if self.settings.learn and self.anticipation.weak("cool"):
            cool_on_c = mid + gap / 2
        heat_off_c = max(band.high_c - margin - gap - run_on["heat_stop"], heat_on_c + gap)
        cool_off_c = min(band.low_c + margin + gap + run_on["cool_stop"], cool_on_c - gap)
        return Edges(heat_on_c, heat_off_c, cool_on_c, cool_off_c)

    def _remember_trend(self, now: float, temp_c: float | None) -> None:
        """One fused temperature a TREND_STEP_S, for the last TREND_SAMPLES of them."""
        if temp_c is None:
            self._trend.clear()
        elif not self._trend or now - self._trend[-1][0] >= TREND_STEP_S:
            self._trend.append((now, temp_c))

    def _remember_idle_drift(self, now: float) -> None:
        """The room's drift over the last TREND window if all of it was idle and clear of run-on."""
        if self.state is not State.IDLE or len(self._trend) < TREND_SAMPLES or self.window_open:
            return
        last_switch = max(self._switched_at.values(), default=-math.inf)
        if self._trend[0][0] - last_switch >= (self.anticipation.lag_s or 0.0):
            self._idle_drift, self._idle_drift_new = self._drifting(), True
            self._idle_drift_t = now

    def _drifting(self) -> float:
        """How the room moves by itself lately, °C/h (0 until TREND_SAMPLES are in)."""
        if len(self._trend) < TREND_SAMPLES:
            return 0.0
        (t0, first), (t1, last) = self._trend[0], self._trend[-1]
        return (last - first) / (t1 - t0) * 3600 if t1 > t0 else 0.0

    def _does_nothing(self, mode: str, now: float) -> bool:
        """Whether this run has gone on long enough to tell, and the room drifts as before it.

        Marks `mode` as doing nothing until NO_EFFECT_RETRY_S from now; a later run that
        works clears the mark (`_step_notices`).
        """
        if self._run_began is None or not self.settings.learn or len(self._trend) < TREND_SAMPLES:
            return False
        began, drift_before = self._run_began
        sign = 1.0 if mode == "heat" else -1.0
        self._run_best = max(self._run_best, (self._drifting() - drift_before) * sign)
        lag_s = self.anticipation.lag_s or 0.0
        if self._run_best >= NO_EFFECT_C_PER_H:  # it moved the room: this run works
            self.no_effect.pop(mode, None)
            return False
        if now - began < max(NO_EFFECT_S, 3 * lag_s):
            return False
        self.no_effect[mode] = now + NO_EFFECT_RETRY_S
        return True

    def _ahead_c(self, temp_c: float) -> float:
        """Where the room will be one learned lag from now if it keeps drifting as it does."""
        lag_s = self.anticipation.lag_s
        if not self.settings.learn or lag_s is None:
            return temp_c
        return temp_c + self._drifting() * lag_s / 3600

    def _may_turn(self, mode: str, beyond_edge_c: float, now: float) -> bool:
        """Whether `mode` may start so soon after the other direction ran (`reverse_min_s`).

        Only a room well out of the band (REVERSE_ANYWAY_C past its edge) turns sooner: just
        past it is the other direction's run-on, which passes by itself.
        """
        other = "cool" if mode == "heat" else "heat"
        since = now - self._ran_until.get(other, -math.inf)
        return since >= self.settings.reverse_min_s or beyond_edge_c > REVERSE_ANYWAY_C

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
        self._note_switch(self.state, target)
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
        run_on = self._run_on()
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
            "window_open": ",".join(sorted(s for s, o in self._open.items() if o)) or None,
            # Where the room is heading: one learned lag ahead at its present drift.
            "ahead_c": None if fused is None else round(self._ahead_c(fused[0]), 2),
            # What it learned of the room: how far the temperature runs on after a switch.
            "undershoot_heat_c": round(run_on["heat_start"], 2),
            "overshoot_heat_c": round(run_on["heat_stop"], 2),
            "undershoot_cool_c": round(run_on["cool_start"], 2),
            "overshoot_cool_c": round(run_on["cool_stop"], 2),
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


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)
