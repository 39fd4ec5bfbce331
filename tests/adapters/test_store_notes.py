"""Notes are kept in the history with their room and time, exported, pruned, and migrated into."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from integration.adapters.history import History
from integration.adapters.store import MIGRATIONS, SCHEMA_VERSION, Store
from integration.core.notes import Note, NoteRefused, make_note
from tests.adapters.test_store import BED, DAY, LONDON, summary

NOW = BED + 30 * DAY


async def test_notes_come_back_by_room_and_time_oldest_first_with_their_ids(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        late = await store.add_note(make_note("bedroom", "hot day", BED + 3600, NOW, "ha"))
        early = await store.add_note(make_note("bedroom", "baclofen 10 mg", BED, NOW, "cli"))
        other = await store.add_note(make_note("guest", "new mattress", BED + 60, NOW, "dashboard"))
        assert {late.id, early.id, other.id} == {1, 2, 3}
        assert early == Note("bedroom", BED, "baclofen 10 mg", "cli", early.id)

        assert await store.notes("bedroom", BED, BED + DAY) == [early, late]
        assert await store.notes(None, BED, BED + DAY) == [early, other, late]
        assert await store.notes("bedroom", BED + 1, BED + 3600) == []  # [from, to): end left out
        assert await store.notes("nowhere", 0, NOW) == []
    finally:
        await store.close()


async def test_notes_survive_a_restart_unchanged(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    kept = await store.add_note(make_note("bedroom", "infection; fever 38.5 °C", BED, NOW, "cli"))
    await store.close()
    store = await Store.open(tmp_path / "history.db")
    try:
        assert await store.notes("bedroom", 0, NOW) == [kept]
    finally:
        await store.close()


async def test_the_notes_export_and_the_nights_notes_column(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        await store.record(summaries=[summary("bedroom", BED), summary("bedroom", BED + DAY)])
        evening = datetime(2026, 11, 23, 21, 30, tzinfo=LONDON).timestamp()  # before bedtime
        await store.add_note(make_note("bedroom", "baclofen 10 mg", evening, NOW, "cli"), NOW)
        await store.add_note(make_note("bedroom", "woke hot", BED + 3 * 3600, NOW, "ha"), NOW)
        await store.add_note(make_note("guest", "not this room", BED + 60, NOW, "cli"), NOW)

        rows = await store.export(BED - DAY, BED + 2 * DAY, "notes")
        assert [(r["room"], r["at"], r["text"], r["source"], r["created"]) for r in rows] == [
            ("bedroom", evening, "baclofen 10 mg", "cli", NOW),
            ("guest", BED + 60, "not this room", "cli", NOW),
            ("bedroom", BED + 3 * 3600, "woke hot", "ha", NOW),
        ]
        nights = await store.export(BED - 1, BED + 2 * DAY, "nights")
        # A note belongs to the night of its date (local noon to noon), for its room only.
        assert [(n["night_date"], n["notes"]) for n in nights] == [
            ("2026-11-23", "baclofen 10 mg; woke hot"),
            ("2026-11-24", ""),
        ]
    finally:
        await store.close()


async def test_prune_drops_notes_older_than_the_retention(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        await store.add_note(make_note("bedroom", "old", NOW - 31 * DAY, NOW, "cli"))
        recent = await store.add_note(make_note("bedroom", "recent", NOW - 29 * DAY, NOW, "cli"))
        deleted = await store.prune(30, NOW)
        assert deleted["notes"] == 1
        assert await store.notes(None, 0, NOW) == [recent]
    finally:
        await store.close()


async def test_a_store_of_the_previous_version_gains_notes_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v4.db"
    previous = SCHEMA_VERSION - 1
    with sqlite3.connect(path) as db:
        for step in MIGRATIONS[:previous]:
            db.executescript(step)
        db.execute(f"PRAGMA user_version = {previous}")
        db.execute(
            "INSERT INTO labels (room, event_id, kind, start, end, label, labelled_at, source) "
            "VALUES ('bedroom', NULL, NULL, ?, ?, 'missed', ?, 'cli')",
            (BED, BED, BED),
        )
    db.close()
    store = await Store.open(path)
    try:
        assert [label.start for label in await store.labels("bedroom", 0, NOW)] == [BED]
        kept = await store.add_note(make_note("bedroom", "first note", BED, NOW, "cli"))
        assert await store.notes("bedroom", 0, NOW) == [kept]
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {row[1] for row in db.execute("PRAGMA index_list(notes)")}
        assert "notes_room_at" in indexes
    db.close()


async def test_without_a_store_the_service_refuses_a_note_with_the_reason(tmp_path: Path) -> None:
    history = History(tmp_path / "no-such-dir" / "history.db", lambda: NOW, None)
    assert not await history.open()
    with pytest.raises(NoteRefused, match="history store is unavailable"):
        await history.keep_note("bedroom", "hot day", None, "ha")
    with pytest.raises(NoteRefused, match="The note is empty"):  # the note's own fault first
        await history.keep_note("bedroom", " ", None, "ha")


async def test_the_service_keeps_a_note_at_its_clock_and_records_when(tmp_path: Path) -> None:
    history = History(tmp_path / "history.db", lambda: NOW, None)
    assert await history.open()
    try:
        now = await history.keep_note("bedroom", "woke hot", None, "ha")
        earlier = await history.keep_note("bedroom", "hot day", NOW - DAY, "dashboard")
        assert history.store is not None
        rows = await history.store.export(0, NOW + 1, "notes")
    finally:
        await history.close()
    assert (now.at, earlier.at) == (NOW, NOW - DAY)
    assert [(r["text"], r["created"]) for r in rows] == [("hot day", NOW), ("woke hot", NOW)]
