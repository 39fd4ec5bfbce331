"""What goes out: the one translation of the core's intents into HA service calls and MQTT publishes.

The core says what it wants in the user's terms (switch the fan on, give the climate actuator
heat at 19 °C, tell the person); this module knows how each actuator of a room is reached, from
its config: an HA entity (`<domain>.turn_on`/`turn_off`, `climate.set_hvac_mode`,
`climate.set_temperature`) or an MQTT command topic with its on/off payloads. A notification is
HA's persistent notification, plus the user's notify service when one is named. What a user's
automation rule names (a service, a topic) passes through unchanged.

The result is the `Action` record that history, the outbox, the API and `replay --json` keep.
Pure: no I/O, so `run` and `replay` translate alike (the pipeline calls it for both).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from integration.config import ActuatorConfig, RoomConfig
from integration.core.events import Action, ActionKind, WhyValue
from integration.core.intents import (
    CallService,
    Intent,
    Notify,
    PublishMqtt,
    SetBand,
    SetClimate,
    SwitchActuator,
)
from integration.core.summary import NightSummary

__all__ = [
    "COMFORT_BAND_TARGET",
    "PERSISTENT_NOTIFICATION",
    "STATISTICS_SOURCE",
    "ActionTranslator",
    "night_statistics",
]

_LOGGER = logging.getLogger(__name__)

# https://www.home-assistant.io/integrations/persistent_notification/
PERSISTENT_NOTIFICATION = "persistent_notification.create"
# https://www.home-assistant.io/integrations/climate/#action-climateset_hvac_mode
CLIMATE_SET_HVAC_MODE = "climate.set_hvac_mode"
# https://www.home-assistant.io/integrations/climate/#action-climateset_temperature
CLIMATE_SET_TEMPERATURE = "climate.set_temperature"
# HA's climate entities take a target to a tenth of a degree (in °C: HA must use metric).
_TARGET_DECIMALS = 1
# The target of an automation's band change in history: the service's own, not HA's.
COMFORT_BAND_TARGET = "comfort_band"
# HA's long-term statistics of our own ("external statistics"): ids `smart_bedroom:<object>`.
# https://developers.home-assistant.io/docs/core/entity/sensor/#long-term-statistics
STATISTICS_SOURCE = "smart_bedroom"
# The figures kept one value a night: (object id suffix, name, unit, value of a summary).
_NIGHT_FIGURES: tuple[tuple[str, str, str | None, Callable[[NightSummary], float | None]], ...] = (
    ("spasms_per_night", "spasm-like events per night", None, lambda s: float(s.spasm_count)),
    (
        "restless_minutes_per_night",
        "restless minutes per night",
        "min",
        lambda s: s.restless_total_min,
    ),
    (
        "time_in_band_per_night",
        "time in band per night",
        "%",
        lambda s: None if s.in_band_share is None else 100 * s.in_band_share,
    ),
    (
        "sleep_efficiency_per_night",
        "sleep efficiency estimate per night",
        "%",
        lambda s: None if s.sleep is None else 100 * s.sleep.efficiency,
    ),
)


class ActionTranslator:
    """Turns intents into actions, knowing every room's actuators by id."""

    def __init__(self, rooms: Iterable[RoomConfig]) -> None:
        self._actuators: Mapping[tuple[str, str], ActuatorConfig] = {
            (room.id, actuator.id): actuator for room in rooms for actuator in room.actuators
        }

    def __call__(self, intent: Intent) -> tuple[Action, ...]:
        """The actions that carry out `intent`, in the order they go out."""
        room, t, why = intent.room, intent.t, intent.why
        match intent:
            case SwitchActuator() | SetClimate():
                actuator = self._actuators.get((room, intent.actuator_id))
                if actuator is None:  # the core knows only configured actuators
                    _LOGGER.error("room %s: no actuator %s configured", room, intent.actuator_id)
                    return ()
                if isinstance(intent, SwitchActuator):
                    return (_switch(actuator, intent),)
                return _climate(actuator, intent)
            case Notify():
                data: dict[str, WhyValue] = {
                    "title": intent.title,
                    "message": intent.message,
                    "notification_id": f"smart_bedroom_{room}_{intent.key}",
                }
                targets = [PERSISTENT_NOTIFICATION]
                if intent.service is not None:
                    targets.append(intent.service)
                return tuple(Action(room, t, ActionKind.NOTIFY, x, data, why) for x in targets)
            case CallService():
                return (Action(room, t, ActionKind.HA_SERVICE, intent.service, intent.data, why),)
            case PublishMqtt():
                data = {"payload": intent.payload, "retain": intent.retain}
                return (Action(room, t, ActionKind.MQTT_PUBLISH, intent.topic, data, why),)
            case SetBand():
                data = {"low_c": intent.low_c, "high_c": intent.high_c}
                return (Action(room, t, ActionKind.SET_TARGET, COMFORT_BAND_TARGET, data, why),)


def _switch(actuator: ActuatorConfig, intent: SwitchActuator) -> Action:
    room, t, why = intent.room, intent.t, intent.why
    if actuator.command_topic is not None:
        payload = actuator.payload_on if intent.on else actuator.payload_off
        data: dict[str, WhyValue] = {"payload": payload}
        return Action(room, t, ActionKind.MQTT_PUBLISH, actuator.command_topic, data, why)
    entity_id = actuator.entity_id or ""  # config gives exactly one of the two
    domain = entity_id.split(".", 1)[0]
    service = f"{domain}.turn_on" if intent.on else f"{domain}.turn_off"
    return Action(room, t, ActionKind.HA_SERVICE, service, {"entity_id": entity_id}, why)


def _climate(actuator: ActuatorConfig, intent: SetClimate) -> tuple[Action, ...]:
    room, t, why = intent.room, intent.t, intent.why
    entity_id = actuator.entity_id or ""  # config: a climate actuator is a climate entity
    actions: list[Action] = []
    if intent.mode is not None:
        data: dict[str, WhyValue] = {"entity_id": entity_id, "hvac_mode": intent.mode}
        actions.append(Action(room, t, ActionKind.HA_SERVICE, CLIMATE_SET_HVAC_MODE, data, why))
    if intent.target_c is not None:
        target = round(intent.target_c, _TARGET_DECIMALS)
        data = {"entity_id": entity_id, "temperature": target}
        actions.append(Action(room, t, ActionKind.HA_SERVICE, CLIMATE_SET_TEMPERATURE, data, why))
    return tuple(actions)


def night_statistics(summary: NightSummary) -> tuple[Action, ...]:
    """A closed night's figures as HA long-term statistics: one hourly row each, at its noon.

    HA's own statistics of a "last night" sensor are hourly means of whatever it showed, so a
    day's value blends the night that ended that morning with the one shown since; a row of our
    own per night keeps the nights apart. Local noon of the night's date (rounded down to the
    UTC hour, as HA keeps hours) puts the row on that date in any daily chart; sent again, the
    same row is overwritten, so a label given later corrects it.
    """
    day = datetime.fromisoformat(summary.night_date).date()
    noon = datetime.combine(day, time(12), ZoneInfo(summary.zone))
    start = noon.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    room_slug = re.sub(r"_+", "_", summary.room).strip("_")
    actions = []
    for suffix, name, unit, value_of in _NIGHT_FIGURES:
        value = value_of(summary)
        if value is None:
            continue
        data: dict[str, WhyValue] = {
            "statistic_id": f"{STATISTICS_SOURCE}:{room_slug}_{suffix}",
            "name": f"{summary.room_name} {name}",
            "unit": unit,
            "start": start.isoformat(),
            "value": round(value, 2),
        }
        why: dict[str, WhyValue] = {"night": summary.night_date}
        actions.append(
            Action(summary.room, summary.wake_time, ActionKind.STATISTICS, "statistics", data, why)
        )
    return tuple(actions)
