"""The association statistics: rates, exact rate-ratio intervals, thresholds, and the planted effects."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from integration.core.association import (
    ASSOCIATION_CAVEAT,
    MIN_GROUP_MINUTES,
    MIN_GROUP_NIGHTS,
    Association,
    GroupRate,
    around_note,
    by_temperature,
    counted_spasm_times,
    dispersion,
    rate_ratio,
    suggest_band,
)
from integration.core.events import MovementEvent, MovementKind
from integration.core.labels import EventLabel, Label
from integration.core.notes import Note
from integration.core.simulation.weeks import SimulatedNight, WeeksSpec, simulate_weeks
from integration.core.summary import MinuteRecord

BERLIN = ZoneInfo("Europe/Berlin")
FIRST_EVENING = date(2026, 10, 5)
LOW_C, HIGH_C = 18.0, 20.0
DASH = "\u2013"  # the en dash of the ranges a person reads


# --- the interval maths ----------------------------------------------------------------------


def binomial_tail(a: int, n: int, p: float, *, upper: bool) -> float:
    """P(X >= a) (upper) or P(X <= a), summed term by term with exact binomial coefficients."""
    ks = range(a, n + 1) if upper else range(a + 1)
    return math.fsum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in ks)


def as_p(ratio: float, minutes_a: float, minutes_b: float) -> float:
    """The binomial share of the first group's events at a rate ratio (the conditional method)."""
    return minutes_a * ratio / (minutes_a * ratio + minutes_b)


@pytest.mark.parametrize(
    ("a", "b", "minutes_a", "minutes_b"),
    [
        (10, 10, 1000, 1000),
        (3, 17, 600, 900),
        (25, 4, 1200, 700),
        (1, 1, 60, 60),
        (40, 60, 900, 600),
    ],
    ids=["even", "few-vs-many", "many-vs-few", "one-each", "larger"],
)
def test_interval_limits_are_where_the_binomial_tails_reach_two_and_a_half_percent(
    a: int, b: int, minutes_a: float, minutes_b: float
) -> None:
    ratio = rate_ratio(a, minutes_a, b, minutes_b)
    assert ratio is not None
    n = a + b
    assert ratio.ratio == pytest.approx((a / minutes_a) / (b / minutes_b))
    low_p, high_p = as_p(ratio.low, minutes_a, minutes_b), as_p(ratio.high, minutes_a, minutes_b)
    assert binomial_tail(a, n, low_p, upper=True) == pytest.approx(0.025, rel=1e-6)
    assert binomial_tail(a, n, high_p, upper=False) == pytest.approx(0.025, rel=1e-6)
    assert ratio.low < ratio.ratio < ratio.high


def test_ten_against_ten_matches_the_textbook_clopper_pearson_interval() -> None:
    # Clopper-Pearson for 10 of 20 is 0.2720-0.7280 (e.g. Agresti & Coull 1998, table 1).
    ratio = rate_ratio(10, 500, 10, 500)
    assert ratio is not None
    assert ratio.low == pytest.approx(0.2720 / 0.7280, abs=1e-3)
    assert ratio.high == pytest.approx(0.7280 / 0.2720, abs=1e-2)


def test_no_events_in_the_group_gives_zero_and_the_closed_form_upper_limit() -> None:
    ratio = rate_ratio(0, 1000, 5, 1000)
    # 0 of 5: the exact upper limit for p is 1 - 0.025^(1/5) = 0.5218.
    p_high = 1 - 0.025 ** (1 / 5)
    assert ratio is not None
    assert (ratio.ratio, ratio.low) == (0.0, 0.0)
    assert ratio.high == pytest.approx(p_high / (1 - p_high))
    assert p_high == pytest.approx(0.5218, abs=1e-4)


def test_no_events_in_the_reference_gives_an_open_upper_limit() -> None:
    ratio = rate_ratio(5, 1000, 0, 1000)
    assert ratio is not None
    assert math.isinf(ratio.ratio)
    assert math.isinf(ratio.high)
    p_low = 0.025 ** (1 / 5)
    assert ratio.low == pytest.approx(p_low / (1 - p_low))


def test_swapping_the_groups_inverts_the_interval() -> None:
    forward, backward = rate_ratio(12, 700, 30, 1100), rate_ratio(30, 1100, 12, 700)
    assert forward is not None
    assert backward is not None
    assert forward.ratio == pytest.approx(1 / backward.ratio)
    assert forward.low == pytest.approx(1 / backward.high)
    assert forward.high == pytest.approx(1 / backward.low)


def test_exposure_scales_every_end_of_the_interval() -> None:
    once, doubled = rate_ratio(20, 1000, 15, 1000), rate_ratio(20, 2000, 15, 1000)
    assert once is not None
    assert doubled is not None
    assert (doubled.ratio, doubled.low, doubled.high) == pytest.approx(
        (once.ratio / 2, once.low / 2, once.high / 2)
    )


def test_dispersion_widens_the_interval_by_its_square_root_on_the_log_scale() -> None:
    plain, widened = rate_ratio(40, 1000, 25, 1000), rate_ratio(40, 1000, 25, 1000, dispersion=4.0)
    assert plain is not None
    assert widened is not None
    assert widened.ratio == plain.ratio
    assert math.log(widened.high / widened.ratio) == pytest.approx(
        2 * math.log(plain.high / plain.ratio)
    )
    assert math.log(widened.ratio / widened.low) == pytest.approx(
        2 * math.log(plain.ratio / plain.low)
    )


def test_dispersion_below_one_never_narrows_the_interval() -> None:
    assert rate_ratio(40, 1000, 25, 1000, dispersion=0.3) == rate_ratio(40, 1000, 25, 1000)


@pytest.mark.parametrize(
    ("a", "minutes_a", "b", "minutes_b"),
    [(0, 100, 0, 100), (3, 0, 4, 100), (3, 100, 4, 0)],
    ids=["no-events", "no-time-in-group", "no-time-in-reference"],
)
def test_nothing_to_compare_gives_no_ratio(
    a: int, minutes_a: float, b: int, minutes_b: float
) -> None:
    assert rate_ratio(a, minutes_a, b, minutes_b) is None


def test_dispersion_is_pearson_chi_square_over_degrees_of_freedom() -> None:
    # One group, two nights of 100 min with 0 and 10 events: expected 5 each,
    # chi2 = 25/5 + 25/5 = 10 on 2 cells - 1 rate = 1 df.
    assert dispersion([("g", 1.0, 0, 100.0), ("g", 2.0, 10, 100.0)]) == pytest.approx(10.0)


def test_dispersion_of_counts_at_their_expected_values_is_one() -> None:
    cells = [("in", float(night), 6, 120.0) for night in range(8)]
    cells += [("above", float(night), 12, 120.0) for night in range(8)]
    assert dispersion(cells) == 1.0


# --- what counts -------------------------------------------------------------------------------


def spasm(start: float, kind: MovementKind = MovementKind.JERK) -> MovementEvent:
    return MovementEvent("bedroom", kind, start, start + 1.0, 5.0, 0.9, True)


def test_counted_spasms_leave_out_the_rejected_and_add_the_missed() -> None:
    events = [
        (1, spasm(300.0), Label.CONFIRMED),
        (2, spasm(100.0), Label.REJECTED),
        (3, spasm(200.0), None),
    ]
    missed = [
        EventLabel("bedroom", 150.0, 150.0, Label.MISSED, None, 151.0, "cli"),
        EventLabel("bedroom", 250.0, 251.0, Label.CONFIRMED, "jerk", 260.0, "cli"),
    ]
    assert counted_spasm_times(events, missed) == [150.0, 200.0, 300.0]


# --- hand-made weeks -----------------------------------------------------------------------------


def evening(night: int) -> float:
    """22:00 local on the evening of night `night`."""
    day = FIRST_EVENING + timedelta(days=night)
    return datetime.combine(day, datetime.min.time(), BERLIN).timestamp() + 22 * 3600


def handmade(
    nights: int, in_band_every_min: int = 20, warm_every_min: int = 10, warm_min: int = 120
) -> tuple[list[MinuteRecord], list[float]]:
    """Each night 4 h in the band (19 °C) then `warm_min` above it (21 °C), events on a grid.

    Also 30 min out of bed and 30 min of unknown temperature, each with events that must not count.
    """
    minutes: list[MinuteRecord] = []
    times: list[float] = []
    for night in range(nights):
        t0 = evening(night)
        for i in range(240 + warm_min + 60):
            t = t0 + 60 * i
            if i < 240:
                temp, in_bed, every = 19.0, True, in_band_every_min
            elif i < 240 + warm_min:
                temp, in_bed, every = 21.0, True, warm_every_min
            elif i < 240 + warm_min + 30:
                temp, in_bed, every = 21.0, False, 1  # out of bed: not exposure
            else:
                temp, in_bed, every = None, True, 1  # unknown temperature: not exposure
            minutes.append(MinuteRecord("bedroom", t, temp, LOW_C, HIGH_C, 2.0, 0, in_bed))
            if i % every == 0:
                times.append(t + 5.0)
    return minutes, times


def group(association: Association, name: str) -> GroupRate:
    return next(g for g in association.groups if g.name == name)


def test_rates_rest_on_in_bed_minutes_of_known_temperature() -> None:
    minutes, times = handmade(8)
    result = by_temperature(minutes, times)
    in_band, above = group(result, "in the band"), group(result, "above the band")
    assert (in_band.events, in_band.minutes, in_band.nights) == (8 * 12, 8 * 240, 8)
    assert (above.events, above.minutes, above.nights) == (8 * 12, 8 * 120, 8)
    assert in_band.per_hour == pytest.approx(3.0)
    assert above.per_hour == pytest.approx(6.0)
    assert above.versus_reference is not None
    assert above.versus_reference.ratio == pytest.approx(2.0)
    assert above.versus_reference.low > 1
    assert in_band.versus_reference is None
    assert result.reference == "in the band"
    assert [g.name for g in result.groups] == ["in the band", "above the band"]
    assert result.enough
    assert result.verdict.startswith("Above the band: 100 % more (95 % CI ")
    assert result.caveat == ASSOCIATION_CAVEAT


def test_too_few_nights_say_not_enough_and_how_much_is_needed() -> None:
    minutes, times = handmade(MIN_GROUP_NIGHTS - 1)
    result = by_temperature(minutes, times)
    assert not result.enough
    assert result.verdict.startswith("Not enough nights to say (in the band 6 nights, 24 h")
    assert f"at least {MIN_GROUP_NIGHTS} nights and {MIN_GROUP_MINUTES // 60} h" in result.verdict
    assert all(g.per_hour is None and g.versus_reference is None for g in result.groups)
    assert result.caveat == ASSOCIATION_CAVEAT


def test_a_thin_warm_group_gets_no_rate_while_the_reference_has_one() -> None:
    minutes, times = handmade(8, warm_min=60)  # 8 h above the band in all: under 10 h
    result = by_temperature(minutes, times)
    assert group(result, "in the band").per_hour == pytest.approx(3.0)
    assert group(result, "above the band").per_hour is None
    assert not result.enough
    assert "above the band 8 nights, 8 h" in result.verdict


def test_equal_rates_give_no_clear_difference() -> None:
    minutes, times = handmade(10, in_band_every_min=10, warm_every_min=10)
    result = by_temperature(minutes, times)
    ratio = group(result, "above the band").versus_reference
    assert ratio is not None
    assert ratio.ratio == pytest.approx(1.0)
    assert result.verdict.startswith("No clear difference")


def test_degree_bins_show_only_bins_with_enough_data() -> None:
    minutes, times = handmade(8)
    extra = [  # one night at 15 °C: a bin too thin to show
        MinuteRecord("bedroom", evening(30) + 60 * i, 15.5, LOW_C, HIGH_C, 2.0, 0, True)
        for i in range(300)
    ]
    result = by_temperature(minutes + extra, times, "degree")
    assert [g.name for g in result.groups] == ["in the band", f"19{DASH}20 °C", f"21{DASH}22 °C"]
    warm = group(result, f"21{DASH}22 °C")
    assert (warm.low_c, warm.high_c) == (21.0, 22.0)
    assert warm.versus_reference is not None
    assert warm.versus_reference.ratio == pytest.approx(2.0)


def note_at(night: int, text: str = "baclofen 10 mg at 22:00 started") -> Note:
    return Note("bedroom", evening(night), text, "cli")


def test_before_and_after_a_note_leave_out_the_note_night_and_compare_after_to_before() -> None:
    minutes: list[MinuteRecord] = []
    times: list[float] = []
    for night in range(21):
        every = 10 if night < 10 else 20 if night > 10 else 1  # the note's night: ignored
        for i in range(300):
            t = evening(night) + 1800 + 60 * i
            minutes.append(MinuteRecord("bedroom", t, None, None, None, None, 0, True))
            if i % every == 0:
                times.append(t + 1.0)
    result = around_note(minutes, times, note_at(10), BERLIN, nights_each_side=10)
    before, after = group(result, "before"), group(result, "after")
    assert (before.nights, before.minutes, before.events) == (10, 3000, 300)
    assert (after.nights, after.minutes, after.events) == (10, 3000, 150)
    assert after.versus_reference is not None
    assert after.versus_reference.ratio == pytest.approx(0.5)
    assert result.reference == "before"
    assert result.enough
    assert result.verdict.startswith("In the 10 nights after vs before: 50 % fewer (95 % CI ")
    assert "baclofen" in result.title


def test_a_note_with_few_nights_after_it_says_not_enough() -> None:
    minutes, times = handmade(12)
    result = around_note(minutes, times, note_at(9), BERLIN)
    assert not result.enough
    assert result.verdict.startswith("Not enough nights to say (before 9 nights")
    assert "after 2 nights" in result.verdict
    assert result.caveat == ASSOCIATION_CAVEAT


def test_no_band_is_suggested_when_temperature_makes_no_difference() -> None:
    minutes, times = handmade(12, in_band_every_min=10, warm_every_min=10)
    assert suggest_band(minutes, times, 20.0, 22.0) is None


def test_a_cooler_band_is_suggested_when_warm_minutes_are_worse() -> None:
    minutes, times = handmade(12)
    suggestion = suggest_band(minutes, times, 20.0, 22.0)  # today's band reaches 21 °C
    assert suggestion is not None
    assert (suggestion.low_c, suggestion.high_c) == (18.0, 20.0)
    assert suggestion.ratio.ratio == pytest.approx(0.5)
    assert suggestion.ratio.high < 1
    assert suggestion.nights == 12
    assert suggestion.sentence.startswith(f"Nights held at 18{DASH}20 °C had 50 % fewer (95 % CI ")
    assert suggestion.sentence.endswith(f"than at 20{DASH}22 °C, over 12 nights.")


# --- the planted effects of simulated weeks --------------------------------------------------------


@cache
def weeks(seed: int, nights: int = 56) -> tuple[list[SimulatedNight], list[Note]]:
    return simulate_weeks(WeeksSpec(seed=seed, nights=nights, medication_night=nights // 2))


def flat(simulated: list[SimulatedNight]) -> tuple[list[MinuteRecord], list[float]]:
    minutes = [m for night in simulated for m in night.minutes]
    times = [e.start for night in simulated for e in night.events if e.spasm_like]
    return minutes, times


def test_eight_weeks_recover_both_planted_directions() -> None:
    simulated, notes = weeks(1)
    minutes, times = flat(simulated)
    warm = group(by_temperature(minutes, times), "above the band").versus_reference
    medication = around_note(minutes, times, notes[0], ZoneInfo(WeeksSpec().zone))
    after = group(medication, "after").versus_reference
    assert warm is not None
    assert warm.low > 1  # warmer nights worse, clearly
    assert after is not None
    assert after.high < 1  # fewer after the medication change, clearly
    assert medication.dispersion > 1  # the planted night frailty is seen and allowed for


def test_five_nights_are_not_enough_to_say() -> None:
    simulated, notes = weeks(1, nights=5)
    minutes, times = flat(simulated)
    assert not by_temperature(minutes, times).enough
    assert by_temperature(minutes, times).verdict.startswith("Not enough nights to say")
    medication = around_note(minutes, times, notes[0], ZoneInfo(WeeksSpec().zone))
    assert not medication.enough
    assert medication.verdict.startswith("Not enough nights to say")
    assert suggest_band(minutes, times, LOW_C, HIGH_C) is None


def test_the_interval_covers_the_planted_sizes_over_twenty_seeds() -> None:
    """Observed: 20 of 20 for both (1.6 warm, 0.6 medication); 58 of 60 each over 60 seeds."""
    spec = WeeksSpec()
    warm_hits = medication_hits = 0
    for seed in range(1, 21):
        simulated, notes = weeks(seed)
        minutes, times = flat(simulated)
        warm = group(by_temperature(minutes, times), "above the band").versus_reference
        after = group(around_note(minutes, times, notes[0], ZoneInfo(spec.zone)), "after")
        assert warm is not None
        assert after.versus_reference is not None
        warm_hits += warm.low <= spec.warm_rate_ratio <= warm.high
        medication_hits += (
            after.versus_reference.low <= spec.medication_rate_ratio <= after.versus_reference.high
        )
    assert warm_hits >= 17
    assert medication_hits >= 17


def test_simulated_weeks_with_a_warm_effect_suggest_a_cooler_band_than_a_warm_one() -> None:
    minutes, times = flat(weeks(1)[0])
    suggestion = suggest_band(minutes, times, 19.0, 21.0)
    assert suggestion is not None
    assert suggestion.high_c <= 20.0
    assert suggestion.ratio.high < 1


def test_simulated_weeks_without_effects_suggest_nothing() -> None:
    spec = WeeksSpec(seed=3, warm_rate_ratio=1.0, medication_night=None)
    minutes, times = flat(simulate_weeks(spec)[0])
    assert suggest_band(minutes, times, LOW_C, HIGH_C) is None
    assert suggest_band(minutes, times, 19.0, 21.0) is None


def test_no_minutes_at_all_say_not_enough_and_suggest_nothing() -> None:
    result = by_temperature([], [])
    assert not result.enough
    assert result.groups == ()
    assert result.verdict.startswith("Not enough nights to say (in the band 0 nights, 0 h;")
    assert by_temperature([], [], "degree").groups == ()
    assert not around_note([], [], note_at(3), BERLIN).enough
    assert suggest_band([], [], LOW_C, HIGH_C) is None


def test_an_upside_down_current_band_gets_no_suggestion() -> None:
    minutes, times = handmade(12)
    assert suggest_band(minutes, times, 22.0, 20.0) is None
