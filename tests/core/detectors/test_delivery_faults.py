"""What a network and a broken sensor do to batches: twice, out of order, too late, flat."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from integration.core.detectors import DetectionSettings, RoomMotionDetector
from integration.core.detectors.accel import FLAT_NOTICE_S, REORDER_WINDOW_S
from integration.core.events import MovementEvent, Notice
from integration.core.readings import AccelSamples
from tests.core.detectors.signals import T0, Bed

SETTINGS = DetectionSettings()
Arrivals = list[tuple[float, AccelSamples]]


def night(offset_s: float = 0.0) -> Bed:
    """A bed with a jerk, a clonus, a limb movement and a turnover in three minutes."""
    at = offset_s
    return (
        Bed()
        .jerk(at + 60.0, 0.5)
        .clonus(at + 80.0, 3.0)
        .limb(at + 110.0, 3.0)
        .turnover(at + 130.0, 6.0)
    )


def detect(arrivals: Arrivals) -> tuple[list[MovementEvent], list[Notice], RoomMotionDetector]:
    """Feed (arrival, batch) pairs with a tick each second of arrival time, then flush."""
    det = RoomMotionDetector("bedroom", SETTINGS)
    events: list[MovementEvent] = []
    notices: list[Notice] = []

    def take(produced: list[MovementEvent | Notice]) -> None:
        for item in produced:
            (events if isinstance(item, MovementEvent) else notices).append(item)  # type: ignore[arg-type]

    next_tick = T0 + 1.0
    for arrival, batch in arrivals:
        while next_tick <= arrival:
            take(det.tick(next_tick))
            next_tick += 1.0
        take(det.feed(batch))
    for _ in range(400):
        take(det.tick(next_tick))
        next_tick += 1.0
    return events, notices, det


def on_time(batches: list[AccelSamples]) -> Arrivals:
    return [(end_of(b) + 0.3, b) for b in batches]


def end_of(batch: AccelSamples) -> float:
    return batch.t + (len(batch.x_g) - 1) / (batch.rate_hz or 1.0)


def seen(events: list[MovementEvent]) -> list[tuple[str, float, float]]:
    return [(str(e.kind), e.start, e.end) for e in events]


def kinds(events: list[MovementEvent]) -> list[str]:
    return [str(e.kind) for e in sorted(events, key=lambda e: e.start)]


def channel_counts(det: RoomMotionDetector) -> tuple[int, int]:
    channels = det._channels.values()
    return sum(c.duplicate_batches for c in channels), sum(c.late_batches for c in channels)


@pytest.mark.parametrize("batch", [25, 50], ids=["half-second", "one-second"])
def test_every_batch_delivered_twice_changes_nothing(batch: int) -> None:
    batches = list(night().batches(180.0, batch=batch))
    once, _, _ = detect(on_time(batches))
    # Right after itself, and again after its successor (a redelivery after a reconnect).
    twice = [(a + k, b) for a, b in on_time(batches) for k in (0.0, 0.1)]
    later = on_time(batches)
    later = [later[0]] + [p for i in range(1, len(later)) for p in (later[i], later[i - 1])]
    for arrivals in (twice, later):
        events, _, det = detect(sorted(arrivals, key=lambda pair: pair[0]))
        assert seen(events) == seen(once)
        assert channel_counts(det)[0] >= len(batches) - 1
    assert len(once) >= 4


@pytest.mark.parametrize("batch", [25, 50], ids=["half-second", "one-second"])
def test_adjacent_batches_swapped_change_nothing(batch: int) -> None:
    batches = list(night().batches(180.0, batch=batch))
    expected, _, _ = detect(on_time(batches))
    rng = random.Random(4)
    arrivals = on_time(batches)
    i = 0
    while i < len(arrivals) - 1:
        if rng.random() < 0.1:  # the later batch overtakes: it arrives first
            (a, first), (b, second) = arrivals[i], arrivals[i + 1]
            arrivals[i], arrivals[i + 1] = (a, second), (b, first)
            i += 2
        else:
            i += 1
    events, _, det = detect(arrivals)
    assert seen(events) == seen(expected)
    assert channel_counts(det) == (0, 0)


def test_a_batch_later_than_the_reorder_window_is_refused_and_counted() -> None:
    batches = list(night().batches(180.0))
    arrivals = on_time(batches)
    held_back = arrivals.pop(20)  # arrives after REORDER_WINDOW_S more seconds of samples
    late_at = held_back[0] + REORDER_WINDOW_S + 5.0
    arrivals.append((late_at, held_back[1]))
    arrivals.sort(key=lambda pair: pair[0])
    events, _, det = detect(arrivals)
    assert channel_counts(det) == (0, 1)
    assert {"jerk", "clonus", "turnover"} <= {str(e.kind) for e in events}


def test_a_device_clock_stepped_back_restarts_the_channel_rather_than_blinding_it() -> None:
    bed = Bed().jerk(260.0, 0.5)
    batches = list(bed.batches(300.0))
    stepped = [  # from 100 s on, the device's clock reads 60 s less than it did
        (end_of(b) + 0.3, b if b.t < T0 + 100.0 else replace(b, t=b.t - 60.0)) for b in batches
    ]
    events, _, det = detect(stepped)
    assert [str(e.kind) for e in events] == ["jerk"]
    assert channel_counts(det)[1] <= REORDER_WINDOW_S + 1


def test_a_sensor_stuck_for_the_first_minutes_is_a_fault_and_never_the_baseline() -> None:
    batches = list(night(offset_s=200.0).batches(400.0))
    expected, _, _ = detect(on_time(list(night().batches(200.0))))
    stuck = [
        replace(b, x_g=(0.01,) * len(b.x_g), y_g=(0.0,) * len(b.x_g), z_g=(1.0,) * len(b.x_g))
        if b.t < T0 + 200.0
        else b
        for b in batches
    ]
    events, notices, det = detect(on_time(stuck))
    codes = [n.code for n in notices]
    assert codes == ["sensor_flat", "sensor_flat_end"]
    assert notices[0].t == pytest.approx(T0 + FLAT_NOTICE_S, abs=1.0)
    assert kinds(events) == kinds(expected) == ["jerk", "clonus", "movement", "turnover"]
    assert det.flat_sensors == frozenset()


def test_one_huge_identical_batch_before_a_baseline_is_not_taken_as_rest() -> None:
    bed = Bed().jerk(260.0, 0.5).clonus(280.0, 3.0).limb(310.0, 3.0)
    flat = AccelSamples(
        "bedroom", "acc", T0 - 200.0, 50.0, (0.0,) * 10_000, (0.0,) * 10_000, (1.0,) * 10_000
    )
    det = RoomMotionDetector("bedroom", SETTINGS)
    produced = det.feed(flat)
    assert det.flat_sensors == frozenset({"acc"})
    assert [n.code for n in produced if isinstance(n, Notice)] == ["sensor_flat"]
    events: list[MovementEvent] = []
    next_tick = T0 + 1.0
    for batch in bed.batches(360.0):
        while next_tick <= end_of(batch):
            events += [e for e in det.tick(next_tick) if isinstance(e, MovementEvent)]
            next_tick += 1.0
        events += [e for e in det.feed(batch) if isinstance(e, MovementEvent)]
    for _ in range(100):
        events += [e for e in det.tick(next_tick) if isinstance(e, MovementEvent)]
        next_tick += 1.0
    assert det.flat_sensors == frozenset()
    assert kinds(events) == ["jerk", "clonus", "movement"]  # this limb shape reads as ordinary


def test_a_sensor_that_sticks_mid_night_raises_sensor_problem_and_no_movement() -> None:
    bed = Bed().jerk(300.0, 0.5)
    batches = list(bed.batches(360.0))
    stuck = [
        replace(b, x_g=(0.5,) * len(b.x_g), y_g=(0.5,) * len(b.x_g), z_g=(0.5,) * len(b.x_g))
        if T0 + 100.0 <= b.t < T0 + 200.0
        else b
        for b in batches
    ]
    events, notices, _ = detect(on_time(stuck))
    assert [n.code for n in notices] == ["sensor_flat", "sensor_flat_end"]
    assert [str(e.kind) for e in events] == ["jerk"]
