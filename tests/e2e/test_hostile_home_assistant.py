"""A misbehaving Home Assistant against the whole service on the real private Mosquitto: 200 with
bodies that are not HA's, refusals that will not change, answers that trickle or never come.

Nothing it does may end the service or its task group, a poison action is parked (a dead letter
in the outbox, on /healthz, in the log once, and as HA's delivery problem entity) and not sent
again at the next start, and /healthz says how HA is. Backoff waits are recorded, not slept.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest

from integration.adapters.ha_rest import POISON_ATTEMPTS, HaState, HomeAssistantActions
from integration.adapters.store import Store
from integration.config import ServiceConfig
from integration.service import Service
from tests.e2e.helpers import SETTLE_S, next_message, publish_all, running, wait
from tests.e2e.test_security import secure_config
from tests.fake_ha import TOKEN, Answer, FakeHomeAssistant
from tests.mosquitto import Mosquitto

HEATER_ON = ("switch", "turn_on", {"entity_id": "switch.heater"})
COLD = b"10"  # below every band of the shipped schedule: the heater goes on through HA
DEADLINE_S = 0.3  # the HA worker's whole-request deadline in these tests


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HA_TOKEN", TOKEN)


def worker(url: str, delays: list[float] | None = None) -> HomeAssistantActions:
    """The real HA worker with a short deadline; its backoff waits recorded, not slept."""

    async def backoff(delay: float) -> None:
        if delays is not None:
            delays.append(delay)
        await asyncio.sleep(0)

    return HomeAssistantActions(
        url,
        TOKEN,
        rng=random.Random(1),
        sleep=backoff,
        request_timeout_s=DEADLINE_S,
    )


def service_with(config: ServiceConfig, actions: HomeAssistantActions) -> Service:
    return Service(config, None, home_assistant=actions, discovery_settle_s=SETTLE_S)


async def healthz(service: Service) -> dict[str, Any]:
    assert service.dashboard_url is not None
    async with (
        aiohttp.ClientSession() as client,
        client.get(service.dashboard_url + "healthz") as response,
    ):
        body: dict[str, Any] = await response.json()
        return body


async def still_serving(service: Service, mosquitto: Mosquitto, topic: str) -> None:
    """The service still takes readings: its task group is alive."""
    readings = service.pipeline.stats.readings
    before = readings["temperature"]
    await publish_all(mosquitto, [(topic, b"19")])
    await wait(service.wait_for(lambda: readings["temperature"] > before))


@pytest.mark.parametrize(
    "body",
    [b'{"message":"ok"}', b'[{"nope":1}]', b'"ok"', b"{}"],
    ids=["message", "list_of_junk", "string", "empty_object"],
)
async def test_a_2xx_with_an_unexpected_json_body_is_delivered_once_with_one_warning(
    mosquitto: Mosquitto,
    unique_topic: str,
    fake_ha: FakeHomeAssistant,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    fake_ha.always = Answer(200, body)
    actions = worker(fake_ha.url)
    service = service_with(
        secure_config(mosquitto, unique_topic, {"port": mosquitto.port}, fake_ha.url), actions
    )
    async with running(service.run, service.mqtt):
        await publish_all(mosquitto, [(f"{unique_topic}/t", COLD)])
        await wait(actions.wait_for(lambda: actions.counters.sent == 1))
        await wait(service.wait_for(lambda: service.history.undelivered == 0))
        await still_serving(service, mosquitto, f"{unique_topic}/t")
        health = await healthz(service)
    assert fake_ha.calls == [HEATER_ON]  # once: retrying would switch it twice
    assert (actions.counters.odd_replies, actions.counters.parked) == (1, 0)
    assert health["home_assistant"] == HaState.AVAILABLE
    assert health["dead_letters"] == 0
    warnings = [r for r in caplog.records if "unexpected body" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_poison_action_is_parked_shown_everywhere_and_not_sent_again_at_restart(
    mosquitto: Mosquitto,
    unique_topic: str,
    fake_ha: FakeHomeAssistant,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    # A wrong URL, a proxy's login page: every answer is a 200 that is not HA's.
    fake_ha.always = Answer(200, b"<html><body>Please log in</body></html>", "text/html")
    delays: list[float] = []
    actions = worker(fake_ha.url, delays)
    config = secure_config(mosquitto, unique_topic, {"port": mosquitto.port}, fake_ha.url)
    service = service_with(config, actions)
    problem = f"{unique_topic}/delivery/problem"
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as ha_view:
        await ha_view.subscribe([(problem, 1), (problem + "/attributes", 1)])
        async with running(service.run, service.mqtt):
            await publish_all(mosquitto, [(f"{unique_topic}/t", COLD)])
            await wait(service.wait_for(lambda: service.history.dead_letters == 1))
            shown: dict[str, bytes] = {}
            while shown.get(problem) != b"ON" or problem + "/attributes" not in shown:
                message = await next_message(ha_view)
                assert isinstance(message.payload, bytes)
                shown[str(message.topic)] = message.payload
            await still_serving(service, mosquitto, f"{unique_topic}/t")
            health = await healthz(service)
    assert len(fake_ha.calls) == POISON_ATTEMPTS  # then parked, never retried into a loop
    assert len(delays) == POISON_ATTEMPTS - 1
    assert health["home_assistant"] == HaState.UNEXPECTED_REPLY
    assert "not HA's JSON" in health["home_assistant_detail"]
    assert (health["dead_letters"], health["dead_letters_kept"]) == (1, 1)
    attributes = json.loads(shown[problem + "/attributes"])
    assert attributes["parked_since_start"] == 1
    assert attributes["latest"][0]["target"] == "switch.turn_on"
    assert "Please log in" in attributes["latest"][0]["reason"]
    parked_lines = [r for r in caplog.records if "parked as a dead letter" in r.getMessage()]
    assert [r.levelno for r in parked_lines] == [logging.ERROR]  # in the log once
    with sqlite3.connect(tmp_path / "smart-bedroom.db") as db:
        rows = db.execute("SELECT delivered, parked_reason FROM outbox").fetchall()
    assert len(rows) == 1
    assert rows[0][0] == 0
    assert "Please log in" in rows[0][1]

    # Restarted with HA answering properly: the dead letter stays parked (no crash loop, no
    # stale heater command), is still counted, and the problem is off until a new one.
    fake_ha.always = None
    actions = worker(fake_ha.url)
    service = service_with(config, actions)
    async with running(service.run, service.mqtt):
        await wait(actions.wait_for(lambda: actions.state is HaState.AVAILABLE))
        await wait(actions.wait_idle())
        health = await healthz(service)
    assert len(fake_ha.calls) == POISON_ATTEMPTS
    assert (health["dead_letters"], health["dead_letters_kept"]) == (0, 1)


@pytest.mark.parametrize("status", [400, 403, 404, 405, 413, 422])
async def test_a_refusal_that_will_not_change_is_parked_at_once(
    mosquitto: Mosquitto, unique_topic: str, fake_ha: FakeHomeAssistant, status: int
) -> None:
    fake_ha.fail_with = [status]
    delays: list[float] = []
    actions = worker(fake_ha.url, delays)
    service = service_with(
        secure_config(mosquitto, unique_topic, {"port": mosquitto.port}, fake_ha.url), actions
    )
    async with running(service.run, service.mqtt):
        await publish_all(mosquitto, [(f"{unique_topic}/t", COLD)])
        await wait(service.wait_for(lambda: service.history.dead_letters == 1))
        health = await healthz(service)
    assert (delays, actions.counters.parked) == ([], 1)
    assert health["dead_letters"] == 1
    assert health["home_assistant"] == HaState.AVAILABLE  # HA is there; it said no


async def test_an_outbox_row_that_is_no_action_is_parked_at_start(
    mosquitto: Mosquitto, unique_topic: str, fake_ha: FakeHomeAssistant, tmp_path: Path
) -> None:
    store = await Store.open(tmp_path / "smart-bedroom.db")
    await store.add_outbox(0.0, "ha_action", {"room": "bedroom", "kind": "no such kind"})
    await store.close()
    actions = worker(fake_ha.url)
    service = service_with(
        secure_config(mosquitto, unique_topic, {"port": mosquitto.port}, fake_ha.url), actions
    )
    async with running(service.run, service.mqtt):
        await still_serving(service, mosquitto, f"{unique_topic}/t")
        health = await healthz(service)
    assert health["dead_letters_kept"] == 1
    assert fake_ha.calls == []


@pytest.mark.parametrize("misbehaviour", ["trickle", "hang"])
async def test_an_ha_that_trickles_or_hangs_costs_one_deadline_and_health_says_so(
    mosquitto: Mosquitto, unique_topic: str, fake_ha: FakeHomeAssistant, misbehaviour: str
) -> None:
    if misbehaviour == "trickle":
        fake_ha.trickle_s = DEADLINE_S / 6  # a byte at a time, well inside any per-read timeout
    else:
        fake_ha.hang = True
    delays: list[float] = []
    actions = worker(fake_ha.url, delays)
    service = service_with(
        secure_config(mosquitto, unique_topic, {"port": mosquitto.port}, fake_ha.url), actions
    )
    async with running(service.run, service.mqtt):
        # Before any action: the start probe already knows HA is not answering.
        await wait(actions.wait_for(lambda: actions.state is HaState.UNAVAILABLE))
        health = await healthz(service)
        assert health["home_assistant"] == HaState.UNAVAILABLE
        assert health["home_assistant_detail"] == f"no complete answer within {DEADLINE_S:g} s"
        await publish_all(mosquitto, [(f"{unique_topic}/t", COLD)])
        await wait(actions.wait_for(lambda: actions.counters.retried >= 2))
        await still_serving(service, mosquitto, f"{unique_topic}/t")
        # HA recovers: the kept action goes at the next try, once.
        fake_ha.trickle_s, fake_ha.hang = None, False
        fake_ha.release()
        await wait(actions.wait_for(lambda: actions.counters.sent == 1))
        await wait(service.wait_for(lambda: service.history.undelivered == 0))
        health = await healthz(service)
    # Each timed-out try may have reached HA, so it is tried again (switching on twice is
    # harmless, a notification replaces itself by its id); delivered once it is answered.
    assert fake_ha.calls == [HEATER_ON] * len(fake_ha.calls)
    assert actions.counters.sent == 1
    assert health["home_assistant"] == HaState.AVAILABLE
    assert health["dead_letters"] == 0
    assert len(delays) >= 2
