"""A simulated night published live at a speed-up, into the service, over the real broker."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import aiomqtt

from integration import __version__
from integration.adapters.ha_discovery import discovery_messages
from integration.adapters.mqtt import mqtt_settings, publish_messages
from integration.clock import ScaledClock
from integration.core.room import Outputs, RoomCore
from integration.core.simulation.night import simulate_night
from integration.service import Service
from tests.e2e.helpers import (
    REPO,
    SETTLE_S,
    SPEED,
    bedroom_config,
    next_message,
    running,
    short_night,
    wait,
)
from tests.mosquitto import Mosquitto


async def test_a_night_published_at_speed_is_seen_as_it_was_planted(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    spec = short_night(unique_topic)
    night = simulate_night(spec)
    clock = ScaledClock(spec.start, SPEED)
    config = bedroom_config(mosquitto, unique_topic, spec)
    service = Service(config, REPO / "rules", clock=clock, discovery_settle_s=SETTLE_S)
    mqtt = service.mqtt
    publisher = replace(
        mqtt_settings(config), client_id="simulator", availability_topic=f"{unique_topic}/sim"
    )
    base = f"{unique_topic}/sb/bedroom"
    seen: dict[str, list[Any]] = {
        "config": [],
        "state": [],
        "event": [],
        "summary": [],
        "so_far": [],
    }

    def take(message: aiomqtt.Message) -> None:
        topic = str(message.topic)
        kind = "config" if topic.endswith("/config") else topic.rsplit("/", 1)[-1]
        if kind in seen and message.payload:
            seen[kind].append(json.loads(message.payload))  # type: ignore[arg-type]

    async with (
        running(service.run, mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as home_assistant,
    ):
        # Subscribed as HA is: discovery configs, then each room's state, events and summary.
        await home_assistant.subscribe(f"{unique_topic}/ha/#", qos=1)
        for topic in ("state", "event", "summary", "so_far"):
            await home_assistant.subscribe(f"{base}/{topic}", qos=1)
        expected_configs = len(discovery_messages(config, __version__))
        while len(seen["config"]) < expected_configs:
            take(await next_message(home_assistant))
        messages = list(night.messages())
        sent = await publish_messages(publisher, messages, clock)
        stats = service.pipeline.stats
        await wait(service.wait_for(lambda: stats.messages == sent))
        # The night is not over: ask for the summary so far, as HA's "Summary now" button does.
        await home_assistant.publish(f"{base}/set/summary_now", b"PRESS", qos=1)
        while not seen["so_far"]:
            take(await next_message(home_assistant))
        store = service.history.store
        assert store is not None
        kept = await store.summaries("bedroom", 5)
    assert sent == len(messages)
    assert stats.rejected == {}
    assert stats.readings["motion"] == sum(1 for m in messages if m[1] == spec.accel_topic)

    assert all(
        c["availability"] == [{"topic": config.availability_topic}]
        for c in seen["config"]
        if "availability" in c
    )
    assert len({c.get("unique_id") for c in seen["config"] if "unique_id" in c}) == len(
        [c for c in seen["config"] if "unique_id" in c]
    )
    state = seen["state"][-1]
    assert state["in_bed"] == "ON"
    assert state["temperature_c"] is not None
    assert state["comfort_status"] in {"idle", "heating", "cooling"}
    spasm_labels = [label for label in night.labels if label.spasm_like]
    spasms = [e for e in seen["event"] if e.get("spasm_like")]
    assert len(spasm_labels) - 1 <= len(spasms) <= len(spasm_labels)
    for event in spasms:
        start = datetime.fromisoformat(str(event["start"])).timestamp()
        assert any(lab.start - 2 <= start <= lab.end + 2 for lab in spasm_labels), event
    assert state["spasms_tonight"] == len(spasms)
    # Tonight so far, on its own topic: last night's summary and its "summary_ready" stay untouched.
    (summary,) = seen["so_far"]
    assert summary["spasm_count"] == len(spasms)
    assert summary["room_name"] == "Bedroom"
    assert summary["text"].startswith("Bedroom, night of")
    assert summary["as_of"] is not None
    assert seen["summary"] == []
    assert not any(e["event_type"] == "summary_ready" for e in seen["event"])
    assert kept == []  # not kept as a night


async def test_a_restart_mid_night_resumes_the_night_from_the_history_store(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    spec = short_night(unique_topic, seed=6)
    night = simulate_night(spec)
    messages = list(night.messages())
    clock = ScaledClock(spec.start, SPEED)
    config = bedroom_config(mosquitto, unique_topic, spec)
    publisher = replace(
        mqtt_settings(config), client_id="simulator", availability_topic=f"{unique_topic}/sim"
    )
    half = len(messages) // 2

    async def serve(part: list[tuple[float, str, bytes]]) -> RoomCore:
        """A fresh service (a new process, the same history file) takes part of the night."""
        service = Service(config, REPO / "rules", clock=clock, discovery_settle_s=SETTLE_S)
        mqtt = service.mqtt
        async with running(service.run, mqtt):
            sent = await publish_messages(publisher, part, clock)
            stats = service.pipeline.stats
            await wait(service.wait_for(lambda: stats.messages == sent))
        return service.pipeline.rooms["bedroom"]

    before = await serve(messages[:half])
    after = await serve(messages[half:])
    assert before.accumulator is not None
    assert after.accumulator is not None
    assert after.accumulator.bed_time == before.accumulator.bed_time  # the same night
    out = Outputs()
    after.summary_now(clock.now(), out)
    assert out.summaries == []
    (summary,) = out.so_far
    assert summary.bed_time == before.accumulator.bed_time
    assert summary.temp_known_min >= 11  # both halves' minutes are in it
    assert summary.spasm_count == after.spasms_tonight > before.spasms_tonight
