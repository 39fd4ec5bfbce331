"""The container files keep the house rules; no Docker engine needed.

This is the Dockerfile lint where hadolint is not installed, and the compose file's contract:
the three services, their healthchecks, the volumes, and no secret written into any file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from integration.config import load_config, resolve_secret

DOCKER = Path(__file__).resolve().parents[1] / "docker"
DASHBOARD_PORT = 8765
# A value that looks like a real secret: a JWT (HA's long-lived tokens are JWTs), or a run of 24+
# token characters mixing letters and digits (what token_urlsafe or a password generator gives).
SECRET_LIKE = re.compile(
    r"eyJ[A-Za-z0-9_-]{10,}"
    r"|(?<![A-Za-z0-9_-])(?=[A-Za-z_-]*[0-9])(?=[0-9_-]*[A-Za-z])[A-Za-z0-9_-]{24,}"
)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in logical.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, args = stripped.partition(" ")
        pairs.append((keyword.upper(), args.strip()))
    return pairs


def instruction_args(keyword: str) -> list[str]:
    return [args for kw, args in dockerfile_instructions() if kw == keyword]


def load_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(DOCKER / "compose.yaml")
    return loaded


def test_every_base_image_is_pinned_by_tag() -> None:
    bases = [args.split()[0] for args in instruction_args("FROM")]
    stages = {args.split()[-1] for args in instruction_args("FROM") if " AS " in args.upper()}
    external = [base for base in bases if base not in stages]
    assert external
    for base in external:
        name, _, tag = base.partition(":")
        assert tag, f"{base} has no tag"
        assert tag != "latest"
        assert name == "python"
        assert tag.startswith("3.11-slim")


def test_runs_as_a_fixed_non_root_user_set_before_the_entrypoint() -> None:
    keywords = [kw for kw, _ in dockerfile_instructions()]
    users = instruction_args("USER")
    assert users
    final_user = users[-1].split(":")[0]
    assert final_user.isdigit(), "a fixed numeric uid, so volume ownership is predictable"
    assert int(final_user) >= 1000
    last_user_at = len(keywords) - 1 - keywords[::-1].index("USER")
    assert last_user_at < keywords.index("ENTRYPOINT")


def test_healthcheck_gets_healthz_on_the_dashboard_port_with_python() -> None:
    (healthcheck,) = instruction_args("HEALTHCHECK")
    command = json.loads(healthcheck.split("CMD", 1)[1])
    assert command[:2] == ["python", "-c"]
    assert f"http://127.0.0.1:{DASHBOARD_PORT}/healthz" in command[2]
    assert "urllib.request" in command[2]
    assert instruction_args("EXPOSE") == [str(DASHBOARD_PORT)]


def test_entrypoint_command_and_volumes() -> None:
    assert json.loads(instruction_args("ENTRYPOINT")[0]) == ["smart-bedroom"]
    assert json.loads(instruction_args("CMD")[-1]) == [
        "run",
        "--config",
        "/config/smart-bedroom.yaml",
        "--rules",
        "/rules",
    ]
    (volumes,) = instruction_args("VOLUME")
    assert set(json.loads(volumes)) == {"/config", "/rules", "/data"}


def test_no_remote_add_no_secrets_in_env_and_pip_keeps_no_cache() -> None:
    assert not any("://" in args for args in instruction_args("ADD"))
    for env in instruction_args("ENV"):
        assert not re.search(r"TOKEN|PASSWORD|SECRET|KEY", env, re.IGNORECASE), env
    pip_installs = [run for run in instruction_args("RUN") if "pip install" in run]
    assert pip_installs
    for run in pip_installs:
        assert "--no-cache-dir" in run


def test_build_context_sends_only_what_pip_install_needs() -> None:
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"
    assert {"!pyproject.toml", "!README.md", "!integration/"} <= set(rules)


def test_compose_runs_the_three_services_with_healthchecks() -> None:
    services = load_compose()["services"]
    assert set(services) == {"mosquitto", "homeassistant", "smart-bedroom"}
    assert services["mosquitto"]["image"] == "eclipse-mosquitto:2"
    assert services["homeassistant"]["image"] == "ghcr.io/home-assistant/home-assistant:stable"
    for name, service in services.items():
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD", name
    assert any("/healthz" in part for part in services["smart-bedroom"]["healthcheck"]["test"])


def test_smart_bedroom_is_built_here_and_waits_for_a_healthy_broker() -> None:
    service = load_compose()["services"]["smart-bedroom"]
    assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert service["depends_on"]["mosquitto"]["condition"] == "service_healthy"
    assert f"{DASHBOARD_PORT}:{DASHBOARD_PORT}" in service["ports"]


def test_volumes_mount_config_rules_dashboard_and_keep_state_in_named_volumes() -> None:
    compose = load_compose()
    services = compose["services"]
    assert set(services["smart-bedroom"]["volumes"]) == {
        "./smart-bedroom.yaml:/config/smart-bedroom.yaml:ro",
        "../rules:/rules:ro",
        "smart-bedroom-data:/data",
    }
    assert (
        "./mosquitto/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro"
        in (services["mosquitto"]["volumes"])
    )
    ha_volumes = services["homeassistant"]["volumes"]
    assert "./homeassistant/configuration.yaml:/config/configuration.yaml:ro" in ha_volumes
    assert (
        "../config/homeassistant/dashboard.yaml:/config/smart-bedroom-dashboard.yaml:ro"
        in ha_volumes
    )
    assert set(compose["volumes"]) == {
        "mosquitto-data",
        "homeassistant-config",
        "smart-bedroom-data",
    }
    for service in services.values():
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), volume


def test_home_assistant_loads_our_dashboard_in_yaml_mode() -> None:
    configuration = YAML(typ="safe").load(DOCKER / "homeassistant" / "configuration.yaml")
    dashboard = configuration["lovelace"]["dashboards"]["smart-bedroom"]
    assert dashboard["mode"] == "yaml"
    assert dashboard["filename"] == "smart-bedroom-dashboard.yaml"


def test_secrets_come_from_the_environment_only() -> None:
    environment = load_compose()["services"]["smart-bedroom"]["environment"]
    assert set(environment) == {
        "SMART_BEDROOM_DASHBOARD_TOKEN",
        "SMART_BEDROOM_MQTT_PASSWORD",
        "SMART_BEDROOM_HA_TOKEN",
    }
    for name, value in environment.items():
        assert re.fullmatch(r"\$\{" + name + r"(:[?-][^}]*)?\}", value), (name, value)


@pytest.mark.parametrize(
    "name",
    [
        "compose.yaml",
        "smart-bedroom.yaml",
        ".env.example",
        "Dockerfile",
        "mosquitto/mosquitto.conf",
        "homeassistant/configuration.yaml",
    ],
)
def test_no_literal_token_or_password_in_shipped_files(name: str) -> None:
    text = (DOCKER / name).read_text(encoding="utf-8")
    assert not SECRET_LIKE.search(text), SECRET_LIKE.search(text)
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and re.search(r"TOKEN|PASSWORD", key) and not line.lstrip().startswith("#"):
            assert value == "", f"{name}: {key} must be left for the user to fill in"


@pytest.mark.parametrize(
    "leak",
    [
        "SMART_BEDROOM_HA_TOKEN: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        "token: Q2xOv9m0a7Hk3yTqW1sZb8RcLd5Ue6Pf",
    ],
)
def test_the_secret_detector_sees_a_pasted_token(leak: str) -> None:
    assert SECRET_LIKE.search(leak)


def test_env_file_stays_out_of_git() -> None:
    assert ".env" in (DOCKER / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_the_compose_config_is_valid_and_wired_for_the_containers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environ = {"SMART_BEDROOM_DASHBOARD_TOKEN": "dashboard-test", "SMART_BEDROOM_HA_TOKEN": "ha"}
    for name, value in {**environ, "SMART_BEDROOM_MQTT_PASSWORD": "mqtt-test"}.items():
        monkeypatch.setenv(name, value)
    config = load_config(DOCKER / "smart-bedroom.yaml")
    assert config.mqtt.host == "mosquitto"
    assert config.homeassistant.url == "http://homeassistant:8123"
    assert config.dashboard.host == "0.0.0.0"  # noqa: S104 - inside the container, token-guarded
    assert config.dashboard.port == DASHBOARD_PORT
    assert config.store.path == Path("/data/smart-bedroom.db")
    assert resolve_secret(config.dashboard.token) == "dashboard-test"
    assert resolve_secret(config.mqtt.password) == "mqtt-test"
    assert resolve_secret(config.homeassistant.token) == "ha"
