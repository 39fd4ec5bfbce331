"""The demo, as a newcomer runs it: an embedded broker, the service, a night at 480x."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.adapters import broker
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
