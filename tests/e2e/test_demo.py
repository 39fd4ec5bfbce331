"""The demo, as a newcomer runs it: an embedded broker, the service, a night at 480x."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.adapters import broker
from integration.adapters.store import Store
from integration.clock import ScaledClock
from integration.demo import DemoResult, run_demo


@pytest.mark.parametrize("kind", ["mosquitto", "amqtt"])
async def test_the_demo_night_is_detected_and_summarised(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "amqtt":  # a machine without Mosquitto
        monkeypatch.setattr(broker, "mosquitto_binary", lambda: None)
    held: list[DemoResult] = []

    async def hold(result: DemoResult) -> None:
        held.append(result)

    result = await run_demo(workdir=tmp_path, hours=0.75, speed=480.0, seed=2, hold=hold)
    assert held == [result]
    assert result.broker == kind
    assert result.speed == (480.0 if kind == "mosquitto" else 120.0)
    (summary,) = result.summaries
    assert summary.room == "bedroom"
    assert summary.time_in_bed_s > 0.7 * 3600
    assert summary.spasm_count == sum(1 for e in result.events if e.spasm_like)
    # Live at hundreds of times real time, a loaded machine can skew a movement's timing; the
    # detector's quality is measured on replay (bench.detection), here only that it works live.
    assert result.score.true_positives >= 1
    assert (tmp_path / "history.db").is_file()


async def test_a_second_demo_adds_the_night_before_and_no_phantom_night(tmp_path: Path) -> None:
    """While the dashboard is up after the night, time stands still: no night of no data opens.
    A second run keeps the first night and adds the evening before it, for nights and export."""

    async def linger(result: DemoResult) -> None:
        assert result.summaries
        # What a person does next: look at the dashboard for a while (simulated hours pass).
        store = await Store.open(tmp_path / "history.db")
        try:
            assert len(await store.summaries("bedroom", 10)) == len(held) + 1
        finally:
            await store.close()
        held.append(result)

    held: list[DemoResult] = []
    first = await run_demo(workdir=tmp_path, hours=0.5, speed=480.0, seed=3, hold=linger)
    second = await run_demo(workdir=tmp_path, hours=0.5, speed=480.0, seed=4, hold=linger)
    (night_one,) = first.summaries
    (night_two,) = second.summaries
    assert night_two.bed_time < night_one.bed_time
    store = await Store.open(tmp_path / "history.db")
    try:
        kept = await store.summaries("bedroom", 10)
    finally:
        await store.close()
    assert [s.night_date for s in kept] == [night_one.night_date, night_two.night_date]
    assert len({s.night_date for s in kept}) == 2  # one night a date: no phantom beside it


def test_a_stopped_scaled_clock_stands_still() -> None:
    clock = ScaledClock(1000.0, 480.0)
    clock.stop()
    assert clock.now() == clock.now()
