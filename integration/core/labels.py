"""The person's word on what the detector found: labels, and what they change in a night's summary.

A spasm-like event can be confirmed or rejected ("not a spasm"); a spasm the sensor missed can be
reported. Labels never change the stored events or the detector's own summary: they are applied
whenever a night is read, so a label given or changed later is always reflected, and rejected
events leave the spasm counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from integration.core.summary import MIN_RATE_MIN, LabelCounts, MinuteRecord, NightSummary, Rate

__all__ = ["MISSED_WINDOW_S", "EventLabel", "Label", "LabelCounts", "relabel"]

# "I just had a spasm" refers to the last moments: a detection this long before it matches.
MISSED_WINDOW_S = 120.0


class Label(StrEnum):
    """What the person said."""

    CONFIRMED = "confirmed"  # yes, a spasm
    REJECTED = "rejected"  # not a spasm: leaves the counts
    MISSED = "missed"  # a spasm the sensor did not report


@dataclass(frozen=True, slots=True)
class EventLabel:
    """One label; for a missed spasm, `start` = `end` = when the person said so."""

    room: str
    start: float
    end: float
    label: Label
    kind: str | None  # the labelled event's kind; None for a missed spasm
    labelled_at: float
    source: str  # home_assistant, dashboard, cli
    event_id: int | None = None  # the history's id of the labelled event


def relabel(
    summary: NightSummary, labels: Sequence[EventLabel], minutes: Sequence[MinuteRecord] = ()
) -> NightSummary:
    """The summary as the person's labels have it: rejected events leave every spasm count.

    `summary` is the detector's, as stored (never one relabelled already); `labels` are those of
    its room and night (others are ignored); `minutes` are the night's minute records, which say
    whether a rejected event fell in a too-warm or an in-band minute (without them the two rates
    keep their counts). Unlabelled are the detected spasm-like events neither confirmed nor
    rejected.
    """
    zone = ZoneInfo(summary.zone)
    ours = [
        label
        for label in labels
        if label.room == summary.room and summary.bed_time <= label.start < summary.wake_time
    ]
    rejected = [label for label in ours if label.label is Label.REJECTED]
    confirmed = sum(label.label is Label.CONFIRMED for label in ours)
    detected = summary.spasm_count
    by_kind = dict(summary.spasms_by_kind)
    by_hour = dict(summary.spasms_by_hour)
    warm, in_band = summary.rate_when_warm, summary.rate_in_band
    minute_state = {math.floor(m.t / 60): m for m in minutes}
    for label in rejected:
        if label.kind is not None and by_kind.get(label.kind, 0) > 0:
            by_kind[label.kind] -= 1
        hour = datetime.fromtimestamp(math.floor(label.start / 60) * 60, zone).strftime("%H:00")
        if by_hour.get(hour, 0) > 0:
            by_hour[hour] -= 1
        record = minute_state.get(math.floor(label.start / 60))
        temp, low, high = (
            (None, None, None) if record is None else (record.temp_c, record.low_c, record.high_c)
        )
        if temp is not None and low is not None and high is not None:
            if temp > high:
                warm = _less(warm)
            elif low <= temp <= high:
                in_band = _less(in_band)
    count = max(0, detected - len(rejected))
    by_kind = {kind: n for kind, n in by_kind.items() if n > 0}
    by_hour = {hour: n for hour, n in by_hour.items() if n > 0}
    in_bed_h = summary.time_in_bed_s / 3600
    return replace(
        summary,
        spasm_count=count,
        spasm_rate_per_h=count / in_bed_h if in_bed_h > 0 else None,
        spasms_by_kind=by_kind,
        spasms_by_hour=by_hour,
        peak_spasm_hour=max(by_hour, key=lambda h: by_hour[h]) if by_hour else None,
        rate_when_warm=warm,
        rate_in_band=in_band,
        labels=LabelCounts(
            confirmed=confirmed,
            rejected=len(rejected),
            unlabelled=max(0, detected - confirmed - len(rejected)),
            missed=sum(label.label is Label.MISSED for label in ours),
        ),
    )


def _less(rate: Rate) -> Rate:
    events = max(0, rate.events - 1)
    per_hour = events / (rate.minutes / 60) if rate.minutes >= MIN_RATE_MIN else None
    return Rate(events, rate.minutes, per_hour)
