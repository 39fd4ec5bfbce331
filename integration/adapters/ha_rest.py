"""Home Assistant's REST side: service calls and notifications, off the ingest path.

Actions are queued without waiting (`submit`) and sent by one worker task through
homeassistant-api's async client. Each request has one deadline for the whole exchange
(connect, send, and the last byte of the answer), so an HA that trickles or never finishes its
answer costs one deadline, not the worker.

What HA's answer means is decided here, by `judge`, not by the client library:
- 2xx with JSON: HA took the call. A body other than the list of changed states (a newer or
  older HA, a proxy that rewrites it) is delivered with one warning: retrying would call the
  service twice.
- 2xx that is not JSON (an HTML page, an empty body), or a redirect: not HA's API answering (a
  wrong URL, a proxy's login page). Not delivered; retried like an outage.
- 401: a wrong token; waits the longest delay, as it will not fix itself quickly. 408, 429 and
  5xx: retried with capped exponential backoff.
- Any other 4xx: HA refused this call and will refuse it again: the action is parked at once.

An action that keeps failing for a reason that will not change (refused, or POISON_ATTEMPTS
answers that are not HA's, or POISON_ATTEMPTS unexpected errors) is parked: handed to
`on_parked` (the history marks it a dead letter in the outbox, so a restart does not send it
again), counted, logged once, never retried. Nothing raised while sending escapes the worker.

A newer command for the same entity and service replaces an older one still waiting, so a
heater is never switched by a stale decision after HA comes back.

A night's statistics go over HA's WebSocket API (`recorder/import_statistics`, the one way
to write long-term statistics from outside HA; it needs an administrator's token), one short
connection each, judged alike: HA's `success: false` is a refusal (parked), a failed
connection or a refused token an outage (retried).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from typing import Any

import aiohttp
import niquests
from homeassistant_api import AsyncClient
from homeassistant_api.errors import HomeassistantAPIError

from integration.adapters.actions import PERSISTENT_NOTIFICATION
from integration.adapters.ha_websocket import AuthRefusedError, NotHomeAssistantError, log_in
from integration.backoff import retry_delay
from integration.config import ServiceConfig, resolve_secret, websocket_url
from integration.core.events import Action, ActionKind
from integration.watchers import Watchers

__all__ = [
    "MAX_PENDING",
    "POISON_ATTEMPTS",
    "PROBE_EVERY_S",
    "REQUEST_TIMEOUT_S",
    "HaCounters",
    "HaState",
    "HomeAssistantActions",
    "Verdict",
    "home_assistant_actions",
    "judge",
    "judge_websocket_result",
    "service_call",
    "statistics_message",
]

_LOGGER = logging.getLogger(__name__)

# The whole request (connect, send, every byte of the answer) gives up after this long; HA
# answers a service call in well under a second.
REQUEST_TIMEOUT_S = 10.0
# Actions waiting beyond this are dropped oldest first: a bounded queue, counted.
MAX_PENDING = 500
# An action whose every answer is not HA's, or that raises something unexpected, this many
# times in a row is parked: three tries over a few seconds of backoff tell a lasting fault from
# a proxy's hiccup.
POISON_ATTEMPTS = 3
# While idle, HA is asked `GET /api/` this often, so /healthz says how it is without an action.
PROBE_EVERY_S = 60.0
# An answer is read up to this much: HA's list of changed states is a few kilobytes.
MAX_ANSWER_BYTES = 1024 * 1024
# How much of a strange answer the log and the dead letter keep.
EXCERPT_CHARS = 120


class HaState(StrEnum):
    """Whether the last request reached Home Assistant's API."""

    UNKNOWN = "unknown"
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    AUTH_FAILED = "auth_failed"
    UNEXPECTED_REPLY = "unexpected_reply"  # something answers, but not as HA's API does


@dataclass(slots=True)
class HaCounters:
    """What happened to submitted actions."""

    sent: int = 0
    retried: int = 0
    parked: int = 0  # dead letters: refused for good, or poison
    superseded: int = 0
    dropped_overflow: int = 0
    odd_replies: int = 0  # delivered, but HA's 2xx body was not the list of changed states
    errors: int = 0  # unexpected exceptions while sending, isolated in the worker


class Outcome(StrEnum):
    """What to do with an action after one answer."""

    DELIVERED = "delivered"
    RETRY = "retry"  # a passing fault: HA away, busy, or the token refused
    SUSPECT = "suspect"  # an answer that is not HA's: retried, parked after POISON_ATTEMPTS
    PARK = "park"  # refused for good


@dataclass(frozen=True, slots=True)
class Verdict:
    """One answer judged: what to do, the state it shows HA in, and why, in words."""

    outcome: Outcome
    state: HaState
    detail: str = ""
    odd: bool = False  # delivered, with a body other than HA's usual one


@dataclass(frozen=True, slots=True)
class _Answer:
    """An HTTP answer as it came, read within the deadline and MAX_ANSWER_BYTES."""

    status: int
    content_type: str
    body: bytes


def _excerpt(body: bytes) -> str:
    text = body[:EXCERPT_CHARS].decode("utf-8", "replace")
    return repr(text) + ("…" if len(body) > EXCERPT_CHARS else "")


def judge(status: int, content_type: str, body: bytes) -> Verdict:
    """What an HTTP answer from HA's API means for the action (see the module docstring)."""
    if HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
        mime = content_type.split(";")[0].strip().lower()
        try:
            document = json.loads(body) if body.strip() else None
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
            document = None
        if document is None:
            return Verdict(
                Outcome.SUSPECT,
                HaState.UNEXPECTED_REPLY,
                f"{status} with a body that is not HA's JSON ({mime or 'no type'}: "
                f"{_excerpt(body)})",
            )
        if isinstance(document, list) and all(
            isinstance(state, dict) and "entity_id" in state for state in document
        ):
            return Verdict(Outcome.DELIVERED, HaState.AVAILABLE)  # the states that changed
        return Verdict(
            Outcome.DELIVERED,
            HaState.AVAILABLE,
            f"{status} with an unexpected body {_excerpt(body)}",
            odd=True,
        )
    if status == HTTPStatus.UNAUTHORIZED:
        return Verdict(
            Outcome.RETRY, HaState.AUTH_FAILED, "token refused (401); check the long-lived token"
        )
    if status in {HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS} or status >= 500:
        return Verdict(Outcome.RETRY, HaState.UNAVAILABLE, f"HTTP {status}")
    if HTTPStatus.BAD_REQUEST <= status < 500:
        return Verdict(
            Outcome.PARK, HaState.AVAILABLE, f"refused with HTTP {status}: {_excerpt(body)}"
        )
    return Verdict(  # 1xx, 3xx: not what HA's API answers to a POST
        Outcome.SUSPECT, HaState.UNEXPECTED_REPLY, f"HTTP {status}: {_excerpt(body)}"
    )


def _not_ha(detail: str) -> Verdict:
    return Verdict(Outcome.SUSPECT, HaState.UNEXPECTED_REPLY, detail)


def judge_websocket_result(result: Any) -> Verdict:
    """What HA's `result` message to a WebSocket command means for the action."""
    if not isinstance(result, dict) or result.get("type") != "result":
        return _not_ha(f"the WebSocket answered {_excerpt(str(result).encode())}")
    if result.get("success") is True:
        return Verdict(Outcome.DELIVERED, HaState.AVAILABLE)
    error = result.get("error")
    error = error if isinstance(error, dict) else {}
    code, message = error.get("code", "?"), error.get("message", "")
    if code == "unknown_command":  # an HA without the recorder, or far older
        return Verdict(Outcome.PARK, HaState.AVAILABLE, f"HA has no {message or code}")
    if code == "unauthorized":
        return Verdict(
            Outcome.PARK,
            HaState.AVAILABLE,
            "HA refused: writing statistics needs a token of an administrator",
        )
    return Verdict(Outcome.PARK, HaState.AVAILABLE, f"HA refused ({code}): {message}")


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


def statistics_message(action: Action) -> dict[str, Any]:
    """The WebSocket command that writes a STATISTICS action: one hourly row of its own."""
    data = action.data
    value = data["value"]
    return {
        "type": "recorder/import_statistics",
        "metadata": {
            "has_mean": True,
            "has_sum": False,
            "name": data["name"],
            "source": str(data["statistic_id"]).split(":")[0],
            "statistic_id": data["statistic_id"],
            "unit_of_measurement": data["unit"],
        },
        "stats": [{"start": data["start"], "mean": value, "min": value, "max": value}],
    }


def _what(action: Action) -> str:
    """The call an action makes, for the log: `climate.set_temperature`, or a statistic."""
    if action.kind is ActionKind.STATISTICS:
        return f"statistics {action.data.get('statistic_id')}"
    domain, service, _data = service_call(action)
    return f"{domain}.{service}"


def _coalesce_key(action: Action) -> tuple[str, str] | None:
    entity = action.data.get("entity_id")
    if action.kind is ActionKind.HA_SERVICE and isinstance(entity, str):
        return (action.target.split(".")[0], entity)
    if action.kind is ActionKind.STATISTICS:  # the same night's row, sent again: the newest
        return (str(action.data.get("statistic_id")), str(action.data.get("start")))
    return None


class _RawClient(AsyncClient):
    """homeassistant-api's client for the URL, token and session; the answer is judged here."""

    @staticmethod
    async def response_logic(response: niquests.Response) -> niquests.Response:
        """The response as it came: `judge` decides what it means."""
        return response


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
        idle_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        on_done: Callable[[Action], None] | None = None,
        on_parked: Callable[[Action, str], None] | None = None,
        websocket: str | None = None,
    ) -> None:
        """Queue and retry in the background; `on_done(action)` hears when one is finished.

        Finished means sent, superseded by a newer command for the same entity, or dropped on
        overflow: then nobody needs to keep it for a retry. A parked action goes to
        `on_parked(action, reason)` instead. `sleep` waits out backoff, `idle_sleep` the time
        between probes while idle.
        """
        self._url = url.rstrip("/") + "/api/"
        self._websocket_url = websocket or websocket_url(url)
        self.on_done = on_done
        self.on_parked = on_parked
        self._token = token
        self._backoff_max_s = backoff_max_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._sleep = sleep
        self._idle_sleep = idle_sleep
        self._request_timeout_s = request_timeout_s
        self._pending: deque[Action] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self.state = HaState.UNKNOWN
        self.detail = ""  # why HA is not available, in words; empty when it is
        self._watchers = Watchers()
        self.counters = HaCounters()
        self._logged: set[str] = set()  # kinds of trouble already logged at WARNING or above
        self._websocket_session: aiohttp.ClientSession | None = None

    @property
    def pending(self) -> int:
        """Actions waiting to be sent."""
        return len(self._pending)

    def submit(self, action: Action) -> None:
        """Queue an HA_SERVICE, NOTIFY or STATISTICS action; returns at once."""
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
        """Return once `predicate()` holds; re-checked at every change of state or counters."""
        await self._watchers.wait_for(predicate)

    async def wait_idle(self) -> None:
        """Return once every submitted action is sent or given up on."""
        await self._idle.wait()

    async def run(self) -> None:
        """Send queued actions forever, in order, retrying those that may still succeed."""
        session = niquests.AsyncSession()
        client = _RawClient(
            self._url,
            self._token,
            session=session,
            global_request_kwargs={"timeout": self._request_timeout_s},  # each read, too
        )
        self._websocket_session = aiohttp.ClientSession()
        try:
            await self._probe(client)
            await self._pump(client)
        finally:
            await session.close()
            await self._websocket_session.close()

    async def _pump(self, client: AsyncClient) -> None:
        attempt = 0
        suspect = 0  # answers in a row for the head action that were not HA's, or errors
        while True:
            if not self._pending:
                self._wake.clear()
                self._idle.set()
                await self._idle_until_woken(client)
                continue
            action = self._pending[0]
            outcome, detail = await self._send(client, action)
            if outcome is Outcome.SUSPECT:
                suspect += 1
                if suspect >= POISON_ATTEMPTS:
                    outcome = Outcome.PARK
                    detail = f"{detail} ({suspect} times)"
            if outcome in {Outcome.DELIVERED, Outcome.PARK}:
                attempt = suspect = 0
                if self._pending and self._pending[0] is action:
                    self._pending.popleft()
                    if outcome is Outcome.PARK:
                        self._park(action, detail)
                    else:
                        self._done(action)
                self._watchers.notify()
                continue
            attempt += 1
            self.counters.retried += 1
            self._watchers.notify()
            auth_failed = self.state is HaState.AUTH_FAILED
            await self._sleep(
                retry_delay(
                    attempt, cap_s=self._backoff_max_s, auth_failed=auth_failed, rng=self._rng
                )
            )

    async def _idle_until_woken(self, client: AsyncClient) -> None:
        """Wait for an action; ask HA how it is every PROBE_EVERY_S meanwhile."""
        woken = asyncio.ensure_future(self._wake.wait())
        nap = asyncio.ensure_future(self._idle_sleep(PROBE_EVERY_S))
        try:
            await asyncio.wait({woken, nap}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            nap.cancel()
        if not self._wake.is_set():
            await self._probe(client)

    async def _request(self, client: AsyncClient, path: str, **kwargs: Any) -> _Answer | Verdict:
        """One request under one deadline: the answer, or why none came, as a Verdict."""
        try:
            async with asyncio.timeout(self._request_timeout_s):
                response = await client.request(path, stream=True, **kwargs)
                if not isinstance(response, niquests.AsyncResponse):
                    return Verdict(Outcome.SUSPECT, HaState.UNEXPECTED_REPLY, "no HTTP response")
                body = bytearray()
                try:
                    async for chunk in await response.iter_content(64 * 1024):
                        body += chunk if isinstance(chunk, bytes) else chunk.encode()
                        if len(body) > MAX_ANSWER_BYTES:
                            break  # judged by what came; HA's answers are far smaller
                finally:
                    await response.close()
        except TimeoutError:
            return Verdict(
                Outcome.RETRY,
                HaState.UNAVAILABLE,
                f"no complete answer within {self._request_timeout_s:g} s",
            )
        except (HomeassistantAPIError, niquests.exceptions.RequestException, OSError) as err:
            return Verdict(Outcome.RETRY, HaState.UNAVAILABLE, f"{type(err).__name__}: {err}")
        return _Answer(
            response.status_code or 0, response.headers.get("content-type", ""), bytes(body)
        )

    async def _probe(self, client: AsyncClient) -> None:
        """Ask HA's API root how it is, so /healthz knows without waiting for an action."""
        try:
            answer = await self._request(client, "", method="GET")
        except Exception as err:  # noqa: BLE001 - a probe must never end the worker
            self._trouble("probe", logging.ERROR, "Home Assistant: probe failed: %s", err)
            return
        if isinstance(answer, _Answer):
            answer = judge(answer.status, answer.content_type, answer.body)
        self._set_state(answer.state, answer.detail)

    async def _send(self, client: AsyncClient, action: Action) -> tuple[Outcome, str]:
        """What came of one try: delivered, retry, suspect (not HA's answer) or park."""
        what = _what(action)
        try:
            answer: _Answer | Verdict
            if action.kind is ActionKind.STATISTICS:
                answer = await self._websocket_command(statistics_message(action))
            else:
                domain, service, data = service_call(action)
                answer = await self._request(
                    client, f"services/{domain}/{service}", method="POST", json=data
                )
            if isinstance(answer, _Answer):
                answer = judge(answer.status, answer.content_type, answer.body)
        except Exception as err:  # noqa: BLE001 - isolated here, counted, parked if it repeats
            self.counters.errors += 1
            self._trouble(
                "error",
                logging.ERROR,
                "room %s: sending %s failed unexpectedly: %r",
                action.room,
                what,
                err,
                exc_info=True,
            )
            return Outcome.SUSPECT, f"unexpected error: {err!r}"
        self._set_state(answer.state, answer.detail)
        if answer.outcome is Outcome.DELIVERED:
            self.counters.sent += 1
            if answer.odd:
                self.counters.odd_replies += 1
                self._trouble(
                    "odd",
                    logging.WARNING,
                    "room %s: Home Assistant answered %s %s; taken as delivered",
                    action.room,
                    what,
                    answer.detail,
                )
            _LOGGER.debug("room %s: sent %s", action.room, what)
        return answer.outcome, answer.detail

    async def _websocket_command(self, command: Mapping[str, Any]) -> Verdict:
        """One command over HA's WebSocket API, authenticated, under one deadline."""
        session = self._websocket_session
        if session is None:
            return Verdict(Outcome.RETRY, HaState.UNAVAILABLE, "not running")
        url = self._websocket_url
        try:
            async with asyncio.timeout(self._request_timeout_s):
                async with session.ws_connect(url, max_msg_size=MAX_ANSWER_BYTES) as socket:
                    await log_in(socket, self._token)
                    await socket.send_json({"id": 1, **command})
                    result = await socket.receive_json()
        except AuthRefusedError:
            return Verdict(
                Outcome.RETRY,
                HaState.AUTH_FAILED,
                "token refused on the WebSocket API; check the long-lived token",
            )
        except NotHomeAssistantError as err:
            return _not_ha(str(err))
        except TimeoutError:
            return Verdict(
                Outcome.RETRY,
                HaState.UNAVAILABLE,
                f"no complete WebSocket answer within {self._request_timeout_s:g} s",
            )
        except (aiohttp.ClientError, OSError) as err:
            return Verdict(Outcome.RETRY, HaState.UNAVAILABLE, f"{type(err).__name__}: {err}")
        except (ValueError, TypeError) as err:  # a frame that is not JSON, or not text
            return _not_ha(f"the WebSocket sent something that is not JSON: {err}")
        return judge_websocket_result(result)

    def _park(self, action: Action, reason: str) -> None:
        self.counters.parked += 1
        self._trouble(
            "parked",
            logging.ERROR,
            "room %s: %s parked as a dead letter, not retried: %s",
            action.room,
            _what(action),
            reason,
        )
        if self.on_parked is not None:
            self._tell(self.on_parked, action, reason)

    def _trouble(self, kind: str, level: int, message: str, *args: object, **kw: Any) -> None:
        """The first of a kind of trouble at `level`, its repeats at DEBUG (counters count)."""
        if kind in self._logged:
            level, kw = logging.DEBUG, {}
        self._logged.add(kind)
        _LOGGER.log(level, message, *args, **kw)

    def _done(self, action: Action) -> None:
        if self.on_done is not None:
            self._tell(self.on_done, action)

    def _tell(self, callback: Callable[..., None], *args: object) -> None:
        """Run a listener's callback; its failure is logged, never the worker's end."""
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - the worker's boundary: keep sending the rest
            self.counters.errors += 1
            self._trouble(
                "callback", logging.ERROR, "Home Assistant: a listener failed", exc_info=True
            )

    def _set_state(self, state: HaState, detail: str) -> None:
        self.detail = "" if state is HaState.AVAILABLE else detail
        if state is self.state:
            return
        previous, self.state = self.state, state
        self._watchers.notify()
        if state is HaState.AVAILABLE:
            if previous is not HaState.UNKNOWN:
                _LOGGER.info("Home Assistant is reachable again")
        else:
            _LOGGER.warning("Home Assistant %s: %s; retrying with backoff", state, detail)


def home_assistant_actions(config: ServiceConfig) -> HomeAssistantActions | None:
    """The HA REST worker, or None when HA is disabled or no token is available."""
    ha = config.homeassistant
    if not ha.enabled:
        return None
    token = resolve_secret(ha.token)
    if not token:
        _LOGGER.warning("Home Assistant: no token found (%s); HA actions are off", ha.token)
        return None
    return HomeAssistantActions(ha.url, token, websocket=ha.websocket_url)
