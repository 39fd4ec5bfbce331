from __future__ import annotations

import bisect
import itertools
import json
import math
import statistics
import tracemalloc
from collections import Counter
from functools import cache

import pytest

from integration.adapters.payloads import parse_payload
from integration.core.readings import AccelSamples, SensorKind
from integration.core.simulation.night import (
    LABELS_SCHEMA,
    Label,
    LabelKind,
    NightSpec,
    PayloadStyle,
    SimulatedNight,
    labels_document,
    simulate_night,
)
from integration.messages import SensorSpec

Sample = tuple[float, float, float, float]  # t, x, y, z

# One hour with every kind planted, no sensor noise: what is left outside the labels is the
# sleeper's micro-motion alone.
QUIET_SPEC = NightSpec(
    seed=3,
    hours=1.0,
    rate_hz=25.0,
    noise_g=0.0,
    jerks=5,
    clonus=2,
    plm_series=1,
    turnovers=3,
    get_ups=1,
    dropouts=1,
    tonic=2,
)
MICRO_MOTION_MAX_G = 0.008  # breathing and heartbeat peak below this (night.py: 2-4 mg + ~1 mg)
MOVEMENT_MIN_G = 0.012  # every planted jerk, clonus, PLM and turnover swings beyond this


def accel_spec(night: SimulatedNight) -> SensorSpec:
    return SensorSpec(night.spec.room, "bed_motion", SensorKind.MOTION, night.spec.accel_topic)


Message = tuple[float, str, bytes]


def samples_of(night: SimulatedNight, messages: list[Message] | None = None) -> list[Sample]:
    spec = accel_spec(night)
    out: list[Sample] = []
    for t, topic, payload in night.messages() if messages is None else messages:
        if topic != spec.topic:
            continue
        readings = parse_payload(spec, payload, t)
        assert isinstance(readings, list)
        for reading in readings:
            assert isinstance(reading, AccelSamples)
            period = 1.0 / reading.rate_hz if reading.rate_hz else 0.0
            out.extend(
                (reading.t + i * period, x, y, z)
                for i, (x, y, z) in enumerate(
                    zip(reading.x_g, reading.y_g, reading.z_g, strict=True)
                )
            )
    return out


@cache
def quiet_night() -> tuple[SimulatedNight, list[Sample]]:
    night = simulate_night(QUIET_SPEC)
    return night, samples_of(night, quiet_messages())


@cache
def quiet_messages() -> list[Message]:
    return list(simulate_night(QUIET_SPEC).messages())


def window(samples: list[Sample], start: float, end: float) -> list[Sample]:
    times = [s[0] for s in samples]
    return samples[bisect.bisect_left(times, start) : bisect.bisect_left(times, end)]


def test_same_seed_gives_the_same_bytes_and_labels() -> None:
    spec = QUIET_SPEC.model_copy(update={"noise_g": 0.003})
    first, second = simulate_night(spec), simulate_night(spec)
    assert first.labels == second.labels
    assert list(itertools.islice(first.messages(), 600)) == list(
        itertools.islice(second.messages(), 600)
    )


def test_iterating_twice_repeats_the_night() -> None:
    short = {"noise_g": 0.003, "hours": 0.25, "plm_series": 0, "get_ups": 0, "turnovers": 1}
    night = simulate_night(QUIET_SPEC.model_copy(update=short))
    assert list(night.messages()) == list(night.messages())


def test_another_seed_gives_another_night() -> None:
    other = simulate_night(QUIET_SPEC.model_copy(update={"seed": 4}))
    assert other.labels != simulate_night(QUIET_SPEC).labels


def test_label_counts_equal_the_spec() -> None:
    night, _ = quiet_night()
    counts = Counter(label.kind for label in night.labels)
    assert counts[LabelKind.JERK] == QUIET_SPEC.jerks
    assert counts[LabelKind.CLONUS] == QUIET_SPEC.clonus
    assert counts[LabelKind.PLM_SERIES] == QUIET_SPEC.plm_series
    assert 4 <= counts[LabelKind.PLM] <= 30 * QUIET_SPEC.plm_series
    assert counts[LabelKind.TURNOVER] == QUIET_SPEC.turnovers
    assert counts[LabelKind.OUT_OF_BED] == QUIET_SPEC.get_ups
    assert counts[LabelKind.DROPOUT] == QUIET_SPEC.dropouts
    assert counts[LabelKind.TONIC] == QUIET_SPEC.tonic


def test_only_spasms_are_labelled_spasm_like() -> None:
    night, _ = quiet_night()
    spasm_kinds = {LabelKind.JERK, LabelKind.CLONUS, LabelKind.PLM, LabelKind.TONIC}
    assert all(label.spasm_like == (label.kind in spasm_kinds) for label in night.labels)


def test_planted_movements_do_not_overlap() -> None:
    night, _ = quiet_night()
    spans = sorted(
        (label.start, label.end) for label in night.labels if label.kind is not LabelKind.PLM_SERIES
    )
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))


def test_plm_onsets_are_15_to_40_s_apart_inside_their_series() -> None:
    night, _ = quiet_night()
    (series,) = [label for label in night.labels if label.kind is LabelKind.PLM_SERIES]
    onsets = [
        label.start
        for label in night.labels
        if label.kind is LabelKind.PLM and series.start <= label.start < series.end
    ]
    assert len(onsets) >= 4
    assert all(15.0 <= b - a <= 40.0 for a, b in itertools.pairwise(onsets))


@pytest.mark.parametrize(
    "kind",
    [LabelKind.JERK, LabelKind.CLONUS, LabelKind.PLM, LabelKind.TURNOVER],
    ids=str,
)
def test_planted_motion_lies_inside_its_label_with_rest_before(kind: LabelKind) -> None:
    night, samples = quiet_night()
    for label in night.labels:
        if label.kind is not kind:
            continue
        before = window(samples, label.start - 3.0, label.start - 0.2)
        rest = [statistics.fmean(s[axis] for s in before) for axis in (1, 2, 3)]
        before_dev = max(math.dist(s[1:], rest) for s in before)
        inside_dev = max(math.dist(s[1:], rest) for s in window(samples, label.start, label.end))
        assert before_dev < MICRO_MOTION_MAX_G * 2  # peak-to-peak of micro-motion
        assert inside_dev > MOVEMENT_MIN_G


def test_tonic_spasms_move_the_bed_only_a_little_more_than_breathing() -> None:
    night, samples = quiet_night()
    for label in night.labels:
        if label.kind is not LabelKind.TONIC:
            continue
        before = window(samples, label.start - 3.0, label.start - 0.2)
        rest = [statistics.fmean(s[axis] for s in before) for axis in (1, 2, 3)]
        before_dev = max(math.dist(s[1:], rest) for s in before)
        inside_dev = max(math.dist(s[1:], rest) for s in window(samples, label.start, label.end))
        assert before_dev < inside_dev < 0.05


def test_outside_the_labels_only_micro_motion_moves_the_bed() -> None:
    night, samples = quiet_night()
    spans = [(label.start - 0.1, label.end + 0.1) for label in night.labels]
    outside = [s for s in samples if not any(a <= s[0] <= b for a, b in spans)]
    assert len(outside) > len(samples) / 2
    assert max(abs(math.hypot(*s[1:]) - 1.0) for s in outside) < MICRO_MOTION_MAX_G


def test_an_empty_bed_shows_gravity_and_noise_only() -> None:
    night, samples = quiet_night()
    (away,) = [label for label in night.labels if label.kind is LabelKind.OUT_OF_BED]
    empty = window(samples, away.start, away.end)
    assert max(abs(math.hypot(*s[1:]) - 1.0) for s in empty) < 0.0003  # 4-decimal rounding


def test_get_up_sends_occupancy_false_then_true() -> None:
    night, _ = quiet_night()
    (away,) = [label for label in night.labels if label.kind is LabelKind.OUT_OF_BED]
    changes = [
        (t, json.loads(payload)["occupancy"])
        for t, topic, payload in quiet_messages()
        if topic == QUIET_SPEC.occupancy_topic
    ]
    assert [state for _, state in changes] == [True, False, True]
    assert away.start <= changes[1][0] <= away.start + 3.0
    assert away.end <= changes[2][0] <= away.end + 3.0


def test_dropouts_leave_gaps_in_the_accelerometer_stream() -> None:
    night, _ = quiet_night()
    (gap,) = [label for label in night.labels if label.kind is LabelKind.DROPOUT]
    arrivals = [t for t, topic, _ in quiet_messages() if topic == QUIET_SPEC.accel_topic]
    assert not [t for t in arrivals if gap.start + 0.5 < t < gap.end]
    longest = max(b - a for a, b in itertools.pairwise(arrivals))
    assert longest >= gap.end - gap.start


def test_climate_reports_about_once_a_minute_in_zigbee2mqtt_form() -> None:
    climate = [
        json.loads(payload)
        for _, topic, payload in quiet_messages()
        if topic == QUIET_SPEC.climate_topic
    ]
    assert 55 <= len(climate) <= 65
    assert all(15.0 < doc["temperature"] < 25.0 and 30 <= doc["humidity"] <= 70 for doc in climate)


def test_messages_arrive_in_time_order() -> None:
    night = simulate_night(QUIET_SPEC.model_copy(update={"payload": PayloadStyle.SINGLE}))
    arrivals = [t for t, _, _ in itertools.islice(night.messages(), 20_000)]
    assert arrivals == sorted(arrivals)


@pytest.mark.parametrize("payload", list(PayloadStyle), ids=str)
@pytest.mark.parametrize("rate_hz", [5.0, 25.0, 100.0], ids=lambda r: f"{r:g}Hz")
def test_every_rate_and_payload_style_parses_into_the_expected_samples(
    payload: PayloadStyle, rate_hz: float
) -> None:
    spec = NightSpec(
        seed=2,
        hours=0.15,
        rate_hz=rate_hz,
        payload=payload,
        jerks=1,
        clonus=0,
        plm_series=0,
        turnovers=1,
        get_ups=0,
        dropouts=1,
        tonic=0,
    )
    night = simulate_night(spec)
    (gap,) = [label for label in night.labels if label.kind is LabelKind.DROPOUT]
    samples = samples_of(night)
    expected = round((spec.hours * 3600.0 - (gap.end - gap.start)) * rate_hz)
    assert len(samples) == expected
    if payload is PayloadStyle.BATCH:
        times = [s[0] for s in samples]
        assert all(
            b - a == pytest.approx(1.0 / rate_hz, abs=2e-3)
            for a, b in itertools.pairwise(times)
            if not gap.start - 1.0 < b < gap.end + 1.0
        )


def test_the_first_message_comes_without_rendering_the_night() -> None:
    night = simulate_night(NightSpec(hours=24.0, rate_hz=100.0, payload=PayloadStyle.SINGLE))
    tracemalloc.start()
    try:
        first = list(itertools.islice(night.messages(), 1000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(first) == 1000
    assert peak < 1_000_000  # the whole night would be 8.6 M samples


def test_counts_that_do_not_fit_are_refused() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        simulate_night(NightSpec(hours=0.1, get_ups=3))


def test_labels_document_lists_the_spec_and_every_label() -> None:
    night, _ = quiet_night()
    document = labels_document(night)
    assert document["schema"] == LABELS_SCHEMA
    assert NightSpec.model_validate(document["spec"]) == QUIET_SPEC
    assert [
        Label(LabelKind(d["kind"]), d["start"], d["end"], d["spasm_like"])
        for d in document["labels"]
    ] == [
        Label(label.kind, round(label.start, 3), round(label.end, 3), label.spasm_like)
        for label in night.labels
    ]


def test_coupling_scales_body_motion_but_not_gravity() -> None:
    short = {"hours": 0.25, "plm_series": 0, "get_ups": 0, "tonic": 0, "turnovers": 1}
    renders = [
        samples_of(simulate_night(QUIET_SPEC.model_copy(update=short | {"coupling": coupling})))
        for coupling in (1.0, 0.5, 0.25)
    ]
    assert max(abs(f[3] - h[3]) for f, h in zip(renders[0], renders[1], strict=True)) > 0.005
    for full, half, quarter in zip(*renders, strict=True):
        for axis in (1, 2, 3):
            # with g + c·body(t): (full - half) is body/2, (half - quarter) is body/4
            assert full[axis] - half[axis] == pytest.approx(
                2 * (half[axis] - quarter[axis]), abs=4e-4
            )
