"""Hand-made accelerometer signals with known answers, and ways to feed them to a detector."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from integration.core.detectors import RoomMotionDetector
from integration.core.events import MovementEvent, Notice
from integration.core.readings import AccelSamples

ROOM = "bedroom"
T0 = 1_700_000_000.0  # an epoch-seconds night start; any value works

Vector = tuple[float, float, float]
Overlay = Callable[[float], Vector]


@dataclass
class Bed:
    """A person lying on an under-mattress accelerometer: gravity, breathing, heartbeat, noise.

    Overlays (movements) add to the residual; turnovers rotate gravity; `away` spans remove the
    body's micro-motion.
    """

    rate_hz: float = 50.0
    noise_g: float = 0.001
    breathing_g: float = 0.004
    heartbeat_g: float = 0.0008
    seed: int = 1
    overlays: list[tuple[float, float, Overlay]] = field(default_factory=list)
    rotations: list[tuple[float, float, float]] = field(default_factory=list)  # start, dur, deg
    away: list[tuple[float, float]] = field(default_factory=list)

    def jerk(self, at: float, duration_s: float, amp_g: float = 0.08) -> Bed:
        """Sharp-onset broadband burst that decays over its duration."""
        rng = random.Random(hash((at, duration_s)))
        phases = [rng.uniform(0, 2 * math.pi) for _ in range(9)]

        def shape(t: float) -> Vector:
            u = (t - at) / duration_s
            a = amp_g * (1.0 - 0.6 * u)
            v = [a * math.sin(2 * math.pi * (7 + 3.1 * k) * t + phases[k]) / 2.0 for k in range(3)]
            w = [
                a * math.sin(2 * math.pi * (11 + 4.3 * k) * t + phases[3 + k]) / 2.0
                for k in range(3)
            ]
            return (v[0] + w[0], v[1] + w[1], v[2] + w[2])

        self.overlays.append((at, duration_s, shape))
        return self

    def limb(self, at: float, duration_s: float, amp_g: float = 0.05) -> Bed:
        """A limb movement: smooth rise and fall of broadband motion (a PLM-like kick)."""

        def shape(t: float) -> Vector:
            a = amp_g * math.sin(math.pi * (t - at) / duration_s)
            return (
                a * math.sin(2 * math.pi * 2.3 * t) * 0.7 + a * math.sin(2 * math.pi * 9.7 * t),
                a * math.sin(2 * math.pi * 1.7 * t + 1.0),
                a * 0.5 * math.sin(2 * math.pi * 13.1 * t + 2.0),
            )

        self.overlays.append((at, duration_s, shape))
        return self

    def clonus(
        self, at: float, duration_s: float, beat_hz: float = 5.0, amp_g: float = 0.06
    ) -> Bed:
        """Rhythmic beating at `beat_hz`."""

        def shape(t: float) -> Vector:
            s = amp_g * math.sin(2 * math.pi * beat_hz * (t - at))
            return (s, 0.4 * s, 0.2 * s)

        self.overlays.append((at, duration_s, shape))
        return self

    def turnover(self, at: float, duration_s: float, degrees: float = 40.0) -> Bed:
        """Rolling over: gravity rotates smoothly while the body shuffles."""
        self.rotations.append((at, duration_s, degrees))

        def shape(t: float) -> Vector:
            a = 0.03 * math.sin(math.pi * (t - at) / duration_s)
            return (a * math.sin(2 * math.pi * 0.9 * t), a * math.sin(2 * math.pi * 1.3 * t), 0.0)

        self.overlays.append((at, duration_s, shape))
        return self

    def leave(self, at: float, duration_s: float) -> Bed:
        """Nobody in bed: only sensor noise."""
        self.away.append((at, at + duration_s))
        return self

    def sample(self, t: float, rng: random.Random) -> Vector:
        """The acceleration in g at `t` seconds from the start."""
        angle = 0.0
        for start, dur, deg in self.rotations:
            if t >= start + dur:
                angle += deg
            elif t > start:
                angle += deg * (1 - math.cos(math.pi * (t - start) / dur)) / 2
        rad = math.radians(angle)
        x, y, z = math.sin(rad), 0.0, math.cos(rad)
        if not any(a <= t < b for a, b in self.away):
            x += self.breathing_g * 0.3 * math.sin(2 * math.pi * 0.25 * t)
            z += self.breathing_g * math.sin(2 * math.pi * 0.25 * t)
            y += self.heartbeat_g * math.sin(2 * math.pi * 1.1 * t)
        for start, dur, shape in self.overlays:
            if start <= t < start + dur:
                dx, dy, dz = shape(t)
                x, y, z = x + dx, y + dy, z + dz
        n = self.noise_g
        return (x + rng.gauss(0, n), y + rng.gauss(0, n), z + rng.gauss(0, n))

    def batches(
        self,
        duration_s: float,
        batch: int = 25,
        gaps: tuple[tuple[float, float], ...] = (),
        rate_changes: tuple[tuple[float, float], ...] = (),
        sensor_id: str = "acc",
    ) -> Iterator[AccelSamples]:
        """The signal as batches (batch=1 gives single samples with rate None)."""
        rng = random.Random(self.seed)
        t = 0.0
        while t < duration_s:
            rate = next((r for at, r in reversed(rate_changes) if t >= at), self.rate_hz)
            for a, b in gaps:
                if a <= t < b:
                    t = b
            xs, ys, zs = [], [], []
            for i in range(batch):
                x, y, z = self.sample(t + i / rate, rng)
                xs.append(x)
                ys.append(y)
                zs.append(z)
            yield AccelSamples(
                ROOM,
                sensor_id,
                T0 + t,
                rate if batch > 1 else None,
                tuple(xs),
                tuple(ys),
                tuple(zs),
            )
            t += batch / rate


def run(
    bed: Bed,
    duration_s: float,
    detector: RoomMotionDetector,
    **batching: object,
) -> tuple[list[MovementEvent], list[Notice], list[float]]:
    """Feed a signal with one tick a second; events, notices and each event's emission delay."""
    events: list[MovementEvent] = []
    notices: list[Notice] = []
    delays: list[float] = []
    next_tick = T0 + 1.0
    for reading in bed.batches(duration_s, **batching):  # type: ignore[arg-type]
        produced = []
        while next_tick <= reading.t:
            produced += [(next_tick, p) for p in detector.tick(next_tick)]
            next_tick += 1.0
        last_sample_t = reading.t + (len(reading.x_g) - 1) / (reading.rate_hz or 1.0)
        produced += [(last_sample_t, p) for p in detector.feed(reading)]
        for now, item in produced:
            if isinstance(item, MovementEvent):
                events.append(item)
                delays.append(now - item.end)
            else:
                notices.append(item)
    end = T0 + duration_s + 400.0
    while next_tick <= end:
        for item in detector.tick(next_tick):
            if isinstance(item, MovementEvent):
                events.append(item)
                delays.append(next_tick - item.end)
            else:
                notices.append(item)
        next_tick += 1.0
    return events, notices, delays


def kinds(events: list[MovementEvent]) -> list[str]:
    """Event kinds in order."""
    return [str(e.kind) for e in events]
