"""The person's labels change what a night's summary says, and only as they should."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from integration.core.events import MovementEvent, MovementKind
from integration.core.labels import EventLabel, Label, relabel
from integration.core.summary import MinuteRecord, NightAccumulator, NightSummary, render_text

LONDON = ZoneInfo("Europe/London")
BED = datetime(2026, 11, 23, 23, 0, tzinfo=LONDON).timestamp()
HOUR = 3600.0


def night() -> tuple[NightSummary, list[MovementEvent], list[MinuteRecord]]:
    """Eight hours in bed: two jerks before midnight, one clonus after, the first jerk too warm."""
    acc = NightAccumulator("bedroom", "Bedroom", BED, LONDON)
    events = [
        MovementEvent("bedroom", MovementKind.JERK, BED + 600, BED + 601, 5, 0.9, True),
        MovementEvent("bedroom", MovementKind.JERK, BED + 1800, BED + 1801, 5, 0.9, True),
        MovementEvent(
            "bedroom", MovementKind.CLONUS, BED + 2 * HOUR, BED + 2 * HOUR + 4, 6, 0.9, True
        ),
    ]
    for minute in range(8 * 60):
        t = BED + 60 * minute
        warm = minute < 20  # the first 20 minutes above the band, the rest in it
        acc.add_temperature(t, 21.0 if warm else 18.5, 17.0, 20.0)
    for event in events:
        acc.add_event(event)
    summary = acc.finish(BED + 8 * HOUR)
    return summary, events, acc.minutes(BED, BED + 8 * HOUR)


def label(event: MovementEvent, said: Label) -> EventLabel:
    return EventLabel(
        "bedroom", event.start, event.end, said, event.kind.value, BED + 9 * HOUR, "cli"
    )


def test_the_detectors_summary_has_every_event_unlabelled() -> None:
    summary, _, _ = night()
    assert summary.spasm_count == 3
    assert (summary.labels.confirmed, summary.labels.rejected, summary.labels.unlabelled) == (
        0,
        0,
        3,
    )


def test_a_rejected_event_leaves_every_spasm_count() -> None:
    summary, events, minutes = night()
    assert summary.rate_when_warm.events == 1

    said = relabel(
        summary, [label(events[0], Label.REJECTED), label(events[2], Label.CONFIRMED)], minutes
    )

    assert said.spasm_count == 2
    assert said.spasms_by_kind == {"jerk": 1, "clonus": 1}
    assert said.spasms_by_hour == {"23:00": 1, "01:00": 1}
    assert said.spasm_rate_per_h == 2 / 8
    assert said.rate_when_warm.events == 0  # the rejected jerk was in a too-warm minute
    assert said.rate_in_band.events == summary.rate_in_band.events
    assert (said.labels.confirmed, said.labels.rejected, said.labels.unlabelled) == (1, 1, 1)
    assert "1 confirmed, 1 not a spasm (not counted), 1 unlabelled" in render_text(said)


def test_a_missed_spasm_is_counted_apart_from_the_sensors() -> None:
    summary, _, _ = night()
    missed = EventLabel(
        "bedroom",
        BED + 3 * HOUR,
        BED + 3 * HOUR,
        Label.MISSED,
        None,
        BED + 3 * HOUR,
        "home_assistant",
    )

    said = relabel(summary, [missed])

    assert said.spasm_count == 3
    assert said.labels.missed == 1
    assert "1 spasm the sensor missed" in render_text(said)


def test_labels_of_other_rooms_and_nights_change_nothing() -> None:
    summary, events, minutes = night()
    elsewhere = [
        EventLabel("guest", events[0].start, events[0].end, Label.REJECTED, "jerk", BED, "cli"),
        EventLabel("bedroom", BED - HOUR, BED - HOUR, Label.REJECTED, "jerk", BED, "cli"),
    ]
    assert relabel(summary, elsewhere, minutes).spasm_count == 3


def test_labels_survive_the_summary_round_trip() -> None:
    summary, events, minutes = night()
    said = relabel(summary, [label(events[1], Label.REJECTED)], minutes)
    assert NightSummary.from_dict(said.to_dict()) == said


def test_a_summary_stored_before_labels_existed_reads_as_unlabelled() -> None:
    summary, _, _ = night()
    old = summary.to_dict()
    del old["labels"]
    assert NightSummary.from_dict(old).labels.rejected == 0
