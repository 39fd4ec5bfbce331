"""HA entities as sensors beside MQTT ones: recorded on their own topics, replayed exactly."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from integration.adapters.mqtt import ConnectionState
from integration.adapters.recording import Recorder, read_recording
from integration.adapters.rulefiles import load_rules
from integration.config import ServiceConfig
from integration.core.readings import TemperatureReading
from integration.pipeline import Pipeline
from tests.e2e.helpers import publish_all, wait
from tests.fake_ha import TOKEN, FakeHomeAssistant
from tests.mosquitto import Mosquitto

THERMOMETER = "sensor.bedroom_thermometer"


async def test_a_recording_holds_ha_entities_and_replays_them(
    mosquitto: Mosquitto,
    unique_topic: str,
    fake_ha: FakeHomeAssistant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SB_TEST_HA_TOKEN", TOKEN)
    fahrenheit = {"unit_of_measurement": "°F"}
    fake_ha.entity_states = {THERMOMETER: ("68.9", fahrenheit)}
    config = ServiceConfig.model_validate(
        {
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port, "base_topic": unique_topic},
            "homeassistant": {"url": fake_ha.url, "token": {"env": "SB_TEST_HA_TOKEN"}},
            "rooms": [
                {
                    "id": "bedroom",
                    "name": "Bedroom",
                    "sensors": [
                        {
                            "id": "ha",
                            "kind": "temperature",
                            "source": "homeassistant",
                            "entity_id": THERMOMETER,
                        },
                        {"id": "mqtt", "kind": "temperature", "topic": f"{unique_topic}/t"},
                    ],
                }
            ],
        }
    )
    out = tmp_path / "night.jsonl"
    recorder = Recorder(config, out)
    assert recorder.ha_states is not None
    task = asyncio.create_task(recorder.run())
    try:
        await wait(recorder.wait_for(lambda: recorder.written == 1))  # HA's state on subscribing
        await fake_ha.change(THERMOMETER, "71.6", fahrenheit)
        await wait(recorder.wait_for(lambda: recorder.written == 2))
        mqtt = recorder.mqtt
        await wait(mqtt.wait_for(lambda: mqtt.state is ConnectionState.CONNECTED))  # subscribed
        await publish_all(mosquitto, [(f"{unique_topic}/t", b"19.0")])
        await wait(recorder.wait_for(lambda: recorder.written == 3))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    with out.open(encoding="utf-8") as lines:
        messages = list(read_recording(lines, []))
    assert [m.topic for m in messages] == [
        f"$homeassistant/{THERMOMETER}",
        f"$homeassistant/{THERMOMETER}",
        f"{unique_topic}/t",
    ]
    pipeline = Pipeline(config, load_rules(None))  # what `replay` runs each message through
    readings = [
        (reading.sensor_id, round(reading.temp_c, 2))
        for message in messages
        for reading in pipeline.handle(message).readings
        if isinstance(reading, TemperatureReading)
    ]
    assert pipeline.stats.rejected == {}
    assert readings == [("ha", 20.5), ("ha", 22.0), ("mqtt", 19.0)]
