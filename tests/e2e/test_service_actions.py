"""The service acting on the world: MQTT commands on the real broker, HA calls, live rule reload."""

from __future__ import annotations

import json
import random
from pathlib import Path

import aiohttp
import aiomqtt

from integration import __version__
from integration.adapters.ha_discovery import discovery_messages
from integration.adapters.ha_rest import HomeAssistantActions
from integration.service import Service
from tests.e2e.helpers import (
    HOT_C,
    SETTLE_S,
    fan_room_config,
    next_message,
    publish_all,
    running,
    wait,
)
from tests.fake_ha import TOKEN, FakeHomeAssistant
from tests.mosquitto import Mosquitto

SPASM_RULE = """\
automations:
  - id: announce
    when:
      - trigger: rules_reloaded
    then:
      - action: mqtt_publish
        topic: {prefix}/house/said
        payload: "rules in force for {{room_name}}"
      - action: ha_service
        service: light.turn_on
        data: {{entity_id: light.bedroom_lamp, brightness_pct: 5}}
"""


async def test_a_hot_room_switches_the_fan_over_mqtt(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    service = Service(fan_room_config(mosquitto, unique_topic), None, discovery_settle_s=SETTLE_S)
    mqtt = service.mqtt
    async with (
        running(service.run, mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as fan,
    ):
        await fan.subscribe(f"{unique_topic}/cmnd/fan/POWER", qos=1)
        await publish_all(mosquitto, [(f"{unique_topic}/temp", HOT_C)])
        command = await next_message(fan)
        # The service's own web side tells the same story.
        assert service.dashboard_url is not None
        async with aiohttp.ClientSession(service.dashboard_url) as web:
            async with web.get("healthz") as health:
                assert health.status == 200
                assert (await health.json())["broker"] == "connected"
            async with web.get("metrics") as metrics:
                text = await metrics.text()
    assert command.payload == b"ON"
    assert "smart_bedroom_messages_total 1.0" in text
    assert 'smart_bedroom_actions_total{kind="mqtt_publish"} 1.0' in text


async def test_a_bad_rule_file_keeps_the_old_rules_and_shows_a_problem(
    mosquitto: Mosquitto, unique_topic: str, tmp_path: Path, fake_ha: FakeHomeAssistant
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    good = SPASM_RULE.format(prefix=unique_topic)
    (rules / "automations.yaml").write_text(good, encoding="utf-8")
    home_assistant = HomeAssistantActions(fake_ha.url, TOKEN, rng=random.Random(1))
    service = Service(
        fan_room_config(mosquitto, unique_topic),
        rules,
        home_assistant=home_assistant,
        discovery_settle_s=SETTLE_S,
    )
    before = service.pipeline.rules
    base = f"{unique_topic}/sb"
    mqtt = service.mqtt
    async with (
        running(service.run, mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as ha,
    ):
        await ha.subscribe(f"{base}/rules/#", qos=1)
        await ha.subscribe(f"{unique_topic}/house/said", qos=1)
        discovery = f"{unique_topic}/ha/binary_sensor/smart_bedroom_bedroom/rules_problem/config"
        await ha.subscribe(discovery, qos=1)
        seen: dict[str, bytes] = {}
        while len(seen) < 3:
            message = await next_message(ha)
            seen[str(message.topic)] = message.payload  # type: ignore[assignment]
        assert seen[f"{base}/rules/problem"] == b"OFF"
        discovery = json.loads(next(v for k, v in seen.items() if k.endswith("/config")))
        assert (discovery["device_class"], discovery["state_topic"]) == (
            "problem",
            f"{base}/rules/problem",
        )

        # A typo: the watcher reloads, the file is refused with its line, the old rules stay.
        (rules / "automations.yaml").write_text(
            good.replace("trigger: rules_reloaded", "trigger: rules_reloded"), encoding="utf-8"
        )
        problem = await next_message(ha)
        attributes = await next_message(ha)
        assert (str(problem.topic), problem.payload) == (f"{base}/rules/problem", b"ON")
        (error,) = json.loads(attributes.payload)["errors"]  # type: ignore[arg-type]
        assert error.startswith(f"{rules / 'automations.yaml'}:4: automations[0].when[0].trigger: ")
        assert service.pipeline.rules is before
        assert service.rules.reload_failures == 1

        # Fixed: the new rules take over, announce themselves over MQTT and through HA.
        (rules / "automations.yaml").write_text(good.replace("5}", "10}"), encoding="utf-8")
        said = await next_message(ha)
        assert said.payload == b"rules in force for Bedroom"
        cleared = await next_message(ha)
        assert cleared.payload == b"OFF"
        await wait(home_assistant.wait_idle())
    assert fake_ha.calls == [
        ("light", "turn_on", {"entity_id": "light.bedroom_lamp", "brightness_pct": 10})
    ]


async def test_home_assistant_coming_online_gets_every_entity_and_state_again(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    config = fan_room_config(mosquitto, unique_topic)
    # Production waits a few seconds after HA's birth for it to subscribe; this HA already has.
    service = Service(config, None, discovery_settle_s=SETTLE_S, birth_delay_s=0.0)
    mqtt = service.mqtt
    configs = len(discovery_messages(config, __version__))
    prefix = f"{unique_topic}/ha"
    async with (
        running(service.run, mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as ha,
    ):
        await ha.subscribe(f"{prefix}/+/+/+/config", qos=1)
        await ha.subscribe(f"{unique_topic}/sb/bedroom/state", qos=1)
        first = [await next_message(ha) for _ in range(configs + 1)]
        assert sum(1 for m in first if str(m.topic).endswith("/config")) == configs
        await ha.publish(f"{prefix}/status", b"online", qos=1)
        again = [await next_message(ha) for _ in range(configs + 1)]
    assert {str(m.topic) for m in again} == {str(m.topic) for m in first}
    state = next(m for m in again if str(m.topic).endswith("/state"))
    assert json.loads(state.payload)["comfort_status"] == "blind"  # type: ignore[arg-type]
