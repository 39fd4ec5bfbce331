"""What else moves a bed is told apart from spasms, and late or repeated batches change nothing."""

from __future__ import annotations

import math
import random

import pytest

from integration.core.detectors import DetectionSettings, RoomMotionDetector
from integration.core.events import MovementEvent
from integration.core.readings import AccelSamples
from tests.core.detectors.signals import T0, Bed, Vector, run

SETTINGS = DetectionSettings()


def detector(partner: frozenset[str] = frozenset()) -> RoomMotionDetector:
    return RoomMotionDetector("bedroom", SETTINGS, partner)


def movements(events: list[MovementEvent]) -> list[tuple[str, str | None]]:
    """(kind, cause) of the movement events, in order."""
    return [
        (str(e.kind), e.why.get("cause"))  # type: ignore[misc]
        for e in events
        if not str(e.kind).startswith(("restless", "plm_series"))
    ]


def knock(bed: Bed, at: float, ring_hz: float, decay_s: float, amp_g: float = 0.1) -> Bed:
    """A struck frame: a damped sinusoid at its resonance, nothing after it."""

    def shape(t: float) -> Vector:
        s = t - at
        v = amp_g * math.exp(-s / decay_s) * math.sin(2 * math.pi * ring_hz * s)
        return (0.3 * v, 0.2 * v, v)

    bed.overlays.append((at, 6 * decay_s, shape))
    return bed


def cough_train(bed: Bed, at: float, coughs: int, every_s: float, amp_g: float = 0.08) -> Bed:
    """Short broadband jolts of the torso about a second apart."""
    for k in range(coughs):
        start = at + k * every_s
        rng = random.Random(k)
        phases = [rng.uniform(0, 2 * math.pi) for _ in range(6)]

        def shape(t: float, start: float = start, phases: list[float] = phases) -> Vector:
            u = (t - start) / 0.3
            a = amp_g * (1.0 - u) ** 2
            v = [a * math.sin(2 * math.pi * (6 + 5.3 * j) * t + phases[j]) for j in range(3)]
            return (v[0] * 0.4, v[1] * 0.4, v[2])

        bed.overlays.append((start, 0.3, shape))
    return bed


def scratch(bed: Bed, at: float, duration_s: float, amp_g: float = 0.03) -> Bed:
    """Strokes at about 2.5 Hz whose period (±40 %) and strength wander: unlike clonus."""
    rng = random.Random(7)
    edges = [at]
    strengths = []
    while edges[-1] < at + duration_s:
        edges.append(edges[-1] + 0.4 * rng.uniform(0.6, 1.4))
        strengths.append(rng.uniform(0.5, 1.5))

    def shape(t: float) -> Vector:
        i = next(k for k in range(len(edges) - 1) if edges[k] <= t < edges[k + 1])
        phase = (t - edges[i]) / (edges[i + 1] - edges[i])
        v = amp_g * strengths[i] * math.sin(2 * math.pi * phase)
        return (v, 0.5 * v, 0.2 * v)

    bed.overlays.append((at, edges[-2] - at, shape))
    return bed


@pytest.mark.parametrize("rate_hz", [50.0, 100.0])
def test_a_knock_on_the_frame_rings_and_is_not_a_spasm(rate_hz: float) -> None:
    bed = knock(Bed(rate_hz=rate_hz), 60.0, ring_hz=14.0, decay_s=0.15)
    events, _, _ = run(bed, 90.0, detector(), batch=int(rate_hz))
    assert movements(events) == [("movement", "knock")]
    assert events[0].spasm_like is False
    assert events[0].why["ring_hz"] == pytest.approx(14.0, abs=1.5)


def test_a_cough_train_is_not_a_spasm_but_a_lone_jolt_is_a_jerk() -> None:
    events, _, _ = run(cough_train(Bed(), 60.0, coughs=4, every_s=0.9), 90.0, detector())
    assert movements(events) == [("movement", "cough")]
    assert events[0].why["jolts"] == 4
    lone, _, _ = run(Bed().jerk(60.0, 0.5), 90.0, detector())
    assert movements(lone) == [("jerk", None)]


def test_irregular_scratching_is_not_clonus_and_regular_beats_are() -> None:
    events, _, _ = run(scratch(Bed(), 60.0, 6.0), 90.0, detector())
    assert [(str(e.kind), e.spasm_like) for e in events] == [("movement", False)]
    clonus, _, _ = run(Bed().clonus(60.0, 4.0, beat_hz=6.0), 90.0, detector())
    assert movements(clonus) == [("clonus", None)]


def test_turnover_that_pauses_mid_way_is_one_turnover() -> None:
    """Two bursts 1.2 s apart that leave the bed turned are one bout, judged as a whole."""
    bed = Bed().jerk(60.0, 0.5).turnover(61.7, 4.0)
    events, _, _ = run(bed, 90.0, detector())
    assert movements(events) == [("turnover", None)]


def interleave(*streams: list[AccelSamples]) -> list[AccelSamples]:
    return sorted((b for s in streams for b in s), key=lambda b: b.t)


def feed_all(
    det: RoomMotionDetector, batches: list[tuple[float, AccelSamples]]
) -> list[MovementEvent]:
    """Feed (arrival, batch) pairs with a tick each second of arrival time, then flush."""
    events: list[MovementEvent] = []
    next_tick = T0 + 1.0
    for arrival, batch in batches:
        while next_tick <= arrival:
            events += [e for e in det.tick(next_tick) if isinstance(e, MovementEvent)]
            next_tick += 1.0
        events += [e for e in det.feed(batch) if isinstance(e, MovementEvent)]
    for _ in range(400):
        events += [e for e in det.tick(next_tick) if isinstance(e, MovementEvent)]
        next_tick += 1.0
    return events


def test_the_partners_sensor_claims_what_it_felt_first_and_strongest() -> None:
    """One movement felt on both sides: the stronger side owns it; the other side's is attenuated."""
    ours_weak = Bed(seed=1).limb(60.0, 2.0, amp_g=0.02).jerk(120.0, 0.6, amp_g=0.1)
    theirs = Bed(seed=2).limb(60.0, 2.0, amp_g=0.1).jerk(120.0, 0.6, amp_g=0.02)
    mine = list(ours_weak.batches(150.0, sensor_id="acc"))
    partner = list(theirs.batches(150.0, sensor_id="partner_acc"))
    arrivals = [(b.t + 0.5, b) for b in interleave(mine, partner)]
    events = feed_all(detector(frozenset({"partner_acc"})), arrivals)
    assert movements(events) == [("movement", "partner"), ("jerk", None)]
    assert events[0].why["partner_sensor_peak_g"] > events[0].why["our_sensor_peak_g"]  # type: ignore[operator]


def test_more_movements_held_for_a_lagging_partner_sensor_than_kept_are_reported_not_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More held movements than the detector keeps: the oldest are reported on what is known."""
    monkeypatch.setattr("integration.core.detectors.PARTNER_MEMORY", 2)
    bed = Bed(seed=1)
    for k in range(5):
        bed.jerk(40.0 + 3.0 * k, 0.4, amp_g=0.1)
    mine = list(bed.batches(120.0, sensor_id="acc"))
    partner = list(Bed(seed=2).batches(120.0, sensor_id="partner_acc"))
    # The partner's sensor lags ours by seconds (a busy Wi-Fi): ours are held meanwhile.
    arrivals = sorted(
        [(b.t + 0.5, b) for b in mine] + [(b.t + 12.0, b) for b in partner],
        key=lambda pair: pair[0],
    )
    alone = feed_all(detector(), [(b.t + 0.5, b) for b in mine])
    with_partner = feed_all(detector(frozenset({"partner_acc"})), arrivals)
    assert len(movements(alone)) >= 3
    assert movements(with_partner) == movements(alone)


@pytest.mark.parametrize("lag_s", [1.0, 3.0, 10.0])
def test_batches_arriving_late_and_jittered_give_the_same_events(lag_s: float) -> None:
    bed = Bed().jerk(60.0, 0.5).clonus(80.0, 3.0).turnover(100.0, 6.0).limb(130.0, 3.0)
    batches = list(bed.batches(160.0))
    on_time = feed_all(detector(), [(b.t + 0.5, b) for b in batches])
    rng = random.Random(int(lag_s))
    late, arrival = [], -math.inf
    for b in batches:  # one publisher over TCP: later, never reordered
        arrival = max(arrival, b.t + 0.5 + rng.uniform(0.0, lag_s))
        late.append((arrival, b))
    delayed = feed_all(detector(), late)
    assert [(e.kind, e.start, e.end) for e in delayed] == [
        (e.kind, e.start, e.end) for e in on_time
    ]
    assert len(on_time) >= 4


def test_a_batch_delivered_twice_is_processed_once() -> None:
    bed = Bed().jerk(60.0, 0.5)
    batches = list(bed.batches(90.0))
    once = feed_all(detector(), [(b.t + 0.5, b) for b in batches])
    det = detector()
    twice = feed_all(det, [(b.t + 0.5 + k, b) for b in batches for k in (0.0, 0.2)])
    assert [(e.kind, e.start) for e in twice] == [(e.kind, e.start) for e in once]
    assert sum(c.duplicate_batches for c in det._channels.values()) == len(batches)


def test_a_jolt_that_leaves_the_mattress_tilted_is_someone_sitting_down() -> None:
    """Weight put on the edge tilts the bed for good; a spasm's limb returns where it was."""
    bed = Bed().jerk(60.0, 0.6)
    bed.rotations.append((60.0, 0.4, 2.5))
    events, _, _ = run(bed, 90.0, detector())
    assert movements(events) == [("movement", "sit")]
    assert events[0].why["tilt_deg"] == pytest.approx(2.5, abs=0.5)
