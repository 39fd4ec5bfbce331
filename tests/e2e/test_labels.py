"""The person's word, end to end: HA's buttons over the real broker and the dashboard's forms."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import aiohttp
import aiomqtt

from integration.adapters.mqtt import mqtt_settings, publish_messages
from integration.clock import ScaledClock
from integration.core.labels import Label
from integration.core.simulation.night import simulate_night
from integration.service import Service
from tests.e2e.helpers import (
    REPO,
    SETTLE_S,
    SPEED,
    bedroom_config,
    next_message,
    running,
    short_night,
    wait,
)
from tests.mosquitto import Mosquitto


async def live_night(service: Service, mosquitto: Mosquitto, unique_topic: str, seed: int) -> None:
    """Publish a short simulated night over the broker, wait until handled, then close it."""
    night = simulate_night(short_night(unique_topic, seed=seed))
    publisher = replace(
        mqtt_settings(service.config),
        client_id="simulator",
        availability_topic=f"{unique_topic}/sim",
    )
    sent = await publish_messages(publisher, list(night.messages()), service.clock)
    stats = service.pipeline.stats
    await wait(service.wait_for(lambda: stats.messages == sent))
    await service.close_nights()


async def until(client: aiomqtt.Client, topic: str, check: Any) -> dict[str, Any]:
    """The next payload on `topic` (JSON) for which `check` holds."""
    while True:
        message = await next_message(client)
        if str(message.topic) == topic and message.payload:
            payload: dict[str, Any] = json.loads(message.payload)  # type: ignore[arg-type]
            if check(payload):
                return payload


async def test_home_assistants_buttons_label_the_latest_spasm_and_last_nights_counts_follow(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    spec = short_night(unique_topic, seed=7)
    config = bedroom_config(mosquitto, unique_topic, spec)
    service = Service(
        config, REPO / "rules", clock=ScaledClock(spec.start, SPEED), discovery_settle_s=SETTLE_S
    )
    base = f"{unique_topic}/sb/bedroom"
    async with (
        running(service.run, service.mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as home_assistant,
    ):
        for topic in ("label", "summary", "notice"):
            await home_assistant.subscribe(f"{base}/{topic}", qos=1)
        await live_night(service, mosquitto, unique_topic, seed=7)
        latest: dict[str, Any] = {}
        while True:  # each spasm-like event in turn is the latest, then the summary comes
            message = await next_message(home_assistant)
            payload = json.loads(message.payload)  # type: ignore[arg-type]
            if str(message.topic).endswith("/label"):
                latest = payload
            elif str(message.topic).endswith("/summary"):
                detected = payload
                break
        assert latest["label"] == "unlabelled"
        assert detected["spasm_count"] >= 2

        await home_assistant.publish(f"{base}/set/label", b"rejected", qos=1)
        said = await until(home_assistant, f"{base}/label", lambda p: p["label"] == "rejected")
        assert said["start"] == latest["start"]
        after = await until(home_assistant, f"{base}/summary", lambda p: True)
        assert after["spasm_count"] == detected["spasm_count"] - 1
        assert after["labels"]["rejected"] == 1
        assert "1 not a spasm (not counted)" in after["text"]

        await home_assistant.publish(f"{base}/set/label", b"missed", qos=1)
        await home_assistant.publish(f"{base}/set/label", b"bogus", qos=1)  # ignored, no crash
        store = service.history.store
        assert store is not None
        await wait(service.wait_for(lambda: service.ha.commands_refused >= 1))
        labels = await store.labels("bedroom", 0, service.clock.now() + 60)
    assert sorted(label.label for label in labels) == [Label.MISSED, Label.REJECTED]
    assert {label.source for label in labels} == {"home_assistant"}


async def test_a_button_with_nothing_to_label_is_refused_in_a_notice(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    spec = short_night(unique_topic)
    config = bedroom_config(mosquitto, unique_topic, spec)
    service = Service(
        config, None, clock=ScaledClock(spec.start, SPEED), discovery_settle_s=SETTLE_S
    )
    base = f"{unique_topic}/sb/bedroom"
    async with (
        running(service.run, service.mqtt),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as home_assistant,
    ):
        await home_assistant.subscribe(f"{base}/notice", qos=1)
        await home_assistant.publish(f"{base}/set/label", b"confirmed", qos=1)
        notice = await until(
            home_assistant, f"{base}/notice", lambda p: p["code"] == "label_refused"
        )
        assert "no spasm-like event to label yet" in notice["message"]
        assert service.outbound.labels_refused == 1


def form_of(page: str, event_id: str) -> dict[str, str]:
    """The fields of the label form in the row of `event_id`."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    return {"csrf": csrf.group(1), "event": event_id}


async def test_the_dashboards_event_rows_take_labels_safely(
    mosquitto: Mosquitto, unique_topic: str
) -> None:
    spec = short_night(unique_topic, seed=8)
    config = bedroom_config(mosquitto, unique_topic, spec)
    service = Service(
        config, REPO / "rules", clock=ScaledClock(spec.start, SPEED), discovery_settle_s=SETTLE_S
    )
    async with running(service.run, service.mqtt), aiohttp.ClientSession() as http:
        await live_night(service, mosquitto, unique_topic, seed=8)
        assert service.dashboard_url is not None
        (night,) = (await (await http.get(service.dashboard_url + "api/nights")).json())["nights"]
        page_url = f"{service.dashboard_url}nights/bedroom/{night['night_date']}"
        page = await (await http.get(page_url)).text()
        event_ids = re.findall(r'name="event" value="(\d+)"', page)
        assert len(event_ids) == night["spasm_count"] >= 2
        action = page_url + "/label"
        same_site = {"Sec-Fetch-Site": "same-origin"}

        forged = {**form_of(page, event_ids[0]), "csrf": "guess", "label": "rejected"}
        response = await http.post(action, data=forged, headers=same_site, allow_redirects=False)
        assert response.status == 403
        cross = {**form_of(page, event_ids[0]), "label": "rejected"}
        response = await http.post(
            action, data=cross, headers={"Sec-Fetch-Site": "cross-site"}, allow_redirects=False
        )
        assert response.status == 403
        response = await http.post(
            action,
            data=cross,
            headers={"Origin": "http://evil.example"},
            allow_redirects=False,
        )
        assert response.status == 403
        unknown = {**form_of(page, "999999"), "label": "rejected"}
        response = await http.post(action, data=unknown, headers=same_site, allow_redirects=False)
        assert response.status == 400
        assert "no event 999999" in await response.text()

        response = await http.post(action, data=cross, headers=same_site, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == f"../{night['night_date']}"
        page = await (await http.get(page_url)).text()
        assert "not a spasm</span>" in page
        (after,) = (await (await http.get(service.dashboard_url + "api/nights")).json())["nights"]
        assert after["spasm_count"] == night["spasm_count"] - 1
        assert after["labels"]["rejected"] == 1

        missed = {"csrf": form_of(page, "0")["csrf"]}
        response = await http.post(
            service.dashboard_url + "rooms/bedroom/missed",
            data=missed,
            headers=same_site,
            allow_redirects=False,
        )
        assert response.status == 303
        store = service.history.store
        assert store is not None
        labels = await store.labels("bedroom", 0, service.clock.now() + 60)
    assert sorted((label.label, label.source) for label in labels) == [
        (Label.MISSED, "dashboard"),
        (Label.REJECTED, "dashboard"),
    ]
