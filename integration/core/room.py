"""One room's decisions: movement detection, comfort control and automations, wired together.

Theory of operation
-------------------
The pipeline parses messages into readings and hands each room its own; `RoomCore` feeds them
to the motion detector and (temperatures) to the comfort controller, then turns what those
saw into automation `Signal`s:
- a spasm-like event → `spasm`; restless start/end → the same; the detector's bed belief
  going from in bed to out → `out_of_bed` at once (the `out_of_bed` *event* only closes when
  the person is back, too late for a night light);
- the fused temperature against the band in force → `temperature_above_band` / `_below_band`
  on each change of side and again every `SIDE_REPEAT_S` while outside (so `for_s` can be
  reached), `temperature_in_band` on coming back;
- a sensor silent longer than its staleness limit → `sensor_stale` once, plus a Notice;
- a good rules reload → `rules_reloaded`.
A `set_comfort_band` action from an automation becomes a `BandOverride` for the controller
at once. Comfort steps on every temperature and every `COMFORT_STEP_S` of ticks.

Invariants: no I/O, no clock; state is bounded by the number of sensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from integration.core.automations import AutomationEngine, RoomContext, Signal, SignalKind
from integration.core.comfort import (
    ActuatorSpec,
    BandOverride,
    ComfortController,
    ComfortInput,
    PauseSwitch,
)
from integration.core.detectors import RoomMotionDetector
from integration.core.events import Action, ActionKind, MovementEvent, MovementKind, Notice
from integration.core.readings import Reading, TemperatureReading, Tick
from integration.core.rules import RuleSet

# The controller's decisions change on minutes (min on/off times, staleness); every 10 s of
# ticks is prompt enough and keeps a replayed night fast.
COMFORT_STEP_S = 10.0
# While the room stays outside its band, say so again this often, so `for_s` triggers fire.
SIDE_REPEAT_S = 60.0

_EPISODE_SIGNALS = {
    MovementKind.RESTLESS_START: SignalKind.RESTLESS_START,
    MovementKind.RESTLESS_END: SignalKind.RESTLESS_END,
}


@dataclass(slots=True)
class Outputs:
    """What one input produced, across rooms."""

    readings: list[Reading] = field(default_factory=list)
    events: list[MovementEvent] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SensorWatch:
    """A sensor of the room and how long it may stay silent before it counts as stale."""

    sensor_id: str
    stale_after_s: float


class RoomCore:
    """Detector, comfort controller and automations of one room, fed readings and ticks."""

    def __init__(
        self,
        room: str,
        name: str,
        actuators: Sequence[ActuatorSpec],
        sensors: Sequence[SensorWatch],
        rules: RuleSet,
        zone: ZoneInfo,
    ) -> None:
        self.room = room
        self.name = name
        self.detector = RoomMotionDetector(room, rules.detection)
        self.comfort = ComfortController(room, actuators, rules.comfort, zone)
        self.automations = AutomationEngine(rules.automations.root, zone)
        self._rules = rules
        self._sensors = {watch.sensor_id: watch for watch in sensors}
        self._last_seen: dict[str, float] = {}
        self._stale: set[str] = set()
        self._side: SignalKind | None = None
        self._side_said_at = 0.0
        self._last_comfort_step: float | None = None
        self._in_bed = self.detector.in_bed

    def feed(self, reading: Reading, now: float, out: Outputs) -> None:
        """One parsed reading of this room."""
        self._last_seen[reading.sensor_id] = reading.t
        if reading.sensor_id in self._stale:
            self._stale.discard(reading.sensor_id)
        self._detected(self.detector.feed(reading), now, out)
        if isinstance(reading, TemperatureReading):
            self._step_comfort([reading], now, out)

    def tick(self, now: float, out: Outputs) -> None:
        """Time passing: close movements, check staleness, keep the controller going."""
        self._detected(self.detector.tick(now), now, out)
        self._check_stale(now, out)
        if self._last_comfort_step is None or now - self._last_comfort_step >= COMFORT_STEP_S:
            self._step_comfort([Tick(now)], now, out)

    def replace_rules(self, rules: RuleSet, now: float, out: Outputs) -> None:
        """Good new rules: swap them in, keep what was learnt where settings did not change."""
        if rules.detection != self._rules.detection:
            self.detector = RoomMotionDetector(self.room, rules.detection)
        # The controller keeps what it commanded, so an actuator is never left on unknowingly.
        self.comfort.settings = rules.comfort
        self.automations.reload(rules.automations.root)
        self._rules = rules
        self._signal(SignalKind.RULES_RELOADED, now, out)

    def set_band(self, low_c: float | None, high_c: float | None, now: float, out: Outputs) -> None:
        """A person's band for the rest of the night (both None returns to the schedule)."""
        self._step_comfort([BandOverride(self.room, now, low_c, high_c)], now, out)

    def pause(self, paused: bool, now: float, out: Outputs) -> None:
        """A person's pause switch for comfort actions."""
        self._step_comfort([PauseSwitch(self.room, now, paused)], now, out)

    def _detected(self, produced: list[MovementEvent | Notice], now: float, out: Outputs) -> None:
        for item in produced:
            if isinstance(item, Notice):
                out.notices.append(item)
                continue
            event = replace(item, detected_at=now)
            out.events.append(event)
            if event.spasm_like:
                self._signal(SignalKind.SPASM, now, out, event.kind)
            elif event.kind in _EPISODE_SIGNALS:
                self._signal(_EPISODE_SIGNALS[event.kind], now, out)
        in_bed = self.detector.in_bed
        if in_bed is False and self._in_bed is True:
            self._signal(SignalKind.OUT_OF_BED, now, out)
        self._in_bed = in_bed

    def _step_comfort(self, inputs: Sequence[ComfortInput], now: float, out: Outputs) -> None:
        self._last_comfort_step = now
        self._comfort_actions(self.comfort.step(inputs, now), now, out)
        temperature, band = self.comfort.status(now)
        if temperature is None:
            return
        if temperature > band.high_c:
            side = SignalKind.TEMPERATURE_ABOVE_BAND
        elif temperature < band.low_c:
            side = SignalKind.TEMPERATURE_BELOW_BAND
        else:
            side = SignalKind.TEMPERATURE_IN_BAND
        repeat = side is not SignalKind.TEMPERATURE_IN_BAND and (
            now - self._side_said_at >= SIDE_REPEAT_S
        )
        if side is not self._side or repeat:
            self._side = side
            self._side_said_at = now
            self._signal(side, now, out)

    def _comfort_actions(self, actions: list[Action], now: float, out: Outputs) -> None:
        for action in actions:
            out.actions.append(action)
            if action.kind is ActionKind.SET_TARGET:
                low, high = action.data.get("low_c"), action.data.get("high_c")
                if isinstance(low, int | float) and isinstance(high, int | float):
                    self.set_band(float(low), float(high), now, out)

    def _check_stale(self, now: float, out: Outputs) -> None:
        for sensor_id, last in self._last_seen.items():
            watch = self._sensors.get(sensor_id)
            if watch is None or sensor_id in self._stale or now - last <= watch.stale_after_s:
                continue
            self._stale.add(sensor_id)
            minutes = (now - last) / 60
            out.notices.append(
                Notice(
                    self.room,
                    sensor_id,
                    now,
                    "sensor_stale",
                    f"no reading for {minutes:.0f} min; check its battery and radio",
                )
            )
            self._signal(SignalKind.SENSOR_STALE, now, out)

    def _signal(
        self,
        kind: SignalKind,
        now: float,
        out: Outputs,
        movement_kind: MovementKind | None = None,
    ) -> None:
        temperature, band = self.comfort.status(now)
        context = RoomContext(
            room=self.room,
            room_name=self.name,
            in_bed=self.detector.in_bed,
            temperature_c=temperature,
            band_low_c=band.low_c,
            band_high_c=band.high_c,
        )
        signal = Signal(self.room, now, kind, movement_kind)
        self._comfort_actions(self.automations.handle(signal, context), now, out)
