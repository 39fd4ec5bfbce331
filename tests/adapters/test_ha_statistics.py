"""A closed night's figures as HA long-term statistics: one row per night, over HA's WebSocket API."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from integration.adapters.actions import night_statistics
from integration.adapters.ha_rest import HaState, HomeAssistantActions, statistics_message
from integration.core.events import MovementEvent, MovementKind
from integration.core.summary import NightAccumulator, NightSummary
from tests.fake_ha import FakeHomeAssistant

KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30: local noon is not a whole UTC hour


def summary(
    room: str = "bedroom", zone: ZoneInfo = KOLKATA, temperatures: bool = True
) -> NightSummary:
    bed = datetime(2026, 11, 23, 23, 0, tzinfo=zone).timestamp()
    night = NightAccumulator(room, "Bedroom", bed, zone)
    if temperatures:
        for minute in range(120):
            night.add_temperature(bed + minute * 60, 18.0 if minute < 90 else 21.0, 17.0, 19.5)
    for index in range(3):
        start = bed + 600 + index * 60
        night.add_event(MovementEvent(room, MovementKind.JERK, start, start + 1, 5.0, 0.9, True))
    night.add_event(
        MovementEvent(room, MovementKind.RESTLESS_END, bed + 1800, bed + 2400, 1, 1, False)
    )
    return night.finish(bed + 7200)


def test_each_figure_is_one_row_at_the_noon_of_the_nights_date() -> None:
    night = summary()
    rows = {str(a.data["statistic_id"]): a.data for a in night_statistics(night)}
    noon = datetime(2026, 11, 23, 12, 0, tzinfo=KOLKATA).astimezone(UTC)  # 06:30 UTC
    start = datetime(2026, 11, 23, 6, 0, tzinfo=UTC).isoformat()
    assert noon.minute == 30
    assert {k: (v["start"], v["unit"]) for k, v in rows.items()} == {
        "smart_bedroom:bedroom_spasms_per_night": (start, None),
        "smart_bedroom:bedroom_restless_minutes_per_night": (start, "min"),
        "smart_bedroom:bedroom_time_in_band_per_night": (start, "%"),
    }  # no sleep estimate without a bed sensor: no row, rather than a 0
    assert rows["smart_bedroom:bedroom_spasms_per_night"]["value"] == night.spasm_count == 3
    assert rows["smart_bedroom:bedroom_restless_minutes_per_night"]["value"] == pytest.approx(
        night.restless_total_min, abs=0.01
    )
    assert night.in_band_share is not None
    assert rows["smart_bedroom:bedroom_time_in_band_per_night"]["value"] == pytest.approx(
        100 * night.in_band_share, abs=0.01
    )
    assert rows["smart_bedroom:bedroom_spasms_per_night"]["name"] == (
        "Bedroom spasm-like events per night"
    )


def test_a_room_id_ha_would_refuse_is_made_a_valid_statistic_id() -> None:
    ids = {a.data["statistic_id"] for a in night_statistics(summary(room="back__room_"))}
    assert "smart_bedroom:back_room_spasms_per_night" in ids


def test_the_command_is_what_home_assistant_2024_3_validates() -> None:
    (action, *_rest) = night_statistics(summary())
    assert statistics_message(action) == {
        "type": "recorder/import_statistics",
        "metadata": {
            "has_mean": True,
            "has_sum": False,
            "name": "Bedroom spasm-like events per night",
            "source": "smart_bedroom",
            "statistic_id": "smart_bedroom:bedroom_spasms_per_night",
            "unit_of_measurement": None,
        },
        "stats": [{"start": "2026-11-23T06:00:00+00:00", "mean": 3.0, "min": 3.0, "max": 3.0}],
    }


async def drain(actions: HomeAssistantActions) -> None:
    worker = asyncio.create_task(actions.run(), name="ha-worker")
    try:
        async with asyncio.timeout(10):
            await actions.wait_idle()
    finally:
        worker.cancel()


def worker(fake_ha: FakeHomeAssistant, token: str, parked: list[str]) -> HomeAssistantActions:
    async def no_wait(_delay: float) -> None:
        await asyncio.sleep(0)

    return HomeAssistantActions(
        fake_ha.url,
        token,
        rng=random.Random(1),
        sleep=no_wait,
        on_parked=lambda _action, reason: parked.append(reason),
    )


async def test_the_rows_reach_home_assistant_over_its_websocket(
    fake_ha: FakeHomeAssistant,
) -> None:
    parked: list[str] = []
    actions = worker(fake_ha, "test-token-not-secret", parked)
    for action in night_statistics(summary()):
        actions.submit(action)
    await drain(actions)
    assert [c["metadata"]["statistic_id"] for c in fake_ha.commands] == [
        "smart_bedroom:bedroom_spasms_per_night",
        "smart_bedroom:bedroom_restless_minutes_per_night",
        "smart_bedroom:bedroom_time_in_band_per_night",
    ]
    assert (actions.counters.sent, parked, actions.state) == (3, [], HaState.AVAILABLE)


async def test_a_newer_row_for_the_same_night_replaces_one_still_waiting(
    fake_ha: FakeHomeAssistant,
) -> None:
    """A label given while HA was away: only the corrected figure is sent."""
    actions = worker(fake_ha, "test-token-not-secret", [])
    first, corrected = night_statistics(summary())[0], night_statistics(summary())[0]
    actions.submit(first)
    actions.submit(corrected)
    await drain(actions)
    assert len(fake_ha.commands) == 1
    assert actions.counters.superseded == 1


async def test_a_token_without_admin_rights_is_parked_with_the_reason(
    fake_ha: FakeHomeAssistant,
) -> None:
    fake_ha.ws_refuse = "unauthorized"
    parked: list[str] = []
    actions = worker(fake_ha, "test-token-not-secret", parked)
    actions.submit(night_statistics(summary())[0])
    await drain(actions)
    assert parked == ["HA refused: writing statistics needs a token of an administrator"]
    assert actions.counters.parked == 1


async def test_a_refused_token_is_an_outage_retried_not_a_dead_letter(
    fake_ha: FakeHomeAssistant,
) -> None:
    parked: list[str] = []
    actions = worker(fake_ha, "wrong-token", parked)
    actions.submit(night_statistics(summary())[0])
    runner = asyncio.create_task(actions.run())
    try:
        async with asyncio.timeout(10):
            await actions.wait_for(lambda: actions.counters.retried >= 2)
    finally:
        runner.cancel()
    assert actions.state is HaState.AUTH_FAILED
    assert (parked, fake_ha.commands) == ([], [])
