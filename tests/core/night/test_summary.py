"""The morning summary against a small night whose every figure is computed by hand.

The night (Europe/London in November, so local time is UTC): bed 23:00, wake 01:00 (120 min).
- Out of bed 23:30-23:40 (one get-up, 600 s); the get-up at wake is not counted.
- Band 18-20 °C. Readings every 10 min (held in between): 19.0 for minutes 0-59 (minute 0 has
  18.5 and 19.5), 21.0 for 60-89 (too warm), 16.0 for 90-119 (too cold).
  Mean (60*19 + 30*21 + 30*16) / 120 = 18.75; in band 60/120.
- Spasm-like: plm at minute 10, jerk at 20 (in band); jerk 65, jerk 70, clonus 75 (warm); a jerk
  after wake and a turnover do not count. 5 in 6600 s in bed = 2.727/h; warm 3 in 30 min = 6/h;
  in band 2 in 60 min = 2/h; by hour 23:00 -> 2, 00:00 -> 3.
- Restless 64-76 (12 min) and from 115 still open at wake (5 min).
- Accelerometer at 1 Hz: 1 mg SD every minute, 10 mg in minute 50, silent minutes 80-99.
  Cole-Kripke: only minute 50 awake; out of bed 30-39 awake, Webster (b) rescores 40-42.
  Awake 14 of 100 scored minutes: efficiency 0.86.
- Sensors expected: temp1 (every 10 min, no gap at 900 s), accel1 (silent 21 min, more than
  its own 1200 s: one gap).
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from integration.core.events import Action, ActionKind, MovementEvent, MovementKind
from integration.core.readings import AccelSamples
from integration.core.summary import (
    Comparison,
    NightAccumulator,
    NightSummary,
    Rate,
    SleepEstimate,
    penn_frequency,
    render_text,
)

LONDON = ZoneInfo("Europe/London")
BED = datetime(2026, 11, 23, 23, 0, tzinfo=LONDON).timestamp()
WAKE = BED + 120 * 60


def minute(m: float) -> float:
    return BED + m * 60


def event(kind: MovementKind, start_min: float, end_min: float | None = None) -> MovementEvent:
    end = minute(end_min if end_min is not None else start_min) + 1
    return MovementEvent(
        room="bedroom",
        kind=kind,
        start=minute(start_min),
        end=end,
        peak=6.0,
        confidence=0.8,
        spasm_like=kind in {MovementKind.JERK, MovementKind.CLONUS, MovementKind.PLM},
    )


def accel_minute(m: int, swing_g: float) -> AccelSamples:
    """60 samples at 1 Hz alternating 1 g and 1 g + swing: SD of per-second means = swing/2."""
    z = tuple(1.0 + swing_g * (i % 2) for i in range(60))
    return AccelSamples("bedroom", "accel1", minute(m), 1.0, (0.0,) * 60, (0.0,) * 60, z)


def feed_minutes(acc: NightAccumulator, first: int, last: int) -> None:
    """Feed the hand night's inputs for minutes first..last (inclusive)."""
    temps = {0: 19.0, 60: 21.0, 90: 16.0}
    spasms = {
        10: MovementKind.PLM,
        20: MovementKind.JERK,
        65: MovementKind.JERK,
        70: MovementKind.JERK,
        75: MovementKind.CLONUS,
        125: MovementKind.JERK,
    }
    for m in range(first, last + 1):
        t = minute(m)
        if m == 0:
            acc.add_temperature(t, 18.5, 18.0, 20.0)
            acc.add_temperature(t + 20, 19.5, 18.0, 20.0)
            acc.sensor_seen("temp1", t)
        elif m % 10 == 0 and m < 120:
            acc.add_temperature(t, temps[max(k for k in temps if k <= m)], 18.0, 20.0)
            acc.sensor_seen("temp1", t)
        if not 80 <= m <= 99 and m < 120:
            acc.add_motion(accel_minute(m, 0.02 if m == 50 else 0.002))
            acc.sensor_seen("accel1", t)
        if m in spasms:
            acc.add_event(event(spasms[m], m))
        if m == 30:
            acc.in_bed(t, False)
        if m == 40:
            acc.in_bed(t, True)
        if m == 45:
            acc.add_event(event(MovementKind.TURNOVER, m))
        if m == 64:
            acc.add_event(event(MovementKind.RESTLESS_START, 64))
        if m == 76:
            acc.add_event(
                MovementEvent(
                    "bedroom", MovementKind.RESTLESS_END, minute(64), minute(76), 1, 1, False
                )
            )
        if m == 115:
            acc.add_event(event(MovementKind.RESTLESS_START, 115))
        if m == 120:
            acc.in_bed(t, False)
        if m in {62, 95, 130}:
            target = {62: "switch.turn_on", 95: "switch.turn_off", 130: "notify.phone"}[m]
            kind = ActionKind.NOTIFY if m == 130 else ActionKind.HA_SERVICE
            acc.add_action(Action("bedroom", t, kind, target))
    if first == 0:
        acc.add_rejected("malformed_json", 2)
        acc.add_rejected("out_of_range")


def new_accumulator() -> NightAccumulator:
    return NightAccumulator(
        "bedroom",
        "Bedroom",
        BED,
        LONDON,
        sensors=("temp1", "accel1"),
        gap_s=900,
        gap_s_by_id={"accel1": 1200},
    )


def earlier_night(days_before: int, jerks: int, room: str = "bedroom") -> NightSummary:
    acc = NightAccumulator(room, "Bedroom", BED - days_before * 86400, LONDON)
    for i in range(jerks):
        acc.add_event(event(MovementKind.JERK, i - days_before * 1440))
    return acc.finish(BED - days_before * 86400 + 7200)


@pytest.fixture(scope="module")
def night() -> NightSummary:
    acc = new_accumulator()
    feed_minutes(acc, 0, 130)
    history = [
        earlier_night(1, 0),
        earlier_night(2, 1),
        earlier_night(3, 9, room="guest"),  # another room: not compared
    ]
    return acc.finish(WAKE, history)


def test_times_in_and_out_of_bed(night: NightSummary) -> None:
    assert (night.bed_time, night.wake_time) == (BED, WAKE)
    assert night.time_out_of_bed_s == 600
    assert night.time_in_bed_s == 6600
    assert night.get_ups == 1
    assert night.night_date == "2026-11-23"


def test_temperature_figures(night: NightSummary) -> None:
    assert (night.temp_min_c, night.temp_max_c) == (16.0, 21.0)
    assert night.temp_mean_c == pytest.approx(18.75)
    assert night.temp_known_min == 120
    assert night.in_band_share == pytest.approx(0.5)
    assert (night.too_warm_min, night.too_cold_min) == (30, 30)


def test_spasm_figures(night: NightSummary) -> None:
    assert night.spasm_count == 5
    assert night.spasm_rate_per_h == pytest.approx(5 / (6600 / 3600))
    assert night.spasms_by_kind == {"plm": 1, "jerk": 3, "clonus": 1}
    assert night.spasms_by_hour == {"23:00": 2, "00:00": 3}
    assert night.peak_spasm_hour == "00:00"


def test_spasm_rates_when_warm_and_in_band_with_their_counts(night: NightSummary) -> None:
    assert night.rate_when_warm == Rate(events=3, minutes=30, per_hour=6.0)
    assert night.rate_in_band == Rate(events=2, minutes=60, per_hour=2.0)


def test_restless_episodes(night: NightSummary) -> None:
    assert night.restless_episodes == 2
    assert night.restless_total_min == pytest.approx(17)
    assert night.restless_longest_min == pytest.approx(12)


def test_sleep_estimate(night: NightSummary) -> None:
    assert night.sleep == SleepEstimate(
        efficiency=86 / 100, asleep_min=86, awake_min=14, scored_min=100
    )


def test_actions_taken_before_wake(night: NightSummary) -> None:
    assert night.actions_count == 2
    assert night.actions_by_kind == {"ha_service": 2}
    assert night.actions_by_target == {"switch.turn_off": 1, "switch.turn_on": 1}


def test_data_quality(night: NightSummary) -> None:
    quality = night.quality
    assert (quality.sensor_gaps, quality.gap_total_s, quality.longest_gap_s) == (1, 1260, 1260)
    assert quality.gaps_by_sensor == {"accel1": 1}
    assert quality.rejected_total == 3
    assert quality.rejected_by_reason == {"malformed_json": 2, "out_of_range": 1}


def test_comparison_with_earlier_nights_of_the_same_room(night: NightSummary) -> None:
    assert night.comparison["spasm_count"] == Comparison(nights=2, mean=0.5, difference=4.5)
    in_bed = night.comparison["time_in_bed_h"]
    assert (in_bed.nights, in_bed.mean) == (2, 2.0)
    assert in_bed.difference == pytest.approx(6600 / 3600 - 2)
    assert "in_band_share" not in night.comparison  # no earlier night had temperatures


def test_summary_round_trips_through_json(night: NightSummary) -> None:
    data = json.loads(json.dumps(night.to_dict()))
    assert NightSummary.from_dict(data) == night


def test_restart_mid_night_loses_nothing(night: NightSummary) -> None:
    before = new_accumulator()
    feed_minutes(before, 0, 70)
    saved = json.loads(json.dumps(before.snapshot()))
    after = NightAccumulator.restore(saved)
    feed_minutes(after, 71, 130)
    history = [earlier_night(1, 0), earlier_night(2, 1)]
    assert after.finish(WAKE, history) == night


def test_unknown_snapshot_version_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown night snapshot version"):
        NightAccumulator.restore({"version": 0})


def test_empty_night_has_no_figures_to_claim() -> None:
    summary = NightAccumulator("bedroom", "Bedroom", BED, LONDON).finish(WAKE)
    assert (summary.temp_mean_c, summary.in_band_share, summary.sleep) == (None, None, None)
    assert summary.rate_when_warm == Rate(0, 0, None)
    assert summary.spasm_rate_per_h == 0.0
    assert summary.comparison == {}


def test_minute_records_for_the_store() -> None:
    acc = new_accumulator()
    feed_minutes(acc, 0, 130)
    rows = acc.minutes(minute(29), minute(31))
    assert [(r.t, r.temp_c, r.in_bed, r.spasms) for r in rows] == [
        (minute(29), 19.0, True, 0),
        (minute(30), 19.0, False, 0),
    ]
    assert rows[0].activity_mg == pytest.approx(1.0)
    assert acc.minutes(minute(10), minute(11))[0].spasms == 1


def test_text_says_the_night_in_plain_words(night: NightSummary) -> None:
    assert render_text(night) == (
        "Bedroom, night of Mon 23 Nov: in bed 23:00-01:00 (1 h 50 min), up 1 time (10 min).\n"
        "Spasm-like movements: 5 (1 or more an hour), most around 00:00; "
        "restless 2 times, 17 min (longest 12 min).\n"
        "Room 16.0-21.0 °C (mean 18.8), in the comfort band 50% of the time, too warm 30 min, "
        "too cold 30 min.\n"
        "While too warm: 3 in 30 min (6.0/h); in band: 2 in 60 min (2.0/h). "
        "One night's counts, not a cause.\n"
        "Estimated asleep from movement: 86% of the night.\n"
        "Last 2 nights: 0.5 spasm-like on average.\n"
        "Data: 1 sensor gap, 3 unreadable messages."
    )


@pytest.mark.parametrize(
    ("per_hour", "words"),
    [
        (0.0, "none"),
        (0.5, "less than 1 an hour"),
        (1.0, "1 or more an hour"),
        (12, "10 or more an hour"),
    ],
    ids=["none", "below_1", "from_1", "from_10"],
)
def test_penn_spasm_frequency_bands(per_hour: float, words: str) -> None:
    assert penn_frequency(per_hour) == words


def test_a_night_begun_after_midnight_has_one_date_in_its_text() -> None:
    """Bed at 00:40 on Sat 5 Dec belongs to the night of Fri 4 Dec, in the text as in the date."""
    bed = datetime(2026, 12, 5, 0, 40, tzinfo=LONDON).timestamp()
    summary = NightAccumulator("bedroom", "Bedroom", bed, LONDON).finish(bed + 6 * 3600)
    assert summary.night_date == "2026-12-04"
    assert render_text(summary).startswith("Bedroom, night of Fri 04 Dec: in bed 00:40-06:40")
