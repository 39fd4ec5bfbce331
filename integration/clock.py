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

    def take_steps(self) -> list[float]:
        """Steps (seconds, + forward) the clock made since the last call, beyond its ticking."""
        ...


# The wall clock and the monotonic clock drift apart by far less than this between two reads;
# more is a step: NTP setting a board without a real-time clock, a person, a VM resumed.
CLOCK_STEP_S = 2.0


class SystemClock:
    """The wall clock, watched for steps against the monotonic clock."""

    def __init__(self) -> None:
        self._offset = time.time() - time.monotonic()
        self._steps: list[float] = []

    def now(self) -> float:
        """Current wall-clock time."""
        wall = time.time()
        offset = wall - time.monotonic()
        if abs(offset - self._offset) > CLOCK_STEP_S:
            self._steps.append(offset - self._offset)
            self._offset = offset
        return wall

    def take_steps(self) -> list[float]:
        """The steps seen by `now()` since the last call."""
        steps, self._steps = self._steps, []
        return steps

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

    def take_steps(self) -> list[float]:
        """Replayed time only moves forward, by design: it never steps."""
        return []


class ScaledClock:
    """Wall time run `speed` times faster from `start`: a simulated night published live in minutes.

    The publisher and the service must share the same start and speed, so the device
    timestamps in the payloads and the arrival stamps agree.
    """

    def __init__(self, start: float, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.speed = speed
        self._wall0 = time.monotonic()
        self._stopped_at: float | None = None
        self._never = asyncio.Event()  # never set: what waiting on a stopped clock is

    def now(self) -> float:
        """Simulated present: `start` plus the wall time elapsed, times `speed`."""
        if self._stopped_at is not None:
            return self._stopped_at
        return self.start + (time.monotonic() - self._wall0) * self.speed

    def stop(self) -> None:
        """Time stands still from now on: a simulated night that is over starts no other."""
        self._stopped_at = self.now()

    async def sleep_until(self, t: float) -> None:
        """Sleep the wall time it takes the scaled clock to reach `t` (forever once stopped)."""
        if self._stopped_at is not None and t > self._stopped_at:
            await self._never.wait()
        delay = (t - self.now()) / self.speed
        if delay > 0:
            await asyncio.sleep(delay)

    def take_steps(self) -> list[float]:
        """Runs off the monotonic clock: it never steps."""
        return []
