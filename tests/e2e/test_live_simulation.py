"""A simulated night published live at a speed-up, into the service, over the real broker."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import aiomqtt

from integration.adapters.mqtt import ConnectionState
from integration.clock import ScaledClock
from integration.config import ServiceConfig
from integration.core.simulation.night import NightSpec, simulate_night
from integration.service import Service, mqtt_settings, publish_messages
from tests.e2e.test_service_actions import next_message
from tests.e2e.test_service_mqtt import running, wait
from tests.mosquitto import Mosquitto
from tests.test_cli import REPO

SPEED = 100.0  # 12 minutes of night in about 7 s; faster, the host's scheduling skews arrival times


async def test_a_night_published_at_speed_is_seen_as_it_was_planted(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    spec = NightSpec(
        seed=5,
        hours=0.2,
        jerks=2,
        clonus=1,
        plm_series=0,
        turnovers=1,
        get_ups=0,
        dropouts=0,
        tonic=0,
        accel_topic=f"{unique_topic}/bed/accel",
        occupancy_topic=f"{unique_topic}/bed/occupancy",
        climate_topic=f"{unique_topic}/climate",
    )
    night = simulate_night(spec)
    clock = ScaledClock(spec.start, SPEED)
    config = ServiceConfig.model_validate(
        {
            "timezone": "Europe/London",
            "mqtt": {
                "host": mosquitto.host,
                "port": mosquitto.port,
                "client_id": "sb_" + unique_topic[-12:],
                "base_topic": unique_topic + "/sb",
            },
            "homeassistant": {"enabled": False},
            "rooms": [
                {
                    "id": "bedroom",
                    "name": "Bedroom",
                    "sensors": [
                        {"id": "bed", "kind": "motion", "topic": spec.accel_topic},
                        {"id": "occ", "kind": "occupancy", "topic": spec.occupancy_topic},
                        {"id": "temp", "kind": "temperature", "topic": spec.climate_topic},
                    ],
                }
            ],
        }
    )
    service = Service(config, REPO / "rules", clock=clock)
    mqtt = service.mqtt
    publisher = replace(
        mqtt_settings(config), client_id="simulator", availability_topic=f"{unique_topic}/sim"
    )
    events: list[dict[str, object]] = []
    async with (
        running(
            service.run, lambda: mqtt.wait_for(lambda: mqtt.state is ConnectionState.CONNECTED)
        ),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as home_assistant,
    ):
        await home_assistant.subscribe(f"{unique_topic}/sb/bedroom/event", qos=1)
        messages = list(night.messages())
        sent = await publish_messages(publisher, messages, clock)
        stats = service.pipeline.stats
        await wait(service.wait_for(lambda: stats.messages == sent))
        spasm_labels = [label for label in night.labels if label.spasm_like]
        while len([e for e in events if e["spasm_like"]]) < len(spasm_labels) // 2:
            message = await next_message(home_assistant)
            events.append(json.loads(message.payload))  # type: ignore[arg-type]
    assert sent == len(messages)
    assert stats.rejected == {}
    assert stats.readings["motion"] == sum(1 for m in messages if m[1] == spec.accel_topic)
    for event in events:
        if event["spasm_like"]:
            start = datetime.fromisoformat(str(event["start"])).timestamp()
            assert any(lab.start - 2 <= start <= lab.end + 2 for lab in spasm_labels), event
