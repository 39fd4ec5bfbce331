"""A note from Home Assistant: the README's script (`text.set_value`, `button.press`) in a real core.

Opt-in (`-m homeassistant`), like the other real-HA tests: needs the HA venv `.ci/ha-venv` builds.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.config import ServiceConfig
from integration.service import Service
from tests.homeassistant.hass import HomeAssistant, ha_venv
from tests.homeassistant.test_real_home_assistant import problems_in_log, wait_for_states
from tests.mosquitto import Mosquitto

pytestmark = pytest.mark.homeassistant

README = Path(__file__).resolve().parents[2] / "README.md"
NOTE = "baclofen 10 mg at 22:00, first dose"


def readme_script() -> str:
    """The YAML block the README shows under its notes-script marker."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- notes-script:[^>]*-->\n```yaml\n(.*?)```", text, re.DOTALL)
    assert found is not None, "the README's notes script is gone"
    return found.group(1)


@pytest.fixture(scope="module")
def home_assistant(
    mosquitto: Mosquitto, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HomeAssistant]:
    """HA 2024.3.3 on the private broker, with the README's script in its configuration."""
    ha = HomeAssistant(ha_venv(), tmp_path_factory.mktemp("ha-notes"), mosquitto.port)
    ha.add_config(readme_script(), {})
    ha.start()
    yield ha
    ha.stop()


async def test_the_readmes_script_keeps_a_note_from_home_assistant(
    home_assistant: HomeAssistant, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    log_mark = len(home_assistant.log_text())
    config = ServiceConfig.model_validate(
        {
            "mqtt": {
                "host": mosquitto.host,
                "port": mosquitto.port,
                "client_id": "sb_notes",
                "base_topic": f"sb-{home_assistant.discovery_prefix}-notes",
            },
            "homeassistant": {
                "enabled": False,
                "discovery_prefix": home_assistant.discovery_prefix,
            },
            "dashboard": {"enabled": False},
            "store": {"path": str(tmp_path / "history.db")},
            "rooms": [
                {
                    "id": "bedroom",
                    "name": "Bedroom",
                    "sensors": [{"id": "t", "kind": "temperature", "topic": "z2m/bedroom"}],
                }
            ],
        }
    )
    service = Service(config, None, discovery_settle_s=0.1)
    task = asyncio.create_task(service.run())
    try:
        states = await asyncio.to_thread(
            wait_for_states,
            home_assistant,
            {"text.bedroom_note": "unknown", "button.bedroom_save_note": "unknown"},
        )
        note = states["text.bedroom_note"]["attributes"]
        assert (note["friendly_name"], note["mode"], note["min"], note["max"]) == (
            "Bedroom Note",
            "text",
            0,
            255,
        )
        before = time.time()
        await asyncio.to_thread(
            home_assistant.request, "POST", "/api/services/script/note_first_baclofen", {}
        )
        # Kept, then the text emptied: HA shows the draft gone once the note is in the history.
        await asyncio.to_thread(wait_for_states, home_assistant, {"text.bedroom_note": ""})
        after = time.time()
        store = service.history.store
        assert store is not None
        notes = await store.notes("bedroom", 0, after + 60)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert [(n.room, n.text, n.source) for n in notes] == [("bedroom", NOTE, "ha")]
    assert before <= notes[0].at <= after
    assert problems_in_log(home_assistant, log_mark) == []
