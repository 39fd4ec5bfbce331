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
- a good rules reload → `rules_reloaded`;
- the night tracker opening / closing a night → `night_start` / `night_end`.
While a night is open, a `NightAccumulator` takes every temperature (with the band), event,
action, bed-accelerometer batch and rejection; when the night closes its `NightSummary`
(compared with the last `HISTORY_NIGHTS`) goes out with the outputs.
What the room decides goes out as intents (`integration.core.intents`); the shell's
`translate`, given at construction, says which actions each becomes, so the night summary
counts what went out. A `SetBand` intent from an automation becomes a `BandOverride` for the
controller at once. That can re-enter: the new band moves the room across an edge, which
signals automations again. The controller's own intents are never a `SetBand`, and an
automation fires at most once per room and instant (its cooldown is positive), so a chain ends;
`MAX_BAND_CHAIN` fences it all the same. Comfort steps on every temperature and every
`COMFORT_STEP_S` of ticks.

Invariants: no I/O, no clock; state is bounded by the number of sensors (and one night's
per-minute aggregates). `snapshot()`/`restore()` carry the night across a restart.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from integration.core.automations import AutomationEngine, RoomContext, Signal, SignalKind
from integration.core.comfort import (
    LATE_INPUT_S,
    ActuatorSpec,
    BandOverride,
    ComfortController,
    ComfortInput,
    PauseSwitch,
    State,
)
from integration.core.detectors import RoomMotionDetector
from integration.core.events import MovementEvent, MovementKind, Notice, WhyValue
from integration.core.intents import Intent, Notify, SetBand, Translate
from integration.core.localtime import iso
from integration.core.night import BoundaryKind, NightBoundary, NightTracker
from integration.core.readings import (
    AccelSamples,
    ContactReading,
    Reading,
    TemperatureReading,
    Tick,
)
from integration.core.rules import RuleSet
from integration.core.summary import (
    HISTORY_NIGHTS,
    MinuteRecord,
    NightAccumulator,
    NightSummary,
    render_text,
)

_LOGGER = logging.getLogger(__name__)

# The controller's decisions change on minutes (min on/off times, staleness); every 10 s of
# ticks is prompt enough and keeps a replayed night fast.
COMFORT_STEP_S = 10.0
# While the room stays outside its band, say so again this often, so `for_s` triggers fire.
SIDE_REPEAT_S = 60.0
# Automations setting bands that signal automations that set bands: deeper than this is a loop.
MAX_BAND_CHAIN = 8

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
    intents: list[Intent] = field(default_factory=list)
    summaries: list[NightSummary] = field(default_factory=list)
    # A night's summary so far, on request: shown as tonight so far, never kept as a night.
    so_far: list[NightSummary] = field(default_factory=list)
    minutes: list[MinuteRecord] = field(default_factory=list)  # a closed night's, for history
    nights: list[NightBoundary] = field(default_factory=list)


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
        translate: Translate,
        partner_sensors: frozenset[str] = frozenset(),
    ) -> None:
        self.room = room
        self._translate = translate
        self.name = name
        self._partner_sensors = partner_sensors  # accelerometers under the partner's side
        self.detector = RoomMotionDetector(room, rules.detection, partner_sensors)
        self.comfort = ComfortController(room, actuators, rules.comfort, zone)
        self.automations = AutomationEngine(rules.automations.root, zone)
        self._rules = rules
        self._sensors = {watch.sensor_id: watch for watch in sensors}
        self._last_seen: dict[str, float] = {}
        self._listening_since: float | None = None  # the first tick: when silence starts to count
        self._stale: set[str] = set()
        self._side: SignalKind | None = None
        self._side_said_at = 0.0
        self._last_comfort_step: float | None = None
        self._in_bed = self.detector.in_bed
        self._zone = zone
        self.night = NightTracker(room, rules.night, zone)
        self.accumulator: NightAccumulator | None = None
        self.history: deque[NightSummary] = deque(maxlen=HISTORY_NIGHTS)
        self._bed_sensor: str | None = None  # the accelerometer whose activity is scored
        self.restless = False
        self.spasms_tonight = 0
        self._band_chain = 0  # automation bands being applied, one inside the other

    def status(self, now: float) -> dict[str, WhyValue]:
        """The room's live state; yes/no values are booleans (None: not known)."""
        temperature, band = self.comfort.status(now)
        override = band.name == "override"
        return {
            "temperature_c": None if temperature is None else round(temperature, 2),
            "band_low_c": band.low_c,
            "band_high_c": band.high_c,
            "comfort_status": str(self.comfort.state),
            "in_bed": self.detector.in_bed,
            "restless": self.restless,
            "sensor_problem": bool(self._stale or self.detector.flat_sensors)
            or self.comfort.fault is not None
            or self.comfort.failing(now),
            "spasms_tonight": self.spasms_tonight,
            "paused": self.comfort.state is State.PAUSED,
            "override_low_c": band.low_c if override else None,
            "override_high_c": band.high_c if override else None,
            "window_open": self.comfort.window_open,
            **self.learned_status(),
        }

    def learned_status(self) -> dict[str, WhyValue]:
        """What the comfort controller learned of the room, for HA's diagnostic entities."""
        learned = self.comfort.learned()

        def rounded(key: str, scale: float = 1.0) -> float | None:
            value = learned.get(key)
            return None if value is None else round(float(value) * scale, 2)

        updated = learned.get("updated_at")
        return {
            "heating_rate_c_per_h": rounded("heat_rate_c_per_h"),
            "cooling_rate_c_per_h": rounded("cool_rate_c_per_h"),
            "room_lag_min": rounded("lag_s", 1 / 60),
            "heating_overshoot_c": rounded("heat_stop"),
            "cooling_overshoot_c": rounded("cool_stop"),
            "learned_at": None if updated is None else iso(float(updated), self._zone),
        }

    def set_band_edge(self, edge: str, value_c: float, now: float, out: Outputs) -> None:
        """One edge of tonight's band from HA's number entity; the other edge stays."""
        _, band = self.comfort.status(now)
        low, high = (value_c, band.high_c) if edge == "low" else (band.low_c, value_c)
        self.set_band(low, high, now, out)

    def summary_now(self, now: float, out: Outputs) -> None:
        """A summary of the night so far, on request; the night itself goes on."""
        if self.accumulator is None:
            return
        snapshot = self.accumulator.snapshot()
        summary = self.accumulator.finish(now, tuple(self.history))
        self.accumulator = NightAccumulator.restore(snapshot)
        out.so_far.append(summary)
        at = datetime.fromtimestamp(now, self._zone).strftime("%H:%M")
        title = f"{self.name}: tonight so far ({at})"
        why: dict[str, WhyValue] = {"rule": "summary_now", "night": summary.night_date}
        out.intents.append(
            Notify(self.room, now, title, render_text(summary), None, why, key="so_far")
        )

    def remember(self, summaries: Iterable[NightSummary]) -> None:
        """Earlier nights (oldest first), for the morning summary's comparison."""
        self.history.extend(summaries)

    def snapshot(self) -> dict[str, Any]:
        """The open night's state, JSON-able, so a restart mid-night loses nothing."""
        accumulator = self.accumulator.snapshot() if self.accumulator is not None else None
        return {
            "tracker": self.night.snapshot(),
            "accumulator": accumulator,
            "spasms_tonight": self.spasms_tonight,
            "episodes": self.detector.episodes.snapshot(),
            "comfort_learned": self.comfort.learned(),  # the room as the controller knows it
        }

    def restore(self, snapshot: Mapping[str, Any], now: float | None = None) -> None:
        """Take back the state `snapshot()` saved before a restart.

        A night that began after `now` is not this timeline's (the clock was set back, or a
        demo replays an earlier evening): the room starts with no night open rather than
        resume it.
        """
        learned = snapshot.get("comfort_learned")
        if isinstance(learned, Mapping):
            self.comfort.restore_learned(learned)
        night = NightTracker.restore(self.room, self._rules.night, self._zone, snapshot["tracker"])
        if now is not None and (night.open_bed_time or -math.inf) > now:
            _LOGGER.warning(
                "room %s: the saved night began after the present time; not resumed", self.room
            )
            return
        self.night = night
        if self.night.open_bed_time is not None and snapshot.get("accumulator"):
            self.accumulator = NightAccumulator.restore(snapshot["accumulator"])
            self.spasms_tonight = int(snapshot.get("spasms_tonight", 0))
            if "episodes" in snapshot:  # absent from snapshots saved before it was kept
                self.detector.episodes.restore(snapshot["episodes"])
                self.restless = self.detector.episodes.in_episode

    def end_of_input(self, now: float, out: Outputs) -> None:
        """A recording ended mid-night: summarise the night up to its last message."""
        if self.accumulator is None:
            return
        self._close_night(now, now, out)
        self.night = NightTracker(self.room, self._rules.night, self._zone)

    def rejected(self, sensor_id: str, reason: str, t: float) -> None:
        """A message of this room's sensor that gave no reading: data quality of the night."""
        if self.accumulator is not None:
            if sensor_id in self._sensors:
                self.accumulator.sensor_seen(sensor_id, t)
            self.accumulator.add_rejected(reason)

    def feed(self, reading: Reading, now: float, out: Outputs) -> None:
        """One parsed reading of this room."""
        self._last_seen[reading.sensor_id] = reading.t
        if reading.sensor_id in self._stale:
            self._stale.discard(reading.sensor_id)
        accumulator = self.accumulator
        if accumulator is not None and reading.sensor_id in self._sensors:
            accumulator.sensor_seen(reading.sensor_id, reading.t)
        if isinstance(reading, AccelSamples):
            if reading.sensor_id not in self._partner_sensors:
                self._bed_sensor = self._bed_sensor or reading.sensor_id
            if accumulator is not None and reading.sensor_id == self._bed_sensor:
                accumulator.add_motion(reading)
        self._detected(self.detector.feed(reading), now, out)
        if isinstance(reading, ContactReading):
            self._step_comfort([reading], now, out)
        elif isinstance(reading, TemperatureReading):
            self._step_comfort([reading], now, out)
            temperature, band = self.comfort.status(now)
            if self.accumulator is not None and temperature is not None:
                self.accumulator.add_temperature(now, temperature, band.low_c, band.high_c)

    def tick(self, now: float, out: Outputs) -> None:
        """Time passing: close movements, check staleness, keep the controller going."""
        self._detected(self.detector.tick(now), now, out)
        self._nights(self.night.tick(now), out)
        self._check_stale(now, out)
        last = self._last_comfort_step
        # A clock set back (by hand, NTP) must not stall the controller until it catches up.
        if last is None or not -LATE_INPUT_S <= now - last < COMFORT_STEP_S:
            self._step_comfort([Tick(now)], now, out)

    def replace_rules(self, rules: RuleSet, now: float, out: Outputs) -> None:
        """Good new rules: swap them in, keep what was learnt where settings did not change."""
        if rules.detection != self._rules.detection:
            self.detector = RoomMotionDetector(self.room, rules.detection, self._partner_sensors)
        if rules.night != self._rules.night:  # the open night carries over
            self.night = NightTracker.restore(
                self.room, rules.night, self._zone, self.night.snapshot()
            )
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
            if self.accumulator is not None:
                self.accumulator.add_event(event)
            if event.spasm_like:
                self.spasms_tonight += 1
                self._signal(SignalKind.SPASM, now, out, event.kind)
            elif event.kind in _EPISODE_SIGNALS:
                self.restless = event.kind is MovementKind.RESTLESS_START
                self._signal(_EPISODE_SIGNALS[event.kind], now, out)
        in_bed = self.detector.in_bed
        if in_bed == self._in_bed:
            return
        if in_bed is False and self._in_bed is True:
            self._signal(SignalKind.OUT_OF_BED, now, out)
        self._in_bed = in_bed
        if self.accumulator is not None:
            self.accumulator.in_bed(now, in_bed)
        self._nights(self.night.observe(now, in_bed), out)

    def _nights(self, boundaries: list[NightBoundary], out: Outputs) -> None:
        for boundary in boundaries:
            out.nights.append(boundary)
            if boundary.kind is BoundaryKind.OPENED:
                self.spasms_tonight = 0
                self._open_night(boundary)
                self._signal(SignalKind.NIGHT_START, boundary.t, out)
            elif boundary.kind is BoundaryKind.DISCARDED:
                self.accumulator = None  # a lie-down, not a night
            elif self.accumulator is not None and boundary.wake_time is not None:
                self._close_night(boundary.wake_time, boundary.t, out)
                self._signal(SignalKind.NIGHT_END, boundary.t, out)

    def _close_night(self, wake_time: float, now: float, out: Outputs) -> None:
        """Finish the open night: its summary, its minutes for history, the comparison window."""
        assert self.accumulator is not None  # noqa: S101 - callers check
        summary = self.accumulator.finish(wake_time, tuple(self.history))
        out.minutes.extend(self.accumulator.minutes(summary.bed_time, summary.wake_time))
        self.accumulator = None
        self.history.append(summary)
        self._summarised(summary, now, out)

    def _summarised(self, summary: NightSummary, now: float, out: Outputs) -> None:
        """Out with the summary, and tell the person in plain words in HA."""
        out.summaries.append(summary)
        title = f"{self.name}: the night of {summary.night_date}"
        why: dict[str, WhyValue] = {"rule": "morning_summary", "night": summary.night_date}
        service = self._rules.night.summary_notify_service
        key = f"summary_{summary.night_date}"  # each night's summary stays until dismissed
        out.intents.append(Notify(self.room, now, title, render_text(summary), service, why, key))

    def _open_night(self, boundary: NightBoundary) -> None:
        # Only steady reporters can leave a gap: silence is normal for occupancy and vibration.
        self.accumulator = NightAccumulator(
            self.room,
            self.name,
            boundary.bed_time,
            self._zone,
            sensors=self._sensors,
            gap_s_by_id={w.sensor_id: w.stale_after_s for w in self._sensors.values()},
        )
        self.accumulator.in_bed(boundary.t, self.detector.in_bed)

    def _step_comfort(self, inputs: Sequence[ComfortInput], now: float, out: Outputs) -> None:
        self._last_comfort_step = now
        self._took(self.comfort.step(inputs, now), out)
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

    def _took(self, intents: Sequence[Intent], out: Outputs) -> None:
        """Out with what the controller or an automation decided; apply an automation's band."""
        for intent in intents:
            out.intents.append(intent)
            if self.accumulator is not None:
                for action in self._translate(intent):
                    self.accumulator.add_action(action)
            if isinstance(intent, SetBand):
                self._apply_band(intent, out)

    def _apply_band(self, intent: SetBand, out: Outputs) -> None:
        """An automation's band, applied at once, unless band changes are chasing each other."""
        if self._band_chain >= MAX_BAND_CHAIN:
            _LOGGER.warning(
                "room %s: band %.1f-%.1f from %s not applied: %d band changes in a chain",
                self.room,
                intent.low_c,
                intent.high_c,
                intent.why.get("rule"),
                self._band_chain,
            )
            return
        self._band_chain += 1
        try:
            self.set_band(intent.low_c, intent.high_c, intent.t, out)
        finally:
            self._band_chain -= 1

    def _check_stale(self, now: float, out: Outputs) -> None:
        """A watched sensor silent past its limit: once since it last spoke, or since we listen.

        A sensor that never spoke at all is the likelier mistake (a wrong topic, a board never
        flashed), and says so, rather than leaving a night with no bed data unexplained.
        """
        if self._listening_since is None:
            self._listening_since = now
        for sensor_id, watch in self._sensors.items():
            last = self._last_seen.get(sensor_id)
            silent_since = self._listening_since if last is None else last
            if sensor_id in self._stale or now - silent_since <= watch.stale_after_s:
                continue
            self._stale.add(sensor_id)
            minutes = (now - silent_since) / 60
            message = (
                f"no reading for {minutes:.0f} min; check its battery and radio"
                if last is not None
                else f"not heard from in the {minutes:.0f} min since the service started: "
                "is it powered, and publishing on the topic the config gives it?"
            )
            code = "sensor_stale" if last is not None else "sensor_never_seen"
            out.notices.append(Notice(self.room, sensor_id, now, code, message))
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
        self._took(self.automations.handle(signal, context), out)
