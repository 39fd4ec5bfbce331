"""The recording format: one JSON object a line, `{"ts": <epoch s>, "topic": "...", "payload": "..."}`.

A payload that is not valid UTF-8 is stored as `"payload_b64"` instead of `"payload"`, so a
recording round-trips every message byte for byte.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Self

from integration.adapters.ha_states import home_assistant_states
from integration.adapters.mqtt import MqttConnection, MqttSettings, mqtt_settings
from integration.clock import Clock, SystemClock
from integration.config import ServiceConfig
from integration.messages import InboundMessage
from integration.watchers import Watchers

_LOGGER = logging.getLogger(__name__)


def encode_line(message: InboundMessage) -> str:
    """One recording line for `message` (no trailing newline)."""
    record: dict[str, float | str] = {"ts": message.t, "topic": message.topic}
    try:
        record["payload"] = message.payload.decode("utf-8")
    except UnicodeDecodeError:
        record["payload_b64"] = base64.b64encode(message.payload).decode("ascii")
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def decode_line(line: str) -> InboundMessage | str:
    """The message on one recording line, or why the line is unusable."""
    try:
        record = json.loads(line)
    except ValueError:
        return "not JSON"
    if not isinstance(record, dict):
        return "not a JSON object"
    ts, topic = record.get("ts"), record.get("topic")
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        return "ts is not a number of seconds"
    if not isinstance(topic, str) or not topic:
        return "topic is missing"
    if isinstance(record.get("payload"), str):
        try:
            payload = record["payload"].encode("utf-8")
        except UnicodeEncodeError:
            return "payload is not valid text (use payload_b64 for bytes)"
    elif isinstance(record.get("payload_b64"), str):
        try:
            payload = base64.b64decode(record["payload_b64"], validate=True)
        except (binascii.Error, ValueError):
            return "payload_b64 is not base64"
    else:
        return "payload is missing"
    return InboundMessage(t=float(ts), topic=topic, payload=payload)


@dataclass(slots=True)
class BadLine:
    """A recording line that was skipped, with where it was."""

    line: int
    reason: str


def read_recording(
    lines: Iterable[str], bad: list[BadLine] | None = None
) -> Iterator[InboundMessage]:
    """Messages from recording lines in file order; unusable lines are skipped into `bad`."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        decoded = decode_line(line)
        if isinstance(decoded, str):
            if bad is not None:
                bad.append(BadLine(number, decoded))
            continue
        yield decoded


class RecordingWriter:
    """Appends messages to a recording file, flushed line by line so a crash loses nothing."""

    def __init__(self, path: Path, mode: Literal["a", "w"] = "a") -> None:
        self._path = path
        self._mode = mode
        self._file: IO[str] | None = None
        self.written = 0

    def __enter__(self) -> Self:
        self._file = self._path.open(self._mode, encoding="utf-8", newline="\n")
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, message: InboundMessage) -> None:
        """Append one message."""
        if self._file is None:
            raise RuntimeError("RecordingWriter used outside its `with` block")
        self._file.write(encode_line(message) + "\n")
        if self._mode == "a":  # live recording: a crash loses nothing; a written file is whole
            self._file.flush()
        self.written += 1


class Recorder:
    """Appends every message on the configured topics to a recording file."""

    def __init__(
        self,
        config: ServiceConfig,
        out: Path,
        *,
        clock: Clock | None = None,
        mqtt: MqttSettings | None = None,
    ) -> None:
        self.out = out
        self.clock: Clock = clock or SystemClock()
        self.mqtt = MqttConnection(
            mqtt or mqtt_settings(config),
            [(topic, 1) for topic in config.mqtt_topics()],
            self.clock.now,
        )
        # HA entities' states are recorded too, on their pseudo-topics: they replay exactly.
        self.ha_states = home_assistant_states(config, self.clock.now)
        self.written = 0
        self._watchers = Watchers()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; re-checked after every written message."""
        await self._watchers.wait_for(predicate)

    async def run(self) -> None:
        """Record until cancelled; every line is flushed as it is written."""
        with RecordingWriter(self.out) as writer:

            async def pump(messages: AsyncIterator[InboundMessage]) -> None:
                async for message in messages:
                    writer.write(message)
                    self.written = writer.written
                    self._watchers.notify()

            async with asyncio.TaskGroup() as group:
                group.create_task(self.mqtt.run(), name="mqtt-connection")
                group.create_task(pump(self.mqtt.messages()), name="recorder")
                if self.ha_states is not None:
                    group.create_task(self.ha_states.run(), name="home-assistant-entities")
                    group.create_task(pump(self.ha_states.messages()), name="recorder-ha")
