"""Inside the Home Assistant add-on: the options page and the Supervisor make the service config.

The add-on asks its user for no token and no broker. The Supervisor writes the options page to
`/data/options.json`, sets `SUPERVISOR_TOKEN`, names the MQTT broker at `GET /services/mqtt`
(`services: [mqtt:need]` in config.yaml) and proxies Home Assistant's REST and WebSocket APIs at
`http://supervisor/core` (`homeassistant_api: true`); developers.home-assistant.io/docs/apps/
communication. From those this module builds the same `ServiceConfig` that `smart-bedroom run`
reads from YAML, and the CLI starts the same `Service` with it.

The options describe the rooms inline — flat lists (rooms; sensors and actuators naming their
room), because the options page edits lists of flat items and the Supervisor nests options two
levels deep at most — or `config_file` names a whole smart-bedroom YAML in the add-on's config
folder. Either way the broker, Home Assistant, the history's place and the dashboard's ingress
listener are the add-on's, and replace whatever the file says about them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Self

import aiohttp
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from integration.config import ActuatorConfig, SensorConfig, ServiceConfig, Slug
from integration.errors import ConfigError, Problem, SupervisorError
from integration.yamlfile import (
    Check,
    FieldError,
    dotted,
    line_of,
    plain,
    plain_message,
    read_yaml,
    validate,
)

_LOGGER = logging.getLogger(__name__)

SUPERVISOR_URL = "http://supervisor"
OPTIONS_PATH = Path("/data/options.json")  # `/data` is the add-on's own persistent volume
# The `addon_config` map: the user's folder `addon_configs/<repo>_smart_bedroom`, mounted here
# (developers.home-assistant.io/docs/apps/configuration#app-advanced-options).
ADDON_CONFIG_DIR = Path("/config")
# config.yaml's ingress_port: HA's frontend proxies the sidebar panel to it (a test keeps them equal).
INGRESS_PORT = 8099
# Names of environment variables, not secrets (hence the noqa).
TOKEN_ENV = "SUPERVISOR_TOKEN"  # noqa: S105 - set by the Supervisor in every add-on container
# Where the broker's password waits for the config to refer to it: the config holds no secret,
# only an `env:` reference (the name docker/.env uses too).
MQTT_PASSWORD_ENV = "SMART_BEDROOM_MQTT_PASSWORD"  # noqa: S105
STORE_NAME = "smart-bedroom.db"
RULES_DIR_NAME = "rules"
# The Supervisor answers at once on the add-ons' internal network, or it is not there at all.
SUPERVISOR_TIMEOUT_S = 10.0


class _Options(BaseModel):
    """The options page: unknown keys are errors, as in our YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionsRoom(_Options):
    """A room of the options page; its sensors and actuators name it."""

    id: Slug
    name: str = Field(min_length=1, max_length=60)


class OptionsSensor(SensorConfig):
    """A sensor of the options page: a room's sensor, with the room it is in."""

    room: Slug


class OptionsActuator(ActuatorConfig):
    """An actuator of the options page, with the room it heats or cools."""

    room: Slug


class AddonOptions(_Options):
    """`/data/options.json`: the rooms inline, or `config_file`; config.yaml's `schema` mirrors it."""

    timezone: str | None = None  # default: Home Assistant's, which the Supervisor passes as TZ
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None
    config_file: str | None = None
    rooms: list[OptionsRoom] = []
    sensors: list[OptionsSensor] = []
    actuators: list[OptionsActuator] = []

    @property
    def placed(self) -> tuple[tuple[str, Sequence[OptionsSensor | OptionsActuator]], ...]:
        """The sensors and the actuators under their keys: each names its room."""
        return (("sensors", self.sensors), ("actuators", self.actuators))

    @field_validator("config_file")
    @classmethod
    def _in_the_config_folder(cls, name: str | None) -> str | None:
        if name is None:
            return None
        path = PurePosixPath(name)
        if path.is_absolute() and path.parts[:2] == ("/", ADDON_CONFIG_DIR.name):
            path = PurePosixPath(*path.parts[2:])
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise ValueError(
                "a file in the add-on's config folder (addon_configs/…_smart_bedroom), "
                f"like smart-bedroom.yaml (got {name!r})"
            )
        return str(path)

    @model_validator(mode="after")
    def _rooms_hold_their_sensors(self) -> Self:
        if self.config_file is not None:
            return self
        if not self.rooms:
            raise FieldError("rooms", "add a room (or name a config_file)")
        ids = [room.id for room in self.rooms]
        for what, items in self.placed:
            for index, item in enumerate(items):
                if item.room not in ids:
                    raise FieldError(
                        (what, index, "room"),
                        f"no room {item.room!r} in rooms (rooms: {', '.join(ids)})",
                    )
        with_sensors = {sensor.room for sensor in self.sensors}
        for index, room in enumerate(self.rooms):
            if room.id not in with_sensors:
                raise FieldError(
                    ("rooms", index, "id"),
                    f"room {room.id!r} has no sensor: add one under sensors with room: {room.id}",
                )
        return self


class SupervisorMqtt(BaseModel):
    """The broker `GET /services/mqtt` names (the Mosquitto add-on, usually core-mosquitto)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    ssl: bool = False
    username: str | None = None
    password: str | None = Field(None, repr=False)
    # The add-on providing it: `addon`, called `app` by newer Supervisors.
    provider: str | None = Field(None, validation_alias=AliasChoices("app", "addon"))


@dataclass(frozen=True, slots=True)
class AddonLaunch:
    """What `smart-bedroom addon` starts: the config, its rules, and the secrets it refers to."""

    config: ServiceConfig
    rules_dir: Path
    environ: Mapping[str, str]  # to put in the process environment before the service starts
    source: Path  # the options file, or the config_file, that describes the rooms
    broker: SupervisorMqtt
    log_level: str | None


async def addon_launch(
    options_path: Path = OPTIONS_PATH,
    supervisor: str = SUPERVISOR_URL,
    *,
    environ: Mapping[str, str],
    addon_config: Path = ADDON_CONFIG_DIR,
    checks: Iterable[Check[ServiceConfig]] = (),
    ingress_port: int = INGRESS_PORT,
) -> AddonLaunch:
    """The service config of the add-on, from its options and what the Supervisor says.

    Raises ConfigError (options or config_file, located, `checks` included) or SupervisorError.
    """
    options = read_options(options_path)
    token = environ.get(TOKEN_ENV)
    if not token:
        raise SupervisorError(
            f"{TOKEN_ENV} is not set: `smart-bedroom addon` runs inside the Home Assistant "
            "add-on, where the Supervisor sets it (elsewhere, use `smart-bedroom run`)"
        )
    broker = await supervisor_mqtt(supervisor, token)
    given = {MQTT_PASSWORD_ENV: broker.password} if broker.password else {}
    ours = addon_sections(broker, supervisor, options_path.parent, ingress_port)
    host_zone = environ.get("TZ") or None  # Home Assistant's, passed on by the Supervisor
    if options.config_file is not None:
        source = addon_config / options.config_file
        config = _from_config_file(source, ours, options.timezone, host_zone, checks)
    else:
        source = options_path
        config = _from_options(options, source, ours, options.timezone or host_zone, checks)
    rules_dir = addon_config / RULES_DIR_NAME
    try:
        rules_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            [Problem(rules_dir, None, "", f"cannot create: {err.strerror}")]
        ) from None
    return AddonLaunch(config, rules_dir, given, source, broker, options.log_level)


def read_options(path: Path) -> AddonOptions:
    """The add-on's options, every problem located (`/data/options.json: sensors[1].topic: …`)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else str(err)
        raise ConfigError(
            [Problem(path, None, "", f"cannot read: {reason} (the Supervisor writes it)")]
        ) from None
    except json.JSONDecodeError as err:
        raise ConfigError([Problem(path, err.lineno, "", f"not JSON: {err.msg}")]) from None
    if not isinstance(raw, dict):
        raise ConfigError([Problem(path, None, "", "the options are a JSON object")])
    return validate(AddonOptions, _set_only(raw), path)


def _set_only(value: Any) -> Any:
    """The options without the unset ones: an optional field the page left empty is absent."""
    if isinstance(value, dict):
        return {k: _set_only(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_set_only(item) for item in value]
    return value


async def supervisor_mqtt(supervisor: str, token: str) -> SupervisorMqtt:
    """The MQTT broker the Supervisor provides, or SupervisorError saying why there is none."""
    url = supervisor.rstrip("/") + "/services/mqtt"
    timeout = aiohttp.ClientTimeout(total=SUPERVISOR_TIMEOUT_S)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers={"Authorization": f"Bearer {token}"}) as reply,
        ):
            status = reply.status
            body = await reply.read()
    except TimeoutError:
        raise SupervisorError(
            f"{url}: the Supervisor did not answer in {SUPERVISOR_TIMEOUT_S:.0f} s"
        ) from None
    except aiohttp.ClientError as err:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise SupervisorError(f"{url}: cannot reach the Supervisor ({reason})") from None
    answer = _json_object(body)
    said = str(answer.get("message") or "").strip()
    if status in {401, 403}:
        raise SupervisorError(
            f"{url}: the Supervisor refused the add-on's {TOKEN_ENV} (HTTP {status}"
            + (f": {said}" if said else "")
            + "); restart the add-on"
        )
    if status != 200 or answer.get("result") != "ok":
        if status == 400:  # the Supervisor's "Service not enabled": no add-on provides MQTT
            raise SupervisorError(
                f"{url}: no MQTT broker is provided ({said or 'HTTP 400'}); install and start "
                "the Mosquitto broker add-on, then start this one again"
            )
        raise SupervisorError(f"{url}: the Supervisor answered HTTP {status} {said}".rstrip())
    try:
        return SupervisorMqtt.model_validate(answer.get("data"))
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        raise SupervisorError(
            f"{url}: no usable broker in the answer: {dotted(first['loc'])}: {first['msg']}"
        ) from None


def _json_object(body: bytes) -> dict[str, Any]:
    """The Supervisor's JSON answer, or an empty one (a 401 from its middleware is plain text)."""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return answer if isinstance(answer, dict) else {}


def addon_sections(
    broker: SupervisorMqtt, supervisor: str, data_dir: Path, port: int
) -> dict[str, dict[str, Any]]:
    """The config the add-on decides: the Supervisor's broker and HA, `/data`, the ingress port."""
    password = {"env": MQTT_PASSWORD_ENV} if broker.password else None
    return {
        "mqtt": {
            "host": broker.host,
            "port": broker.port,
            "username": broker.username,
            "password": password,
            "tls": {"enabled": broker.ssl},
        },
        "homeassistant": {"url": supervisor.rstrip("/") + "/core", "token": {"env": TOKEN_ENV}},
        "store": {"path": str(data_dir / STORE_NAME)},
        # HA's ingress listener: every interface, answering the Supervisor's proxy alone, which
        # has authenticated the user (no token). Its port is on the add-ons' internal network
        # only: config.yaml opens no `ports:` on the host.
        "dashboard": {"enabled": True, "ingress_port": port},
    }


Relocate = Callable[[tuple[str | int, ...]], tuple[str | int, ...]]


def _from_options(
    options: AddonOptions,
    path: Path,
    ours: Mapping[str, Any],
    zone: str | None,
    checks: Iterable[Check[ServiceConfig]],
) -> ServiceConfig:
    """The rooms of the options page grouped as the config nests them; problems located there."""
    where: dict[tuple[str | int, ...], tuple[str | int, ...]] = {}
    rooms = []
    for r, room in enumerate(options.rooms):
        parts: dict[str, list[dict[str, Any]]] = {"sensors": [], "actuators": []}
        for what, items in options.placed:
            for index, item in enumerate(items):
                if item.room == room.id:
                    where["rooms", r, what, len(parts[what])] = (what, index)
                    parts[what].append(
                        item.model_dump(mode="json", exclude={"room"}, exclude_unset=True)
                    )
        rooms.append({"id": room.id, "name": room.name, **parts})

    def relocate(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
        head = where.get(loc[:4])
        return loc if head is None else head + loc[4:]

    document = {**ours, "rooms": rooms} | ({"timezone": zone} if zone else {})
    return _validated(document, path, None, relocate, checks)


def _from_config_file(
    path: Path,
    ours: Mapping[str, Any],
    zone: str | None,
    host_zone: str | None,
    checks: Iterable[Check[ServiceConfig]],
) -> ServiceConfig:
    """A whole smart-bedroom YAML, with the add-on's sections merged over it; lines kept.

    The timezone: the options page's, else the file's, else Home Assistant's.
    """
    marked = read_yaml(path)  # keeps the lines: never changed, so they stay right
    if marked is None:
        marked = {}
    if not isinstance(marked, dict):
        raise ConfigError([Problem(path, 1, "", "a config file is a mapping (timezone, rooms, …)")])
    data: dict[str, Any] = plain(marked)
    for section, values in ours.items():
        node = data.get(section)
        if not isinstance(node, dict):
            data[section] = node = {}
        for key, value in values.items():
            if key == "tls" and isinstance(node.get(key), dict):
                node[key].update(value)  # the broker says whether; the file may name a CA
            elif value is None:
                node.pop(key, None)
            else:
                node[key] = value
    if zone is not None:
        data["timezone"] = zone
    elif "timezone" not in data and host_zone:
        data["timezone"] = host_zone
    return _validated(data, path, marked, lambda loc: loc, checks)


def _validated(
    document: Mapping[str, Any],
    path: Path,
    marked: Any,
    relocate: Relocate,
    checks: Iterable[Check[ServiceConfig]],
) -> ServiceConfig:
    """The config, or ConfigError with each problem where the user wrote it (`marked` has lines)."""

    def located(loc: tuple[str | int, ...], message: str) -> Problem:
        where = relocate(loc)
        return Problem(path, line_of(marked, where), dotted(where), message)

    try:
        config = ServiceConfig.model_validate(plain(document))
    except ValidationError as err:
        problems = []
        for detail in err.errors(include_url=False):
            loc = tuple(detail["loc"])
            cause = detail.get("ctx", {}).get("error")
            if isinstance(cause, FieldError):
                loc += cause.loc
            problems.append(located(loc, plain_message(detail)))
        raise ConfigError(problems) from None
    found = [located(tuple(loc), message) for check in checks for loc, message in check(config)]
    if found:
        raise ConfigError(found)
    return config


def announce(launch: AddonLaunch) -> None:
    """What the add-on found, a line each, before the service's own lines."""
    config, broker = launch.config, launch.broker
    sensors = sum(len(room.sensors) for room in config.rooms)
    actuators = sum(len(room.actuators) for room in config.rooms)
    _LOGGER.info(
        "add-on: %d room(s), %d sensor(s), %d actuator(s) from %s",
        len(config.rooms),
        sensors,
        actuators,
        launch.source,
    )
    _LOGGER.info(
        "add-on: MQTT broker %s:%d%s, named by the Supervisor (provided by %s)",
        broker.host,
        broker.port,
        " over TLS" if broker.ssl else "",
        broker.provider or "an add-on",
    )
    _LOGGER.info("add-on: Home Assistant through the Supervisor at %s", config.homeassistant.url)
    files = len([*launch.rules_dir.glob("*.yaml"), *launch.rules_dir.glob("*.yml")])
    _LOGGER.info(
        "add-on: rules from %s (%s)",
        launch.rules_dir,
        f"{files} file(s)" if files else "none there yet: the built-in rules",
    )
    _LOGGER.info(
        "add-on: history in %s; dashboard on port %s for Home Assistant's sidebar",
        config.store.path,
        config.dashboard.ingress_port,
    )
