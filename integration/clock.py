"""Where time comes from: the wall clock live, the recording's timestamps in replay.

Only the shell holds a Clock; the core receives time as values (`t`, `Tick.now`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """A source of UTC epoch seconds that can also wait until a moment."""

    def now(self) -> float:
        """Current time, UTC epoch seconds."""
        ...

    async def sleep_until(self, t: float) -> None:
        """Return once `now() >= t`."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """Current wall-clock time."""
        return time.time()

    async def sleep_until(self, t: float) -> None:
        """Sleep on the event loop until the wall clock reaches `t`."""
        delay = t - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


class ReplayClock:
    """Simulated time: moves only when told, and waiting on it never sleeps."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        """The simulated present."""
        return self._now

    def advance_to(self, t: float) -> None:
        """Move time forward to `t` (never backwards)."""
        self._now = max(self._now, t)

    async def sleep_until(self, t: float) -> None:
        """Jump straight to `t`: a night replays as fast as the machine allows."""
        self.advance_to(t)
