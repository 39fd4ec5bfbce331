"""Notes from HA's "Note" text and "Save note" button, over the real private broker."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import aiomqtt

from integration.clock import ScaledClock
from integration.core.notes import Note
from integration.service import Service
from tests.e2e.helpers import SETTLE_S, SPEED, fan_room_config, next_message, running, wait
from tests.mosquitto import Mosquitto

START = datetime(2026, 11, 23, 22, 30, tzinfo=ZoneInfo("Europe/London")).timestamp()


async def next_on(client: aiomqtt.Client, topic: str) -> bytes:
    """The payload of the next message on `topic`, other topics skipped."""
    while True:
        message = await next_message(client)
        if str(message.topic) == topic:
            payload = message.payload
            assert isinstance(payload, bytes | bytearray)
            return bytes(payload)


async def test_the_draft_is_kept_as_a_note_on_save_and_then_emptied(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    config = fan_room_config(mosquitto, unique_topic)
    clock = ScaledClock(START, SPEED)
    service = Service(config, None, clock=clock, discovery_settle_s=SETTLE_S)
    base = f"{unique_topic}/sb/bedroom"
    async with (
        running(service.run, service.mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as home_assistant,
    ):
        for topic in ("note", "notice", "set/note"):
            await home_assistant.subscribe(f"{base}/{topic}", qos=1)
        # What HA's text.set_value sends: the value, retained (the entity's `retain: true`).
        await home_assistant.publish(
            f"{base}/set/note", b"baclofen 10 mg at 22:00 ", qos=1, retain=True
        )
        assert await next_on(home_assistant, f"{base}/note") == b"baclofen 10 mg at 22:00"
        pressed_after = clock.now()
        await home_assistant.publish(f"{base}/set/save_note", b"PRESS", qos=1)
        assert await next_on(home_assistant, f"{base}/note") == b""  # the text shows it empty
        assert await next_on(home_assistant, f"{base}/set/note") == b""  # HA's retained draft gone
        store = service.history.store
        assert store is not None
        (note,) = await store.notes("bedroom", 0, clock.now() + 60)
        assert note == Note("bedroom", note.at, "baclofen 10 mg at 22:00", "ha", note.id)
        assert pressed_after <= note.at <= clock.now()

        # Pressed again with nothing written: refused in a notice, as a refused label is.
        await home_assistant.publish(f"{base}/set/save_note", b"PRESS", qos=1)
        notice = await next_on(home_assistant, f"{base}/notice")
        assert b'"code": "note_refused"' in notice
        assert b"Note not kept: The note is empty" in notice
        await wait(service.wait_for(lambda: service.outbound.notes_refused == 1))
        assert len(await store.notes(None, 0, clock.now() + 60)) == 1


async def test_a_draft_written_while_the_service_was_away_is_saved_after_its_start(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    config = fan_room_config(mosquitto, unique_topic)
    base = f"{unique_topic}/sb/bedroom"
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as home_assistant:
        await home_assistant.publish(f"{base}/set/note", b"new mattress", qos=1, retain=True)
    clock = ScaledClock(START, SPEED)
    service = Service(config, None, clock=clock, discovery_settle_s=SETTLE_S)
    async with (
        running(service.run, service.mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as home_assistant,
    ):
        await home_assistant.subscribe(f"{base}/note", qos=1)
        while await next_on(home_assistant, f"{base}/note") != b"new mattress":
            pass  # the draft, read back from the broker, is shown again
        await home_assistant.publish(f"{base}/set/save_note", b"PRESS", qos=1)
        assert await next_on(home_assistant, f"{base}/note") == b""
        store = service.history.store
        assert store is not None
        assert [n.text for n in await store.notes("bedroom", 0, clock.now() + 60)] == [
            "new mattress"
        ]
