"""An MQTT broker for the demo, so a newcomer needs none of their own.

The system's Mosquitto when it is installed (the broker HA users run), else amqtt, a
maintained pure-Python broker from PyPI, in-process. Both listen on loopback only, on a free
port, and keep nothing on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import AsyncIterator
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

HOST = "127.0.0.1"
_MOSQUITTO_DIRS = ("/usr/sbin", "/usr/local/sbin")
_READY_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port nobody listens on right now, on loopback."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def mosquitto_binary() -> str | None:
    """Mosquitto from PATH, or from /usr/sbin where Debian puts it (not on a user's PATH)."""
    search_path = os.pathsep.join([os.environ.get("PATH", ""), *_MOSQUITTO_DIRS])
    return shutil.which("mosquitto", path=search_path)


@contextlib.asynccontextmanager
async def embedded_broker() -> AsyncIterator[tuple[str, int, str]]:
    """Run a loopback broker for the block; yields host, port and which broker it is."""
    port = free_port()
    binary = mosquitto_binary()
    if binary is not None:
        async with _mosquitto(binary, port):
            yield HOST, port, "mosquitto"
    else:
        async with _amqtt(port):
            yield HOST, port, "amqtt"


@contextlib.asynccontextmanager
async def _mosquitto(binary: str, port: int) -> AsyncIterator[None]:
    with tempfile.TemporaryDirectory(prefix="smart-bedroom-broker-") as workdir:
        conf = Path(workdir) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} {HOST}\nallow_anonymous true\npersistence false\n",
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            binary,
            "-c",
            str(conf),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await _until_listening(port, process)
            yield
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    async with asyncio.timeout(5):
                        await process.wait()
                except TimeoutError:
                    process.kill()


@contextlib.asynccontextmanager
async def _amqtt(port: int) -> AsyncIterator[None]:
    """amqtt on an event loop and thread of its own, so it never competes with the service."""
    started = threading.Event()
    stop: list[asyncio.Event] = []
    failure: list[BaseException] = []

    async def serve() -> None:
        from amqtt.broker import Broker  # imported only when Mosquitto is absent

        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{HOST}:{port}"}},
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
                },
            }
        )
        stop.append(asyncio.Event())
        try:
            await broker.start()
        except BaseException as err:
            failure.append(err)
            raise
        finally:
            started.set()
        await stop[0].wait()
        await broker.shutdown()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    await asyncio.to_thread(started.wait, _READY_TIMEOUT_S)
    if failure:
        raise RuntimeError(f"the embedded amqtt broker did not start: {failure[0]}")
    try:
        yield  # listening once start() returned
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        await asyncio.to_thread(thread.join, _READY_TIMEOUT_S)
        loop.close()


async def _until_listening(port: int, process: asyncio.subprocess.Process) -> None:
    """Wait until the broker accepts connections; fail with its own words if it died."""
    async with asyncio.timeout(_READY_TIMEOUT_S):
        while True:
            if process.returncode is not None:
                error = await process.stderr.read() if process.stderr else b""
                raise RuntimeError(f"the embedded mosquitto stopped: {error.decode().strip()}")
            try:
                _reader, writer = await asyncio.open_connection(HOST, port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return
