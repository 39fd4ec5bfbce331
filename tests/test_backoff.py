from __future__ import annotations

import random

import pytest

from integration.backoff import retry_delay


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [
        (1, 0.5, 1.0),
        (2, 1.0, 2.0),
        (3, 2.0, 4.0),
        (7, 30.0, 60.0),
        (8, 30.0, 60.0),
        (100_000, 30.0, 60.0),
    ],
    ids=["first", "second", "third", "reaches-cap", "stays-capped", "week-long-outage"],
)
def test_delay_grows_then_stays_capped(attempt: int, low: float, high: float) -> None:
    rng = random.Random(7)
    for _ in range(50):
        assert low <= retry_delay(attempt, cap_s=60.0, rng=rng) <= high


def test_refused_credentials_wait_the_cap_at_once() -> None:
    assert retry_delay(1, cap_s=60.0, auth_failed=True, rng=random.Random(0)) == 60.0
