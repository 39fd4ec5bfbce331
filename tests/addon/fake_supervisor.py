"""A fake Home Assistant Supervisor: the services API an add-on asks for its MQTT broker.

Shapes from the Supervisor's own code (`api/services.py`, `services/modules/mqtt.py`,
`api/middleware/security.py`): `{"result": "ok", "data": {...}}`; no token is a plain-text 401,
a wrong one a 403; no add-on providing MQTT is a 400 with `"Service not enabled"`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

# What the Supervisor sets as SUPERVISOR_TOKEN in the add-on's container, here.
TOKEN = "token-of-the-smart-bedroom-add-on"  # noqa: S105 - a test's own value


class FakeSupervisor:
    """Answers GET /services/mqtt (and HA's `GET /core/api/` proxy) to one token."""

    def __init__(self) -> None:
        self.token = TOKEN
        self.mqtt: dict[str, Any] | None = {
            "addon": "core_mosquitto",
            "host": "core-mosquitto",
            "port": 1883,
            "ssl": False,
            "protocol": "3.1.1",
            "username": "addons",
            "password": "from-the-supervisor",
        }
        self.asked: list[str] = []
        self.server: TestServer | None = None

    @property
    def url(self) -> str:
        """Where it listens, as `http://supervisor` is inside an add-on."""
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._token_validation])
        app.router.add_get("/services/mqtt", self._services_mqtt)
        app.router.add_get("/core/api/", self._core_api)
        return app

    @web.middleware
    async def _token_validation(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.asked.append(request.path)
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise web.HTTPUnauthorized
        if header.removeprefix("Bearer ") != self.token:
            raise web.HTTPForbidden
        response: web.StreamResponse = await handler(request)
        return response

    async def _services_mqtt(self, _request: web.Request) -> web.Response:
        if self.mqtt is None:
            return web.json_response(
                {"result": "error", "message": "Service not enabled"}, status=400
            )
        return web.json_response({"result": "ok", "data": self.mqtt})

    async def _core_api(self, _request: web.Request) -> web.Response:
        return web.json_response({"message": "API running."})
