"""Night boundaries per room: when a night opens at bedtime and closes at waking.

Theory of operation
-------------------
Sans-I/O: the shell calls `NightTracker.observe(t, in_bed)` with the detector's belief (True,
False, or None when nothing is known) and `tick(now)` as time passes; both return the
`NightBoundary` events that became due. All wall-clock rules use local time in the room's zone
(`zoneinfo`), so a night crosses midnight and both DST changes without special cases: an
instant is only ever compared with instants, and local times are turned into instants with
`next_local_time`.

States: IDLE (no night) and OPEN (a night since `bed_time`).

- IDLE → OPEN when the person is in bed at a local time in the bedtime window
  [`earliest_bedtime`, `earliest_wake`) (wrapping midnight); a lie-down in the afternoon is
  outside it and never opens a night. Someone already in bed when the window opens went to bed
  early: the night starts when they lay down.
- A room that has never given an in-bed belief (every observation None) has no occupancy
  information: the schedule stands in, and that night opens at `schedule_start` and closes at
  `schedule_end` only. Once a True/False has been seen the room follows occupancy; None then
  means "unknown for now" and keeps the night open until a rule below decides.
- OPEN → IDLE (closed) when the person has been out of bed for `out_of_bed_to_close_s` after
  `earliest_wake`, at `latest_wake` whatever happens, or at `schedule_end` for a scheduled
  night. The wake time is when they got up for good, not when the rule noticed.
- A night is discarded instead of closed when it held less than `min_night_s` in bed: a short
  lie-down in the evening that ends in `out_of_bed_to_close_s` up is not a night. Once a night
  holds `min_night_s` in bed, any time out of bed before `earliest_wake` stays inside it.

Invariants: at most one night is open per tracker; every OPENED is followed by exactly one
CLOSED or DISCARDED with the same `bed_time`; `snapshot()`/`restore()` round-trips the whole
state, so a restart mid-night resumes the same night.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Any, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from integration.core.comfort import next_local_time
from integration.core.localtime import parse_hhmm

_SNAPSHOT_VERSION = 1  # bump when the snapshot's shape changes; older ones are ignored


def _clock(text: str) -> time:
    """A validated setting's time of day."""
    parsed = parse_hhmm(text)
    if parsed is None:  # settings are validated on load
        raise ValueError(text)
    return parsed


def _last_local_time(now: float, at: time, zone: ZoneInfo) -> float:
    """The latest epoch time at or before `now` when the local clock showed `at`."""
    latest = next_local_time(now - 3 * 86400.0, at, zone)  # a local time recurs within 25 h
    while (following := next_local_time(latest, at, zone)) <= now:
        latest = following
    return latest


class NightSettings(BaseModel):
    """When a night may open and how it closes (the `night:` section of the rule files)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    earliest_bedtime: str = Field(
        default="20:00", description='local "HH:MM" from which being in bed opens a night'
    )
    earliest_wake: str = Field(
        default="04:30", description='local "HH:MM" before which getting up never ends the night'
    )
    latest_wake: str = Field(
        default="12:00", description='local "HH:MM" at which an open night closes regardless'
    )
    out_of_bed_to_close_s: float = Field(
        default=1800.0,
        gt=0,
        le=6 * 3600,
        description="out of bed this long after earliest_wake closes the night",
    )
    schedule_start: str = Field(
        default="22:30", description='local "HH:MM" a night opens in rooms with no occupancy data'
    )
    schedule_end: str = Field(
        default="07:00",
        description='local "HH:MM" that night closes in rooms with no occupancy data',
    )
    min_night_s: float = Field(
        default=7200.0,
        ge=0,
        le=12 * 3600,
        description="a lie-down with less time in bed than this is not a night",
    )

    summary_notify_service: str | None = Field(
        default=None,
        pattern=r"^notify\.[a-z0-9_]+$",
        description="besides HA's persistent notification, send the morning summary here",
    )

    @field_validator(
        "earliest_bedtime", "earliest_wake", "latest_wake", "schedule_start", "schedule_end"
    )
    @classmethod
    def _is_hhmm(cls, value: str) -> str:
        if parse_hhmm(value) is None:
            raise ValueError(f'expected local time "HH:MM" (24 h), got {value!r}')
        return value

    @model_validator(mode="after")
    def _wake_window_inside_day(self) -> Self:
        if not self.earliest_wake < self.latest_wake < self.earliest_bedtime:
            raise ValueError(
                "expected earliest_wake < latest_wake < earliest_bedtime (got "
                f"{self.earliest_wake}, {self.latest_wake}, {self.earliest_bedtime})"
            )
        if self.schedule_start == self.schedule_end:
            raise ValueError("schedule_start and schedule_end must differ")
        return self


class BoundaryKind(StrEnum):
    """What happened to a night."""

    OPENED = "opened"
    CLOSED = "closed"
    DISCARDED = "discarded"  # too little time in bed to be a night (a lie-down)


class NightSource(StrEnum):
    """What opened the night."""

    OCCUPANCY = "occupancy"  # the in-bed belief (occupancy sensor or bed micro-motion)
    SCHEDULE = "schedule"  # no occupancy information: schedule_start .. schedule_end


@dataclass(frozen=True, slots=True)
class NightBoundary:
    """A night opened (bed_time), closed (bed_time, wake_time) or was discarded; UTC epoch s."""

    room: str
    kind: BoundaryKind
    t: float  # when the tracker decided
    bed_time: float
    wake_time: float | None
    source: NightSource
    reason: str  # which rule decided, for `why`


@dataclass(slots=True)
class _OpenNight:
    bed_time: float
    source: NightSource
    in_bed_s: float  # time in bed so far, up to `_last_t`
    earliest_wake_t: float
    latest_wake_t: float
    schedule_end_t: float


class NightTracker:
    """Opens and closes one room's nights from in-bed observations and time."""

    def __init__(self, room: str, settings: NightSettings, zone: ZoneInfo) -> None:
        self.room = room
        self._settings = settings
        self._zone = zone
        self._in_bed: bool | None = None  # the latest belief
        self._since: float | None = None  # when that belief started
        self._last_t: float | None = None  # the latest time seen (observe or tick)
        self._has_occupancy = False  # ever seen True/False: occupancy rules, not the schedule
        self._night: _OpenNight | None = None

    @property
    def open_bed_time(self) -> float | None:
        """Bed time of the open night, or None when no night is open."""
        return None if self._night is None else self._night.bed_time

    def observe(self, t: float, in_bed: bool | None) -> list[NightBoundary]:
        """Take the in-bed belief at `t`; returns the boundaries it caused."""
        events = self._advance(t)
        if in_bed != self._in_bed:
            self._in_bed = in_bed
            self._since = t
        self._has_occupancy = self._has_occupancy or in_bed is not None
        events.extend(self._decide(t))
        return events

    def tick(self, now: float) -> list[NightBoundary]:
        """Let time pass to `now`; returns boundaries that became due."""
        events = self._advance(now)
        events.extend(self._decide(now))
        return events

    # --- internals ------------------------------------------------------------------------

    def _advance(self, now: float) -> list[NightBoundary]:
        """Count time in bed up to `now` and close the night at the first rule that fell due."""
        if self._last_t is not None and now < self._last_t:
            now = self._last_t  # late input: time never goes backwards inside the tracker
        events: list[NightBoundary] = []
        night = self._night
        if night is not None and self._last_t is not None:
            due = self._close_due(night, now)
            until = now if due is None else due[0]
            if self._in_bed:
                night.in_bed_s += max(0.0, until - max(self._last_t, night.bed_time))
            if due is not None:
                events.append(self._finish(night, due[0], due[1], due[2]))
        self._last_t = now
        return events

    def _close_due(self, night: _OpenNight, now: float) -> tuple[float, float, str] | None:
        """(decision time, wake time, rule) of the first closing rule due by `now`, if any."""
        s = self._settings
        if night.source is NightSource.SCHEDULE:
            end = min(night.schedule_end_t, night.latest_wake_t)
            return (end, end, "schedule_end") if now >= end else None
        if self._in_bed is False and self._since is not None:
            up_since = max(self._since, night.bed_time)
            decide = max(up_since + s.out_of_bed_to_close_s, night.earliest_wake_t)
            if decide <= now and decide < night.latest_wake_t:
                return decide, up_since, "out_of_bed_after_earliest_wake"
            if now >= night.latest_wake_t:
                return night.latest_wake_t, min(up_since, night.latest_wake_t), "latest_wake"
        if now >= night.latest_wake_t:
            return night.latest_wake_t, night.latest_wake_t, "latest_wake"
        # A lie-down that ends in a long time up before earliest_wake is not a night.
        if (
            self._in_bed is False
            and self._since is not None
            and now - self._since >= s.out_of_bed_to_close_s
            and night.in_bed_s < s.min_night_s
        ):
            up_since = max(self._since, night.bed_time)
            return up_since + s.out_of_bed_to_close_s, up_since, "short_lie_down"
        return None

    def _finish(self, night: _OpenNight, t: float, wake: float, rule: str) -> NightBoundary:
        self._night = None
        if self._in_bed and self._since is not None:
            self._since = max(self._since, t)  # a next night cannot begin inside this one
        kind = BoundaryKind.CLOSED
        if night.source is NightSource.OCCUPANCY and night.in_bed_s < self._settings.min_night_s:
            kind = BoundaryKind.DISCARDED
        return NightBoundary(self.room, kind, t, night.bed_time, wake, night.source, rule)

    def _decide(self, now: float) -> list[NightBoundary]:
        """Open a night if one should be open now."""
        if self._night is not None:
            return []
        s = self._settings
        if self._in_bed is True and self._since is not None:
            if self._in_window(now, s.earliest_bedtime, s.earliest_wake):
                # In bed since before the window opened: the night began when they lay down,
                # but never before the last latest_wake (that was yesterday's night).
                since_wake = _last_local_time(now, _clock(s.latest_wake), self._zone)
                bed_time = max(self._since, since_wake)
                return [self._open(now, bed_time, NightSource.OCCUPANCY, "in_bed_at_bedtime")]
            return []
        if not self._has_occupancy and self._in_window(now, s.schedule_start, s.schedule_end):
            start = _last_local_time(now, _clock(s.schedule_start), self._zone)
            return [self._open(now, start, NightSource.SCHEDULE, "schedule_start")]
        return []

    def _open(self, now: float, bed_time: float, source: NightSource, rule: str) -> NightBoundary:
        s = self._settings
        self._night = _OpenNight(
            bed_time=bed_time,
            source=source,
            in_bed_s=max(0.0, now - bed_time) if self._in_bed else 0.0,
            earliest_wake_t=next_local_time(bed_time, _clock(s.earliest_wake), self._zone),
            latest_wake_t=next_local_time(bed_time, _clock(s.latest_wake), self._zone),
            schedule_end_t=next_local_time(bed_time, _clock(s.schedule_end), self._zone),
        )
        return NightBoundary(self.room, BoundaryKind.OPENED, now, bed_time, None, source, rule)

    def _in_window(self, t: float, start: str, end: str) -> bool:
        """Whether local wall-clock time at `t` is in [start, end), wrapping midnight."""
        clock = datetime.fromtimestamp(t, self._zone).time()
        first, last = _clock(start), _clock(end)
        if first < last:
            return first <= clock < last
        return clock >= first or clock < last

    # --- restart ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able data, to persist as the night goes."""
        night = self._night
        return {
            "version": _SNAPSHOT_VERSION,
            "in_bed": self._in_bed,
            "since": self._since,
            "last_t": self._last_t,
            "has_occupancy": self._has_occupancy,
            "night": None
            if night is None
            else {
                "bed_time": night.bed_time,
                "source": night.source.value,
                "in_bed_s": night.in_bed_s,
                "earliest_wake_t": night.earliest_wake_t,
                "latest_wake_t": night.latest_wake_t,
                "schedule_end_t": night.schedule_end_t,
            },
        }

    @classmethod
    def restore(
        cls, room: str, settings: NightSettings, zone: ZoneInfo, snapshot: Mapping[str, Any]
    ) -> NightTracker:
        """A tracker that resumes from `snapshot()`; an unknown snapshot version starts afresh."""
        tracker = cls(room, settings, zone)
        if snapshot.get("version") != _SNAPSHOT_VERSION:
            return tracker
        tracker._in_bed = snapshot["in_bed"]
        tracker._since = snapshot["since"]
        tracker._last_t = snapshot["last_t"]
        tracker._has_occupancy = bool(snapshot["has_occupancy"])
        night = snapshot["night"]
        if night is not None:
            tracker._night = _OpenNight(
                bed_time=float(night["bed_time"]),
                source=NightSource(night["source"]),
                in_bed_s=float(night["in_bed_s"]),
                earliest_wake_t=float(night["earliest_wake_t"]),
                latest_wake_t=float(night["latest_wake_t"]),
                schedule_end_t=float(night["schedule_end_t"]),
            )
        return tracker
