"""The service config (one YAML file), validated once with pydantic v2.

Secrets never live in the file: a password or token is read from an environment variable or a
secrets file named in it, by `resolve_secrets`, after validation (validators do no I/O).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Address
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    ValidationInfo,
    field_validator,
    model_validator,
)

from integration.core.readings import SensorKind
from integration.errors import ConfigError, Problem
from integration.messages import PayloadFormat, SensorSpec, ha_entity_topic
from integration.yamlfile import Check, FieldError, load_model

# Ids become parts of MQTT topics, HA unique_ids and URLs: a strict slug keeps them from
# injecting topic levels, wildcards or markup.
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]{0,47}$")]

_UNITS: dict[SensorKind, frozenset[str]] = {
    SensorKind.TEMPERATURE: frozenset({"C", "F"}),
    SensorKind.HUMIDITY: frozenset({"%"}),
    SensorKind.MOTION: frozenset({"g", "m/s2"}),
    SensorKind.VIBRATION: frozenset(),
    # the unit of a target distance, with `max_distance_m` (ESPHome LD2410: cm; Z2M FP1E: m)
    SensorKind.OCCUPANCY: frozenset({"cm", "m"}),
    SensorKind.MOVEMENT_ENERGY: frozenset({"%"}),
    SensorKind.CONTACT: frozenset(),
}


class _Strict(BaseModel):
    """Our own YAML: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """Where a secret comes from: an environment variable or a file (e.g. a Docker secret)."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.env is None and self.file is None:
            raise ValueError("give `env` (variable name) or `file` (path), not the secret itself")
        return self


class TlsConfig(_Strict):
    """MQTT over TLS: CA to trust, and a client certificate if the broker asks for one."""

    enabled: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = Field(False, description="skip hostname checks; for self-signed test brokers")


class MqttConfig(_Strict):
    """The broker we read sensors from and publish to."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    client_id: Slug = "smart_bedroom"
    username: str | None = None
    password: SecretRef | None = None
    tls: TlsConfig = TlsConfig()
    keepalive_s: int = Field(30, ge=5, le=3600)
    base_topic: str = Field("smart-bedroom", pattern=r"^[A-Za-z0-9_\-/]+$")


class HomeAssistantConfig(_Strict):
    """Home Assistant's REST API and MQTT discovery prefix."""

    enabled: bool = True
    url: str = Field("http://homeassistant.local:8123", pattern=r"^https?://")
    token: SecretRef | None = SecretRef(env="SMART_BEDROOM_HA_TOKEN")
    discovery_prefix: str = Field("homeassistant", pattern=r"^[A-Za-z0-9_\-/]+$")

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, url: str) -> str:
        parts = urlsplit(url)
        if "@" in parts.netloc:  # user:password@host: a secret in the file, sent with each call
            raise ValueError(
                "credentials in the URL (user:password@host) are refused: HA takes a "
                "long-lived token, from `token` (env: or file:)"
            )
        if not parts.hostname:
            raise ValueError("the URL names no host (like http://homeassistant.local:8123)")
        return url

    @property
    def websocket_url(self) -> str:
        """HA's WebSocket API: `<url>/api/websocket`, or `/core/websocket` via the Supervisor."""
        return websocket_url(self.url)


def websocket_url(url: str) -> str:
    """The WebSocket API of the HA at REST `url` (http→ws, https→wss).

    Through the Supervisor (an add-on's `http://supervisor/core`) it is `/core/websocket`;
    HA itself serves it at `/api/websocket`.
    """
    base = url.rstrip("/")
    socket = "ws" + base.removeprefix("http")
    return socket + ("/websocket" if urlsplit(base).hostname == "supervisor" else "/api/websocket")


class SensorConfig(_Strict):
    """One sensor: what it measures, where it publishes, and in which vendor shape."""

    id: Slug
    kind: SensorKind
    source: Literal["mqtt", "homeassistant"] = Field(
        "mqtt",
        description="`homeassistant`: an HA entity's state (ZHA, Matter, Bluetooth, cloud "
        "sensors), read over HA's WebSocket API, instead of an MQTT topic",
    )
    topic: str | None = None  # MQTT sensors: the topic (or filter) they publish on
    entity_id: str | None = Field(None, pattern=r"^[a-z_]+\.[a-z0-9_]+$")
    format: PayloadFormat = PayloadFormat.AUTO
    field: str | None = Field(None, description="dotted JSON path to the value")
    unit: str | None = None
    rate_hz: float | None = Field(None, ge=1, le=200)
    side: Literal["person", "partner"] = Field(
        "person",
        description="motion sensors only: `partner` is an accelerometer under the partner's side, "
        "used to tell their movements apart, never reported as the person's",
    )
    max_distance_m: float | None = Field(
        None,
        gt=0,
        le=10,
        description="occupancy sensors only: an mmWave sensor's target distance (LD2410 "
        "`detection_distance`, FP1E `target_distance`) decides: in bed when a target is this "
        "close or closer, out of it when farther or gone",
    )

    @field_validator("topic")
    @classmethod
    def _valid_filter(cls, topic: str | None) -> str | None:
        problem = None if topic is None else topic_filter_problem(topic)
        if problem:
            raise ValueError(problem)
        return topic

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.source == "mqtt":
            if self.topic is None:
                raise FieldError("topic", "an MQTT sensor needs its topic")
            if self.entity_id is not None:
                raise FieldError("entity_id", "entity_id is for `source: homeassistant` sensors")
            return self
        if self.entity_id is None:
            raise FieldError("entity_id", "a Home Assistant sensor needs its entity_id")
        if self.topic is not None:
            raise FieldError(
                "topic", "a Home Assistant sensor has no topic: it is read by entity_id"
            )
        if self.kind is SensorKind.MOTION:
            raise FieldError(
                "source",
                "raw accelerometer samples do not pass through HA entities; use `kind: "
                "vibration` for an HA vibration or motion binary sensor",
            )
        return self

    @property
    def source_topic(self) -> str:
        """The topic its messages carry: the MQTT topic, or the HA entity's own pseudo-topic."""
        if self.source == "homeassistant" and self.entity_id is not None:
            return ha_entity_topic(self.entity_id)
        return self.topic or ""

    @property
    def payload_format(self) -> PayloadFormat:
        """How its payloads read: an HA entity's are HA's state objects."""
        return PayloadFormat.HOMEASSISTANT if self.source == "homeassistant" else self.format

    # Field validators, not one for the model: each problem lands on its own line (`unit:`),
    # and is reported even when another field of the sensor is wrong too. `kind` comes first.
    @field_validator("unit")
    @classmethod
    def _unit_fits_kind(cls, unit: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if unit is not None and kind is not None and unit not in _UNITS[kind]:
            choices = ", ".join(sorted(_UNITS[kind])) or "none"
            raise ValueError(f"unit {unit!r} does not fit a {kind} sensor (use: {choices})")
        return unit

    @field_validator("side")
    @classmethod
    def _partner_is_motion(cls, side: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if side == "partner" and kind is not None and kind is not SensorKind.MOTION:
            raise ValueError("partner is for motion sensors only (a partner-side accelerometer)")
        return side

    @field_validator("max_distance_m")
    @classmethod
    def _distance_is_occupancy(cls, limit: float | None, info: ValidationInfo) -> float | None:
        kind = info.data.get("kind")
        if limit is not None and kind is not None and kind is not SensorKind.OCCUPANCY:
            raise ValueError("max_distance_m is for occupancy sensors only (an mmWave distance)")
        return limit


class ActuatorConfig(_Strict):
    """A thing the service may switch: an HA entity, or an MQTT command topic."""

    id: Slug
    role: Literal["climate", "heater", "cooler", "fan"]
    entity_id: str | None = Field(
        None, pattern=r"^(climate|fan|switch|input_boolean|light)\.[a-z0-9_]+$"
    )
    command_topic: str | None = None
    payload_on: str = "ON"
    payload_off: str = "OFF"

    @field_validator("command_topic")
    @classmethod
    def _no_wildcards(cls, topic: str | None) -> str | None:
        if topic is not None and any(c in topic for c in "+#"):
            raise ValueError("command_topic must not contain MQTT wildcards + or #")
        return topic

    @model_validator(mode="after")
    def _one_way_to_command(self) -> Self:
        if (self.entity_id is None) == (self.command_topic is None):
            raise ValueError("give exactly one of entity_id (via HA) or command_topic (via MQTT)")
        if self.role == "climate" and not (self.entity_id or "").startswith("climate."):
            raise FieldError(
                "entity_id" if self.entity_id else "role",
                "a climate actuator is an HA climate.* entity (give entity_id)",
            )
        return self


class RoomConfig(_Strict):
    """A bedroom: its sensors and the actuators that may heat or cool it."""

    id: Slug
    name: str = Field(min_length=1, max_length=60)
    sensors: list[SensorConfig] = Field(min_length=1)
    actuators: list[ActuatorConfig] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        for what, ids in (
            ("sensor", [s.id for s in self.sensors]),
            ("actuator", [a.id for a in self.actuators]),
        ):
            again = _first_repeat(ids)
            if again is not None:
                raise FieldError(
                    (f"{what}s", again, "id"),
                    f"{what} id {ids[again]!r} is used twice in room {self.id!r}",
                )
        return self


class RawNightsConfig(_Strict):
    """The bed sensors' raw messages, a file a night, so past nights replay under other rules."""

    enabled: bool = True
    keep_nights: int = Field(14, ge=1, le=366)
    max_total_mb: float = Field(500.0, gt=0)  # the oldest nights go first beyond it
    directory: Path | None = None  # default: beside the history, `<store name>-raw-nights/`


class StoreConfig(_Strict):
    """The embedded SQLite history."""

    path: Path = Path("smart-bedroom.db")
    retention_days: int = Field(400, ge=7)
    raw_nights: RawNightsConfig = RawNightsConfig()

    @property
    def raw_nights_directory(self) -> Path:
        """Where the raw nights are kept."""
        return self.raw_nights.directory or self.path.with_name(f"{self.path.stem}-raw-nights")


class DashboardConfig(_Strict):
    """The service's own web dashboard, JSON API, /healthz and /metrics."""

    enabled: bool = True
    host: str = "127.0.0.1"  # localhost only by default: health data stays on the machine
    port: int = Field(8765, ge=0, le=65535)  # 0: any free port
    # Required for anything but localhost; sent as `Authorization: Bearer` or `?token=`.
    token: SecretRef | None = None
    # Home Assistant's ingress, set by the add-on (HA's default port is 8099): a second listener
    # on every interface that answers `ingress_proxy` alone, HA's Supervisor, which has already
    # authenticated the user, so it needs no token; anyone else gets 403. None: no such listener.
    # https://developers.home-assistant.io/docs/add-ons/presentation#ingress
    ingress_port: int | None = Field(None, ge=0, le=65535)
    ingress_proxy: IPvAnyAddress = IPv4Address("172.30.32.2")

    @model_validator(mode="after")
    def _token_beyond_localhost(self) -> Self:
        if self.host not in {"127.0.0.1", "::1", "localhost"} and self.token is None:
            raise FieldError("host", f"a dashboard on {self.host} needs a token (env: or file:)")
        return self


class ServiceConfig(_Strict):
    """The whole service config file."""

    timezone: str = "UTC"
    mqtt: MqttConfig = MqttConfig()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()
    store: StoreConfig = StoreConfig()
    dashboard: DashboardConfig = DashboardConfig()
    rooms: list[RoomConfig] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {name!r} (use an IANA name like Europe/London)"
            ) from None
        return name

    @model_validator(mode="after")
    def _unique_rooms(self) -> Self:
        ids = [room.id for room in self.rooms]
        again = _first_repeat(ids)
        if again is not None:
            raise FieldError(("rooms", again, "id"), f"room id {ids[again]!r} is used twice")
        return self

    @model_validator(mode="after")
    def _entities_need_home_assistant(self) -> Self:
        if self.homeassistant.enabled:
            return self
        for r, room in enumerate(self.rooms):
            for s, sensor in enumerate(room.sensors):
                if sensor.source == "homeassistant":
                    raise FieldError(
                        ("rooms", r, "sensors", s, "source"),
                        "reads a Home Assistant entity, but homeassistant.enabled is false",
                    )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The configured timezone, for everything a person reads."""
        return ZoneInfo(self.timezone)

    def mqtt_topics(self) -> list[str]:
        """The MQTT topic filters of every sensor, each once (HA entities come another way)."""
        return sorted(
            {
                spec.topic
                for spec in self.sensor_specs()
                if spec.payload_format is not PayloadFormat.HOMEASSISTANT
            }
        )

    def sensor_specs(self) -> list[SensorSpec]:
        """Every configured sensor as the core's frozen value."""
        return [
            SensorSpec(
                room=room.id,
                sensor_id=sensor.id,
                kind=sensor.kind,
                topic=sensor.source_topic,
                payload_format=sensor.payload_format,
                field=sensor.field,
                unit=sensor.unit,
                rate_hz=sensor.rate_hz,
                max_distance_m=sensor.max_distance_m,
            )
            for room in self.rooms
            for sensor in room.sensors
        ]

    @property
    def availability_topic(self) -> str:
        """Where this instance says online/offline (retained; offline is the MQTT will)."""
        return f"{self.mqtt.base_topic}/availability"


def _first_repeat(ids: list[str]) -> int | None:
    """The index of the first id that an earlier one already took, or None."""
    seen: set[str] = set()
    for index, item in enumerate(ids):
        if item in seen:
            return index
        seen.add(item)
    return None


def topic_filter_problem(topic: str) -> str | None:
    """Why `topic` is not a valid MQTT subscription filter (MQTT 3.1.1 §4.7), or None."""
    if not topic or len(topic.encode()) > 65535:
        return "topic must be 1 to 65535 bytes"
    if "\x00" in topic:
        return "topic must not contain a NUL character"
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return "'#' must be a whole level and the last one"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def load_config(path: Path, checks: Iterable[Check[ServiceConfig]] = ()) -> ServiceConfig:
    """Read and validate the service config, then `checks`; ConfigError lists every problem.

    `check` and `run` add `file_problems` (and the HA contract's topic check): what one
    accepts, the other runs with.
    """
    return load_model(ServiceConfig, path, checks)


Located = tuple[tuple[str | int, ...], str]  # where in the config, what is wrong


def file_problems(config: ServiceConfig) -> list[Located]:
    """Secret files and TLS certificates `run` will need: each readable and usable.

    A secret taken from its environment variable needs no file. I/O, so never a validator.
    """
    problems: list[Located] = []
    secrets: list[tuple[tuple[str | int, ...], SecretRef | None]] = [
        (("mqtt", "password"), config.mqtt.password)
    ]
    if config.homeassistant.enabled:
        secrets.append((("homeassistant", "token"), config.homeassistant.token))
    if config.dashboard.enabled:
        secrets.append((("dashboard", "token"), config.dashboard.token))
    for loc, ref in secrets:
        if ref is None or ref.file is None or (ref.env is not None and os.environ.get(ref.env)):
            continue
        try:
            secret = ref.file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            problems.append(((*loc, "file"), f"cannot read secret file {ref.file}: {_why(err)}"))
        else:
            if not secret:
                problems.append(((*loc, "file"), f"secret file {ref.file} is empty"))
    tls = config.mqtt.tls
    if tls.enabled:
        problems += tls_problems(tls)
    return problems


def tls_problems(tls: TlsConfig) -> list[Located]:
    """The CA and client certificate load as the broker connection will load them."""
    loc: tuple[str, ...] = ("mqtt", "tls")
    context = ssl.create_default_context()
    if tls.ca_file is not None:
        try:
            context.load_verify_locations(cafile=tls.ca_file)
        except (OSError, ssl.SSLError) as err:
            return [((*loc, "ca_file"), f"CA file {tls.ca_file}: {_why(err)}")]
    if tls.key_file is not None and tls.cert_file is None:
        return [((*loc, "cert_file"), "key_file is given without its cert_file")]
    if tls.cert_file is not None:
        for field_name, path in (("cert_file", tls.cert_file), ("key_file", tls.key_file)):
            if path is not None and not os.access(path, os.R_OK):
                return [((*loc, field_name), f"cannot read {path}: {_why(None, path)}")]
        try:
            # A key that wants a password gets none: the connection could not give one either,
            # and OpenSSL must not stop to ask on a terminal.
            context.load_cert_chain(tls.cert_file, tls.key_file, password=lambda: b"")
        except (OSError, ssl.SSLError) as err:
            files = f"{tls.cert_file}" + (f" and {tls.key_file}" if tls.key_file else "")
            return [((*loc, "cert_file"), f"client certificate {files}: {_why(err)}")]
    return []


def _why(err: BaseException | None, path: Path | None = None) -> str:
    """An OS or TLS failure in words, without a traceback."""
    if err is None and path is not None:
        return "no such file" if not path.exists() else "permission denied"
    if isinstance(err, ssl.SSLError):
        return f"not a usable PEM certificate or key ({err.reason or err})"
    if isinstance(err, OSError):
        return err.strerror or str(err)
    return str(err)


def resolve_secret(ref: SecretRef | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret's value from the environment or its file; None when not set."""
    if ref is None:
        return None
    env = os.environ if environ is None else environ
    if ref.env is not None and env.get(ref.env):
        return env[ref.env]
    if ref.file is not None:
        try:
            return ref.file.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigError(
                [Problem(ref.file, None, "", f"cannot read secret file: {err.strerror}")]
            ) from err
    return None


def unset_secret_reason(
    ref: SecretRef | None, field: str, environ: Mapping[str, str] | None = None
) -> str | None:
    """Why `resolve_secret(ref)` gives no secret, naming `field` (never the secret); else None.

    For a warning when a service refuses us: "mqtt.password: environment variable
    MQTT_PASSWORD is not set" says what to fix where "not authorised" does not.
    """
    if ref is None:
        return f"no {field} in the config"
    env = os.environ if environ is None else environ
    if ref.env is not None and env.get(ref.env):
        return None
    reasons = []
    if ref.env is not None:
        state = "is empty" if ref.env in env else "is not set"
        reasons.append(f"environment variable {ref.env} {state}")
    if ref.file is not None:
        try:
            if ref.file.read_text(encoding="utf-8").strip():
                return None
            reasons.append(f"secret file {ref.file} is empty")
        except (OSError, UnicodeDecodeError) as err:
            reasons.append(f"cannot read secret file {ref.file}: {_why(err)}")
    return f"{field}: {' and '.join(reasons)}"
