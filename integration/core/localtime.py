"""Times a person reads and writes: "HH:MM" in rule files, and the date a night goes by.

One definition of each, so the rule files, the night tracker, the summary, the store and the
dashboard never disagree (two rules for a night's date used to differ on a DST day).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["iso", "night_bounds", "night_date", "parse_hhmm"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# A night is dated by the evening it began: its date runs from local noon to the next noon,
# so a bedtime at 02:00 belongs to the evening before.
_NOON = time(12, 0)


def parse_hhmm(value: object) -> time | None:
    """A local time of day from "HH:MM" (24 h), or None when `value` is not one."""
    match = _HHMM.match(value) if isinstance(value, str) else None
    return None if match is None else time(int(match.group(1)), int(match.group(2)))


def night_date(t: float, zone: ZoneInfo) -> date:
    """The date of the night that a bedtime at `t` (UTC epoch seconds) belongs to."""
    local = datetime.fromtimestamp(t, zone)
    return local.date() if local.time() >= _NOON else local.date() - timedelta(days=1)


def night_bounds(day: date, zone: ZoneInfo) -> tuple[float, float]:
    """UTC epoch bounds of the bedtimes dated `day`: local noon to the next local noon."""
    start = datetime.combine(day, _NOON, zone)
    end = datetime.combine(day + timedelta(days=1), _NOON, zone)
    return start.timestamp(), end.timestamp()


def iso(t: float, zone: ZoneInfo) -> str:
    """UTC epoch seconds as ISO 8601 with the zone's offset, to the millisecond."""
    return datetime.fromtimestamp(t, zone).isoformat(timespec="milliseconds")
