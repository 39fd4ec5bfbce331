"""What `check` accepts, `run` accepts: secret files, certificates and topics are checked by both,
on real YAML files, and `run` refuses what `check` refuses with the same located line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from integration.config import file_problems, load_config
from integration.service import Service
from tests.cli_runs import check, run
from tests.e2e.helpers import SETTLE_S, running
from tests.mosquitto import Mosquitto


def write_config(tmp_path: Path, **overrides: object) -> tuple[Path, str]:
    """A real config file (one room, a fan over MQTT), with top-level sections overridden."""
    document: dict[str, object] = {
        "timezone": "Europe/London",
        "mqtt": {"host": "127.0.0.1", "base_topic": "sb"},
        "homeassistant": {"enabled": False},
        "dashboard": {"enabled": False},
        "store": {"path": str(tmp_path / "history.db")},
        "rooms": [
            {
                "id": "bedroom",
                "name": "Bedroom",
                "sensors": [{"id": "t", "kind": "temperature", "topic": "z2m/t"}],
                "actuators": [{"id": "fan", "role": "fan", "command_topic": "tasmota/fan/set"}],
            }
        ],
    }
    document.update(overrides)
    text = yaml.safe_dump(document, sort_keys=False)
    path = tmp_path / "smart-bedroom.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def garbage(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    return path


CASES = {
    "missing_password_file": (
        {"mqtt": {"host": "127.0.0.1", "password": {"file": "/nonexistent/mqtt-password"}}},
        "file: /nonexistent/mqtt-password",
        "mqtt.password.file: cannot read secret file /nonexistent/mqtt-password: "
        "No such file or directory",
    ),
    "missing_ca_file": (
        {"mqtt": {"host": "127.0.0.1", "tls": {"enabled": True, "ca_file": "/nonexistent/ca.pem"}}},
        "ca_file:",
        "mqtt.tls.ca_file: CA file /nonexistent/ca.pem: No such file or directory",
    ),
}


@pytest.mark.parametrize(("sections", "needle", "message"), CASES.values(), ids=CASES.keys())
def test_check_and_run_both_refuse_a_file_run_could_not_use_naming_it(
    tmp_path: Path, sections: dict[str, object], needle: str, message: str
) -> None:
    path, text = write_config(tmp_path, **sections)
    expected = f"{path}:{line_of(text, needle)}: {message}"
    assert check(path) == (1, expected + "\n")
    code, err = run(path)
    assert code == 1
    assert err.strip() == expected
    assert "Traceback" not in err


def test_garbage_certificates_are_refused_with_their_file(tmp_path: Path) -> None:
    ca = garbage(tmp_path, "ca.pem")
    path, text = write_config(
        tmp_path, mqtt={"host": "127.0.0.1", "tls": {"enabled": True, "ca_file": str(ca)}}
    )
    code, err = check(path)
    assert code == 1
    assert err.startswith(f"{path}:{line_of(text, 'ca_file:')}: mqtt.tls.ca_file: CA file {ca}: ")
    assert "not a usable PEM certificate" in err

    cert, key = garbage(tmp_path, "client.pem"), garbage(tmp_path, "client.key")
    tls = {"enabled": True, "cert_file": str(cert), "key_file": str(key)}
    path, text = write_config(tmp_path, mqtt={"host": "127.0.0.1", "tls": tls})
    code, err = check(path)
    assert code == 1
    assert err.startswith(
        f"{path}:{line_of(text, 'cert_file:')}: mqtt.tls.cert_file: client certificate {cert} "
        f"and {key}: not a usable PEM certificate or key"
    )


def test_an_empty_or_unreadable_token_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "token"
    empty.write_text("\n")
    path, text = write_config(
        tmp_path,
        homeassistant={"enabled": True, "token": {"file": str(empty)}},
        dashboard={"enabled": True, "token": {"file": str(tmp_path / "missing")}},
    )
    code, err = check(path)
    assert code == 1
    assert err.splitlines() == [
        f"{path}:{line_of(text, f'file: {empty}')}: homeassistant.token.file: "
        f"secret file {empty} is empty",
        f"{path}:{line_of(text, 'missing')}: dashboard.token.file: cannot read secret file "
        f"{tmp_path / 'missing'}: No such file or directory",
    ]


def test_a_secret_from_its_variable_needs_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_MQTT_PASSWORD", "from-the-environment")
    path, _ = write_config(
        tmp_path,
        mqtt={
            "host": "127.0.0.1",
            "password": {"env": "TEST_MQTT_PASSWORD", "file": "/nonexistent"},
        },
    )
    assert check(path)[0] == 0


@pytest.mark.parametrize("verb", ["set/pause", "set/band_low", "state", "summary"])
def test_an_actuator_on_one_of_the_services_own_topics_is_refused(
    tmp_path: Path, verb: str
) -> None:
    topic = f"sb/bedroom/{verb}"
    room = {
        "id": "bedroom",
        "name": "Bedroom",
        "sensors": [{"id": "t", "kind": "temperature", "topic": "z2m/t"}],
        "actuators": [{"id": "fan", "role": "fan", "command_topic": topic}],
    }
    path, text = write_config(tmp_path, rooms=[room])
    code, err = check(path)
    assert code == 1
    assert err.startswith(
        f"{path}:{line_of(text, 'command_topic')}: rooms[0].actuators[0].command_topic: "
        f"'{topic}' is the service's own topic"
    )
    assert run(path)[0] == 1


@pytest.mark.parametrize(
    "topic",
    ["sb/availability", "sb/rules/problem", "homeassistant/status"],
)
def test_an_actuator_on_a_service_wide_topic_is_refused(tmp_path: Path, topic: str) -> None:
    room = {
        "id": "bedroom",
        "name": "Bedroom",
        "sensors": [{"id": "t", "kind": "temperature", "topic": "z2m/t"}],
        "actuators": [{"id": "fan", "role": "fan", "command_topic": topic}],
    }
    path, _ = write_config(tmp_path, rooms=[room])
    code, err = check(path)
    assert code == 1
    assert "is the service's own topic" in err


def test_a_home_assistant_url_with_credentials_is_refused_without_repeating_them(
    tmp_path: Path,
) -> None:
    path, text = write_config(
        tmp_path,
        homeassistant={"enabled": True, "url": "http://admin:hunter2@ha.local:8123"},
    )
    code, err = check(path)
    assert code == 1
    assert err.startswith(
        f"{path}:{line_of(text, 'url:')}: homeassistant.url: credentials in the URL"
    )
    assert "hunter2" not in err


async def test_what_check_accepts_run_connects_with(mosquitto: Mosquitto, tmp_path: Path) -> None:
    tls = {
        "enabled": True,
        "ca_file": str(mosquitto.ca_file),
        "cert_file": str(mosquitto.client_cert_file),
        "key_file": str(mosquitto.client_key_file),
    }
    path, _ = write_config(
        tmp_path, mqtt={"host": mosquitto.host, "port": mosquitto.tls_port, "tls": tls}
    )
    assert check(path)[0] == 0
    service = Service(load_config(path, [file_problems]), None, discovery_settle_s=SETTLE_S)
    async with running(service.run, service.mqtt):
        assert service.health().broker == "connected"
