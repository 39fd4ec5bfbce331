"""RoomCore: how detection, comfort and automations talk to each other in one room."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from integration.core.automations import Automations
from integration.core.comfort import ActuatorSpec, ComfortSettings, Role
from integration.core.events import MovementEvent, MovementKind, Notice
from integration.core.intents import CallService, PublishMqtt, SetBand, SwitchActuator
from integration.core.readings import OccupancyReading, Reading, TemperatureReading
from integration.core.room import (
    COMFORT_STEP_S,
    SIDE_REPEAT_S,
    Outputs,
    RoomCore,
    SensorWatch,
)
from integration.core.rules import RuleSet

ZONE = ZoneInfo("Europe/London")
# 00:30 local on a winter night: the shipped deep_sleep band (16.5-18.5 °C) is in force.
NIGHT = datetime(2026, 1, 15, 0, 30, tzinfo=ZONE).timestamp()
FAN = ActuatorSpec("fan", Role.FAN)
HEATER = ActuatorSpec("heater", Role.HEATER)


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
        lambda intent: (),  # what goes out is tests/adapters/test_actions.py's business
    )
    core.detector = ScriptedDetector()  # type: ignore[assignment]
    return core


def switched(out: Outputs) -> list[tuple[str, bool]]:
    return [(i.actuator_id, i.on) for i in out.intents if isinstance(i, SwitchActuator)]


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
    (action,) = out.intents
    assert isinstance(action, SetBand)
    assert (action.low_c, action.high_c, action.why["rule"], action.why["count"]) == (
        16.0,
        17.5,
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
    published = [a for a in out.intents if isinstance(a, PublishMqtt)]
    assert len(published) == 1
    assert published[0].t >= NIGHT + 900
    assert published[0].payload == "bedroom"


def test_comfort_switches_a_fan_and_a_heater() -> None:
    core = room(RuleSet(), (FAN, HEATER))
    out = Outputs()
    core.feed(temperature(NIGHT, 20.0), NIGHT, out)
    # Too warm: the fan goes on; the heater is switched off so its state is known.
    assert switched(out) == [("fan", True), ("heater", False)]
    later = NIGHT + 3600
    out = Outputs()
    core.feed(temperature(later, 15.0), later, out)
    assert ("fan", False) in switched(out)
    assert ("heater", True) in switched(out)


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
    # The bed sensor never spoke at all: said too, with what to check, as a sensor problem.
    (never,) = [n for n in out.notices if n.code == "sensor_never_seen"]
    assert never.sensor_id == "accel"
    assert 300 < never.t - NIGHT < 320
    assert "publishing on the topic the config gives it" in never.message
    assert core.status(NIGHT + 2000)["sensor_problem"] is True
    assert [a.topic for a in out.intents if isinstance(a, PublishMqtt)] == ["house/stale"] * 2
    core.feed(temperature(NIGHT + 2000, 17.0), NIGHT + 2000, out)
    for t in range(int(NIGHT) + 2000, int(NIGHT) + 4000, 10):
        core.tick(float(t), out)
    assert len([n for n in out.notices if n.code == "sensor_stale"]) == 2
    assert len([n for n in out.notices if n.code == "sensor_never_seen"]) == 1


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
    assert out.intents == []
    core.feed(OccupancyReading("bedroom", "bed", NIGHT, occupied=False), NIGHT, out)
    (action,) = out.intents
    assert isinstance(action, CallService)
    assert (action.t, action.service, action.data["brightness_pct"]) == (
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
    assert switched(out) == [("fan", True)]
    out = Outputs()
    core.replace_rules(rules, NIGHT + 5, out)
    assert [(a.topic, a.payload) for a in out.intents if isinstance(a, PublishMqtt)] == [
        ("house/rules", "new")
    ]
    assert len(out.intents) == 1
    out = Outputs()
    core.feed(temperature(NIGHT + 10, 20.0), NIGHT + 10, out)
    assert out.intents == []  # the fan is known to be on: nothing commanded twice


def test_a_clock_set_back_an_hour_keeps_the_room_controlled_on_ticks_alone() -> None:
    core = room(RuleSet(), (FAN,))
    out = Outputs()
    core.feed(temperature(NIGHT, 20.0), NIGHT, out)
    assert switched(out) == [("fan", True)]
    out = Outputs()
    core.feed(temperature(NIGHT + 60, 15.0), NIGHT + 60, out)
    assert out.intents == []  # cool now, but the fan has run only 60 of its 300 s
    # The wall clock is stepped an hour back; only ticks follow (no sensor reports).
    back = NIGHT + 60 - 3600
    switched_off_at = None
    for now in range(int(back), int(back) + 400, int(COMFORT_STEP_S)):
        out = Outputs()
        core.tick(now, out)
        if out.intents:
            assert switched(out) == [("fan", False)]
            assert len(out.intents) == 1
            switched_off_at = now
            break
    assert switched_off_at == back + 240  # the rest of its 300 s run, on the new clock


def test_automations_chasing_each_others_bands_end_with_each_rule_fired_once() -> None:
    # Each band puts the room on the other side, which fires the other rules: a ping-pong.
    chase = [
        {
            "id": f"{side}_{i}",
            "when": [{"trigger": f"temperature_{side}_band"}],
            "then": [{"action": "set_comfort_band", "low_c": low, "high_c": high}],
        }
        for i in range(3)
        for side, low, high in (("below", 15.0, 16.0), ("above", 18.0, 19.0))
    ]
    core = room(RuleSet(automations=automations(*chase)))
    out = Outputs()
    core.set_band(18.0, 19.0, NIGHT, out)
    core.feed(temperature(NIGHT, 17.0), NIGHT, out)  # below 18-19: the chase begins
    bands = [i for i in out.intents if isinstance(i, SetBand)]
    assert sorted(str(b.why["rule"]) for b in bands) == sorted(str(r["id"]) for r in chase)
