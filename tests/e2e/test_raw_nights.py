"""The service keeps each night's raw bed signal; a kept night replays as it was lived, and under
other rules as a shadow test."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import aiomqtt
import pytest
from click.testing import CliRunner

from integration.adapters.mqtt import mqtt_settings, publish_messages
from integration.adapters.rawnights import read_night, stored_nights
from integration.adapters.rulefiles import load_rules, write_detection
from integration.cli import cli
from integration.clock import ScaledClock
from integration.core.events import MovementEvent
from integration.core.simulation.night import simulate_night
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import replay
from integration.service import Service
from tests.e2e.helpers import (
    HOT_C,
    REPO,
    SETTLE_S,
    SPEED,
    bedroom_config,
    next_message,
    publish_all,
    running,
    service_config,
    short_night,
    wait,
)
from tests.mosquitto import Mosquitto


def spasms(events: list[MovementEvent]) -> list[tuple[str, float]]:
    """Spasm-like events by kind and device-time start (to 0.1 s)."""
    return [(str(e.kind), round(e.start, 1)) for e in events if e.spasm_like]


async def test_a_kept_night_replays_as_lived_and_under_other_rules_as_a_fresh_replay_would(
    mosquitto: Mosquitto, unique_topic: str, tmp_path: Path
) -> None:
    spec = short_night(unique_topic, seed=9)
    night = simulate_night(spec)
    messages = list(night.messages())
    config = bedroom_config(mosquitto, unique_topic, spec)
    clock = ScaledClock(spec.start, SPEED)
    service = Service(config, REPO / "rules", clock=clock, discovery_settle_s=SETTLE_S)
    publisher = replace(
        mqtt_settings(config), client_id="simulator", availability_topic=f"{unique_topic}/sim"
    )
    async with running(service.run, service.mqtt):
        sent = await publish_messages(publisher, messages, clock)
        stats = service.pipeline.stats
        await wait(service.wait_for(lambda: stats.messages == sent))
        lived = list(service.recent_events)
    # Stopped: the last minute went out on the way.

    (kept,) = stored_nights(config.store.raw_nights_directory)
    stored = list(read_night(kept.path))
    bed_topics = {spec.accel_topic, spec.occupancy_topic}
    sent_bed = [(topic, payload) for _t, topic, payload in messages if topic in bed_topics]
    assert [(m.topic, m.payload) for m in stored] == sent_bed  # every bed message, nothing else
    assert kept.room == "bedroom"

    rules = load_rules(REPO / "rules")
    assert spasms(replay(stored, Pipeline(config, rules)).events) == spasms(lived)

    # Other rules (a mis-set jerk length): the kept night and the night as simulated agree.
    other_dir = tmp_path / "other-rules"
    shutil.copytree(REPO / "rules", other_dir)
    write_detection(other_dir, {"jerk_max_s": 0.5})
    other = load_rules(other_dir)
    fresh = [InboundMessage(t, topic, payload) for t, topic, payload in messages]
    shadow = spasms(replay(stored, Pipeline(config, other)).events)
    assert shadow == spasms(replay(fresh, Pipeline(config, other)).events)
    assert shadow != spasms(lived)  # the change shows

    # The same, as a person runs it: `replay --night` with `--compare-rules`.
    config_file = tmp_path / "config.yaml"
    config_file.write_text(config.model_dump_json(), encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "replay",
            "--night",
            kept.night_date.isoformat(),
            "--config",
            str(config_file),
            "--rules",
            str(REPO / "rules"),
            "--compare-rules",
            str(other_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "spasm-like" in result.output
    assert f"only under {REPO / 'rules'}" in result.output

    base = ["replay", "--config", str(config_file)]
    plain = CliRunner().invoke(cli, [*base, "--night", kept.night_date.isoformat(), "--json"])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.output)["source"] == kept.path.name
    missing = CliRunner().invoke(cli, [*base, "--night", "2020-01-01"])
    assert missing.exit_code == 2
    assert f"kept nights: {kept.night_date} (bedroom)" in missing.output


MIDNIGHT = datetime(2026, 11, 25, 1, 0, tzinfo=ZoneInfo("Europe/London")).timestamp()


async def test_a_raw_night_that_cannot_be_written_is_counted_and_the_fan_still_follows_the_room(
    mosquitto: Mosquitto, unique_topic: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="integration.adapters.rawnights")
    blocked = tmp_path / "raw"  # a folder that cannot be made (a read-only one does not stop root)
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    room: dict[str, Any] = {
        "id": "bedroom",
        "name": "Bedroom",
        "sensors": [
            {"id": "bed", "kind": "motion", "topic": f"{unique_topic}/bed/accel"},
            {
                "id": "temp",
                "kind": "temperature",
                "topic": f"{unique_topic}/temp",
                "format": "plain",
            },
        ],
        "actuators": [{"id": "fan", "role": "fan", "command_topic": f"{unique_topic}/fan"}],
    }
    config = service_config(mosquitto, unique_topic, room)
    store = config.store.model_copy(
        update={"raw_nights": config.store.raw_nights.model_copy(update={"directory": blocked})}
    )
    config = config.model_copy(update={"store": store})
    clock = ScaledClock(MIDNIGHT, 1.0)
    service = Service(config, None, clock=clock, discovery_settle_s=SETTLE_S)
    raw, stats = service.raw_nights, service.pipeline.stats
    assert raw is not None
    batch = {"t0": MIDNIGHT, "rate": 50, "x": [0.0] * 50, "y": [0.0] * 50, "z": [1.0] * 50}

    async with (
        running(service.run, service.mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as fan,
    ):
        await fan.subscribe(f"{unique_topic}/fan", qos=1)
        await publish_all(mosquitto, [(f"{unique_topic}/bed/accel", json.dumps(batch).encode())])
        await wait(service.wait_for(lambda: stats.messages == 1))
        await raw.flush()  # the writer's minute, now: the folder cannot be made
        assert raw.failures == 1

        await publish_all(mosquitto, [(f"{unique_topic}/temp", HOT_C)])
        assert (await next_message(fan)).payload == b"ON", "control goes on without raw nights"
        assert service.dashboard_url is not None
        async with aiohttp.ClientSession(service.dashboard_url) as web, web.get("metrics") as got:
            metrics = await got.text()

    assert "smart_bedroom_raw_night_failures_total 1.0" in metrics
    said = [r for r in caplog.records if "still controlled" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.WARNING]  # said once; repeats are counted
