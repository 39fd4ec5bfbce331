from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from integration.adapters.store import MIGRATIONS, SCHEMA_VERSION, Store
from integration.core.events import Action, ActionKind, MovementEvent, MovementKind
from integration.core.summary import MinuteRecord, NightAccumulator, NightSummary
from integration.errors import StoreError

LONDON = ZoneInfo("Europe/London")
DAY = 86400.0
BED = datetime(2026, 11, 23, 23, 0, tzinfo=LONDON).timestamp()


def summary(room: str, bed: float, jerks: int = 0) -> NightSummary:
    acc = NightAccumulator(room, room.title(), bed, LONDON)
    for i in range(jerks):
        acc.add_event(
            MovementEvent(
                room, MovementKind.JERK, bed + 60 * (i + 1), bed + 60 * (i + 1) + 1, 5, 0.9, True
            )
        )
    return acc.finish(bed + 8 * 3600)


def jerk(room: str, t: float) -> MovementEvent:
    return MovementEvent(room, MovementKind.JERK, t, t + 0.5, 5.0, 0.9, True, {"rule": "jerk"})


async def test_new_store_is_at_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    await store.close()
    with sqlite3.connect(tmp_path / "history.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_version_1_database_migrates_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0])
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO night_state (room, state) VALUES ('bedroom', '{\"version\": 1}')")
    store = await Store.open(path)
    try:
        assert await store.load_night_state("bedroom") == {"version": 1}
        message_id = await store.add_outbox(BED, "summary", {"room": "bedroom"})
        assert await store.pending_outbox() == [(message_id, BED, "summary", {"room": "bedroom"})]
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this smart-bedroom understands"):
        await Store.open(path)


async def test_corrupt_file_gives_a_clear_store_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not sqlite, just some bytes " * 200)
    with pytest.raises(StoreError, match="corrupt or not a smart-bedroom database"):
        await Store.open(path)


async def test_unopenable_path_gives_a_clear_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot be opened"):
        await Store.open(tmp_path / "missing-dir" / "history.db")


async def test_locked_database_gives_a_clear_store_error(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    store = await Store.open(path, busy_timeout_s=0)  # fail at once instead of waiting
    try:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreError, match="locked by another process"):
                await store.record(night_states={"bedroom": {"version": 1}})
        finally:
            other.execute("ROLLBACK")
            other.close()
        await store.record(night_states={"bedroom": {"version": 1}})  # usable again afterwards
    finally:
        await store.close()


async def test_full_disk_gives_a_clear_store_error_and_the_store_stays_usable(
    tmp_path: Path,
) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        # Fault injection at the one seam: cap the file at its current size, as a full disk would.
        async with store._db.execute("PRAGMA page_count") as cursor:
            row = await cursor.fetchone()
        assert row is not None
        await store._db.execute(f"PRAGMA max_page_count = {row[0]}")
        with pytest.raises(StoreError, match="the disk is full"):
            await store.record(night_states={"bedroom": {"big": "x" * 100_000}})
        assert await store.load_night_state("bedroom") is None
    finally:
        await store.close()


async def test_night_state_round_trips_and_is_replaced(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        assert await store.load_night_state("bedroom") is None
        await store.record(night_states={"bedroom": {"tracker": {"night": None}, "n": 1}})
        await store.record(night_states={"bedroom": {"tracker": {"night": None}, "n": 2}})
        assert await store.load_night_state("bedroom") == {"tracker": {"night": None}, "n": 2}
    finally:
        await store.close()
    store = await Store.open(tmp_path / "history.db")  # survives a restart
    try:
        assert await store.load_night_state("bedroom") == {"tracker": {"night": None}, "n": 2}
    finally:
        await store.close()


async def test_summaries_round_trip_newest_first_per_room(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        nights = [summary("bedroom", BED - d * DAY, jerks=d) for d in range(9)]
        for night in nights:
            await store.record(summaries=[night])
        await store.record(summaries=[summary("guest", BED)])
        await store.record(summaries=[nights[0]])  # saving again replaces, never duplicates
        last = await store.last_summaries("bedroom", 7)
        assert last == nights[:7]
        assert await store.summaries("guest", 10) == [summary("guest", BED)]
        in_range = await store.nights(BED - 2 * DAY, BED + 1)
        assert [(s.room, s.bed_time) for s in in_range] == [
            ("bedroom", BED - 2 * DAY),
            ("bedroom", BED - DAY),
            ("bedroom", BED),
            ("guest", BED),
        ]
    finally:
        await store.close()


async def test_export_rows_of_each_table(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        await store.record(summaries=[summary("bedroom", BED, jerks=2)])
        await store.record(events=[jerk("bedroom", BED + 60), jerk("bedroom", BED + 120)])
        await store.record(
            actions=[
                Action(
                    "bedroom",
                    BED + 30,
                    ActionKind.HA_SERVICE,
                    "switch.turn_on",
                    {"entity_id": "switch.fan"},
                )
            ]
        )
        await store.record(
            minutes=[
                MinuteRecord("bedroom", BED, 19.0, 18.0, 20.0, 1.0, 0, True),
                MinuteRecord("bedroom", BED + 60, None, None, None, None, 1, False),
                MinuteRecord("bedroom", BED + 60, 19.5, 18.0, 20.0, 2.0, 1, True),  # replaces
            ]
        )
        window = (BED - 1, BED + DAY)
        nights = await store.export(*window)
        assert len(nights) == 1
        assert nights[0]["night_date"] == "2026-11-23"
        assert nights[0]["spasm_count"] == 2
        assert nights[0]["spasms_jerk"] == 2
        events = await store.export(*window, table="events")
        assert [(e["kind"], e["start"], e["why"]) for e in events] == [
            ("jerk", BED + 60, '{"rule": "jerk"}'),
            ("jerk", BED + 120, '{"rule": "jerk"}'),
        ]
        actions = await store.export(*window, table="actions")
        assert [(a["target"], a["data"]) for a in actions] == [
            ("switch.turn_on", '{"entity_id": "switch.fan"}')
        ]
        minutes = await store.export(*window, table="minutes")
        assert [(m["minute"], m["temp_c"], m["in_bed"]) for m in minutes] == [
            (BED, 19.0, 1),
            (BED + 60, 19.5, 1),
        ]
    finally:
        await store.close()


async def test_outbox_delivers_each_message_once(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        first = await store.add_outbox(BED, "summary", {"n": 1})
        second = await store.add_outbox(BED + 1, "event", {"n": 2})
        await store.mark_delivered([first])
        assert await store.pending_outbox() == [(second, BED + 1, "event", {"n": 2})]
    finally:
        await store.close()


async def test_prune_deletes_only_history_older_than_retention(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    now = BED + DAY
    try:
        old, recent = BED - 40 * DAY, BED
        await store.record(summaries=[summary("bedroom", old)])
        await store.record(summaries=[summary("bedroom", recent)])
        await store.record(events=[jerk("bedroom", old + 60), jerk("bedroom", recent + 60)])
        await store.record(actions=[Action("bedroom", old, ActionKind.NOTIFY, "notify.phone")])
        await store.record(
            minutes=[
                MinuteRecord("bedroom", old, 19.0, 18.0, 20.0, None, 0, True),
                MinuteRecord("bedroom", recent, 19.0, 18.0, 20.0, None, 0, True),
            ]
        )
        delivered = await store.add_outbox(old, "summary", {})
        await store.mark_delivered([delivered])
        await store.add_outbox(old, "summary", {"still": "pending"})  # undelivered: kept
        await store.report_missed("bedroom", old + 90, "cli")
        await store.report_missed("bedroom", recent + 90, "cli")

        deleted = await store.prune(30, now)

        assert deleted == {
            "labels": 1,
            "notes": 0,  # tests/adapters/test_store_notes.py prunes notes
            "events": 1,
            "actions": 1,
            "readings_minute": 1,
            "summaries": 1,
            "nights": 1,
            "outbox": 1,
        }
        assert [s.bed_time for s in await store.summaries("bedroom", 10)] == [recent]
        assert len(await store.export(0, now, table="events")) == 1
        assert [p for _, _, _, p in await store.pending_outbox()] == [{"still": "pending"}]
        assert [label.start for label in await store.labels("bedroom", 0, now)] == [recent + 90]
    finally:
        await store.close()


async def test_concurrent_writers_each_keep_their_rows(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        await asyncio.gather(
            *(store.record(events=[jerk("bedroom", BED + i)]) for i in range(20)),
            store.record(night_states={"bedroom": {"n": 1}}),
        )
        assert len(await store.export(BED, BED + 60, table="events")) == 20
    finally:
        await store.close()
