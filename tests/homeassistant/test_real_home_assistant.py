"""Our MQTT discovery in a real Home Assistant 2024.3.3 core: entities, states, events, dashboard.

Opt-in (`-m homeassistant`): needs the HA venv that `.ci/ha-venv` builds; fails without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import paho.mqtt.client
import paho.mqtt.publish
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from ruamel.yaml import YAML

from integration import __version__
from integration.adapters.actions import PERSISTENT_NOTIFICATION, night_statistics
from integration.adapters.ha_discovery import (
    EVENT_TYPES,
    BandCommand,
    PauseCommand,
    SummaryNowCommand,
    command_topics,
    discovery_messages,
    learned_message,
    movement_message,
    parse_command,
    room_topics,
)
from integration.adapters.ha_rest import HomeAssistantActions
from integration.adapters.store import Store
from integration.clock import ScaledClock
from integration.config import ServiceConfig
from integration.core.events import Action, ActionKind, MovementEvent, MovementKind
from integration.core.summary import NightAccumulator, NightSummary, SleepEstimate, render_text
from integration.service import Service
from tests.homeassistant.hass import DASHBOARD, DASHBOARD_URL_PATH, HomeAssistant
from tests.mosquitto import Mosquitto

pytestmark = pytest.mark.homeassistant

BED_TIME = datetime(2026, 11, 23, 22, 30, tzinfo=UTC).timestamp()
# The only warnings a clean start of this HA logs: --skip-pip and Python 3.11's end of support.
EXPECTED_WARNINGS = ("Skipping pip installation", "running Python version 3.11")
STATE = {
    "temperature_c": 19.4,
    "band_low_c": 17.0,
    "band_high_c": 19.0,
    "comfort_status": "cooling",
    "in_bed": "ON",
    "restless": "OFF",
    "sensor_problem": "OFF",
    "spasms_tonight": 3,
    "paused": "OFF",
    "override_low_c": None,
    "override_high_c": 18.5,
}
NULL_STATE = {
    **STATE,
    "temperature_c": None,
    "band_low_c": None,
    "band_high_c": None,
    "comfort_status": "blind",
    "in_bed": None,
    "override_high_c": None,
}


def service_config(ha: HomeAssistant, room_id: str, name: str) -> ServiceConfig:
    return ServiceConfig.model_validate(
        {
            # One base topic (and will) per room: taking one room offline leaves the others.
            "mqtt": {"base_topic": f"sb-{ha.discovery_prefix}-{room_id}"},
            "homeassistant": {"enabled": False, "discovery_prefix": ha.discovery_prefix},
            "rooms": [
                {
                    "id": room_id,
                    "name": name,
                    "sensors": [{"id": "t", "kind": "temperature", "topic": f"z2m/{room_id}"}],
                }
            ],
        }
    )


def night_summary(room_id: str, name: str) -> NightSummary:
    """A hand-made night: 8 h, 19 °C then 20.5 °C in a 17-19.5 °C band, 5 jerks, one restless."""
    night = NightAccumulator(room_id, name, BED_TIME, ZoneInfo("UTC"))
    for minute in range(8 * 60):
        night.add_temperature(BED_TIME + minute * 60, 19.0 if minute < 300 else 20.5, 17.0, 19.5)
    for index in range(5):
        start = BED_TIME + 3600 + index * 30
        night.add_event(
            MovementEvent(room_id, MovementKind.JERK, start, start + 1, 4.0, 0.9, spasm_like=True)
        )
    for kind, t in (
        (MovementKind.RESTLESS_START, 7200.0),
        (MovementKind.RESTLESS_END, 7200.0 + 750),
    ):
        night.add_event(MovementEvent(room_id, kind, BED_TIME + t, BED_TIME + t, 1.0, 0.8, False))
    return night.finish(BED_TIME + 8 * 3600)


def summary_payload(summary: NightSummary) -> dict[str, Any]:
    return {**summary.to_dict(), "text": render_text(summary), "night": summary.night_date}


def publish(broker: Mosquitto, messages: list[tuple[str, str]], *, retain: bool) -> None:
    paho.mqtt.publish.multiple(
        [{"topic": t, "payload": p, "qos": 1, "retain": retain} for t, p in messages],
        hostname=broker.host,
        port=broker.port,
    )


def publish_room(broker: Mosquitto, config: ServiceConfig, state: dict[str, Any]) -> None:
    """What the service publishes: discovery, will, rules problem and the room's state."""
    base = config.mqtt.base_topic
    room = config.rooms[0].id
    publish(
        broker,
        [
            *discovery_messages(config, __version__, support_url="https://example.org/sb"),
            (config.availability_topic, "online"),
            (f"{base}/rules/problem", "ON"),
            (f"{base}/rules/problem/attributes", json.dumps({"errors": ["rules/x.yaml:3: bad"]})),
            (room_topics(base, room).state, json.dumps(state)),
        ],
        retain=True,
    )


def entity_ids(room: str) -> dict[str, str]:
    """Entity id -> expected unit (or "" for none) of every entity of a room."""
    return {
        f"sensor.{room}_temperature": "°C",
        f"sensor.{room}_comfort_low": "°C",
        f"sensor.{room}_comfort_high": "°C",
        f"sensor.{room}_comfort_status": "",
        f"sensor.{room}_spasms_tonight": "",
        f"sensor.{room}_last_night_spasms": "",
        f"sensor.{room}_last_night_restless_minutes": "min",
        f"sensor.{room}_last_night_time_in_band": "%",
        f"sensor.{room}_last_night_sleep_efficiency": "%",
        f"sensor.{room}_last_night": "",
        f"sensor.{room}_tonight_so_far": "",
        f"binary_sensor.{room}_in_bed": "",
        f"binary_sensor.{room}_restless": "",
        f"binary_sensor.{room}_sensor_problem": "",
        f"binary_sensor.{room}_rules_problem": "",
        f"binary_sensor.{room}_delivery_problem": "",
        f"event.{room}_movement": "",
        f"number.{room}_comfort_band_low": "°C",
        f"number.{room}_comfort_band_high": "°C",
        f"switch.{room}_pause": "",
        f"button.{room}_summary_now": "",
        f"button.{room}_confirm_spasm": "",
        f"button.{room}_reject_spasm": "",
        f"button.{room}_report_spasm": "",
        f"sensor.{room}_latest_spasm_label": "",
        f"sensor.{room}_last_movement": "",
        f"binary_sensor.{room}_window_open": "",
        f"sensor.{room}_heating_rate_c_per_h": "°C/h",
        f"sensor.{room}_cooling_rate_c_per_h": "°C/h",
        f"sensor.{room}_room_lag_min": "min",
        f"sensor.{room}_heating_overshoot_c": "°C",
        f"sensor.{room}_cooling_overshoot_c": "°C",
        f"sensor.{room}_learned_at": "",
    }


def problems_in_log(ha: HomeAssistant, since: int) -> list[str]:
    """Errors and unexpected warnings HA logged after `since` (template and payload problems)."""
    return [
        line
        for line in ha.log_text(since).splitlines()
        if (" ERROR " in line or " WARNING " in line)
        and not any(expected in line for expected in EXPECTED_WARNINGS)
    ]


def wait_for_states(ha: HomeAssistant, expected: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Wait until every entity in `expected` has that state; the last states read."""
    seen: dict[str, dict[str, Any]] = {}

    def caught_up() -> bool:
        seen.update(ha.states())
        return all(seen.get(e, {}).get("state") == s for e, s in expected.items())

    ha.wait_until(caught_up, f"states {expected}")
    return seen


def ha_attributes(ha: HomeAssistant, entity_id: str) -> dict[str, Any]:
    attributes: dict[str, Any] = ha.states().get(entity_id, {}).get("attributes", {})
    return attributes


def test_every_entity_has_its_state_unit_and_attributes(
    home_assistant: HomeAssistant, mosquitto: Mosquitto
) -> None:
    log_mark = len(home_assistant.log_text())
    config = service_config(home_assistant, "bedroom", "Bedroom")
    summary = night_summary("bedroom", "Bedroom")
    publish_room(mosquitto, config, STATE)
    summary_topic = room_topics(config.mqtt.base_topic, "bedroom").summary
    publish(mosquitto, [(summary_topic, json.dumps(summary_payload(summary)))], retain=True)

    assert summary.sleep is None  # no accelerometer: the efficiency must show as unknown
    assert summary.in_band_share is not None
    states = wait_for_states(
        home_assistant,
        {
            "sensor.bedroom_temperature": "19.4",
            "sensor.bedroom_comfort_low": "17.0",
            "sensor.bedroom_comfort_high": "19.0",
            "sensor.bedroom_comfort_status": "cooling",
            "sensor.bedroom_spasms_tonight": "3",
            "sensor.bedroom_last_night_spasms": "5",
            "sensor.bedroom_last_night_restless_minutes": "12.5",
            "sensor.bedroom_last_night_time_in_band": str(round(summary.in_band_share * 100, 1)),
            "sensor.bedroom_last_night_sleep_efficiency": "unknown",
            "sensor.bedroom_last_night": "2026-11-23",
            "binary_sensor.bedroom_in_bed": "on",
            "binary_sensor.bedroom_restless": "off",
            "binary_sensor.bedroom_sensor_problem": "off",
            "binary_sensor.bedroom_rules_problem": "on",
            "number.bedroom_comfort_band_low": "17.0",
            "number.bedroom_comfort_band_high": "18.5",
            "switch.bedroom_pause": "off",
            "button.bedroom_summary_now": "unknown",
            "event.bedroom_movement": "unknown",
            "sensor.bedroom_last_movement": "unknown",
        },
    )

    for entity_id, unit in entity_ids("bedroom").items():
        assert states[entity_id]["attributes"].get("unit_of_measurement", "") == unit, entity_id
    attributes = {e: s["attributes"] for e, s in states.items()}
    assert attributes["sensor.bedroom_temperature"]["friendly_name"] == "Bedroom Temperature"
    assert attributes["sensor.bedroom_comfort_status"]["device_class"] == "enum"
    assert attributes["sensor.bedroom_spasms_tonight"]["state_class"] == "total_increasing"
    # Last night's figures reach HA's statistics one row a night (below), never as hourly
    # means of the sensor, which would blend two nights into a day.
    assert "state_class" not in attributes["sensor.bedroom_last_night_spasms"]
    last_night = attributes["sensor.bedroom_last_night"]
    assert last_night["text"] == render_text(summary)
    assert last_night["spasm_count"] == 5
    assert last_night["sleep"] is None
    assert attributes["binary_sensor.bedroom_rules_problem"]["errors"] == ["rules/x.yaml:3: bad"]
    assert attributes["event.bedroom_movement"]["event_types"] == [
        *(kind.value for kind in MovementKind), "summary_ready"
    ]  # fmt: skip
    number = attributes["number.bedroom_comfort_band_low"]
    assert (number["min"], number["max"], number["step"], number["mode"]) == (10, 30, 0.5, "box")
    assert problems_in_log(home_assistant, log_mark) == []


def test_the_movement_event_entity_takes_events(
    home_assistant: HomeAssistant, mosquitto: Mosquitto
) -> None:
    log_mark = len(home_assistant.log_text())
    config = service_config(home_assistant, "guest", "Guest")
    publish_room(mosquitto, config, STATE)
    wait_for_states(home_assistant, {"event.guest_movement": "unknown"})
    event = {
        "event_type": "clonus",
        "start": "2026-11-24T01:00:00+00:00",
        "end": "2026-11-24T01:00:04+00:00",
        "peak": 5.5,
        "confidence": 0.8,
        "spasm_like": True,
    }
    topic = room_topics(config.mqtt.base_topic, "guest").event

    def took_event() -> bool:
        # Events are not retained: one sent before HA has subscribed is lost, so send again.
        publish(mosquitto, [(topic, json.dumps(event))], retain=False)
        return ha_attributes(home_assistant, "event.guest_movement").get("event_type") == "clonus"

    home_assistant.wait_until(took_event, "the clonus event")
    attributes = ha_attributes(home_assistant, "event.guest_movement")
    assert (attributes["peak"], attributes["spasm_like"]) == (5.5, True)
    state = home_assistant.states()["event.guest_movement"]["state"]
    assert datetime.fromisoformat(state).tzinfo is not None  # an event's state is when it fired
    assert problems_in_log(home_assistant, log_mark) == []


def test_nulls_show_as_unknown_and_offline_as_unavailable(
    home_assistant: HomeAssistant, mosquitto: Mosquitto
) -> None:
    log_mark = len(home_assistant.log_text())
    config = service_config(home_assistant, "nursery", "Nursery")
    publish_room(mosquitto, config, NULL_STATE)
    wait_for_states(
        home_assistant,
        {
            "sensor.nursery_temperature": "unknown",
            "sensor.nursery_comfort_low": "unknown",
            "sensor.nursery_comfort_status": "blind",
            "binary_sensor.nursery_in_bed": "unknown",
            "number.nursery_comfort_band_high": "unknown",
            "binary_sensor.nursery_restless": "off",
        },
    )

    publish(mosquitto, [(config.availability_topic, "offline")], retain=True)
    wait_for_states(home_assistant, dict.fromkeys(entity_ids("nursery"), "unavailable"))
    assert problems_in_log(home_assistant, log_mark) == []


def test_ha_controls_send_commands_parse_command_understands(
    home_assistant: HomeAssistant, mosquitto: Mosquitto
) -> None:
    log_mark = len(home_assistant.log_text())
    config = service_config(home_assistant, "study", "Study")
    publish_room(mosquitto, config, STATE)
    wait_for_states(home_assistant, {"switch.study_pause": "off"})
    received: list[tuple[str, bytes]] = []
    listener = paho.mqtt.client.Client(CallbackAPIVersion.VERSION2)
    listener.on_message = lambda _client, _data, message: received.append(
        (message.topic, bytes(message.payload))
    )
    listener.connect(mosquitto.host, mosquitto.port)
    listener.subscribe([(topic, 1) for topic in command_topics(config)])
    listener.loop_start()
    try:
        home_assistant.wait_until(lambda: listener.is_connected(), "the test's MQTT listener")
        calls = [
            ("number/set_value", {"entity_id": "number.study_comfort_band_low", "value": 16.5}),
            ("switch/turn_on", {"entity_id": "switch.study_pause"}),
            ("button/press", {"entity_id": "button.study_summary_now"}),
        ]
        for service, data in calls:
            home_assistant.request("POST", f"/api/services/{service}", data)
        home_assistant.wait_until(lambda: len(received) >= len(calls), "HA's commands")
    finally:
        listener.loop_stop()
        listener.disconnect()

    assert [parse_command(config, topic, payload) for topic, payload in received] == [
        BandCommand("study", "low", 16.5),
        PauseCommand("study", paused=True),
        SummaryNowCommand("study"),
    ]
    assert problems_in_log(home_assistant, log_mark) == []


def test_the_log_check_sees_a_payload_ha_refuses(
    home_assistant: HomeAssistant, mosquitto: Mosquitto
) -> None:
    log_mark = len(home_assistant.log_text())
    config = service_config(home_assistant, "attic", "Attic")
    publish_room(mosquitto, config, STATE)
    wait_for_states(home_assistant, {"event.attic_movement": "unknown"})
    topic = room_topics(config.mqtt.base_topic, "attic").event

    def complained() -> bool:
        publish(mosquitto, [(topic, json.dumps({"event_type": "sneeze"}))], retain=False)
        return bool(problems_in_log(home_assistant, log_mark))

    home_assistant.wait_until(complained, "a warning about the unknown event type")
    assert "Invalid event type sneeze" in "\n".join(problems_in_log(home_assistant, log_mark))


async def test_dashboard_loads_and_names_only_existing_entities(
    home_assistant: HomeAssistant, mosquitto: Mosquitto
) -> None:
    log_mark = len(home_assistant.log_text())
    config = service_config(home_assistant, "bedroom", "Bedroom")
    summary = night_summary("bedroom", "Bedroom")
    publish_room(mosquitto, config, STATE)
    summary_topic = room_topics(config.mqtt.base_topic, "bedroom").summary
    publish(mosquitto, [(summary_topic, json.dumps(summary_payload(summary)))], retain=True)
    wait_for_states(home_assistant, {"sensor.bedroom_last_night": summary.night_date})

    dashboard = await websocket_command(
        home_assistant, {"type": "lovelace/config", "url_path": DASHBOARD_URL_PATH}
    )
    assert dashboard == YAML(typ="safe").load(DASHBOARD.read_text())
    named = set(dashboard_entities(dashboard))
    statistics = {name for name in named if name.startswith("smart_bedroom:")}
    assert named - statistics
    assert named - statistics <= set(home_assistant.states())
    written = {str(a.data["statistic_id"]) for a in night_statistics(sleep_night("bedroom"))}
    assert statistics == written  # the trend charts read what the service imports

    markdown = next(card for card in dashboard["views"][0]["cards"] if card["type"] == "markdown")
    rendered = await render_template(home_assistant, markdown["content"])
    assert f"**Night of {summary.night_date}**" in rendered
    assert render_text(summary) in rendered
    assert "| Spasm-like events | 5 (most at 23:00) |" in rendered
    assert "| Temperature | 19.0 / 19.6 / 20.5 °C |" in rendered
    # The unknown-event test's probe may still be in flight when this test starts: not ours.
    problems = problems_in_log(home_assistant, log_mark)
    assert [line for line in problems if "Invalid event type sneeze" not in line] == []


async def test_device_triggers_exist_for_every_event_type(
    home_assistant: HomeAssistant, mosquitto: Mosquitto
) -> None:
    log_mark = len(home_assistant.log_text())
    config = service_config(home_assistant, "loft", "Loft")
    publish_room(mosquitto, config, STATE)
    wait_for_states(home_assistant, {"sensor.loft_comfort_status": "cooling"})
    device_id = await render_template(home_assistant, "{{ device_id('sensor.loft_temperature') }}")

    triggers = await websocket_command(
        home_assistant, {"type": "device_automation/trigger/list", "device_id": device_id}
    )
    mqtt_triggers = {(t["type"], t["subtype"]) for t in triggers if t["domain"] == "mqtt"}
    assert mqtt_triggers == {("action", event_type) for event_type in EVENT_TYPES}
    assert problems_in_log(home_assistant, log_mark) == []


def dashboard_entities(node: Any) -> list[str]:
    """Every entity id a dashboard config names (`entity:` keys and plain entity lists)."""
    if isinstance(node, dict):
        found = [node["entity"]] if isinstance(node.get("entity"), str) else []
        for key, value in node.items():
            if key == "entities" and isinstance(value, list):
                found += [item for item in value if isinstance(item, str)]
            found += dashboard_entities(value)
        return found
    if isinstance(node, list):
        return [entity for item in node for entity in dashboard_entities(item)]
    return []


async def websocket_command(ha: HomeAssistant, command: dict[str, Any]) -> Any:
    """The result of one command on HA's websocket API (how the frontend reads HA)."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{ha.url}/api/websocket") as socket,
    ):
        assert (await socket.receive_json())["type"] == "auth_required"
        await socket.send_json({"type": "auth", "access_token": ha.token})
        assert (await socket.receive_json())["type"] == "auth_ok"
        await socket.send_json({"id": 1, **command})
        answer = await socket.receive_json(timeout=30)
    assert answer["success"], answer
    return answer["result"]


async def render_template(ha: HomeAssistant, template: str) -> str:
    """HA's rendering of a template, as the markdown card would show it."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{ha.url}/api/template",
            json={"template": template},
            headers={"Authorization": f"Bearer {ha.token}"},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.text()


async def test_not_a_spasm_pressed_in_home_assistant_labels_the_event_and_the_counts_follow(
    home_assistant: HomeAssistant, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The running service on HA's broker, with last night in its history: press the button."""
    log_mark = len(home_assistant.log_text())
    config = ServiceConfig.model_validate(
        {
            "mqtt": {
                "host": mosquitto.host,
                "port": mosquitto.port,
                "client_id": "sb_labels",
                "base_topic": f"sb-{home_assistant.discovery_prefix}-porch",
            },
            "homeassistant": {
                "enabled": False,
                "discovery_prefix": home_assistant.discovery_prefix,
            },
            "dashboard": {"enabled": False},
            "store": {"path": str(tmp_path / "history.db")},
            "rooms": [
                {
                    "id": "porch",
                    "name": "Porch",
                    "sensors": [{"id": "t", "kind": "temperature", "topic": "z2m/porch"}],
                }
            ],
        }
    )
    summary = night_summary("porch", "Porch")
    store = await Store.open(config.store.path)
    await store.record(
        events=[
            MovementEvent("porch", MovementKind.JERK, s, s + 1, 4.0, 0.9, spasm_like=True)
            for s in (BED_TIME + 3600 + index * 30 for index in range(5))
        ],
        summaries=[summary],
    )
    await store.close()
    service = Service(config, None, discovery_settle_s=0.1)
    task = asyncio.create_task(service.run())
    try:
        await asyncio.to_thread(
            wait_for_states, home_assistant, {"sensor.porch_latest_spasm_label": "unknown"}
        )
        await asyncio.to_thread(
            home_assistant.request,
            "POST",
            "/api/services/button/press",
            {"entity_id": "button.porch_reject_spasm"},
        )
        states = await asyncio.to_thread(
            wait_for_states,
            home_assistant,
            {"sensor.porch_latest_spasm_label": "rejected", "sensor.porch_last_night_spasms": "4"},
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    label = states["sensor.porch_latest_spasm_label"]["attributes"]
    assert label["kind"] == "jerk"
    assert label["start"] == datetime.fromtimestamp(BED_TIME + 3600 + 4 * 30, UTC).isoformat(
        timespec="milliseconds"
    )
    last_night = states["sensor.porch_last_night"]["attributes"]
    assert last_night["labels"] == {"confirmed": 0, "rejected": 1, "unlabelled": 4, "missed": 0}
    assert "1 not a spasm (not counted)" in last_night["text"]
    assert problems_in_log(home_assistant, log_mark) == []


def jerks_night(room_id: str, name: str, bed_time: float, jerks: int) -> NightSummary:
    night = NightAccumulator(room_id, name, bed_time, ZoneInfo("UTC"))
    for index in range(jerks):
        start = bed_time + 3600 + index * 30
        night.add_event(MovementEvent(room_id, MovementKind.JERK, start, start + 1, 4.0, 0.9, True))
    return night.finish(bed_time + 8 * 3600)


def sleep_night(room_id: str) -> NightSummary:
    """A night with every figure known, a sleep estimate too."""
    night = night_summary(room_id, "Bedroom")
    sleep = SleepEstimate(efficiency=0.9, asleep_min=400, awake_min=44, scored_min=444)
    return dataclasses.replace(night, sleep=sleep)


async def drain(actions: HomeAssistantActions) -> None:
    worker = asyncio.create_task(actions.run())
    try:
        async with asyncio.timeout(30):
            await actions.wait_idle()
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


async def test_each_night_is_one_value_in_home_assistants_long_term_statistics(
    home_assistant: HomeAssistant,
) -> None:
    """Imported over the WebSocket API; a daily chart reads one night a day, never a blend."""
    log_mark = len(home_assistant.log_text())
    nights = [
        jerks_night("attic", "Attic", BED_TIME - 86400, 2),
        jerks_night("attic", "Attic", BED_TIME, 7),
    ]
    actions = HomeAssistantActions(home_assistant.url, home_assistant.token)
    for night in nights:
        for action in night_statistics(night):
            actions.submit(action)
    await drain(actions)
    assert (actions.counters.sent, actions.counters.parked) == (4, 0)  # 2 nights x 2 figures
    statistic_id = "smart_bedroom:attic_spasms_per_night"
    query = {
        "type": "recorder/statistics_during_period",
        "start_time": datetime.fromtimestamp(BED_TIME - 3 * 86400, UTC).isoformat(),
        "statistic_ids": [statistic_id],
        "period": "day",
        "types": ["mean"],
    }
    rows: list[dict[str, Any]] = []
    for _attempt in range(50):  # the recorder writes imports from its queue, shortly after
        rows = (await websocket_command(home_assistant, query)).get(statistic_id, [])
        if len(rows) == 2:
            break
        await asyncio.sleep(0.2)
    days = [datetime.fromtimestamp(row["start"] / 1000, UTC).date().isoformat() for row in rows]
    assert days == [nights[0].night_date, nights[1].night_date] == ["2026-11-22", "2026-11-23"]
    assert [row["mean"] for row in rows] == [2.0, 7.0]
    listed = await websocket_command(
        home_assistant, {"type": "recorder/list_statistic_ids", "statistic_type": "mean"}
    )
    (meta,) = [m for m in listed if m["statistic_id"] == statistic_id]
    assert (meta["name"], meta["source"]) == ("Attic spasm-like events per night", "smart_bedroom")
    assert problems_in_log(home_assistant, log_mark) == []


async def test_the_logbook_names_every_event_even_when_two_share_a_moment(
    home_assistant: HomeAssistant, mosquitto: Mosquitto
) -> None:
    log_mark = len(home_assistant.log_text())
    config = service_config(home_assistant, "den", "Den")
    publish_room(mosquitto, config, STATE)
    await asyncio.to_thread(
        wait_for_states, home_assistant, {"sensor.den_last_movement": "unknown"}
    )
    since = datetime.now(UTC).isoformat()
    t = BED_TIME + 3600
    together = [
        MovementEvent("den", MovementKind.JERK, t, t + 0.8, 11.84, 0.9, True),
        MovementEvent("den", MovementKind.CLONUS, t, t + 4.2, 6.0, 0.8, True),
    ]
    publish(mosquitto, [movement_message(config, e)[:2] for e in together], retain=False)

    def logged() -> list[str]:
        entries = home_assistant.request(
            "GET", f"/api/logbook/{since}?entity=sensor.den_last_movement"
        )
        return [entry.get("state") for entry in entries]

    home_assistant.wait_until(lambda: len(logged()) == 2, "two logbook entries")
    assert logged() == [
        "23:30:00 jerk, 0.8 s, peak 11.8 times resting, spasm-like",
        "23:30:00 clonus, 4.2 s, peak 6.0 times resting, spasm-like",
    ]
    assert problems_in_log(home_assistant, log_mark) == []


async def test_each_notification_keeps_its_own_slot_in_home_assistant(
    home_assistant: HomeAssistant,
) -> None:
    """The morning summary does not replace the night's episode notice: both stay visible."""
    summary_id, episode_id = (
        "smart_bedroom_attic_summary_2026-11-23",
        "smart_bedroom_attic_episode_1",
    )
    actions = HomeAssistantActions(home_assistant.url, home_assistant.token)
    for notification_id, title in ((episode_id, "Restless"), (summary_id, "Attic: last night")):
        data = {"title": title, "message": "text", "notification_id": notification_id}
        actions.submit(Action("attic", BED_TIME, ActionKind.NOTIFY, PERSISTENT_NOTIFICATION, data))
    await drain(actions)
    shown = await websocket_command(home_assistant, {"type": "persistent_notification/get"})
    ids = {n["notification_id"]: n["title"] for n in shown}
    assert ids[episode_id] == "Restless"
    assert ids[summary_id] == "Attic: last night"


async def test_summary_now_pressed_in_home_assistant_is_tonight_so_far_never_last_night(
    home_assistant: HomeAssistant,
    mosquitto: Mosquitto,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mid-night, "Summary now": its own sensor and notification; last night's stay as they were."""
    log_mark = len(home_assistant.log_text())
    monkeypatch.setenv("SB_TEST_HA_TOKEN", home_assistant.token)
    config = ServiceConfig.model_validate(
        {
            "mqtt": {
                "host": mosquitto.host,
                "port": mosquitto.port,
                "client_id": "sb_so_far",
                "base_topic": f"sb-{home_assistant.discovery_prefix}-nook",
            },
            "homeassistant": {
                "url": home_assistant.url,
                "token": {"env": "SB_TEST_HA_TOKEN"},
                "discovery_prefix": home_assistant.discovery_prefix,
            },
            "dashboard": {"enabled": False},
            "store": {"path": str(tmp_path / "history.db")},
            "rooms": [
                {
                    "id": "nook",
                    "name": "Nook",
                    "sensors": [
                        {"id": "t", "kind": "temperature", "topic": "z2m/nook_climate"},
                        {"id": "occ", "kind": "occupancy", "topic": "z2m/nook_bed"},
                    ],
                }
            ],
        }
    )
    last_night = night_summary("nook", "Nook")
    summary_topic = room_topics(config.mqtt.base_topic, "nook").summary
    publish(mosquitto, [(summary_topic, json.dumps(summary_payload(last_night)))], retain=True)
    tonight = BED_TIME + 86400  # the next evening, 22:30 UTC; a minute a second from there
    service = Service(config, None, clock=ScaledClock(tonight, 60.0), discovery_settle_s=0.1)
    task = asyncio.create_task(service.run())
    try:
        await asyncio.to_thread(
            wait_for_states, home_assistant, {"sensor.nook_last_night": last_night.night_date}
        )
        publish(
            mosquitto,
            [
                ("z2m/nook_bed", json.dumps({"occupancy": True})),
                ("z2m/nook_climate", json.dumps({"temperature": 18.2})),
            ],
            retain=False,
        )
        await asyncio.to_thread(
            wait_for_states, home_assistant, {"binary_sensor.nook_in_bed": "on"}
        )
        await asyncio.to_thread(
            home_assistant.request,
            "POST",
            "/api/services/button/press",
            {"entity_id": "button.nook_summary_now"},
        )
        await asyncio.to_thread(
            home_assistant.wait_until,
            lambda: (
                home_assistant.states().get("sensor.nook_tonight_so_far", {}).get("state")
                not in {None, "unknown", "unavailable"}
            ),
            "tonight so far",
        )
        assert service.home_assistant is not None
        await asyncio.wait_for(service.home_assistant.wait_idle(), 30)
        states = home_assistant.states()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    so_far = states["sensor.nook_tonight_so_far"]["attributes"]
    assert so_far["night"] == "2026-11-24"
    assert so_far["text"].startswith("Nook, night of Tue 24 Nov")
    # Last night's entities are as they were: the 8-hour night with its 5 spasm-like events.
    assert states["sensor.nook_last_night"]["state"] == "2026-11-23"
    assert states["sensor.nook_last_night_spasms"]["state"] == "5"
    shown = await websocket_command(home_assistant, {"type": "persistent_notification/get"})
    titles = {n["notification_id"]: n["title"] for n in shown}
    assert titles["smart_bedroom_nook_so_far"].startswith("Nook: tonight so far (")
    assert problems_in_log(home_assistant, log_mark) == []


def test_what_the_controller_learned_shows_as_diagnostic_entities(
    home_assistant: HomeAssistant, mosquitto: Mosquitto
) -> None:
    log_mark = len(home_assistant.log_text())
    config = service_config(home_assistant, "study", "Study")
    learned = {
        "heating_rate_c_per_h": 2.38,
        "cooling_rate_c_per_h": None,  # never cooled: unknown, not 0
        "room_lag_min": 4.7,
        "heating_overshoot_c": 0.25,
        "cooling_overshoot_c": 0.0,
        "learned_at": "2026-11-24T03:12:00.000+00:00",
    }
    publish_room(mosquitto, config, {**STATE, **learned, "window_open": "ON"})
    message = learned_message(config, "study", learned)
    assert message is not None
    publish(mosquitto, [message[:2]], retain=True)
    states = wait_for_states(
        home_assistant,
        {
            "sensor.study_heating_rate_c_per_h": "2.38",
            "sensor.study_cooling_rate_c_per_h": "unknown",
            "sensor.study_room_lag_min": "4.7",
            "sensor.study_heating_overshoot_c": "0.25",
            "sensor.study_learned_at": "2026-11-24T03:12:00+00:00",
            "binary_sensor.study_window_open": "on",
        },
    )
    assert states["sensor.study_learned_at"]["attributes"]["device_class"] == "timestamp"
    assert states["sensor.study_room_lag_min"]["attributes"]["unit_of_measurement"] == "min"
    assert problems_in_log(home_assistant, log_mark) == []
