"""The last minute of each motion sensor's signal, for a person placing a bed sensor.

Theory of operation
-------------------
Per sample (device time `t + i / rate_hz`): |a| in g; a running mean of it (an exponential
mean over `MEAN_TAU_S`, so gravity and a slow tilt vanish); the deviation from that mean in mg,
which is what a tap on the mattress moves. Deviations are kept at `POINT_HZ`: per bin of
1 / `POINT_HZ` s, the one of largest magnitude (a 20 ms tap survives; a plain decimation would
often skip it). The finished bins of the last `WINDOW_S` seconds of device time sit in a ring
(`deque(maxlen=...)`), the open one beside it.
Per batch: its arrival time and sample count join a short ring, from which the measured rate
comes (samples after the first arrival over the time they took to arrive), beside the rate the
batch declares.
Invariants: memory per sensor is fixed (`MAX_POINTS` points, `RATE_BATCHES` arrivals); sensors
not configured as motion sensors are ignored. A sample older than the open bin (a late or
re-sent batch) is skipped here (the detector reorders; this view does not); one more than
`WINDOW_S` before the newest restarts the ring (the device clock stepped back), and one more
than `GAP_RESET_S` after it restarts the mean (the sensor was away).

Counts (messages, rejections, drops) and the resting level are not kept here: the service
reads them from the pipeline and the detector when a page is drawn (`figures`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from integration.core.readings import AccelSamples, Reading

__all__ = ["LiveSensor", "LiveSignal", "SensorFigures", "SensorView"]

WINDOW_S = 60.0  # what a person looks back on while placing the sensor: a minute
POINT_HZ = 10.0  # a tap stays visible, and a minute is a few hundred points in the page
MAX_POINTS = round(WINDOW_S * POINT_HZ)  # the bins of a minute, the open one among them
# The running mean of |a| forgets within seconds: a new resting position settles to 0 at once.
MEAN_TAU_S = 1.0
GAP_RESET_S = 5.0  # after a silence this long the mean starts afresh
RATE_BATCHES = 11  # arrivals the measured rate is taken over: ten one-second batches


@dataclass(frozen=True, slots=True)
class LiveSensor:
    """A configured motion sensor: where it is and the topic it is heard on."""

    room: str
    room_name: str
    sensor_id: str
    topic: str

    @property
    def key(self) -> str:
        """`room/sensor`, as `/healthz` names sensors."""
        return f"{self.room}/{self.sensor_id}"


@dataclass(frozen=True, slots=True)
class SensorFigures:
    """What the pipeline and the detector know of one sensor since start."""

    messages: int = 0  # messages on its topic that were read
    rejected: int = 0  # refused by the parser (malformed, out of range, ...)
    # Dropped unread (its topic flooding) or after reading (a batch delivered twice, or later
    # than the detector can wait for), by reason
    dropped: Mapping[str, int] = field(default_factory=dict)
    resting_mg: float | None = None  # the detector's resting RMS; None until learnt
    flat: bool = False  # the detector sees a flat line: identical samples, a stuck sensor


@dataclass(frozen=True, slots=True)
class SensorView:
    """One sensor's last minute and figures, as the live page and `/api/live` show them."""

    sensor: LiveSensor
    figures: SensorFigures
    # (seconds before the newest sample, deviation of |a| from its running mean in mg), oldest first
    points: tuple[tuple[float, float], ...]
    latest_t: float | None  # device time of the newest sample; None: never heard
    heard_s_ago: float | None  # since the last batch arrived (service clock)
    declared_rate_hz: float | None  # what the last batch said; None for single samples
    measured_rate_hz: float | None  # from arrivals; None until two have come

    @property
    def peak_mg(self) -> float:
        """The largest deviation in the window, either way."""
        return max((abs(v) for _, v in self.points), default=0.0)


class _Trace:
    """One sensor's ring of downsampled deviations, its running mean and its arrivals."""

    __slots__ = (
        "arrivals",
        "bin_index",
        "bin_value",
        "declared_rate_hz",
        "last_t",
        "mean_g",
        "points",
    )

    def __init__(self) -> None:
        # (bin index, floor(t * POINT_HZ); mg): indices, so bins line up exactly
        self.points: deque[tuple[int, float]] = deque(maxlen=MAX_POINTS)
        self.bin_index: int | None = None  # the open bin, floor(t * POINT_HZ)
        self.bin_value = 0.0
        self.mean_g: float | None = None
        self.last_t: float | None = None
        self.declared_rate_hz: float | None = None
        self.arrivals: deque[tuple[float, int]] = deque(maxlen=RATE_BATCHES)  # (arrival, samples)

    def take(self, arrived_t: float, samples: AccelSamples) -> None:
        n = len(samples.x_g)
        self.arrivals.append((arrived_t, n))
        self.declared_rate_hz = samples.rate_hz
        step = 1.0 / samples.rate_hz if samples.rate_hz else 0.0
        for i, (x, y, z) in enumerate(zip(samples.x_g, samples.y_g, samples.z_g, strict=False)):
            self._sample(samples.t + i * step, math.sqrt(x * x + y * y + z * z))

    def _sample(self, t: float, magnitude_g: float) -> None:
        last_t = self.last_t
        if last_t is not None and t < last_t - WINDOW_S:
            self._restart()  # the device clock stepped back: a new timeline
            last_t = None
        index = math.floor(t * POINT_HZ)
        if self.bin_index is not None and index < self.bin_index:
            return  # older than the open bin: a late or re-sent batch
        mean = self.mean_g
        if mean is None or last_t is None or t - last_t > GAP_RESET_S:
            mean = magnitude_g
        else:
            dt = max(t - last_t, 0.0)
            mean += dt / (MEAN_TAU_S + dt) * (magnitude_g - mean)
        self.mean_g = mean
        self.last_t = t if last_t is None else max(t, last_t)
        deviation_mg = (magnitude_g - mean) * 1000.0
        if index != self.bin_index:
            self._close_bin()
            self.bin_index, self.bin_value = index, deviation_mg
        elif abs(deviation_mg) > abs(self.bin_value):
            self.bin_value = deviation_mg

    def _restart(self) -> None:
        self.points.clear()
        self.bin_index = None
        self.mean_g = self.last_t = None

    def _close_bin(self) -> None:
        if self.bin_index is not None:
            self.points.append((self.bin_index, self.bin_value))

    def window(self) -> tuple[tuple[float, float], ...]:
        """The last `WINDOW_S` of points, the open bin too, as seconds before the newest."""
        newest = self.bin_index
        if newest is None:
            return ()
        every = [*self.points, (newest, self.bin_value)]
        return tuple(((i - newest) / POINT_HZ, v) for i, v in every if newest - i < MAX_POINTS)

    def measured_rate_hz(self) -> float | None:
        if len(self.arrivals) < 2:
            return None
        span = self.arrivals[-1][0] - self.arrivals[0][0]
        samples = sum(n for _, n in self.arrivals) - self.arrivals[0][1]
        return samples / span if span > 0 else None


class LiveSignal:
    """Per configured motion sensor, the last minute of its signal; fed every reading."""

    def __init__(
        self,
        sensors: Sequence[LiveSensor],
        figures: Callable[[], Mapping[str, SensorFigures]] = dict,
    ) -> None:
        self.sensors = tuple(sensors)
        self._figures = figures
        self._traces = {sensor.key: _Trace() for sensor in self.sensors}

    def take(self, arrived_t: float, readings: Iterable[Reading]) -> None:
        """One message's readings, stamped `arrived_t`; all but motion samples are ignored."""
        for reading in readings:
            if isinstance(reading, AccelSamples):
                trace = self._traces.get(f"{reading.room}/{reading.sensor_id}")
                if trace is not None:
                    trace.take(arrived_t, reading)

    def view(self, now: float) -> list[SensorView]:
        """Every configured motion sensor as it stands at `now` (the service clock)."""
        figures = self._figures()
        views = []
        for sensor in self.sensors:
            trace = self._traces[sensor.key]
            views.append(
                SensorView(
                    sensor=sensor,
                    figures=figures.get(sensor.key, SensorFigures()),
                    points=trace.window(),
                    latest_t=trace.last_t,
                    heard_s_ago=max(0.0, now - trace.arrivals[-1][0]) if trace.arrivals else None,
                    declared_rate_hz=trace.declared_rate_hz,
                    measured_rate_hz=trace.measured_rate_hz(),
                )
            )
        return views
