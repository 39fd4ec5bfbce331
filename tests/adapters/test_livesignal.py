"""The live view's per-sensor minute: bounded, downsampled, timed by the samples, counted."""

from __future__ import annotations

import pytest

from integration.adapters.livesignal import (
    MAX_POINTS,
    POINT_HZ,
    RATE_BATCHES,
    WINDOW_S,
    LiveSensor,
    LiveSignal,
    SensorFigures,
)
from integration.core.readings import AccelSamples, TemperatureReading

BED = LiveSensor("bedroom", "Bedroom", "bed", "bedsensor/bed/accel")
T0 = 1_764_962_400.0


def batch(
    t0: float, z: list[float], rate_hz: float | None = 50.0, sensor: str = "bed"
) -> AccelSamples:
    n = len(z)
    return AccelSamples("bedroom", sensor, t0, rate_hz, (0.0,) * n, (0.0,) * n, tuple(z))


def rest(seconds: int, signal: LiveSignal, start: float = T0, rate: int = 50) -> None:
    """`seconds` one-second batches at rest (|a| = 1 g), each arriving as it ends."""
    for second in range(seconds):
        signal.take(start + second + 1, [batch(start + second, [1.0] * rate, float(rate))])


def test_a_sensor_never_heard_has_no_points_and_no_rates() -> None:
    (view,) = LiveSignal([BED]).view(T0)
    assert view.points == ()
    assert view.latest_t is None
    assert view.heard_s_ago is None
    assert view.measured_rate_hz is None
    assert view.declared_rate_hz is None
    assert view.peak_mg == 0.0
    assert view.figures == SensorFigures()


def test_no_motion_sensor_configured_gives_an_empty_view() -> None:
    assert LiveSignal([]).view(T0) == []


def test_the_ring_holds_a_minute_at_ten_points_a_second_whatever_the_input() -> None:
    signal = LiveSignal([BED])
    rest(300, signal)  # five minutes of 50 Hz
    (view,) = signal.view(T0 + 300)
    assert len(view.points) <= MAX_POINTS
    assert len(view.points) == WINDOW_S * POINT_HZ
    assert view.points[0][0] >= -WINDOW_S
    assert view.points[-1][0] == 0.0
    steps = {round(b[0] - a[0], 6) for a, b in zip(view.points, view.points[1:], strict=False)}
    assert steps == {round(1 / POINT_HZ, 6)}


def test_a_tap_of_one_sample_survives_the_downsampling() -> None:
    signal = LiveSignal([BED])
    rest(10, signal)
    tap = [1.0] * 50
    tap[23] = 1.2  # 200 mg for one 20 ms sample
    signal.take(T0 + 11, [batch(T0 + 10, tap)])
    rest(1, signal, start=T0 + 11)
    (view,) = signal.view(T0 + 12)
    assert view.peak_mg == pytest.approx(200.0, rel=0.05)
    tapped = max(view.points, key=lambda p: abs(p[1]))
    # sample 23 at +10.46 s lies in the bin starting at +10.4 s; the newest bin starts at +11.9 s
    assert tapped[0] == pytest.approx(10.4 - 11.9, abs=1e-6)


def test_a_resting_sensor_reads_zero_whatever_its_gravity_and_tilt() -> None:
    signal = LiveSignal([BED])
    for second in range(20):  # tilted: 0.98 g, then settles on 1.01 g
        level = 0.98 if second < 10 else 1.01
        signal.take(T0 + second + 1, [batch(T0 + second, [level] * 50)])
    (view,) = signal.view(T0 + 20)
    assert max(view.points, key=lambda p: p[1]) == (-9.9, pytest.approx(30.0, rel=0.05))
    assert view.points[-100][0] == pytest.approx(-9.9)
    assert all(abs(v) < 0.05 for _, v in view.points[-20:])  # ... and has settled 8 s later


def test_measured_rate_comes_from_arrivals_and_declared_from_the_batches() -> None:
    signal = LiveSignal([BED])
    rest(20, signal, rate=25)
    (view,) = signal.view(T0 + 20.4)
    assert view.declared_rate_hz == 25.0
    assert view.measured_rate_hz == pytest.approx(25.0)
    assert view.heard_s_ago == pytest.approx(0.4)


def test_a_sensor_dropping_samples_measures_below_what_it_declares() -> None:
    signal = LiveSignal([BED])
    for second in range(12):
        signal.take(T0 + second + 1, [batch(T0 + second, [1.0] * 40)])  # 40 of 50 made it
    (view,) = signal.view(T0 + 12)
    assert view.declared_rate_hz == 50.0
    assert view.measured_rate_hz == pytest.approx(40.0)


def test_single_samples_are_timed_by_their_own_stamp() -> None:
    signal = LiveSignal([BED])
    for i in range(100):  # 20 Hz, one sample a message
        t = T0 + i / 20
        signal.take(t, [batch(t, [1.0 + (0.05 if i == 60 else 0.0)], rate_hz=None)])
    (view,) = signal.view(T0 + 5)
    assert view.declared_rate_hz is None
    assert view.measured_rate_hz == pytest.approx(20.0)
    assert view.peak_mg == pytest.approx(50.0, rel=0.1)
    assert len(view.points) == 50  # 5 s at 10 points a second


def test_a_late_batch_is_skipped_and_a_clock_step_back_starts_afresh() -> None:
    signal = LiveSignal([BED])
    rest(10, signal)
    (before,) = signal.view(T0 + 10)
    signal.take(T0 + 10.5, [batch(T0 + 3, [2.0] * 50)])  # a late batch: not drawn
    (late,) = signal.view(T0 + 10.5)
    assert late.points == before.points
    signal.take(T0 + 11, [batch(T0 - 3600, [1.0] * 50)])  # the device clock went back an hour
    (stepped,) = signal.view(T0 + 11)
    assert len(stepped.points) == 10
    assert stepped.latest_t == pytest.approx(T0 - 3600 + 49 / 50)


def test_other_sensors_and_readings_are_ignored() -> None:
    signal = LiveSignal([BED])
    signal.take(
        T0,
        [
            batch(T0, [1.5] * 50, sensor="partner"),
            TemperatureReading("bedroom", "bed", T0, 20.0),
        ],
    )
    (view,) = signal.view(T0)
    assert view.points == ()


def test_figures_come_from_the_callback_at_view_time() -> None:
    figures = {BED.key: SensorFigures(3, 1, {"flood": 0, "duplicate": 2, "late": 0}, 2.5)}
    (view,) = LiveSignal([BED], lambda: figures).view(T0)
    assert view.figures.messages == 3
    assert view.figures.resting_mg == 2.5


def test_memory_per_sensor_stays_bounded_over_an_hour() -> None:
    signal = LiveSignal([BED])
    rest(120, signal)
    trace = signal._traces[BED.key]  # the ring itself: its bound is the point
    assert len(trace.points) == MAX_POINTS
    rest(3600, signal, start=T0 + 120)
    assert len(trace.points) == MAX_POINTS
    assert len(trace.arrivals) == RATE_BATCHES
