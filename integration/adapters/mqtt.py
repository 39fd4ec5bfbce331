"""The MQTT adapter: one broker link that outlives outages, stamps arrivals, bounds its queue.

`MqttConnection.run()` connects, publishes a retained "online" (with a retained "offline" will),
subscribes, and moves every message into a bounded queue as an `InboundMessage` stamped once
with the injected clock. On any broker error it backs off and starts over, re-subscribing;
cancelling it publishes "offline" and disconnects cleanly. A QoS 1 publish made while the link
is down is held (the newest `MAX_HELD`; a retained topic only its latest value) and sent, in
order, as soon as the link is back: an event or a fan command is not lost to a broker restart.

Theory of operation
-------------------
`run()` walks `TRANSITIONS`:

    DISCONNECTED -> CONNECTING      run() starts
    CONNECTING   -> CONNECTED       CONNACK accepted, "online" published, subscribed
    CONNECTING   -> BACKING_OFF     unreachable, refused, timed out, TLS failure
    CONNECTING   -> AUTH_FAILED     the broker rejected our credentials
    CONNECTED    -> BACKING_OFF     the connection was lost
    BACKING_OFF  -> CONNECTING      the delay has passed (same for AUTH_FAILED)
    any          -> DISCONNECTED    run() was cancelled

Delays are capped and jittered (`integration.backoff`); a credentials failure waits the cap at
once, as aioesphomeapi `reconnect_logic.py` does for invalid auth: retrying a wrong password
quickly cannot succeed and only floods the broker's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import aiomqtt
from paho.mqtt.client import topic_matches_sub
from paho.mqtt.reasoncodes import ReasonCode

from integration.adapters.payloads import MAX_PAYLOAD_BYTES
from integration.backoff import retry_delay
from integration.clock import Clock
from integration.config import (
    ServiceConfig,
    TlsConfig,
    resolve_secret,
    tls_problems,
    unset_secret_reason,
)
from integration.messages import InboundMessage
from integration.watchers import Watchers

__all__ = [
    "ConnectionState",
    "MqttConnection",
    "MqttCounters",
    "MqttSettings",
]

_LOGGER = logging.getLogger(__name__)

# HA's default availability payloads (payload_available / payload_not_available):
# https://www.home-assistant.io/integrations/mqtt/#availability
ONLINE = "online"
OFFLINE = "offline"
# CONNACK "Bad user name or password" and "Not authorized" (MQTT 5.0 section 3.2.2.2); paho maps
# the MQTT 3.1.1 return codes 4 and 5 to these (paho `_packet.convert_connack_rc_to_reason_code`).
_AUTH_REFUSED_CODES = frozenset({0x86, 0x87})
# Nagle's algorithm adds tens of ms of latency to small MQTT packets; paho leaves it on.
_SOCKET_OPTIONS = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
# Enough of a payload to recognise it in a DEBUG line without logging whole documents.
_EXCERPT_BYTES = 64
# A shutdown must not hang on a dead broker: wait this long for the "offline" PUBACK.
# A QoS 1 publish whose acknowledgement never comes (the link died) fails instead of waiting.
_PUBLISH_TIMEOUT_S = 10.0
_MAX_TRACKED_TOPICS = 10_000
_OFFLINE_TIMEOUT_S = 2.0
# QoS 1 publishes held while the link is down: a night's events and commands many times over.
MAX_HELD = 1000


class ConnectionState(StrEnum):
    """Where the broker link is; `AUTH_FAILED` is backing off with the maximum delay."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKING_OFF = "backing_off"
    AUTH_FAILED = "auth_failed"


_S = ConnectionState
TRANSITIONS: dict[ConnectionState, frozenset[ConnectionState]] = {
    _S.DISCONNECTED: frozenset({_S.CONNECTING}),
    _S.CONNECTING: frozenset({_S.CONNECTED, _S.BACKING_OFF, _S.AUTH_FAILED, _S.DISCONNECTED}),
    _S.CONNECTED: frozenset({_S.BACKING_OFF, _S.DISCONNECTED}),
    _S.BACKING_OFF: frozenset({_S.CONNECTING, _S.DISCONNECTED}),
    _S.AUTH_FAILED: frozenset({_S.CONNECTING, _S.DISCONNECTED}),
}


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Broker, credentials, TLS and limits; built from the validated service config."""

    host: str
    port: int = 1883
    client_id: str = "smart-bedroom"
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None  # None with tls=True: the system's trusted CAs
    cert_file: str | None = None  # client certificate, for brokers that require one
    key_file: str | None = None
    tls_insecure: bool = False  # skip the server hostname check (self-signed setups)
    keepalive_s: int = 30
    availability_topic: str = "smart-bedroom/availability"
    clean_session: bool = False  # persistent session: QoS 1 messages wait for us at the broker
    max_queue: int = 10000  # inbound messages held for a slow consumer; older ones are dropped
    # A topic sending faster than this (messages per second, with a burst of twice that) is
    # stuck or attacked: its excess is dropped before the queue, so other rooms still get in.
    # A 100 Hz one-sample-a-message accelerometer is the fastest honest sender.
    max_rate_per_topic: float = 200.0
    # The same for all the topics under one wildcard subscription together: a wildcard sensor is
    # one device whatever topic it names, and a flood spread over many distinct topics under it
    # would pass any per-topic limit (each new topic arrives with a full burst allowance).
    max_rate_per_wildcard: float = 200.0
    # Larger payloads are refused at the door (the parser's limit too), so a queue of them
    # cannot eat the memory of a small machine.
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    backoff_max_s: float = 60.0
    # Why no password resolved (never the password): told when the broker refuses us.
    password_unset: str | None = None


@dataclass(frozen=True, slots=True)
class MqttCounters:
    """A snapshot of what the link has done, for metrics and tests."""

    messages_in: int
    dropped_overflow: int
    reconnects: int
    publish_failures: int
    dropped_flood: int = 0
    dropped_oversize: int = 0
    dropped_held: int = 0  # QoS 1 publishes held through an outage beyond `MAX_HELD`


class MqttConnection:
    """A self-healing broker connection: run `run()` in a task, read with `messages()`."""

    def __init__(
        self,
        settings: MqttSettings,
        subscriptions: Sequence[tuple[str, int]],
        now: Callable[[], float],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._subscriptions = list(subscriptions)
        self._now = now
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._queue: asyncio.Queue[InboundMessage] = asyncio.Queue(maxsize=settings.max_queue)
        self._state = ConnectionState.DISCONNECTED
        self._client: aiomqtt.Client | None = None  # set only while CONNECTED
        self._held: deque[tuple[str, str | bytes, int, bool]] = deque()
        self._dropped_held = 0
        self._retry_delay_s: float | None = None
        self._attempt = 0
        self._ever_connected = False
        self._outage_logged = False
        self._watchers = Watchers()
        self._messages_in = 0
        self._dropped_overflow = 0
        self._reconnects = 0
        self._publish_failures = 0
        self._dropped_flood = 0
        self._dropped_oversize = 0
        self._buckets: dict[str, tuple[float, float]] = {}  # topic → (tokens, at)
        self._wildcards = [f for f, _ in self._subscriptions if "+" in f or "#" in f]
        self._wildcard_buckets: dict[str, tuple[float, float]] = {}  # filter → (tokens, at)
        self._wildcard_of_topic: dict[str, str | None] = {}
        self.flooding: dict[str, int] = {}  # topic → messages dropped for its rate
        self._flooded_at: dict[str, float] = {}  # topic → arrival time of its latest drop

    @property
    def state(self) -> ConnectionState:
        """Where the link is now."""
        return self._state

    @property
    def retry_delay_s(self) -> float | None:
        """The delay scheduled before the next attempt while backing off, else None."""
        return self._retry_delay_s

    @property
    def queued(self) -> int:
        """Messages waiting for the consumer; never above `max_queue`."""
        return self._queue.qsize()

    @property
    def counters(self) -> MqttCounters:
        """Counts since construction."""
        return MqttCounters(
            messages_in=self._messages_in,
            dropped_overflow=self._dropped_overflow,
            reconnects=self._reconnects,
            publish_failures=self._publish_failures,
            dropped_flood=self._dropped_flood,
            dropped_oversize=self._dropped_oversize,
            dropped_held=self._dropped_held,
        )

    def dropped(self) -> dict[str, int]:
        """Messages dropped before parsing, by reason (for /healthz and /metrics)."""
        return {
            "queue_full": self._dropped_overflow,
            "flood": self._dropped_flood,
            "oversize": self._dropped_oversize,
        }

    def flooding_since(self, t: float) -> dict[str, int]:
        """Topics that lost a message to their rate limit after `t`, with their total drops."""
        return {topic: n for topic, n in self.flooding.items() if self._flooded_at[topic] > t}

    @property
    def held(self) -> int:
        """QoS 1 publishes waiting for the link to come back."""
        return len(self._held)

    def next_retry_delay(self, attempt: int, auth_failed: bool) -> float:
        """Seconds to wait after failure number `attempt` (0-based) of the current outage."""
        return retry_delay(
            attempt + 1,
            cap_s=self._settings.backoff_max_s,
            auth_failed=auth_failed,
            rng=self._rng,
        )

    async def run(self) -> None:
        """Stay connected until cancelled; never raises for broker trouble."""
        try:
            while True:
                self._set_state(ConnectionState.CONNECTING)
                auth_failed = False
                try:
                    await self._session()
                except aiomqtt.MqttError as exc:
                    auth_failed = _is_auth_failure(exc)
                    self._log_unavailable(exc)
                self._retry_delay_s = self.next_retry_delay(self._attempt, auth_failed)
                self._attempt += 1
                self._set_state(
                    ConnectionState.AUTH_FAILED if auth_failed else ConnectionState.BACKING_OFF
                )
                await asyncio.sleep(self._retry_delay_s)
                self._retry_delay_s = None
        finally:
            self._retry_delay_s = None
            self._set_state(ConnectionState.DISCONNECTED)

    async def get(self) -> InboundMessage:
        """The oldest queued message, waiting for one if none is queued."""
        return await self._queue.get()

    async def messages(self) -> AsyncIterator[InboundMessage]:
        """Queued messages in arrival order, forever."""
        while True:
            yield await self._queue.get()

    async def publish(
        self, topic: str, payload: str | bytes, *, qos: int = 0, retain: bool = False
    ) -> bool:
        """Publish now if connected; False (and counted) when not connected or the link drops.

        Not sent now, a QoS 1 message is held and sent when the link is back; QoS 0 is dropped.
        """
        client = self._client
        if client is None:
            self._publish_failures += 1
            self._hold(topic, payload, qos, retain)
            _LOGGER.debug("broker not connected: publish to %s not sent now", topic)
            return False
        try:
            await _publish_keeping_cancellation(client, topic, payload, qos, retain)
        except aiomqtt.MqttError as exc:
            self._publish_failures += 1
            self._hold(topic, payload, qos, retain)
            _LOGGER.debug("publish to %s failed: %s", topic, exc)
            return False
        return True

    def _hold(self, topic: str, payload: str | bytes, qos: int, retain: bool) -> None:
        if qos < 1:
            return
        if retain:  # a retained topic's older value would only be overwritten on arrival
            stale = [m for m in self._held if m[0] == topic and m[3]]
            for message in stale:
                self._held.remove(message)
        if len(self._held) >= MAX_HELD:
            self._held.popleft()
            self._dropped_held += 1
        self._held.append((topic, payload, qos, retain))

    async def _send_held(self, client: aiomqtt.Client) -> None:
        """Send what was held, oldest first; one that fails stays held for the next link."""
        if self._held:
            _LOGGER.info("sending %d message(s) held while the broker was away", len(self._held))
        while self._held:
            message = self._held.popleft()
            topic, payload, qos, retain = message
            try:
                await _publish_keeping_cancellation(client, topic, payload, qos, retain)
            except BaseException:
                self._held.appendleft(message)
                raise

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; re-checked at every state change and arrival."""
        await self._watchers.wait_for(predicate)

    async def _session(self) -> None:
        """One connection, from CONNECT to its loss; raises MqttError when it ends."""
        # A fresh client per attempt: aiomqtt 2.5 does not reset its "connected" future after
        # an unexpected disconnection, so a reused client would skip waiting for CONNACK.
        client = self._new_client()
        async with client:
            try:
                await client.publish(self._settings.availability_topic, ONLINE, qos=1, retain=True)
                if self._subscriptions:
                    self._warn_refused(await client.subscribe(self._subscriptions))
                # Before `_client` is set, so what is published meanwhile queues behind them.
                await self._send_held(client)
                self._client = client
                self._on_connected()
                async for message in client.messages:
                    self._accept(message)
            except asyncio.CancelledError:
                await self._publish_offline(client)
                raise
            finally:
                self._client = None

    def _new_client(self) -> aiomqtt.Client:
        s = self._settings
        tls_params = (
            aiomqtt.TLSParameters(ca_certs=s.ca_file, certfile=s.cert_file, keyfile=s.key_file)
            if s.tls
            else None
        )
        return aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id,
            will=aiomqtt.Will(s.availability_topic, OFFLINE, qos=1, retain=True),
            clean_session=s.clean_session,
            keepalive=s.keepalive_s,
            tls_params=tls_params,
            tls_insecure=s.tls_insecure if s.tls else None,
            socket_options=_SOCKET_OPTIONS,
            # aiomqtt's own queue is left unbounded: `_accept` empties it as fast as it fills
            # and bounds ours, counting what it drops (aiomqtt would log each drop instead).
        )

    def _on_connected(self) -> None:
        s = self._settings
        if self._outage_logged:
            _LOGGER.info("broker %s:%d is back", s.host, s.port)
        elif not self._ever_connected:
            _LOGGER.info("broker %s:%d connected as %s", s.host, s.port, s.client_id)
        if self._ever_connected:
            self._reconnects += 1
        self._ever_connected = True
        self._outage_logged = False
        self._attempt = 0
        self._set_state(ConnectionState.CONNECTED)

    def _accept(self, message: aiomqtt.Message) -> None:
        """Stamp and queue one arrival; when full, drop the oldest (stale data matters least)."""
        now = self._now()
        inbound = InboundMessage(t=now, topic=message.topic.value, payload=message.payload)
        self._messages_in += 1
        if not self._admit(inbound):
            self._notify()
            return
        if self._queue.full():
            self._queue.get_nowait()
            self._dropped_overflow += 1
            if self._dropped_overflow == 1:
                _LOGGER.warning(
                    "inbound queue full (%d messages): dropping the oldest, consumer is behind",
                    self._settings.max_queue,
                )
        self._queue.put_nowait(inbound)
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug("message on %s: %r", inbound.topic, inbound.payload[:_EXCERPT_BYTES])
        self._notify()

    def _admit(self, inbound: InboundMessage) -> bool:
        """Refuse oversize payloads and a flood's excess (token buckets per topic and wildcard).

        A message under a wildcard subscription needs a token from its topic's bucket and from
        the wildcard's; the flood is named by the one that ran dry.
        """
        payload = inbound.payload
        if (
            isinstance(payload, bytes | bytearray)
            and len(payload) > self._settings.max_payload_bytes
        ):
            self._dropped_oversize += 1
            return False
        topic, t = inbound.topic, inbound.t
        rate = self._settings.max_rate_per_topic
        tokens = _refill(self._buckets.get(topic), t, rate)
        wildcard = self._wildcard_of(topic)
        wild_rate = self._settings.max_rate_per_wildcard
        wild_tokens = 0.0
        if wildcard is not None:
            wild_tokens = _refill(self._wildcard_buckets.get(wildcard), t, wild_rate)
        if tokens < 1 or (wildcard is not None and wild_tokens < 1):
            self._dropped_flood += 1
            if tokens < 1:
                self._flooded(topic, f"{topic} sends", rate, t)
            else:
                assert wildcard is not None  # noqa: S101 - the condition above
                self._flooded(wildcard, f"topics under {wildcard} send", wild_rate, t)
            self._buckets[topic] = (tokens, t)
            if wildcard is not None:
                self._wildcard_buckets[wildcard] = (wild_tokens, t)
            return False
        if len(self._buckets) >= _MAX_TRACKED_TOPICS and topic not in self._buckets:
            # Topics under a wildcard are unbounded, memory is not; the wildcard's own bucket
            # (one per subscription) is kept, so forgetting topics lets no flood through.
            self._buckets.clear()
        self._buckets[topic] = (tokens - 1, t)
        if wildcard is not None:
            self._wildcard_buckets[wildcard] = (wild_tokens - 1, t)
        return True

    def _wildcard_of(self, topic: str) -> str | None:
        """The first wildcard subscription `topic` falls under, or None (an exact one)."""
        if not self._wildcards:
            return None
        try:
            return self._wildcard_of_topic[topic]
        except KeyError:
            pass
        if len(self._wildcard_of_topic) >= _MAX_TRACKED_TOPICS:
            self._wildcard_of_topic.clear()
        found = next((f for f in self._wildcards if topic_matches_sub(f, topic)), None)
        self._wildcard_of_topic[topic] = found
        return found

    def _flooded(self, key: str, who: str, rate: float, t: float) -> None:
        """Count a drop for `key` (a topic, or a wildcard filter); warn at its first."""
        dropped = self.flooding.get(key, 0)
        if dropped == 0:
            _LOGGER.warning(
                "%s faster than %.0f messages/s: dropping the excess, other topics go on "
                "(counted, not logged again)",
                who,
                rate,
            )
        if dropped or len(self.flooding) < _MAX_TRACKED_TOPICS:
            self.flooding[key] = dropped + 1
            self._flooded_at[key] = t

    async def _publish_offline(self, client: aiomqtt.Client) -> None:
        try:
            await client.publish(
                self._settings.availability_topic,
                OFFLINE,
                qos=1,
                retain=True,
                timeout=_OFFLINE_TIMEOUT_S,
            )
        except aiomqtt.MqttError as exc:
            _LOGGER.debug("could not publish %s on shutdown: %s", OFFLINE, exc)

    def _warn_refused(self, granted: tuple[int, ...] | list[ReasonCode]) -> None:
        for (topic, _qos), code in zip(self._subscriptions, granted, strict=True):
            # Codes from 0x80 are refusals (MQTT 3.1.1 section 3.9.3); paho's v2 callbacks
            # report each as a ReasonCode (ints are its v1 API).
            if isinstance(code, ReasonCode) and code.is_failure:
                _LOGGER.warning("broker refused subscription to %s", topic)

    def _log_unavailable(self, exc: aiomqtt.MqttError) -> None:
        level = logging.DEBUG if self._outage_logged else logging.WARNING
        s = self._settings
        why = self._tls_file_problem() or exc
        _LOGGER.log(
            level,
            "broker %s:%d unavailable: %s%s",
            s.host,
            s.port,
            why,
            self._missing_password(exc),
        )
        self._outage_logged = True

    def _missing_password(self, exc: aiomqtt.MqttError) -> str:
        """When the broker refused a username that came with no password: that, and why none.

        "Not authorized" alone sends a person to the broker's password file; an unset
        variable is the likelier cause. Names where the password comes from, never the value.
        """
        s = self._settings
        if not _is_auth_failure(exc) or s.username is None or s.password:
            return ""
        why = f" ({s.password_unset})" if s.password_unset else ""
        return f" — no password is set for user {s.username!r}{why}"

    def _tls_file_problem(self) -> str | None:
        """Which certificate file failed, when one did: OpenSSL's own error names none.

        `check` loads them at start; this catches a file removed or replaced since.
        """
        s = self._settings
        if not s.tls:
            return None
        tls = TlsConfig(
            enabled=True,
            ca_file=Path(s.ca_file) if s.ca_file else None,
            cert_file=Path(s.cert_file) if s.cert_file else None,
            key_file=Path(s.key_file) if s.key_file else None,
        )
        problems = tls_problems(tls)
        return problems[0][1] if problems else None

    def _set_state(self, state: ConnectionState) -> None:
        if state not in TRANSITIONS[self._state]:
            raise RuntimeError(f"MQTT link cannot go from {self._state} to {state}")
        _LOGGER.debug("broker link %s -> %s", self._state, state)
        self._state = state
        self._notify()

    def _notify(self) -> None:
        self._watchers.notify()


def _refill(bucket: tuple[float, float] | None, t: float, rate: float) -> float:
    """Tokens in a bucket at `t`: full (a burst of twice the rate) when new."""
    if bucket is None:
        return 2 * rate
    tokens, at = bucket
    # max(0, …): a clock set back must not drain the bucket for as long as it went back.
    return min(2 * rate, tokens + max(0.0, t - at) * rate)


def _is_auth_failure(exc: aiomqtt.MqttError) -> bool:
    rc = exc.rc if isinstance(exc, aiomqtt.MqttCodeError) else None
    return isinstance(rc, ReasonCode) and rc.value in _AUTH_REFUSED_CODES


async def _publish_keeping_cancellation(
    client: aiomqtt.Client, topic: str, payload: str | bytes, qos: int, retain: bool
) -> None:
    """aiomqtt's publish, without losing a cancellation that arrives with the broker's answer.

    aiomqtt waits for the PUBACK with `asyncio.wait_for`, which in Python 3.11 returns the
    result and drops a cancellation that lands at the same moment (python/cpython#86296); the
    caller then runs on in a task asked to stop, and a service never finishes shutting down.
    """
    await client.publish(topic, payload, qos=qos, retain=retain, timeout=_PUBLISH_TIMEOUT_S)
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def mqtt_settings(config: ServiceConfig) -> MqttSettings:
    """The MQTT adapter's settings from validated config, secrets resolved."""
    mqtt = config.mqtt
    return MqttSettings(
        host=mqtt.host,
        port=mqtt.port,
        client_id=mqtt.client_id,
        username=mqtt.username,
        password=resolve_secret(mqtt.password),
        password_unset=unset_secret_reason(mqtt.password, "mqtt.password"),
        tls=mqtt.tls.enabled,
        ca_file=str(mqtt.tls.ca_file) if mqtt.tls.ca_file else None,
        cert_file=str(mqtt.tls.cert_file) if mqtt.tls.cert_file else None,
        key_file=str(mqtt.tls.key_file) if mqtt.tls.key_file else None,
        tls_insecure=mqtt.tls.insecure,
        keepalive_s=mqtt.keepalive_s,
        availability_topic=config.availability_topic,
    )


async def publish_messages(
    settings: MqttSettings,
    messages: Iterable[tuple[float, str, bytes]],
    clock: Clock,
    progress: Callable[[float], None] | None = None,
) -> int:
    """Publish `(t, topic, payload)` as a device would, each when `clock` reaches its `t`.

    With a ScaledClock a whole simulated night goes out in minutes; the service on the other
    side must run on the same scaled clock. Returns how many messages the broker accepted.
    """
    connection = MqttConnection(settings, [], clock.now)
    sent = 0
    task = asyncio.create_task(connection.run(), name="publisher-connection")
    try:
        await connection.wait_for(lambda: connection.state is ConnectionState.CONNECTED)
        for t, topic, payload in messages:
            await clock.sleep_until(t)
            sent += await connection.publish(topic, payload, qos=1)
            if progress is not None:
                progress(t)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return sent
