"""Bed-motion detection per room: readings in, movement events and notices out.

Theory of operation
-------------------
Sans-I/O: the pipeline calls `feed(reading)` for every reading of the room and `tick(now)` once a
second; both return what became known. Three sources, each optional, so detection degrades
gracefully:
- Accelerometers (any number, keyed by `sensor_id`): each has its own `AccelChannel` (gravity
  removal, RMS envelope, adaptive baseline, on/off thresholds, classification; see `accel.py`).
  Movements then pass the room rules of `episodes.py` (PLM series, restless episodes). When two
  accelerometers report overlapping movements, the first reported stands for both.
- Event-style vibration sensors: reports closer than `vibration_merge_s` form one burst, emitted
  as `movement` once the merge time passed; with no raw signal a burst is not spasm-like.
- mmWave presence sensors' moving-target energy (`radar.py`): movements of unknown shape, never
  spasm-like, with a notice once a night saying so. With no live accelerometer in the room they
  are reported, and those no longer than a limb movement (`plm_max_s`, 10 s: WASM/IRLSSG; longer
  is repositioning or getting up) count towards restless episodes; while one streams, it sees the same
  movements with their shape, and the radar's are dropped (its presence still counts, as an
  occupancy sensor).
- Occupancy: False while in bed remembers the leaving time; True emits `out_of_bed` (start =
  leaving, end = return). Without an occupancy sensor, an accelerometer losing the body's
  micro-motion for `out_of_bed_after_s` gives the same event when it comes back.
`in_bed` is the occupancy sensor's last word when there is one, else the accelerometers'
micro-motion belief. Movements seen while the bed is believed empty are not reported (getting
back in is not a spasm): gating by "in bed" is what keeps bed-sensor false alarms down.

Emission bound, on the samples' clock: a movement's event is returned at most
`MAX_EMISSION_DELAY_S` (6 s) of sample time after the end it reports, once the batch holding
those samples has arrived, for batches of up to 1 s; `emission_delay_bound_s(settings)` is the
exact figure and settings that would exceed the promise are refused. Late batches add their
lateness; a sensor that stops mid-movement is closed after `LATE_DELIVERY_S` of silence. PLM candidates are the
exception: they are held until their series is confirmed or broken, at most
`plm_hold_bound_s(settings)` (271 s with the defaults); `plm_series`, `restless_end` and
`out_of_bed` are emitted when they end, by definition.
Invariants: per-room state is bounded by the number of sensors; no clock is read.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

from integration.core.detectors.accel import Absence, AccelChannel, Movement
from integration.core.detectors.episodes import Episodes, plm_hold_bound_s
from integration.core.detectors.radar import RadarChannel
from integration.core.detectors.settings import (
    LATE_DELIVERY_S,
    MAX_EMISSION_DELAY_S,
    DetectionSettings,
    emission_delay_bound_s,
)
from integration.core.events import MovementEvent, MovementKind, Notice
from integration.core.readings import (
    AccelSamples,
    MovementEnergyReading,
    OccupancyReading,
    Reading,
    VibrationReading,
)

# Movements of the partner's sensor remembered, and of ours held, while the other side catches up.
PARTNER_MEMORY = 64
# A movement is the partner's when their sensor felt it no later than this after ours (a wave
# through a mattress takes milliseconds; onsets are judged on noisy envelopes) ...
PARTNER_LEAD_S = 0.25
# ... and at least as strongly (the other side receives it attenuated through the mattress).
PARTNER_STRONGER = 1.0
PARTNER_OVERLAP_S = 0.5

__all__ = [
    "MAX_EMISSION_DELAY_S",
    "ChannelFigures",
    "DetectionSettings",
    "RoomMotionDetector",
    "emission_delay_bound_s",
    "plm_hold_bound_s",
]


@dataclass(frozen=True, slots=True)
class ChannelFigures:
    """What one accelerometer's channel has learnt of its sensor, read-only, for a person."""

    resting_rms_g: float  # the baseline: RMS of the residual at rest; 0 until learnt
    duplicate_batches: int  # dropped: delivered twice
    late_batches: int  # refused: later than the reorder window waits
    flat: bool  # sending a flat line (a sensor fault)


class RoomMotionDetector:
    """Detects movement in one room's bed from its motion, vibration and occupancy readings."""

    def __init__(
        self, room: str, settings: DetectionSettings, partner_sensors: frozenset[str] = frozenset()
    ) -> None:
        self.room = room
        self.settings = settings
        self.partner_sensors = partner_sensors
        self._partner_moves: deque[Movement] = deque(maxlen=PARTNER_MEMORY)
        # Held until the partner's sensor has judged their time; bounded by `_route`, which
        # reports the oldest on what is known so far rather than drop it.
        self._awaiting: deque[Movement] = deque()
        self._occupied: bool | None = None  # the occupancy sensor's last word
        self._left_at: float | None = None
        self._burst: tuple[float, float, int] | None = None  # first, last, reports
        self._channels: dict[str, AccelChannel] = {}
        self._radars: dict[str, RadarChannel] = {}
        self._episodes = Episodes(room, settings)
        self._last_movement: tuple[str, float] | None = None  # sensor, end
        self._episodes_now = -math.inf

    @property
    def in_bed(self) -> bool | None:
        """Best current belief: occupancy if the room has it, else accelerometer micro-motion."""
        if self._occupied is not None:
            return self._occupied
        beliefs = [
            c.present
            for c in self._channels.values()
            if c.present is not None and c.sensor_id not in self.partner_sensors
        ]
        return any(beliefs) if beliefs else None

    @property
    def flat_sensors(self) -> frozenset[str]:
        """Accelerometers sending a flat line (identical samples): a sensor fault."""
        return frozenset(c.sensor_id for c in self._channels.values() if c.flat)

    def feed(self, reading: Reading) -> list[MovementEvent | Notice]:
        """Events a reading completes; readings of other kinds are ignored."""
        if isinstance(reading, AccelSamples):
            channel = self._channels.get(reading.sensor_id)
            if channel is None:
                channel = AccelChannel(self.room, reading.sensor_id, self.settings)
                self._channels[reading.sensor_id] = channel
            found = channel.feed(reading.t, reading.rate_hz, reading.x_g, reading.y_g, reading.z_g)
            if reading.sensor_id in self.partner_sensors:
                return self._partner_side(found)
            return self._route(found) if found else []
        if isinstance(reading, MovementEnergyReading):
            radar = self._radars.get(reading.sensor_id)
            if radar is None:
                radar = RadarChannel(self.room, reading.sensor_id, self.settings)
                self._radars[reading.sensor_id] = radar
            return self._radar_found(radar.feed(reading.t, reading.energy_pct))
        out: list[MovementEvent | Notice] = []
        if isinstance(reading, OccupancyReading):
            if not reading.occupied and self._occupied is not False:
                self._left_at = reading.t
            elif reading.occupied and self._left_at is not None:
                out.append(
                    self._vibration_or_occupancy(
                        MovementKind.OUT_OF_BED, self._left_at, reading.t, "occupancy"
                    )
                )
                self._left_at = None
            self._occupied = reading.occupied
        elif isinstance(reading, VibrationReading):
            out.extend(self._close_burst(reading.t))
            first, _, count = self._burst or (reading.t, reading.t, 0)
            self._burst = (first, reading.t, count + 1)
        return out

    def channel_figures(self, sensor_id: str) -> ChannelFigures | None:
        """The accelerometer `sensor_id` as its channel sees it; None before its first reading."""
        channel = self._channels.get(sensor_id)
        if channel is None:
            return None
        return ChannelFigures(
            channel.baseline, channel.duplicate_batches, channel.late_batches, channel.flat
        )

    @property
    def episodes(self) -> Episodes:
        """The room's PLM chain and restless episode, for a snapshot across restarts."""
        return self._episodes

    def tick(self, now: float) -> list[MovementEvent | Notice]:
        """Close what time alone completes: bursts, stalled movements, series, episodes."""
        out: list[MovementEvent | Notice] = list(self._close_burst(now))
        for channel in self._channels.values():
            found = channel.tick(now)
            if channel.sensor_id in self.partner_sensors:
                out += self._partner_side(found)
            elif found:
                out += self._route(found)
        for radar in self._radars.values():
            out += self._radar_found(radar.tick(now))
        out += self._episodes.tick(self._sample_now(now))
        return out

    def _radar_found(self, found: list[MovementEvent | Notice]) -> list[MovementEvent | Notice]:
        """An mmWave sensor's movements, when nothing better sees them, and its notices."""
        out: list[MovementEvent | Notice] = []
        for item in found:
            if isinstance(item, Notice):
                out.append(item)
            elif self.in_bed is not False and not self._accelerometer_live():
                if item.end - item.start <= self.settings.plm_max_s:
                    out += self._episodes.counted_movement(item)
                else:  # longer than a limb movement: repositioning, getting up (WASM/IRLSSG)
                    out.append(item)
        return out

    def _accelerometer_live(self) -> bool:
        """An accelerometer under the person streams: it sees movements with their shape."""
        return any(
            not c.stopped and c.last_t is not None
            for c in self._channels.values()
            if c.sensor_id not in self.partner_sensors
        )

    def _sample_now(self, now: float) -> float:
        """How far the room's samples have got: the clock that ends series and episodes.

        Batches arrive late and unevenly; judging by the arrival clock would end a PLM series or
        a restless episode while its next movement is still on its way. A sensor that stopped
        sending no longer holds the others back. Never goes backwards.
        """
        reached = [
            c.last_t for c in self._channels.values() if not c.stopped and c.last_t is not None
        ]
        if reached:
            sample_now = min(reached)
        elif self._channels:
            sample_now = now - LATE_DELIVERY_S
        else:
            sample_now = now
        self._episodes_now = max(self._episodes_now, sample_now)
        return self._episodes_now

    def _route(self, found: list[Movement | Absence | Notice]) -> list[MovementEvent | Notice]:
        out: list[MovementEvent | Notice] = []
        for item in found:
            if isinstance(item, Notice):
                out.append(item)
            elif isinstance(item, Absence):
                if self._occupied is None:  # an occupancy sensor already reports getting up
                    out.append(self._absence_event(item))
            elif self.partner_sensors:
                if len(self._awaiting) >= PARTNER_MEMORY:  # a partner sensor far behind
                    out += self._report(self._attribute(self._awaiting.popleft()))
                self._awaiting.append(item)
            else:
                out += self._report(item)
        if self._awaiting:
            out += self._release()
        return out

    def _report(self, mv: Movement) -> list[MovementEvent]:
        if self.in_bed is False or self._duplicate(mv):
            return []
        self._last_movement = (mv.sensor_id, mv.end)
        return self._episodes.movement(mv)

    def _partner_side(
        self, found: list[Movement | Absence | Notice]
    ) -> list[MovementEvent | Notice]:
        """The partner's sensor is evidence only: its movements say what was the partner's."""
        out: list[MovementEvent | Notice] = [item for item in found if isinstance(item, Notice)]
        self._partner_moves.extend(item for item in found if isinstance(item, Movement))
        if self._awaiting:
            out += self._release()
        return out

    def _release(self) -> list[MovementEvent | Notice]:
        """Report held movements once every partner sensor has judged the same stretch of time."""
        out: list[MovementEvent | Notice] = []
        partners = [c for c in self._channels.values() if c.sensor_id in self.partner_sensors]
        while self._awaiting:
            mv = self._awaiting[0]
            if not all(c.stopped or c.covered(mv.end) for c in partners):
                break
            self._awaiting.popleft()
            out += self._report(self._attribute(mv))
        return out

    def _attribute(self, mv: Movement) -> Movement:
        """The partner's, when their side felt it first (or together) and more strongly."""
        for other in self._partner_moves:
            overlaps = other.start < mv.end + PARTNER_OVERLAP_S and mv.start < other.end
            if (
                overlaps
                and other.start <= mv.start + PARTNER_LEAD_S
                and other.peak_g >= mv.peak_g * PARTNER_STRONGER
            ):
                return replace(
                    mv,
                    kind=MovementKind.MOVEMENT,
                    cause="partner",
                    evidence=(
                        ("partner_sensor_peak_g", round(other.peak_g, 4)),
                        ("our_sensor_peak_g", round(mv.peak_g, 4)),
                        ("partner_felt_first_by_s", round(mv.start - other.start, 3)),
                        ("partner_sensor", 1.0),
                    ),
                )
        return mv

    def _duplicate(self, mv: Movement) -> bool:
        """Another accelerometer already reported this movement."""
        if self._last_movement is None:
            return False
        sensor, end = self._last_movement
        return sensor != mv.sensor_id and mv.start <= end + self.settings.offset_hold_s

    def _close_burst(self, now: float) -> list[MovementEvent]:
        if self._burst is None or now - self._burst[1] < self.settings.vibration_merge_s:
            return []
        first, last, count = self._burst
        self._burst = None
        return [
            self._vibration_or_occupancy(
                MovementKind.MOVEMENT, first, last, "vibration_burst", count
            )
        ]

    def _vibration_or_occupancy(
        self, kind: MovementKind, start: float, end: float, rule: str, reports: int = 1
    ) -> MovementEvent:
        return MovementEvent(
            room=self.room,
            kind=kind,
            start=start,
            end=end,
            peak=1.0,  # no raw signal, so no multiple of a baseline
            confidence=1.0,
            spasm_like=False,
            why={"rule": rule, "merge_s": self.settings.vibration_merge_s, "reports": reports},
        )

    def _absence_event(self, absence: Absence) -> MovementEvent:
        s = self.settings
        return MovementEvent(
            room=self.room,
            kind=MovementKind.OUT_OF_BED,
            start=absence.start,
            end=absence.end,
            peak=1.0,
            confidence=0.8,  # micro-motion loss is indirect evidence; occupancy would be 1.0
            spasm_like=False,
            why={
                "rule": "micro_motion_lost",
                "sensor": absence.sensor_id,
                "absent_ratio": s.absent_ratio,
                "out_of_bed_after_s": s.out_of_bed_after_s,
                "back_in_bed_after_s": s.back_in_bed_after_s,
                "in_bed_micro_motion_g": round(absence.reference, 6),
                "back_micro_motion_g": round(absence.level, 6),
            },
        )
