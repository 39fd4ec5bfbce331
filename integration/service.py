"""Composition root: build the service from config, run its tasks in one TaskGroup, stop in order.

The only module that imports both the core and the adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchfiles import awatch

from integration import __version__
from integration.adapters.ha_discovery import (
    BandCommand,
    Command,
    HomeAssistantLink,
    PauseCommand,
    SummaryNowCommand,
)
from integration.adapters.ha_rest import HomeAssistantActions, home_assistant_actions
from integration.adapters.history import STORE_ERROR_HOLD_S, History
from integration.adapters.metrics import ServiceMetrics
from integration.adapters.mqtt import MqttConnection, MqttSettings, mqtt_settings
from integration.adapters.outbound import Outbound
from integration.adapters.rulefiles import load_rules
from integration.adapters.store import Store
from integration.adapters.web import Health, serve_dashboard
from integration.clock import Clock, SystemClock
from integration.config import ServiceConfig
from integration.core.events import MovementEvent, WhyValue
from integration.core.readings import Tick
from integration.core.summary import HISTORY_NIGHTS, NightSummary
from integration.errors import ConfigError, StoreError
from integration.pipeline import Pipeline, PipelineOutputs
from integration.watchers import Watchers

__all__ = [
    "FLOOD_QUIET_S",
    "STORE_ERROR_HOLD_S",
    "TICK_DRAIN_WAIT_S",
    "Service",
    "home_assistant_actions",
    "mqtt_settings",
]

_LOGGER = logging.getLogger(__name__)

TICK_S = 1.0
# Retained discovery configs arrive right after subscribing; this is ample on any broker.
DISCOVERY_SETTLE_S = 1.0
# After HA's birth message, wait before re-announcing: re-sending at once proved unreliable
# (Zigbee2MQTT waits 30 s); HA subscribes to discovery topics a moment after it says online.
BIRTH_DELAY_S = 5.0
SUPPORT_URL = "https://github.com/smart-bedroom/smart-bedroom"
# Events kept in memory for the dashboard's live view and the demo's scoring (a night or two).
RECENT_EVENTS = 5000
# An open night is saved this often: a crash loses at most this much of it.
NIGHT_SAVE_S = 60.0
# A tick waits at most this long (real seconds) for queued messages to be handled first.
TICK_DRAIN_WAIT_S = 0.25
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
        self.rules_dir = rules_dir
        self.clock: Clock = clock or SystemClock()
        # On a sped-up clock, messages in flight are many simulated seconds old: ticks trail the
        # clock by this much so a detector never takes samples still on their way for silence.
        self.tick_lag_s = tick_lag_s
        self.tick_every_s = tick_every_s  # a second; more on a sped-up clock, to spare the CPU
        self.pipeline = Pipeline(config, load_rules(rules_dir))
        self.ha = HomeAssistantLink(
            config,
            version=__version__,
            support_url=SUPPORT_URL,
            settle_s=discovery_settle_s,
            birth_delay_s=birth_delay_s,
        )
        topics = [*self.pipeline.subscriptions, *self.ha.subscriptions]
        self.mqtt = MqttConnection(
            mqtt or mqtt_settings(config), [(topic, 1) for topic in topics], self.clock.now
        )
        self.home_assistant = home_assistant or home_assistant_actions(config)
        self.rules_problems: list[str] = []  # of the last reload; empty when the rules are good
        self.rules_reload_failures = 0
        self._stopping = asyncio.Event()
        self.clock_steps = 0
        self.tick_late_max_s = 0.0  # the latest a tick has run, for tests and /metrics
        self.recent_events: deque[MovementEvent] = deque(maxlen=RECENT_EVENTS)
        self.dashboard_url: str | None = None
        self.metrics = ServiceMetrics()
        self.metrics.expose(
            "smart_bedroom_dropped_messages",
            "Messages dropped before parsing: a flooding topic, an oversize payload, a full queue",
            "reason",
            self.mqtt.dropped,
        )
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
        self._watchers = Watchers()

    @property
    def store(self) -> Store | None:
        """The history store, None while it cannot be opened."""
        return self.history.store

    @property
    def store_failures(self) -> int:
        """History writes that failed since start."""
        return self.history.failures

    @property
    def undelivered(self) -> int:
        """HA actions kept in the outbox, not yet delivered."""
        return self.history.undelivered

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; re-checked after every handled input."""
        await self._watchers.wait_for(predicate)

    async def run(self) -> None:
        """Run until cancelled."""
        if await self.history.open():
            await self._resume_nights()
        served = await serve_dashboard(self.config, self.store, self.health, self.metrics)
        dashboard = None
        if served is not None:
            dashboard, self.dashboard_url = served
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.mqtt.run(), name="mqtt-connection")
                group.create_task(self._ingest(), name="ingest")
                group.create_task(self._tick(), name="ticker")
                group.create_task(
                    self.ha.run(self.mqtt, self._stopping, self._states), name="announce"
                )
                group.create_task(self._keep_history(), name="history")
                if self.home_assistant is not None:
                    group.create_task(self.home_assistant.run(), name="home-assistant-actions")
                if self.rules_dir is not None:
                    group.create_task(self._watch_rules(self.rules_dir), name="rules-watcher")
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
            await self._save_nights()
            await self.history.close()

    def health(self) -> Health:
        """What /healthz says: broker and HA connectivity, store, last message per sensor, overload.

        The store shows its error until STORE_ERROR_HOLD_S pass without a failed write, and a
        topic shows as flooding until FLOOD_QUIET_S pass without a drop; the totals stay in
        `store_failures` and `dropped`.
        """
        ha = self.home_assistant
        now = self.clock.now()
        return Health(
            broker=str(self.mqtt.state),
            home_assistant="disabled" if ha is None else str(ha.state),
            last_seen=dict(self.pipeline.stats.last_seen),
            store=self.history.status(),
            store_failures=self.history.failures,
            flooding=self.mqtt.flooding_since(now - FLOOD_QUIET_S),
            dropped=self.mqtt.dropped(),
        )

    async def _resume_nights(self) -> None:
        """Each room takes back its last nights and the night a restart interrupted."""
        store = self.history.store
        if store is None:
            return
        try:
            for room_id, room in self.pipeline.rooms.items():
                room.remember(await store.last_summaries(room_id, HISTORY_NIGHTS))
                state = await store.load_night_state(room_id)
                if state is not None:
                    room.restore(state)
                    _LOGGER.info("room %s: resumed the night from the history store", room_id)
        except StoreError as err:
            _LOGGER.error("history store: nights not resumed: %s", err)

    async def _keep_history(self) -> None:
        """Save each open night every minute (a restart resumes it); prune old history daily."""
        next_prune = self.clock.now()
        while True:
            await self.clock.sleep_until(self.clock.now() + NIGHT_SAVE_S)
            await self._save_nights()
            if self.clock.now() >= next_prune:
                next_prune = self.clock.now() + 86_400
                await self.history.prune(self.config.store.retention_days)

    async def _save_nights(self) -> None:
        await self.history.record(night_states=self._night_states())

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
                out = self.pipeline.handle(message)
                self.metrics.messages()
                self.metrics.rejected_total(self.pipeline.stats.rejected)
                await self._dispatch(out)
            self._watchers.notify()

    async def _command(self, command: Command) -> None:
        """A control in HA was used: tonight's band, the pause switch, or summary now."""
        room = self.pipeline.rooms[command.room]
        now = self.clock.now()
        out = PipelineOutputs()
        match command:
            case BandCommand():
                room.set_band_edge(command.edge, command.value_c, now, out)
            case PauseCommand():
                room.pause(command.paused, now, out)
            case SummaryNowCommand():
                room.summary_now(now, out)
        _LOGGER.info("room %s: %s from Home Assistant", command.room, command)
        await self._dispatch(self.pipeline.translated(out))
        await self._publish_status()

    async def _tick(self) -> None:
        next_tick = self.clock.now()
        while True:
            next_tick += self.tick_every_s
            # Never wait longer than a tick: the clock may have been set back a moment ago.
            await self.clock.sleep_until(min(next_tick, self.clock.now() + self.tick_every_s))
            now = self.clock.now()
            steps = self.clock.take_steps()
            if steps:
                self._clock_stepped(sum(steps))
                next_tick = now  # neither a burst of missed ticks nor an hour's wait for one
            # Let messages already received go first (on a sped-up clock they are many seconds
            # of samples), but never wait long: under sustained load comfort and staleness
            # ticks must still run. Detectors judge by the samples' own time, so a tick that
            # overtakes queued samples changes nothing they find.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_DRAIN_WAIT_S):
                    await self._watchers.wait_for(lambda: self.mqtt.queued == 0)
            late_s = self.clock.now() - next_tick if not steps else 0.0
            self.metrics.loop_lag(late_s)
            self.tick_late_max_s = max(self.tick_late_max_s, late_s)
            await self._dispatch(self.pipeline.handle(Tick(self.clock.now() - self.tick_lag_s)))
            await self._publish_status()
            self._watchers.notify()

    def _clock_stepped(self, by_s: float) -> None:
        """Say so once per step: times around it in history and events are off by that much."""
        self.clock_steps += 1
        self.metrics.clock_step()
        direction = "forward" if by_s > 0 else "back"
        _LOGGER.warning(
            "the wall clock was set %s by %.0f s (NTP on a board without a real-time clock, "
            "or by hand); ticking on from the new time, the rooms stay controlled",
            direction,
            abs(by_s),
        )

    async def _watch_rules(self, directory: Path) -> None:
        changes = awatch(directory, stop_event=self._stopping)
        async with contextlib.aclosing(changes):  # its thread ends with the task, not at GC
            async for _changes in changes:
                await self.reload_rules()
                self._watchers.notify()

    async def reload_rules(self) -> bool:
        """Load the rule files again; a bad set leaves the last good rules in force."""
        try:
            rules = load_rules(self.rules_dir)
        except ConfigError as err:
            self.rules_reload_failures += 1
            self.rules_problems = [str(problem) for problem in err.problems]
            for problem in self.rules_problems:
                _LOGGER.error("rules not reloaded, keeping the last good ones: %s", problem)
        else:
            self.rules_problems = []
            _LOGGER.info("rules reloaded from %s", self.rules_dir)
            await self._dispatch(self.pipeline.replace_rules(rules, self.clock.now()))
        await self.outbound.rules_problem(self.rules_problems)
        return not self.rules_problems

    def _statuses(self) -> dict[str, dict[str, WhyValue]]:
        now = self.clock.now()
        return {room_id: room.status(now) for room_id, room in self.pipeline.rooms.items()}

    async def _states(self) -> None:
        await self.outbound.resend(self._statuses(), self.rules_problems)

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
            minutes=out.minutes,
            night_changed=bool(out.nights),
            night_states=self._night_states,
        )
