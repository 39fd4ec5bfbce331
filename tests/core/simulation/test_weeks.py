"""Simulated weeks: deterministic nights, summaries that agree with their minutes, the note planted."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from integration.core.localtime import night_date
from integration.core.notes import Note
from integration.core.simulation.weeks import (
    MEDICATION_NOTE,
    SimulatedNight,
    WeeksSpec,
    simulate_weeks,
)

SPEC = WeeksSpec(nights=21, seed=4, medication_night=10)


@cache
def simulated(spec: WeeksSpec = SPEC) -> tuple[list[SimulatedNight], list[Note]]:
    return simulate_weeks(spec)


def test_the_same_seed_makes_the_same_weeks_and_another_seed_other_weeks() -> None:
    again = simulate_weeks(replace(SPEC))
    assert again == simulated()
    other = simulate_weeks(replace(SPEC, seed=5))
    assert other[0][0].summary != simulated()[0][0].summary


def test_more_nights_never_change_the_earlier_ones() -> None:
    longer, _notes = simulate_weeks(replace(SPEC, nights=25))
    assert [n.minutes for n in longer[:21]] == [n.minutes for n in simulated()[0]]
    assert [n.events for n in longer[:21]] == [n.events for n in simulated()[0]]


def test_one_night_an_evening_in_the_spec_zone_oldest_first() -> None:
    nights, _notes = simulated()
    zone = ZoneInfo(SPEC.zone)
    dates = [night_date(n.summary.bed_time, zone) for n in nights]
    assert [(d - SPEC.start).days for d in dates] == list(range(SPEC.nights))
    for night in nights:
        bed = datetime.fromtimestamp(night.summary.bed_time, zone)
        assert 21 <= bed.hour <= 23
        assert 7 * 3600 <= night.summary.wake_time - night.summary.bed_time <= 8.5 * 3600


def test_summaries_minutes_and_events_tell_the_same_night() -> None:
    for night in simulated()[0]:
        spasms = [e for e in night.events if e.spasm_like]
        summary = night.summary
        assert summary.spasm_count == len(spasms) == sum(m.spasms for m in night.minutes)
        assert all(summary.bed_time <= e.start < summary.wake_time for e in spasms)
        out_minutes = {math.floor(m.t / 60) for m in night.minutes if not m.in_bed}
        assert not {math.floor(e.start / 60) for e in spasms} & out_minutes
        restless = sum(e.kind.value == "restless_end" for e in night.events)
        assert summary.restless_episodes == restless
        assert summary.temp_known_min == sum(m.temp_c is not None for m in night.minutes)
        assert {(m.low_c, m.high_c) for m in night.minutes if m.temp_c is not None} == {
            (SPEC.low_c, SPEC.high_c)
        }
        assert summary.sleep is not None
        assert summary.room == SPEC.room


def test_the_weeks_hold_warm_cool_and_in_band_nights_get_ups_and_gaps() -> None:
    summaries = [n.summary for n in simulated(WeeksSpec())[0]]
    assert sum(s.too_warm_min > 240 for s in summaries) >= 7
    assert sum((s.in_band_share or 0) > 0.5 for s in summaries) >= 7
    assert sum(s.too_cold_min > 240 for s in summaries) >= 7
    assert sum(s.get_ups for s in summaries) > 20
    assert 2 <= sum(s.quality.sensor_gaps > 0 for s in summaries) <= 20
    assert any(m.temp_c is None for n in simulated(WeeksSpec())[0] for m in n.minutes)


def test_the_nights_are_overdispersed_as_the_frailty_plants() -> None:
    counts = [n.summary.spasm_rate_per_h or 0.0 for n in simulated(WeeksSpec())[0][:28]]
    mean = sum(counts) / len(counts)
    variance = sum((c - mean) ** 2 for c in counts) / (len(counts) - 1)
    assert variance > 2 * mean / 7.5  # a Poisson rate over ~7.5 h would vary about mean / 7.5


def test_the_medication_change_comes_back_as_a_note_at_22_on_its_evening() -> None:
    _nights, notes = simulated()
    zone = ZoneInfo(SPEC.zone)
    (note,) = notes
    assert (note.room, note.text, note.source) == (SPEC.room, MEDICATION_NOTE, "simulation")
    local = datetime.fromtimestamp(note.at, zone)
    assert (local.hour, local.minute) == (22, 0)
    assert (night_date(note.at, zone) - SPEC.start).days == SPEC.medication_night


def test_no_medication_night_means_no_note() -> None:
    assert simulate_weeks(replace(SPEC, nights=3, medication_night=None))[1] == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nights": 0}, "nights must be at least 1"),
        ({"warm_rate_ratio": 0.0}, "warm_rate_ratio must be above 0"),
        ({"medication_rate_ratio": math.nan}, "medication_rate_ratio must be above 0"),
        ({"medication_night": 21}, "medication_night must be a night from 0 to 20"),
        ({"low_c": 21.0}, "low_c must be below high_c"),
        ({"baseline_per_h": 0.0}, "baseline_per_h must be in (0, 60]"),
    ],
    ids=[
        "no-nights",
        "zero-ratio",
        "nan-ratio",
        "change-after-the-end",
        "band-upside-down",
        "no-rate",
    ],
)
def test_a_spec_that_cannot_be_simulated_says_which_field(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("]", r"\]")):
        replace(SPEC, **changes)  # type: ignore[arg-type]
