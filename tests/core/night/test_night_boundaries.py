from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from ruamel.yaml import YAML

from integration.core.night import (
    BoundaryKind,
    NightBoundary,
    NightSettings,
    NightSource,
    NightTracker,
)

LONDON = ZoneInfo("Europe/London")
SETTINGS = NightSettings()  # bed from 20:00, wake 04:30-12:00, 30 min up closes, 2 h minimum


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    """Epoch seconds of a London wall-clock time (fold 0 on the repeated hour)."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).timestamp()


def walk(
    tracker: NightTracker,
    start: float,
    end: float,
    changes: dict[float, bool | None],
    *,
    up_at_start: bool = True,
) -> list[NightBoundary]:
    """Tick each minute from start to end, observing each change at its own time.

    With changes, the bed sensor reports "out of bed" at the start unless told otherwise.
    """
    events: list[NightBoundary] = []
    if changes and up_at_start:
        events += tracker.observe(start, False)
    pending = sorted(changes.items())
    t = start
    while t <= end:
        while pending and pending[0][0] <= t:
            when, in_bed = pending.pop(0)
            events += tracker.observe(when, in_bed)
        events += tracker.tick(t)
        t += 60.0
    return events


def summary(events: list[NightBoundary]) -> list[tuple[BoundaryKind, float, float, float | None]]:
    return [(e.kind, e.t, e.bed_time, e.wake_time) for e in events]


def test_night_across_midnight_opens_at_bedtime_and_closes_when_up_for_good() -> None:
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    bed, up = at(2026, 11, 23, 22, 50), at(2026, 11, 24, 7, 10)
    events = walk(tracker, at(2026, 11, 23, 21), at(2026, 11, 24, 9), {bed: True, up: False})
    assert summary(events) == [
        (BoundaryKind.OPENED, bed, bed, None),
        (BoundaryKind.CLOSED, up + 1800, bed, up),
    ]
    assert events[1].source is NightSource.OCCUPANCY
    assert events[1].reason == "out_of_bed_after_earliest_wake"


def test_short_trips_out_of_bed_stay_inside_the_night() -> None:
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    bed = at(2026, 11, 23, 23)
    changes: dict[float, bool | None] = {
        bed: True,
        at(2026, 11, 24, 1): False,  # 50 min up before earliest wake: still the night
        at(2026, 11, 24, 1, 50): True,
        at(2026, 11, 24, 5): False,  # 20 min up after earliest wake: still the night
        at(2026, 11, 24, 5, 20): True,
        at(2026, 11, 24, 7): False,
    }
    events = walk(tracker, at(2026, 11, 23, 22), at(2026, 11, 24, 8), changes)
    assert summary(events) == [
        (BoundaryKind.OPENED, bed, bed, None),
        (BoundaryKind.CLOSED, at(2026, 11, 24, 7, 30), bed, at(2026, 11, 24, 7)),
    ]


def test_afternoon_nap_is_not_a_night() -> None:
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    changes: dict[float, bool | None] = {at(2026, 11, 24, 14): True, at(2026, 11, 24, 16): False}
    assert walk(tracker, at(2026, 11, 24, 13), at(2026, 11, 24, 19), changes) == []


def test_short_evening_lie_down_is_discarded() -> None:
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    down, up = at(2026, 11, 23, 20, 30), at(2026, 11, 23, 21)
    events = walk(tracker, at(2026, 11, 23, 20), at(2026, 11, 23, 22), {down: True, up: False})
    assert summary(events) == [
        (BoundaryKind.OPENED, down, down, None),
        (BoundaryKind.DISCARDED, up + 1800, down, up),
    ]
    assert events[1].reason == "short_lie_down"


def test_in_bed_before_earliest_bedtime_opens_when_the_window_opens_from_lying_down() -> None:
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    down = at(2026, 11, 23, 19, 30)
    events = walk(tracker, at(2026, 11, 23, 19), at(2026, 11, 23, 21), {down: True})
    assert summary(events) == [(BoundaryKind.OPENED, at(2026, 11, 23, 20), down, None)]


def test_latest_wake_closes_the_night_while_still_in_bed() -> None:
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    bed = at(2026, 11, 23, 23)
    events = walk(tracker, at(2026, 11, 23, 22), at(2026, 11, 24, 13), {bed: True})
    noon = at(2026, 11, 24, 12)
    assert summary(events)[1] == (BoundaryKind.CLOSED, noon, bed, noon)
    assert events[1].reason == "latest_wake"


def test_no_occupancy_information_follows_the_schedule() -> None:
    tracker = NightTracker("guest", SETTINGS, LONDON)
    events = walk(tracker, at(2026, 11, 23, 21), at(2026, 11, 24, 9), {})
    start, end = at(2026, 11, 23, 22, 30), at(2026, 11, 24, 7)
    assert summary(events) == [
        (BoundaryKind.OPENED, start, start, None),
        (BoundaryKind.CLOSED, end, start, end),
    ]
    assert {e.source for e in events} == {NightSource.SCHEDULE}


def test_schedule_night_started_before_a_restart_keeps_its_scheduled_start() -> None:
    tracker = NightTracker("guest", SETTINGS, LONDON)
    events = tracker.tick(at(2026, 11, 24, 1, 15))
    assert summary(events) == [
        (BoundaryKind.OPENED, at(2026, 11, 24, 1, 15), at(2026, 11, 23, 22, 30), None)
    ]


def test_spring_forward_night_uses_local_earliest_wake() -> None:
    # Europe/London: 29 March 2026 01:00 GMT becomes 02:00 BST; the night is 1 h shorter.
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    bed, up = at(2026, 3, 28, 23), at(2026, 3, 29, 4, 30)
    events = walk(tracker, at(2026, 3, 28, 22), at(2026, 3, 29, 6), {bed: True, up: False})
    assert summary(events) == [
        (BoundaryKind.OPENED, bed, bed, None),
        (BoundaryKind.CLOSED, at(2026, 3, 29, 5), bed, up),
    ]
    assert up - bed == 4.5 * 3600  # 23:00 GMT to 04:30 BST


def test_spring_forward_get_up_before_earliest_wake_stays_inside_the_night() -> None:
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    bed = at(2026, 3, 28, 23)
    changes: dict[float, bool | None] = {
        bed: True,
        at(2026, 3, 29, 3, 50): False,  # 40 min up, ending after 04:30 BST: closes at 04:30
    }
    events = walk(tracker, at(2026, 3, 28, 22), at(2026, 3, 29, 6), changes)
    assert summary(events)[1] == (
        BoundaryKind.CLOSED,
        at(2026, 3, 29, 4, 30),
        bed,
        at(2026, 3, 29, 3, 50),
    )


def test_fall_back_night_is_an_hour_longer_and_closes_on_local_time() -> None:
    # Europe/London: 25 October 2026 02:00 BST becomes 01:00 GMT.
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    bed, up = at(2026, 10, 24, 23), at(2026, 10, 25, 6)
    events = walk(tracker, at(2026, 10, 24, 22), at(2026, 10, 25, 8), {bed: True, up: False})
    assert summary(events) == [
        (BoundaryKind.OPENED, bed, bed, None),
        (BoundaryKind.CLOSED, at(2026, 10, 25, 6, 30), bed, up),
    ]
    assert up - bed == 8 * 3600  # 23:00 BST to 06:00 GMT


def test_fall_back_schedule_night_closes_at_local_schedule_end() -> None:
    tracker = NightTracker("guest", SETTINGS, LONDON)
    events = walk(tracker, at(2026, 10, 24, 22), at(2026, 10, 25, 8), {})
    assert [e.t for e in events] == [at(2026, 10, 24, 22, 30), at(2026, 10, 25, 7)]
    assert events[1].t - events[0].t == 9.5 * 3600


def test_restart_mid_night_resumes_the_same_night() -> None:
    bed, up = at(2026, 11, 23, 22, 50), at(2026, 11, 24, 7, 10)
    changes: dict[float, bool | None] = {bed: True, at(2026, 11, 24, 2): False}
    changes[at(2026, 11, 24, 2, 10)] = True
    changes[up] = False
    uninterrupted = walk(
        NightTracker("bedroom", SETTINGS, LONDON),
        at(2026, 11, 23, 21),
        at(2026, 11, 24, 9),
        changes,
    )

    before = NightTracker("bedroom", SETTINGS, LONDON)
    restart = at(2026, 11, 24, 3)
    first = walk(before, at(2026, 11, 23, 21), restart, changes)
    saved = json.loads(json.dumps(before.snapshot()))
    after = NightTracker.restore("bedroom", SETTINGS, LONDON, saved)
    later = {t: v for t, v in changes.items() if t > restart}
    second = walk(after, restart + 600, at(2026, 11, 24, 9), later, up_at_start=False)
    assert after.open_bed_time is None
    assert summary(first + second) == summary(uninterrupted)
    assert second[0].kind is BoundaryKind.CLOSED


def test_unknown_snapshot_version_starts_afresh() -> None:
    tracker = NightTracker.restore("bedroom", SETTINGS, LONDON, {"version": 999})
    assert tracker.open_bed_time is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"earliest_bedtime": "8pm"}, "HH:MM"),
        ({"latest_wake": "21:00"}, "earliest_wake < latest_wake < earliest_bedtime"),
        ({"schedule_end": "22:30"}, "must differ"),
        ({"bedtime": "21:00"}, "Extra inputs are not permitted"),
    ],
    ids=["not_hhmm", "wake_after_bedtime", "empty_schedule", "unknown_key"],
)
def test_bad_night_settings_are_refused(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NightSettings.model_validate(changes)


def test_shipped_defaults_validate_and_match_the_code_defaults() -> None:
    path = Path(__file__).parents[3] / "rules" / "night.yaml"
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    assert NightSettings.model_validate(data["night"]) == NightSettings()


def test_room_with_a_bed_sensor_never_follows_the_schedule() -> None:
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    events = tracker.observe(at(2026, 11, 23, 21), False)
    events += walk(tracker, at(2026, 11, 23, 21), at(2026, 11, 24, 9), {at(2026, 11, 23, 23): None})
    assert events == []


def test_sensor_going_silent_mid_night_keeps_the_night_open() -> None:
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    bed = at(2026, 11, 23, 23)
    changes: dict[float, bool | None] = {bed: True, at(2026, 11, 24, 2): None}
    events = walk(tracker, at(2026, 11, 23, 22), at(2026, 11, 24, 13), changes)
    assert [(e.kind, e.reason) for e in events] == [
        (BoundaryKind.OPENED, "in_bed_at_bedtime"),
        (BoundaryKind.CLOSED, "latest_wake"),
    ]


@given(
    st.lists(
        st.tuples(st.integers(1, 600), st.sampled_from([True, False, None])),
        min_size=1,
        max_size=60,
    )
)
@settings(max_examples=60, deadline=None)
def test_every_opened_night_ends_exactly_once(steps: list[tuple[int, bool | None]]) -> None:
    tracker = NightTracker("bedroom", SETTINGS, LONDON)
    t = at(2026, 10, 24, 18)  # across the fall-back night
    events: list[NightBoundary] = []
    for gap_min, in_bed in steps:
        t += gap_min * 60
        events += tracker.observe(t, in_bed)
    events += tracker.observe(t + 1, False)
    events += tracker.tick(t + 2 * 86400)
    kinds = [e.kind for e in events]
    assert kinds[0::2] == [BoundaryKind.OPENED] * len(kinds[0::2])
    assert all(k is not BoundaryKind.OPENED for k in kinds[1::2])
    assert len(kinds) % 2 == 0  # two days later every night has ended
    for opened, ended in zip(events[0::2], events[1::2], strict=True):
        assert ended.bed_time == opened.bed_time
        assert ended.wake_time is not None
        assert opened.bed_time <= ended.wake_time <= ended.t
    assert [e.t for e in events] == sorted(e.t for e in events)
