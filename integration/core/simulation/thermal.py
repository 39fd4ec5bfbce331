"""A bedroom's temperature over one night, and two thermostats to hold it: ours and HA's.

Pure and seeded, for tests and `python -m bench.comfort`. The room is the air and, optionally, a
second, slower mass (walls, furniture, the mattress) that exchanges heat with it — the common
two-node (2R2C) model of a room:

    C_air dT/dt  = (UA + fan_UA) (T_out - T) + H (T_mass - T) + occupant + heater - cooler
    C_mass dT_mass/dt = H (T - T_mass)

With `mass_capacity_j_per_k` 0 it is one mass (the reference room). The heater/cooler power
follows its switch through a first-order lag (a radiator warms up, a portable AC ramps), and each
sensor follows the air through its own first-order lag, plus a fixed offset, Gaussian noise and
0.1 °C resolution (typical Zigbee sensors report 0.1). Figures are for a ~12 m² bedroom with one
outside wall; they give the ~1-3 °C/h rates seen in such rooms, not a calibrated building model.
`ROOMS` is a family around it — light and heavy mass, weak and strong actuators, poor and good
insulation, sensors lagging 0-5 minutes and reading up to half a degree apart — for judging a
controller on rooms it was not tuned on.

`GenericThermostat` re-implements Home Assistant's generic_thermostat control rule
(its `_async_control_heating`, in HA's generic_thermostat integration): one target,
`too_cold = target > cur + cold_tolerance`, `too_hot = target < cur - hot_tolerance`, switching
off only after `min_cycle_duration` and on only after `cycle_cooldown` (a timer re-checks when
they end), a target change forcing an immediate decision, and control run on each sensor change.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from integration.core.comfort import (
    ActuatorSpec,
    ComfortController,
    ComfortIntent,
    ComfortSettings,
    band_at,
)
from integration.core.intents import Role, SwitchActuator
from integration.core.readings import TemperatureReading

_DT_S = 30.0  # physics step
_REPORT_S = 60.0  # each sensor reports once a minute
_SENSOR_OFFSETS_C = (0.15, -0.1, 0.05)  # calibration spread of cheap sensors
_ROOM = "bedroom"


@dataclass(frozen=True, slots=True)
class Weather:
    """An outside temperature curve: `mean_c ± swing_c`, coldest at 05:00 local."""

    name: str
    mean_c: float
    swing_c: float
    room_start_c: float  # the bedroom at the start of the evening
    day: str  # ISO date of the night's evening, in Europe/London

    def outside_c(self, local_hours: float) -> float:
        """Outside air at a local clock time given in hours."""
        return self.mean_c - self.swing_c * math.cos(2 * math.pi * (local_hours - 5.0) / 24.0)


COLD = Weather("cold", mean_c=1.0, swing_c=3.0, room_start_c=19.0, day="2026-01-14")
MILD = Weather("mild", mean_c=12.0, swing_c=4.0, room_start_c=19.5, day="2026-04-14")
WARM = Weather("warm", mean_c=22.0, swing_c=5.0, room_start_c=23.0, day="2026-07-14")


@dataclass(frozen=True, slots=True)
class RoomModel:
    """Physical figures of the bedroom and its actuators."""

    capacity_j_per_k: float = 1.5e6  # air plus furniture and wall surface that follows it
    loss_w_per_k: float = 45.0  # envelope + infiltration: τ = C/UA ≈ 9 h
    occupant_w: float = 80.0  # one sleeping adult
    heater_w: float = 1500.0  # a common oil-filled radiator
    cooler_w: float = 1500.0  # sensible cooling of a small portable AC
    fan_w_per_k: float = 60.0  # a window fan: ~180 m³/h of outside air (1.2 kJ/m³K x 50 L/s)
    actuator_lag_s: float = 300.0
    sensor_lag_s: float = 120.0
    sensor_noise_c: float = 0.05
    sensor_step_c: float = 0.1
    sensor_offsets_c: tuple[float, ...] = _SENSOR_OFFSETS_C
    mass_capacity_j_per_k: float = 0.0  # walls and furniture; 0: the air is the only mass
    mass_coupling_w_per_k: float = 0.0  # air ↔ that mass


# A family of bedrooms for the comfort benchmark; `reference` is the room the controller was
# first tuned on. Two-mass rooms put most of the capacity in the walls and furniture: the air
# moves fast when the heater runs, then the walls pull it back.
ROOMS: dict[str, RoomModel] = {
    "reference": RoomModel(),
    "two_mass_laggy": RoomModel(
        capacity_j_per_k=0.4e6,
        mass_capacity_j_per_k=4.0e6,
        mass_coupling_w_per_k=150.0,
        sensor_lag_s=210.0,
        sensor_offsets_c=(0.25, -0.25, 0.0),
    ),
    "heavy_well_insulated": RoomModel(
        capacity_j_per_k=0.6e6,
        mass_capacity_j_per_k=8.0e6,
        mass_coupling_w_per_k=250.0,
        loss_w_per_k=30.0,
    ),
    "light_draughty": RoomModel(
        capacity_j_per_k=0.3e6,
        mass_capacity_j_per_k=1.5e6,
        mass_coupling_w_per_k=100.0,
        loss_w_per_k=90.0,
        sensor_lag_s=60.0,
    ),
    "weak_actuators": RoomModel(heater_w=700.0, cooler_w=800.0),
    "strong_actuators_slow_sensor": RoomModel(
        capacity_j_per_k=0.5e6,
        mass_capacity_j_per_k=3.0e6,
        mass_coupling_w_per_k=150.0,
        heater_w=2500.0,
        cooler_w=2500.0,
        sensor_lag_s=300.0,
    ),
    "fast_sensor": RoomModel(sensor_lag_s=1.0, sensor_offsets_c=(0.0, 0.3, -0.2)),
}


class Setup(StrEnum):
    """Which actuators the room has."""

    HEATER = "heater"
    COOLER = "cooler"
    FAN = "fan"  # a window fan alone: cools only while the outside air is cooler
    BOTH = "both"  # heater and cooler

    @property
    def roles(self) -> tuple[Role, ...]:
        """The actuator roles this setup has."""
        if self is Setup.BOTH:
            return (Role.HEATER, Role.COOLER)
        return (Role(self.value),)


class Controller(StrEnum):
    """Who drives the actuators."""

    OURS = "ours"
    GENERIC = "generic"


@dataclass(frozen=True, slots=True)
class NightResult:
    """How one night went, measured on the true air temperature against the scheduled band."""

    in_band_share: float
    outside_degree_min: float
    switches_per_h: float
    # Heating started within REVERSAL_WINDOW_S of cooling stopping, or the other way round.
    reversals: int = 0
    learned: tuple[tuple[str, float | int | None], ...] = ()  # what our controller learned


# A change of direction this soon after the other direction stopped is heating and cooling
# against each other.
REVERSAL_WINDOW_S = 1800.0


class GenericThermostat:
    """HA generic_thermostat's control rule for one switch (heater, or cooler/fan in ac_mode)."""

    def __init__(
        self,
        *,
        ac_mode: bool,
        cold_tolerance_c: float,
        hot_tolerance_c: float,
        min_cycle_duration_s: float,
        cycle_cooldown_s: float,
    ) -> None:
        self.ac_mode = ac_mode
        self.cold_tolerance_c = cold_tolerance_c
        self.hot_tolerance_c = hot_tolerance_c
        self.min_cycle_duration_s = min_cycle_duration_s
        self.cycle_cooldown_s = cycle_cooldown_s
        self.target_c: float | None = None
        self.cur_c: float | None = None
        self.on = False
        self._last_toggled = -math.inf
        self._check_at: float | None = None  # HA's `_check_callback`

    def set_target(self, target_c: float, now: float) -> None:
        """A new target temperature: decide at once, ignoring the cycle limits."""
        self.target_c = target_c
        self._control(now, force=True)

    def sensor_changed(self, temp_c: float, now: float) -> None:
        """The sensor entity's state changed."""
        self.cur_c = temp_c
        self._control(now, force=False)

    def timer(self, now: float) -> None:
        """Run the re-check HA scheduled when a cycle limit held a switch back."""
        if self._check_at is not None and now >= self._check_at:
            self._check_at = None
            self._control(now, force=False)

    def _control(self, now: float, *, force: bool) -> None:
        if self.target_c is None or self.cur_c is None:
            return
        too_cold = self.target_c > self.cur_c + self.cold_tolerance_c
        too_hot = self.target_c < self.cur_c - self.hot_tolerance_c
        if self.on:
            if (self.ac_mode and too_cold) or (not self.ac_mode and too_hot):
                if self._last_toggled + self.min_cycle_duration_s <= now or force:
                    self._toggle(False, now)
                elif self._check_at is None:
                    self._check_at = self._last_toggled + self.min_cycle_duration_s
        elif (self.ac_mode and too_hot) or (not self.ac_mode and too_cold):
            if self._last_toggled + self.cycle_cooldown_s <= now or force:
                self._toggle(True, now)
            elif self._check_at is None:
                self._check_at = self._last_toggled + self.cycle_cooldown_s

    def _toggle(self, on: bool, now: float) -> None:
        self.on = on
        self._last_toggled = now
        self._check_at = None


class SimulatedRoom:
    """The simulated air, actuator outputs and sensors."""

    def __init__(self, model: RoomModel, weather: Weather, seed: int) -> None:
        self.model = model
        self.weather = weather
        self.air_c = weather.room_start_c
        self.mass_c = weather.room_start_c
        self.heat_w = 0.0
        self.cool_w = 0.0
        self.sensed_c = [weather.room_start_c + off for off in model.sensor_offsets_c]
        self._rng = random.Random(seed)

    def advance(self, dt_s: float, local_hours: float, on: dict[Role, bool]) -> None:
        """Move the air and the sensors `dt_s` on, with the actuators in `on` running."""
        m = self.model
        heater, cooler = on[Role.HEATER], on[Role.COOLER]
        exchange_w_per_k = m.loss_w_per_k + (m.fan_w_per_k if on[Role.FAN] else 0.0)
        lag = 1 - math.exp(-dt_s / m.actuator_lag_s)
        self.heat_w += ((m.heater_w if heater else 0.0) - self.heat_w) * lag
        self.cool_w += ((m.cooler_w if cooler else 0.0) - self.cool_w) * lag
        outside_c = self.weather.outside_c(local_hours)
        power_w = (
            exchange_w_per_k * (outside_c - self.air_c) + m.occupant_w + self.heat_w - self.cool_w
        )
        if m.mass_capacity_j_per_k > 0:
            to_mass_w = m.mass_coupling_w_per_k * (self.air_c - self.mass_c)
            power_w -= to_mass_w
            self.mass_c += to_mass_w * dt_s / m.mass_capacity_j_per_k
        self.air_c += power_w * dt_s / m.capacity_j_per_k
        follow = 1 - math.exp(-dt_s / m.sensor_lag_s)
        for i, offset in enumerate(m.sensor_offsets_c):
            self.sensed_c[i] += (self.air_c + offset - self.sensed_c[i]) * follow

    def read(self, i: int) -> float:
        """What sensor `i` reports now: lagged, noisy, rounded as a device would."""
        m = self.model
        noisy = self.sensed_c[i] + self._rng.gauss(0.0, m.sensor_noise_c)
        return round(noisy / m.sensor_step_c) * m.sensor_step_c


def _apply(intents: Sequence[ComfortIntent], on: dict[Role, bool]) -> None:
    for intent in intents:
        if isinstance(intent, SwitchActuator):
            on[intent.role] = intent.on


def run_night(
    controller: Controller,
    weather: Weather,
    setup: Setup,
    seed: int,
    *,
    settings: ComfortSettings | None = None,
    tolerance_c: float = 0.3,
    model: RoomModel | None = None,
    tz_name: str = "Europe/London",
    learned: Mapping[str, float | int | None] | None = None,
) -> NightResult:
    """Simulate and score 21:30-08:00 local against the scheduled bands.

    `learned` is what our controller learned of this room on an earlier night (as the service
    keeps it in its history); the result carries what it knows after this one.
    """
    settings = settings or ComfortSettings()
    tz = ZoneInfo(tz_name)
    evening = datetime.fromisoformat(weather.day).date()
    start = datetime.combine(evening, time(21, 30), tzinfo=tz).timestamp()
    end = start + 10.5 * 3600.0
    room = SimulatedRoom(model or RoomModel(), weather, seed)
    on = dict.fromkeys(Role, False)
    specs = [ActuatorSpec(role, role) for role in setup.roles]
    ours = ComfortController(_ROOM, specs, settings, tz)
    if learned is not None:
        ours.restore_learned(learned)
    generic = [
        (
            role,
            GenericThermostat(
                ac_mode=role is not Role.HEATER,
                cold_tolerance_c=tolerance_c,
                hot_tolerance_c=tolerance_c,
                min_cycle_duration_s=settings.min_on_s,
                cycle_cooldown_s=settings.min_off_s,
            ),
        )
        for role in setup.roles
    ]
    last_sensor_c: float | None = None
    in_band_s = outside_deg_s = 0.0
    toggles = reversals = 0
    stopped = {"heat": -math.inf, "cool": -math.inf}  # when each direction last stopped
    now = start
    while now < end:
        readings = []
        if (now - start) % _REPORT_S == 0:
            readings = [
                TemperatureReading(_ROOM, f"s{i}", now, room.read(i))
                for i in range(len(room.model.sensor_offsets_c))
            ]
        before = dict(on)
        band = band_at(settings, now, tz)
        if controller is Controller.OURS:
            _apply(ours.step(readings, now), on)
        else:
            for role, thermostat in generic:
                if thermostat.target_c != band.mid_c:
                    thermostat.set_target(band.mid_c, now)  # the schedule, as an HA automation
                if readings:
                    # HA's min_max sensor (median) over the same sensors; a state change only
                    # when the rounded value changes, as HA's state machine does.
                    fused = round(statistics.median(r.temp_c for r in readings), 1)
                    if fused != last_sensor_c:
                        thermostat.sensor_changed(fused, now)
                thermostat.timer(now)
                on[role] = thermostat.on
            if readings:
                last_sensor_c = round(statistics.median(r.temp_c for r in readings), 1)
        toggles += sum(on[role] != before[role] for role in on)
        for role in on:
            if on[role] == before[role]:
                continue
            heats = role is Role.HEATER
            if on[role]:
                other = stopped["cool" if heats else "heat"]
                reversals += now - other < REVERSAL_WINDOW_S
            else:
                stopped["heat" if heats else "cool"] = now
        local = datetime.fromtimestamp(now, tz)
        room.advance(_DT_S, local.hour + local.minute / 60, on)
        below = max(0.0, band.low_c - room.air_c)
        above = max(0.0, room.air_c - band.high_c)
        outside_deg_s += (below + above) * _DT_S
        in_band_s += _DT_S if below == above == 0.0 else 0.0
        now += _DT_S
    return NightResult(
        in_band_share=in_band_s / (end - start),
        outside_degree_min=outside_deg_s / 60.0,
        switches_per_h=toggles / ((end - start) / 3600.0),
        reversals=reversals,
        learned=tuple(ours.learned().items()) if controller is Controller.OURS else (),
    )
