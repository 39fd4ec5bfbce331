"""Device payload → readings of the sensor's kind, or a Rejection saying why not.

Formats differ mostly in where the value sits, so one lookup serves them all:
- plain, esphome: the whole payload is the value ("19.8", "ON", ESPHome "nan" = unavailable);
  esphome.io/components/mqtt: a sensor publishes its state as text on `<prefix>/sensor/<id>/state`,
  a binary_sensor "ON"/"OFF".
- zigbee2mqtt, tasmota, json: a JSON document. With `field` (dotted path, list indices as
  numbers, keys may hold ':'), that value; without it, the kind's usual key found breadth-first to
  `_SEARCH_DEPTH`: flat Zigbee2MQTT state (zigbee2mqtt.io/devices/WSDCGQ11LM.html), Tasmota
  `tele/<dev>/SENSOR` nesting with a top-level "TempUnit" (tasmota.github.io/docs/MQTT), Shelly
  Gen2 `status/temperature:0` and `events/rpc` NotifyStatus `params` (shelly-api-docs.shelly.cloud
  gen2/General/Notifications, gen2/ComponentsAndServices/Temperature: tC/tF, Humidity: rh).
  Zigbee2MQTT and Tasmota publish a JSON object, always: a bare value there is MISSING_FIELD.
- shelly, auto: JSON when the payload starts with '{' or '[', else plain (Shelly Gen1 H&T
  publishes bare numbers on `shellies/<id>/sensor/temperature`).
Motion (raw accelerometer) is always JSON; see `motion.py`.

Movement energy (mmWave): ESPHome's LD2410 `moving_energy` sensor publishes a bare 0-100 on its
own state topic, only when the value changed, at most once a `throttle` (1 s by default;
esphome.io/components/sensor/ld2410). Zigbee2MQTT's Aqara FP1E has no energy, only a `movement`
state (`movement`, `no_movement`, `no_presence`; zigbee-herdsman-converters `lumi.ts`
`fp1eMovement`), read as 100 or 0.

Occupancy by distance (`max_distance_m`): a room-wide presence sensor is "in bed" only when its
target is at most that far: a bare distance (ESPHome LD2410 `detection_distance`, in cm; 0 means
no target) or, in JSON, `presence` together with `target_distance` (FP1E, in m).

homeassistant: an HA entity's state as the HA source hands it on (`{"state": "21.5",
"attributes": {"unit_of_measurement": "°C"}}`), read like a plain value in that unit.

Temperature unit, strongest first: a key that names its unit (Shelly tC/tF), then `spec.unit`,
then the payload's own unit (Tasmota TempUnit), then °C.

Vibration (Zigbee2MQTT Aqara DJT11LM, zigbee2mqtt.io/devices/DJT11LM.html): a message is an
event when `action` is "vibration"/"tilt"/"drop" or the `vibration` flag is true. Z2M republishes
the last state with `"action": null` (or "") on every report or refresh: that is no movement and
is rejected as UNAVAILABLE, like any null; a message with neither key is MISSING_FIELD.
"""

from __future__ import annotations

import json
from typing import Any

from integration.core.readings import (
    ContactReading,
    HumidityReading,
    MovementEnergyReading,
    OccupancyReading,
    Reading,
    Rejection,
    RejectReason,
    SensorKind,
    TemperatureReading,
    VibrationReading,
)
from integration.messages import PayloadFormat, SensorSpec

from .motion import accel_samples
from .values import distance_m, energy_pct, flag, humidity_pct, number, temperature_c

# The largest legitimate message, a 10,000-sample x/y/z batch at ~8 characters a number, is
# ~240 KB; anything bigger is a runaway device, and refusing it bounds the JSON parse cost.
MAX_PAYLOAD_BYTES = 256 * 1024
EXCERPT_CHARS = 80
_SEARCH_DEPTH = 3  # root, Tasmota sensor / Shelly component, NotifyStatus params → component

# Keys per kind in preference order (Shelly reports both tC and tF; °C is exact).
_KEYS: dict[SensorKind, tuple[str, ...]] = {
    SensorKind.TEMPERATURE: ("temperature", "Temperature", "tC", "tF"),
    SensorKind.HUMIDITY: ("humidity", "Humidity", "rh"),
    SensorKind.OCCUPANCY: ("occupancy", "presence"),
    SensorKind.MOVEMENT_ENERGY: ("moving_energy", "move_energy", "movement_energy", "movement"),
    # Zigbee2MQTT door/window sensors: `contact: true` is CLOSED (the magnet touches).
    SensorKind.CONTACT: ("contact",),
}
# Where a target's distance sits in a presence sensor's JSON (Zigbee2MQTT FP1E: metres).
_DISTANCE_KEYS = ("target_distance", "detection_distance", "distance")
_KEY_UNITS = {"tC": "C", "tF": "F"}
_VIBRATION_ACTIONS = frozenset({"vibration", "tilt", "drop"})
_PLAIN_FORMATS = frozenset({PayloadFormat.PLAIN, PayloadFormat.ESPHOME})
# Devices that always publish a JSON object: a bare value on their topic is not their message
# (a bare `0` read as 0 °C would switch a heater on).
_OBJECT_FORMATS = frozenset({PayloadFormat.ZIGBEE2MQTT, PayloadFormat.TASMOTA})
_SNIFFED_FORMATS = frozenset({PayloadFormat.AUTO, PayloadFormat.SHELLY})
_MISSING = object()
_JSON = json.JSONDecoder()


def parse_payload(
    spec: SensorSpec, payload: bytes, t: float, topic: str | None = None
) -> list[Reading] | Rejection:
    """Readings of `spec.kind` in one MQTT payload that arrived at `t`; never raises.

    A rejection names `topic`, the one the message came on (the sensor's own when not given,
    which under a wildcard sensor is only the filter).
    """
    result = _parse(spec, payload, t)
    if isinstance(result, RejectReason):
        return Rejection(
            result, topic or spec.topic, payload[:EXCERPT_CHARS].decode("utf-8", errors="replace")
        )
    return [result]


def _parse(spec: SensorSpec, payload: bytes, t: float) -> Reading | RejectReason:
    if len(payload) > MAX_PAYLOAD_BYTES:
        return RejectReason.TOO_LARGE
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return RejectReason.NOT_UTF8
    if not text:
        return RejectReason.EMPTY
    kind = spec.kind
    fmt = spec.payload_format
    if fmt is PayloadFormat.HOMEASSISTANT:
        return _home_assistant_state(spec, text, t)
    if kind is SensorKind.MOTION or not (
        fmt in _PLAIN_FORMATS or (fmt in _SNIFFED_FORMATS and text[0] not in "{[")
    ):
        # `text` is stripped, so the document must span all of it. `raw_decode` skips what
        # `json.loads` adds around it (type and BOM checks, two whitespace scans): that is a
        # sixth of the parse of a one-sample accelerometer message.
        try:
            doc, end = _JSON.raw_decode(text)
        except (ValueError, RecursionError):  # RecursionError: pathologically deep nesting
            return RejectReason.MALFORMED_JSON
        if end != len(text):  # data after the document: `{"x":1} x`
            return RejectReason.MALFORMED_JSON
        if fmt in _OBJECT_FORMATS and not isinstance(doc, dict):
            return RejectReason.MISSING_FIELD
        if kind is SensorKind.MOTION:
            node = _at_path(doc, spec.field) if spec.field else doc
            return RejectReason.MISSING_FIELD if node is _MISSING else accel_samples(spec, node, t)
        if kind is SensorKind.VIBRATION:
            node = _at_path(doc, spec.field) if spec.field else doc
            return RejectReason.MISSING_FIELD if node is _MISSING else _vibration(spec, node, t)
        if kind is SensorKind.OCCUPANCY and spec.max_distance_m is not None:
            return _occupancy_by_distance(spec, doc, t)
        value, unit = _find(doc, spec.field, _KEYS[kind], spec.unit)
        if kind is SensorKind.CONTACT and spec.field is None and isinstance(value, bool):
            value = not value  # the `contact` key says closed; the reading says open
        if value is _MISSING:
            return RejectReason.MISSING_FIELD
    else:
        value, unit = text, spec.unit
    return _reading(spec, value, unit, t)


def _reading(spec: SensorSpec, value: Any, unit: str | None, t: float) -> Reading | RejectReason:
    """A scalar of a temperature, humidity, occupancy, movement-energy or vibration-flag sensor."""
    if spec.kind is SensorKind.TEMPERATURE:
        temp = temperature_c(value, unit)
        if isinstance(temp, RejectReason):
            return temp
        return TemperatureReading(spec.room, spec.sensor_id, t, temp)
    if spec.kind is SensorKind.HUMIDITY:
        humidity = humidity_pct(value)
        if isinstance(humidity, RejectReason):
            return humidity
        return HumidityReading(spec.room, spec.sensor_id, t, humidity)
    if spec.kind is SensorKind.MOVEMENT_ENERGY:
        energy = energy_pct(value)
        if isinstance(energy, RejectReason):
            return energy
        return MovementEnergyReading(spec.room, spec.sensor_id, t, energy)
    if spec.kind is SensorKind.CONTACT:  # "on"/"open"/true is open, as HA's binary_sensor
        opened = flag(value)
        if isinstance(opened, RejectReason):
            return opened
        return ContactReading(spec.room, spec.sensor_id, t, opened)
    if spec.kind is SensorKind.OCCUPANCY and spec.max_distance_m is not None:
        distance = number(value)
        if not isinstance(distance, RejectReason):  # else an ON/OFF presence topic after all
            return _in_bed_at(spec, distance, unit or "cm", t)
    state = flag(value)
    if isinstance(state, RejectReason):
        return state
    if spec.kind is SensorKind.OCCUPANCY:
        return OccupancyReading(spec.room, spec.sensor_id, t, state)
    # a vibration sensor's plain flag (e.g. an ESPHome binary_sensor): only "on" is an event
    if not state:
        return RejectReason.UNAVAILABLE
    return VibrationReading(spec.room, spec.sensor_id, t, None, None)


def _home_assistant_state(spec: SensorSpec, text: str, t: float) -> Reading | RejectReason:
    """An HA entity's state object: its `state` text, in the unit its attributes name.

    HA states are strings ("21.5", "on", "unknown", "unavailable"); a temperature entity says
    its unit in `unit_of_measurement` ("°F" is converted). A vibration or motion binary sensor
    turning "on" is one movement event.
    """
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return RejectReason.MALFORMED_JSON
    if not isinstance(doc, dict) or "state" not in doc:
        return RejectReason.MISSING_FIELD
    attributes = doc.get("attributes")
    unit = attributes.get("unit_of_measurement") if isinstance(attributes, dict) else None
    return _reading(spec, doc["state"], spec.unit or (unit if isinstance(unit, str) else None), t)


def _occupancy_by_distance(spec: SensorSpec, doc: Any, t: float) -> Reading | RejectReason:
    """In bed from a JSON presence report: present, and the target within `max_distance_m`."""
    presence, _ = _find(doc, None, _KEYS[SensorKind.OCCUPANCY], None)
    if presence is not _MISSING:
        state = flag(presence)
        if isinstance(state, RejectReason):
            return state
        if not state:
            return OccupancyReading(spec.room, spec.sensor_id, t, False)
    distance, _ = _find(doc, spec.field, _DISTANCE_KEYS, None)
    if distance is _MISSING:
        if presence is _MISSING:
            return RejectReason.MISSING_FIELD
        return OccupancyReading(spec.room, spec.sensor_id, t, True)  # no distance: presence
    value = number(distance)
    if isinstance(value, RejectReason):
        return value
    return _in_bed_at(spec, value, spec.unit or "m", t)


def _in_bed_at(spec: SensorSpec, distance: float, unit: str, t: float) -> Reading | RejectReason:
    """Occupied when a target is there (distance above 0) and no farther than the bed's edge."""
    metres = distance_m(distance, unit)
    if isinstance(metres, RejectReason):
        return metres
    limit = spec.max_distance_m or 0.0
    return OccupancyReading(spec.room, spec.sensor_id, t, 0.0 < metres <= limit)


def _vibration(spec: SensorSpec, node: Any, t: float) -> Reading | RejectReason:
    if not isinstance(node, dict):
        return _reading(spec, node, None, t)
    action = node.get("action", _MISSING)
    vibrating = node.get("vibration", _MISSING)
    # A list or object as "action" is garbage, not a key to look up (it is unhashable).
    known = action if isinstance(action, str) and action in _VIBRATION_ACTIONS else None
    if known is None and vibrating is not True:
        if action is _MISSING and vibrating is _MISSING:
            return RejectReason.MISSING_FIELD
        return RejectReason.UNAVAILABLE
    return VibrationReading(
        spec.room,
        spec.sensor_id,
        t,
        known,
        _optional_number(node.get("strength")),
        _optional_number(node.get("angle_x")),
        _optional_number(node.get("angle_y")),
        _optional_number(node.get("angle_z")),
    )


def _optional_number(value: Any) -> float | None:
    result = number(value)
    return None if isinstance(result, RejectReason) else result


def _find(
    doc: Any, field: str | None, keys: tuple[str, ...], spec_unit: str | None
) -> tuple[Any, str | None]:
    """(value, its unit) by `field` path or the kind's keys; unit precedence as in the header."""
    unit = spec_unit
    if unit is None and isinstance(doc, dict):
        payload_unit = doc.get("TempUnit")
        unit = payload_unit if isinstance(payload_unit, str) else None
    if field:
        return _at_path(doc, field), _KEY_UNITS.get(field.rpartition(".")[2], unit)
    if not isinstance(doc, dict | list):
        return doc, unit  # a JSON scalar is the value itself
    level: list[Any] = [doc]
    for _ in range(_SEARCH_DEPTH):
        below: list[dict[str, Any]] = []
        for node in level:
            if not isinstance(node, dict):
                continue
            for key in keys:
                if key in node:
                    return node[key], _KEY_UNITS.get(key, unit)
            below.extend(v for v in node.values() if isinstance(v, dict))
        level = below
    return _MISSING, None


def _at_path(doc: Any, path: str) -> Any:
    """The value at a dotted path ("params.temperature:0.tC", "a.0.b"), or _MISSING."""
    node = doc
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part, _MISSING)
        elif isinstance(node, list) and part.isascii() and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
        if node is _MISSING:
            return node
    return node
