"""The add-on's start: options + the Supervisor's broker → the service config → the service.

Real parts: a fake Supervisor (aiohttp, the services API's shapes), the private Mosquitto, the
real CLI. Each way the start can fail is one located line and exit code 1, no traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

import integration.cli
from integration.adapters.broker import free_port
from integration.addon import (
    INGRESS_PORT,
    MQTT_PASSWORD_ENV,
    SUPERVISOR_URL,
    TOKEN_ENV,
    AddonLaunch,
    SupervisorMqtt,
    addon_launch,
    addon_sections,
    announce,
)
from integration.cli import cli
from integration.config import HomeAssistantConfig, ServiceConfig
from integration.errors import ConfigError, SupervisorError
from integration.service import Service
from tests.addon.fake_supervisor import TOKEN, FakeSupervisor
from tests.e2e.helpers import SETTLE_S, next_message, running
from tests.mosquitto import Mosquitto

ADDON = Path(__file__).resolve().parents[2] / "homeassistant-addon" / "smart_bedroom"


def shipped_options() -> dict[str, Any]:
    """The options a fresh install starts with: config.yaml's defaults."""
    options: dict[str, Any] = YAML(typ="safe").load(ADDON / "config.yaml")["options"]
    return options


def write_options(data_dir: Path, options: dict[str, Any]) -> Path:
    """/data/options.json, as the Supervisor writes it."""
    path = data_dir / "options.json"
    path.write_text(json.dumps(options), encoding="utf-8")
    return path


async def launch(
    options: Path, supervisor: FakeSupervisor, addon_config: Path, **environ: str
) -> AddonLaunch:
    env = {TOKEN_ENV: TOKEN, "TZ": "Europe/Berlin"} | environ
    return await addon_launch(
        options, supervisor.url, environ=env, addon_config=addon_config, ingress_port=0
    )


async def test_options_and_the_supervisors_broker_make_the_service_config(
    supervisor: FakeSupervisor, data_dir: Path, addon_config: Path
) -> None:
    options = write_options(data_dir, shipped_options())
    started = await addon_launch(
        options,
        supervisor.url,
        environ={TOKEN_ENV: TOKEN, "TZ": "Europe/Berlin"},
        addon_config=addon_config,
    )
    config = started.config
    assert supervisor.asked == ["/services/mqtt"]
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username) == (
        "core-mosquitto",
        1883,
        "addons",
    )
    assert config.mqtt.password is not None
    assert config.mqtt.password.env == MQTT_PASSWORD_ENV
    assert started.environ[MQTT_PASSWORD_ENV] == "from-the-supervisor"
    assert not config.mqtt.tls.enabled
    assert config.homeassistant.url == supervisor.url + "/core"
    assert config.homeassistant.token is not None
    assert config.homeassistant.token.env == TOKEN_ENV
    assert config.store.path == data_dir / "smart-bedroom.db"
    assert config.dashboard.ingress_port == INGRESS_PORT  # HA's ingress alone, no token
    assert config.dashboard.host == "127.0.0.1"  # the direct listener: inside the container only
    assert started.environ == {MQTT_PASSWORD_ENV: "from-the-supervisor"}
    assert started.rules_dir == addon_config / "rules"
    assert started.rules_dir.is_dir()
    assert config.timezone == "Europe/Berlin"  # Home Assistant's, from TZ
    assert [room.id for room in config.rooms] == ["bedroom"]
    assert [s.id for s in config.rooms[0].sensors] == ["room_temperature", "bed_motion"]
    assert started.source == options
    # Nothing secret in the config itself: only where to find it.
    assert "from-the-supervisor" not in config.model_dump_json()


def test_through_the_supervisor_home_assistant_is_its_core_proxy() -> None:
    broker = SupervisorMqtt(host="core-mosquitto", port=1883)
    sections = addon_sections(broker, SUPERVISOR_URL, Path("/data"), INGRESS_PORT)
    ha = HomeAssistantConfig.model_validate(sections["homeassistant"])
    assert ha.url == "http://supervisor/core"
    assert ha.websocket_url == "ws://supervisor/core/websocket"
    assert sections["store"]["path"] == "/data/smart-bedroom.db"
    assert sections["mqtt"]["password"] is None  # the broker gave none: no env reference either


async def test_sensors_and_actuators_land_in_the_room_they_name(
    supervisor: FakeSupervisor, data_dir: Path, addon_config: Path
) -> None:
    options = {
        "timezone": "Europe/London",
        "rooms": [{"id": "main", "name": "Main"}, {"id": "guest", "name": "Guest"}],
        "sensors": [
            {"room": "guest", "id": "t", "kind": "temperature", "topic": "g/t"},
            {"room": "main", "id": "bed", "kind": "motion", "topic": "m/bed", "unit": None},
            {"room": "main", "id": "t", "kind": "temperature", "topic": "m/t", "field": ""},
        ],
        "actuators": [{"room": "main", "id": "fan", "role": "fan", "command_topic": "m/fan"}],
    }
    started = await launch(write_options(data_dir, options), supervisor, addon_config)
    rooms = {room.id: room for room in started.config.rooms}
    assert [s.topic for s in rooms["main"].sensors] == ["m/bed", "m/t"]
    assert [s.topic for s in rooms["guest"].sensors] == ["g/t"]
    assert [a.command_topic for a in rooms["main"].actuators] == ["m/fan"]
    assert rooms["guest"].actuators == []
    assert started.config.timezone == "Europe/London"  # the options page's, over HA's


async def test_a_config_file_gets_the_supervisors_broker_and_home_assistant(
    supervisor: FakeSupervisor, data_dir: Path, addon_config: Path
) -> None:
    (addon_config / "smart-bedroom.yaml").write_text(
        "mqtt:\n"
        "  host: 192.0.2.1\n"
        "  username: me\n"
        "  password: {env: MY_PASSWORD}\n"
        "  base_topic: upstairs\n"
        "  tls: {ca_file: /config/ca.pem}\n"
        "homeassistant: {url: 'http://homeassistant.local:8123', discovery_prefix: ha}\n"
        "store: {path: elsewhere.db, retention_days: 30}\n"
        "rooms:\n"
        "  - id: bedroom\n"
        "    name: Bedroom\n"
        "    sensors: [{id: t, kind: temperature, topic: z/t}]\n",
        encoding="utf-8",
    )
    supervisor.mqtt = supervisor.mqtt or {}
    supervisor.mqtt["ssl"] = True
    options = write_options(data_dir, {**shipped_options(), "config_file": "smart-bedroom.yaml"})
    started = await launch(options, supervisor, addon_config)
    config = started.config
    assert started.source == addon_config / "smart-bedroom.yaml"
    assert (config.mqtt.host, config.mqtt.username) == ("core-mosquitto", "addons")
    assert config.mqtt.password is not None
    assert config.mqtt.password.env == MQTT_PASSWORD_ENV
    assert config.mqtt.base_topic == "upstairs"  # the file's own choices stay
    assert config.mqtt.tls.enabled
    assert config.mqtt.tls.ca_file == Path("/config/ca.pem")
    assert config.homeassistant.url == supervisor.url + "/core"
    assert config.homeassistant.discovery_prefix == "ha"
    assert config.store.path == data_dir / "smart-bedroom.db"
    assert config.store.retention_days == 30
    assert config.timezone == "Europe/Berlin"  # none in the file: Home Assistant's
    assert [room.id for room in config.rooms] == ["bedroom"]  # the options' rooms are unused


async def test_the_addon_connects_to_the_broker_the_supervisor_names_and_says_online(
    supervisor: FakeSupervisor,
    data_dir: Path,
    addon_config: Path,
    mosquitto: Mosquitto,
    unique_topic: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The password listener: only the Supervisor's credentials get the service in.
    supervisor.mqtt = {
        "addon": "core_mosquitto",
        "host": mosquitto.host,
        "port": mosquitto.password_port,
        "ssl": False,
        "protocol": "3.1.1",
        "username": mosquitto.username,
        "password": mosquitto.password,
    }
    (addon_config / "sb.yaml").write_text(
        f"mqtt: {{base_topic: {unique_topic}/sb, client_id: sb_{unique_topic[-12:]}}}\n"
        f"homeassistant: {{discovery_prefix: {unique_topic}/ha}}\n"
        "rooms:\n"
        "  - id: bedroom\n"
        "    name: Bedroom\n"
        f"    sensors: [{{id: t, kind: temperature, topic: {unique_topic}/t}}]\n",
        encoding="utf-8",
    )
    options = write_options(data_dir, {**shipped_options(), "config_file": "sb.yaml"})
    started = await launch(options, supervisor, addon_config)
    for name, value in started.environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    # The direct listener on any free port: 8765 may be taken on a test machine.
    dashboard = started.config.dashboard.model_copy(update={"port": 0})
    config = started.config.model_copy(update={"dashboard": dashboard})
    service = Service(config, started.rules_dir, discovery_settle_s=SETTLE_S)
    async with (
        running(service.run, service.mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as watcher,
    ):
        await watcher.subscribe(started.config.availability_topic)
        message = await next_message(watcher)
    assert (message.payload, message.retain) == (b"online", True)
    assert (data_dir / "smart-bedroom.db").exists()


def test_announce_says_what_the_addon_found(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = ServiceConfig.model_validate(
        {
            "homeassistant": {"url": "http://supervisor/core"},
            "store": {"path": "/data/smart-bedroom.db"},
            "dashboard": {"ingress_port": 8099},
            "rooms": [
                {
                    "id": "bedroom",
                    "name": "Bedroom",
                    "sensors": [{"id": "t", "kind": "temperature", "topic": "z/t"}],
                }
            ],
        }
    )
    broker = SupervisorMqtt.model_validate(
        {"host": "core-mosquitto", "port": 1883, "addon": "core_mosquitto"}
    )
    started = AddonLaunch(config, tmp_path, {}, Path("/data/options.json"), broker, None)
    with caplog.at_level(logging.INFO, logger="integration.addon"):
        announce(started)
    assert caplog.messages == [
        "add-on: 1 room(s), 1 sensor(s), 0 actuator(s) from /data/options.json",
        "add-on: MQTT broker core-mosquitto:1883, named by the Supervisor (provided by core_mosquitto)",
        "add-on: Home Assistant through the Supervisor at http://supervisor/core",
        f"add-on: rules from {tmp_path} (none there yet: the built-in rules)",
        "add-on: history in /data/smart-bedroom.db; dashboard on port 8099 for Home Assistant's sidebar",
    ]


# --- the command, and each way its start can fail ---------------------------------------------


async def invoke(*args: str, env: dict[str, str | None]) -> Result:
    """`smart-bedroom …` through click, in a thread: the fake Supervisor answers on this loop."""
    return await asyncio.to_thread(
        CliRunner().invoke, cli, list(args), env=env, catch_exceptions=False
    )


async def addon_command(
    supervisor: FakeSupervisor | str,
    options: Path,
    addon_config: Path,
    token: str | None = TOKEN,
) -> Result:
    url = supervisor if isinstance(supervisor, str) else supervisor.url
    return await invoke(
        "addon",
        "--options",
        str(options),
        "--supervisor",
        url,
        "--addon-config",
        str(addon_config),
        env={TOKEN_ENV: token, "TZ": "Europe/London"},
    )


def one_line_failure(result: Result) -> str:
    """The command's only line on stderr, after checking it failed as the add-on log shows."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


async def test_addon_command_hands_its_launch_to_the_service_as_run_does(
    supervisor: FakeSupervisor,
    data_dir: Path,
    addon_config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[tuple[ServiceConfig, Path | None]] = []
    monkeypatch.setattr(
        integration.cli, "_serve", lambda cfg, rules, _clock: served.append((cfg, rules))
    )
    monkeypatch.setenv(MQTT_PASSWORD_ENV, "")  # the command sets it: restored after the test
    options = write_options(data_dir, shipped_options())
    result = await addon_command(supervisor, options, addon_config)
    assert result.exit_code == 0, result.output
    ((config, rules),) = served
    assert config.mqtt.host == "core-mosquitto"
    assert rules == addon_config / "rules"


async def test_options_that_cannot_be_read_say_so(
    supervisor: FakeSupervisor, data_dir: Path, addon_config: Path
) -> None:
    missing = data_dir / "options.json"
    line = one_line_failure(await addon_command(supervisor, missing, addon_config))
    assert line == f"{missing}: cannot read: No such file or directory (the Supervisor writes it)"
    missing.write_text("{", encoding="utf-8")
    line = one_line_failure(await addon_command(supervisor, missing, addon_config))
    assert line.startswith(f"{missing}:1: not JSON: ")


def with_sensor(**fields: Any) -> dict[str, Any]:
    options = shipped_options()
    options["sensors"] = [*options["sensors"], {"room": "bedroom", "id": "x", **fields}]
    return options


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param(
            with_sensor(kind="temperature", topic="a/#/b"),
            "sensors[2].topic: '#' must be a whole level and the last one",
            id="topic",
        ),
        pytest.param(
            with_sensor(kind="temperature"),
            "sensors[2].topic: an MQTT sensor needs its topic",
            id="no-topic",
        ),
        pytest.param(
            {
                **with_sensor(kind="motion", topic="b"),
                "sensors": [{"room": "attic", "id": "x", "kind": "motion", "topic": "b"}],
            },
            "sensors[0].room: no room 'attic' in rooms (rooms: bedroom)",
            id="unknown-room",
        ),
        pytest.param(
            {
                **shipped_options(),
                "rooms": [{"id": "bedroom", "name": "Bedroom"}, {"id": "guest", "name": "Guest"}],
            },
            "rooms[1].id: room 'guest' has no sensor: add one under sensors with room: guest",
            id="room-without-sensor",
        ),
        pytest.param(
            with_sensor(kind="temperature", topic="a", id="room_temperature"),
            "sensors[2].id: sensor id 'room_temperature' is used twice in room 'bedroom'",
            id="twice-in-a-room",
        ),
        pytest.param(
            {**shipped_options(), "timezone": "Mars/Olympus"},
            "timezone: unknown timezone 'Mars/Olympus' (use an IANA name like Europe/London)",
            id="timezone",
        ),
        pytest.param(
            {
                **shipped_options(),
                "actuators": [
                    {
                        "room": "bedroom",
                        "id": "fan",
                        "role": "fan",
                        "command_topic": "smart-bedroom/availability",
                    }
                ],
            },
            "actuators[0].command_topic: 'smart-bedroom/availability' is the service's own topic "
            "(the service's availability); give the device's command topic",
            id="own-topic",
        ),
        pytest.param(
            {**shipped_options(), "colour": "blue"},
            "colour: unknown key (check the spelling; see the commented example)",
            id="unknown-key",
        ),
        pytest.param(
            {**shipped_options(), "config_file": "../secrets.yaml"},
            "config_file: a file in the add-on's config folder (addon_configs/…_smart_bedroom), "
            "like smart-bedroom.yaml (got '../secrets.yaml')",
            id="config-file-outside",
        ),
    ],
)
async def test_options_that_fail_validation_are_located_in_the_options_file(
    supervisor: FakeSupervisor,
    data_dir: Path,
    addon_config: Path,
    options: dict[str, Any],
    expected: str,
) -> None:
    path = write_options(data_dir, options)
    line = one_line_failure(await addon_command(supervisor, path, addon_config))
    assert line == f"{path}: {expected}"


async def test_without_a_supervisor_token_it_says_it_runs_in_the_addon(
    supervisor: FakeSupervisor, data_dir: Path, addon_config: Path
) -> None:
    options = write_options(data_dir, shipped_options())
    line = one_line_failure(await addon_command(supervisor, options, addon_config, token=None))
    assert line == (
        "SUPERVISOR_TOKEN is not set: `smart-bedroom addon` runs inside the Home Assistant "
        "add-on, where the Supervisor sets it (elsewhere, use `smart-bedroom run`)"
    )
    assert supervisor.asked == []


async def test_a_refused_token_is_named(
    supervisor: FakeSupervisor, data_dir: Path, addon_config: Path
) -> None:
    options = write_options(data_dir, shipped_options())
    line = one_line_failure(await addon_command(supervisor, options, addon_config, token="stale"))  # noqa: S106 - a wrong token on purpose
    assert line == (
        f"{supervisor.url}/services/mqtt: the Supervisor refused the add-on's SUPERVISOR_TOKEN "
        "(HTTP 403); restart the add-on"
    )


async def test_no_mqtt_broker_provided_says_to_install_mosquitto(
    supervisor: FakeSupervisor, data_dir: Path, addon_config: Path
) -> None:
    supervisor.mqtt = None
    options = write_options(data_dir, shipped_options())
    line = one_line_failure(await addon_command(supervisor, options, addon_config))
    assert line == (
        f"{supervisor.url}/services/mqtt: no MQTT broker is provided (Service not enabled); "
        "install and start the Mosquitto broker add-on, then start this one again"
    )


async def test_an_unreachable_supervisor_is_one_line(data_dir: Path, addon_config: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    options = write_options(data_dir, shipped_options())
    line = one_line_failure(await addon_command(nobody, options, addon_config))
    assert line.startswith(f"{nobody}/services/mqtt: cannot reach the Supervisor (")


async def test_a_broker_answer_without_a_port_is_refused(
    supervisor: FakeSupervisor, data_dir: Path, addon_config: Path
) -> None:
    supervisor.mqtt = {"host": "core-mosquitto"}
    options = write_options(data_dir, shipped_options())
    line = one_line_failure(await addon_command(supervisor, options, addon_config))
    assert (
        line
        == f"{supervisor.url}/services/mqtt: no usable broker in the answer: port: Field required"
    )


async def test_a_config_file_problem_is_located_at_its_line(
    supervisor: FakeSupervisor, data_dir: Path, addon_config: Path
) -> None:
    options = write_options(data_dir, {**shipped_options(), "config_file": "/config/sb.yaml"})
    config_file = addon_config / "sb.yaml"
    line = one_line_failure(await addon_command(supervisor, options, addon_config))
    assert (
        line == f"{config_file}: cannot read: [Errno 2] No such file or directory: '{config_file}'"
    )
    config_file.write_text(
        "rooms:\n"
        "  - id: bedroom\n"
        "    name: Bedroom\n"
        "    sensors:\n"
        "      - {id: t, kind: temperature, topic: z/t, unit: K}\n",
        encoding="utf-8",
    )
    line = one_line_failure(await addon_command(supervisor, options, addon_config))
    assert line == (
        f"{config_file}:5: rooms[0].sensors[0].unit: unit 'K' does not fit a temperature sensor "
        "(use: C, F)"
    )


async def test_a_bad_rule_file_is_located_before_the_service_starts(
    supervisor: FakeSupervisor, data_dir: Path, addon_config: Path
) -> None:
    (addon_config / "rules").mkdir()
    (addon_config / "rules" / "comfort.yaml").write_text("comfrot: {}\n", encoding="utf-8")
    options = write_options(data_dir, shipped_options())
    line = one_line_failure(await addon_command(supervisor, options, addon_config))
    assert line.startswith(f"{addon_config / 'rules' / 'comfort.yaml'}:1: comfrot: unknown section")


async def test_errors_are_raised_as_values_the_cli_can_print(
    supervisor: FakeSupervisor, data_dir: Path, addon_config: Path
) -> None:
    with pytest.raises(ConfigError):
        await launch(data_dir / "none.json", supervisor, addon_config)
    supervisor.mqtt = None
    with pytest.raises(SupervisorError):
        await launch(write_options(data_dir, shipped_options()), supervisor, addon_config)
