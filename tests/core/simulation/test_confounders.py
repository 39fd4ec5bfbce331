"""Confounders: what else moves a bed, a partner's sensor, and late Wi-Fi delivery."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import statistics
from collections import Counter, defaultdict
from functools import cache

import pytest

from integration.core.simulation.night import (
    REALISTIC_PER_8H,
    LabelKind,
    NightSpec,
    PayloadStyle,
    SimulatedNight,
    realistic_counts,
    scaled_counts,
    simulate_night,
)

Sample = tuple[float, float, float, float]  # t, x, y, z
Message = tuple[float, str, bytes]

# A short night of the sleeper alone, noise-free, so a confounder shows as the difference
# between the same night with and without it (confounders draw from their own generator).
SLEEPER = {
    "seed": 11,
    "hours": 1.0,
    "rate_hz": 100.0,
    "noise_g": 0.0,
    "jerks": 3,
    "clonus": 2,
    "plm_series": 0,
    "turnovers": 2,
    "get_ups": 0,
    "dropouts": 0,
    "tonic": 1,
}
BASE = NightSpec.model_validate(SLEEPER)
PARTNER_TOPIC = BASE.partner_accel_topic


@cache
def render_all(spec: NightSpec) -> tuple[SimulatedNight, dict[str, list[Sample]]]:
    """The night and every sample of each accelerometer topic, by device time."""
    night = simulate_night(spec)
    out: dict[str, list[Sample]] = defaultdict(list)
    for _, topic, payload in night.messages():
        if topic not in (spec.accel_topic, spec.partner_accel_topic):
            continue
        doc = json.loads(payload)
        period = 1.0 / doc["rate"]
        out[topic].extend(
            (doc["t0"] + i * period, x, y, z)
            for i, (x, y, z) in enumerate(zip(doc["x"], doc["y"], doc["z"], strict=True))
        )
    return night, out


def render(spec: NightSpec, topic: str | None = None) -> tuple[SimulatedNight, list[Sample]]:
    night, by_topic = render_all(spec)
    return night, by_topic[topic or spec.accel_topic]


def with_(**update: object) -> NightSpec:
    return BASE.model_copy(update=update)


def isolated(spec: NightSpec, start: float, end: float) -> list[Sample]:
    """What `spec`'s confounders add to the sleeper's own night, from `start` to `end`."""
    _, plain = render(BASE)
    _, mixed = render(spec)
    return [
        (a[0], b[1] - a[1], b[2] - a[2], b[3] - a[3])
        for a, b in zip(plain, mixed, strict=True)
        if start <= a[0] < end
    ]


def dominant_axis(window: list[Sample]) -> list[float]:
    """The window's values along whichever axis moves most, mean removed."""
    axis = max((1, 2, 3), key=lambda i: statistics.pvariance([s[i] for s in window]))
    values = [s[axis] for s in window]
    mean = statistics.fmean(values)
    return [v - mean for v in values]


def peak_hz(values: list[float], rate_hz: float, band: tuple[float, float]) -> float:
    """The frequency of the largest DFT magnitude in `band`, on a 0.05 Hz grid."""

    def power(hz: float) -> float:
        w = 2 * math.pi * hz / rate_hz
        re = sum(v * math.cos(w * i) for i, v in enumerate(values))
        im = sum(v * math.sin(w * i) for i, v in enumerate(values))
        return re * re + im * im

    grid = [band[0] + 0.05 * k for k in range(int((band[1] - band[0]) / 0.05) + 1)]
    return max(grid, key=power)


def upward_crossings(values: list[float], rate_hz: float) -> list[float]:
    return [
        (i + a / (a - b)) / rate_hz
        for i, (a, b) in enumerate(itertools.pairwise(values))
        if a < 0 <= b
    ]


def night_hash(spec: NightSpec) -> str:
    digest = hashlib.sha256()
    for t, topic, payload in simulate_night(spec).messages():
        digest.update(repr(t).encode())
        digest.update(topic.encode())
        digest.update(payload)
    return digest.hexdigest()


# Digests of the committed simulator's output before confounders existed: default fields off,
# the bytes and arrival times must not move.
@pytest.mark.parametrize(
    ("spec", "digest"),
    [
        pytest.param(
            NightSpec(seed=5, hours=0.5, **scaled_counts(0.5)),
            "1d304433063e9e4703e94b1663f9704ef8f31ab0301a557829c87dee92af466d",
            id="batch-50Hz",
        ),
        pytest.param(
            NightSpec(
                seed=9,
                hours=0.25,
                rate_hz=25.0,
                payload=PayloadStyle.SINGLE,
                **scaled_counts(0.25),
            ),
            "401e50dc00bcd5b55424e98966c62ee8835fa1c2264d09a0c83b674b50df2e92",
            id="single-25Hz",
        ),
    ],
)
def test_a_night_without_confounders_is_byte_identical_to_before(
    spec: NightSpec, digest: str
) -> None:
    assert night_hash(spec) == digest


def test_confounders_are_off_by_default_and_scale_to_nothing() -> None:
    spec = NightSpec()
    assert (spec.coughs, spec.scratches, spec.knocks, spec.pets, spec.partner_turnovers) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert (spec.partner, spec.partner_sensor, spec.delivery_lag_s) == (False, False, 0.0)
    assert spec.partner_accel_topic == "smart-bedroom-sim/bedroom/bed/partner_accel"
    counts = scaled_counts(12.0)
    assert [counts[name] for name in ("coughs", "scratches", "knocks", "pets")] == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("update", "kinds", "count"),
    [
        ({"coughs": 4}, {LabelKind.COUGH}, 4),
        ({"scratches": 5}, {LabelKind.SCRATCH}, 5),
        ({"knocks": 6}, {LabelKind.KNOCK, LabelKind.SIT}, 6),
        ({"pets": 3}, {LabelKind.PET}, 3),
        ({"partner": True, "partner_turnovers": 7}, {LabelKind.PARTNER}, 7),
    ],
    ids=["coughs", "scratches", "knocks", "pets", "partner"],
)
def test_each_confounder_is_labelled_as_planted_and_not_spasm_like(
    update: dict[str, object], kinds: set[LabelKind], count: int
) -> None:
    night = simulate_night(with_(**update))
    planted = [label for label in night.labels if label.kind in kinds]
    assert len(planted) == count
    assert not any(label.spasm_like for label in planted)
    spans = sorted(
        (label.start, label.end) for label in night.labels if label.kind is not LabelKind.PLM_SERIES
    )
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))


def test_confounders_leave_the_sleepers_own_night_as_it_was() -> None:
    plain = simulate_night(BASE)
    busy = simulate_night(with_(**realistic_counts(8.0), partner_sensor=True))
    confounder_kinds = {
        LabelKind.COUGH,
        LabelKind.SCRATCH,
        LabelKind.KNOCK,
        LabelKind.SIT,
        LabelKind.PET,
        LabelKind.PARTNER,
    }
    assert [label for label in busy.labels if label.kind not in confounder_kinds] == list(
        plain.labels
    )


def test_a_knock_rings_at_the_beds_resonance_and_dies_away() -> None:
    spec = with_(knocks=8)
    night, _ = render(spec)
    assert night._plan.confounders is not None
    bed = night._plan.confounders.bed
    knocks = [label for label in night.labels if label.kind is LabelKind.KNOCK]
    assert knocks
    for knock in knocks:
        ring = dominant_axis(isolated(spec, knock.start, knock.end))
        assert peak_hz(ring, spec.rate_hz, (2.0, 45.0)) == pytest.approx(bed.ring_hz, abs=1.0)
        half = len(ring) // 2
        early = max(abs(v) for v in ring[:half])
        late = max(abs(v) for v in ring[half:])
        assert late < early / 3  # five time constants: it decays to well under a third
        after = isolated(spec, knock.end, knock.end + 5.0)
        assert max(abs(v) for s in after for v in s[1:]) < 0.001  # no body responds


def test_sitting_on_the_edge_tilts_the_bed_until_they_get_up() -> None:
    spec = with_(knocks=8)
    night, _ = render(spec)
    sits = [label for label in night.labels if label.kind is LabelKind.SIT]
    assert sits
    for sit in sits:
        middle = (sit.start + sit.end) / 2
        tilted = isolated(spec, middle - 1.0, middle)
        offset = max(abs(statistics.fmean(s[i] for s in tilted)) for i in (1, 2, 3))
        assert offset > math.sin(math.radians(0.5))  # a few degrees, not micro-motion
        after = isolated(spec, sit.end + 1.0, sit.end + 3.0)
        assert max(abs(v) for s in after for v in s[1:]) < 0.002  # level again


def test_scratching_is_slow_weak_and_irregular_beside_clonus() -> None:
    spec = with_(scratches=8)
    night, sleeper = render(spec)
    scratch_periods: list[float] = []
    for bout in (label for label in night.labels if label.kind is LabelKind.SCRATCH):
        strokes = dominant_axis(isolated(spec, bout.start, bout.end))
        assert 1.2 <= peak_hz(strokes, spec.rate_hz, (0.5, 12.0)) <= 4.5
        assert max(abs(v) for v in strokes) < 0.05  # a hand on the skin, not the body
        crossings = upward_crossings(strokes, spec.rate_hz)
        periods = [b - a for a, b in itertools.pairwise(crossings)]
        mean = statistics.fmean(periods)
        scratch_periods += [p / mean for p in periods]
    clonus_periods: list[float] = []
    for burst in (label for label in night.labels if label.kind is LabelKind.CLONUS):
        beats = dominant_axis([s for s in sleeper if burst.start <= s[0] < burst.end])
        crossings = upward_crossings(beats, spec.rate_hz)
        periods = [b - a for a, b in itertools.pairwise(crossings)]
        mean = statistics.fmean(periods)
        clonus_periods += [p / mean for p in periods]
    assert statistics.pstdev(scratch_periods) > 0.08  # ±20-40 % stroke to stroke
    assert statistics.pstdev(scratch_periods) > 3 * statistics.pstdev(clonus_periods)


def test_a_cough_jolts_the_bed_mostly_vertically() -> None:
    spec = with_(coughs=5)
    night, _ = render(spec)
    for train in (label for label in night.labels if label.kind is LabelKind.COUGH):
        motion = isolated(spec, train.start, train.end)
        energy = [sum(s[i] ** 2 for s in motion) for i in (1, 2, 3)]
        assert energy[2] > max(energy[0], energy[1])
        assert max(abs(s[3]) for s in motion) > 0.004


def test_the_partners_breathing_reaches_our_sensor_weakened() -> None:
    spec = with_(partner=True)
    night, _ = render(spec)
    assert night._plan.confounders is not None
    partner = night._plan.confounders.partner
    assert partner is not None
    start = spec.start + 600.0
    felt = isolated(spec, start, start + 60.0)
    along = dominant_axis(felt)
    assert peak_hz(along[::10], spec.rate_hz / 10, (0.1, 0.6)) == pytest.approx(
        partner.breath_hz, abs=0.05
    )
    assert max(abs(v) for v in along) < 0.4 * 1.3 * (partner.breath_g + partner.heart_g) + 1e-4


def motion_rms(window: list[Sample]) -> float:
    """RMS of the sample-to-sample change: motion, not slow tilts or breathing."""
    steps = [math.dist(a[1:], b[1:]) for a, b in itertools.pairwise(window)]
    return math.sqrt(statistics.fmean(d * d for d in steps))


@pytest.mark.parametrize(
    ("kinds", "stronger_at_partner"),
    [
        ({LabelKind.PARTNER}, True),
        ({LabelKind.JERK, LabelKind.CLONUS, LabelKind.TURNOVER, LabelKind.COUGH}, False),
    ],
    ids=["partner-moves", "sleeper-moves"],
)
def test_each_sensor_feels_its_own_side_more(
    kinds: set[LabelKind], stronger_at_partner: bool
) -> None:
    spec = with_(partner=True, partner_turnovers=4, partner_sensor=True, coughs=2)
    night, main = render(spec)
    _, partner = render(spec, PARTNER_TOPIC)
    assert len(main) == len(partner)
    labels = [label for label in night.labels if label.kind in kinds]
    assert labels
    for label in labels:
        here = motion_rms([s for s in main if label.start <= s[0] < label.end])
        there = motion_rms([s for s in partner if label.start <= s[0] < label.end])
        assert (there > here) == stronger_at_partner, label


def test_the_partner_sensor_is_merged_in_arrival_order() -> None:
    quiet = {"jerks": 1, "clonus": 0, "turnovers": 1, "tonic": 0}
    night = simulate_night(
        with_(partner=True, partner_sensor=True, hours=0.2, rate_hz=10.0, **quiet)
    )
    messages = list(night.messages())
    assert [t for t, _, _ in messages] == sorted(t for t, _, _ in messages)
    topics = Counter(topic for _, topic, _ in messages)
    assert topics[PARTNER_TOPIC] == topics[BASE.accel_topic]


LAG_S = 8.0


@cache
def lagged(lag_s: float) -> list[Message]:
    spec = with_(
        hours=2.0,
        rate_hz=10.0,
        jerks=2,
        clonus=1,
        turnovers=2,
        tonic=0,
        dropouts=1,
        partner=True,
        partner_sensor=True,
        delivery_lag_s=lag_s,
    )
    return list(simulate_night(spec).messages())


def test_delivery_lag_changes_arrival_times_only() -> None:
    assert Counter((topic, body) for _, topic, body in lagged(LAG_S)) == Counter(
        (topic, body) for _, topic, body in lagged(0.0)
    )


def test_delivery_lag_keeps_each_sensors_order_and_delays_within_bounds() -> None:
    on_time = {(topic, body): t for t, topic, body in lagged(0.0)}
    delays: dict[str, list[float]] = defaultdict(list)
    device_times: dict[str, list[float]] = defaultdict(list)
    arrivals: dict[str, list[float]] = defaultdict(list)
    for t, topic, body in lagged(LAG_S):
        if topic not in (BASE.accel_topic, PARTNER_TOPIC):
            continue
        delays[topic].append(t - on_time[topic, body])
        device_times[topic].append(json.loads(body)["t0"])
        arrivals[topic].append(t)
    assert set(delays) == {BASE.accel_topic, PARTNER_TOPIC}
    for topic, late in delays.items():
        assert device_times[topic] == sorted(device_times[topic])  # one connection, in order
        assert arrivals[topic] == sorted(arrivals[topic])
        assert min(late) >= 0.0
        assert max(late) <= 2 * LAG_S  # up to the lag, plus a stall of up to the lag
        assert statistics.pstdev(late) > LAG_S / 10  # it varies message to message
        # A stall holds the stream, then the backlog arrives in one burst.
        assert max(Counter(arrivals[topic]).values()) >= 3


@pytest.mark.parametrize("hours", [2.0, 4.0, 8.0, 12.0], ids=lambda h: f"{h:g}h")
def test_realistic_counts_scale_with_the_night(hours: float) -> None:
    counts = realistic_counts(hours)
    assert counts["partner"] is True
    for name, per_8h in REALISTIC_PER_8H.items():
        if isinstance(per_8h, bool):
            continue
        assert counts[name] == math.floor(per_8h * hours / 8.0 + 0.5)
    assert realistic_counts(8.0) == REALISTIC_PER_8H


def test_a_realistic_night_with_every_option_repeats_byte_for_byte() -> None:
    spec = with_(**realistic_counts(2.0), rate_hz=20.0, partner_sensor=True, delivery_lag_s=3.0)
    night = simulate_night(spec)
    assert list(night.messages()) == list(night.messages())


def test_partner_turnovers_need_a_partner() -> None:
    with pytest.raises(ValueError, match="partner_turnovers needs partner"):
        NightSpec(partner_turnovers=3)
