"""The rooms-per-instance benchmark's quick run: a few rooms, which one service carries."""

from __future__ import annotations

import pytest

from bench.rooms import Step, search, table, without_device_time


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"t0":100.000,"rate":50,"x":[0.1]}', b'{"rate":50,"x":[0.1]}'),
        (b'{"rate":50,"x":[0.1]}', b'{"rate":50,"x":[0.1]}'),
    ],
    ids=["with-t0", "without"],
)
def test_the_device_time_is_stripped_so_the_service_stamps_arrival(
    payload: bytes, expected: bytes
) -> None:
    assert without_device_time(payload) == expected


def _step(handled_per_s: float, backlog_end: int, dropped: int = 0) -> Step:
    return Step(
        rooms=10,
        offered_per_s=100.0,
        handled_per_s=handled_per_s,
        backlog_end=backlog_end,
        queue_max=0,
        dropped=dropped,
        loop_lag_p99_s=0.0,
        service_cpu=0.0,
        broker_cpu=0.0,
        speed=10.0,
    )


@pytest.mark.parametrize(
    ("step", "keeps_up"),
    [
        (_step(100.0, 0), True),
        (_step(99.0, 25), True),
        (_step(90.0, 0), False),
        (_step(100.0, 26), False),
        (_step(100.0, 0, dropped=1), False),
    ],
    ids=["all-handled", "at-the-limits", "handled-too-few", "backlog", "dropped"],
)
def test_keeping_up_means_all_handled_little_backlog_nothing_dropped(
    step: Step, keeps_up: bool
) -> None:
    assert step.keeps_up is keeps_up


@pytest.mark.bench
async def test_a_handful_of_rooms_at_ten_times_real_time_is_kept_up_with() -> None:
    steps = await search(speed=10.0, first=2, limit=4, warmup_s=0.5, seconds=1.0)
    assert [s.rooms for s in steps] == [2, 4]
    assert all(s.keeps_up for s in steps)
    assert all(s.offered_per_s > 0 for s in steps)
    assert "largest that keeps up: 4 rooms" in table(steps, 10.0)[-1]
