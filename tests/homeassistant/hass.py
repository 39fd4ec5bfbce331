"""A real Home Assistant core for tests: its own config dir, MQTT preconfigured, a token.

HA runs from its own virtual environment (its pins clash with ours), built by `.ci/ha-venv`.
The MQTT broker is set by a config entry written before the first start (since 2022.12 HA
takes it from no YAML); a token comes from onboarding, so no person has to log in.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HOST = "127.0.0.1"
HA_VERSION = "2024.3.3"
REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = REPO_ROOT / "config" / "homeassistant" / "dashboard.yaml"
DASHBOARD_URL_PATH = "smart-bedroom"  # a YAML dashboard's URL path needs a hyphen
START_TIMEOUT_S = 90.0  # HA 2024.3 is up in about 30 s on a 2-core machine
POLL_S = 0.25  # how often a real HA is asked whether it has caught up
STOP_TIMEOUT_S = 30.0
USERNAME = "smartbedroom"
PASSWORD = "test password, loopback only"  # noqa: S105 - a throw-away test credential


def ha_venv() -> Path:
    """The HA venv: `$SMART_BEDROOM_HA_VENV`, else `.ha-venv` in the repo root; fails if absent."""
    venv = Path(os.environ.get("SMART_BEDROOM_HA_VENV") or REPO_ROOT / ".ha-venv")
    if not (venv / "bin" / "hass").exists():
        pytest.fail(
            f"no Home Assistant venv at {venv}: build it with `.ci/ha-venv` "
            "(or point SMART_BEDROOM_HA_VENV at one)",
            pytrace=False,
        )
    return venv


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class HomeAssistant:
    """One HA core process with MQTT discovery on `discovery_prefix` against a given broker."""

    def __init__(self, venv: Path, config_dir: Path, broker_port: int) -> None:
        self.venv = venv
        self.config_dir = config_dir
        self.port = _free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.discovery_prefix = f"ha-test-{uuid.uuid4().hex[:8]}"
        self.log_file = config_dir / "home-assistant.log"
        self.token = ""
        self._broker_port = broker_port
        self._process: subprocess.Popen[bytes] | None = None
        self._write_config()

    def add_config(self, yaml_text: str, files: dict[str, str]) -> None:
        """Append to configuration.yaml and add files beside it; call before `start()`."""
        with (self.config_dir / "configuration.yaml").open("a") as config:
            config.write(yaml_text)
        for name, text in files.items():
            (self.config_dir / name).write_text(text)

    def _write_config(self) -> None:
        (self.config_dir / "configuration.yaml").write_text(
            f"""\
homeassistant:
  name: Test home
  latitude: 51.5
  longitude: -0.1
  elevation: 0
  time_zone: UTC
  unit_system: metric
  currency: EUR
  country: GB
http:
  server_host: {HOST}
  server_port: {self.port}
api:
onboarding:
logger:
  default: warning
"""
        )
        storage = self.config_dir / ".storage"
        storage.mkdir()
        entry = {
            "entry_id": uuid.uuid4().hex,
            "version": 1,
            "minor_version": 1,
            "domain": "mqtt",
            "title": HOST,
            "data": {
                "broker": HOST,
                "port": self._broker_port,
                "discovery": True,
                "discovery_prefix": self.discovery_prefix,
            },
            "options": {},
            "pref_disable_new_entities": False,
            "pref_disable_polling": False,
            "source": "user",
            "unique_id": None,
            "disabled_by": None,
        }
        (storage / "core.config_entries").write_text(
            json.dumps(
                {
                    "version": 1,
                    "minor_version": 1,
                    "key": "core.config_entries",
                    "data": {"entries": [entry]},
                }
            )
        )

    def start(self) -> None:
        """Start HA, onboard a user for a token, and return once MQTT is set up."""
        self._spawn()
        try:
            self.wait_until(lambda: self._answers("/api/onboarding"), "HTTP", START_TIMEOUT_S)
            self.token = self._onboard()
            self.wait_until(self._mqtt_running, "MQTT set up and HA running", START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise

    def restart(self) -> None:
        """Stop HA and start it again; the owner and the token stay (HA keeps them on disk)."""
        self.stop()
        self._spawn()
        try:
            self.wait_until(lambda: self._answers("/api/onboarding"), "HTTP", START_TIMEOUT_S)
            self.wait_until(self._mqtt_running, "MQTT set up and HA running", START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise

    def _spawn(self) -> None:
        with (self.config_dir / "hass.stdout").open("ab") as output:
            self._process = subprocess.Popen(
                [str(self.venv / "bin" / "hass"), "-c", str(self.config_dir), "--skip-pip"],
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        """Stop HA cleanly (it writes its storage), killing it if it hangs."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def wait_until(self, ready: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
        """Poll `ready` until true; fail with HA's log tail if HA exits or time runs out."""
        deadline = time.monotonic() + timeout_s
        while not ready():
            if self._process is not None and self._process.poll() is not None:
                pytest.fail(f"Home Assistant exited waiting for {what}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Home Assistant: no {what} after {timeout_s:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(POLL_S)

    def states(self) -> dict[str, dict[str, Any]]:
        """Every entity's state object from `/api/states`, by entity id."""
        return {state["entity_id"]: state for state in self.request("GET", "/api/states")}

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """A REST call with the token; the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - a loopback http URL we built
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read() or b"null")

    def log_text(self, since: int = 0) -> str:
        """HA's own log so far, from character `since` on (a length read earlier)."""
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return text[since:]

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def _mqtt_running(self) -> bool:
        config = self.request("GET", "/api/config")
        return "mqtt" in config["components"] and config["state"] == "RUNNING"

    def _onboard(self) -> str:
        """Create the owner through onboarding and trade its auth code for an access token."""
        client_id = f"{self.url}/"
        user = {
            "client_id": client_id,
            "name": "Smart Bedroom Test",
            "username": USERNAME,
            "password": PASSWORD,
            "language": "en",
        }
        answer = self._post_json("/api/onboarding/users", user)
        form = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": answer["auth_code"],
                "client_id": client_id,
            }
        ).encode()
        request = urllib.request.Request(self.url + "/auth/token", data=form)  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            token: str = json.loads(response.read())["access_token"]
            return token

    def _post_json(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(  # noqa: S310
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())
