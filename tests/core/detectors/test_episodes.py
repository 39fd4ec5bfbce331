from __future__ import annotations

import json

import pytest

from integration.core.detectors import DetectionSettings, RoomMotionDetector, plm_hold_bound_s
from integration.core.detectors.accel import Movement
from integration.core.detectors.episodes import Episodes
from integration.core.events import MovementKind

from .signals import T0, Bed, kinds, run

SETTINGS = DetectionSettings()


def limbs(count: int, interval_s: float, first: float = 60.0) -> Bed:
    bed = Bed()
    for i in range(count):
        bed.limb(first + i * interval_s, 2.0)
    return bed


def test_four_limb_movements_20_s_apart_are_a_plm_series() -> None:
    events, _, delays = run(limbs(4, 20.0), 160.0, RoomMotionDetector("bedroom", SETTINGS))
    assert kinds(events).count("plm") == 4
    (series,) = [e for e in events if e.kind is MovementKind.PLM_SERIES]
    assert series.start == pytest.approx(T0 + 60.0, abs=0.5)
    assert series.why["movements"] == 4
    assert not series.spasm_like
    assert all(e.spasm_like for e in events if e.kind is MovementKind.PLM)
    assert max(delays) <= plm_hold_bound_s(SETTINGS)


@pytest.mark.parametrize(
    ("count", "interval_s"),
    [(3, 20.0), (4, 9.0), (4, 91.0)],
    ids=["three_are_no_series", "9_s_apart_is_too_close", "91_s_apart_is_too_far"],
)
def test_limb_movements_outside_the_plm_rule_are_ordinary(count: int, interval_s: float) -> None:
    events, _, _ = run(limbs(count, interval_s), 60.0 + count * interval_s + 20.0,
                       RoomMotionDetector("bedroom", SETTINGS))  # fmt: skip
    assert kinds(events) == ["movement"] * count
    assert not any(e.spasm_like for e in events)


def test_restless_episode_opens_on_three_spasms_and_closes_after_quiet() -> None:
    bed = Bed().jerk(60.0, 0.5).jerk(75.0, 0.5).jerk(130.0, 0.5)
    settings = DetectionSettings(restless_window_s=120.0)
    events, _, _ = run(bed, 150.0, RoomMotionDetector("bedroom", settings))
    assert kinds(events) == ["jerk", "jerk", "jerk", "restless_start", "restless_end"]
    start, end = events[3], events[4]
    assert start.start == pytest.approx(T0 + 60.0, abs=0.1)
    assert (end.start, end.end) == pytest.approx((T0 + 60.0, events[2].end), abs=0.1)
    assert not start.spasm_like
    assert not end.spasm_like
    assert start.peak == end.peak == max(e.peak for e in events[:3])


def test_two_spasms_open_no_restless_episode() -> None:
    events, _, _ = run(Bed().jerk(60.0, 0.5).jerk(75.0, 0.5), 100.0,
                       RoomMotionDetector("bedroom", SETTINGS))  # fmt: skip
    assert kinds(events) == ["jerk", "jerk"]


def candidate(start: float) -> Movement:
    """A 2 s limb movement: a PLM candidate, held until its series is confirmed."""
    return Movement("bed", MovementKind.PLM, start, start + 2.0, 4.0, 0.3, 5.0, 0.0, 0.0, 50.0)


def test_held_candidates_and_the_chain_survive_a_restart() -> None:
    first = Episodes("bedroom", SETTINGS)
    assert first.movement(candidate(T0)) == []
    assert first.movement(candidate(T0 + 20.0)) == []
    saved = json.loads(json.dumps(first.snapshot()))  # as the history store keeps it
    second = Episodes("bedroom", SETTINGS)
    second.restore(saved)
    assert second.movement(candidate(T0 + 40.0)) == []
    confirmed = [e for e in second.movement(candidate(T0 + 60.0)) if e.kind is MovementKind.PLM]
    assert [e.start for e in confirmed] == [T0, T0 + 20.0, T0 + 40.0, T0 + 60.0]
    (series,) = second.tick(T0 + 60.0 + SETTINGS.plm_max_interval_s + 1.0)
    assert (series.kind, series.start, series.why["movements"]) == (MovementKind.PLM_SERIES, T0, 4)
