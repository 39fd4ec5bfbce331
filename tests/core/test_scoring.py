from __future__ import annotations

import pytest

from integration.core.events import MovementEvent, MovementKind
from integration.core.scoring import NightScore, combine, percentile, score_night
from integration.core.simulation.night import Label, LabelKind

SPASM_EVENT_KINDS = {MovementKind.JERK, MovementKind.CLONUS, MovementKind.PLM}


def event(
    kind: MovementKind,
    start: float,
    end: float,
    *,
    detected_at: float | None = None,
    spasm_like: bool | None = None,
) -> MovementEvent:
    return MovementEvent(
        room="bedroom",
        kind=kind,
        start=start,
        end=end,
        peak=5.0,
        confidence=0.9,
        spasm_like=kind in SPASM_EVENT_KINDS if spasm_like is None else spasm_like,
        detected_at=detected_at,
    )


def label(kind: LabelKind, start: float, end: float) -> Label:
    spasm_like = kind in {LabelKind.JERK, LabelKind.CLONUS, LabelKind.PLM, LabelKind.TONIC}
    return Label(kind, start, end, spasm_like)


JERK_LABEL = label(LabelKind.JERK, 100.0, 101.0)

MATCH_CASES = [
    ("overlapping", event(MovementKind.JERK, 100.2, 100.8), (1, 0, 0)),
    ("within_tolerance_after", event(MovementKind.JERK, 101.9, 102.5), (1, 0, 0)),
    ("within_tolerance_before", event(MovementKind.JERK, 98.5, 99.1), (1, 0, 0)),
    ("beyond_tolerance", event(MovementKind.JERK, 102.1, 102.5), (0, 1, 1)),
    ("other_spasm_kind_still_counts", event(MovementKind.CLONUS, 100.0, 101.0), (1, 0, 0)),
    ("not_spasm_like_is_a_miss", event(MovementKind.TURNOVER, 100.0, 101.0), (0, 0, 1)),
]


@pytest.mark.parametrize(
    ("detected", "expected"), [c[1:] for c in MATCH_CASES], ids=[c[0] for c in MATCH_CASES]
)
def test_an_event_matches_a_label_it_overlaps_within_the_tolerance(
    detected: MovementEvent, expected: tuple[int, int, int]
) -> None:
    score = score_night([detected], [JERK_LABEL], tolerance_s=1.0)
    assert (score.true_positives, score.false_positives, score.false_negatives) == expected


def test_one_long_event_over_two_labels_finds_only_one() -> None:
    labels = [label(LabelKind.JERK, 10.0, 11.0), label(LabelKind.JERK, 14.0, 15.0)]
    score = score_night([event(MovementKind.JERK, 9.0, 16.0)], labels)
    assert (score.true_positives, score.false_positives, score.false_negatives) == (1, 0, 1)


def test_two_events_on_one_label_count_one_false_alarm() -> None:
    events = [event(MovementKind.JERK, 100.0, 100.3), event(MovementKind.JERK, 100.6, 101.0)]
    score = score_night(events, [JERK_LABEL])
    assert (score.true_positives, score.false_positives, score.false_negatives) == (1, 1, 0)


def test_matching_is_maximal_not_greedy() -> None:
    # The first event overlaps both labels more than the second does, but the second can
    # only have the first label: a greedy pairing would find one spasm, the best finds two.
    labels = [label(LabelKind.PLM, 10.0, 12.0), label(LabelKind.PLM, 13.0, 15.0)]
    events = [event(MovementKind.PLM, 10.0, 15.0), event(MovementKind.PLM, 8.0, 9.5)]
    score = score_night(events, labels)
    assert (score.true_positives, score.false_positives, score.false_negatives) == (2, 0, 0)


def test_kind_agreement_counts_pairs_that_name_the_label_kind() -> None:
    labels = [label(LabelKind.JERK, 10.0, 11.0), label(LabelKind.CLONUS, 30.0, 40.0)]
    events = [event(MovementKind.JERK, 10.0, 11.0), event(MovementKind.JERK, 30.0, 40.0)]
    score = score_night(events, labels)
    assert score.true_positives == 2
    assert score.kind_agreed == 1
    assert score.kind_agreement == 0.5


def test_recall_by_kind_counts_each_spasm_kind_and_tonic_apart() -> None:
    labels = [
        label(LabelKind.JERK, 10.0, 11.0),
        label(LabelKind.JERK, 50.0, 51.0),
        label(LabelKind.TONIC, 90.0, 96.0),
        label(LabelKind.CLONUS, 130.0, 140.0),
    ]
    events = [event(MovementKind.JERK, 10.0, 11.0), event(MovementKind.CLONUS, 131.0, 139.0)]
    score = score_night(events, labels)
    assert score.recall_of(LabelKind.JERK) == 0.5
    assert score.recall_of(LabelKind.TONIC) == 0.0
    assert score.recall_of(LabelKind.CLONUS) == 1.0
    assert score.recall_of(LabelKind.PLM) is None


def test_a_spasm_reported_on_a_turnover_flags_it_and_is_a_false_alarm() -> None:
    labels = [label(LabelKind.TURNOVER, 10.0, 20.0), label(LabelKind.TURNOVER, 60.0, 70.0)]
    events = [event(MovementKind.JERK, 12.0, 13.0), event(MovementKind.TURNOVER, 60.0, 70.0)]
    score = score_night(events, labels)
    assert (score.turnovers_flagged, score.turnovers) == (1, 2)
    assert score.turnovers_flagged_share == 0.5
    assert score.false_positives == 1
    assert score.recall_of(LabelKind.TURNOVER) == 0.5


def test_a_spasm_just_before_a_turnover_does_not_flag_it() -> None:
    labels = [label(LabelKind.JERK, 10.0, 11.0), label(LabelKind.TURNOVER, 11.5, 20.0)]
    score = score_night([event(MovementKind.JERK, 10.0, 11.2)], labels)
    assert (score.true_positives, score.turnovers_flagged) == (1, 0)


def test_out_of_bed_is_found_only_by_an_out_of_bed_event() -> None:
    labels = [label(LabelKind.OUT_OF_BED, 100.0, 400.0)]
    by_movement = score_night([event(MovementKind.TURNOVER, 100.0, 110.0)], labels)
    by_occupancy = score_night([event(MovementKind.OUT_OF_BED, 101.0, 402.0)], labels)
    assert by_movement.recall_of(LabelKind.OUT_OF_BED) == 0.0
    assert by_occupancy.recall_of(LabelKind.OUT_OF_BED) == 1.0


def test_derived_events_and_labels_take_no_part() -> None:
    labels = [
        JERK_LABEL,
        label(LabelKind.PLM_SERIES, 0.0, 500.0),
        label(LabelKind.DROPOUT, 200.0, 230.0),
    ]
    events = [
        event(MovementKind.RESTLESS_START, 0.0, 600.0, spasm_like=True),
        event(MovementKind.RESTLESS_END, 0.0, 600.0, spasm_like=True),
        event(MovementKind.PLM_SERIES, 0.0, 500.0, spasm_like=True),
    ]
    score = score_night(events, labels)
    assert (score.true_positives, score.false_positives, score.false_negatives) == (0, 0, 1)
    assert set(score.labels_by_kind) == {"jerk"}


def test_delay_is_detection_time_after_the_label_end() -> None:
    labels = [label(LabelKind.JERK, 10.0, 11.0), label(LabelKind.JERK, 50.0, 51.0)]
    events = [
        event(MovementKind.JERK, 10.0, 11.2, detected_at=12.5),
        event(MovementKind.JERK, 50.0, 51.0),  # no detection time: no delay
        event(MovementKind.JERK, 80.0, 81.0, detected_at=82.0),  # a false alarm: no delay
    ]
    assert score_night(events, labels).delays_s == (1.5,)


def test_precision_recall_and_f1_follow_the_counts() -> None:
    score = NightScore(nights=1, true_positives=8, false_positives=2, false_negatives=4)
    assert score.precision == 0.8
    assert score.recall == pytest.approx(2 / 3)
    assert score.f1 == pytest.approx(2 * 0.8 * (2 / 3) / (0.8 + 2 / 3))


def test_a_quiet_night_with_no_events_is_perfect() -> None:
    score = score_night([], [])
    assert (score.precision, score.recall, score.f1) == (1.0, 1.0, 1.0)
    assert score.kind_agreement is None


def test_missing_everything_scores_zero_f1() -> None:
    score = score_night([], [JERK_LABEL])
    assert (score.precision, score.recall, score.f1) == (1.0, 0.0, 0.0)


def test_combine_sums_counts_and_pools_delays() -> None:
    first = score_night(
        [event(MovementKind.JERK, 100.0, 101.0, detected_at=102.0)],
        [JERK_LABEL, label(LabelKind.TURNOVER, 10.0, 20.0)],
    )
    second = score_night(
        [event(MovementKind.JERK, 15.0, 16.0), event(MovementKind.JERK, 300.0, 301.0)],
        [label(LabelKind.TURNOVER, 10.0, 20.0), label(LabelKind.TONIC, 500.0, 505.0)],
    )
    total = combine([first, second])
    assert total.nights == 2
    assert (total.true_positives, total.false_positives, total.false_negatives) == (1, 2, 1)
    assert total.false_alarms_per_night == 1.0
    assert (total.turnovers_flagged, total.turnovers) == (1, 2)
    assert total.delays_s == (1.0,)
    assert total.labels_by_kind == {"jerk": 1, "turnover": 2, "tonic": 1}


@pytest.mark.parametrize(("q", "expected"), [(50, 3.0), (99, 10.0), (0, 1.0), (100, 10.0)], ids=str)
def test_percentile_is_nearest_rank(q: float, expected: float) -> None:
    assert percentile([10.0, 1.0, 3.0, 2.0, 4.0], q) == expected


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None
