"""Ticks run on time while a flood keeps the ingest queue full, on the real private Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import replace

from integration.adapters.mqtt import mqtt_settings
from integration.config import ServiceConfig
from integration.core.readings import Tick
from integration.messages import InboundMessage
from integration.pipeline import PipelineOutputs
from integration.service import Service
from integration.ticker import TICK_DRAIN_WAIT_S
from tests.e2e.helpers import service_config
from tests.mosquitto import Mosquitto

TIMEOUT_S = 60.0
FLOOD = 60_000
# A device in another process, publishing as fast as paho can: several times what the service
# handles, so its queue stays full for seconds.
PUBLISHER = """
import sys
import paho.mqtt.client as mqtt
host, port, topic, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
client.max_queued_messages_set(0)
client.connect(host, port)
client.loop_start()
for _ in range(count):
    sent = client.publish(topic, b'{"x":0.01,"y":0.0,"z":1.0}', qos=0)
sent.wait_for_publish()
client.loop_stop()
client.disconnect()
"""
TICK_S = 0.1
# A tick may wait TICK_DRAIN_WAIT_S for the queue, then one batch of ingest; anything near
# the flood's length (seconds) means the ticker starved. The overload lasts until the service
# has handled the whole flood (the broker holds what it has not read yet).
MAX_TICK_GAP_S = TICK_S + TICK_DRAIN_WAIT_S + 1.0


def flood_config(broker: Mosquitto, prefix: str) -> ServiceConfig:
    """One bedroom whose bed sensor is the flooding device."""
    bed = {"id": "bed", "kind": "motion", "topic": f"{prefix}/bed", "unit": "g"}
    return service_config(broker, prefix, {"id": "bedroom", "name": "Bedroom", "sensors": [bed]})


async def test_ticks_keep_running_while_a_flood_fills_the_queue(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    config = flood_config(mosquitto, unique_topic)
    # No per-topic limit: the flood must reach the queue, not be shed at the door.
    link = replace(mqtt_settings(config), max_rate_per_topic=1e9)
    service = Service(config, None, mqtt=link, tick_every_s=TICK_S, discovery_settle_s=0.0)
    ticks: list[float] = []
    handle = service.pipeline.handle

    def counting(item: InboundMessage | Tick) -> PipelineOutputs:
        if isinstance(item, Tick):
            ticks.append(time.monotonic())
        return handle(item)

    service.pipeline.handle = counting  # type: ignore[method-assign]
    task = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await service.mqtt.wait_for(lambda: service.mqtt.state.name == "CONNECTED")
            device = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                PUBLISHER,
                mosquitto.host,
                str(mosquitto.port),
                f"{unique_topic}/bed",
                str(FLOOD),
            )
            began = time.monotonic()
            # The overload lasts until the broker's backlog for the service is handled.
            while device.returncode is None or service.pipeline.stats.messages < FLOOD:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(device.wait(), TICK_S)
            ended = time.monotonic()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    during = [t for t in ticks if began <= t <= ended]
    gaps = [b - a for a, b in zip([began, *during], [*during, ended], strict=True)]
    assert service.pipeline.stats.messages == FLOOD
    assert max(gaps) <= MAX_TICK_GAP_S
    assert service.ticker.late_max_s <= MAX_TICK_GAP_S
