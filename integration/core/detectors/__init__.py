"""Bed-motion detection per room: readings in, movement events and notices out.

Theory of operation (this first cut covers occupancy and event-style vibration sensors only;
the accelerometer path — jerk, clonus, PLM, turnover — is not written yet and ignores samples):

States: in bed (True/False/None unknown), an open vibration burst (first, last report time).
- OccupancyReading False while in bed → remember the leaving time; True → emit `out_of_bed`
  (start = leaving, end = return), emitted at return.
- VibrationReading → extends the open burst if within `vibration_merge_s` of its last report,
  else closes it (emits `movement`) and opens a new one; `tick` closes a burst once the merge
  time has passed. A vibration sensor reports no raw signal, so a burst cannot be told apart
  from a normal movement: `movement` is not spasm-like.
Invariants: state is a few floats per room (bounded memory); no clock is read.
"""

from __future__ import annotations

from integration.core.detectors.settings import DetectionSettings
from integration.core.events import MovementEvent, MovementKind, Notice
from integration.core.readings import OccupancyReading, Reading, VibrationReading

__all__ = ["DetectionSettings", "RoomMotionDetector"]


class RoomMotionDetector:
    """Detects movement in one room's bed from its motion, vibration and occupancy readings."""

    def __init__(self, room: str, settings: DetectionSettings) -> None:
        self.room = room
        self.settings = settings
        self.in_bed: bool | None = None
        self._left_at: float | None = None
        self._burst: tuple[float, float, int] | None = None  # first, last, reports

    def feed(self, reading: Reading) -> list[MovementEvent | Notice]:
        """Events a reading completes; readings of other kinds are ignored."""
        out: list[MovementEvent | Notice] = []
        if isinstance(reading, OccupancyReading):
            if not reading.occupied and self.in_bed is not False:
                self._left_at = reading.t
            elif reading.occupied and self._left_at is not None:
                out.append(
                    self._event(MovementKind.OUT_OF_BED, self._left_at, reading.t, "occupancy")
                )
                self._left_at = None
            self.in_bed = reading.occupied
        elif isinstance(reading, VibrationReading):
            out.extend(self.tick(reading.t))
            first, _, count = self._burst or (reading.t, reading.t, 0)
            self._burst = (first, reading.t, count + 1)
        return out

    def tick(self, now: float) -> list[MovementEvent | Notice]:
        """Close a vibration burst once no report came for the merge time."""
        if self._burst is None or now - self._burst[1] < self.settings.vibration_merge_s:
            return []
        first, last, count = self._burst
        self._burst = None
        return [self._event(MovementKind.MOVEMENT, first, last, "vibration_burst", count)]

    def _event(
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
