"""Raw nights: kept as they arrived, a gzip file a night, pruned by age and size, never a crash."""

from __future__ import annotations

import asyncio
import gzip
import logging
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from integration.adapters import rawnights
from integration.adapters.rawnights import FLUSH_S, RawNights, find_night, read_night, stored_nights
from integration.messages import InboundMessage

LONDON = ZoneInfo("Europe/London")
EVENING = datetime(2026, 11, 23, 22, 0, tzinfo=LONDON).timestamp()
DAY = 86_400.0


def keeper(
    directory: Path,
    now: list[float],
    *,
    keep: int = 14,
    cap: int = 10**9,
    on_failure: list[int] | None = None,
) -> RawNights:
    return RawNights(
        directory,
        LONDON,
        keep_nights=keep,
        max_total_bytes=cap,
        now=lambda: now[0],
        on_failure=None if on_failure is None else lambda: on_failure.append(1),
    )


class ManualClock:
    """The writer's time, moved only by the test."""

    def __init__(self, t: float) -> None:
        self.t = t
        self.asked: list[float] = []  # the times sleepers asked to wake at
        self._moved = asyncio.Condition()

    def now(self) -> float:
        return self.t

    async def sleep_until(self, t: float) -> None:
        async with self._moved:
            self.asked.append(t)
            self._moved.notify_all()
            await self._moved.wait_for(lambda: self.t >= t)

    async def asked_for(self, t: float) -> None:
        """Return once a sleeper has asked to wake at `t`."""
        async with asyncio.timeout(10), self._moved:
            await self._moved.wait_for(lambda: t in self.asked)

    async def advance(self, seconds: float) -> None:
        async with self._moved:
            self.t += seconds
            self._moved.notify_all()


async def settle() -> None:
    """Let every task that can run, run (yielding, never sleeping)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def kept_lines(directory: Path, n: int) -> int:
    """Wait (yielding, never sleeping) until `n` messages are on disk; how many there are."""
    async with asyncio.timeout(10):
        while True:
            have = sum(len(list(read_night(night.path))) for night in stored_nights(directory))
            if have >= n:
                return have
            await asyncio.sleep(0)


def message(t: float, n: int = 0) -> InboundMessage:
    return InboundMessage(t, "bed/accel", f'{{"t0":{t},"rate":50,"x":[{n}]}}'.encode())


async def test_a_night_is_kept_as_it_arrived_and_reads_back(tmp_path: Path) -> None:
    now = [EVENING]
    raw = keeper(tmp_path, now)
    before_midnight = [message(EVENING + i, i) for i in range(3)]
    after_midnight = [message(EVENING + 4 * 3600 + i, i) for i in range(2)]
    for m in before_midnight[:2]:
        await raw.take(["bedroom"], m)
    await raw.flush()  # a first member
    for m in [before_midnight[2], *after_midnight]:
        await raw.take(["bedroom", "guest"], m)
    await raw.flush()  # a second member, appended

    (bedroom, guest) = stored_nights(tmp_path)
    assert (bedroom.room, bedroom.night_date) == ("bedroom", date(2026, 11, 23))  # one night
    assert list(read_night(bedroom.path)) == before_midnight + after_midnight
    assert list(read_night(guest.path)) == [before_midnight[2], *after_midnight]
    assert bedroom.path.name == "2026-11-23.jsonl.gz"


async def test_a_file_cut_short_by_a_crash_reads_to_its_last_whole_line(tmp_path: Path) -> None:
    now = [EVENING]
    raw = keeper(tmp_path, now)
    for i in range(50):
        await raw.take(["bedroom"], message(EVENING + i, i))
        if i in (9, 29):
            await raw.flush()
    await raw.flush()
    (night,) = stored_nights(tmp_path)
    data = night.path.read_bytes()
    night.path.write_bytes(data[: len(data) - 25])  # the last member, torn
    kept = list(read_night(night.path))
    assert 30 <= len(kept) < 50
    assert kept == [message(EVENING + i, i) for i in range(len(kept))]


async def test_old_nights_and_nights_over_the_cap_are_pruned_oldest_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    now = [EVENING]
    raw = keeper(tmp_path, now, keep=3)
    for night in range(6):
        now[0] = EVENING + night * DAY
        for i in range(200):
            await raw.take(["bedroom"], message(now[0] + i, i))
        await raw.flush()
    assert [n.night_date.day for n in stored_nights(tmp_path)] == [26, 27, 28]
    assert "older than the nights kept" in caplog.text

    one_night = stored_nights(tmp_path)[-1].size_bytes
    raw.max_total_bytes = 2 * one_night + one_night // 2
    await raw.flush()
    assert [n.night_date.day for n in stored_nights(tmp_path)] == [27, 28]
    assert raw.pruned == 4
    assert "over the size cap" in caplog.text


async def test_a_write_that_fails_is_counted_said_once_and_the_next_one_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="integration.adapters.rawnights")
    now = [EVENING]
    blocked = tmp_path / "raw"  # a folder that cannot be made (a read-only one does not stop root)
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    counted: list[int] = []
    raw = keeper(blocked, now, on_failure=counted)
    for i in range(2):
        await raw.take(["bedroom"], message(EVENING + i))
        await raw.flush()  # no exception: counted
    assert raw.failures == len(counted) == 2
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in said] == [logging.WARNING, logging.DEBUG]
    assert said[0][1].endswith("1 lines lost; the room is still controlled")

    blocked.unlink()
    await raw.take(["bedroom"], message(EVENING + 2))
    await raw.flush()
    (night,) = stored_nights(blocked)
    assert list(read_night(night.path)) == [message(EVENING + 2)]
    assert "raw nights: writing again" in caplog.text


def test_a_kept_night_is_an_ordinary_gzip_of_recording_lines(tmp_path: Path) -> None:
    path = tmp_path / "bedroom" / "2026-11-23.jsonl.gz"
    path.parent.mkdir()
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write('{"ts":1.5,"topic":"bed/accel","payload":"{}"}\n')
    assert list(read_night(path)) == [InboundMessage(1.5, "bed/accel", b"{}")]


async def test_a_torn_file_appended_to_after_a_restart_reads_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = [EVENING]
    before = keeper(tmp_path, now)
    for i in range(20):
        await before.take(["bedroom"], message(EVENING + i, i))
        if i == 9:
            await before.flush()
    await before.flush()
    (night,) = stored_nights(tmp_path)
    night.path.write_bytes(night.path.read_bytes()[:-7])  # the crash: the second member torn

    after = keeper(tmp_path, now)  # the service again, the same night
    await after.take(["bedroom"], message(EVENING + 100, 100))
    await after.flush()
    assert list(read_night(night.path)) == [
        *(message(EVENING + i, i) for i in range(10)),
        message(EVENING + 100, 100),
    ]
    assert "torn bytes left by a crash" in caplog.text
    with gzip.open(night.path) as whole:  # a plain multi-member gzip again, end to end
        assert len(whole.read().splitlines()) == 11


async def test_the_writer_flushes_each_minute_of_the_service_clock(tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    raw = RawNights(tmp_path, LONDON, keep_nights=14, max_total_bytes=10**9, now=clock.now)
    writer = asyncio.create_task(raw.keep(clock.sleep_until), name="raw-nights-under-test")
    try:
        await clock.asked_for(EVENING + FLUSH_S)
        for i in range(3):
            await raw.take(["bedroom"], message(EVENING + i, i))
        await clock.advance(FLUSH_S - 1)
        await settle()
        assert stored_nights(tmp_path) == []  # not yet: held for the minute
        await clock.advance(1)
        assert await kept_lines(tmp_path, 3) == 3
        await clock.asked_for(EVENING + 2 * FLUSH_S)  # the next minute
        await raw.take(["bedroom"], message(EVENING + 61))
        await clock.advance(FLUSH_S)
        assert await kept_lines(tmp_path, 4) == 4
    finally:
        writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writer


async def test_a_full_batch_wakes_the_writer_and_past_the_bound_messages_are_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(rawnights, "MAX_PENDING", 10)
    clock = ManualClock(EVENING)  # never moved: only a full batch wakes the writer
    raw = RawNights(tmp_path, LONDON, keep_nights=14, max_total_bytes=10**9, now=clock.now)
    for i in range(12):  # no writer yet: the last two find the batch full
        await raw.take(["bedroom"], message(EVENING + i, i))
    assert raw.dropped == 2
    assert "not keeping up" in caplog.text
    writer = asyncio.create_task(raw.keep(clock.sleep_until), name="raw-nights-under-test")
    try:
        assert await kept_lines(tmp_path, 10) == 10
    finally:
        writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writer


async def test_a_nearly_full_disk_is_not_written_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(rawnights, "MIN_FREE_BYTES", 1 << 62)
    counted: list[int] = []
    raw = keeper(tmp_path, [EVENING], on_failure=counted)
    await raw.take(["bedroom"], message(EVENING))
    await raw.flush()
    assert stored_nights(tmp_path) == []
    assert raw.failures == len(counted) == 1
    assert "the disk is nearly full" in caplog.text


def test_a_night_is_found_by_date_and_room(tmp_path: Path) -> None:
    for room in ("bedroom", "guest"):
        (tmp_path / room).mkdir()
        (tmp_path / room / "2026-11-23.jsonl.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "guest" / "notes.txt").write_text("not a night", encoding="utf-8")
    assert [n.room for n in find_night(tmp_path, date(2026, 11, 23))] == ["bedroom", "guest"]
    assert [n.room for n in find_night(tmp_path, date(2026, 11, 23), "guest")] == ["guest"]
    assert find_night(tmp_path, date(2026, 11, 24)) == []
    assert stored_nights(tmp_path / "none") == []
