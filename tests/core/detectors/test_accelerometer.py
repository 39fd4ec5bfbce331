from __future__ import annotations

import pytest

from integration.core.detectors import MAX_EMISSION_DELAY_S, DetectionSettings, RoomMotionDetector
from integration.core.detectors.accel import SEGMENT_MAX_SAMPLES
from integration.core.events import MovementKind

from .signals import T0, Bed, kinds, run

SETTINGS = DetectionSettings()


def detector() -> RoomMotionDetector:
    return RoomMotionDetector("bedroom", SETTINGS)


def movement_kinds(bed: Bed, duration_s: float, **batching: object) -> list[str]:
    events, _, _ = run(bed, duration_s, detector(), **batching)
    return [k for k in kinds(events) if not k.startswith(("restless", "plm_series"))]


@pytest.mark.parametrize(
    ("duration_s", "expected"),
    [(0.25, ["jerk"]), (2.5, ["jerk"]), (0.1, []), (4.0, ["movement"])],
    ids=[
        "just_over_0.2_s_is_a_jerk",
        "under_3_s_is_a_jerk",
        "a_glitch_is_nothing",
        "4_s_is_no_jerk",
    ],
)
def test_jerk_duration_limits(duration_s: float, expected: list[str]) -> None:
    assert movement_kinds(Bed().jerk(60.0, duration_s), 80.0) == expected


def test_jerk_event_carries_peak_confidence_and_scalar_why() -> None:
    events, _, _ = run(Bed().jerk(60.0, 1.0, amp_g=0.1), 80.0, detector())
    (jerk,) = events
    assert jerk.spasm_like
    assert jerk.peak > SETTINGS.onset_ratio
    assert 0.0 <= jerk.confidence <= 1.0
    assert jerk.start == pytest.approx(T0 + 60.0, abs=0.1)
    assert jerk.end == pytest.approx(T0 + 61.0, abs=0.4)
    assert jerk.why["rule"] == "jerk_sharp_short"
    assert all(isinstance(v, str | int | float | bool) for v in jerk.why.values())


@pytest.mark.parametrize("beat_hz", [3.5, 5.0, 7.5], ids=["3.5_hz", "5_hz", "7.5_hz"])
def test_clonus_is_found_at_50_hz(beat_hz: float) -> None:
    events, notices, _ = run(Bed().clonus(60.0, 3.0, beat_hz=beat_hz), 80.0, detector())
    assert kinds(events) == ["clonus"]
    assert events[0].why["beat_hz"] == pytest.approx(beat_hz, rel=0.1)
    assert notices == []


def test_clonus_at_10_hz_sampling_gives_one_notice_and_no_clonus() -> None:
    bed = Bed(rate_hz=10.0).clonus(60.0, 3.0).clonus(120.0, 3.0)
    events, notices, _ = run(bed, 140.0, detector(), batch=10)
    assert [n.code for n in notices] == ["clonus_undetectable"]
    assert "10 Hz" in notices[0].message
    assert "clonus" not in kinds(events)


def test_short_burst_of_beats_is_not_clonus() -> None:
    """Two beats at 5 Hz are under clonus_min_beats."""
    assert "clonus" not in movement_kinds(Bed().clonus(60.0, 0.3), 80.0)


def test_turnover_is_not_spasm_like() -> None:
    events, _, _ = run(Bed().turnover(60.0, 6.0, degrees=40.0), 90.0, detector())
    (turnover,) = events
    assert turnover.kind is MovementKind.TURNOVER
    assert not turnover.spasm_like
    angle = turnover.why["angle_deg"]
    assert isinstance(angle, float)
    assert angle >= SETTINGS.turnover_min_angle_deg


def test_a_short_gap_inside_a_jerk_keeps_one_event() -> None:
    bed = Bed().jerk(60.0, 2.0)
    assert movement_kinds(bed, 80.0, gaps=((60.8, 61.2),)) == ["jerk"]


@pytest.mark.parametrize(
    ("bed", "gap", "expected"),
    [
        (Bed().turnover(45.0, 4.0).jerk(90.0, 1.0), (40.0, 55.0), ["jerk"]),
        (Bed().jerk(60.0, 2.0).turnover(65.0, 4.0).jerk(90.0, 1.0), (60.5, 75.0), ["jerk", "jerk"]),
    ],
    ids=["in_quiet", "inside_a_jerk"],
)
def test_a_long_gap_restarts_the_filters_without_inventing_movement(
    bed: Bed, gap: tuple[float, float], expected: list[str]
) -> None:
    """The bed turns during the gap, so the first sample after it sits at a new orientation."""
    assert movement_kinds(bed, 110.0, gaps=(gap,)) == expected


def test_rate_change_mid_stream_still_finds_both_jerks() -> None:
    bed = Bed().jerk(60.0, 1.0).jerk(150.0, 1.0)
    assert movement_kinds(bed, 170.0, rate_changes=((100.0, 25.0),)) == ["jerk", "jerk"]


def test_single_and_batched_feeding_give_the_same_events() -> None:
    bed = Bed(rate_hz=25.0).jerk(60.0, 1.0).clonus(80.0, 2.0).turnover(100.0, 5.0)
    batched, _, _ = run(bed, 120.0, detector(), batch=25)
    single, _, _ = run(bed, 120.0, detector(), batch=1)
    assert kinds(single) == kinds(batched) == ["jerk", "clonus", "turnover"]
    for a, b in zip(single, batched, strict=True):
        assert (a.start, a.end) == pytest.approx((b.start, b.end), abs=0.05)


def test_events_come_out_within_the_emission_bound() -> None:
    bed = Bed().jerk(60.0, 0.5).clonus(80.0, 4.0, amp_g=0.2).jerk(100.0, 2.0, amp_g=0.5)
    events, _, delays = run(bed, 120.0, detector())
    assert len(events) >= 3
    assert all(0.0 <= d <= MAX_EMISSION_DELAY_S for d in delays)


def test_a_movement_cut_off_by_a_dead_sensor_is_closed_by_tick() -> None:
    det = detector()
    events, _, _ = run(Bed().jerk(60.0, 5.0), 61.0, det)
    assert [e.end for e in events] == [pytest.approx(T0 + 61.0, abs=0.1)]


def test_memory_stays_bounded_over_two_quiet_hours() -> None:
    det = detector()
    events, _, _ = run(Bed(rate_hz=10.0, seed=3), 7200.0, det, batch=10)
    (channel,) = det._channels.values()
    assert events == []
    assert len(channel._quiet_rms) <= SETTINGS.baseline_window_s
    assert len(channel._seg) <= SEGMENT_MAX_SAMPLES
    assert len(channel._micro) <= 16
    assert det.in_bed is True


def test_a_short_hole_in_single_samples_is_not_a_low_rate() -> None:
    _, notices, _ = run(Bed(), 60.0, detector(), batch=1, gaps=((30.0, 30.8),))
    assert notices == []


def test_a_rate_drop_below_the_clonus_limit_gives_one_notice() -> None:
    _, notices, _ = run(Bed(), 120.0, detector(), rate_changes=((60.0, 10.0),))
    assert [(n.code, n.t >= T0 + 60.0) for n in notices] == [("clonus_undetectable", True)]
