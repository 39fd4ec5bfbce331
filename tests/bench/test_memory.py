"""The week-of-nights memory benchmark, shortened: nights replayed through one pipeline."""

from __future__ import annotations

from bench.memory import live_week, table


def test_short_nights_in_a_row_leave_the_live_objects_flat() -> None:
    rows = live_week(nights=3, hours=0.5)
    assert [r.night for r in rows] == [1, 2, 3]
    assert all(r.messages > 1800 for r in rows)  # a batch a second, plus the other sensors
    assert all(r.summaries == 1 for r in rows)
    # Night 1 warms caches; from then on a leak would add objects every night.
    assert abs(rows[2].python_objects - rows[1].python_objects) < 2000
    assert table(rows, 0.5)[0].lstrip().startswith("night")
