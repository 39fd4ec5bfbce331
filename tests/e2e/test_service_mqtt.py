"""The whole service against a real private Mosquitto: ingest, outages, record and replay."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from integration.adapters.mqtt import ConnectionState, mqtt_settings
from integration.adapters.recording import Recorder, read_recording
from integration.config import ServiceConfig
from integration.core.rules import RuleSet
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import replay
from integration.service import Service
from tests.e2e.helpers import SETTLE_S, TIMEOUT_S, publish_all, running, service_config, wait
from tests.mosquitto import Mosquitto

# Reconnect within 0.1-0.2 s of the broker's return, not production's 0.5-1 s first retry.
BACKOFF_MAX_S = 0.2


def config_for(broker: Mosquitto, prefix: str) -> ServiceConfig:
    """One bedroom with a sensor of every format, all under the test's unique prefix."""
    sensors: list[dict[str, Any]] = [
        {
            "id": "z2m_temp",
            "kind": "temperature",
            "topic": f"{prefix}/z2m/climate",
            "format": "zigbee2mqtt",
        },
        {
            "id": "z2m_humidity",
            "kind": "humidity",
            "topic": f"{prefix}/z2m/climate",
            "format": "zigbee2mqtt",
        },
        {
            "id": "esphome_temp",
            "kind": "temperature",
            "topic": f"{prefix}/node/sensor/t/state",
            "format": "esphome",
        },
        {
            "id": "tasmota_temp",
            "kind": "temperature",
            "topic": f"{prefix}/tele/ds/SENSOR",
            "format": "tasmota",
        },
        {
            "id": "shelly_temp",
            "kind": "temperature",
            "topic": f"{prefix}/shellies/ht/sensor/temperature",
            "format": "shelly",
        },
        {
            "id": "plain_temp",
            "kind": "temperature",
            "topic": f"{prefix}/plain/temp",
            "format": "plain",
            "unit": "F",
        },
        {
            "id": "occupancy",
            "kind": "occupancy",
            "topic": f"{prefix}/z2m/bed",
            "format": "zigbee2mqtt",
        },
        {
            "id": "vibration",
            "kind": "vibration",
            "topic": f"{prefix}/z2m/vibration",
            "format": "zigbee2mqtt",
        },
        {
            "id": "accel",
            "kind": "motion",
            "topic": f"{prefix}/bed/+/accel",
            "format": "auto",
            "rate_hz": 50,
        },
    ]
    return service_config(broker, prefix, {"id": "bedroom", "name": "Bedroom", "sensors": sensors})


def payloads(prefix: str) -> list[tuple[str, bytes]]:
    """What real devices send, plus garbage a broken one might."""
    batch = {"t0": 0, "rate": 50, "x": [0.01] * 50, "y": [0.0] * 50, "z": [1.0] * 50}
    return [
        (
            f"{prefix}/z2m/climate",
            b'{"temperature":19.8,"humidity":45,"battery":97,"linkquality":120}',
        ),
        (f"{prefix}/node/sensor/t/state", b"19.50"),
        (
            f"{prefix}/tele/ds/SENSOR",
            b'{"Time":"2026-01-01T00:00:00","DS18B20":{"Id":"0316A2791B0A","Temperature":66.2},"TempUnit":"F"}',
        ),
        (f"{prefix}/shellies/ht/sensor/temperature", b"20.25"),
        (f"{prefix}/plain/temp", b"68"),
        (f"{prefix}/z2m/bed", b'{"occupancy":true}'),
        (
            f"{prefix}/z2m/vibration",
            b'{"action":"vibration","strength":12,"angle_x":3,"angle_y":-1,"angle_z":88,"vibration":true}',
        ),
        (f"{prefix}/bed/left/accel", b'{"x":0.01,"y":-0.02,"z":0.98}'),
        (f"{prefix}/bed/left/accel", json.dumps(batch).encode()),
        (f"{prefix}/node/sensor/t/state", b"nan"),
        (f"{prefix}/tele/ds/SENSOR", b'{"DS18B20":{"Temperature":-127},"TempUnit":"C"}'),
        (f"{prefix}/z2m/climate", b'{"temperature":'),
        (f"{prefix}/plain/temp", b"\xff\xfe"),
        (f"{prefix}/unrelated", b"ignored"),
    ]


async def test_service_announces_itself_and_turns_every_format_into_readings(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    config = config_for(mosquitto, unique_topic)
    service = Service(config, None, discovery_settle_s=SETTLE_S)
    mqtt = service.mqtt
    async with running(service.run, mqtt):
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as watcher:
            await watcher.subscribe(config.availability_topic)
            async with asyncio.timeout(TIMEOUT_S):
                message = await anext(aiter(watcher.messages))
            assert (message.payload, message.retain) == (b"online", True)
        await publish_all(mosquitto, payloads(unique_topic))
        stats = service.pipeline.stats
        await wait(service.wait_for(lambda: stats.messages == 13))
    assert dict(stats.readings) == {
        "temperature": 5,
        "humidity": 1,
        "occupancy": 1,
        "vibration": 1,
        "motion": 2,
    }
    assert dict(stats.rejected) == {
        "unavailable": 1,
        "sentinel_value": 1,
        "malformed_json": 2,  # the climate topic feeds two sensors
        "not_utf8": 1,
    }
    assert stats.unrouted == 0  # the unrelated topic was never subscribed


async def test_service_rides_out_a_broker_restart_mid_stream(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    config = config_for(mosquitto, unique_topic)
    quick_retry = replace(mqtt_settings(config), backoff_max_s=BACKOFF_MAX_S)
    service = Service(config, None, mqtt=quick_retry, discovery_settle_s=SETTLE_S)
    mqtt = service.mqtt
    topic = f"{unique_topic}/plain/temp"
    stats = service.pipeline.stats
    async with running(service.run, mqtt):
        await publish_all(mosquitto, [(topic, b"64")] * 5)
        await wait(service.wait_for(lambda: stats.messages == 5))
        mosquitto.stop()
        try:
            await wait(mqtt.wait_for(lambda: mqtt.state is ConnectionState.BACKING_OFF))
        finally:
            mosquitto.start()  # the session's broker, whatever happened
        await wait(mqtt.wait_for(lambda: mqtt.state is ConnectionState.CONNECTED))
        await publish_all(mosquitto, [(topic, b"65")] * 5)
        await wait(service.wait_for(lambda: stats.messages == 10))
    assert stats.readings["temperature"] == 10
    assert mqtt.counters.reconnects >= 1


async def test_record_then_replay_round_trips_byte_for_byte(
    mosquitto: Mosquitto, unique_topic: str, tmp_path: Path
) -> None:
    config = config_for(mosquitto, unique_topic)
    out = tmp_path / "night.jsonl"
    recorder = Recorder(config, out)
    sent = [(t, p) for t, p in payloads(unique_topic) if "unrelated" not in t]
    sent.append((f"{unique_topic}/plain/temp", "  19.5 °C\t\n".encode()))
    mqtt = recorder.mqtt
    async with running(recorder.run, mqtt):
        await publish_all(mosquitto, sent)
        await wait(recorder.wait_for(lambda: recorder.written == len(sent)))
    with out.open(encoding="utf-8") as lines:
        recorded = list(read_recording(lines))
    assert [(m.topic, m.payload) for m in recorded] == sent
    assert all(isinstance(m, InboundMessage) and m.t > 0 for m in recorded)

    pipeline = Pipeline(config, RuleSet())
    replay(recorded, pipeline)
    assert pipeline.stats.messages == len(sent)
    assert dict(pipeline.stats.readings) == {
        "temperature": 5,
        "humidity": 1,
        "occupancy": 1,
        "vibration": 1,
        "motion": 2,
    }


@pytest.mark.parametrize(
    "bad",
    [b"", b"{}", b"[]", b"null", b"1e999", b"\x00" * 70_000],
    ids=["empty", "object", "array", "null", "inf", "nul-flood"],
)
async def test_bad_payloads_never_stop_the_service(
    mosquitto: Mosquitto, unique_topic: str, bad: bytes
) -> None:
    config = config_for(mosquitto, unique_topic)
    service = Service(config, None, discovery_settle_s=SETTLE_S)
    mqtt = service.mqtt
    stats = service.pipeline.stats
    topics = sorted(
        {t for t, _ in payloads(unique_topic) if "unrelated" not in t and "+" not in t}
        | {f"{unique_topic}/bed/x/accel"}
    )
    async with running(service.run, mqtt):
        await publish_all(
            mosquitto, [(t, bad) for t in topics] + [(f"{unique_topic}/plain/temp", b"70")]
        )
        await wait(service.wait_for(lambda: stats.messages == len(topics) + 1))
    assert dict(stats.readings) == {"temperature": 1}
    # every configured sensor refused it, each with a reason (the climate topic feeds two)
    assert sum(stats.rejected.values()) == len(topics) + 1
