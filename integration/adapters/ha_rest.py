"""Home Assistant's REST side: service calls and notifications, off the ingest path.

Actions are queued without waiting (`submit`) and sent by one worker task through
homeassistant-api's async client. A failure that may pass (HA restarting, 5xx, timeout) is
retried with capped exponential backoff; one that will not (400, unknown service) is logged
once and dropped; 401 waits the longest delay, as a wrong token will not fix itself quickly.
A newer command for the same entity and service replaces an older one still waiting, so a
heater is never switched by a stale decision after HA comes back.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import niquests
from homeassistant_api import AsyncClient
from homeassistant_api.errors import (
    EndpointNotFoundError,
    HomeassistantAPIError,
    MethodNotAllowedError,
    RequestError,
    RequestTimeoutError,
    UnauthorizedError,
)

from integration.adapters.actions import PERSISTENT_NOTIFICATION
from integration.backoff import retry_delay
from integration.config import ServiceConfig, resolve_secret
from integration.core.events import Action, ActionKind
from integration.watchers import Watchers

_LOGGER = logging.getLogger(__name__)

# Each request gives up after this long; HA answers a service call in well under a second.
REQUEST_TIMEOUT_S = 10.0
# Actions waiting beyond this are dropped oldest first: a bounded queue, counted.
MAX_PENDING = 500


class HaState(StrEnum):
    """Whether the last call reached Home Assistant."""

    UNKNOWN = "unknown"
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    AUTH_FAILED = "auth_failed"


@dataclass(slots=True)
class HaCounters:
    """What happened to submitted actions."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    superseded: int = 0
    dropped_overflow: int = 0


def service_call(action: Action) -> tuple[str, str, dict[str, Any]]:
    """The (domain, service, data) HA receives for an action."""
    if action.kind is ActionKind.NOTIFY:
        data = {key: value for key, value in action.data.items() if key in {"title", "message"}}
        target = action.target or PERSISTENT_NOTIFICATION
        if target == PERSISTENT_NOTIFICATION:  # one per thing (actions kept before: per room)
            default_id = f"smart_bedroom_{action.room}"
            data["notification_id"] = action.data.get("notification_id", default_id)
    else:
        data = dict(action.data)
        target = action.target
    domain, _, service = target.partition(".")
    return domain, service, data


def _coalesce_key(action: Action) -> tuple[str, str] | None:
    entity = action.data.get("entity_id")
    if action.kind is ActionKind.HA_SERVICE and isinstance(entity, str):
        return (action.target.split(".")[0], entity)
    return None


class HomeAssistantActions:
    """Sends HA service calls and notifications; never blocks or raises into the caller."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        backoff_max_s: float = 60.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_done: Callable[[Action], None] | None = None,
    ) -> None:
        """Queue and retry in the background; `on_done(action)` hears when one is finished.

        Finished means sent, refused for good, superseded by a newer command for the same
        entity, or dropped on overflow: then nobody needs to keep it for a retry.
        """
        self._url = url.rstrip("/") + "/api/"
        self.on_done = on_done
        self._token = token
        self._backoff_max_s = backoff_max_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._sleep = sleep
        self._pending: deque[Action] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self.state = HaState.UNKNOWN
        self._watchers = Watchers()
        self.counters = HaCounters()

    @property
    def pending(self) -> int:
        """Actions waiting to be sent."""
        return len(self._pending)

    def submit(self, action: Action) -> None:
        """Queue an HA_SERVICE or NOTIFY action; returns at once."""
        key = _coalesce_key(action)
        if key is not None:
            stale = [queued for queued in self._pending if _coalesce_key(queued) == key]
            for queued in stale:
                self._pending.remove(queued)
                self.counters.superseded += 1
                self._done(queued)
        if len(self._pending) >= MAX_PENDING:
            self._done(self._pending.popleft())
            self.counters.dropped_overflow += 1
        self._pending.append(action)
        self._idle.clear()
        self._wake.set()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; re-checked at every change of `state`."""
        await self._watchers.wait_for(predicate)

    async def wait_idle(self) -> None:
        """Return once every submitted action is sent or given up on."""
        await self._idle.wait()

    async def run(self) -> None:
        """Send queued actions forever, in order, retrying those that may still succeed."""
        session = niquests.AsyncSession()
        client = AsyncClient(
            self._url,
            self._token,
            session=session,
            global_request_kwargs={"timeout": REQUEST_TIMEOUT_S},
        )
        try:
            await self._pump(client)
        finally:
            await session.close()

    async def _pump(self, client: AsyncClient) -> None:
        attempt = 0
        while True:
            if not self._pending:
                self._wake.clear()
                self._idle.set()
                await self._wake.wait()
                continue
            action = self._pending[0]
            if await self._send(client, action):
                attempt = 0
                if self._pending and self._pending[0] is action:
                    self._pending.popleft()
                    self._done(action)
                continue
            attempt += 1
            self.counters.retried += 1
            auth_failed = self.state is HaState.AUTH_FAILED
            await self._sleep(
                retry_delay(
                    attempt, cap_s=self._backoff_max_s, auth_failed=auth_failed, rng=self._rng
                )
            )

    async def _send(self, client: AsyncClient, action: Action) -> bool:
        """True when the action is done with (sent, or refused for good); False to retry."""
        domain, service, data = service_call(action)
        try:
            await client.trigger_service(domain, service, **data)
        except UnauthorizedError:
            self._set_state(HaState.AUTH_FAILED, "token refused (401); check the long-lived token")
            return False
        except RequestTimeoutError:
            self._set_state(HaState.UNAVAILABLE, "timed out")
            return False
        except (RequestError, EndpointNotFoundError, MethodNotAllowedError) as err:
            self.counters.failed += 1
            _LOGGER.error(
                "room %s: Home Assistant refused %s.%s: %s", action.room, domain, service, err
            )
            return True
        except (
            HomeassistantAPIError,
            niquests.exceptions.RequestException,
            OSError,
            TimeoutError,
        ) as err:
            self._set_state(HaState.UNAVAILABLE, type(err).__name__)
            return False
        self._set_state(HaState.AVAILABLE, "")
        self.counters.sent += 1
        _LOGGER.debug("room %s: called %s.%s", action.room, domain, service)
        return True

    def _done(self, action: Action) -> None:
        if self.on_done is not None:
            self.on_done(action)

    def _set_state(self, state: HaState, detail: str) -> None:
        if state is self.state:
            return
        previous, self.state = self.state, state
        self._watchers.notify()
        if state is HaState.AVAILABLE:
            if previous is not HaState.UNKNOWN:
                _LOGGER.info("Home Assistant is reachable again")
        else:
            _LOGGER.warning("Home Assistant unavailable: %s; retrying with backoff", detail)


def home_assistant_actions(config: ServiceConfig) -> HomeAssistantActions | None:
    """The HA REST worker, or None when HA is disabled or no token is available."""
    ha = config.homeassistant
    if not ha.enabled:
        return None
    token = resolve_secret(ha.token)
    if not token:
        _LOGGER.warning("Home Assistant: no token found (%s); HA actions are off", ha.token)
        return None
    return HomeAssistantActions(ha.url, token)
