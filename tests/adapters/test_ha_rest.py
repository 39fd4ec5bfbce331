from __future__ import annotations

import asyncio
import random

import pytest
from aiohttp.test_utils import TestServer

from integration.adapters.ha_rest import HaState, HomeAssistantActions
from integration.core.events import Action, ActionKind
from tests.fake_ha import TOKEN, FakeHomeAssistant


def heater(on: bool, t: float = 0.0) -> Action:
    return Action(
        room="bedroom",
        t=t,
        kind=ActionKind.HA_SERVICE,
        target="switch.turn_on" if on else "switch.turn_off",
        data={"entity_id": "switch.bedroom_heater"},
        why={"rule": "comfort"},
    )


async def drain(actions: HomeAssistantActions) -> None:
    worker = asyncio.create_task(actions.run(), name="ha-worker")
    try:
        async with asyncio.timeout(10):
            await actions.wait_idle()
    finally:
        worker.cancel()


def make(
    fake_ha: FakeHomeAssistant, token: str = TOKEN
) -> tuple[HomeAssistantActions, list[float]]:
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    actions = HomeAssistantActions(
        fake_ha.url, token, backoff_max_s=30, rng=random.Random(1), sleep=sleep
    )
    return actions, delays


async def test_service_call_reaches_home_assistant_with_its_data(
    fake_ha: FakeHomeAssistant,
) -> None:
    actions, delays = make(fake_ha)
    actions.submit(heater(True))
    await drain(actions)
    assert fake_ha.calls == [("switch", "turn_on", {"entity_id": "switch.bedroom_heater"})]
    assert actions.state is HaState.AVAILABLE
    assert (actions.counters.sent, delays) == (1, [])


async def test_notification_goes_to_persistent_notification_with_a_room_id(
    fake_ha: FakeHomeAssistant,
) -> None:
    actions, _ = make(fake_ha)
    actions.submit(
        Action(
            "bedroom",
            0.0,
            ActionKind.NOTIFY,
            "",
            {"title": "Night", "message": "3 spasms", "extra": 1},
        )
    )
    actions.submit(
        Action(
            "bedroom",
            0.0,
            ActionKind.NOTIFY,
            "notify.mobile_app_phone",
            {"title": "Night", "message": "hi"},
        )
    )
    await drain(actions)
    assert fake_ha.calls == [
        (
            "persistent_notification",
            "create",
            {"title": "Night", "message": "3 spasms", "notification_id": "smart_bedroom_bedroom"},
        ),
        ("notify", "mobile_app_phone", {"title": "Night", "message": "hi"}),
    ]


async def test_server_errors_are_retried_with_growing_delays_and_sent_once(
    fake_ha: FakeHomeAssistant,
) -> None:
    fake_ha.fail_with = [500, 502, 503]
    actions, delays = make(fake_ha)
    actions.submit(heater(True))
    await drain(actions)
    assert len(fake_ha.calls) == 1
    assert actions.counters.retried == 3
    assert 0.5 <= delays[0] <= 1.0
    assert 1.0 <= delays[1] <= 2.0
    assert 2.0 <= delays[2] <= 4.0


async def test_a_refused_call_is_parked_and_the_next_one_proceeds(
    fake_ha: FakeHomeAssistant,
) -> None:
    fake_ha.fail_with = [400]
    actions, delays = make(fake_ha)
    actions.submit(
        Action(
            "bedroom",
            0.0,
            ActionKind.HA_SERVICE,
            "climate.set_temperature",
            {"entity_id": "climate.x", "temperature": "hot"},
        )
    )
    actions.submit(heater(False))
    await drain(actions)
    assert fake_ha.calls == [("switch", "turn_off", {"entity_id": "switch.bedroom_heater"})]
    assert (actions.counters.parked, delays) == (1, [])


async def test_a_refused_token_waits_the_longest_delay_at_once(fake_ha: FakeHomeAssistant) -> None:
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        raise asyncio.CancelledError  # stop the worker at its first wait

    actions = HomeAssistantActions(
        fake_ha.url, "wrong", backoff_max_s=30, rng=random.Random(1), sleep=sleep
    )
    actions.submit(heater(True))
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await actions.run()
    assert actions.state is HaState.AUTH_FAILED
    assert delays == [30]
    assert fake_ha.calls == []


async def test_a_newer_command_for_the_same_entity_replaces_a_waiting_one(
    fake_ha: FakeHomeAssistant,
) -> None:
    actions, _ = make(fake_ha)
    actions.submit(heater(True, t=1.0))
    actions.submit(heater(False, t=2.0))
    await drain(actions)
    assert fake_ha.calls == [("switch", "turn_off", {"entity_id": "switch.bedroom_heater"})]
    assert actions.counters.superseded == 1


async def test_unreachable_home_assistant_is_retried_until_it_answers() -> None:
    ha = FakeHomeAssistant()
    ha.server = TestServer(ha.app(), host="127.0.0.1")
    await ha.server.start_server()
    url, port = ha.url, ha.server.port
    await ha.server.close()
    delays: list[float] = []
    restarted = asyncio.Event()

    async def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) == 2 and not restarted.is_set():
            ha.server = TestServer(ha.app(), host="127.0.0.1", port=port)
            await ha.server.start_server()
            restarted.set()
        await asyncio.sleep(0)

    actions = HomeAssistantActions(url, TOKEN, backoff_max_s=30, rng=random.Random(1), sleep=sleep)
    actions.submit(heater(True))
    await drain(actions)
    await ha.server.close()
    assert ha.calls == [("switch", "turn_on", {"entity_id": "switch.bedroom_heater"})]
    assert len(delays) >= 2
    assert actions.state is HaState.AVAILABLE
