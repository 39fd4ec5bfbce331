"""The one path shared by `run` and `replay`: a message or a tick in, decisions out.

Synchronous and clock-free: `run` feeds it from MQTT with wall-clock stamps, `replay` from a
recording with the recorded stamps, so a night replays in seconds and behaves exactly as live.
The core decides in intents; here, on the same shared path, the actions adapter turns them
into the `Action`s that go out, so `run` sends and `replay` reports exactly the same ones.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from paho.mqtt.client import topic_matches_sub

from integration.adapters.actions import ActionTranslator
from integration.adapters.payloads import parse_payload
from integration.config import RoomConfig, ServiceConfig
from integration.core.comfort import ActuatorSpec
from integration.core.detectors import ChannelFigures
from integration.core.events import Action
from integration.core.intents import Role, Translate
from integration.core.readings import Rejection, SensorKind, Tick
from integration.core.room import Outputs, RoomCore, SensorWatch
from integration.core.rules import RuleSet
from integration.messages import InboundMessage, SensorSpec

__all__ = ["IngestStats", "Pipeline", "PipelineOutputs"]

_LOGGER = logging.getLogger(__name__)

# One WARNING per sensor and reason per this many seconds of input time; the rest are counted.
REJECT_LOG_INTERVAL_S = 300.0
_MAX_LOG_KEYS = 10_000
# Topics whose routes are remembered; a wildcard filter can match unboundedly many topics.
_MAX_ROUTED_TOPICS = 10_000
# An accelerometer streams many samples a second: five silent minutes mean it is gone.
MOTION_STALE_S = 300.0


# The sensors whose raw messages are kept a night at a time, so a night replays under new rules.
BED_KINDS = frozenset(
    {SensorKind.MOTION, SensorKind.VIBRATION, SensorKind.OCCUPANCY, SensorKind.MOVEMENT_ENERGY}
)


@dataclass(slots=True)
class IngestStats:
    """Counters a person (or /metrics) reads to see what came in and what was refused."""

    messages: int = 0
    unrouted: int = 0
    readings: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    last_seen: dict[str, float] = field(default_factory=dict)  # "room/sensor" → t
    # Per configured sensor ("room/sensor"), so bounded: messages read, and refused
    read_by_sensor: Counter[str] = field(default_factory=Counter)
    rejected_by_sensor: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class PipelineOutputs(Outputs):
    """What one input produced: the core's outputs, and its intents as the actions that go out."""

    actions: list[Action] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Route:
    """A sensor a topic feeds, with the key its arrivals are filed under in `last_seen`."""

    spec: SensorSpec
    seen_key: str  # "room/sensor"


def room_core(
    room: RoomConfig, rules: RuleSet, config: ServiceConfig, translate: Translate
) -> RoomCore:
    """A room's core from its config: actuators, and the sensors expected to report steadily."""
    actuators = [ActuatorSpec(actuator.id, Role(actuator.role)) for actuator in room.actuators]
    comfort = rules.comfort
    watches = []
    for sensor in room.sensors:
        # Occupancy and vibration sensors report on change only: silence is normal for them.
        if sensor.kind in (SensorKind.TEMPERATURE, SensorKind.HUMIDITY):
            limit = comfort.sensor_stale_s_by_id.get(sensor.id, comfort.sensor_stale_s)
            watches.append(SensorWatch(sensor.id, limit))
        elif sensor.kind is SensorKind.MOTION:
            watches.append(SensorWatch(sensor.id, MOTION_STALE_S))
    partner_sensors = frozenset(s.id for s in room.sensors if s.side == "partner")
    return RoomCore(
        room.id,
        room.name,
        actuators,
        watches,
        rules,
        config.zone,
        translate,
        partner_sensors=partner_sensors,
    )


class Pipeline:
    """Routes messages to sensors, parses them, and feeds the per-room core."""

    def __init__(self, config: ServiceConfig, rules: RuleSet) -> None:
        self.config = config
        self.rules = rules
        self.stats = IngestStats()
        specs = config.sensor_specs()
        self._exact: dict[str, list[SensorSpec]] = {}
        self._wildcard: list[SensorSpec] = []
        for spec in specs:
            if "+" in spec.topic or "#" in spec.topic:
                self._wildcard.append(spec)
            else:
                self._exact.setdefault(spec.topic, []).append(spec)
        self._routes: dict[str, tuple[_Route, ...]] = {}
        self.translate = ActionTranslator(config.rooms)
        self.rooms = {
            room.id: room_core(room, rules, config, self.translate) for room in config.rooms
        }
        self._last_reject_log: dict[tuple[str, str], float] = {}

    @property
    def subscriptions(self) -> list[str]:
        """MQTT topic filters to subscribe to, each once (HA entities come another way)."""
        return self.config.mqtt_topics()

    def handle(self, item: InboundMessage | Tick) -> PipelineOutputs:
        """Process one input; never raises for bad device data."""
        out = PipelineOutputs()
        if isinstance(item, Tick):
            for room in self.rooms.values():
                room.tick(item.now, out)
            return self.translated(out)
        self.stats.messages += 1
        routes = self._routes_for(item.topic)
        if not routes:
            self.stats.unrouted += 1
            return out
        for route in routes:
            spec = route.spec
            room = self.rooms[spec.room]
            parsed = parse_payload(spec, item.payload, item.t, item.topic)
            if isinstance(parsed, Rejection):
                self.stats.rejected_by_sensor[route.seen_key] += 1
                self._count_rejection(spec, parsed, item.t)
                room.rejected(spec.sensor_id, parsed.reason, item.t)
                continue
            self.stats.last_seen[route.seen_key] = item.t
            self.stats.read_by_sensor[route.seen_key] += 1
            for reading in parsed:
                self.stats.readings[spec.kind] += 1
                out.readings.append(reading)
                room.feed(reading, item.t, out)
        return self.translated(out)

    def bed_rooms(self, topic: str) -> tuple[str, ...]:
        """Rooms whose bed sensors (motion, vibration, occupancy) `topic` feeds: raw nights."""
        return tuple(
            sorted({r.spec.room for r in self._routes_for(topic) if r.spec.kind in BED_KINDS})
        )

    def channel_figures(self, room: str, sensor_id: str) -> ChannelFigures | None:
        """An accelerometer's resting level and drops as its room's detector sees them."""
        core = self.rooms.get(room)
        return None if core is None else core.detector.channel_figures(sensor_id)

    def end_of_input(self, now: float) -> PipelineOutputs:
        """The input ended (a recording's last message): summarise nights still open."""
        out = PipelineOutputs()
        for room in self.rooms.values():
            room.end_of_input(now, out)
        return self.translated(out)

    def replace_rules(self, rules: RuleSet, now: float) -> PipelineOutputs:
        """Swap in reloaded rules; each room says `rules_reloaded` to its automations."""
        out = PipelineOutputs()
        for room in self.rooms.values():
            room.replace_rules(rules, now, out)
        self.rules = rules
        return self.translated(out)

    def translated(self, out: PipelineOutputs) -> PipelineOutputs:
        """`out` with its intents as the actions that carry them out, in order; call it once.

        `handle` and the rest do; the shell calls it on outputs a room filled directly (a
        command from HA).
        """
        for intent in out.intents:
            out.actions.extend(self.translate(intent))
        return out

    def _routes_for(self, topic: str) -> tuple[_Route, ...]:
        """The sensors `topic` feeds (exact filters first), matched once per topic, not per message."""
        routes = self._routes.get(topic)
        if routes is None:
            if len(self._routes) >= _MAX_ROUTED_TOPICS:
                self._routes.clear()
            specs = self._exact.get(topic, []) + [
                spec for spec in self._wildcard if topic_matches_sub(spec.topic, topic)
            ]
            routes = tuple(_Route(spec, f"{spec.room}/{spec.sensor_id}") for spec in specs)
            self._routes[topic] = routes
        return routes

    def _count_rejection(self, spec: SensorSpec, rejection: Rejection, t: float) -> None:
        self.stats.rejected[rejection.reason] += 1
        # Per sensor, not per topic: a wildcard sensor's topics are unbounded, its log is not.
        key = (f"{spec.room}/{spec.sensor_id}", rejection.reason)
        last = self._last_reject_log.get(key)
        if last is None or t - last >= REJECT_LOG_INTERVAL_S:
            if len(self._last_reject_log) >= _MAX_LOG_KEYS:
                self._last_reject_log.clear()
            self._last_reject_log[key] = t
            _LOGGER.warning(
                "sensor %s/%s: rejected a message on %s (%s); repeats are counted, not logged",
                spec.room,
                spec.sensor_id,
                rejection.topic,
                rejection.reason,
            )
        _LOGGER.debug("rejected payload on %s: %r", rejection.topic, rejection.excerpt)
