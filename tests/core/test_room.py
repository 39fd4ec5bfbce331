"""RoomCore: how detection, comfort and automations talk to each other in one room."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from integration.core.automations import Automations
from integration.core.comfort import ActuatorSpec, ComfortSettings, Role
from integration.core.events import ActionKind, MovementEvent, MovementKind, Notice
from integration.core.readings import OccupancyReading, Reading, TemperatureReading
from integration.core.room import COMFORT_STEP_S, SIDE_REPEAT_S, Outputs, RoomCore, SensorWatch
from integration.core.rules import RuleSet

ZONE = ZoneInfo("Europe/London")
# 00:30 local on a winter night: the shipped deep_sleep band (16.5-18.5 °C) is in force.
NIGHT = datetime(2026, 1, 15, 0, 30, tzinfo=ZONE).timestamp()
FAN = ActuatorSpec("fan", Role.FAN, command_topic="cmnd/fan/POWER")
HEATER = ActuatorSpec("heater", Role.HEATER, entity_id="switch.heater")


class ScriptedDetector:
    """Stands in for the motion detector: returns the events a test queues."""

    def __init__(self) -> None:
        self.in_bed: bool | None = True
        self.queued: list[MovementEvent | Notice] = []

    def feed(self, reading: Reading) -> list[MovementEvent | Notice]:
        if isinstance(reading, OccupancyReading):
            self.in_bed = reading.occupied
        out, self.queued = self.queued, []
        return out

    def tick(self, now: float) -> list[MovementEvent | Notice]:
        out, self.queued = self.queued, []
        return out


def automations(*rules: dict[str, Any]) -> Automations:
    return Automations.model_validate(list(rules))


def room(rules: RuleSet, actuators: tuple[ActuatorSpec, ...] = ()) -> RoomCore:
    core = RoomCore(
        "bedroom",
        "Bedroom",
        actuators,
        [SensorWatch("temp", 900.0), SensorWatch("accel", 300.0)],
        rules,
        ZONE,
    )
    core.detector = ScriptedDetector()  # type: ignore[assignment]
    return core


def jerk(t: float) -> MovementEvent:
    return MovementEvent("bedroom", MovementKind.JERK, t - 1, t, 6.0, 0.9, True)


def temperature(t: float, celsius: float) -> TemperatureReading:
    return TemperatureReading("bedroom", "temp", t, celsius)


def test_third_spasm_lowers_the_band_for_the_rest_of_the_night() -> None:
    rules = RuleSet(
        automations=automations(
            {
                "id": "cooler",
                "when": [{"trigger": "spasm"}],
                "if": [{"condition": "count", "min": 3, "window_s": 600}],
                "then": [{"action": "set_comfort_band", "low_c": 16.0, "high_c": 17.5}],
            }
        )
    )
    core = room(rules)
    detector = core.detector
    assert isinstance(detector, ScriptedDetector)
    out = Outputs()
    core.feed(temperature(NIGHT, 17.0), NIGHT, out)
    for i in range(3):
        detector.queued.append(jerk(NIGHT + 60 * i))
        core.tick(NIGHT + 60 * i, out)
    assert [e.kind for e in out.events] == [MovementKind.JERK] * 3
    assert [e.detected_at for e in out.events] == [NIGHT, NIGHT + 60, NIGHT + 120]
    (action,) = out.actions
    assert (action.kind, action.why["rule"], action.why["count"]) == (
        ActionKind.SET_TARGET,
        "cooler",
        3,
    )
    _, band = core.comfort.status(NIGHT + 200)
    assert (band.low_c, band.high_c) == (16.0, 17.5)


def test_above_band_is_repeated_so_a_held_trigger_fires_after_its_time() -> None:
    rules = RuleSet(
        automations=automations(
            {
                "id": "warm",
                "when": [{"trigger": "temperature_above_band", "for_s": 900}],
                "then": [{"action": "mqtt_publish", "topic": "house/warm", "payload": "{room}"}],
            }
        )
    )
    core = room(rules)
    out = Outputs()
    t = NIGHT
    while t <= NIGHT + 900 + SIDE_REPEAT_S:
        if (t - NIGHT) % 300 == 0:
            core.feed(temperature(t, 19.5), t, out)  # above the 18.5 °C deep-sleep high
        core.tick(t, out)
        t += COMFORT_STEP_S
    published = [a for a in out.actions if a.kind is ActionKind.MQTT_PUBLISH]
    assert len(published) == 1
    assert published[0].t >= NIGHT + 900
    assert published[0].data["payload"] == "bedroom"


def test_comfort_switches_an_mqtt_fan_and_an_ha_heater() -> None:
    core = room(RuleSet(), (FAN, HEATER))
    out = Outputs()
    core.feed(temperature(NIGHT, 20.0), NIGHT, out)
    # Too warm: the fan goes on; the heater is switched off so its state is known.
    assert [(a.kind, a.target, a.data.get("payload")) for a in out.actions] == [
        (ActionKind.MQTT_PUBLISH, "cmnd/fan/POWER", "ON"),
        (ActionKind.HA_SERVICE, "switch.turn_off", None),
    ]
    later = NIGHT + 3600
    out = Outputs()
    core.feed(temperature(later, 15.0), later, out)
    targets = [(a.kind, a.target) for a in out.actions]
    assert (ActionKind.MQTT_PUBLISH, "cmnd/fan/POWER") in targets
    assert (ActionKind.HA_SERVICE, "switch.turn_on") in targets


def test_a_silent_sensor_is_reported_once_and_cleared_by_its_next_reading() -> None:
    rules = RuleSet(
        automations=automations(
            {
                "id": "stale",
                "when": [{"trigger": "sensor_stale"}],
                "then": [{"action": "mqtt_publish", "topic": "house/stale", "payload": "x"}],
                "cooldown_s": 1,
            }
        ),
        comfort=ComfortSettings(),
    )
    core = room(rules)
    out = Outputs()
    core.feed(temperature(NIGHT, 17.0), NIGHT, out)
    for t in range(int(NIGHT), int(NIGHT) + 2000, 10):
        core.tick(float(t), out)
    stale = [n for n in out.notices if n.code == "sensor_stale"]
    assert [(n.sensor_id, n.t > NIGHT + 900) for n in stale] == [("temp", True)]
    assert [a.target for a in out.actions if a.kind is ActionKind.MQTT_PUBLISH] == ["house/stale"]
    core.feed(temperature(NIGHT + 2000, 17.0), NIGHT + 2000, out)
    for t in range(int(NIGHT) + 2000, int(NIGHT) + 4000, 10):
        core.tick(float(t), out)
    assert len([n for n in out.notices if n.code == "sensor_stale"]) == 2


def test_getting_up_signals_at_once_not_when_back() -> None:
    rules = RuleSet(
        automations=automations(
            {
                "id": "lamp",
                "when": [{"trigger": "out_of_bed"}],
                "then": [
                    {
                        "action": "ha_service",
                        "service": "light.turn_on",
                        "data": {"entity_id": "light.lamp", "brightness_pct": 5},
                    }
                ],
            }
        )
    )
    core = room(rules)
    out = Outputs()
    core.feed(OccupancyReading("bedroom", "bed", NIGHT - 600, occupied=True), NIGHT - 600, out)
    assert out.actions == []
    core.feed(OccupancyReading("bedroom", "bed", NIGHT, occupied=False), NIGHT, out)
    (action,) = out.actions
    assert (action.t, action.target, action.data["brightness_pct"]) == (
        NIGHT,
        "light.turn_on",
        5,
    )


def test_reloaded_rules_are_announced_and_keep_what_the_controller_commanded() -> None:
    rules = RuleSet(
        automations=automations(
            {
                "id": "said",
                "when": [{"trigger": "rules_reloaded"}],
                "then": [{"action": "mqtt_publish", "topic": "house/rules", "payload": "new"}],
            }
        )
    )
    core = room(rules, (FAN,))
    out = Outputs()
    core.feed(temperature(NIGHT, 20.0), NIGHT, out)
    assert [a.data.get("payload") for a in out.actions] == ["ON"]
    out = Outputs()
    core.replace_rules(rules, NIGHT + 5, out)
    assert [(a.target, a.data["payload"]) for a in out.actions] == [("house/rules", "new")]
    out = Outputs()
    core.feed(temperature(NIGHT + 10, 20.0), NIGHT + 10, out)
    assert out.actions == []  # the fan is known to be on: nothing commanded twice


def test_a_clock_set_back_an_hour_keeps_the_room_controlled_on_ticks_alone() -> None:
    core = room(RuleSet(), (FAN,))
    out = Outputs()
    core.feed(temperature(NIGHT, 20.0), NIGHT, out)
    assert [a.data.get("payload") for a in out.actions] == ["ON"]
    out = Outputs()
    core.feed(temperature(NIGHT + 60, 15.0), NIGHT + 60, out)
    assert out.actions == []  # cool now, but the fan has run only 60 of its 300 s
    # The wall clock is stepped an hour back; only ticks follow (no sensor reports).
    back = NIGHT + 60 - 3600
    switched_off_at = None
    for now in range(int(back), int(back) + 400, int(COMFORT_STEP_S)):
        out = Outputs()
        core.tick(now, out)
        if out.actions:
            assert [a.data.get("payload") for a in out.actions] == ["OFF"]
            switched_off_at = now
            break
    assert switched_off_at == back + 240  # the rest of its 300 s run, on the new clock
