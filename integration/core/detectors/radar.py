"""One mmWave presence sensor's moving-target energy: movements and a notice, never a spasm.

Theory of operation
-------------------
What the sensor says. An FMCW radar such as the HLK-LD2410 splits its range into gates of
0.75 m and reports, for the strongest moving and still targets, their distance and an "energy"
of 0-100; a target counts as moving when the energy at its gate exceeds that gate's move
threshold, 50/50/40/30/20/15/15/15/15 from the factory (HLK-LD2410 user manual and serial
protocol; the same defaults in Tasmota's HLK-LD2410 page). The module streams frames several
times a second, but ESPHome's `ld2410` component passes on at most one a `throttle` (1 s by
default) and publishes each sensor only when its value changed (esphome.io/components/sensor/
ld2410; `LD2410Component::handle_periodic_data_`). So a reading is a step that holds until the
next one, about once a second while anything moves and rarely when nothing does. Radar sees
body-part *motion* (Doppler), not posture: a held stiffening or a new resting position returns
little moving energy, and the tracker smooths over several frames, so a report shows motion
~0.5-1 s old (`mmwave_latency_s`). Zigbee2MQTT's Aqara FP1E gives only a movement state,
which the parser reads as 0 or 100; the same rules then apply.

States: REST -> MOVING when the held energy reaches `baseline + mmwave_onset_energy`;
MOVING -> REST once it has stayed below `baseline + mmwave_offset_energy` for `mmwave_hold_s`
(checked on readings and ticks, on the arrival clock: reports carry no time of their own). The
baseline is the 30th percentile of the last `BASELINE_WINDOW_S` seconds of held energy while at
rest (the accelerometer's quiet-baseline rule), so a sensor that reads 3 over a sleeper and one
that reads 12 both work. Differences, not ratios: resting energy is near 0.
A movement's start is its first high report less one report period and the latency (the motion
that report describes began then); its end is the first low report less the same.

What it cannot see: the shape. One value a second is a 0.5 Hz Nyquist limit: a jerk (0.2-3 s),
a train of clonus beats (3-8 Hz) and a turnover rise and fall alike. Every movement is
`movement`, never spasm-like, and a notice says so once a night per sensor. Its movements can
still feed restless episodes (see `episodes.py`), and its presence, configured as an occupancy
sensor, gives out-of-bed.
Invariants: state is a few floats and a ring of at most `BASELINE_WINDOW_S` values; no clock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from integration.core.detectors.settings import DetectionSettings
from integration.core.events import MovementEvent, MovementKind, Notice

# Resting energy is learnt over this much held time (one value a second), as the
# accelerometer's quiet baseline is over 10 minutes.
BASELINE_WINDOW_S = 600
BASELINE_PERCENTILE = 0.3
# Until this many seconds of rest are known the baseline is the quietest value seen so far.
BASELINE_MIN_S = 30
# Held values filled in at most this far back after a silence (a sensor reporting on change
# may say nothing for minutes; the value held all along).
_FILL_MAX_S = BASELINE_WINDOW_S
# The capability notice again after this long: once a night, for a service that runs for weeks.
NOTICE_AGAIN_S = 12 * 3600.0
NOTICE_CODE = "mmwave_shape_unseen"
NOTICE_MESSAGE = (
    "an mmWave sensor sees movement, not its shape: restlessness and out-of-bed only "
    "(jerks, clonus and periodic limb movements need an accelerometer)"
)


@dataclass(slots=True)
class _Open:
    """A movement under way."""

    first_high_t: float
    peak: float
    baseline: float
    below_since: float | None = None


class RadarChannel:
    """Movements of one mmWave sensor from its moving-target energy reports."""

    def __init__(self, room: str, sensor_id: str, settings: DetectionSettings) -> None:
        self.room = room
        self.sensor_id = sensor_id
        self.s = settings
        self._energy: float | None = None  # the value held since the last report
        self._held_to: float | None = None  # the baseline ring is filled up to here
        self._rest: deque[float] = deque(maxlen=BASELINE_WINDOW_S)
        self._open: _Open | None = None
        self._noticed_at = -math.inf

    @property
    def baseline(self) -> float:
        """The resting moving energy: a low percentile of recent quiet seconds."""
        if not self._rest:
            return 0.0 if self._energy is None else self._energy
        ordered = sorted(self._rest)
        if len(ordered) < BASELINE_MIN_S:
            return ordered[0]
        return ordered[int(BASELINE_PERCENTILE * (len(ordered) - 1))]

    @property
    def moving(self) -> bool:
        """A movement is under way."""
        return self._open is not None

    def feed(self, t: float, energy: float) -> list[MovementEvent | Notice]:
        """Events a report completes (a movement that ended, the capability notice)."""
        out: list[MovementEvent | Notice] = []
        if t - self._noticed_at >= NOTICE_AGAIN_S:
            self._noticed_at = t
            out.append(Notice(self.room, self.sensor_id, t, NOTICE_CODE, NOTICE_MESSAGE))
        out += self.tick(t)
        self._hold_until(t)
        self._energy = energy
        s = self.s
        base = self.baseline if self._open is None else self._open.baseline
        if self._open is None:
            if energy >= base + s.mmwave_onset_energy:
                self._open = _Open(t, energy, base)
        elif energy >= base + s.mmwave_offset_energy:
            self._open.below_since = None
            self._open.peak = max(self._open.peak, energy)
        elif self._open.below_since is None:
            self._open.below_since = t
        return out

    def tick(self, now: float) -> list[MovementEvent | Notice]:
        """Close a movement whose energy has stayed low for the hold."""
        current = self._open
        if current is None or current.below_since is None:
            return []
        if now - current.below_since < self.s.mmwave_hold_s:
            return []
        self._open = None
        return [self._event(current)]

    def _hold_until(self, t: float) -> None:
        """Add the held value for each whole second up to `t` to the resting ring, if at rest."""
        if self._held_to is None or self._energy is None:
            self._held_to = t
            return
        seconds = int(t - self._held_to)
        if seconds <= 0:
            return
        self._held_to += seconds
        if self._open is None:
            self._rest.extend([self._energy] * min(seconds, _FILL_MAX_S))

    def _event(self, mv: _Open) -> MovementEvent:
        s = self.s
        lag = s.mmwave_report_s + s.mmwave_latency_s
        start = mv.first_high_t - lag
        end = max(start, (mv.below_since or mv.first_high_t) - lag)
        return MovementEvent(
            room=self.room,
            kind=MovementKind.MOVEMENT,
            start=start,
            end=end,
            peak=round(mv.peak / max(mv.baseline, 1.0), 2),  # times the resting energy
            confidence=0.5,  # movement is certain; which movement it was is not known
            spasm_like=False,
            why={
                "rule": "mmwave_energy",
                "sensor": self.sensor_id,
                "peak_energy": round(mv.peak, 1),
                "resting_energy": round(mv.baseline, 1),
                "onset_energy": s.mmwave_onset_energy,
                "offset_energy": s.mmwave_offset_energy,
                "hold_s": s.mmwave_hold_s,
                "latency_s": s.mmwave_latency_s,
                "shape_known": False,
            },
        )
