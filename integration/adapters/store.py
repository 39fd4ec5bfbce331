"""The SQLite history store: nights, summaries, events, actions, minute readings, notes, an outbox.

One connection (aiosqlite runs it on its own thread, fed by a queue, so writes are serialized
like zigpy's appdb), WAL journal so readers (CLI `nights`, `export`) never block the service,
and a checkpoint on close. The schema is versioned with `PRAGMA user_version`: `MIGRATIONS[i]`
takes a database from version i to i + 1, each step in one transaction; a database newer
than this code is refused rather than guessed at.

Every SQLite failure (disk full, locked, corrupt file) becomes `StoreError` with a message a
person can act on; the service logs it and keeps controlling the room without history.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import aiosqlite

from integration.core.events import Action, ActionKind, MovementEvent, MovementKind
from integration.core.labels import EventLabel, Label, relabel
from integration.core.localtime import night_bounds
from integration.core.notes import Note
from integration.core.summary import MinuteRecord, NightSummary
from integration.errors import LabelRefusedError, StoreError

_LOGGER = logging.getLogger(__name__)

_SECONDS_PER_DAY = 86400.0
_THREAD_JOIN_S = 5.0  # the worker stops at once; this only bounds a wedged thread

# Each step takes the schema from version i to i + 1. Append only: never edit a released step.
MIGRATIONS: tuple[str, ...] = (
    # v1: the first release.
    """
    CREATE TABLE night_state (
        room TEXT PRIMARY KEY,
        state TEXT NOT NULL            -- JSON snapshot of the open night, for a restart
    );
    CREATE TABLE nights (
        id INTEGER PRIMARY KEY,
        room TEXT NOT NULL,
        night_date TEXT NOT NULL,      -- local date of the evening the night began
        bed_time REAL NOT NULL,
        wake_time REAL NOT NULL,
        UNIQUE (room, bed_time)
    );
    CREATE TABLE summaries (
        night_id INTEGER PRIMARY KEY REFERENCES nights (id) ON DELETE CASCADE,
        summary TEXT NOT NULL          -- NightSummary.to_dict() as JSON
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        room TEXT NOT NULL,
        kind TEXT NOT NULL,
        start REAL NOT NULL,
        end REAL NOT NULL,
        peak REAL NOT NULL,
        confidence REAL NOT NULL,
        spasm_like INTEGER NOT NULL,
        why TEXT NOT NULL
    );
    CREATE INDEX events_room_start ON events (room, start);
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY,
        room TEXT NOT NULL,
        t REAL NOT NULL,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        data TEXT NOT NULL,
        why TEXT NOT NULL
    );
    CREATE INDEX actions_room_t ON actions (room, t);
    CREATE TABLE readings_minute (
        room TEXT NOT NULL,
        minute REAL NOT NULL,          -- start of the minute, UTC epoch s
        temp_c REAL,
        low_c REAL,
        high_c REAL,
        activity_mg REAL,
        spasms INTEGER NOT NULL,
        in_bed INTEGER NOT NULL,
        PRIMARY KEY (room, minute)
    );
    """,
    # v2: messages kept for Home Assistant while it is away, delivered when it is back.
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        created REAL NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        delivered INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_pending ON outbox (delivered, id);
    """,
    # v3: the person's labels: an event confirmed or rejected, or a spasm the sensor missed.
    """
    CREATE TABLE labels (
        id INTEGER PRIMARY KEY,
        room TEXT NOT NULL,
        event_id INTEGER UNIQUE REFERENCES events (id) ON DELETE CASCADE,  -- NULL: missed
        kind TEXT,                     -- the labelled event's kind, NULL for a missed spasm
        start REAL NOT NULL,           -- the event's times (kept: tune matches replays by time)
        end REAL NOT NULL,
        label TEXT NOT NULL,           -- confirmed | rejected | missed
        labelled_at REAL NOT NULL,
        source TEXT NOT NULL           -- home_assistant | dashboard | cli
    );
    CREATE INDEX labels_room_start ON labels (room, start);
    """,
    # v4: dead letters: an outbox message HA refused for good, or that failed in a way that
    # will not change, kept and marked rather than sent again at every start.
    """
    ALTER TABLE outbox ADD COLUMN parked_at REAL;
    ALTER TABLE outbox ADD COLUMN parked_reason TEXT;
    """,
    # v5: the person's notes: what may explain the nights (a medication change, a hot day).
    """
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY,
        room TEXT NOT NULL,
        at REAL NOT NULL,              -- when what the note says happened, UTC epoch s
        text TEXT NOT NULL,
        source TEXT NOT NULL,          -- cli | ha | dashboard | simulation
        created REAL NOT NULL          -- when it was kept
    );
    CREATE INDEX notes_room_at ON notes (room, at);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

ExportTable = Literal["nights", "events", "actions", "minutes", "labels", "notes"]
Row = dict[str, str | int | float | None]


def _explain(path: Path, error: sqlite3.Error) -> str:
    """A message a person can act on for an SQLite failure."""
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        hint = "the database is locked by another process; is a second service running?"
    elif "full" in text:
        hint = "the disk is full; free space or move the store"
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        hint = "the file is corrupt or not a smart-bedroom database; move it aside to start afresh"
    elif "readonly" in text or "unable to open" in text or "permission" in text:
        hint = "the file cannot be opened for writing; check its path and permissions"
    else:
        hint = str(error)
    return f"history store {path}: {hint} ({error})"


OUTBOX_HA_ACTION = "ha_action"  # the outbox's kind for a Home Assistant action


class Store:
    """The history of every room, in one SQLite file."""

    def __init__(self, path: Path, db: aiosqlite.Connection, busy_timeout_s: float) -> None:
        """Use `Store.open`; this only wraps a connection."""
        self.path = path
        self._db = db
        self._busy_timeout_s = busy_timeout_s
        self._write_lock = asyncio.Lock()  # one transaction at a time on the one connection

    @classmethod
    async def open(cls, path: Path, busy_timeout_s: float = 5.0) -> Store:
        """Open (creating if needed) and migrate the store at `path`.

        A write waits up to `busy_timeout_s` for another process's lock before failing.
        """
        connection = aiosqlite.connect(path)
        try:
            db = await connection
        except sqlite3.Error as error:
            # aiosqlite's worker thread still answers its own stop request on this event loop:
            # wait for it, or it may call into the loop after the loop has closed.
            await asyncio.to_thread(connection._thread.join, _THREAD_JOIN_S)
            raise StoreError(_explain(path, error)) from error
        store = cls(path, db, busy_timeout_s)
        try:
            await store._prepare()
        except StoreError:
            await db.close()
            raise
        except sqlite3.Error as error:
            await db.close()
            raise StoreError(_explain(path, error)) from error
        return store

    async def _prepare(self) -> None:
        db = self._db
        db.row_factory = sqlite3.Row
        await db.execute(f"PRAGMA busy_timeout = {round(self._busy_timeout_s * 1000)}")
        await db.execute("PRAGMA foreign_keys = ON")
        async with db.execute("PRAGMA journal_mode = WAL") as cursor:
            await cursor.fetchone()
        async with db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"history store {self.path}: schema version {version} is newer than this "
                f"smart-bedroom understands ({SCHEMA_VERSION}); upgrade smart-bedroom"
            )
        for step in range(version, SCHEMA_VERSION):
            await self._migrate(step)

    async def _migrate(self, step: int) -> None:
        """Run migration `step` (to version step + 1) in one transaction."""
        statements = [s.strip() for s in MIGRATIONS[step].split(";") if s.strip()]
        await self._db.execute("BEGIN")
        try:
            for statement in statements:
                await self._db.execute(statement)
            await self._db.execute(f"PRAGMA user_version = {step + 1}")
        except sqlite3.Error:
            await self._db.rollback()
            raise
        await self._db.commit()
        _LOGGER.info("history store %s: schema migrated to version %d", self.path, step + 1)

    async def check(self) -> None:
        """Raise StoreError when SQLite finds the file damaged (`PRAGMA quick_check`).

        Reads every page once: a corrupt page anywhere is found at start, not at the first
        write that happens to touch it.
        """
        rows = await self._fetch("PRAGMA quick_check(1)")
        verdict = " ".join(str(rows[0][0]).split()) if rows else "no answer"  # one line
        if verdict != "ok":
            raise StoreError(_explain(self.path, sqlite3.DatabaseError(f"malformed: {verdict}")))

    async def close(self) -> None:
        """Checkpoint the WAL into the main file and close."""
        try:
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as error:
            _LOGGER.warning("history store %s: checkpoint on close failed: %s", self.path, error)
        try:
            await self._db.close()
        except sqlite3.Error as error:
            raise StoreError(_explain(self.path, error)) from error

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[aiosqlite.Connection]:
        """A transaction that commits on success; SQLite errors become StoreError.

        Writers from several tasks take turns, so one's failure never rolls back another's rows.
        """
        async with self._write_lock:
            try:
                yield self._db
                await self._db.commit()
            except sqlite3.Error as error:
                try:
                    await self._db.rollback()
                except sqlite3.Error:
                    _LOGGER.debug("history store %s: rollback failed too", self.path)
                raise StoreError(_explain(self.path, error)) from error

    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            async with self._db.execute(sql, args) as cursor:
                return list(await cursor.fetchall())
        except sqlite3.Error as error:
            raise StoreError(_explain(self.path, error)) from error

    # --- restart state ---------------------------------------------------------------------

    async def load_night_state(self, room: str) -> dict[str, Any] | None:
        """The last saved night state of `room`, or None."""
        rows = await self._fetch("SELECT state FROM night_state WHERE room = ?", (room,))
        if not rows:
            return None
        state: dict[str, Any] = json.loads(rows[0]["state"])
        return state

    # --- what happened ---------------------------------------------------------------------

    async def record(
        self,
        *,
        events: Iterable[MovementEvent] = (),
        actions: Iterable[Action] = (),
        minutes: Iterable[MinuteRecord] = (),
        summaries: Iterable[NightSummary] = (),
        night_states: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """What one decision produced, in one transaction: a crash keeps all of it or none.

        Separate writes could keep an event whose night state (tonight's count) was not saved
        yet: after a restart history and the summary would disagree.
        """
        async with self._writing() as db:
            await _insert_events(db, events)
            await _insert_actions(db, actions)
            await _insert_minutes(db, minutes)
            for summary in summaries:
                await _insert_summary(db, summary)
            for room, snapshot in (night_states or {}).items():
                await db.execute(
                    "INSERT INTO night_state (room, state) VALUES (?, ?) "
                    "ON CONFLICT (room) DO UPDATE SET state = excluded.state",
                    (room, json.dumps(snapshot)),
                )

    # --- nights and summaries --------------------------------------------------------------

    async def summaries(self, room: str, limit: int) -> list[NightSummary]:
        """The latest `limit` summaries of `room`, newest first."""
        rows = await self._fetch(
            "SELECT s.summary FROM summaries s JOIN nights n ON n.id = s.night_id "
            "WHERE n.room = ? ORDER BY n.bed_time DESC LIMIT ?",
            (room, limit),
        )
        return await self.relabelled(NightSummary.from_dict(json.loads(r["summary"])) for r in rows)

    async def last_summaries(self, room: str, n: int = 7) -> list[NightSummary]:
        """The last `n` nights of `room`, for the comparison in the morning summary."""
        return await self.summaries(room, n)

    async def nights(self, from_t: float, to_t: float) -> list[NightSummary]:
        """Summaries of every room's nights that began in [from_t, to_t), oldest first."""
        rows = await self._fetch(
            "SELECT s.summary FROM summaries s JOIN nights n ON n.id = s.night_id "
            "WHERE n.bed_time >= ? AND n.bed_time < ? ORDER BY n.bed_time, n.room",
            (from_t, to_t),
        )
        return await self.relabelled(NightSummary.from_dict(json.loads(r["summary"])) for r in rows)

    async def relabelled(self, summaries: Iterable[NightSummary]) -> list[NightSummary]:
        """Summaries as the person's labels have them (stored as the detector made them)."""
        out = []
        for summary in summaries:
            labels = await self.labels(summary.room, summary.bed_time, summary.wake_time)
            if labels:
                minutes = []
                if any(label.label is Label.REJECTED for label in labels):
                    minutes = await self.minutes(summary.room, summary.bed_time, summary.wake_time)
                summary = relabel(summary, labels, minutes)
            out.append(summary)
        return out

    async def minutes(self, room: str, from_t: float, to_t: float) -> list[MinuteRecord]:
        """The minute records of `room` in [from_t, to_t), oldest first."""
        rows = await self._fetch(
            "SELECT room, minute, temp_c, low_c, high_c, activity_mg, spasms, in_bed "
            "FROM readings_minute WHERE room = ? AND minute >= ? AND minute < ? ORDER BY minute",
            (room, from_t, to_t),
        )
        return [
            MinuteRecord(
                room=r["room"],
                t=r["minute"],
                temp_c=r["temp_c"],
                low_c=r["low_c"],
                high_c=r["high_c"],
                activity_mg=r["activity_mg"],
                spasms=r["spasms"],
                in_bed=bool(r["in_bed"]),
            )
            for r in rows
        ]

    # --- the person's labels ---------------------------------------------------------------

    async def labels(self, room: str | None, from_t: float, to_t: float) -> list[EventLabel]:
        """Labels of `room` (every room when None) on times in [from_t, to_t), oldest first."""
        rows = await self._fetch(
            "SELECT * FROM labels WHERE (? IS NULL OR room = ?) AND start >= ? AND start < ? "
            "ORDER BY start, id",
            (room, room, from_t, to_t),
        )
        return [_label_from_row(r) for r in rows]

    async def label_event(
        self, event_id: int, label: Label, at: float, source: str, *, not_before: float
    ) -> EventLabel:
        """Confirm or reject one spasm-like event (a second label replaces the first).

        Raises LabelRefusedError, never anything else, for an event that is not in the history,
        not spasm-like, or older than `not_before` (the retention).
        """
        rows = await self._fetch(
            "SELECT id, room, kind, start, end, spasm_like FROM events WHERE id = ?", (event_id,)
        )
        if not rows:
            raise LabelRefusedError(f"no event {event_id} in the history")
        return await self._label(rows[0], label, at, source, not_before)

    async def label_latest(
        self, room: str, label: Label, at: float, source: str, *, not_before: float
    ) -> EventLabel:
        """Confirm or reject the latest spasm-like event of `room` (HA's buttons)."""
        rows = await self._fetch(
            "SELECT id, room, kind, start, end, spasm_like FROM events "
            "WHERE room = ? AND spasm_like = 1 AND start <= ? ORDER BY start DESC, id DESC LIMIT 1",
            (room, at),
        )
        if not rows:
            raise LabelRefusedError(f"room {room}: no spasm-like event to label yet")
        return await self._label(rows[0], label, at, source, not_before)

    async def report_missed(self, room: str, at: float, source: str) -> EventLabel:
        """A spasm the sensor missed, reported by the person at `at`."""
        label = EventLabel(room, at, at, Label.MISSED, None, at, source)
        async with self._writing() as db:
            await db.execute(
                "INSERT INTO labels (room, event_id, kind, start, end, label, labelled_at, source) "
                "VALUES (?, NULL, NULL, ?, ?, ?, ?, ?)",
                (room, at, at, label.label.value, at, source),
            )
        return label

    async def _label(
        self, event: sqlite3.Row, label: Label, at: float, source: str, not_before: float
    ) -> EventLabel:
        if label is Label.MISSED:
            raise LabelRefusedError("a missed spasm is reported on its own, not on an event")
        if not event["spasm_like"]:
            raise LabelRefusedError(
                f"event {event['id']} is a {event['kind']}, not spasm-like: only spasm-like "
                "events are labelled"
            )
        if event["start"] < not_before:
            raise LabelRefusedError(
                f"event {event['id']} is older than the history keeps; it can no longer be labelled"
            )
        labelled = EventLabel(
            room=event["room"],
            start=event["start"],
            end=event["end"],
            label=label,
            kind=event["kind"],
            labelled_at=at,
            source=source,
            event_id=event["id"],
        )
        async with self._writing() as db:
            await db.execute(
                "INSERT INTO labels (room, event_id, kind, start, end, label, labelled_at, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE SET "
                "label = excluded.label, labelled_at = excluded.labelled_at, "
                "source = excluded.source",
                (
                    labelled.room,
                    labelled.event_id,
                    labelled.kind,
                    labelled.start,
                    labelled.end,
                    label.value,
                    at,
                    source,
                ),
            )
        return labelled

    # --- the person's notes ----------------------------------------------------------------

    async def add_note(self, note: Note, created: float | None = None) -> Note:
        """Keep a note (made by `make_note`); returns it with its id.

        `created` is when it was kept (the service's clock); it defaults to the note's own time.
        """
        async with self._writing() as db:
            cursor = await db.execute(
                "INSERT INTO notes (room, at, text, source, created) VALUES (?, ?, ?, ?, ?)",
                (
                    note.room,
                    note.at,
                    note.text,
                    note.source,
                    note.at if created is None else created,
                ),
            )
            note_id = int(cursor.lastrowid or 0)
        return replace(note, id=note_id)

    async def notes(self, room: str | None, from_t: float, to_t: float) -> list[Note]:
        """Notes of `room` (every room when None) at times in [from_t, to_t), oldest first."""
        rows = await self._fetch(
            "SELECT id, room, at, text, source FROM notes "
            "WHERE (? IS NULL OR room = ?) AND at >= ? AND at < ? ORDER BY at, id",
            (room, room, from_t, to_t),
        )
        return [
            Note(room=r["room"], at=r["at"], text=r["text"], source=r["source"], id=r["id"])
            for r in rows
        ]

    async def spasm_events(
        self, room: str, from_t: float, to_t: float
    ) -> list[tuple[int, MovementEvent, Label | None]]:
        """Spasm-like events of `room` in [from_t, to_t) with their ids and labels, oldest first."""
        rows = await self._fetch(
            "SELECT e.id, e.room, e.kind, e.start, e.end, e.peak, e.confidence, e.spasm_like, "
            "e.why, l.label FROM events e LEFT JOIN labels l ON l.event_id = e.id "
            "WHERE e.room = ? AND e.spasm_like = 1 AND e.start >= ? AND e.start < ? "
            "ORDER BY e.start, e.id",
            (room, from_t, to_t),
        )
        return [
            (
                r["id"],
                MovementEvent(
                    room=r["room"],
                    kind=MovementKind(r["kind"]),
                    start=r["start"],
                    end=r["end"],
                    peak=r["peak"],
                    confidence=r["confidence"],
                    spasm_like=True,
                    why=json.loads(r["why"]),
                ),
                None if r["label"] is None else Label(r["label"]),
            )
            for r in rows
        ]

    async def export(self, from_t: float, to_t: float, table: ExportTable = "nights") -> list[Row]:
        """Flat rows (for CSV or JSON) of one table in [from_t, to_t), oldest first."""
        if table == "nights":
            nights = await self.nights(from_t, to_t)
            spans = [_night_span(s) for s in nights]
            notes = await self.notes(None, spans[0][0], spans[-1][1]) if nights else []
            return [_night_row(s, _night_notes(s, notes)) for s in nights]
        sql = {
            "events": "SELECT e.id, e.room, e.kind, e.start, e.end, e.peak, e.confidence, "
            "e.spasm_like, l.label, e.why FROM events e LEFT JOIN labels l ON l.event_id = e.id "
            "WHERE e.start >= ? AND e.start < ? ORDER BY e.start, e.id",
            "labels": "SELECT room, event_id, kind, start, end, label, labelled_at, source "
            "FROM labels WHERE start >= ? AND start < ? ORDER BY start, id",
            "actions": "SELECT room, t, kind, target, data, why "
            "FROM actions WHERE t >= ? AND t < ? ORDER BY t",
            "minutes": "SELECT room, minute, temp_c, low_c, high_c, activity_mg, spasms, in_bed "
            "FROM readings_minute WHERE minute >= ? AND minute < ? ORDER BY minute, room",
            "notes": "SELECT id, room, at, text, source, created "
            "FROM notes WHERE at >= ? AND at < ? ORDER BY at, id",
        }[table]
        return [dict(r) for r in await self._fetch(sql, (from_t, to_t))]

    # --- outbox ----------------------------------------------------------------------------

    async def add_outbox(self, created: float, kind: str, payload: Mapping[str, Any]) -> int:
        """Keep a message for Home Assistant until it is delivered; returns its id."""
        async with self._writing() as db:
            cursor = await db.execute(
                "INSERT INTO outbox (created, kind, payload) VALUES (?, ?, ?)",
                (created, kind, json.dumps(payload)),
            )
            return int(cursor.lastrowid or 0)

    async def pending_outbox(self) -> list[tuple[int, float, str, dict[str, Any]]]:
        """Undelivered messages as (id, created, kind, payload), oldest first."""
        rows = await self._fetch(
            "SELECT id, created, kind, payload FROM outbox "
            "WHERE delivered = 0 AND parked_at IS NULL ORDER BY id"
        )
        return [(r["id"], r["created"], r["kind"], _document(r["payload"])) for r in rows]

    async def keep_action(self, action: Action) -> int:
        """Keep a Home Assistant action until it is delivered; returns its outbox id."""
        return await self.add_outbox(action.t, OUTBOX_HA_ACTION, _action_document(action))

    async def pending_actions(self) -> list[tuple[int, Action]]:
        """Undelivered Home Assistant actions as (outbox id, action), oldest first.

        A row that no longer reads as an action (edited by hand, written by a broken build)
        is parked here, so it can never stop a start.
        """
        actions: list[tuple[int, Action]] = []
        for row, created, kind, payload in await self.pending_outbox():
            if kind != OUTBOX_HA_ACTION:
                continue
            try:
                actions.append((row, _action_from_document(payload)))
            except (KeyError, TypeError, ValueError):
                _LOGGER.error("history store: outbox row %d is not an action; parked", row)
                await self.park(row, created, "not a readable action")
        return actions

    async def park(self, outbox_id: int, at: float, reason: str) -> None:
        """Mark an outbox message a dead letter: kept, never sent again."""
        async with self._writing() as db:
            await db.execute(
                "UPDATE outbox SET parked_at = ?, parked_reason = ? WHERE id = ?",
                (at, reason, outbox_id),
            )

    async def dead_letters(self) -> list[Row]:
        """Parked outbox messages, newest first: id, created, parked_at, reason, payload."""
        rows = await self._fetch(
            "SELECT id, created, parked_at, parked_reason AS reason, payload FROM outbox "
            "WHERE parked_at IS NOT NULL ORDER BY parked_at DESC, id DESC"
        )
        return [dict(r) for r in rows]

    async def mark_delivered(self, ids: Iterable[int]) -> None:
        """Mark outbox messages as delivered."""
        async with self._writing() as db:
            await db.executemany(
                "UPDATE outbox SET delivered = 1 WHERE id = ?", [(i,) for i in ids]
            )

    # --- retention -------------------------------------------------------------------------

    async def prune(self, retention_days: float, now: float) -> dict[str, int]:
        """Delete history older than `retention_days` before `now`; rows deleted per table."""
        cutoff = now - retention_days * _SECONDS_PER_DAY
        statements = {
            "labels": ("DELETE FROM labels WHERE start < ?", (cutoff,)),
            "notes": ("DELETE FROM notes WHERE at < ?", (cutoff,)),
            "events": ("DELETE FROM events WHERE start < ?", (cutoff,)),
            "actions": ("DELETE FROM actions WHERE t < ?", (cutoff,)),
            "readings_minute": ("DELETE FROM readings_minute WHERE minute < ?", (cutoff,)),
            "summaries": (
                "DELETE FROM summaries WHERE night_id IN "
                "(SELECT id FROM nights WHERE wake_time < ?)",
                (cutoff,),
            ),
            "nights": ("DELETE FROM nights WHERE wake_time < ?", (cutoff,)),
            "outbox": (
                "DELETE FROM outbox WHERE (delivered = 1 OR parked_at IS NOT NULL) AND created < ?",
                (cutoff,),
            ),
        }
        deleted: dict[str, int] = {}
        async with self._writing() as db:
            for table, (sql, args) in statements.items():
                cursor = await db.execute(sql, args)
                deleted[table] = cursor.rowcount
        return deleted


def _action_document(action: Action) -> dict[str, Any]:
    return {
        "room": action.room,
        "t": action.t,
        "kind": str(action.kind),
        "target": action.target,
        "data": dict(action.data),
        "why": dict(action.why),
    }


def _document(text: str) -> dict[str, Any]:
    """An outbox payload; one that is not a JSON object reads as empty (then parked)."""
    try:
        document = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return {}
    return document if isinstance(document, dict) else {}


def _action_from_document(payload: Mapping[str, Any]) -> Action:
    return Action(
        room=payload["room"],
        t=payload["t"],
        kind=ActionKind(payload["kind"]),
        target=payload["target"],
        data=payload["data"],
        why=payload["why"],
    )


def _label_from_row(row: sqlite3.Row) -> EventLabel:
    return EventLabel(
        room=row["room"],
        start=row["start"],
        end=row["end"],
        label=Label(row["label"]),
        kind=row["kind"],
        labelled_at=row["labelled_at"],
        source=row["source"],
        event_id=row["event_id"],
    )


def _night_span(summary: NightSummary) -> tuple[float, float]:
    """The night's whole date (local noon to noon): a note at 22:00 belongs to that night."""
    return night_bounds(date.fromisoformat(summary.night_date), ZoneInfo(summary.zone))


def _night_notes(summary: NightSummary, notes: Iterable[Note]) -> str:
    """The texts of the room's notes in the night's date, joined by "; "."""
    start, end = _night_span(summary)
    return "; ".join(
        note.text for note in notes if note.room == summary.room and start <= note.at < end
    )


def _night_row(summary: NightSummary, notes: str = "") -> Row:
    """The headline figures of one night as a flat row."""
    row: Row = {
        "room": summary.room,
        "room_name": summary.room_name,
        "bed_time": summary.bed_time,
        "wake_time": summary.wake_time,
        "night_date": summary.night_date,
        "time_in_bed_s": summary.time_in_bed_s,
        "time_out_of_bed_s": summary.time_out_of_bed_s,
        "get_ups": summary.get_ups,
        "temp_min_c": summary.temp_min_c,
        "temp_mean_c": summary.temp_mean_c,
        "temp_max_c": summary.temp_max_c,
        "in_band_share": summary.in_band_share,
        "too_warm_min": summary.too_warm_min,
        "too_cold_min": summary.too_cold_min,
        "spasm_count": summary.spasm_count,
        "spasm_rate_per_h": summary.spasm_rate_per_h,
        "restless_episodes": summary.restless_episodes,
        "restless_total_min": summary.restless_total_min,
        "restless_longest_min": summary.restless_longest_min,
        "sleep_efficiency": None if summary.sleep is None else summary.sleep.efficiency,
        "actions": summary.actions_count,
        "sensor_gaps": summary.quality.sensor_gaps,
        "rejected_messages": summary.quality.rejected_total,
        "labels_confirmed": summary.labels.confirmed,
        "labels_rejected": summary.labels.rejected,
        "labels_unlabelled": summary.labels.unlabelled,
        "labels_missed": summary.labels.missed,
    }
    row.update({f"spasms_{kind}": n for kind, n in summary.spasms_by_kind.items()})
    row["spasms_by_hour"] = json.dumps(dict(summary.spasms_by_hour))
    row["rate_when_warm"] = json.dumps(asdict(summary.rate_when_warm))
    row["rate_in_band"] = json.dumps(asdict(summary.rate_in_band))
    row["notes"] = notes
    return row


async def _insert_events(db: aiosqlite.Connection, events: Iterable[MovementEvent]) -> None:
    rows = [
        (
            e.room,
            e.kind.value,
            e.start,
            e.end,
            e.peak,
            e.confidence,
            int(e.spasm_like),
            json.dumps(dict(e.why)),
        )
        for e in events
    ]
    if rows:
        await db.executemany(
            "INSERT INTO events (room, kind, start, end, peak, confidence, spasm_like, why) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


async def _insert_actions(db: aiosqlite.Connection, actions: Iterable[Action]) -> None:
    rows = [
        (a.room, a.t, a.kind.value, a.target, json.dumps(dict(a.data)), json.dumps(dict(a.why)))
        for a in actions
    ]
    if rows:
        await db.executemany(
            "INSERT INTO actions (room, t, kind, target, data, why) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )


async def _insert_minutes(db: aiosqlite.Connection, records: Iterable[MinuteRecord]) -> None:
    """A minute written again replaces the earlier row."""
    rows = [
        (r.room, r.t, r.temp_c, r.low_c, r.high_c, r.activity_mg, r.spasms, int(r.in_bed))
        for r in records
    ]
    if rows:
        await db.executemany(
            "INSERT OR REPLACE INTO readings_minute "
            "(room, minute, temp_c, low_c, high_c, activity_mg, spasms, in_bed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


async def _insert_summary(db: aiosqlite.Connection, summary: NightSummary) -> None:
    """Saving the same night again replaces it."""
    await db.execute(
        "INSERT INTO nights (room, night_date, bed_time, wake_time) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (room, bed_time) DO UPDATE SET wake_time = excluded.wake_time, "
        "night_date = excluded.night_date",
        (summary.room, summary.night_date, summary.bed_time, summary.wake_time),
    )
    await db.execute(
        "INSERT OR REPLACE INTO summaries (night_id, summary) "
        "SELECT id, ? FROM nights WHERE room = ? AND bed_time = ?",
        (json.dumps(summary.to_dict()), summary.room, summary.bed_time),
    )
