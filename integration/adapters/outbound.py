"""Everything the core decided, out to its sinks, in order: history, HA over MQTT, actuators.

History first: a crash (even SIGKILL) between the two leaves an event in tonight's count and
history that HA may not have seen, never one HA saw that history lost. The night's state goes
in the same transaction as what changed it, so history and tonight's count never disagree, and
a restart loses at most a minute of temperatures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from integration.adapters.actions import night_statistics
from integration.adapters.ha_discovery import (
    Publish,
    delivery_problem_messages,
    event_message,
    label_message,
    learned_message,
    movement_message,
    note_draft_messages,
    notice_message,
    rules_problem_messages,
    so_far_message,
    state_message,
    summary_messages,
)
from integration.adapters.history import History
from integration.adapters.metrics import ServiceMetrics
from integration.adapters.mqtt import MqttConnection
from integration.config import ServiceConfig
from integration.core.events import Action, ActionKind, MovementEvent, MovementKind, Notice
from integration.core.labels import EventLabel, Label
from integration.core.localtime import iso
from integration.core.notes import Note, NoteRefused
from integration.core.summary import MinuteRecord, NightSummary
from integration.errors import LabelRefusedError

__all__ = ["Outbound"]

_LOGGER = logging.getLogger(__name__)

Status = Mapping[str, Any]


class Outbound:
    """Sends decisions to history, to HA over MQTT and to the actuators; re-sends HA's states."""

    def __init__(
        self,
        config: ServiceConfig,
        mqtt: MqttConnection,
        history: History,
        metrics: ServiceMetrics,
        *,
        home_assistant: bool,
    ) -> None:
        self.config = config
        self.mqtt = mqtt
        self.history = history
        self.metrics = metrics
        self.home_assistant = home_assistant  # a worker exists to send HA actions
        self._summaries: dict[str, Publish] = {}  # room → its last summary, re-sent on connect
        self._published_status: dict[str, Status] = {}
        self._latest_spasm: dict[str, MovementEvent] = {}  # room → what HA's buttons label
        self.labels_refused = 0
        self.notes_refused = 0
        self._note_drafts: dict[str, str] = {}  # room → what HA's "Note" text holds
        history.on_dead_letter = self.delivery_problem  # shown in HA as soon as it is kept

    async def send(
        self,
        *,
        events: Sequence[MovementEvent],
        notices: Sequence[Notice],
        actions: Sequence[Action],
        summaries: Sequence[NightSummary],
        so_far: Sequence[NightSummary] = (),
        minutes: Sequence[MinuteRecord] = (),
        night_changed: bool,
        night_states: Callable[[], Mapping[str, Mapping[str, Any]]],
    ) -> None:
        """Record, then publish, then act (see the module docstring for why in that order)."""
        for event in events:
            self.metrics.event(str(event.kind))
        for action in actions:
            self.metrics.action(str(action.kind))
        if events or actions or summaries or night_changed:
            await self.history.record(
                events=events,
                actions=actions,
                minutes=minutes,
                summaries=summaries,
                night_states=night_states(),
            )
        config = self.config
        for event in events:
            await self._publish([event_message(config, event), movement_message(config, event)])
        for event in events:
            if event.spasm_like:
                self._latest_spasm[event.room] = event
                await self._publish([label_message(config, event.room, event, None)])
        await self._publish(notice_message(config, notice) for notice in notices)
        for action in actions:
            await self._act(action)
        for summary in await self.history.labelled(summaries):  # labels given during the night
            document, ready = summary_messages(config, summary)
            self._summaries[summary.room] = document
            await self._publish((document, ready))
            await self._statistics(summary)
        for summary in await self.history.labelled(so_far):
            await self._publish([so_far_message(config, summary, summary.wake_time)])

    async def label(self, room: str, label: Label, source: str) -> EventLabel | None:
        """The person's word from HA's buttons: kept, then shown; a refusal is said, not raised."""
        try:
            return await self._keep(room, label, source)
        except LabelRefusedError as err:
            refusal = Notice(
                room, "labels", self.history.now(), "label_refused", f"Label not kept: {err}"
            )
            await self._publish([notice_message(self.config, refusal)])
            return None

    async def label_event(self, event_id: int, label: Label, source: str) -> EventLabel:
        """The dashboard's label on one event; raises LabelRefusedError with the reason."""
        return await self._keep(event_id, label, source)

    async def report_missed(self, room: str, source: str) -> EventLabel:
        """A spasm the sensor missed, reported now; raises LabelRefusedError with the reason."""
        return await self._keep(room, Label.MISSED, source)

    async def _keep(self, target: str | int, label: Label, source: str) -> EventLabel:
        try:
            kept = await self.history.label(
                target, label, source, retention_days=self.config.store.retention_days
            )
        except LabelRefusedError as err:
            self.labels_refused += 1
            _LOGGER.warning("label %s on %s from %s refused: %s", label, target, source, err)
            raise
        _LOGGER.info("room %s: %s labelled %s from %s", kept.room, kept.kind, label, source)
        await self.labelled(kept)
        return kept

    async def labelled(self, kept: EventLabel) -> None:
        """Show a kept label in HA: the latest event's label, and last night's counts."""
        latest = self._latest_spasm.get(kept.room)
        if kept.kind is not None and (latest is None or latest.start == kept.start):
            event = MovementEvent(
                kept.room, MovementKind(kept.kind), kept.start, kept.end, 0.0, 0.0, True
            )
            await self._publish([label_message(self.config, kept.room, event, kept.label)])
        summary = await self.history.latest_summary(kept.room)
        if summary is not None and summary.bed_time <= kept.start < summary.wake_time:
            document, _ready = summary_messages(self.config, summary)
            self._summaries[summary.room] = document
            await self._publish([document])
            await self._statistics(summary)

    async def note_draft(self, room: str, text: str) -> None:
        """HA's "Note" text changed: keep the draft for "Save note", and show it back."""
        if self._note_drafts.get(room) != text:
            self._note_drafts[room] = text
            await self._publish(note_draft_messages(self.config, room, text))

    async def save_note(self, room: str, source: str) -> Note | None:
        """HA's "Save note": the draft kept as a note now and emptied; a refusal is said."""
        try:
            kept = await self.keep_note(room, self._note_drafts.get(room, ""), None, source)
        except NoteRefused as refused:
            notice = Notice(
                room, "notes", self.history.now(), "note_refused", f"Note not kept: {refused}"
            )
            await self._publish([notice_message(self.config, notice)])
            return None
        self._note_drafts[room] = ""
        await self._publish(note_draft_messages(self.config, room, ""))
        return kept

    async def keep_note(self, room: str, text: str, at: float | None, source: str) -> Note:
        """A note on `room` at `at` (None: now); raises NoteRefused with the sentence why."""
        try:
            kept = await self.history.keep_note(room, text, at, source)
        except NoteRefused as refused:
            self.notes_refused += 1
            _LOGGER.warning("room %s: note from %s refused: %s", room, source, refused)
            raise
        _LOGGER.info("room %s: note %d kept from %s", room, kept.id or 0, source)
        return kept

    async def status(self, statuses: Mapping[str, Status], *, force: bool = False) -> None:
        """Each room's live state, retained, whenever it changed."""
        for room_id, status in statuses.items():
            before = self._published_status.get(room_id)
            if force or status != before:
                topic, payload, retain = state_message(self.config, room_id, status)
                if await self.mqtt.publish(topic, payload, qos=1, retain=retain):
                    self._published_status[room_id] = status
                learned = learned_message(self.config, room_id, status)
                if learned is not None and (
                    force or before is None or before.get("learned_at") != status["learned_at"]
                ):
                    await self._publish([learned])

    async def rules_problem(self, problems: list[str]) -> None:
        """The rules problem entity: ON with the located errors while the last reload failed."""
        await self._publish(rules_problem_messages(self.config, problems))

    async def delivery_problem(self) -> None:
        """The delivery problem entity: ON with the latest dead letters while any since start."""
        history = self.history
        latest = [
            {
                "room": dead.room,
                "target": dead.target,
                "at": iso(dead.at, self.config.zone),
                "reason": dead.reason,
            }
            for dead in history.latest_dead
        ]
        await self._publish(
            delivery_problem_messages(
                self.config, history.dead_letters, history.dead_letters_kept, latest
            )
        )

    async def resend(self, statuses: Mapping[str, Status], problems: list[str]) -> None:
        """What HA reads, sent again when it (re)subscribes: problems, states, summaries."""
        await self.rules_problem(problems)
        await self.delivery_problem()
        await self.status(statuses, force=True)
        await self._publish(self._summaries.values())

    async def _publish(self, messages: Iterable[Publish]) -> None:
        """Publish what the HA contract encoded, QoS 1 (held while the broker is away)."""
        for topic, payload, retain in messages:
            await self.mqtt.publish(topic, payload, qos=1, retain=retain)

    async def _statistics(self, summary: NightSummary) -> None:
        """A closed night's figures into HA's long-term statistics, through the outbox."""
        if self.home_assistant:
            for action in night_statistics(summary):
                await self.history.send(action)

    async def _act(self, action: Action) -> None:
        _LOGGER.info(
            "room %s: %s %s (%s)", action.room, action.kind, action.target, dict(action.why)
        )
        if action.kind is ActionKind.MQTT_PUBLISH:
            payload = action.data.get("payload")
            retain = bool(action.data.get("retain", False))
            await self.mqtt.publish(
                action.target, "" if payload is None else str(payload), qos=1, retain=retain
            )
        elif action.kind in {ActionKind.HA_SERVICE, ActionKind.NOTIFY}:
            if not self.home_assistant:
                # Disabled on purpose: the action is still logged above and kept in history.
                level = logging.WARNING if self.config.homeassistant.enabled else logging.DEBUG
                _LOGGER.log(
                    level,
                    "room %s: %s not sent: Home Assistant is not configured",
                    action.room,
                    action.target,
                )
            else:
                await self.history.send(action)
