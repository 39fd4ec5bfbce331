"""Home Assistant entities as sensors: their states over HA's WebSocket API, as messages.

For the bedrooms whose thermometers and presence sensors reach HA another way than MQTT (ZHA,
Matter, Bluetooth behind ESPHome proxies, cloud integrations). One connection asks HA for just
the configured entities with `subscribe_entities`: HA first sends each one's state, then only
what changed (`{"c": {entity: {"+": {"s": state, "a": {changed attributes}}, "-": {"a": [gone]}}}}`,
developers.home-assistant.io/docs/api/websocket). Each state becomes an `InboundMessage` on the
entity's pseudo-topic (`$homeassistant/<entity_id>`), payload `{"state": …, "attributes": …}`,
stamped at arrival like an MQTT message, so the pipeline, recordings and raw nights treat both
sources alike and a night replays exactly.

The link is kept like the broker's: reconnect with capped, jittered backoff (the longest wait
at once when HA refuses the token, which is said plainly), a fresh subscription each time, so
an HA restart costs only its own downtime. `unknown`/`unavailable` states pass on as they are:
the parser reads them as unavailable, and staleness rules apply as for MQTT sensors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any

import aiohttp

from integration.adapters.ha_websocket import AuthRefusedError, log_in
from integration.backoff import retry_delay
from integration.config import ServiceConfig, resolve_secret
from integration.messages import HA_ENTITY_TOPIC_PREFIX, InboundMessage, PayloadFormat
from integration.watchers import Watchers

__all__ = ["HaSourceState", "HomeAssistantStates", "ha_entity_topics", "home_assistant_states"]

_LOGGER = logging.getLogger(__name__)

# Connect, authenticate and subscribe within this; after it, the link waits as long as HA is quiet.
HANDSHAKE_TIMEOUT_S = 10.0
# HA's first answer holds every subscribed entity's state: a few kilobytes each at most.
MAX_FRAME_BYTES = 4 * 1024 * 1024
# Messages waiting for the pipeline beyond this are dropped oldest first (HA sends a handful).
MAX_QUEUED = 10_000
# HA pings nothing on its own: we ping, so a half-open link is found within a minute.
HEARTBEAT_S = 30.0


class HaSourceState(StrEnum):
    """The HA link's state, for /healthz and the log."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKING_OFF = "backing_off"
    AUTH_FAILED = "auth_failed"


class HomeAssistantStates:
    """Follows chosen HA entities; their states come out of `messages()` as they change."""

    def __init__(
        self,
        websocket_url: str,
        token: str,
        entities: Mapping[str, str],
        now: Callable[[], float],
        *,
        backoff_max_s: float = 60.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`entities` maps each entity id to the pseudo-topic its messages carry."""
        self._url = websocket_url
        self._token = token
        self._topics = dict(entities)
        self._now = now
        self._backoff_max_s = backoff_max_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._sleep = sleep
        self._queue: asyncio.Queue[InboundMessage] = asyncio.Queue(MAX_QUEUED)
        self._attributes: dict[str, dict[str, Any]] = {}
        self._watchers = Watchers()
        self.state = HaSourceState.CONNECTING
        self.detail = ""  # why the link is down, in words
        self.states_in = 0
        self.connections = 0
        self.dropped = 0
        self._subscribed = False  # the current connection got as far as its subscription
        self._outage_logged = False

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; re-checked at every state change and arrival."""
        await self._watchers.wait_for(predicate)

    async def messages(self) -> AsyncIterator[InboundMessage]:
        """The entities' states in arrival order, forever."""
        while True:
            yield await self._queue.get()

    async def run(self) -> None:
        """Stay subscribed until cancelled; never raises for HA's trouble."""
        attempt = 0
        async with aiohttp.ClientSession() as session:
            while True:
                self._set(HaSourceState.CONNECTING, "")
                refused = False
                try:
                    await self._follow(session)
                    detail = "HA closed the connection"
                except AuthRefusedError:
                    refused = True
                    detail = "HA refused the token on its WebSocket API; check the long-lived token"
                except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as err:
                    detail = f"{type(err).__name__}: {err}"
                attempt = 1 if self._subscribed else attempt + 1
                self._subscribed = False
                self._set(
                    HaSourceState.AUTH_FAILED if refused else HaSourceState.BACKING_OFF, detail
                )
                await self._sleep(
                    retry_delay(
                        attempt, cap_s=self._backoff_max_s, auth_failed=refused, rng=self._rng
                    )
                )

    async def _follow(self, session: aiohttp.ClientSession) -> None:
        """One connection: authenticate, subscribe, then pass on states until it ends."""
        socket = await asyncio.wait_for(
            session.ws_connect(self._url, max_msg_size=MAX_FRAME_BYTES, heartbeat=HEARTBEAT_S),
            HANDSHAKE_TIMEOUT_S,
        )
        async with socket:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                await log_in(socket, self._token)  # NotHomeAssistantError is a ValueError
                await socket.send_json(
                    {"id": 1, "type": "subscribe_entities", "entity_ids": sorted(self._topics)}
                )
            self.connections += 1
            self._subscribed = True
            self._set(HaSourceState.CONNECTED, "")
            async for frame in socket:
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    break  # closed, or an error frame: reconnect
                self._take(json.loads(frame.data))

    def _take(self, message: Any) -> None:
        """One frame from HA: the subscription's result, or states that changed."""
        if not isinstance(message, dict):
            return
        if message.get("type") == "result":
            if not message.get("success"):
                error = message.get("error") or {}
                _LOGGER.error("Home Assistant refused the entity subscription: %s", error)
            return
        event = message.get("event")
        if message.get("type") != "event" or not isinstance(event, dict):
            return
        now = self._now()
        for entity_id, compressed in (event.get("a") or {}).items():  # every state, at first
            if isinstance(compressed, dict):
                self._attributes[entity_id] = dict(compressed.get("a") or {})
                self._emit(now, entity_id, compressed.get("s"))
        for entity_id, change in (event.get("c") or {}).items():
            if not isinstance(change, dict):
                continue
            attributes = self._attributes.setdefault(entity_id, {})
            added, removed = change.get("+") or {}, change.get("-") or {}
            for key in removed.get("a") or ():
                attributes.pop(key, None)
            attributes.update(added.get("a") or {})
            if "s" in added:
                self._emit(now, entity_id, added["s"])
        for entity_id in event.get("r") or ():  # removed from HA: unavailable until it returns
            self._emit(now, entity_id, "unavailable")

    def _emit(self, t: float, entity_id: str, state: Any) -> None:
        topic = self._topics.get(entity_id)
        if topic is None:
            return
        payload = {"state": state, "attributes": self._attributes.get(entity_id, {})}
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(
            InboundMessage(t=t, topic=topic, payload=json.dumps(payload).encode())
        )
        self.states_in += 1
        self._watchers.notify()

    def _set(self, state: HaSourceState, detail: str) -> None:
        """Change state; an outage is logged once at WARNING, its retries at DEBUG."""
        if state is HaSourceState.CONNECTED:
            level = logging.INFO
            message = f"following {len(self._topics)} entities"
            self._outage_logged = False
        elif state is HaSourceState.CONNECTING:
            level, message = logging.DEBUG, "connecting"
        else:
            level = logging.DEBUG if self._outage_logged else logging.WARNING
            message = f"{detail}; retrying with backoff"
            self._outage_logged = True
        _LOGGER.log(level, "Home Assistant entities: %s", message)
        self.state, self.detail = state, detail
        self._watchers.notify()


def ha_entity_topics(config: ServiceConfig) -> dict[str, str]:
    """HA entity id → the pseudo-topic of its messages, for every `source: homeassistant` sensor."""
    return {
        spec.topic.removeprefix(HA_ENTITY_TOPIC_PREFIX): spec.topic
        for spec in config.sensor_specs()
        if spec.payload_format is PayloadFormat.HOMEASSISTANT
    }


def home_assistant_states(
    config: ServiceConfig, now: Callable[[], float]
) -> HomeAssistantStates | None:
    """The HA entity source, or None when no sensor reads an HA entity (or no token is found)."""
    entities = ha_entity_topics(config)
    if not entities:
        return None
    ha = config.homeassistant
    token = resolve_secret(ha.token)
    if not token:
        _LOGGER.error(
            "Home Assistant: no token found (%s): the %d sensor(s) read from HA entities stay "
            "silent; set homeassistant.token",
            ha.token,
            len(entities),
        )
        return None
    return HomeAssistantStates(ha.websocket_url, token, entities, now)
