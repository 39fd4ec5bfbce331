"""The add-on repository's files keep the rules of Home Assistant's add-on ("app") documentation.

developers.home-assistant.io/docs/apps/configuration, /repository and /presentation: the keys a
config.yaml needs, the slug, arch and map values, the options schema's types, and the images. No
Supervisor or Docker engine needed; the Supervisor rejects a config that breaks these.
"""

from __future__ import annotations

import re
import struct
import tomllib
import zlib
from pathlib import Path
from typing import Any, get_args

import pytest
from ruamel.yaml import YAML

from integration import __version__
from integration.addon import INGRESS_PORT, AddonOptions, OptionsActuator, OptionsSensor
from integration.config import _UNITS, ActuatorConfig
from integration.core.readings import SensorKind
from integration.messages import PayloadFormat

REPO = Path(__file__).resolve().parents[2]
ADDON = REPO / "homeassistant-addon" / "smart_bedroom"

REQUIRED = {"name", "version", "slug", "description", "arch"}
ARCHES = {"aarch64", "amd64"}  # the docs' list; armhf, armv7 and i386 are deprecated
STARTUP = {"initialize", "system", "services", "application", "once"}
MAP_TYPES = {
    "homeassistant_config",
    "addon_config",
    "ssl",
    "addons",
    "backup",
    "share",
    "media",
    "all_addon_configs",
    "data",
}
# The option types the docs list, each optionally ending in `?` (optional).
SCHEMA_TYPE = re.compile(
    r"^(?:str(?:\(\d*,\d*\))?"
    r"|bool"
    r"|int(?:\(-?\d*,-?\d*\))?"
    r"|float(?:\(-?[\d.]*,-?[\d.]*\))?"
    r"|email|url|password|port"
    r"|match\(.+\)"
    r"|list\([^|()]+(?:\|[^|()]+)*\)"
    r"|device(?:\(subsystem=[a-z]+\))?"
    r")\??$"
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(path)
    return loaded


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load(ADDON / "config.yaml")


def test_repository_yaml_is_at_the_root_where_the_supervisor_reads_it() -> None:
    repository = load(REPO / "repository.yaml")
    assert set(repository) == {"name", "url", "maintainer"}
    assert all(isinstance(value, str) and value for value in repository.values())
    assert repository["url"].startswith("https://")


def test_the_only_addon_config_in_the_repository_is_the_addons() -> None:
    """The Supervisor takes every config.{json,yaml,yml} outside dot-folders for an add-on."""
    found = [
        path.relative_to(REPO)
        for suffix in ("json", "yaml", "yml")
        for path in REPO.rglob(f"config.{suffix}")
        if not any(
            part.startswith(".") or part == "rootfs" for part in path.relative_to(REPO).parts
        )
        and "node_modules" not in path.parts
    ]
    assert found == [Path("homeassistant-addon/smart_bedroom/config.yaml")]


def test_config_has_the_required_keys_and_a_uri_friendly_slug(config: dict[str, Any]) -> None:
    assert set(config) >= REQUIRED
    assert re.fullmatch(r"[a-z0-9_]+", config["slug"])
    assert config["slug"] == ADDON.name
    assert all(isinstance(config[key], str) for key in REQUIRED - {"arch"})
    assert config["url"].startswith("https://")


def test_the_addon_version_is_the_packages(config: dict[str, Any]) -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["version"] == __version__ == pyproject["project"]["version"]
    changelog = (ADDON / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {__version__}" in changelog


def test_arch_startup_services_and_ingress_are_documented_values(config: dict[str, Any]) -> None:
    assert config["arch"]
    assert set(config["arch"]) <= ARCHES
    assert config["startup"] == "application"
    assert config["startup"] in STARTUP
    assert config["init"] is False
    assert config["boot"] in {"auto", "manual", "manual_only"}
    assert config["services"] == ["mqtt:need"]
    for service in config["services"]:
        assert re.fullmatch(r"(mqtt|mysql):(provide|want|need)", service)
    assert config["homeassistant_api"] is True
    assert config["ingress"] is True
    assert isinstance(config["ingress_port"], int)
    assert config["ingress_port"] == INGRESS_PORT
    assert "ports" not in config, "ingress only: the dashboard is not opened on the host"
    assert re.fullmatch(r"mdi:[a-z0-9-]+", config["panel_icon"])
    assert isinstance(config["panel_title"], str)
    assert re.fullmatch(
        r"(?:https?|\[PROTO:\w+\]|tcp)://\[HOST\]:(\[PORT:\d+\]|\d+).*", config["watchdog"]
    )
    assert f"[PORT:{INGRESS_PORT}]" in config["watchdog"]


def test_map_entries_are_valid_and_give_a_writable_config_folder(config: dict[str, Any]) -> None:
    entries = []
    for entry in config["map"]:
        if isinstance(entry, dict):
            kind, writable = entry["type"], entry.get("read_only") is False
        else:
            match = re.fullmatch(r"(\w+)(?::(rw|ro))?", entry)
            assert match, entry
            kind, writable = match[1], match[2] == "rw"
        assert kind in MAP_TYPES
        entries.append((kind, writable))
    assert ("addon_config", True) in entries
    assert not {"config", "homeassistant_config"} & {kind for kind, _ in entries}


def schema_leaves(schema: Any, path: str = "") -> list[tuple[str, str]]:
    """(where, type) for every leaf of an options schema."""
    if isinstance(schema, dict):
        return [
            leaf for key, value in schema.items() for leaf in schema_leaves(value, f"{path}.{key}")
        ]
    if isinstance(schema, list):
        assert len(schema) == 1, f"{path}: a list schema has one element"
        return schema_leaves(schema[0], f"{path}[]")
    return [(path, schema)]


def test_every_schema_type_is_one_the_docs_allow(config: dict[str, Any]) -> None:
    leaves = schema_leaves(config["schema"])
    assert leaves
    for where, kind in leaves:
        assert isinstance(kind, str), where
        assert SCHEMA_TYPE.match(kind), f"{where}: {kind!r}"


def depth(schema: Any) -> int:
    if isinstance(schema, dict):
        return 1 + max((depth(value) for value in schema.values()), default=0)
    if isinstance(schema, list):
        return 1 + depth(schema[0])
    return 0


def test_options_nest_two_levels_at_most(config: dict[str, Any]) -> None:
    for key, value in config["schema"].items():
        assert depth(value) <= 2, key


def option_keys(options: Any, schema: Any, path: str = "") -> None:
    """Every option (nested too) has its schema entry."""
    if isinstance(options, dict):
        assert isinstance(schema, dict), path
        for key, value in options.items():
            assert key in schema, f"{path}.{key} has no schema entry"
            option_keys(value, schema[key], f"{path}.{key}")
    elif isinstance(options, list):
        assert isinstance(schema, list), path
        for item in options:
            option_keys(item, schema[0], f"{path}[]")


def test_every_option_has_a_schema_entry_and_optional_ones_no_default(
    config: dict[str, Any],
) -> None:
    option_keys(config["options"], config["schema"])
    for key, kind in config["schema"].items():
        if isinstance(kind, str) and kind.endswith("?"):
            assert key not in config["options"], f"{key}: a default makes an optional required"


def test_the_default_options_start_the_service(config: dict[str, Any]) -> None:
    options = AddonOptions.model_validate(config["options"])
    assert options.rooms
    assert options.sensors


def choices(kind: str) -> set[str]:
    match = re.fullmatch(r"list\((.+)\)\??", kind)
    assert match, kind
    return set(match[1].split("|"))


def test_the_schema_mirrors_the_options_model(config: dict[str, Any]) -> None:
    """A field added to a sensor or actuator in config.py needs its line on the options page."""
    schema = config["schema"]
    assert set(schema) == set(AddonOptions.model_fields)
    assert set(schema["rooms"][0]) == {"id", "name"}
    sensor, actuator = schema["sensors"][0], schema["actuators"][0]
    assert set(sensor) == set(OptionsSensor.model_fields)
    assert set(actuator) == set(OptionsActuator.model_fields)
    assert choices(sensor["kind"]) == {kind.value for kind in SensorKind}
    assert choices(sensor["format"]) == {fmt.value for fmt in PayloadFormat}
    assert choices(sensor["unit"]) == set().union(*_UNITS.values())
    assert choices(actuator["role"]) == set(
        get_args(ActuatorConfig.model_fields["role"].annotation)
    )
    for name, field in OptionsSensor.model_fields.items():
        assert sensor[name].endswith("?") == (not field.is_required()), name
    for name, field in OptionsActuator.model_fields.items():
        assert actuator[name].endswith("?") == (not field.is_required()), name


def test_build_yaml_names_home_assistants_python_base_for_each_arch(
    config: dict[str, Any],
) -> None:
    build = load(ADDON / "build.yaml")
    assert set(build) <= {"build_from", "args", "labels", "squash"}
    assert set(build["build_from"]) == set(config["arch"])
    tags = set()
    for arch, image in build["build_from"].items():
        match = re.fullmatch(rf"ghcr\.io/home-assistant/{arch}-base-python:([\w.-]+)", image)
        assert match, image
        assert match[1] != "latest"
        tags.add(match[1])
    assert len(tags) == 1, "one Python and Alpine on every arch"
    dockerfile = (ADDON / "Dockerfile").read_text(encoding="utf-8")
    default = re.search(r"^ARG BUILD_FROM=(\S+)$", dockerfile, re.MULTILINE)
    assert default, "a default base for Supervisors that pass no BUILD_FROM"
    assert default[1] == f"ghcr.io/home-assistant/base-python:{tags.pop()}"


def test_dockerfile_installs_the_release_of_the_addons_version_and_runs_the_script() -> None:
    dockerfile = (ADDON / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM \$\{BUILD_FROM\}$", dockerfile, re.MULTILINE)
    assert "ARG BUILD_VERSION" in dockerfile
    assert "/archive/refs/tags/v${BUILD_VERSION}.tar.gz" in dockerfile
    assert "pip install --no-cache-dir" in dockerfile
    assert 'CMD ["/run.sh"]' in dockerfile
    run = ADDON / "run.sh"
    assert run.stat().st_mode & 0o111, "run.sh is executable"
    text = run.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/with-contenv bashio\n")
    assert "exec smart-bedroom addon\n" in text


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a whole, valid PNG (every chunk's CRC checked)."""
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    at, kinds, size = len(PNG_SIGNATURE), [], (0, 0)
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        kinds.append(kind)
        at += 12 + length
    assert (kinds[0], kinds[-1]) == (b"IHDR", b"IEND")
    assert b"IDAT" in kinds
    return size


def test_icon_and_logo_are_real_pngs_of_the_recommended_shapes() -> None:
    assert png_size(ADDON / "icon.png") == (128, 128)
    width, height = png_size(ADDON / "logo.png")
    assert 200 <= width <= 300
    assert 80 <= height <= 120


def test_the_store_shows_docs_and_a_changelog() -> None:
    docs = (ADDON / "DOCS.md").read_text(encoding="utf-8")
    for option in ("rooms", "sensors", "actuators", "config_file", "timezone", "log_level"):
        assert f"`{option}`" in docs, option
    assert (ADDON / "CHANGELOG.md").read_text(encoding="utf-8").startswith("# Changelog")
