"""Composition root: build the service from config, run its tasks in one TaskGroup, stop in order.

The only module that imports both the core and the adapters.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from integration.adapters.ha_discovery import (
    BIRTH_DELAY_S,
    DISCOVERY_SETTLE_S,
    Command,
    HomeAssistantLink,
    LabelCommand,
    NoteDraftCommand,
    SaveNoteCommand,
)
from integration.adapters.ha_rest import HomeAssistantActions, home_assistant_actions
from integration.adapters.ha_states import HomeAssistantStates, home_assistant_states
from integration.adapters.history import History
from integration.adapters.livesignal import LiveSensor, LiveSignal, SensorFigures
from integration.adapters.metrics import ServiceMetrics
from integration.adapters.mqtt import MqttConnection, MqttSettings, mqtt_settings
from integration.adapters.outbound import Outbound
from integration.adapters.rawnights import RawNights
from integration.adapters.rulefiles import LiveRules
from integration.adapters.web import Health, serve_dashboard
from integration.clock import Clock, SystemClock
from integration.config import ServiceConfig
from integration.core.events import MovementEvent, WhyValue
from integration.core.readings import TICK_S, SensorKind, Tick
from integration.core.summary import NightSummary
from integration.messages import InboundMessage
from integration.pipeline import Pipeline, PipelineOutputs
from integration.ticker import Ticker
from integration.watchers import Watchers

_LOGGER = logging.getLogger(__name__)

# Events kept in memory for the dashboard's live view and the demo's scoring (a night or two).
RECENT_EVENTS = 5000
# Ingest hands the loop over this often: taking from a non-empty queue never yields.
INGEST_YIELD_EVERY = 64
# /healthz shows a topic as flooding until it has gone this long without a drop.
FLOOD_QUIET_S = 60.0


class Service:
    """The live service: MQTT in, pipeline, decisions out, rules reloaded when edited."""

    def __init__(
        self,
        config: ServiceConfig,
        rules_dir: Path | None,
        *,
        clock: Clock | None = None,
        mqtt: MqttSettings | None = None,
        home_assistant: HomeAssistantActions | None = None,
        tick_every_s: float = TICK_S,
        tick_lag_s: float = 0.0,
        discovery_settle_s: float = DISCOVERY_SETTLE_S,
        birth_delay_s: float = BIRTH_DELAY_S,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.rules = LiveRules(rules_dir)
        self.pipeline = Pipeline(config, self.rules.load())
        self.ha = HomeAssistantLink(
            config, settle_s=discovery_settle_s, birth_delay_s=birth_delay_s
        )
        topics = [*self.pipeline.subscriptions, *self.ha.subscriptions]
        self.mqtt = MqttConnection(
            mqtt or mqtt_settings(config), [(topic, 1) for topic in topics], self.clock.now
        )
        self.home_assistant = home_assistant or home_assistant_actions(config)
        self.entities = home_assistant_states(config, self.clock.now)  # sensors that are HA's
        self.live = LiveSignal(motion_sensors(config), self._live_figures)
        self._stopping = asyncio.Event()
        self.recent_events: deque[MovementEvent] = deque(maxlen=RECENT_EVENTS)
        self.dashboard_url: str | None = None
        self.metrics = ServiceMetrics()
        self.metrics.expose_dropped(self.mqtt.dropped)
        self.history = History(
            config.store.path, self.clock.now, self.home_assistant, self.metrics.store_failure
        )
        self.outbound = Outbound(
            config,
            self.mqtt,
            self.history,
            self.metrics,
            home_assistant=self.home_assistant is not None,
        )
        self.raw_nights = RawNights.configured(
            config, self.clock.now, self.metrics.raw_night_failure
        )
        self._watchers = Watchers()
        self.ticker = Ticker(
            self.clock,
            self._watchers,
            lambda: self.mqtt.queued,
            every_s=tick_every_s,
            lag_s=tick_lag_s,
            on_lateness=self.metrics.loop_lag,
            on_clock_step=self.metrics.clock_step,
        )

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; re-checked after every handled input."""
        await self._watchers.wait_for(predicate)

    async def run(self) -> None:
        """Run until cancelled."""
        if await self.history.open():
            await self.history.resume(self.pipeline.rooms)
        served = await serve_dashboard(
            self.config,
            self.history.store,
            self.health,
            self.metrics,
            self.outbound,
            live=lambda: self.live.view(self.clock.now()),
            note_keeper=self.outbound,
        )
        dashboard, self.dashboard_url = served or (None, None)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.mqtt.run(), name="mqtt-connection")
                group.create_task(self._ingest(), name="ingest")
                group.create_task(self.ticker.run(self._tick), name="ticker")
                resend = lambda: self.outbound.resend(self._statuses(), self.rules.problems)  # noqa: E731
                group.create_task(self.ha.run(self.mqtt, self._stopping, resend), name="announce")
                group.create_task(
                    self.history.keep(
                        self._night_states, self.config.store.retention_days, self.clock.sleep_until
                    ),
                    name="history",
                )
                if self.home_assistant is not None:
                    group.create_task(self.home_assistant.run(), name="home-assistant-actions")
                if self.raw_nights is not None:
                    group.create_task(
                        self.raw_nights.keep(self.clock.sleep_until), name="raw-nights"
                    )
                if self.entities is not None:
                    group.create_task(self.entities.run(), name="home-assistant-entities")
                    group.create_task(self._ingest_entities(self.entities), name="ingest-ha")
                group.create_task(self._watch_rules(), name="rules-watcher")
                try:
                    await asyncio.Future()  # until cancelled, or a task fails
                finally:
                    # Tasks also end on this event: a cancellation can be absorbed (by the
                    # file watcher's own cancel scope; by asyncio.wait_for in Python 3.11
                    # when the awaited future completes at the same moment).
                    self._stopping.set()
        finally:
            if dashboard is not None:
                await dashboard.cleanup()
            await self.history.record(night_states=self._night_states())
            await self.history.close()
            if self.raw_nights is not None:
                await self.raw_nights.flush()  # the last minute of the bed signal

    def health(self) -> Health:
        """What /healthz says: broker, HA, store, dead letters, last message per sensor, overload.

        A topic shows as flooding until FLOOD_QUIET_S pass without a drop; totals are in `dropped`.
        """
        ha = self.home_assistant
        now = self.clock.now()
        return Health(
            broker=str(self.mqtt.state),
            home_assistant="disabled" if ha is None else str(ha.state),
            home_assistant_detail="" if ha is None else ha.detail,
            dead_letters=self.history.dead_letters,
            dead_letters_kept=self.history.dead_letters_kept,
            last_seen=dict(self.pipeline.stats.last_seen),
            store=self.history.status(),
            store_failures=self.history.failures,
            flooding=self.mqtt.flooding_since(now - FLOOD_QUIET_S),
            dropped=self.mqtt.dropped(),
            comfort_learned={
                room_id: room.learned_status() for room_id, room in self.pipeline.rooms.items()
            },
            home_assistant_entities="disabled" if self.entities is None else self.entities.state,
            home_assistant_entities_detail="" if self.entities is None else self.entities.detail,
        )

    def _live_figures(self) -> dict[str, SensorFigures]:
        """Each motion sensor's counts since start and resting level, for the live page."""
        stats = self.pipeline.stats
        figures = {}
        for sensor in self.live.sensors:
            channel = self.pipeline.channel_figures(sensor.room, sensor.sensor_id)
            resting = channel.resting_rms_g if channel is not None else 0.0
            figures[sensor.key] = SensorFigures(
                messages=stats.read_by_sensor[sensor.key],
                rejected=stats.rejected_by_sensor[sensor.key],
                dropped={
                    # a wildcard sensor's topics share its filter's bucket, counted under it
                    "flood": self.mqtt.flooding.get(sensor.topic, 0),
                    "duplicate": channel.duplicate_batches if channel is not None else 0,
                    "late": channel.late_batches if channel is not None else 0,
                },
                resting_mg=resting * 1000.0 if resting > 0.0 else None,
                flat=channel is not None and channel.flat,
            )
        return figures

    def _night_states(self) -> dict[str, dict[str, Any]]:
        return {room_id: room.snapshot() for room_id, room in self.pipeline.rooms.items()}

    async def _ingest(self) -> None:
        handled = 0
        async for message in self.mqtt.messages():
            handled += 1
            if handled % INGEST_YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a full queue never blocks, so let the ticker in
            if self.ha.is_ours(message.topic):
                command = self.ha.take(message)
                if command is not None:
                    await self._command(command)
            else:
                await self._reading(message)
            self._watchers.notify()

    async def _ingest_entities(self, source: HomeAssistantStates) -> None:
        """HA entities' states: the same path as a sensor's MQTT message."""
        async for message in source.messages():
            await self._reading(message)
            self._watchers.notify()

    async def _reading(self, message: InboundMessage) -> None:
        out = self.pipeline.handle(message)
        self.live.take(message.t, out.readings)
        if self.raw_nights is not None:
            await self.raw_nights.take(self.pipeline.bed_rooms(message.topic), message)
        self.metrics.messages()
        self.metrics.rejected_total(self.pipeline.stats.rejected)
        await self._dispatch(out)

    async def _command(self, command: Command) -> None:
        """A control in HA was used: tonight's band, the pause switch, summary now, a label."""
        if isinstance(command, LabelCommand):
            await self.outbound.label(command.room, command.label, "home_assistant")
            return
        if isinstance(command, NoteDraftCommand):
            await self.outbound.note_draft(command.room, command.text)
            return
        if isinstance(command, SaveNoteCommand):
            await self.outbound.save_note(command.room, "ha")
            return
        out = PipelineOutputs()
        command.apply(self.pipeline.rooms[command.room], self.clock.now(), out)
        _LOGGER.info("room %s: %s from Home Assistant", command.room, command)
        await self._dispatch(self.pipeline.translated(out))
        await self._publish_status()

    async def _tick(self, now: float) -> None:
        await self._dispatch(self.pipeline.handle(Tick(now)))
        await self._publish_status()

    async def _watch_rules(self) -> None:
        async for _edit in self.rules.edits(self._stopping):
            await self.reload_rules()
            self._watchers.notify()

    async def reload_rules(self) -> bool:
        """Load the rule files again; a bad set leaves the last good rules in force."""
        rules = self.rules.reload()
        if rules is not None:
            await self._dispatch(self.pipeline.replace_rules(rules, self.clock.now()))
        await self.outbound.rules_problem(self.rules.problems)
        return rules is not None

    def _statuses(self) -> dict[str, dict[str, WhyValue]]:
        now = self.clock.now()
        return {room_id: room.status(now) for room_id, room in self.pipeline.rooms.items()}

    async def _publish_status(self) -> None:
        await self.outbound.status(self._statuses())

    async def close_nights(self) -> list[NightSummary]:
        """Summarise every open night now (the demo's night is over; a recording ended)."""
        out = self.pipeline.end_of_input(self.clock.now())
        await self._dispatch(out)
        await self._publish_status()
        return out.summaries

    async def _dispatch(self, out: PipelineOutputs) -> None:
        """What the core decided, to history first, then HA and the actuators (`Outbound`)."""
        self.recent_events.extend(out.events)
        await self.outbound.send(
            events=out.events,
            notices=out.notices,
            actions=out.actions,
            summaries=out.summaries,
            so_far=out.so_far,
            minutes=out.minutes,
            night_changed=bool(out.nights),
            night_states=self._night_states,
        )


def motion_sensors(config: ServiceConfig) -> list[LiveSensor]:
    """The configured accelerometers, as the live page lists them."""
    names = {room.id: room.name for room in config.rooms}
    return [
        LiveSensor(spec.room, names[spec.room], spec.sensor_id, spec.topic)
        for spec in config.sensor_specs()
        if spec.kind is SensorKind.MOTION
    ]
