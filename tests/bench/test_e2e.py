"""The end-to-end benchmark's quick run, on its own private broker."""

from __future__ import annotations

import pytest

from bench.e2e import Results, measure, plan, shifted, table


@pytest.mark.parametrize(
    ("payload", "shift_s", "expected"),
    [
        (b'{"t0":100.000,"rate":50,"x":[0.1]}', 3600.0, b'{"t0":3700.000,"rate":50,"x":[0.1]}'),
        (b'{"t0":1.5,"rate":50}', 0.25, b'{"t0":1.750,"rate":50}'),
        (b'{"occupancy":true}', 3600.0, b'{"occupancy":true}'),
    ],
    ids=["batch", "fraction", "no-device-time"],
)
def test_a_repeated_batch_is_moved_by_the_lap(
    payload: bytes, shift_s: float, expected: bytes
) -> None:
    assert shifted(payload, shift_s) == expected


async def test_the_quick_run_finds_the_planted_spasms_live_and_tabulates() -> None:
    results: Results = await measure(plan(quick=True))
    assert results.broker in {"mosquitto", "amqtt"}
    assert results.service.messages > 0
    assert results.events_published > 0
    planted = sum(row.planted for row in results.delays)
    found = sum(row.found_live for row in results.delays)
    assert planted > 0
    assert found >= planted - 1
    assert all(d > -1.0 for row in results.delays for d in row.live_s)  # never before the end
    lines = table(results)
    assert lines[0].startswith("receiver")
    assert any(line.startswith("all") for line in lines)


@pytest.mark.bench
async def test_the_quick_run_measures_the_service_below_the_bare_ceiling() -> None:
    results: Results = await measure(plan(quick=True))
    assert results.service.messages > 0
    assert results.service.per_s < results.bare.per_s
