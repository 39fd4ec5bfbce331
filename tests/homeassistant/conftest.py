"""A real Home Assistant core per test module, on the session's private Mosquitto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.homeassistant.hass import DASHBOARD, DASHBOARD_URL_PATH, HomeAssistant, ha_venv
from tests.mosquitto import Mosquitto


@pytest.fixture(scope="module")
def home_assistant(
    mosquitto: Mosquitto, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HomeAssistant]:
    """HA 2024.3.3 with MQTT discovery on a private prefix and our dashboard in YAML mode."""
    ha = HomeAssistant(ha_venv(), tmp_path_factory.mktemp("homeassistant"), mosquitto.port)
    ha.add_config(
        f"""\
logbook:
lovelace:
  mode: storage
  dashboards:
    {DASHBOARD_URL_PATH}:
      mode: yaml
      filename: smart-bedroom-dashboard.yaml
      title: Smart bedroom
      show_in_sidebar: true
""",
        {"smart-bedroom-dashboard.yaml": DASHBOARD.read_text()},
    )
    ha.start()
    yield ha
    ha.stop()
