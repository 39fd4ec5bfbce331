"""Transport values: MQTT messages as they arrive, and how a configured sensor's are read.

The core never sees these: the pipeline routes an `InboundMessage` by topic to the sensors it
feeds and the payload parsers turn it into readings, using each sensor's `SensorSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from integration.core.readings import SensorKind

__all__ = ["InboundMessage", "PayloadFormat", "SensorSpec"]


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One MQTT message stamped with its arrival time (HA's ReceiveMessage.timestamp idea)."""

    t: float
    topic: str
    payload: bytes


class PayloadFormat(StrEnum):
    """The vendor shape a sensor's payload comes in."""

    AUTO = "auto"  # plain number/ON/OFF, or JSON with the kind's usual keys
    PLAIN = "plain"  # a bare number or ON/OFF, true/false, 1/0
    JSON = "json"  # a JSON document; `field` is a dotted path to the value
    ZIGBEE2MQTT = "zigbee2mqtt"
    ESPHOME = "esphome"
    TASMOTA = "tasmota"
    SHELLY = "shelly"
    HOMEASSISTANT = "homeassistant"  # an HA entity's state: {"state": "19.5", "attributes": {…}}


# Messages from HA entities travel as MQTT's do, on a topic of their own that no broker carries:
# the pipeline, recordings and raw nights then treat both sources alike.
HA_ENTITY_TOPIC_PREFIX = "$homeassistant/"


def ha_entity_topic(entity_id: str) -> str:
    """The pseudo-topic of an HA entity's state messages (`$` topics are never published)."""
    return HA_ENTITY_TOPIC_PREFIX + entity_id


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """One configured sensor, from validated config: where it reports and how to read it."""

    room: str
    sensor_id: str
    kind: SensorKind
    topic: str
    payload_format: PayloadFormat = PayloadFormat.AUTO
    field: str | None = (
        None  # dotted JSON path, e.g. "DS18B20.Temperature" or "params.temperature:0.tC"
    )
    unit: str | None = None  # "C"/"F" for temperature, "g"/"m/s2" for motion; None = format default
    rate_hz: float | None = None  # expected sample rate of a single-sample accelerometer
    # Occupancy from an mmWave sensor's target distance: in bed when a target is this close.
    max_distance_m: float | None = None
