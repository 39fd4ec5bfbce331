"""Home Assistant MQTT discovery: each room as one HA device, and the commands HA sends back.

Pure: this module builds `(topic, payload)` pairs and parses command messages; the service
publishes (retained, QoS 1) and subscribes. Reference:
https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery

Theory of operation
-------------------
- Per-entity discovery topics `<prefix>/<component>/smart_bedroom_<room>/<key>/config`: every HA
  version reads them (device-based discovery, one message per device, only exists since 2024.11).
- Every entity reads a retained state topic of ours and is `available` only while the service's
  will topic says "online", so a crashed service shows as unavailable, not as stale values.
- Value templates guard every field (`is number`, `is defined`) and render `None` for a null
  or missing value: HA's MQTT platforms take the payload "None" as unknown, so nothing the
  service publishes can make HA log a template or conversion error.
- Entity ids: HA 2024.3 builds them from `object_id`; newer HA from `default_entity_id`, which
  replaces `object_id` (dropped in 2026.4). Both are sent, as Zigbee2MQTT does; older HA drops
  keys it does not know.
- Commands from HA land on `<base>/<room>/set/<what>`; `parse_command` turns them into values
  or None, never an exception, because anyone on the broker can publish there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from paho.mqtt.client import topic_matches_sub

from integration import __version__
from integration.adapters.mqtt import ConnectionState, MqttConnection
from integration.config import RoomConfig, ServiceConfig
from integration.core.comfort import State
from integration.core.events import MovementEvent, MovementKind, Notice, describe
from integration.core.labels import Label
from integration.core.localtime import iso
from integration.core.room import Outputs, RoomCore
from integration.core.summary import NightSummary, render_text
from integration.messages import InboundMessage

__all__ = [
    "BAND_COMMAND_MAX_C",
    "BAND_COMMAND_MIN_C",
    "EVENT_TYPES",
    "NODE_PREFIX",
    "BandCommand",
    "LabelCommand",
    "NoteDraftCommand",
    "PauseCommand",
    "RoomTopics",
    "SaveNoteCommand",
    "SummaryNowCommand",
    "clear_messages",
    "command_topics",
    "delivery_problem_messages",
    "delivery_problem_topics",
    "discovery_messages",
    "discovery_topic_filter",
    "ha_status_topic",
    "messages_to_publish",
    "note_draft_messages",
    "own_topic_problems",
    "parse_command",
    "room_topics",
    "rules_problem_topics",
]

_LOGGER = logging.getLogger(__name__)

NODE_PREFIX = "smart_bedroom_"  # node ids, device identifiers and unique_ids start with it
MANUFACTURER = "smart-bedroom"
MODEL = "Bedroom monitor"
ORIGIN_NAME = "smart-bedroom"
SUMMARY_READY = "summary_ready"  # published on the event topic when the morning summary is out
EVENT_TYPES: tuple[str, ...] = (*(kind.value for kind in MovementKind), SUMMARY_READY)
# A band set from HA outside this range cannot be meant for a bedroom: refuse it.
BAND_COMMAND_MIN_C = 5.0
BAND_COMMAND_MAX_C = 35.0
# What the band numbers offer in HA's UI: a bedroom band lies well inside this.
BAND_NUMBER_MIN_C = 10.0
BAND_NUMBER_MAX_C = 30.0
BAND_NUMBER_STEP_C = 0.5
PAYLOAD_ON = "ON"
PAYLOAD_OFF = "OFF"
PAYLOAD_PRESS = "PRESS"
UNLABELLED = "unlabelled"
# HA's text entity holds at most 255 characters (its state's limit); a note may be longer
# from the dashboard or the CLI. https://www.home-assistant.io/integrations/text.mqtt/
NOTE_DRAFT_MAX_CHARS = 255
# HA's MQTT device triggers need a unique (type, subtype) per device; like Zigbee2MQTT we use
# type "action" with the event type as subtype.
TRIGGER_TYPE = "action"

_BAND_EDGES: dict[str, Literal["low", "high"]] = {"band_low": "low", "band_high": "high"}


@dataclass(frozen=True, slots=True)
class RoomTopics:
    """The MQTT topics of one room: what we publish and the commands we accept."""

    state: str
    event: str
    movement: str  # each event in words, for HA's logbook and history (never retained)
    notice: str  # what a detector cannot see (retained, the latest per room)
    summary: str
    so_far: str  # the night so far, on request (retained); never last night's
    set_band_low: str
    set_band_high: str
    set_pause: str
    summary_now: str
    set_label: str  # the person's word on the latest spasm-like event, or a missed spasm
    label: str  # the latest spasm-like event and its label (retained)
    learned: str  # what the comfort controller learned of the room, once it has (retained)
    set_note: str  # HA's "Note" text: the draft, retained by HA here (the command topic holds it)
    note: str  # the draft as the "Note" text shows it (retained); emptied once saved
    save_note: str  # HA's "Save note" button: keep the draft as a note, now


@dataclass(frozen=True, slots=True)
class BandCommand:
    """Set one edge of tonight's comfort band from HA."""

    room: str
    edge: Literal["low", "high"]
    value_c: float

    def apply(self, room: RoomCore, now: float, out: Outputs) -> None:
        """Hand the command to its room; what it decides lands in `out`."""
        room.set_band_edge(self.edge, self.value_c, now, out)


@dataclass(frozen=True, slots=True)
class PauseCommand:
    """Pause (or resume) comfort actions for tonight."""

    room: str
    paused: bool

    def apply(self, room: RoomCore, now: float, out: Outputs) -> None:
        """Hand the command to its room; what it decides lands in `out`."""
        room.pause(self.paused, now, out)


@dataclass(frozen=True, slots=True)
class SummaryNowCommand:
    """Publish the night's summary so far, now."""

    room: str

    def apply(self, room: RoomCore, now: float, out: Outputs) -> None:
        """Hand the command to its room; what it decides lands in `out`."""
        room.summary_now(now, out)


@dataclass(frozen=True, slots=True)
class LabelCommand:
    """The person's word from HA's buttons: on the latest spasm-like event, or a missed one."""

    room: str
    label: Label


@dataclass(frozen=True, slots=True)
class NoteDraftCommand:
    """What the person typed into HA's "Note" text; kept as the room's draft, not yet a note."""

    room: str
    text: str


@dataclass(frozen=True, slots=True)
class SaveNoteCommand:
    """HA's "Save note" button: keep the room's draft as a note at the time of the press."""

    room: str


Command = (
    BandCommand
    | PauseCommand
    | SummaryNowCommand
    | LabelCommand
    | NoteDraftCommand
    | SaveNoteCommand
)


def room_topics(base: str, room_id: str) -> RoomTopics:
    """The topics of room `room_id` under the service's base topic."""
    room = f"{base}/{room_id}"
    return RoomTopics(
        state=f"{room}/state",
        event=f"{room}/event",
        movement=f"{room}/movement",
        notice=f"{room}/notice",
        summary=f"{room}/summary",
        so_far=f"{room}/so_far",
        set_band_low=f"{room}/set/band_low",
        set_band_high=f"{room}/set/band_high",
        set_pause=f"{room}/set/pause",
        summary_now=f"{room}/set/summary_now",
        set_label=f"{room}/set/label",
        label=f"{room}/label",
        learned=f"{room}/learned",
        set_note=f"{room}/set/note",
        note=f"{room}/note",
        save_note=f"{room}/set/save_note",
    )


def rules_problem_topics(base: str) -> tuple[str, str]:
    """The service-wide rules problem: its ON/OFF state topic and its attributes topic."""
    return f"{base}/rules/problem", f"{base}/rules/problem/attributes"


def delivery_problem_topics(base: str) -> tuple[str, str]:
    """The service-wide delivery problem: its ON/OFF state topic and its attributes topic."""
    return f"{base}/delivery/problem", f"{base}/delivery/problem/attributes"


def own_topics(config: ServiceConfig) -> dict[str, str]:
    """Every topic the service publishes or reads commands on, and what it is, in words."""
    base = config.mqtt.base_topic
    topics = {
        config.availability_topic: "the service's availability",
        birth_topic(config): "Home Assistant's birth and will",
    }
    for topic in (*rules_problem_topics(base), *delivery_problem_topics(base)):
        topics[topic] = "a problem entity of the service"
    for room in config.rooms:
        for what, topic in asdict(room_topics(base, room.id)).items():
            topics[topic] = f"room {room.id}'s {what.replace('_', ' ')} topic"
    return topics


def own_topic_problems(config: ServiceConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """Actuator command topics that are one of the service's own: (config location, why).

    Such an actuator would switch the service itself (`…/set/pause` pauses comfort) or
    overwrite what HA reads, instead of reaching the device.
    """
    own = own_topics(config)
    filters = our_config_filters(config)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for r, room in enumerate(config.rooms):
        for a, actuator in enumerate(room.actuators):
            topic = actuator.command_topic
            if topic is None:
                continue
            what = own.get(topic)
            if what is None and any(topic_matches_sub(f, topic) for f in filters):
                what = "a Home Assistant discovery config of the service"
            if what is not None:
                problems.append(
                    (
                        ("rooms", r, "actuators", a, "command_topic"),
                        f"{topic!r} is the service's own topic ({what}); give the device's "
                        "command topic",
                    )
                )
    return problems


Publish = tuple[str, str, bool]  # topic, payload, retained


def event_message(config: ServiceConfig, event: MovementEvent) -> Publish:
    """A movement event for HA's `event` entity (its `event_type` is the kind)."""
    zone = config.zone
    payload = {
        "event_type": str(event.kind),
        "start": iso(event.start, zone),
        "end": iso(event.end, zone),
        "peak": round(event.peak, 3),
        "confidence": round(event.confidence, 3),
        "spasm_like": event.spasm_like,
    }
    return room_topics(config.mqtt.base_topic, event.room).event, json.dumps(payload), False


def movement_message(config: ServiceConfig, event: MovementEvent) -> Publish:
    """An event in words, for the "Last movement" sensor: HA's logbook shows its every change.

    The `event` entity's logbook line says only "detected an event", and two events HA takes in
    the same millisecond leave one line. This text names kind, time and duration, and differs
    from event to event, so each is a state change of its own in the logbook and history.
    Not retained: after a restart HA would log an old event again.
    """
    payload = {
        "text": describe(event, config.zone),
        "kind": str(event.kind),
        "start": iso(event.start, config.zone),
        "end": iso(event.end, config.zone),
        "duration_s": round(event.end - event.start, 1),
        "peak": round(event.peak, 1),
        "spasm_like": event.spasm_like,
    }
    return room_topics(config.mqtt.base_topic, event.room).movement, json.dumps(payload), False


def notice_message(config: ServiceConfig, notice: Notice) -> Publish:
    """A notice about what a detector cannot see, retained so a late subscriber reads it."""
    payload = {
        "sensor": notice.sensor_id,
        "time": iso(notice.t, config.zone),
        "code": notice.code,
        "message": notice.message,
    }
    return room_topics(config.mqtt.base_topic, notice.room).notice, json.dumps(payload), True


def summary_messages(config: ServiceConfig, summary: NightSummary) -> list[Publish]:
    """The night's summary, retained for HA's sensors and dashboard, and a `summary_ready` event."""
    topics = room_topics(config.mqtt.base_topic, summary.room)
    document = _summary_document(config, summary)
    ready = {"event_type": "summary_ready", "night": summary.night_date}
    return [(topics.summary, json.dumps(document), True), (topics.event, json.dumps(ready), False)]


def _summary_document(config: ServiceConfig, summary: NightSummary) -> dict[str, Any]:
    """A summary as HA's attributes show it: local times (not epoch seconds), the text too."""
    return summary.to_dict() | {
        "bed_time": iso(summary.bed_time, config.zone),
        "wake_time": iso(summary.wake_time, config.zone),
        "night": summary.night_date,
        "text": render_text(summary),
    }


def so_far_message(config: ServiceConfig, summary: NightSummary, at: float) -> Publish:
    """Tonight so far ("Summary now"), retained on its own topic: last night's stays as it is."""
    topics = room_topics(config.mqtt.base_topic, summary.room)
    document = _summary_document(config, summary) | {"as_of": iso(at, config.zone)}
    return topics.so_far, json.dumps(document), True


def state_message(config: ServiceConfig, room_id: str, status: Mapping[str, Any]) -> Publish:
    """A room's live state, retained: every sensor entity of the room reads its field.

    Yes/no fields go out as HA's binary sensor payloads, ON/OFF; None stays null (unknown).
    """
    document = {
        key: (PAYLOAD_ON if value else PAYLOAD_OFF) if isinstance(value, bool) else value
        for key, value in status.items()
    }
    return room_topics(config.mqtt.base_topic, room_id).state, json.dumps(document), True


def learned_message(
    config: ServiceConfig, room_id: str, status: Mapping[str, Any]
) -> Publish | None:
    """What the comfort controller learned of the room, retained; None until it has learned."""
    if not status.get("learned_at"):
        return None
    keys = (
        "learned_at",
        "heating_rate_c_per_h",
        "cooling_rate_c_per_h",
        "room_lag_min",
        "heating_overshoot_c",
        "cooling_overshoot_c",
    )
    document = {key: status.get(key) for key in keys}
    return room_topics(config.mqtt.base_topic, room_id).learned, json.dumps(document), True


def label_message(
    config: ServiceConfig, room_id: str, event: MovementEvent, label: Label | None
) -> Publish:
    """The room's latest spasm-like event and the person's label on it, retained."""
    payload = {
        "label": UNLABELLED if label is None else label.value,
        "kind": str(event.kind),
        "start": iso(event.start, config.zone),
        "end": iso(event.end, config.zone),
    }
    return room_topics(config.mqtt.base_topic, room_id).label, json.dumps(payload), True


def note_draft_messages(config: ServiceConfig, room_id: str, draft: str) -> list[Publish]:
    """The "Note" text shows `draft`; an empty one also clears the draft HA retained.

    HA publishes the text's value retained on its command topic, so a restarted service gets
    the draft back; once the draft is saved as a note, the empty retained message removes it
    (MQTT 3.1.1 section 3.3.1.3: a zero-byte retained payload clears the topic).
    """
    topics = room_topics(config.mqtt.base_topic, room_id)
    shown: list[Publish] = [(topics.note, draft, True)]
    return shown if draft else [*shown, (topics.set_note, "", True)]


def rules_problem_messages(config: ServiceConfig, problems: list[str]) -> list[Publish]:
    """The rules problem entity: ON with the located errors while the last reload failed."""
    state, attributes = rules_problem_topics(config.mqtt.base_topic)
    return [
        (state, "ON" if problems else "OFF", True),
        (attributes, json.dumps({"errors": problems}), True),
    ]


def delivery_problem_messages(
    config: ServiceConfig, since_start: int, kept: int, latest: Iterable[Mapping[str, Any]]
) -> list[Publish]:
    """The delivery problem entity: ON while HA actions were parked (dead letters) since start.

    Its attributes count them (since start, and kept in the history store) and say the latest.
    """
    state, attributes = delivery_problem_topics(config.mqtt.base_topic)
    document = {"parked_since_start": since_start, "parked_kept": kept, "latest": list(latest)}
    return [
        (state, PAYLOAD_ON if since_start else PAYLOAD_OFF, True),
        (attributes, json.dumps(document), True),
    ]


def birth_topic(config: ServiceConfig) -> str:
    """Where HA says `online` when it (re)starts: then every entity must be announced again."""
    return f"{config.homeassistant.discovery_prefix}/status"


def our_config_filters(config: ServiceConfig) -> list[str]:
    """Filters matching our own retained discovery configs, read back at start."""
    prefix = config.homeassistant.discovery_prefix
    return [f"{prefix}/+/{NODE_PREFIX}{room.id}/+/config" for room in config.rooms]


def discovery_messages(
    config: ServiceConfig, version: str, *, support_url: str | None = None
) -> list[tuple[str, str]]:
    """`(topic, JSON config)` for every entity and device trigger of every room.

    Publish each retained with QoS 1. `support_url` (the project's home page) goes into the
    origin block when given.
    """
    origin: dict[str, str] = {"name": ORIGIN_NAME, "sw_version": version}
    if support_url is not None:
        origin["support_url"] = support_url
    prefix = config.homeassistant.discovery_prefix
    messages: list[tuple[str, str]] = []
    for room in config.rooms:
        node = f"{NODE_PREFIX}{room.id}"
        device = {
            "identifiers": [node],
            "name": room.name,
            "manufacturer": MANUFACTURER,
            "model": MODEL,
            "sw_version": version,
        }
        for component, key, fields in _room_entities(config, room):
            payload: dict[str, Any] = {"device": device, "origin": origin, **fields}
            if component != "device_automation":
                payload |= {
                    "unique_id": f"{node}_{key}",
                    "object_id": f"{room.id}_{key}",
                    "default_entity_id": f"{component}.{room.id}_{key}",
                    "availability": [{"topic": config.availability_topic}],
                }
            messages.append((f"{prefix}/{component}/{node}/{key}/config", _json(payload)))
    return messages


def clear_messages(stale_topics: Iterable[str], current: Iterable[str]) -> list[tuple[str, str]]:
    """Empty retained payloads for our discovery topics that are not in `current`.

    `stale_topics` may hold anything read back through `discovery_topic_filter` (other
    integrations' configs too); only ours (node id `smart_bedroom_…`) are cleared, which
    removes the entity from HA instead of leaving a ghost.
    """
    keep = set(current)
    return [
        (topic, "")
        for topic in sorted(set(stale_topics))
        if topic not in keep and _is_our_discovery_topic(topic)
    ]


def discovery_topic_filter(config: ServiceConfig) -> str:
    """The subscription that reads back retained discovery configs at start (ours among them)."""
    return f"{config.homeassistant.discovery_prefix}/+/+/+/config"


def messages_to_publish(
    messages: Iterable[tuple[str, str]], retained: Mapping[str, bytes | str]
) -> list[tuple[str, str]]:
    """`messages` minus those the broker already holds retained with the same JSON content.

    At start this spares a retained write per unchanged entity (HA would ignore it anyway);
    after HA's birth message, publish all of them instead.
    """
    return [
        (topic, payload)
        for topic, payload in messages
        if _json_value(retained.get(topic)) != json.loads(payload)
    ]


def ha_status_topic(config: ServiceConfig) -> str:
    """Where HA announces itself ("online" birth, "offline" will): re-publish on "online"."""
    return f"{config.homeassistant.discovery_prefix}/status"


def command_topics(config: ServiceConfig) -> list[str]:
    """Every topic HA commands arrive on, for every room."""
    topics: list[str] = []
    for room in config.rooms:
        own = room_topics(config.mqtt.base_topic, room.id)
        topics += [
            own.set_band_low,
            own.set_band_high,
            own.set_pause,
            own.summary_now,
            own.set_label,
            own.set_note,
            own.save_note,
        ]
    return topics


def parse_command(config: ServiceConfig, topic: str, payload: bytes) -> Command | None:
    """The command an HA control sent, or None for anything unknown or malformed."""
    base = f"{config.mqtt.base_topic}/"
    if not topic.startswith(base):
        return None
    levels = topic.removeprefix(base).split("/")
    if len(levels) != 3 or levels[1] != "set":
        return None
    room, _, verb = levels
    if room not in {known.id for known in config.rooms}:
        return None
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if verb == "note":  # any text, empty too (the draft cleared); refused only when saved
        return NoteDraftCommand(room, text) if len(text) <= NOTE_DRAFT_MAX_CHARS else None
    if verb == "save_note" and text.upper() == PAYLOAD_PRESS:
        return SaveNoteCommand(room)
    if verb in _BAND_EDGES:
        value_c = _band_value(text)
        return None if value_c is None else BandCommand(room, _BAND_EDGES[verb], value_c)
    if verb == "pause" and text.upper() in {PAYLOAD_ON, PAYLOAD_OFF}:
        return PauseCommand(room, paused=text.upper() == PAYLOAD_ON)
    if verb == "summary_now" and text.upper() == PAYLOAD_PRESS:
        return SummaryNowCommand(room)
    if verb == "label" and text.lower() in {label.value for label in Label}:
        return LabelCommand(room, Label(text.lower()))
    return None


# --- the entities of one room ----------------------------------------------------------------


def _room_entities(
    config: ServiceConfig, room: RoomConfig
) -> list[tuple[str, str, dict[str, Any]]]:
    """`(component, key, platform fields)` for each entity of `room`, in a stable order."""
    base = config.mqtt.base_topic
    topics = room_topics(base, room.id)
    rules_state, rules_attributes = rules_problem_topics(base)
    delivery_state, delivery_attributes = delivery_problem_topics(base)
    state = {"state_topic": topics.state}
    summary = {"state_topic": topics.summary}
    entities: list[tuple[str, str, dict[str, Any]]] = [
        # https://www.home-assistant.io/integrations/sensor.mqtt/
        (
            "sensor",
            "temperature",
            {
                **state,
                "name": "Temperature",
                "device_class": "temperature",
                "unit_of_measurement": "°C",
                "state_class": "measurement",
                "suggested_display_precision": 1,
                "value_template": _number("temperature_c"),
            },
        ),
        *(
            (
                "sensor",
                f"comfort_{edge}",
                {
                    **state,
                    "name": f"Comfort {edge}",
                    "device_class": "temperature",
                    "unit_of_measurement": "°C",
                    "state_class": "measurement",
                    "suggested_display_precision": 1,
                    "value_template": _number(f"band_{edge}_c"),
                },
            )
            for edge in ("low", "high")
        ),
        (
            "sensor",
            "comfort_status",
            {
                **state,
                "name": "Comfort status",
                "device_class": "enum",
                "options": [member.value for member in State],
                "icon": "mdi:thermostat-auto",
                "value_template": _known("comfort_status"),
            },
        ),
        (
            "sensor",
            "spasms_tonight",
            {
                **state,
                "name": "Spasm-like events tonight",
                "state_class": "total_increasing",
                "icon": "mdi:pulse",
                "value_template": _number("spasms_tonight"),
            },
        ),
        (
            "sensor",
            "last_night_spasms",
            {
                **summary,
                "name": "Last night spasm-like events",
                "icon": "mdi:pulse",
                "value_template": _number("spasm_count"),
            },
        ),
        (
            "sensor",
            "last_night_restless_minutes",
            {
                **summary,
                "name": "Restless minutes last night",
                "unit_of_measurement": "min",
                "icon": "mdi:bed-clock",
                "value_template": _number("restless_total_min", round_to=1),
            },
        ),
        (
            "sensor",
            "last_night_time_in_band",
            {
                **summary,
                "name": "Time in band last night",
                "unit_of_measurement": "%",
                "icon": "mdi:thermometer-check",
                "value_template": _percent("value_json.in_band_share"),
            },
        ),
        (
            "sensor",
            "last_night_sleep_efficiency",
            {
                **summary,
                "name": "Sleep efficiency estimate",
                "unit_of_measurement": "%",
                "icon": "mdi:sleep",
                "value_template": _percent(
                    "value_json.sleep.efficiency", guard="value_json.sleep is mapping"
                ),
            },
        ),
        (
            "sensor",
            "tonight_so_far",
            {
                "state_topic": topics.so_far,
                "name": "Tonight so far",
                "device_class": "timestamp",
                "icon": "mdi:clipboard-text-clock-outline",
                "value_template": _known("as_of"),
                "json_attributes_topic": topics.so_far,
            },
        ),
        (
            "sensor",
            "last_night",
            {
                **summary,
                "name": "Last night",
                "device_class": "date",
                "icon": "mdi:weather-night",
                "value_template": "{{ value_json.night if value_json.night is string else None }}",
                "json_attributes_topic": topics.summary,
            },
        ),
        # https://www.home-assistant.io/integrations/binary_sensor.mqtt/
        (
            "binary_sensor",
            "in_bed",
            {
                **state,
                "name": "In bed",
                "device_class": "occupancy",
                "value_template": _known("in_bed"),
            },
        ),
        (
            "binary_sensor",
            "restless",
            {
                **state,
                "name": "Restless now",
                "icon": "mdi:run",
                "value_template": _known("restless"),
            },
        ),
        (
            "binary_sensor",
            "window_open",
            {
                **state,
                "name": "Window open",
                "device_class": "window",
                "value_template": _known("window_open"),
            },
        ),
        # What the comfort controller learned of the room (README "Comfort control").
        *(
            (
                "sensor",
                key,
                {
                    **state,
                    "name": name,
                    "unit_of_measurement": unit,
                    "entity_category": "diagnostic",
                    "icon": icon,
                    "value_template": _number(key),
                },
            )
            for key, name, unit, icon in (
                ("heating_rate_c_per_h", "Heating rate", "°C/h", "mdi:radiator"),
                ("cooling_rate_c_per_h", "Cooling rate", "°C/h", "mdi:snowflake"),
                ("room_lag_min", "Room lag", "min", "mdi:timer-sand"),
                ("heating_overshoot_c", "Heating overshoot", "°C", "mdi:thermometer-chevron-up"),
                ("cooling_overshoot_c", "Cooling overshoot", "°C", "mdi:thermometer-chevron-down"),
            )
        ),
        (
            "sensor",
            "learned_at",
            {
                # Its own topic, published once something is learned: a timestamp sensor of
                # HA 2024.3 takes no "None" (it logs the payload as invalid).
                "state_topic": topics.learned,
                "json_attributes_topic": topics.learned,
                "name": "Room learned",
                "device_class": "timestamp",
                "entity_category": "diagnostic",
                "icon": "mdi:school-outline",
                "value_template": _known("learned_at"),
            },
        ),
        (
            "binary_sensor",
            "sensor_problem",
            {
                **state,
                "name": "Sensor problem",
                "device_class": "problem",
                "entity_category": "diagnostic",
                "value_template": _known("sensor_problem"),
            },
        ),
        (
            "binary_sensor",
            "rules_problem",
            {
                "state_topic": rules_state,
                "name": "Rules problem",
                "device_class": "problem",
                "entity_category": "diagnostic",
                "json_attributes_topic": rules_attributes,
            },
        ),
        (
            "binary_sensor",
            "delivery_problem",
            {
                "state_topic": delivery_state,
                "name": "Delivery problem",
                "device_class": "problem",
                "entity_category": "diagnostic",
                "json_attributes_topic": delivery_attributes,
            },
        ),
        (
            "sensor",
            "last_movement",
            {
                "state_topic": topics.movement,
                "name": "Last movement",
                "icon": "mdi:motion-sensor",
                "value_template": _known("text"),
                "json_attributes_topic": topics.movement,
            },
        ),
        # https://www.home-assistant.io/integrations/event.mqtt/
        (
            "event",
            "movement",
            {
                "state_topic": topics.event,
                "name": "Movement",
                "device_class": "motion",
                "event_types": list(EVENT_TYPES),
            },
        ),
        # https://www.home-assistant.io/integrations/number.mqtt/
        *(
            (
                "number",
                f"comfort_band_{edge}",
                {
                    **state,
                    "name": f"Comfort band {edge}",
                    "command_topic": command_topic,
                    "device_class": "temperature",
                    "unit_of_measurement": "°C",
                    "min": BAND_NUMBER_MIN_C,
                    "max": BAND_NUMBER_MAX_C,
                    "step": BAND_NUMBER_STEP_C,
                    "mode": "box",
                    "entity_category": "config",
                    "value_template": _number_with_fallback(f"override_{edge}_c", f"band_{edge}_c"),
                },
            )
            for edge, command_topic in (
                ("low", topics.set_band_low),
                ("high", topics.set_band_high),
            )
        ),
        # https://www.home-assistant.io/integrations/switch.mqtt/
        (
            "switch",
            "pause",
            {
                **state,
                "name": "Pause comfort actions tonight",
                "command_topic": topics.set_pause,
                "payload_on": PAYLOAD_ON,
                "payload_off": PAYLOAD_OFF,
                "entity_category": "config",
                "icon": "mdi:pause-circle-outline",
                "value_template": _known("paused"),
            },
        ),
        # https://www.home-assistant.io/integrations/button.mqtt/
        (
            "button",
            "summary_now",
            {
                "name": "Summary now",
                "command_topic": topics.summary_now,
                "payload_press": PAYLOAD_PRESS,
                "icon": "mdi:text-box-outline",
            },
        ),
        # The person's word: on the latest spasm-like event, or a spasm the sensor missed.
        *(
            (
                "button",
                key,
                {
                    "name": name,
                    "command_topic": topics.set_label,
                    "payload_press": label.value,
                    "icon": icon,
                },
            )
            for key, name, label, icon in (
                ("confirm_spasm", "Yes, a spasm", Label.CONFIRMED, "mdi:check-circle-outline"),
                ("reject_spasm", "Not a spasm", Label.REJECTED, "mdi:close-circle-outline"),
                ("report_spasm", "I just had a spasm", Label.MISSED, "mdi:alert-plus-outline"),
            )
        ),
        # Notes: what may explain the nights (README "Notes"). The draft is typed into a text
        # entity (https://www.home-assistant.io/integrations/text.mqtt/), retained by HA on its
        # command topic, echoed on ours; the button keeps it as a note and empties it.
        (
            "text",
            "note",
            {
                "name": "Note",
                "command_topic": topics.set_note,
                "state_topic": topics.note,
                "retain": True,
                "qos": 1,
                "min": 0,
                "max": NOTE_DRAFT_MAX_CHARS,
                "mode": "text",
                "icon": "mdi:note-edit-outline",
            },
        ),
        (
            "button",
            "save_note",
            {
                "name": "Save note",
                "command_topic": topics.save_note,
                "payload_press": PAYLOAD_PRESS,
                "qos": 1,
                "icon": "mdi:note-plus-outline",
            },
        ),
        (
            "sensor",
            "latest_spasm_label",
            {
                "state_topic": topics.label,
                "name": "Latest spasm-like event label",
                "device_class": "enum",
                "options": [UNLABELLED, Label.CONFIRMED.value, Label.REJECTED.value],
                "icon": "mdi:tag-check-outline",
                "value_template": _known("label"),
                "json_attributes_topic": topics.label,
            },
        ),
    ]
    # https://www.home-assistant.io/integrations/device_trigger.mqtt/
    entities += [
        (
            "device_automation",
            event_type,
            {
                "automation_type": "trigger",
                "topic": topics.event,
                "type": TRIGGER_TYPE,
                "subtype": event_type,
                "payload": event_type,
                "value_template": "{{ value_json.event_type }}",
            },
        )
        for event_type in EVENT_TYPES
    ]
    return entities


def _number(field: str, *, round_to: int | None = None) -> str:
    """A template giving the JSON number `field`, or None (HA: unknown) when null or missing."""
    value = f"value_json.{field}"
    shown = value if round_to is None else f"{value} | round({round_to})"
    return f"{{{{ {shown} if {value} is number else None }}}}"


def _number_with_fallback(field: str, fallback: str) -> str:
    """`field` when it is a number, else `fallback` when that is, else None."""
    first, second = f"value_json.{field}", f"value_json.{fallback}"
    return f"{{{{ {first} if {first} is number else {second} if {second} is number else None }}}}"


def _percent(value: str, *, guard: str | None = None) -> str:
    """A template showing the 0..1 share `value` as a percentage, or None when unknown."""
    test = f"{value} is number" if guard is None else f"{guard} and {value} is number"
    return f"{{{{ ({value} * 100) | round(1) if {test} else None }}}}"


def _known(field: str) -> str:
    """A template giving the JSON string `field`, or None (HA: unknown) when null or missing."""
    value = f"value_json.{field}"
    return f"{{{{ {value} if {value} is string else None }}}}"


def _json(payload: Mapping[str, Any]) -> str:
    """Compact JSON with sorted keys, so an unchanged config is byte-for-byte the same."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json_value(raw: bytes | str | None) -> Any:
    """The JSON value of a retained payload; None when absent, empty or not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None


def _is_our_discovery_topic(topic: str) -> bool:
    """`…/<component>/smart_bedroom_<room>/<key>/config`: a config this service published."""
    levels = topic.split("/")
    return len(levels) >= 5 and levels[-1] == "config" and levels[-3].startswith(NODE_PREFIX)


def _band_value(text: str) -> float | None:
    """A band edge in °C from a command payload; None unless a finite, plausible number."""
    try:
        value_c = float(text)
    except ValueError:
        return None
    if not math.isfinite(value_c) or not BAND_COMMAND_MIN_C <= value_c <= BAND_COMMAND_MAX_C:
        return None
    return value_c


SUPPORT_URL = "https://github.com/smart-bedroom/smart-bedroom"
# Retained discovery configs arrive right after subscribing; this is ample on any broker.
DISCOVERY_SETTLE_S = 1.0
# After HA's birth message, wait before re-announcing: re-sending at once proved unreliable
# (Zigbee2MQTT waits 30 s); HA subscribes to discovery topics a moment after it says online.
BIRTH_DELAY_S = 5.0


class HomeAssistantLink:
    """Our side of the contract on a live connection: what we listen to, and (re)announcing.

    HA forgets entities not re-announced after it restarts, so every (re)connection and every
    birth message (`<discovery_prefix>/status` = online) re-sends discovery and the states.
    Our own retained configs are read back at start: unchanged ones are not re-sent and ones no
    longer in the config are cleared (no ghost entities in HA).
    """

    def __init__(
        self,
        config: ServiceConfig,
        *,
        version: str = __version__,
        support_url: str | None = SUPPORT_URL,
        settle_s: float = DISCOVERY_SETTLE_S,
        birth_delay_s: float = BIRTH_DELAY_S,
    ) -> None:
        self.config = config
        self.version = version
        self.support_url = support_url
        self.settle_s = settle_s  # retained configs arrive right after subscribing
        self.birth_delay_s = birth_delay_s  # HA subscribes a moment after it says online
        self.commands_refused = 0
        self._birth_topic = birth_topic(config)
        self._command_topics = frozenset(command_topics(config))
        self._config_filters = our_config_filters(config)
        self._retained: dict[str, bytes] = {}
        self._born = asyncio.Event()

    @property
    def subscriptions(self) -> list[str]:
        """Topic filters the contract needs: commands, HA's birth, our retained configs."""
        return [*sorted(self._command_topics), self._birth_topic, *self._config_filters]

    def is_ours(self, topic: str) -> bool:
        """The message belongs to the contract, not to a sensor."""
        return (
            topic in self._command_topics
            or topic == self._birth_topic
            or (
                topic.endswith("/config")
                and any(topic_matches_sub(f, topic) for f in self._config_filters)
            )
        )

    def take(self, message: InboundMessage) -> Command | None:
        """Note a birth or a retained config; a command HA sent, or None."""
        topic, payload = message.topic, message.payload
        if topic == self._birth_topic:
            if payload.strip() == b"online":
                self._born.set()
            return None
        if topic not in self._command_topics:
            if payload:
                self._retained[topic] = payload
            else:  # cleared
                self._retained.pop(topic, None)
            return None
        command = parse_command(self.config, topic, payload)
        if command is None:
            self.commands_refused += 1
            _LOGGER.warning("refused a command on %s: not one HA's controls send", topic)
        return command

    async def run(
        self,
        mqtt: MqttConnection,
        stopping: asyncio.Event,
        states: Callable[[], Awaitable[None]],
    ) -> None:
        """Announce on every (re)connection and HA birth; `states` re-sends what HA reads."""
        connected = ConnectionState.CONNECTED
        first = True
        while not stopping.is_set():
            await mqtt.wait_for(lambda: mqtt.state is connected)
            if first:  # let our retained configs arrive, to send only what changed
                await asyncio.sleep(self.settle_s)
            await self._publish_discovery(mqtt, everything=not first)
            first = False
            await states()
            self._born.clear()
            lost = asyncio.create_task(mqtt.wait_for(lambda: mqtt.state is not connected))
            born = asyncio.create_task(self._born.wait())
            try:
                await asyncio.wait({lost, born}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                lost.cancel()
                born.cancel()
            if born.done() and not born.cancelled():
                _LOGGER.info(
                    "Home Assistant came online: announcing again in %.0f s", self.birth_delay_s
                )
                await asyncio.sleep(self.birth_delay_s)

    async def _publish_discovery(self, mqtt: MqttConnection, *, everything: bool) -> None:
        """Every entity's retained config; at start only the changed ones, and clear ghosts."""
        messages = discovery_messages(self.config, self.version, support_url=self.support_url)
        to_send = messages if everything else messages_to_publish(messages, self._retained)
        to_send += clear_messages(self._retained, [topic for topic, _ in messages])
        for topic, payload in to_send:
            await mqtt.publish(topic, payload, qos=1, retain=True)
        self._retained = {topic: payload.encode() for topic, payload in messages}
