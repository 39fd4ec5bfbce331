"""One rule for "HH:MM" and one for the date a night goes by."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from integration.core.localtime import night_bounds, night_date, parse_hhmm

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("22:30", time(22, 30)), ("00:00", time(0, 0)), ("23:59", time(23, 59)), ("24:00", None),
     ("7:30", None), ("8pm", None), (1320, None), (None, None)],
    ids=["evening", "midnight", "last_minute", "24_is_no_hour", "one_digit", "words", "yaml_int", "none"],
)  # fmt: skip
def test_parse_hhmm(text: object, expected: time | None) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 3, 28, 23, 0, tzinfo=LONDON), date(2026, 3, 28)),
        # The clocks go forward at 01:00 that night: 02:30 BST still belongs to the evening before.
        (datetime(2026, 3, 29, 2, 30, tzinfo=LONDON), date(2026, 3, 28)),
        (datetime(2026, 3, 29, 11, 59, tzinfo=LONDON), date(2026, 3, 28)),
        (datetime(2026, 3, 29, 12, 0, tzinfo=LONDON), date(2026, 3, 29)),
        (datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=LONDON), date(2026, 10, 24)),
    ],
    ids=["evening", "after_spring_forward", "before_noon", "noon", "repeated_hour_in_autumn"],
)
def test_a_night_is_dated_by_its_evening_and_lies_within_its_bounds(
    local: datetime, expected: date
) -> None:
    t = local.timestamp()
    assert night_date(t, LONDON) == expected
    start, end = night_bounds(expected, LONDON)
    assert start <= t < end
