"""The live page's figures from the running service on the private broker: counts, rate, rest."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import aiohttp

from integration.service import Service
from tests.e2e.helpers import SETTLE_S, publish_all, running, service_config, wait
from tests.mosquitto import Mosquitto

RATE_HZ = 50
NOISE_G = 0.003  # the MPU6050's noise with the firmware's 21 Hz filter (config/esphome/README.md)


def batches(topic: str, start: float, seconds: int, seed: int = 1) -> list[tuple[str, bytes]]:
    """`seconds` one-second batches of a bed at rest, as the ESPHome firmware sends them."""
    rng = random.Random(seed)
    out = []
    for second in range(seconds):
        axes = {
            axis: [round(rng.gauss(level, NOISE_G), 4) for _ in range(RATE_HZ)]
            for axis, level in (("x", 0.0), ("y", 0.0), ("z", 1.0))
        }
        body = {"t0": round(start + second, 3), "rate": RATE_HZ, **axes}
        out.append((topic, json.dumps(body).encode()))
    return out


async def test_api_live_counts_the_sensors_messages_and_learns_its_resting_level(
    mosquitto: Mosquitto, unique_topic: str, tmp_path: Path
) -> None:
    topic = f"{unique_topic}/bed/accel"
    room = {
        "id": "bedroom",
        "name": "Bedroom",
        "sensors": [
            {"id": "bed", "kind": "motion", "topic": topic},
            {"id": "partner", "kind": "motion", "topic": f"{unique_topic}/partner/accel"},
        ],
    }
    config = service_config(mosquitto, unique_topic, room)
    store = config.store.model_copy(update={"path": tmp_path / "history.db"})  # raw nights beside
    service = Service(config.model_copy(update={"store": store}), None, discovery_settle_s=SETTLE_S)
    start = time.time() - 70.0  # a minute of device time, sent at once (trusted an hour late)
    sent = [*batches(topic, start, 60), (topic, b'{"t0":1,"rate":50,"x":[0.1]}')]
    async with running(service.run, service.mqtt):
        await publish_all(mosquitto, sent)
        await wait(service.wait_for(lambda: service.pipeline.stats.messages >= len(sent)))
        assert service.dashboard_url is not None
        async with aiohttp.ClientSession() as http:
            async with http.get(service.dashboard_url + "api/live") as response:
                body: dict[str, Any] = await response.json()
            async with http.get(service.dashboard_url + "live") as response:
                page = await response.text()
    bed, partner = body["sensors"]
    assert bed["messages"] == 60
    assert bed["rejected"] == 1
    assert bed["dropped"] == {"flood": 0, "duplicate": 0, "late": 0}
    assert bed["flat"] is False
    assert bed["declared_rate_hz"] == RATE_HZ
    assert bed["measured_rate_hz"] is not None  # sent in a burst: only present, not 50
    assert len(bed["points"]) == 600  # a minute at 10 points a second
    # The detector's resting RMS of a bed at rest is a few mg: the noise, as filtered
    assert bed["resting_mg"] is not None
    assert 0.5 < bed["resting_mg"] < 3 * NOISE_G * 1000
    assert partner["messages"] == 0
    assert partner["points"] == []
    assert "This sensor has not spoken yet" in page
    assert f"<code>{unique_topic}/partner/accel</code>" in page
