"""Composition root: build the service from config, run its tasks in one TaskGroup, stop in order.

The only module that imports both the core and the adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from paho.mqtt.client import topic_matches_sub
from watchfiles import awatch

from integration import __version__
from integration.adapters.ha_discovery import (
    BandCommand,
    PauseCommand,
    Publish,
    SummaryNowCommand,
    birth_topic,
    clear_messages,
    command_topics,
    discovery_messages,
    event_message,
    messages_to_publish,
    notice_message,
    our_config_filters,
    parse_command,
    rules_problem_messages,
    state_message,
    summary_messages,
)
from integration.adapters.ha_rest import HomeAssistantActions
from integration.adapters.metrics import ServiceMetrics
from integration.adapters.mqtt import ConnectionState, MqttConnection, MqttSettings
from integration.adapters.recording import RecordingWriter
from integration.adapters.rulefiles import load_rules
from integration.adapters.store import Store
from integration.adapters.web import Health, make_app, start_dashboard
from integration.clock import Clock, SystemClock
from integration.config import ServiceConfig, resolve_secret
from integration.core.events import Action, ActionKind, MovementEvent, WhyValue
from integration.core.readings import InboundMessage, Tick
from integration.core.summary import HISTORY_NIGHTS, NightSummary
from integration.errors import ConfigError, StoreError
from integration.pipeline import Outputs, Pipeline
from integration.watchers import Watchers

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
# /healthz shows the store failing this long after its last failed write: every room is saved
# each NIGHT_SAVE_S, so a store that still cannot write fails again well within it.
STORE_ERROR_HOLD_S = 2 * NIGHT_SAVE_S
# A tick waits at most this long (real seconds) for queued messages to be handled first.
TICK_DRAIN_WAIT_S = 0.25
# Ingest hands the loop over this often: taking from a non-empty queue never yields.
INGEST_YIELD_EVERY = 64
# /healthz shows a topic as flooding until it has gone this long without a drop.
FLOOD_QUIET_S = 60.0


def mqtt_settings(config: ServiceConfig) -> MqttSettings:
    """The MQTT adapter's settings from validated config, secrets resolved."""
    mqtt = config.mqtt
    return MqttSettings(
        host=mqtt.host,
        port=mqtt.port,
        client_id=mqtt.client_id,
        username=mqtt.username,
        password=resolve_secret(mqtt.password),
        tls=mqtt.tls.enabled,
        ca_file=str(mqtt.tls.ca_file) if mqtt.tls.ca_file else None,
        cert_file=str(mqtt.tls.cert_file) if mqtt.tls.cert_file else None,
        key_file=str(mqtt.tls.key_file) if mqtt.tls.key_file else None,
        tls_insecure=mqtt.tls.insecure,
        keepalive_s=mqtt.keepalive_s,
        availability_topic=config.availability_topic,
    )


def home_assistant_actions(config: ServiceConfig) -> HomeAssistantActions | None:
    """The HA REST worker, or None when HA is disabled or no token is available."""
    ha = config.homeassistant
    if not ha.enabled:
        return None
    token = resolve_secret(ha.token)
    if not token:
        _LOGGER.warning("Home Assistant: no token found (%s); HA actions are off", ha.token)
        return None
    return HomeAssistantActions(ha.url, token)


def action_to_json(action: Action) -> dict[str, Any]:
    """An action as the outbox keeps it."""
    return {
        "room": action.room,
        "t": action.t,
        "kind": str(action.kind),
        "target": action.target,
        "data": dict(action.data),
        "why": dict(action.why),
    }


def action_from_json(payload: Mapping[str, Any]) -> Action:
    """The action an outbox row holds."""
    return Action(
        room=payload["room"],
        t=payload["t"],
        kind=ActionKind(payload["kind"]),
        target=payload["target"],
        data=payload["data"],
        why=payload["why"],
    )


async def publish_messages(
    settings: MqttSettings,
    messages: Iterable[tuple[float, str, bytes]],
    clock: Clock,
    progress: Callable[[float], None] | None = None,
) -> int:
    """Publish `(t, topic, payload)` as a device would, each when `clock` reaches its `t`.

    With a ScaledClock a whole simulated night goes out in minutes; the service on the other
    side must run on the same scaled clock. Returns how many messages the broker accepted.
    """
    connection = MqttConnection(settings, [], clock.now)
    sent = 0
    task = asyncio.create_task(connection.run(), name="publisher-connection")
    try:
        await connection.wait_for(lambda: connection.state is ConnectionState.CONNECTED)
        for t, topic, payload in messages:
            await clock.sleep_until(t)
            sent += await connection.publish(topic, payload, qos=1)
            if progress is not None:
                progress(t)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return sent


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
        self._birth_topic = birth_topic(config)
        self._command_topics = set(command_topics(config))
        # Our own retained discovery configs, read back at start: unchanged ones are not
        # re-sent and ones no longer in the config are cleared (no ghost entities in HA).
        self._our_configs = our_config_filters(config)
        self._retained_configs: dict[str, bytes] = {}
        topics = [
            *self.pipeline.subscriptions,
            *sorted(self._command_topics),
            self._birth_topic,
            *self._our_configs,
        ]
        self.mqtt = MqttConnection(
            mqtt or mqtt_settings(config), [(topic, 1) for topic in topics], self.clock.now
        )
        self.home_assistant = home_assistant or home_assistant_actions(config)
        self.rules_problems: list[str] = []  # of the last reload; empty when the rules are good
        self.rules_reload_failures = 0
        self.store: Store | None = None
        self.store_failures = 0
        self.store_error: str | None = None  # the last failed write's reason
        self._store_failed_at: float | None = None  # service time of the last failed write
        self._published_status: dict[str, dict[str, WhyValue]] = {}
        self._stopping = asyncio.Event()
        self._ha_born = asyncio.Event()
        self._summaries: dict[str, Publish] = {}  # room → its last summary, re-sent on connect
        self.commands_refused = 0
        self.clock_steps = 0
        self.tick_late_max_s = 0.0  # the latest a tick has run, for tests and /metrics
        self.birth_delay_s = birth_delay_s
        self.discovery_settle_s = discovery_settle_s
        self.recent_events: deque[MovementEvent] = deque(maxlen=RECENT_EVENTS)
        self.dashboard_url: str | None = None
        self.metrics = ServiceMetrics()
        self.metrics.expose(
            "smart_bedroom_dropped_messages",
            "Messages dropped before parsing: a flooding topic, an oversize payload, a full queue",
            "reason",
            self._dropped,
        )
        self._rejected_seen: dict[str, int] = {}
        # HA actions kept in the store's outbox until HA has them: id(action) → (action, row id).
        self._outbox: dict[int, tuple[Action, int]] = {}
        self._background: set[asyncio.Task[None]] = set()
        if self.home_assistant is not None:
            self.home_assistant.on_done = self._delivered
        self._watchers = Watchers()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; re-checked after every handled input."""
        await self._watchers.wait_for(predicate)

    async def run(self) -> None:
        """Run until cancelled."""
        await self._open_store()
        dashboard = await self._start_dashboard()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.mqtt.run(), name="mqtt-connection")
                group.create_task(self._ingest(), name="ingest")
                group.create_task(self._tick(), name="ticker")
                group.create_task(self._announce(), name="announce")
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
            if self.store is not None:
                await self._save_nights()
                with contextlib.suppress(StoreError):
                    await self.store.close()

    async def _start_dashboard(self) -> web.AppRunner | None:
        """The dashboard, JSON API, /healthz and /metrics; the service runs on without them."""
        settings = self.config.dashboard
        if not settings.enabled:
            return None
        token = resolve_secret(settings.token) if settings.token is not None else None
        if settings.token is not None and not token:
            # Named but empty (an unset variable, an empty file): never serve health data open.
            _LOGGER.error("dashboard not started: its token (%s) is empty", settings.token)
            return None
        app = make_app(
            store=self.store,
            zone=self.config.zone,
            health=self.health,
            metrics=self.metrics,
            token=token,
            room_names={room.id: room.name for room in self.config.rooms},
        )
        try:
            runner = await start_dashboard(app, settings.host, settings.port)
        except OSError as err:
            _LOGGER.error("dashboard not started on %s:%d: %s", settings.host, settings.port, err)
            return None
        port = runner.addresses[0][1]
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        self.dashboard_url = f"http://{host}:{port}/"
        return runner

    def health(self) -> Health:
        """What /healthz says: broker and HA connectivity, store, last message per sensor, overload.

        The store shows its error until STORE_ERROR_HOLD_S pass without a failed write, and a
        topic shows as flooding until FLOOD_QUIET_S pass without a drop; the totals stay in
        `store_failures` and `dropped`.
        """
        ha = self.home_assistant
        now = self.clock.now()
        failed_at = self._store_failed_at
        if self.store is None:
            store = "unavailable"
        elif failed_at is not None and now - failed_at < STORE_ERROR_HOLD_S:
            store = f"error: {self.store_error}"
        else:
            store = "ok"
        return Health(
            broker=str(self.mqtt.state),
            home_assistant="disabled" if ha is None else str(ha.state),
            last_seen=dict(self.pipeline.stats.last_seen),
            store=store,
            store_failures=self.store_failures,
            flooding=self.mqtt.flooding_since(now - FLOOD_QUIET_S),
            dropped=self._dropped(),
        )

    def _dropped(self) -> dict[str, int]:
        """Messages the MQTT link dropped before parsing, by reason."""
        counters = self.mqtt.counters
        return {
            "queue_full": counters.dropped_overflow,
            "flood": counters.dropped_flood,
            "oversize": counters.dropped_oversize,
        }

    async def _open_store(self) -> None:
        """Open the history and resume nights a restart interrupted; the room never waits on it."""
        try:
            self.store = await Store.open(self.config.store.path)
            for room_id, room in self.pipeline.rooms.items():
                room.remember(await self.store.last_summaries(room_id, HISTORY_NIGHTS))
                state = await self.store.load_night_state(room_id)
                if state is not None:
                    room.restore(state)
                    _LOGGER.info("room %s: resumed the night from the history store", room_id)
            if self.home_assistant is not None:
                for row, _created, _kind, payload in await self.store.pending_outbox():
                    action = action_from_json(payload)
                    self._outbox[id(action)] = (action, row)
                    self.home_assistant.submit(action)
                if self._outbox:
                    _LOGGER.info(
                        "Home Assistant: %d undelivered action(s) to send", len(self._outbox)
                    )
        except StoreError as err:
            self.store_failures += 1
            _LOGGER.error("history store unavailable, running without it: %s", err)

    async def _keep_history(self) -> None:
        """Save each open night every minute (a restart resumes it); prune old history daily."""
        next_prune = self.clock.now()
        while True:
            await self.clock.sleep_until(self.clock.now() + NIGHT_SAVE_S)
            await self._save_nights()
            if self.store is not None and self.clock.now() >= next_prune:
                next_prune = self.clock.now() + 86_400
                await self._stored(
                    self.store.prune(self.config.store.retention_days, self.clock.now())
                )

    async def _save_nights(self) -> None:
        if self.store is not None:
            await self._stored(self.store.record(night_states=self._night_states()))

    def _night_states(self) -> dict[str, dict[str, Any]]:
        return {room_id: room.snapshot() for room_id, room in self.pipeline.rooms.items()}

    async def _stored(self, write: Awaitable[object]) -> None:
        """Run a history write; a failure (disk full, locked) is logged and counted, never raised.

        A new reason is an ERROR, its repeats DEBUG; once a write succeeds after
        STORE_ERROR_HOLD_S without failures, one INFO line says the store is back. (A success
        alone proves little: a write with no rows succeeds on a full disk too.)
        """
        now = self.clock.now()
        try:
            await write
        except StoreError as err:
            self._store_failed(err, "the room is still controlled")
            return
        failed_at = self._store_failed_at
        if failed_at is not None and now - failed_at >= STORE_ERROR_HOLD_S:
            self.store_error = self._store_failed_at = None
            _LOGGER.info(
                "history store: writing again (%d failed write(s) since start)",
                self.store_failures,
            )

    def _store_failed(self, err: StoreError, consequence: str) -> None:
        """Count a failed history write; log a new reason as an ERROR, its repeats as DEBUG."""
        self.store_failures += 1
        self.metrics.store_failure()
        level = logging.DEBUG if str(err) == self.store_error else logging.ERROR
        self.store_error = str(err)
        self._store_failed_at = self.clock.now()
        _LOGGER.log(level, "history store: %s; %s", err, consequence)

    async def _ingest(self) -> None:
        handled = 0
        async for message in self.mqtt.messages():
            handled += 1
            if handled % INGEST_YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a full queue never blocks, so let the ticker in
            if message.topic in self._command_topics:
                await self._command(message)
            elif message.topic == self._birth_topic:
                if message.payload.strip() == b"online":
                    self._ha_born.set()
            elif message.topic.endswith("/config") and any(
                topic_matches_sub(f, message.topic) for f in self._our_configs
            ):
                if message.payload:
                    self._retained_configs[message.topic] = message.payload
                else:  # cleared
                    self._retained_configs.pop(message.topic, None)
            else:
                out = self.pipeline.handle(message)
                self._count_ingest()
                await self._dispatch(out)
            self._watchers.notify()

    def _count_ingest(self) -> None:
        """Feed /metrics from the pipeline's counters (a handful of reasons, so cheap)."""
        self.metrics.messages()
        for reason, count in self.pipeline.stats.rejected.items():
            new = count - self._rejected_seen.get(reason, 0)
            if new:
                self._rejected_seen[reason] = count
                for _ in range(new):
                    self.metrics.rejected(reason)

    async def _command(self, message: InboundMessage) -> None:
        """A control in HA was used: tonight's band, the pause switch, or summary now."""
        command = parse_command(self.config, message.topic, message.payload)
        if command is None:
            self.commands_refused += 1
            _LOGGER.warning("refused a command on %s: not one HA's controls send", message.topic)
            return
        room = self.pipeline.rooms[command.room]
        now = self.clock.now()
        out = Outputs()
        match command:
            case BandCommand():
                room.set_band_edge(command.edge, command.value_c, now, out)
            case PauseCommand():
                room.pause(command.paused, now, out)
            case SummaryNowCommand():
                room.summary_now(now, out)
        _LOGGER.info("room %s: %s from Home Assistant", command.room, command)
        await self._dispatch(out)
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
        await self._publish_rules_problem()
        return not self.rules_problems

    async def _announce(self) -> None:
        """On every (re)connection, and after HA's birth message, publish what HA must know."""
        connected = ConnectionState.CONNECTED
        first = True
        while not self._stopping.is_set():
            await self.mqtt.wait_for(lambda: self.mqtt.state is connected)
            if first:  # let our retained configs arrive, to send only what changed
                await asyncio.sleep(self.discovery_settle_s)
            await self._publish_discovery(everything=not first)
            first = False
            await self._publish_rules_problem()
            await self._publish_status(force=True)
            await self._publish(self._summaries.values())
            self._ha_born.clear()
            lost = asyncio.create_task(self.mqtt.wait_for(lambda: self.mqtt.state is not connected))
            born = asyncio.create_task(self._ha_born.wait())
            try:
                await asyncio.wait({lost, born}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                lost.cancel()
                born.cancel()
            if born.done() and not born.cancelled():
                # HA restarted: it forgets entities not re-announced; give it time to subscribe.
                _LOGGER.info(
                    "Home Assistant came online: announcing again in %.0f s", self.birth_delay_s
                )
                await asyncio.sleep(self.birth_delay_s)

    async def _publish_discovery(self, *, everything: bool) -> None:
        """Every entity's retained config; at start only the changed ones, and clear ghosts."""
        messages = discovery_messages(self.config, __version__, support_url=SUPPORT_URL)
        to_send = messages if everything else messages_to_publish(messages, self._retained_configs)
        to_send += clear_messages(self._retained_configs, [topic for topic, _ in messages])
        for topic, payload in to_send:
            await self.mqtt.publish(topic, payload, qos=1, retain=True)
        self._retained_configs = {topic: payload.encode() for topic, payload in messages}

    async def _publish_rules_problem(self) -> None:
        await self._publish(rules_problem_messages(self.config, self.rules_problems))

    async def _publish(self, messages: Iterable[Publish]) -> None:
        """Publish what the HA contract encoded, QoS 1 (held while the broker is away)."""
        for topic, payload, retain in messages:
            await self.mqtt.publish(topic, payload, qos=1, retain=retain)

    async def close_nights(self) -> list[NightSummary]:
        """Summarise every open night now (the demo's night is over; a recording ended)."""
        out = self.pipeline.end_of_input(self.clock.now())
        await self._dispatch(out)
        await self._publish_status()
        return out.summaries

    async def _dispatch(self, out: Outputs) -> None:
        """Write what the core decided to history first, then publish and act on it.

        History first: a crash (even SIGKILL) between the two leaves an event in tonight's count
        and history that HA may not have seen, never one HA saw that history lost. The night's
        state goes in the same transaction as what changed it, so history and tonight's count
        never disagree, and a restart loses at most a minute of temperatures.
        """
        self.recent_events.extend(out.events)
        for event in out.events:
            self.metrics.event(str(event.kind))
        for action in out.actions:
            self.metrics.action(str(action.kind))
        if self.store is not None and (out.events or out.actions or out.summaries or out.nights):
            write = self.store.record(
                events=out.events,
                actions=out.actions,
                minutes=out.minutes,
                summaries=out.summaries,
                night_states=self._night_states(),
            )
            await self._stored(write)
        config = self.config
        await self._publish(event_message(config, event) for event in out.events)
        await self._publish(notice_message(config, notice) for notice in out.notices)
        for action in out.actions:
            await self._act(action)
        for summary in out.summaries:
            document, ready = summary_messages(config, summary)
            self._summaries[summary.room] = document
            await self._publish((document, ready))

    async def _publish_status(self, *, force: bool = False) -> None:
        """Each room's live state, retained, whenever it changed."""
        now = self.clock.now()
        for room_id, room in self.pipeline.rooms.items():
            status = room.status(now)
            if force or status != self._published_status.get(room_id):
                topic, payload, retain = state_message(self.config, room_id, status)
                if await self.mqtt.publish(topic, payload, qos=1, retain=retain):
                    self._published_status[room_id] = status

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
            if self.home_assistant is None:
                # Disabled on purpose: the action is still logged above and kept in history.
                level = logging.WARNING if self.config.homeassistant.enabled else logging.DEBUG
                _LOGGER.log(
                    level,
                    "room %s: %s not sent: Home Assistant is not configured",
                    action.room,
                    action.target,
                )
            else:
                await self._keep_in_outbox(action)
                self.home_assistant.submit(action)

    @property
    def undelivered(self) -> int:
        """HA actions kept in the outbox, not yet delivered."""
        return len(self._outbox)

    async def _keep_in_outbox(self, action: Action) -> None:
        """Persist an HA action until delivered: HA may be away for hours, or we may restart."""
        if self.store is None:
            return
        try:
            row = await self.store.add_outbox(action.t, "ha_action", action_to_json(action))
        except StoreError as err:
            self._store_failed(err, "the action is kept in memory only")
            return
        self._outbox[id(action)] = (action, row)

    def _delivered(self, action: Action) -> None:
        """The HA worker is done with an action: mark its outbox row, in the background."""
        kept = self._outbox.pop(id(action), None)
        if kept is None or self.store is None:
            return
        task = asyncio.create_task(self._stored(self.store.mark_delivered([kept[1]])))
        self._background.add(task)
        task.add_done_callback(self._background.discard)


class Recorder:
    """Appends every message on the configured topics to a recording file."""

    def __init__(
        self,
        config: ServiceConfig,
        out: Path,
        *,
        clock: Clock | None = None,
        mqtt: MqttSettings | None = None,
    ) -> None:
        self.out = out
        self.clock: Clock = clock or SystemClock()
        topics = sorted({spec.topic for spec in config.sensor_specs()})
        self.mqtt = MqttConnection(
            mqtt or mqtt_settings(config), [(topic, 1) for topic in topics], self.clock.now
        )
        self.written = 0
        self._watchers = Watchers()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; re-checked after every written message."""
        await self._watchers.wait_for(predicate)

    async def run(self) -> None:
        """Record until cancelled; every line is flushed as it is written."""
        with RecordingWriter(self.out) as writer:

            async def pump() -> None:
                async for message in self.mqtt.messages():
                    writer.write(message)
                    self.written = writer.written
                    self._watchers.notify()

            async with asyncio.TaskGroup() as group:
                group.create_task(self.mqtt.run(), name="mqtt-connection")
                group.create_task(pump(), name="recorder")


async def run_until_signalled(main: Callable[[], Awaitable[object]]) -> None:
    """Run `main` until SIGINT or SIGTERM, then cancel it so adapters say goodbye in order."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main())
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        _LOGGER.info("stopped")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
