"""A network cut, and a broker restart, in the middle of a night: nothing lost, the night whole.

The service reaches the broker through a relay the test cuts; the bed sensor keeps publishing
with QoS 1 straight to the broker, which queues for the service's persistent session. With a
persistent broker restarted (SIGTERM, as a service manager stops it) during the cut, the queue
survives on disk. Either way every message arrives once the link is back, keeps its device time,
and the night's movements and summary come out as if nothing had happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from integration.adapters.mqtt import ConnectionState, mqtt_settings, publish_messages
from integration.clock import ScaledClock
from integration.core.room import Outputs
from integration.core.simulation.night import simulate_night
from integration.service import Service
from tests.e2e.helpers import REPO, SETTLE_S, SPEED, bedroom_config, running, short_night, wait
from tests.mosquitto import Mosquitto
from tests.relay import CuttableLink

# The link is down from 30 % to 65 % of the night: three planted jerks and a turnover fall in it.
CUT_FROM, CUT_TO = 0.30, 0.65


@pytest.fixture
def persistent_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private broker of this test's own that keeps sessions on disk across a restart."""
    workdir = tmp_path / "broker"
    workdir.mkdir()
    broker = Mosquitto(workdir, persistent=True)
    broker.start()
    yield broker
    broker.stop()


@pytest.mark.parametrize("broker_restarts", [False, True], ids=["cut", "cut-and-broker-restart"])
async def test_an_outage_mid_night_loses_no_message_and_no_movement(
    persistent_broker: Mosquitto, unique_topic: str, broker_restarts: bool
) -> None:
    broker = persistent_broker
    spec = short_night(unique_topic, seed=5).model_copy(update={"jerks": 3})
    night = simulate_night(spec)
    messages = list(night.messages())
    first, last = messages[0][0], messages[-1][0]
    cut_at, back_at = (first + f * (last - first) for f in (CUT_FROM, CUT_TO))
    before = [m for m in messages if m[0] < cut_at]
    during = [m for m in messages if cut_at <= m[0] < back_at]
    after = [m for m in messages if m[0] >= back_at]
    in_cut = [lab for lab in night.labels if lab.spasm_like and cut_at <= lab.start < back_at]
    assert len(in_cut) == 3  # what this test is about: movements made while the link is down

    link = CuttableLink(broker.port)
    await link.open()
    config = bedroom_config(broker, unique_topic, spec)
    clock = ScaledClock(spec.start, SPEED)
    to_service = replace(mqtt_settings(config), port=link.port, backoff_max_s=0.2)
    service = Service(
        config, REPO / "rules", clock=clock, mqtt=to_service, discovery_settle_s=SETTLE_S
    )
    mqtt = service.mqtt
    sensor = replace(
        mqtt_settings(config), client_id="bed-sensor", availability_topic=f"{unique_topic}/sim"
    )
    stats = service.pipeline.stats
    try:
        async with running(service.run, mqtt):
            sent = await publish_messages(sensor, before, clock)
            await wait(service.wait_for(lambda: stats.messages == sent))
            await link.refuse()
            await wait(mqtt.wait_for(lambda: mqtt.state is not ConnectionState.CONNECTED))
            sent += await publish_messages(sensor, during, clock)
            if broker_restarts:
                broker.restart()
            assert stats.messages == len(before)  # the backlog waits at the broker
            await link.open()
            await wait(mqtt.wait_for(lambda: mqtt.state is ConnectionState.CONNECTED))
            sent += await publish_messages(sensor, after, clock)
            await wait(service.wait_for(lambda: stats.messages == sent))
            room = service.pipeline.rooms["bedroom"]
            out = Outputs()
            room.summary_now(clock.now(), out)
    finally:
        await link.refuse()

    assert sent == len(messages)
    assert mqtt.counters.reconnects >= 1
    assert stats.rejected == {}
    assert stats.readings["motion"] == sum(1 for m in messages if m[1] == spec.accel_topic)
    # Each planted spasm found once, where it was planted: the backlog kept its device time.
    spasms = [e for e in service.recent_events if e.spasm_like]
    planted = [lab for lab in night.labels if lab.spasm_like]
    for label in planted:
        found = [e for e in spasms if label.start - 2 <= e.start <= label.end + 2]
        assert len(found) <= 1, (label, found)
    matched = [
        lab for lab in planted if any(lab.start - 2 <= e.start <= lab.end + 2 for e in spasms)
    ]
    assert len(matched) >= len(planted) - 1
    assert sum(lab in matched for lab in in_cut) >= len(in_cut) - 1
    assert not [e for e in service.recent_events if not e.spasm_like and e.kind == "jerk"]
    # The night is whole: one night from its first minute, every spasm counted, no gap in it.
    (summary,) = out.so_far
    assert summary.bed_time <= first + 60
    assert summary.spasm_count == len(spasms)
    assert summary.temp_known_min >= 11  # of a 12-minute night
