"""The wall clock is watched for steps; the simulated clocks never step."""

from __future__ import annotations

import pytest

from integration import clock as clock_module
from integration.clock import CLOCK_STEP_S, ReplayClock, ScaledClock, SystemClock


class FakeTime:
    """`time.time` and `time.monotonic` a test moves: ticking together, or the wall one stepped."""

    def __init__(self) -> None:
        self.wall = 1_767_225_600.0
        self.mono = 1_000.0

    def run(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(clock_module.time, "time", fake.time)
    monkeypatch.setattr(clock_module.time, "monotonic", fake.monotonic)
    return fake


def test_ticking_and_small_drift_are_not_steps(fake_time: FakeTime) -> None:
    clock = SystemClock()
    for _ in range(100):
        fake_time.run(1.0)
        fake_time.wall += CLOCK_STEP_S / 200  # NTP slewing: a second's drift over 100 s
        clock.now()
    assert clock.take_steps() == []


def test_a_step_back_and_one_forward_are_each_reported_once(fake_time: FakeTime) -> None:
    clock = SystemClock()
    fake_time.run(10.0)
    fake_time.wall -= 3600.0
    assert clock.now() == fake_time.wall  # the wall time is still what it says
    fake_time.run(1.0)
    clock.now()
    fake_time.wall += 10_800.0
    clock.now()
    assert clock.take_steps() == [-3600.0, 10_800.0]
    assert clock.take_steps() == []


def test_simulated_clocks_never_step() -> None:
    replay = ReplayClock(100.0)
    replay.advance_to(50.0)
    assert (replay.now(), replay.take_steps()) == (100.0, [])
    assert ScaledClock(100.0, 60.0).take_steps() == []
