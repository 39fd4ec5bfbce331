"""Logging in to Home Assistant's WebSocket API: one handshake for every client of it.

developers.home-assistant.io/docs/api/websocket: HA greets with `auth_required`, the client
sends its token, and HA answers `auth_ok` or `auth_invalid`. The statistics writer (`ha_rest`)
and the entity source (`ha_states`) both log in this way, then send their own commands.
"""

from __future__ import annotations

from typing import Any

import aiohttp

__all__ = ["AuthRefusedError", "NotHomeAssistantError", "log_in"]


class AuthRefusedError(Exception):
    """HA answered `auth_invalid`: the token is wrong or was revoked."""


class NotHomeAssistantError(ValueError):
    """Whatever answered does not speak HA's WebSocket API (a proxy, a wrong URL)."""


async def log_in(socket: aiohttp.ClientWebSocketResponse, token: str) -> None:
    """Authenticate `socket` with `token`; raises when HA refuses or is not HA."""
    hello = await socket.receive_json()
    if _type(hello) != "auth_required":
        raise NotHomeAssistantError(f"not HA's WebSocket API (it said {str(hello)[:80]!r})")
    await socket.send_json({"type": "auth", "access_token": token})
    answer = await socket.receive_json()
    if _type(answer) == "auth_invalid":
        raise AuthRefusedError
    if _type(answer) != "auth_ok":
        raise NotHomeAssistantError(f"HA answered the login with {str(answer)[:80]!r}")


def _type(message: Any) -> object:
    return message.get("type") if isinstance(message, dict) else None
