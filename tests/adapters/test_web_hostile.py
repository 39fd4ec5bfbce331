"""The dashboard attacked by whoever can reach its port: out-of-range dates and malformed requests,
on the real server (its own runner and logging) over a real socket, with a real store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from integration.adapters.metrics import ServiceMetrics
from integration.adapters.store import Store
from integration.adapters.web import Health, make_app, start_dashboard
from tests.browser.history import ROOM_NAMES, ZONE

TIMEOUT_S = 10.0


@asynccontextmanager
async def dashboard(tmp_path: Path) -> AsyncIterator[tuple[str, int]]:
    """The real dashboard over a real (empty) store: its host and port."""
    store = await Store.open(tmp_path / "history.db")
    app = make_app(
        store=store,
        zone=ZONE,
        health=lambda: Health("connected", "available"),
        metrics=ServiceMetrics(),
        token=None,
        room_names=ROOM_NAMES,
    )
    runner = await start_dashboard(app, "127.0.0.1", 0)
    try:
        host, port = runner.addresses[0][:2]
        yield host, port
    finally:
        await runner.cleanup()
        await store.close()


async def raw(host: str, port: int, request: bytes) -> bytes:
    """Send bytes as they are and read the answer until the server closes."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(TIMEOUT_S):
            return await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        return response.status, await response.text()


def loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What a flood would fill the log with: warnings, errors, tracebacks."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


@pytest.mark.parametrize(
    "path",
    [
        "/nights/bedroom/9999-12-31",
        "/api/nights/bedroom/9999-12-31",
        "/api/nights/9999-12-31?room=bedroom",
        "/nights/bedroom/0001-01-01",
        "/api/nights/bedroom/0001-01-01",
    ],
)
async def test_a_date_no_night_can_have_is_a_clear_400_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.DEBUG)
    async with dashboard(tmp_path) as (host, port):
        status, text = await get(f"http://{host}:{port}{path}")
    assert status == 400
    assert "date out of range" in text
    assert "Traceback" not in text
    assert [r for r in caplog.records if r.exc_info] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


MALFORMED = {
    "huge_header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * 100_000 + b"\r\n\r\n",
    "bad_method": b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad_method_after_a_good_request": (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nG@T / HTTP/1.1\r\nHost: x\r\n\r\n"
    ),
    "not_http": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
    "bad_header": b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
    "bad_content_length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_requests_are_refused_and_counted_never_logged_loud(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    async with dashboard(tmp_path) as (host, port):
        for _ in range(20):  # a flood would be 20 tracebacks at ERROR
            answer = await raw(host, port, request_bytes)
            assert answer.split(b"\r\n", 1)[0].split(b" ")[1:2] in ([b"400"], [b"200"], [])
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"http://{host}:{port}/healthz") as response,
        ):
            health = await response.json()
    assert loud(caplog) == []
    assert health["malformed_requests"] == 20
