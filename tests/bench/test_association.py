"""The association benchmark, shortened: every statistic runs and says what it found."""

from __future__ import annotations

from bench.association import measure, table


def test_three_weeks_time_every_statistic_and_find_the_warm_effect() -> None:
    minutes, events, _simulate_s, rows = measure(nights=21, repeat=1)
    assert minutes > 21 * 400
    assert events > 21 * 10
    assert [r.name.split(" ")[0] for r in rows] == [
        "by_temperature",
        "by_temperature",
        "around_note",
        "suggest_band",
    ]
    assert all(r.median_ms > 0 for r in rows)
    assert "above the band" in rows[0].found
    lines = table(21, minutes, events, 0.5, rows)
    assert lines[0].startswith("statistic")
    assert lines[-1].startswith("21 simulated nights")
