"""A small aiohttp server speaking Home Assistant's REST shapes (developers.home-assistant.io/docs/api/rest).

It can also misbehave as a broken HA, a wrong URL or a proxy in front of HA does: answer a
service call with a status and body of the test's choosing, trickle its answer a byte at a
time, or never answer.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "test-token-not-secret"  # noqa: S105 - the fake HA's own test token


@dataclass(frozen=True)
class Answer:
    """One answer to a service call: any status, body and content type."""

    status: int
    body: bytes
    content_type: str = "application/json"


@dataclass
class FakeHomeAssistant:
    """Records service calls; `fail_with` answers the next calls with these HTTP statuses.

    A call answered otherwise is recorded (HA did it) before it is answered. `answers` answers the next service calls (after recording them: HA did the call) with
    these; `always` answers every service call so. `trickle_s` sends every answer, the API
    root's too, one byte at a time this far apart, without end; `hang` never answers. Both
    stop when `release()` is called (fixtures call it before closing the server).
    """

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # WebSocket commands after auth, as sent (`id` removed); `ws_refuse` answers them with HA's
    # error result of that code instead of success.
    commands: list[dict[str, Any]] = field(default_factory=list)
    ws_refuse: str | None = None
    # Entities for `subscribe_entities`: id → (state, attributes); `change()` pushes a change
    # to every subscriber, `drop_sockets()` ends every WebSocket as an HA restart does.
    entity_states: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    subscriptions: int = 0
    _subscribers: list[tuple[web.WebSocketResponse, int, list[str]]] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    always: Answer | None = None
    trickle_s: float | None = None
    hang: bool = False
    requests: int = 0
    server: TestServer | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/", self._api_root)
        app.router.add_post("/api/services/{domain}/{service}", self._call_service)
        app.router.add_get("/api/websocket", self._websocket)
        return app

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    def release(self) -> None:
        """End every trickling or hanging answer, so the server can close."""
        self._released.set()

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def _misbehave(self, request: web.Request) -> web.StreamResponse | None:
        """A trickling or hanging answer when the test asked for one, else None."""
        if self.hang:
            await self._released.wait()
            return web.Response(status=503)
        if self.trickle_s is None:
            return None
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        while not self._released.is_set():
            await response.write(b" ")  # JSON allows any amount of leading whitespace
            try:
                async with asyncio.timeout(self.trickle_s):
                    await self._released.wait()
            except TimeoutError:
                continue
        await response.write(b"[]")
        return response

    async def _api_root(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        misbehaving = await self._misbehave(request)
        if misbehaving is not None:
            return misbehaving
        if self.always is not None and self.always.content_type != "application/json":
            return self._answer(self.always)  # a wrong URL answers its root the same way
        return web.json_response({"message": "API running."})

    async def _call_service(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        if self.fail_with:
            status = self.fail_with.pop(0)
            return web.json_response({"message": f"error {status}"}, status=status)
        data = json.loads(await request.text() or "{}")
        self.calls.append((request.match_info["domain"], request.match_info["service"], data))
        misbehaving = await self._misbehave(request)  # HA did the call; its answer is slow
        if misbehaving is not None:
            return misbehaving
        if self.answers:
            return self._answer(self.answers.pop(0))
        if self.always is not None:
            return self._answer(self.always)
        return web.json_response([])  # HA answers with the states that changed

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        """HA's WebSocket API: auth_required, auth, then `result` for each command."""
        self.requests += 1
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "auth_required", "ha_version": "2024.3.3"})
        auth = await socket.receive_json()
        if auth.get("access_token") != TOKEN:
            await socket.send_json({"type": "auth_invalid", "message": "Invalid access token"})
            await socket.close()
            return socket
        await socket.send_json({"type": "auth_ok", "ha_version": "2024.3.3"})
        async for message in socket:
            command = json.loads(message.data)
            msg_id = command.pop("id")
            if command.get("type") == "subscribe_entities":
                await self._subscribe(socket, msg_id, list(command.get("entity_ids", [])))
                continue
            if self.ws_refuse is not None:
                error = {"code": self.ws_refuse, "message": "refused by the test"}
                await socket.send_json(
                    {"id": msg_id, "type": "result", "success": False, "error": error}
                )
                continue
            self.commands.append(command)
            await socket.send_json(
                {"id": msg_id, "type": "result", "success": True, "result": None}
            )
        return socket

    async def _subscribe(
        self, socket: web.WebSocketResponse, msg_id: int, entity_ids: list[str]
    ) -> None:
        """HA's answer: the result, then every known entity's state in one `a` event."""
        self.subscriptions += 1
        await socket.send_json({"id": msg_id, "type": "result", "success": True, "result": None})
        known = {
            entity: {"s": state, "a": attributes, "c": "ctx", "lc": 0.0}
            for entity, (state, attributes) in self.entity_states.items()
            if entity in entity_ids
        }
        await socket.send_json({"id": msg_id, "type": "event", "event": {"a": known}})
        self._subscribers.append((socket, msg_id, entity_ids))

    async def change(self, entity_id: str, state: str, attributes: dict[str, Any]) -> None:
        """An entity's new state, sent as HA sends a change (changed attributes only)."""
        old = self.entity_states.get(entity_id, ("", {}))[1]
        added = {k: v for k, v in attributes.items() if old.get(k) != v}
        removed = [k for k in old if k not in attributes]
        self.entity_states[entity_id] = (state, attributes)
        change: dict[str, Any] = {"+": {"s": state, "a": added, "lc": 0.0}}
        if removed:
            change["-"] = {"a": removed}
        for socket, msg_id, entity_ids in self._subscribers:
            if entity_id in entity_ids and not socket.closed:
                event = {"c": {entity_id: change}}
                await socket.send_json({"id": msg_id, "type": "event", "event": event})

    async def drop_sockets(self) -> None:
        """End every WebSocket, as an HA restart does."""
        subscribers, self._subscribers = self._subscribers, []
        for socket, _msg_id, _entities in subscribers:
            await socket.close()

    @staticmethod
    def _answer(answer: Answer) -> web.Response:
        return web.Response(
            status=answer.status, body=answer.body, headers={"Content-Type": answer.content_type}
        )
