"""Wait until a condition on some state holds, re-checked whenever the owner says it changed.

Lets tests (and shutdown) await "the 20th message was handled" without polling or sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Watchers:
    """Predicates awaited by callers; the owner calls `notify()` after each change."""

    def __init__(self) -> None:
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; checked at each change, so a brief state is not missed."""
        if predicate():
            return
        entry = (predicate, asyncio.get_running_loop().create_future())
        self._waiters.append(entry)
        try:
            await entry[1]
        finally:
            self._waiters.remove(entry)

    def notify(self) -> None:
        """Wake every waiter whose predicate now holds."""
        for predicate, future in self._waiters:
            if not future.done() and predicate():
                future.set_result(None)
