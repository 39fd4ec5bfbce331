"""The service's heartbeat: a `Tick` every second, on time under any ingest load.

Comfort, staleness and the morning summary run on ticks, so a tick must neither starve behind a
flood of samples nor fire in a burst after the wall clock jumps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from integration.clock import Clock
from integration.core.readings import TICK_S
from integration.watchers import Watchers

_LOGGER = logging.getLogger(__name__)

# A tick waits at most this long (real seconds) for queued messages to be handled first.
TICK_DRAIN_WAIT_S = 0.25


class Ticker:
    """Calls `on_tick(now)` every `every_s`, after the messages already queued when it can."""

    def __init__(
        self,
        clock: Clock,
        watchers: Watchers,
        queued: Callable[[], int],
        *,
        every_s: float = TICK_S,
        lag_s: float = 0.0,
        on_lateness: Callable[[float], None] = lambda late_s: None,
        on_clock_step: Callable[[], None] = lambda: None,
    ) -> None:
        self.clock = clock
        self.every_s = every_s  # a second; more on a sped-up clock, to spare the CPU
        # On a sped-up clock, messages in flight are many simulated seconds old: ticks trail the
        # clock by this much so a detector never takes samples still on their way for silence.
        self.lag_s = lag_s
        self.late_max_s = 0.0  # the latest a tick has run, for tests and /metrics
        self.clock_steps = 0
        self._watchers = watchers
        self._queued = queued
        self._on_lateness = on_lateness
        self._on_clock_step = on_clock_step

    async def run(self, on_tick: Callable[[float], Awaitable[None]]) -> None:
        """Tick until cancelled."""
        next_tick = self.clock.now()
        while True:
            next_tick += self.every_s
            # Never wait longer than a tick: the clock may have been set back a moment ago.
            await self.clock.sleep_until(min(next_tick, self.clock.now() + self.every_s))
            now = self.clock.now()
            steps = self.clock.take_steps()
            if steps:
                self._clock_stepped(sum(steps))
                next_tick = now  # neither a burst of missed ticks nor an hour's wait for one
            # Let messages already received go first (on a sped-up clock they are many seconds
            # of samples), but never wait long: under sustained load comfort and staleness
            # ticks must still run. Detectors judge by the samples' own time, so a tick that
            # overtakes queued samples changes nothing they find.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_DRAIN_WAIT_S):
                    await self._watchers.wait_for(lambda: self._queued() == 0)
            late_s = self.clock.now() - next_tick if not steps else 0.0
            self._on_lateness(late_s)
            self.late_max_s = max(self.late_max_s, late_s)
            await on_tick(self.clock.now() - self.lag_s)
            self._watchers.notify()

    def _clock_stepped(self, by_s: float) -> None:
        """Say so once per step: times around it in history and events are off by that much."""
        self.clock_steps += 1
        self._on_clock_step()
        direction = "forward" if by_s > 0 else "back"
        _LOGGER.warning(
            "the wall clock was set %s by %.0f s (NTP on a board without a real-time clock, "
            "or by hand); ticking on from the new time, the rooms stay controlled",
            direction,
            abs(by_s),
        )
