"""What a Home Assistant user has today: any vibration above a fixed threshold is an event.

The HA recipe: a `filter` sensor with a `lowpass` holds each axis's resting value, a template
binary sensor is on while the acceleration is more than a threshold away from it (per-axis
change, so a push sideways counts as much as one along gravity), and `delay_off` makes one
burst one event. Every event is taken as a spasm: a fixed threshold cannot tell a turnover
from a jerk. The threshold is 0.02 g because that is where a user ends up by hand: common MEMS
accelerometers (ADXL345, MPU-6050) sit at 3-5 mg rms at these rates, so 0.02 g is the lowest
round figure that stays off in a quiet bed, and breathing (a few mg) never trips it. It is not
retuned per sensor: on a noisy one (10 mg) it fires all night, as it would at home.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from integration.adapters.payloads import parse_payload
from integration.config import ServiceConfig
from integration.core.events import MovementEvent, MovementKind
from integration.core.readings import AccelSamples, SensorKind
from integration.messages import InboundMessage

THRESHOLD_G = 0.02  # lowest round figure above a quiet MEMS sensor's noise (see above)
MERGE_S = 2.0  # HA `delay_off: 2 s`: samples above threshold closer than this are one event
RESTING_TAU_S = 2.0  # the lowpass's time constant: slow enough to keep the resting value


class ThresholdBaseline:
    """Fixed-threshold movement events from one bed's accelerometer samples."""

    def __init__(
        self, room: str, threshold_g: float = THRESHOLD_G, merge_s: float = MERGE_S
    ) -> None:
        self.room = room
        self.threshold_g = threshold_g
        self.merge_s = merge_s
        self._open: tuple[float, float, float] | None = None  # first, last, peak excess in g
        self._resting: tuple[float, float, float] | None = None  # lowpass of each axis
        self._last_t: float | None = None

    def feed(self, samples: AccelSamples) -> list[MovementEvent]:
        """Events closed by these samples (a burst closes when `merge_s` passes quietly)."""
        out: list[MovementEvent] = []
        period = 1.0 / samples.rate_hz if samples.rate_hz else 0.0
        for i, (x, y, z) in enumerate(zip(samples.x_g, samples.y_g, samples.z_g, strict=True)):
            t = samples.t + i * period
            if self._open is not None and t - self._open[1] > self.merge_s:
                out.append(self._event(*self._open))
                self._open = None
            excess = self._change(t, x, y, z)
            if excess > self.threshold_g:
                first, _, peak = self._open or (t, t, 0.0)
                self._open = (first, t, max(peak, excess))
        return out

    def _change(self, t: float, x: float, y: float, z: float) -> float:
        """Distance from the resting value in g, then the lowpass takes the sample in."""
        if self._resting is None or self._last_t is None:
            self._resting, self._last_t = (x, y, z), t
            return 0.0
        rx, ry, rz = self._resting
        change = math.sqrt((x - rx) ** 2 + (y - ry) ** 2 + (z - rz) ** 2)
        weight = min(1.0, max(0.0, t - self._last_t) / RESTING_TAU_S)
        self._resting = (rx + (x - rx) * weight, ry + (y - ry) * weight, rz + (z - rz) * weight)
        self._last_t = t
        return change

    def finish(self) -> list[MovementEvent]:
        """The burst still open at the end of the recording."""
        if self._open is None:
            return []
        event = self._event(*self._open)
        self._open = None
        return [event]

    def _event(self, first: float, last: float, peak: float) -> MovementEvent:
        return MovementEvent(
            room=self.room,
            kind=MovementKind.MOVEMENT,
            start=first,
            end=last,
            peak=peak / self.threshold_g,
            confidence=1.0,
            spasm_like=True,
            why={"rule": "fixed_threshold", "threshold_g": self.threshold_g},
            detected_at=last + self.merge_s,  # when HA's delay_off turns the sensor off
        )


def baseline_events(
    messages: Iterable[InboundMessage], config: ServiceConfig
) -> list[MovementEvent]:
    """The baseline's events over a recording, from every configured accelerometer."""
    specs = {s.topic: s for s in config.sensor_specs() if s.kind is SensorKind.MOTION}
    detectors = {spec.topic: ThresholdBaseline(spec.room) for spec in specs.values()}
    events: list[MovementEvent] = []
    for message in messages:
        spec = specs.get(message.topic)
        if spec is None:
            continue
        parsed = parse_payload(spec, message.payload, message.t)
        if isinstance(parsed, list):
            for reading in parsed:
                if isinstance(reading, AccelSamples):
                    events.extend(detectors[spec.topic].feed(reading))
    for detector in detectors.values():
        events.extend(detector.finish())
    return sorted(events, key=lambda e: e.start)
