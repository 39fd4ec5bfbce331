"""Security and faults on the real broker: TLS with client certificates, credentials from the
environment, secrets that never reach a log line, and HA actions kept while HA is away."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from integration.adapters.broker import free_port
from integration.adapters.ha_rest import HaState
from integration.adapters.mqtt import ConnectionState
from integration.adapters.store import Store
from integration.config import SecretRef, ServiceConfig
from integration.service import Service
from tests.e2e.helpers import SETTLE_S, publish_all, running, wait
from tests.fake_ha import TOKEN, FakeHomeAssistant
from tests.mosquitto import Mosquitto

HA_TOKEN = "ha-token-that-must-never-be-logged-5f3a"  # noqa: S105 - a test secret


def secure_config(
    broker: Mosquitto, prefix: str, mqtt: dict[str, Any], ha_url: str | None = None
) -> ServiceConfig:
    """A heater switched through HA, a plain temperature sensor, and the broker settings given."""
    room = {
        "id": "bedroom",
        "name": "Bedroom",
        "sensors": [{"id": "t", "kind": "temperature", "topic": f"{prefix}/t", "format": "plain"}],
        "actuators": [{"id": "heat", "role": "heater", "entity_id": "switch.heater"}],
    }
    homeassistant: dict[str, Any] = {"enabled": False, "discovery_prefix": prefix + "/ha"}
    if ha_url is not None:
        homeassistant |= {"enabled": True, "url": ha_url, "token": {"env": "TEST_HA_TOKEN"}}
    return ServiceConfig.model_validate(
        {
            "timezone": "Europe/London",
            "mqtt": {"host": broker.host, "client_id": "sb_" + prefix[-12:], "base_topic": prefix}
            | mqtt,
            "homeassistant": homeassistant,
            "dashboard": {"port": 0},
            "rooms": [room],
        }
    )


async def test_tls_with_a_client_certificate_carries_readings(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    tls = {
        "enabled": True,
        "ca_file": str(mosquitto.ca_file),
        "cert_file": str(mosquitto.client_cert_file),
        "key_file": str(mosquitto.client_key_file),
    }
    config = secure_config(mosquitto, unique_topic, {"port": mosquitto.tls_port, "tls": tls})
    service = Service(config, None, discovery_settle_s=SETTLE_S)
    stats = service.pipeline.stats
    async with running(service.run, service.mqtt):
        sensor_tls = aiomqtt.TLSParameters(
            ca_certs=str(mosquitto.ca_file),
            certfile=str(mosquitto.client_cert_file),
            keyfile=str(mosquitto.client_key_file),
        )
        async with aiomqtt.Client(
            mosquitto.host, mosquitto.tls_port, tls_params=sensor_tls
        ) as sensor:
            await sensor.publish(f"{unique_topic}/t", b"18.5", qos=1)
        await wait(service.wait_for(lambda: stats.readings["temperature"] == 1))


async def test_passwords_and_tokens_never_reach_the_logs(
    mosquitto: Mosquitto,
    unique_topic: str,
    fake_ha: FakeHomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "wrong-" + mosquitto.password
    monkeypatch.setenv("TEST_MQTT_PASSWORD", mosquitto.password)
    monkeypatch.setenv("TEST_WRONG_PASSWORD", wrong)
    monkeypatch.setenv("TEST_HA_TOKEN", HA_TOKEN)  # not the fake HA's: it answers 401
    caplog.set_level(logging.DEBUG)
    login = {"port": mosquitto.password_port, "username": mosquitto.username}

    # A wrong password: the broker refuses it, the service says so, never what it sent.
    refused = Service(
        secure_config(
            mosquitto, unique_topic, login | {"password": {"env": "TEST_WRONG_PASSWORD"}}
        ),
        None,
        discovery_settle_s=SETTLE_S,
    )
    mqtt = refused.mqtt
    async with running(refused.run, mqtt, until=ConnectionState.AUTH_FAILED):
        pass

    # The right password; a cold room makes the heater go on through HA, which refuses the token.
    config = secure_config(
        mosquitto,
        unique_topic,
        login | {"password": {"env": "TEST_MQTT_PASSWORD"}},
        ha_url=fake_ha.url,
    )
    service = Service(config, None, discovery_settle_s=SETTLE_S)
    home_assistant = service.home_assistant
    assert home_assistant is not None
    async with running(service.run, service.mqtt):
        async with aiomqtt.Client(
            mosquitto.host,
            mosquitto.password_port,
            username=mosquitto.username,
            password=mosquitto.password,
        ) as sensor:
            await sensor.publish(f"{unique_topic}/t", b"10", qos=1)
        await wait(home_assistant.wait_for(lambda: home_assistant.state is HaState.AUTH_FAILED))

    logged = caplog.text
    assert "refused" in logged.lower() or "not authori" in logged.lower()
    assert "401" in logged or "token" in logged.lower()
    for secret in (mosquitto.password, wrong, HA_TOKEN):
        assert secret not in logged


async def test_actions_wait_in_the_outbox_while_home_assistant_is_away_and_go_once(
    mosquitto: Mosquitto,
    unique_topic: str,
    fake_ha: FakeHomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("TEST_HA_TOKEN", TOKEN)
    away = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = tmp_path / "smart-bedroom.db"  # the e2e tests run from tmp_path

    # HA away: a cold room asks for the heater; the call cannot go, it stays in the outbox.
    service = Service(
        secure_config(mosquitto, unique_topic, {"port": mosquitto.port}, away),
        None,
        discovery_settle_s=SETTLE_S,
    )
    home_assistant = service.home_assistant
    assert home_assistant is not None
    async with running(service.run, service.mqtt):
        await publish_all(mosquitto, [(f"{unique_topic}/t", b"10")])
        await wait(service.wait_for(lambda: service.history.undelivered == 1))
        counters = home_assistant.counters
        await wait(home_assistant.wait_for(lambda: counters.retried >= 1))
    assert home_assistant.state is HaState.UNAVAILABLE
    assert fake_ha.calls == []

    # Restarted with HA back: the kept call goes out once, and the outbox is empty after it.
    config = secure_config(mosquitto, unique_topic, {"port": mosquitto.port}, fake_ha.url)
    service = Service(config, None, discovery_settle_s=SETTLE_S)
    home_assistant = service.home_assistant
    assert home_assistant is not None
    async with running(service.run, service.mqtt):
        await wait(home_assistant.wait_for(lambda: home_assistant.state is HaState.AVAILABLE))
        await wait(home_assistant.wait_idle())
        await wait(service.wait_for(lambda: service.history.undelivered == 0))
    assert fake_ha.calls == [("switch", "turn_on", {"entity_id": "switch.heater"})]
    history = await Store.open(store)
    try:
        assert await history.pending_outbox() == []
    finally:
        await history.close()


async def test_a_dashboard_open_to_the_network_with_an_empty_token_is_not_started(
    mosquitto: Mosquitto, unique_topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DASHBOARD_TOKEN", "")
    config = secure_config(mosquitto, unique_topic, {"port": mosquitto.port})
    open_dashboard = config.dashboard.model_copy(
        update={"host": "0.0.0.0", "token": SecretRef(env="TEST_DASHBOARD_TOKEN")}  # noqa: S104
    )
    service = Service(
        config.model_copy(update={"dashboard": open_dashboard}), None, discovery_settle_s=SETTLE_S
    )
    async with running(service.run, service.mqtt):
        assert service.dashboard_url is None
