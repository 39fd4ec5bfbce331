"""Capped exponential backoff with jitter, shared by every adapter that reconnects or retries."""

from __future__ import annotations

import math
import random

BASE_DELAY_S = 1.0


def retry_delay(
    attempt: int, *, cap_s: float, auth_failed: bool = False, rng: random.Random
) -> float:
    """Seconds to wait before try `attempt` (1-based).

    Grows 1, 2, 4 … s up to `cap_s`, jittered within its upper half so many clients restarting
    together spread out; a refused credential waits the cap at once (it will not fix itself).
    """
    if auth_failed:
        return cap_s
    doublings = min(max(0, attempt - 1), math.ceil(math.log2(max(cap_s / BASE_DELAY_S, 1.0))) + 1)
    ceiling = min(cap_s, BASE_DELAY_S * 2**doublings)
    return rng.uniform(ceiling / 2, ceiling)
