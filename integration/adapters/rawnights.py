"""The raw bed signal of the last nights, kept so a past night can be replayed under other rules.

Theory of operation. The bed sensors' messages (motion, vibration, occupancy) are kept exactly
as they arrived, in the record format of `record`/`replay`, one gzip file per room and night:
`<directory>/<room>/<night date>.jsonl.gz`, dated by the evening the night began
(`core.localtime.night_date`).

- Ingest hands each message to `take`, which only appends a line to a bounded in-memory batch:
  it never waits on the disk. Past `MAX_PENDING` lines the newest are dropped and counted.
- One writer, `keep`, wakes every `FLUSH_S` of the service's clock (sooner when the batch is
  half full) and appends each night's lines as one gzip member, in a worker thread, then
  fsyncs: a crash loses at most that minute.
- A member torn by a crash is cut off when the file is next appended to, so the night goes on
  readable; `read_night` also reads a torn file up to its last whole line.
- After each write, files are pruned, oldest first, by age (`keep_nights`) and by a total size
  cap; every deletion is logged. A write is skipped while the disk has less than
  `MIN_FREE_BYTES` free, so the folder never fills the disk.
- A failed write is counted and logged (WARNING once, then DEBUG until one works again); it
  never raises into the service, which goes on controlling the room.

Why gzip from the standard library: appended members make a valid multi-member file that any
`zcat` (and `gzip.open`) reads as one recording, a torn last member is detectable, nothing is
installed, and JSON lines of sensor batches compress about fivefold at level 6.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import os
import shutil
import threading
import zlib
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from integration.adapters.recording import BadLine, encode_line, read_recording
from integration.config import ServiceConfig
from integration.core.localtime import night_date
from integration.messages import InboundMessage

__all__ = [
    "FLUSH_S",
    "SUFFIX",
    "RawNights",
    "StoredNight",
    "find_night",
    "read_night",
    "stored_nights",
]

_LOGGER = logging.getLogger(__name__)

FLUSH_S = 60.0  # a crash loses at most this much of the raw signal
# Lines held between flushes at most (~10 MB): a minute of four 100 Hz one-sample-a-message
# accelerometers is 24,000; batched sensors send a message a second. Beyond it, dropped.
MAX_PENDING = 100_000
# Below this much free space, no write: the history store and the system need the disk more.
MIN_FREE_BYTES = 200 * 1024 * 1024
# gzip level: 6 is zlib's default; 9 costs about twice the CPU for a few percent on these lines.
COMPRESS_LEVEL = 6
SUFFIX = ".jsonl.gz"
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class StoredNight:
    """One kept night of one room."""

    room: str
    night_date: date
    path: Path
    size_bytes: int


def stored_nights(directory: Path) -> list[StoredNight]:
    """Every kept night under `directory`, oldest first (then by room)."""
    nights: list[StoredNight] = []
    if not directory.is_dir():
        return nights
    for path in directory.glob(f"*/*{SUFFIX}"):
        try:
            day = date.fromisoformat(path.name.removesuffix(SUFFIX))
            size = path.stat().st_size
        except (ValueError, OSError):
            continue  # not ours, or gone meanwhile
        nights.append(StoredNight(path.parent.name, day, path, size))
    return sorted(nights, key=lambda n: (n.night_date, n.room))


def find_night(directory: Path, day: date, room: str | None = None) -> list[StoredNight]:
    """The kept nights dated `day` (of `room` when given): one, none, or one per room."""
    return [n for n in stored_nights(directory) if n.night_date == day and room in (None, n.room)]


def read_night(path: Path, bad: list[BadLine] | None = None) -> Iterator[InboundMessage]:
    """The messages of one kept night in arrival order; a tail torn by a crash is left out."""
    with gzip.open(path, "rt", encoding="utf-8") as text:
        yield from read_recording(_whole_lines(text), bad)


def _whole_lines(text: Iterator[str]) -> Iterator[str]:
    try:
        for line in text:
            if line.endswith("\n"):
                yield line
    except (EOFError, gzip.BadGzipFile, zlib.error):
        return  # the member a crash interrupted: everything before it is whole


def _torn_at(path: Path) -> int | None:
    """Where the first incomplete or corrupt gzip member of `path` begins; None when all whole."""
    member_start = 0
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)  # one gzip member at a time
    with path.open("rb") as data:
        while chunk := data.read(_CHUNK):
            chunk_start = data.tell() - len(chunk)
            while chunk:
                try:
                    inflater.decompress(chunk, _CHUNK)  # the text is not needed: bounded
                    while inflater.unconsumed_tail and not inflater.eof:
                        inflater.decompress(inflater.unconsumed_tail, _CHUNK)
                except zlib.error:
                    return member_start
                if not inflater.eof:
                    break
                rest = inflater.unused_data
                member_start = chunk_start + len(chunk) - len(rest)
                chunk_start, chunk = member_start, rest
                inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        size = data.tell()
    return None if member_start == size else member_start


def _free_bytes(path: Path) -> int:
    """Free space on the disk `path` is (or would be) on."""
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    return shutil.disk_usage(existing).free


class RawNights:
    """Keeps the bed sensors' raw messages a night a file (see the module docstring)."""

    def __init__(
        self,
        directory: Path,
        zone: ZoneInfo,
        *,
        keep_nights: int,
        max_total_bytes: int,
        now: Callable[[], float],
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self.directory = directory
        self.zone = zone
        self.keep_nights = keep_nights
        self.max_total_bytes = max_total_bytes
        self.failures = 0  # writes (or deletions) that failed
        self.dropped = 0  # messages not kept: the batch was full
        self.pruned = 0  # nights deleted
        self._now = now
        self._on_failure = on_failure
        self._pending: dict[tuple[str, date], list[str]] = {}
        self._count = 0
        self._half_full = asyncio.Event()
        self._disk = threading.Lock()  # one writer on the files, even past a cancelled flush
        self._checked: set[Path] = set()  # files this process has made sure end whole
        self._failing = False

    @classmethod
    def configured(
        cls,
        config: ServiceConfig,
        now: Callable[[], float],
        on_failure: Callable[[], None] | None = None,
    ) -> RawNights | None:
        """Raw nights as the config says; None when turned off."""
        raw = config.store.raw_nights
        if not raw.enabled:
            return None
        return cls(
            config.store.raw_nights_directory,
            config.zone,
            keep_nights=raw.keep_nights,
            max_total_bytes=round(raw.max_total_mb * 1_000_000),
            now=now,
            on_failure=on_failure,
        )

    async def take(self, rooms: Iterable[str], message: InboundMessage) -> None:
        """Keep a bed sensor's message for each room it feeds; never waits on the disk."""
        line = None
        for room in rooms:
            if self._count >= MAX_PENDING:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % MAX_PENDING == 0:
                    _LOGGER.warning(
                        "raw nights: the disk is not keeping up; %d messages not kept so far",
                        self.dropped,
                    )
                continue
            line = line or encode_line(message) + "\n"
            key = (room, night_date(message.t, self.zone))
            self._pending.setdefault(key, []).append(line)
            self._count += 1
        if self._count >= MAX_PENDING // 2:
            self._half_full.set()

    async def keep(self, sleep_until: Callable[[float], Coroutine[Any, Any, None]]) -> None:
        """The one writer: flush and prune every `FLUSH_S`, or sooner when half full.

        Runs until cancelled; the owner flushes once more after it, for the last minute.
        """
        while True:
            timer = asyncio.create_task(sleep_until(self._now() + FLUSH_S), name="raw-nights-timer")
            full = asyncio.create_task(self._half_full.wait(), name="raw-nights-full")
            try:
                await asyncio.wait((timer, full), return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
                full.cancel()
            self._half_full.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write what is held, then prune; failures are counted and logged, never raised."""
        pending, self._pending, self._count = self._pending, {}, 0
        await asyncio.to_thread(self._write_and_prune, pending)

    def _write_and_prune(self, pending: dict[tuple[str, date], list[str]]) -> None:
        with self._disk:
            for (room, day), lines in pending.items():
                self._append(self.directory / room / f"{day.isoformat()}{SUFFIX}", lines)
            self._prune()

    def _append(self, path: Path, lines: list[str]) -> None:
        member = gzip.compress("".join(lines).encode("utf-8"), COMPRESS_LEVEL)
        try:
            if _free_bytes(self.directory) < MIN_FREE_BYTES + len(member):
                self._failed(f"raw night {path}: the disk is nearly full; {len(lines)} lines lost")
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            if path not in self._checked:
                self._cut_torn_tail(path)
                self._checked.add(path)
            with path.open("ab") as out:  # a member appended in one write
                out.write(member)
                out.flush()
                os.fsync(out.fileno())
        except OSError as err:
            self._failed(f"raw night {path}: {err.strerror or err}; {len(lines)} lines lost")
            return
        if self._failing:
            self._failing = False
            _LOGGER.warning("raw nights: writing again to %s", self.directory)

    def _cut_torn_tail(self, path: Path) -> None:
        """A member a crash left torn is cut off, so what is appended after it stays readable."""
        if not path.exists():
            return
        torn = _torn_at(path)
        if torn is not None:
            size = path.stat().st_size
            os.truncate(path, torn)
            _LOGGER.warning("raw night %s: cut %d torn bytes left by a crash", path, size - torn)

    def _prune(self) -> None:
        nights = stored_nights(self.directory)
        tonight = night_date(self._now(), self.zone)
        total = sum(n.size_bytes for n in nights)
        for night in nights:  # oldest first
            too_old = (tonight - night.night_date).days >= self.keep_nights
            if not too_old and total <= self.max_total_bytes:
                continue
            try:
                night.path.unlink()
            except OSError as err:
                self._failed(f"raw night {night.path}: not deleted: {err.strerror or err}")
                continue
            total -= night.size_bytes
            self.pruned += 1
            self._checked.discard(night.path)
            reason = "older than the nights kept" if too_old else "over the size cap"
            _LOGGER.info(
                "raw night %s deleted (%d bytes): %s", night.path, night.size_bytes, reason
            )

    def _failed(self, message: str) -> None:
        self.failures += 1
        if self._on_failure is not None:
            self._on_failure()
        level = logging.DEBUG if self._failing else logging.WARNING
        self._failing = True
        _LOGGER.log(level, "%s; the room is still controlled", message)
