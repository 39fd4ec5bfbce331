from __future__ import annotations

import pytest

from integration.core.actigraphy import (
    COLE_KRIPKE_WEIGHTS,
    cole_kripke,
    score_sleep,
    webster_rescore,
)

S, W = True, False  # asleep, awake


def test_weights_are_the_papers_mean_activity_set() -> None:
    assert COLE_KRIPKE_WEIGHTS == (106, 54, 58, 76, 230, 74, 67)


def test_quiet_minutes_are_asleep() -> None:
    assert cole_kripke([0.0] * 8) == [S] * 8


def test_one_active_minute_wakes_only_itself() -> None:
    # Minute 4 = 5 counts: its own sum is 0.001 * 230 * 5 = 1.15 (awake); the neighbours see
    # it with weights 67, 74, 76, 58, 54, 106 -> at most 0.53 (asleep).
    assert cole_kripke([0, 0, 0, 0, 5.0, 0, 0, 0, 0, 0]) == [S, S, S, S, W, S, S, S, S, S]


@pytest.mark.parametrize(
    ("counts", "asleep"), [(4.34, True), (4.35, False)], ids=["just_below", "just_above"]
)
def test_the_awake_threshold_is_a_weighted_sum_of_one(counts: float, asleep: bool) -> None:
    assert cole_kripke([0, 0, 0, 0, counts, 0, 0])[4] is asleep


def test_steady_activity_wakes_only_minutes_with_every_neighbour() -> None:
    # 1.6 counts everywhere: a full window sums 0.665 * 1.6 = 1.064 (awake); minute 8 lacks
    # its last neighbour (0.598 * 1.6 = 0.957) and minute 3 its first (0.559 * 1.6 = 0.894).
    assert cole_kripke([1.6] * 10) == [S, S, S, S, W, W, W, W, S, S]


def test_minutes_without_data_are_not_scored() -> None:
    assert cole_kripke([0.0, None, 0.0]) == [S, None, S]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([W] * 4 + [S] * 3, [W] * 5 + [S] * 2),  # (a) 4 min awake: next 1 min
        ([W] * 10 + [S] * 5, [W] * 13 + [S] * 2),  # (b) 10 min awake: next 3 min
        ([W] * 15 + [S] * 6, [W] * 19 + [S] * 2),  # (c) 15 min awake: next 4 min
        ([W] * 10 + [S] * 8 + [W] * 10, [W] * 28),  # (b) then (d): 5 min between 13 and 10
        ([W] * 10 + [S] * 10 + [W] * 10, [W] * 13 + [S] * 7 + [W] * 10),  # 7 min stays
        ([W] * 20 + [S] * 12 + [W] * 20, [W] * 52),  # (c) then (e): 8 min between 24 and 20
        ([S] * 10 + [W] * 3 + [S] * 5, [S] * 10 + [W] * 3 + [S] * 5),  # short wake: no rule
        ([W] * 4 + [None] + [S] * 2, [W] * 4 + [None] + [S] * 2),  # a gap breaks the run
    ],
    ids=["a", "b", "c", "b_then_d", "too_long_for_d", "c_then_e", "none", "gap"],
)
def test_webster_rescoring(before: list[bool | None], after: list[bool | None]) -> None:
    assert webster_rescore(before) == after


def test_turnover_minute_wakes_and_breathing_micro_motion_sleeps() -> None:
    # 1 mg -> 0.5 counts (a quiet window sums 0.33); 9 mg -> 4.5 counts (230 * 4.5 = 1.035).
    score = score_sleep([1.0] * 4 + [9.0] + [1.0] * 4)
    assert score.asleep == (S, S, S, S, W, S, S, S, S)
    assert (score.asleep_min, score.awake_min, score.scored_min) == (8, 1, 9)


def test_out_of_bed_minutes_are_awake_and_rescore_the_next() -> None:
    # 5 minutes out of bed, then Webster (a) turns the first minute back in bed to wake.
    score = score_sleep([1.0] * 20, out_of_bed=range(5, 10))
    assert score.asleep == (S,) * 5 + (W,) * 6 + (S,) * 9
    assert score.efficiency == pytest.approx(14 / 20)


def test_no_data_gives_no_efficiency() -> None:
    assert score_sleep([None, None]).efficiency is None
