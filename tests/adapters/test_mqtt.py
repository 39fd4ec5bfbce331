"""The MQTT adapter against a real private Mosquitto: availability, stamping, outages, auth, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiomqtt
import pytest

from integration.adapters.mqtt import (
    MAX_HELD,
    TRANSITIONS,
    ConnectionState,
    MqttConnection,
    MqttSettings,
    mqtt_settings,
)
from integration.config import load_config
from integration.messages import InboundMessage
from tests.mosquitto import Mosquitto
from tests.relay import CuttableLink

# Generous for loopback: a broken test fails within this instead of hanging.
TIMEOUT_S = 5.0
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the injected clock's start


class FakeClock:
    """Injected time that moves only when the test says so."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def link(mosquitto: Mosquitto) -> AsyncIterator[CuttableLink]:
    """A relay to the broker that the test cuts; closed at the end."""
    relay = CuttableLink(mosquitto.port)
    await relay.open()
    yield relay
    await relay.refuse()


def make_settings(broker: Mosquitto, unique_topic: str) -> MqttSettings:
    """Settings for the plain listener with a client id and availability topic of this test."""
    return MqttSettings(
        host=broker.host,
        port=broker.port,
        client_id="sb-" + unique_topic.rsplit("/", 1)[-1][:16],
        availability_topic=f"{unique_topic}/availability",
        backoff_max_s=0.2,
    )


@contextlib.asynccontextmanager
async def running(conn: MqttConnection) -> AsyncIterator[asyncio.Task[None]]:
    """Run the connection in a named task; cancel it (clean shutdown) on exit."""
    task = asyncio.create_task(conn.run(), name="mqtt-under-test")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def observer(broker: Mosquitto, *topics: str) -> AsyncIterator[aiomqtt.Client]:
    """A plain client that sees what the adapter publishes."""
    async with aiomqtt.Client(broker.host, broker.port) as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        yield client


async def next_message(client: aiomqtt.Client) -> aiomqtt.Message:
    async with asyncio.timeout(TIMEOUT_S):
        return await anext(client.messages)


async def wait_state(conn: MqttConnection, state: ConnectionState) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        await conn.wait_for(lambda: conn.state is state)


async def get(conn: MqttConnection) -> InboundMessage:
    async with asyncio.timeout(TIMEOUT_S):
        return await conn.get()


@contextlib.asynccontextmanager
async def recorded_states(conn: MqttConnection) -> AsyncIterator[list[ConnectionState]]:
    """Every state the connection passes through, however briefly, while the block runs."""
    seen = [conn.state]

    def record() -> bool:
        if conn.state is not seen[-1]:
            seen.append(conn.state)
        return False

    recorder = asyncio.create_task(conn.wait_for(record), name="state-recorder")
    try:
        yield seen
    finally:
        recorder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recorder


async def test_publishes_online_and_offline_on_clean_shutdown(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    settings = make_settings(mosquitto, unique_topic)
    conn = MqttConnection(settings, [], FakeClock())
    async with observer(mosquitto, settings.availability_topic) as watcher:
        async with running(conn):
            await wait_state(conn, ConnectionState.CONNECTED)
            assert (await next_message(watcher)).payload == b"online"
        assert (await next_message(watcher)).payload == b"offline"
    assert conn.state is ConnectionState.DISCONNECTED
    async with observer(mosquitto, settings.availability_topic) as late_joiner:
        retained = await next_message(late_joiner)
    assert (retained.payload, retained.retain) == (b"offline", True)


async def test_will_says_offline_when_the_connection_is_cut_then_link_recovers(
    mosquitto: Mosquitto, unique_topic: str, link: CuttableLink
) -> None:
    settings = replace(make_settings(mosquitto, unique_topic), port=link.port)
    conn = MqttConnection(settings, [], FakeClock())
    async with observer(mosquitto, settings.availability_topic) as watcher, running(conn):
        await wait_state(conn, ConnectionState.CONNECTED)
        assert (await next_message(watcher)).payload == b"online"
        link.cut()
        assert (await next_message(watcher)).payload == b"offline"  # the broker sent our will
        assert (await next_message(watcher)).payload == b"online"  # reconnected by itself
        await wait_state(conn, ConnectionState.CONNECTED)
        assert conn.counters.reconnects == 1


async def test_receives_exact_and_wildcard_subscriptions_stamped_on_arrival(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    subscriptions = [
        (f"{unique_topic}/bedroom/temperature", 0),
        (f"{unique_topic}/bed/+/accel", 0),
        (f"{unique_topic}/zigbee2mqtt/#", 1),
    ]
    clock = FakeClock()
    conn = MqttConnection(make_settings(mosquitto, unique_topic), subscriptions, clock)
    sent = [
        (T0 + 1.0, f"{unique_topic}/bedroom/temperature", b"19.5"),
        (T0 + 2.5, f"{unique_topic}/bed/left/accel", b'{"x":0.01,"y":0.02,"z":1.0}'),
        (T0 + 7.25, f"{unique_topic}/zigbee2mqtt/bed_sensor", b'{"vibration":true}'),
    ]
    async with running(conn), observer(mosquitto) as publisher:
        await wait_state(conn, ConnectionState.CONNECTED)
        # Not subscribed: had it been delivered, it would arrive before the next message.
        await publisher.publish(f"{unique_topic}/bedroom/humidity", b"48")
        for t, topic, payload in sent:
            clock.t = t
            await publisher.publish(topic, payload)
            assert await get(conn) == InboundMessage(t=t, topic=topic, payload=payload)
        assert conn.queued == 0
        assert conn.counters.messages_in == len(sent)


async def test_reconnects_and_resubscribes_after_broker_restart(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    topic = f"{unique_topic}/bedroom/temperature"
    conn = MqttConnection(make_settings(mosquitto, unique_topic), [(topic, 0)], FakeClock())
    async with running(conn):
        await wait_state(conn, ConnectionState.CONNECTED)
        async with recorded_states(conn) as seen:
            mosquitto.stop()
            try:
                await wait_state(conn, ConnectionState.BACKING_OFF)
            finally:
                mosquitto.start()
            await wait_state(conn, ConnectionState.CONNECTED)
        async with observer(mosquitto) as publisher:
            await publisher.publish(topic, b"21.0")
            assert (await get(conn)).payload == b"21.0"
    assert seen[:2] == [ConnectionState.CONNECTED, ConnectionState.BACKING_OFF]
    assert seen[-2:] == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
    assert all(new in TRANSITIONS[old] for old, new in itertools.pairwise(seen))
    assert conn.counters.reconnects == 1


async def test_persistent_session_delivers_qos1_messages_sent_while_away(
    mosquitto: Mosquitto, unique_topic: str, link: CuttableLink
) -> None:
    topic = f"{unique_topic}/bed/left/motion"
    settings = replace(make_settings(mosquitto, unique_topic), port=link.port, clean_session=False)
    conn = MqttConnection(settings, [(topic, 1)], FakeClock())
    async with running(conn), observer(mosquitto) as publisher:
        await wait_state(conn, ConnectionState.CONNECTED)
        await link.refuse()
        await wait_state(conn, ConnectionState.BACKING_OFF)
        for payload in (b"1", b"2", b"3"):
            await publisher.publish(topic, payload, qos=1)
        await link.open()
        received = [(await get(conn)).payload for _ in range(3)]
    assert received == [b"1", b"2", b"3"]


async def test_right_password_connects(mosquitto: Mosquitto, unique_topic: str) -> None:
    settings = replace(
        make_settings(mosquitto, unique_topic),
        port=mosquitto.password_port,
        username=mosquitto.username,
        password=mosquitto.password,
    )
    conn = MqttConnection(settings, [], FakeClock())
    async with running(conn):
        await wait_state(conn, ConnectionState.CONNECTED)


@pytest.mark.parametrize(
    ("username", "password"),
    [("bedroom", "not-the-password"), (None, None)],
    ids=["wrong-password", "anonymous"],
)
async def test_refused_credentials_wait_the_maximum_delay(
    mosquitto: Mosquitto,
    unique_topic: str,
    username: str | None,
    password: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = replace(
        make_settings(mosquitto, unique_topic),
        port=mosquitto.password_port,
        username=username,
        password=password,
        backoff_max_s=45.0,
    )
    conn = MqttConnection(settings, [], FakeClock())
    async with running(conn):
        await wait_state(conn, ConnectionState.AUTH_FAILED)
        assert conn.retry_delay_s == 45.0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        # Mosquitto 2.0 answers "not authorised" (3.1.1 code 5) to a wrong password too.
        f"broker 127.0.0.1:{mosquitto.password_port} unavailable: [code:135] Not authorized"
    ]
    assert "not-the-password" not in caplog.text


@pytest.mark.parametrize(
    ("password", "environ", "why"),
    [
        (
            "  password: {env: SB_TEST_MQTT_PASSWORD}\n",
            {},
            "mqtt.password: environment variable SB_TEST_MQTT_PASSWORD is not set",
        ),
        (
            "  password: {env: SB_TEST_MQTT_PASSWORD}\n",
            {"SB_TEST_MQTT_PASSWORD": ""},
            "mqtt.password: environment variable SB_TEST_MQTT_PASSWORD is empty",
        ),
        ("", {}, "no mqtt.password in the config"),
        (
            "  password: {env: SB_TEST_MQTT_PASSWORD, file: EMPTY}\n",
            {},
            "mqtt.password: environment variable SB_TEST_MQTT_PASSWORD is not set and "
            "secret file EMPTY is empty",
        ),
    ],
    ids=["variable-unset", "variable-empty", "no-password", "variable-unset-file-empty"],
)
async def test_a_refused_user_without_a_password_is_told_why_there_is_none(
    mosquitto: Mosquitto,
    unique_topic: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    password: str,
    environ: dict[str, str],
    why: str,
) -> None:
    empty = tmp_path / "mqtt-password"
    empty.write_text("\n", encoding="utf-8")
    monkeypatch.delenv("SB_TEST_MQTT_PASSWORD", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "smart-bedroom.yaml"
    path.write_text(
        "mqtt:\n"
        f"  host: {mosquitto.host}\n"
        f"  port: {mosquitto.password_port}\n"
        f"  username: {mosquitto.username}\n"
        + password.replace("EMPTY", str(empty))
        + "rooms:\n  - id: bedroom\n    name: Bedroom\n    sensors:\n"
        "      - {id: t, kind: temperature, topic: z2m/t}\n",
        encoding="utf-8",
    )
    settings = replace(
        mqtt_settings(load_config(path)),
        client_id="sb-" + unique_topic.rsplit("/", 1)[-1][:16],
        availability_topic=f"{unique_topic}/availability",
        backoff_max_s=45.0,
    )
    conn = MqttConnection(settings, [], FakeClock())
    async with running(conn):
        await wait_state(conn, ConnectionState.AUTH_FAILED)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"broker 127.0.0.1:{mosquitto.password_port} unavailable: [code:135] Not authorized"
        f" — no password is set for user {mosquitto.username!r} ({why.replace('EMPTY', str(empty))})"
    ]


async def test_a_refused_user_with_a_password_is_not_told_it_has_none(
    mosquitto: Mosquitto,
    unique_topic: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SB_TEST_MQTT_PASSWORD", "not-the-password")
    path = tmp_path / "smart-bedroom.yaml"
    path.write_text(
        f"mqtt:\n  host: {mosquitto.host}\n  port: {mosquitto.password_port}\n"
        f"  username: {mosquitto.username}\n  password: {{env: SB_TEST_MQTT_PASSWORD}}\n"
        "rooms:\n  - id: bedroom\n    name: Bedroom\n    sensors:\n"
        "      - {id: t, kind: temperature, topic: z2m/t}\n",
        encoding="utf-8",
    )
    settings = replace(
        mqtt_settings(load_config(path)),
        client_id="sb-" + unique_topic.rsplit("/", 1)[-1][:16],
        availability_topic=f"{unique_topic}/availability",
    )
    conn = MqttConnection(settings, [], FakeClock())
    async with running(conn):
        await wait_state(conn, ConnectionState.AUTH_FAILED)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"broker 127.0.0.1:{mosquitto.password_port} unavailable: [code:135] Not authorized"
    ]
    assert "not-the-password" not in caplog.text


async def test_tls_with_ca_and_client_certificate_connects(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    topic = f"{unique_topic}/bedroom/temperature"
    settings = replace(
        make_settings(mosquitto, unique_topic),
        port=mosquitto.tls_port,
        tls=True,
        ca_file=str(mosquitto.ca_file),
        cert_file=str(mosquitto.client_cert_file),
        key_file=str(mosquitto.client_key_file),
    )
    conn = MqttConnection(settings, [(topic, 0)], FakeClock())
    async with running(conn):
        await wait_state(conn, ConnectionState.CONNECTED)
        assert await conn.publish(topic, "18.75")
        assert (await get(conn)).payload == b"18.75"


async def test_a_certificate_file_gone_since_start_is_named_in_the_warning(
    mosquitto: Mosquitto, unique_topic: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(mosquitto.ca_file.read_bytes())
    settings = replace(
        make_settings(mosquitto, unique_topic),
        port=mosquitto.tls_port,
        tls=True,
        ca_file=str(ca_file),
        cert_file=str(mosquitto.client_cert_file),
        key_file=str(mosquitto.client_key_file),
    )
    ca_file.unlink()  # `check` found it; a clean-up removed it before the first connection
    conn = MqttConnection(settings, [], FakeClock())
    async with running(conn):
        await wait_state(conn, ConnectionState.BACKING_OFF)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"broker 127.0.0.1:{mosquitto.tls_port} unavailable: CA file {ca_file}: No such file or directory"
    ]


async def test_flood_beyond_max_queue_keeps_newest_and_counts_the_rest(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    topic = f"{unique_topic}/bed/left/accel"
    sent, max_queue = 500, 20
    settings = replace(
        make_settings(mosquitto, unique_topic), max_queue=max_queue, max_rate_per_topic=1e9
    )
    conn = MqttConnection(settings, [(topic, 0)], FakeClock())
    async with running(conn), observer(mosquitto) as publisher:
        await wait_state(conn, ConnectionState.CONNECTED)
        for seq in range(sent):
            await publisher.publish(topic, str(seq))
        async with asyncio.timeout(TIMEOUT_S):
            await conn.wait_for(lambda: conn.counters.messages_in == sent)
        assert conn.queued == max_queue
        kept = [int((await get(conn)).payload) for _ in range(max_queue)]
    assert kept == list(range(sent - max_queue, sent))
    assert conn.counters.dropped_overflow == sent - max_queue


async def test_publish_reports_false_while_not_connected(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    conn = MqttConnection(make_settings(mosquitto, unique_topic), [], FakeClock())
    assert not await conn.publish(f"{unique_topic}/x", "1")
    async with running(conn):
        await wait_state(conn, ConnectionState.CONNECTED)
        assert await conn.publish(f"{unique_topic}/x", "2")
    assert conn.counters.publish_failures == 1


async def test_qos1_publishes_made_while_away_go_out_in_order_when_the_link_is_back(
    mosquitto: Mosquitto, unique_topic: str, link: CuttableLink
) -> None:
    settings = replace(make_settings(mosquitto, unique_topic), port=link.port)
    conn = MqttConnection(settings, [], FakeClock())
    event, state, noise = (f"{unique_topic}/{name}" for name in ("event", "state", "noise"))
    async with observer(mosquitto, event, state, noise) as home_assistant, running(conn):
        await wait_state(conn, ConnectionState.CONNECTED)
        await link.refuse()
        await wait_state(conn, ConnectionState.BACKING_OFF)
        assert not await conn.publish(event, "jerk 1", qos=1)
        assert not await conn.publish(state, "17.9", qos=1, retain=True)
        assert not await conn.publish(event, "jerk 2", qos=1)
        assert not await conn.publish(state, "18.1", qos=1, retain=True)  # replaces 17.9
        assert not await conn.publish(noise, "lost", qos=0)  # QoS 0: at most once, as promised
        assert conn.held == 3
        await link.open()
        got = [(await next_message(home_assistant)) for _ in range(3)]
        await wait_state(conn, ConnectionState.CONNECTED)
        assert await conn.publish(event, "jerk 3", qos=1)  # after the held ones, never before
        got.append(await next_message(home_assistant))
    assert [(str(m.topic), m.payload) for m in got] == [
        (event, b"jerk 1"),
        (event, b"jerk 2"),
        (state, b"18.1"),
        (event, b"jerk 3"),
    ]
    assert conn.held == 0
    assert conn.counters.dropped_held == 0


async def test_held_publishes_are_bounded_keeping_the_newest(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    conn = MqttConnection(make_settings(mosquitto, unique_topic), [], FakeClock())
    for n in range(MAX_HELD + 5):
        await conn.publish(f"{unique_topic}/event", str(n), qos=1)
    assert (conn.held, conn.counters.dropped_held) == (MAX_HELD, 5)


@pytest.mark.parametrize(
    ("attempt", "auth_failed", "low_s", "high_s"),
    [
        (0, False, 0.5, 1.0),
        (1, False, 1.0, 2.0),
        (3, False, 4.0, 8.0),
        (5, False, 16.0, 32.0),
        (6, False, 30.0, 60.0),
        (10_000, False, 30.0, 60.0),
        (0, True, 60.0, 60.0),
        (7, True, 60.0, 60.0),
    ],
    ids=[
        "first",
        "second",
        "fourth",
        "sixth",
        "capped",
        "day-long-outage-no-overflow",
        "auth-first",
        "auth-later",
    ],
)
def test_next_retry_delay_is_capped_jittered_and_auth_waits_the_cap(
    attempt: int, auth_failed: bool, low_s: float, high_s: float
) -> None:
    settings = MqttSettings(host="127.0.0.1", backoff_max_s=60.0)
    conn = MqttConnection(settings, [], FakeClock(), rng=random.Random(7))
    delays = {conn.next_retry_delay(attempt, auth_failed) for _ in range(50)}
    assert all(low_s <= d <= high_s for d in delays)
    assert len(delays) == (1 if auth_failed else 50)  # jittered, except at the auth cap


async def test_a_flooding_topic_loses_its_excess_and_others_still_get_in(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    stuck, other = f"{unique_topic}/stuck/vibration", f"{unique_topic}/bed/occupancy"
    settings = replace(make_settings(mosquitto, unique_topic), max_rate_per_topic=10.0)
    clock = FakeClock()  # frozen: the stuck sensor's 20-message burst allowance never refills
    conn = MqttConnection(settings, [(f"{unique_topic}/#", 0)], clock)
    async with running(conn), observer(mosquitto) as publisher:
        await wait_state(conn, ConnectionState.CONNECTED)
        for seq in range(300):
            await publisher.publish(stuck, str(seq))
        await publisher.publish(other, "true")
        huge = b"{" + b" " * (settings.max_payload_bytes + 1) + b"}"
        await publisher.publish(other, huge)
        async with asyncio.timeout(TIMEOUT_S):
            await conn.wait_for(lambda: conn.counters.messages_in == 302)
        kept = [await get(conn) for _ in range(conn.queued)]
    assert [m.topic for m in kept].count(stuck) == 20
    assert [m.payload for m in kept if m.topic == other] == [b"true"]
    assert (conn.counters.dropped_flood, conn.counters.dropped_oversize) == (280, 1)
    assert conn.flooding == {stuck: 280}
    # Flooding "now" is judged by the time of the latest drop; the count stays.
    assert conn.flooding_since(T0 - 1.0) == {stuck: 280}
    assert conn.flooding_since(T0) == {}


async def test_a_flood_spread_over_many_topics_under_a_wildcard_sensor_is_limited_as_one(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    sensor, other = f"{unique_topic}/z2m/+", f"{unique_topic}/bed/occupancy"
    settings = replace(
        make_settings(mosquitto, unique_topic), max_rate_per_topic=10.0, max_rate_per_wildcard=10.0
    )
    clock = FakeClock()  # frozen: no bucket refills during the flood
    conn = MqttConnection(settings, [(sensor, 0), (other, 0)], clock)
    flood = 3000  # each on a topic of its own: a per-topic limit alone lets every one in
    async with running(conn), observer(mosquitto) as publisher:
        await wait_state(conn, ConnectionState.CONNECTED)
        for seq in range(flood):
            await publisher.publish(f"{unique_topic}/z2m/device{seq}", "0")
        await publisher.publish(other, "true")
        async with asyncio.timeout(TIMEOUT_S):
            await conn.wait_for(lambda: conn.counters.messages_in == flood + 1)
        kept = [await get(conn) for _ in range(conn.queued)]
    # The wildcard's burst allowance, and the other sensor untouched.
    assert len([m for m in kept if m.topic != other]) == 20
    assert [m.payload for m in kept if m.topic == other] == [b"true"]
    assert conn.counters.dropped_flood == flood - 20
    assert conn.flooding == {sensor: flood - 20}  # named once, by the subscription
