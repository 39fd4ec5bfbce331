"""History as one sink: what the core decided goes to the store, HA actions through the outbox.

It owns the store's health (a failed write is counted and logged, never raised: a full disk
costs history, never control; a store that cannot be opened or is damaged is reported as
unavailable with its reason) and the durable outbox: an HA action is kept in the store until
the HA worker has delivered it, so HA away for hours, or a restart, loses none and sends none
twice. An action the worker parks (HA refused it for good, or it failed the same lasting way
again and again) stays in the outbox marked as a dead letter: never sent again, counted, and
shown on /healthz and as HA's delivery problem entity.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integration.adapters.ha_rest import HomeAssistantActions
from integration.adapters.store import Store
from integration.core.events import Action, MovementEvent
from integration.core.labels import EventLabel, Label
from integration.core.notes import Note, NoteRefused, make_note
from integration.core.room import RoomCore
from integration.core.summary import HISTORY_NIGHTS, MinuteRecord, NightSummary
from integration.errors import LabelRefusedError, StoreError

__all__ = ["STORE_ERROR_HOLD_S", "DeadLetter", "History"]

_LOGGER = logging.getLogger(__name__)

# The store shows its error this long after its last failed write: every room is saved each
# minute, so a store that still cannot write fails again well within it.
STORE_ERROR_HOLD_S = 120.0
# An open night is saved this often: a crash loses at most this much of it.
NIGHT_SAVE_S = 60.0
# The latest dead letters shown in HA's delivery problem attributes.
LATEST_DEAD_LETTERS = 5


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An HA action parked since start: which, when, and why it will not be sent."""

    room: str
    target: str
    at: float
    reason: str


class History:
    """The history store and the outbox of HA actions, with the store's health."""

    def __init__(
        self,
        path: Path,
        now: Callable[[], float],
        home_assistant: HomeAssistantActions | None,
        on_failure: Callable[[], None] = lambda: None,
    ) -> None:
        self.path = path
        self.store: Store | None = None
        self.failures = 0
        self.error: str | None = None  # the last failed write's reason
        self._failed_at: float | None = None
        self._now = now
        self._on_failure = on_failure
        self._home_assistant = home_assistant
        # HA actions kept in the outbox until HA has them: id(action) → (action, outbox row).
        self._outbox: dict[int, tuple[Action, int]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.unavailable: str | None = None  # why the store could not be opened, if it could not
        self.dead_letters = 0  # actions parked since start
        self.dead_letters_kept = 0  # parked actions in the store, this start's and earlier ones
        self.latest_dead: deque[DeadLetter] = deque(maxlen=LATEST_DEAD_LETTERS)
        # Told after each new dead letter is kept (the service shows it in HA).
        self.on_dead_letter: Callable[[], Awaitable[None]] | None = None
        if home_assistant is not None:
            home_assistant.on_done = self._delivered
            home_assistant.on_parked = self._parked

    async def open(self) -> bool:
        """Open and check the store, and hand the HA worker what it had not delivered.

        False without a store: it cannot be opened, is damaged, or fails its first reads; then
        it is closed again and `status()` says why, for as long as the service runs.
        """
        store: Store | None = None
        try:
            store = await Store.open(self.path)
            await store.check()
            pending = await store.pending_actions()
            self.dead_letters_kept = len(await store.dead_letters())
        except StoreError as err:
            self.failures += 1
            self._on_failure()
            self.unavailable = str(err)
            _LOGGER.error("history store unavailable, running without it: %s", err)
            if store is not None:
                with contextlib.suppress(StoreError):
                    await store.close()
            return False
        self.store = store
        if self._home_assistant is not None:
            for row, action in pending:
                self._outbox[id(action)] = (action, row)
                self._home_assistant.submit(action)
            if self._outbox:
                _LOGGER.info("Home Assistant: %d undelivered action(s) to send", len(self._outbox))
        if self.dead_letters_kept:
            _LOGGER.info(
                "Home Assistant: %d parked action(s) (dead letters) kept in the history store",
                self.dead_letters_kept,
            )
        return True

    async def resume(self, rooms: Mapping[str, RoomCore]) -> None:
        """Each room takes back its last nights and the night a restart interrupted."""
        if self.store is None:
            return
        try:
            for room_id, room in rooms.items():
                room.remember(await self.store.last_summaries(room_id, HISTORY_NIGHTS))
                state = await self.store.load_night_state(room_id)
                if state is not None:
                    room.restore(state, self.now())
                    if state.get("accumulator") is not None:  # else no night was open
                        _LOGGER.info("room %s: resumed the night from the history store", room_id)
        except StoreError as err:
            _LOGGER.error("history store: nights not resumed: %s", err)

    async def keep(
        self,
        night_states: Callable[[], Mapping[str, Mapping[str, Any]]],
        retention_days: float,
        sleep_until: Callable[[float], Awaitable[None]],
    ) -> None:
        """Save each open night every minute (a restart resumes it); prune old history daily."""
        next_prune = self._now()
        while True:
            await sleep_until(self._now() + NIGHT_SAVE_S)
            await self.record(night_states=night_states())
            if self._now() >= next_prune:
                next_prune = self._now() + 86_400
                await self.prune(retention_days)

    async def close(self) -> None:
        """Close the store (a checkpoint), once the last writes are in."""
        if self.store is not None:
            with contextlib.suppress(StoreError):
                await self.store.close()

    def status(self) -> str:
        """What /healthz says of the store: ok, unavailable, or the last error while it holds."""
        failed_at = self._failed_at
        if self.store is None:
            return f"unavailable: {self.unavailable}" if self.unavailable else "unavailable"
        if failed_at is not None and self._now() - failed_at < STORE_ERROR_HOLD_S:
            return f"error: {self.error}"
        return "ok"

    def now(self) -> float:
        """The service's clock, as history stamps what it keeps."""
        return self._now()

    @property
    def undelivered(self) -> int:
        """HA actions kept in the outbox, not yet delivered."""
        return len(self._outbox)

    async def record(
        self,
        *,
        events: Iterable[MovementEvent] = (),
        actions: Iterable[Action] = (),
        minutes: Iterable[MinuteRecord] = (),
        summaries: Iterable[NightSummary] = (),
        night_states: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Write what one decision produced in one transaction (see `Store.record`)."""
        if self.store is not None:
            await self._stored(
                self.store.record(
                    events=events,
                    actions=actions,
                    minutes=minutes,
                    summaries=summaries,
                    night_states=night_states,
                )
            )

    async def prune(self, retention_days: float) -> None:
        """Drop history older than the retention."""
        if self.store is not None:
            await self._stored(self.store.prune(retention_days, self._now()))

    async def label(
        self, room: str | int, label: Label, source: str, *, retention_days: float
    ) -> EventLabel:
        """Keep the person's word, now, on an event, the latest one, or a missed spasm.

        `room` is an event's id from the dashboard's rows, or a room: HA's buttons label its
        latest spasm-like event or report a spasm the sensor missed. Raises LabelRefusedError (no such event, too old, no store), never anything else.
        """
        if self.store is None:
            raise LabelRefusedError("the history store is unavailable")
        at = self._now()
        not_before = at - retention_days * 86_400
        try:
            if isinstance(room, int):
                return await self.store.label_event(room, label, at, source, not_before=not_before)
            if label is Label.MISSED:
                return await self.store.report_missed(room, at, source)
            return await self.store.label_latest(room, label, at, source, not_before=not_before)
        except StoreError as err:
            self._failed(err, "the label is not kept")
            raise LabelRefusedError(f"the history store failed: {err}") from err

    async def keep_note(self, room: str, text: str, at: float | None, source: str) -> Note:
        """Keep the person's note on `room` at `at` (default: now); returns it with its id.

        Raises NoteRefused, never anything else: empty, too long, in the future, no store.
        """
        now = self._now()
        made = make_note(room, text, now if at is None else at, now, source)
        if self.store is None:
            raise NoteRefused("The history store is unavailable, so the note cannot be kept.")
        try:
            return await self.store.add_note(made, created=now)
        except StoreError as err:
            self._failed(err, "the note is not kept")
            raise NoteRefused(f"The history store failed, so the note is not kept: {err}") from err

    async def labelled(self, summaries: Iterable[NightSummary]) -> list[NightSummary]:
        """Summaries as the person's labels have them; as they are when the store cannot say."""
        summaries = list(summaries)
        if self.store is None or not summaries:
            return summaries
        try:
            return await self.store.relabelled(summaries)
        except StoreError as err:
            self._failed(err, "the summary goes out without the person's labels")
            return summaries

    async def latest_summary(self, room: str) -> NightSummary | None:
        """The room's last summarised night, labels applied; None without one or a store."""
        if self.store is None:
            return None
        try:
            latest = await self.store.summaries(room, 1)
        except StoreError as err:
            self._failed(err, "the last summary is not re-sent")
            return None
        return latest[0] if latest else None

    async def send(self, action: Action) -> None:
        """Hand an HA action to the worker, kept in the outbox until it is delivered."""
        if self._home_assistant is None:
            return
        if self.store is not None:
            try:
                row = await self.store.keep_action(action)
            except StoreError as err:
                self._failed(err, "the action is kept in memory only")
            else:
                self._outbox[id(action)] = (action, row)
        self._home_assistant.submit(action)

    def _delivered(self, action: Action) -> None:
        """The HA worker is done with an action: mark its outbox row, in the background."""
        kept = self._outbox.pop(id(action), None)
        if kept is None or self.store is None:
            return
        task = asyncio.create_task(self._stored(self.store.mark_delivered([kept[1]])))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _parked(self, action: Action, reason: str) -> None:
        """The HA worker parked an action: mark its outbox row a dead letter, in the background."""
        self.dead_letters += 1
        self.dead_letters_kept += 1
        self.latest_dead.appendleft(DeadLetter(action.room, action.target, self._now(), reason))
        kept = self._outbox.pop(id(action), None)
        task = asyncio.create_task(self._dead_letter(None if kept is None else kept[1], reason))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _dead_letter(self, row: int | None, reason: str) -> None:
        if row is not None and self.store is not None:
            await self._stored(self.store.park(row, self._now(), reason))
        if self.on_dead_letter is not None:
            await self.on_dead_letter()

    async def _stored(self, write: Awaitable[object]) -> None:
        """Run a write; a failure (disk full, locked) is logged and counted, never raised.

        A new reason is an ERROR, its repeats DEBUG; once a write succeeds after
        STORE_ERROR_HOLD_S without failures, one INFO line says the store is back. (A success
        alone proves little: a write with no rows succeeds on a full disk too.)
        """
        now = self._now()
        try:
            await write
        except StoreError as err:
            self._failed(err, "the room is still controlled")
            return
        failed_at = self._failed_at
        if failed_at is not None and now - failed_at >= STORE_ERROR_HOLD_S:
            self.error = self._failed_at = None
            _LOGGER.info(
                "history store: writing again (%d failed write(s) since start)", self.failures
            )

    def _failed(self, err: StoreError, consequence: str) -> None:
        self.failures += 1
        self._on_failure()
        level = logging.DEBUG if str(err) == self.error else logging.ERROR
        self.error = str(err)
        self._failed_at = self._now()
        _LOGGER.log(level, "history store: %s; %s", err, consequence)
