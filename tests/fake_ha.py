"""A small aiohttp server speaking Home Assistant's REST shapes (developers.home-assistant.io/docs/api/rest)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "test-token-not-secret"  # noqa: S105 - the fake HA's own test token


@dataclass
class FakeHomeAssistant:
    """Records service calls; `fail_with` answers the next calls with these HTTP statuses."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)
    server: TestServer | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/", self._api_root)
        app.router.add_post("/api/services/{domain}/{service}", self._call_service)
        return app

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def _api_root(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        return web.json_response({"message": "API running."})

    async def _call_service(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        if self.fail_with:
            status = self.fail_with.pop(0)
            return web.json_response({"message": f"error {status}"}, status=status)
        data = json.loads(await request.text() or "{}")
        self.calls.append((request.match_info["domain"], request.match_info["service"], data))
        return web.json_response([])  # HA answers with the states that changed
