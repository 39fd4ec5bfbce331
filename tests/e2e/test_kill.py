"""SIGKILL mid-night: a new process on the same history resumes the night, no event lost or doubled.

The service runs as `smart-bedroom run`, a real child process on a sped-up clock, against the
private Mosquitto. A simulated night is published live into it; the process is killed with
SIGKILL in a quiet stretch, and a new process is started on the same config and history file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
import yaml

from integration.adapters.broker import free_port
from integration.adapters.mqtt import mqtt_settings, publish_messages
from integration.clock import ScaledClock
from integration.config import ServiceConfig, load_config
from integration.core.localtime import iso
from integration.core.simulation.night import Label, NightSpec, simulate_night
from tests.e2e.helpers import REPO, SPEED, bedroom_config, short_night
from tests.mosquitto import Mosquitto

Message = tuple[float, str, bytes]  # (t, topic, payload) as the simulator sends it

# 15 minutes of night: a clonus and a turnover, seven quiet minutes, then two jerks.
SEED = 37
HOURS = 0.25
# The kill comes this long after the last movement before the quiet stretch: every event of the
# first part is out by then (an event comes out at most 6 s after the end it reports).
KILL_AFTER_S = 30.0
# The night that falls due while no service runs: the broker keeps it in the service's
# persistent session and hands it to the new process.
BACKLOG_S = 20.0
# A process takes about a second to start: 100 s of night at 100x. The quiet the night needs
# after the kill before its next movement: the backlog, a slow start, the new process's
# detector relearning the resting level (30 s warm-up).
QUIET_NEEDED_S = 300.0
# The first process starts this much simulated time before lights-out, so it is up before then.
LEAD_S = 200.0
# The publisher's clock runs this far ahead of the service's, so a tick never overtakes a
# message still on its way (the in-process tests share one clock instead).
AHEAD_S = 1.0
TIMEOUT_S = 20.0
# A child process is watched from outside: its dashboard is asked this often.
POLL_S = 0.01
ROOM = "bedroom"
EPISODE_KINDS = ("restless_start", "restless_end")


@dataclass
class HomeAssistantView:
    """What a subscriber (Home Assistant) saw on the room's topics, across both processes."""

    client: aiomqtt.Client
    events: list[dict[str, Any]] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    availability: list[bytes] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def take(self, availability_topic: str) -> None:
        """Keep every message, in arrival order, until cancelled."""
        # "Summary now" answers on so_far: the night so far, the night itself still open.
        documents = {"event": self.events, "so_far": self.summaries, "state": self.states}
        async for message in self.client.messages:
            payload = message.payload
            assert isinstance(payload, bytes)
            topic = str(message.topic)
            if topic == availability_topic:
                self.availability.append(payload)
            elif payload:
                documents[topic.rsplit("/", 1)[-1]].append(json.loads(payload))
            async with self.changed:
                self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; re-checked after every message."""
        async with asyncio.timeout(TIMEOUT_S), self.changed:
            await self.changed.wait_for(predicate)

    def movement_events(self) -> list[dict[str, Any]]:
        """The events the detectors found (`summary_ready` is not one)."""
        return [e for e in self.events if e["event_type"] != "summary_ready"]


@contextlib.asynccontextmanager
async def home_assistant(
    broker: Mosquitto, config: ServiceConfig
) -> AsyncIterator[HomeAssistantView]:
    """A subscriber to the room's events, summary, state and the service's availability."""
    base = f"{config.mqtt.base_topic}/{ROOM}"
    async with aiomqtt.Client(broker.host, broker.port) as client:
        view = HomeAssistantView(client)
        for topic in ("event", "so_far", "state"):
            await client.subscribe(f"{base}/{topic}", qos=1)
        await client.subscribe(config.availability_topic, qos=1)
        task = asyncio.create_task(view.take(config.availability_topic), name="home-assistant")
        try:
            yield view
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass
class ServiceProcess:
    """`smart-bedroom run` in a child process; its dashboard says how far it got."""

    process: asyncio.subprocess.Process
    url: str
    http: aiohttp.ClientSession
    log: Path

    async def until(self, check: Callable[[], Awaitable[bool]], what: str) -> None:
        """Poll `check` until it holds; fail with the process's log if it does not in time."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TIMEOUT_S):
                while self.process.returncode is None:
                    if await check():
                        return
                    await asyncio.sleep(POLL_S)
        log = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise AssertionError(f"service never {what} (exit code {self.process.returncode}):\n{log}")

    async def health(self) -> dict[str, Any] | None:
        """`/healthz`, or None while the process does not answer or the broker is not connected."""
        try:
            async with self.http.get(f"{self.url}/healthz") as response:
                if response.status != 200:
                    return None
                health: dict[str, Any] = await response.json()
                return health
        except aiohttp.ClientConnectionError:
            return None

    async def connected(self) -> bool:
        """Whether the process is up and subscribed (`/healthz` says 200 only then)."""
        return await self.health() is not None

    async def messages_taken(self) -> int:
        """Sensor messages the process has taken (`/metrics`)."""
        async with self.http.get(f"{self.url}/metrics") as response:
            text = await response.text()
        for line in text.splitlines():
            if line.startswith("smart_bedroom_messages_total "):
                return int(float(line.split()[1]))
        return 0

    async def clock(
        self, view: HomeAssistantView, topic: str, payload: bytes, already: int
    ) -> ScaledClock:
        """A clock reading what the process's scaled clock reads, plus `AHEAD_S`.

        Measured with one sensor message, which the process stamps with its clock on arrival
        (after `already` messages); the trip's latency only puts the process further behind.
        """
        await self.until(lambda: self.took(already), f"took {already} message(s)")
        sent_at = time.monotonic()
        await view.client.publish(topic, payload, qos=1)
        await self.until(lambda: self.took(already + 1), "took the clock probe")
        health = await self.health()
        assert health is not None
        stamp = float(health["last_seen"][f"{ROOM}/temp"])
        return ScaledClock(stamp + (time.monotonic() - sent_at) * SPEED + AHEAD_S, SPEED)

    async def took(self, count: int) -> bool:
        """Whether the process has taken `count` sensor messages (False while it cannot say)."""
        try:
            return await self.messages_taken() >= count
        except aiohttp.ClientConnectionError:
            return False


@contextlib.asynccontextmanager
async def service_process(
    config_file: Path, start: float, http: aiohttp.ClientSession, log: Path
) -> AsyncIterator[ServiceProcess]:
    """The service started as a person starts it; killed on the way out, whatever happened."""
    config = load_config(config_file)
    command = "from integration.cli import main; main()"
    args = ["run", "--config", str(config_file), "--rules", str(REPO / "rules")]
    args += ["--speed", str(SPEED), "--start", repr(start)]
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            command,
            *args,
            stdout=out,
            stderr=out,
            env=os.environ | {"PYTHONPATH": path},
        )
    try:
        url = f"http://{config.dashboard.host}:{config.dashboard.port}"
        service = ServiceProcess(process, url, http, log)
        await service.until(service.connected, "connected to the broker")
        yield service
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def write_config(broker: Mosquitto, unique_topic: str, spec: NightSpec, tmp_path: Path) -> Path:
    """The bedroom of the live tests as a YAML file, its history and dashboard port fixed."""
    config = bedroom_config(broker, unique_topic, spec)
    document = config.model_dump(mode="json", exclude_defaults=True)
    document["store"] = {"path": str(tmp_path / "history.db")}
    document["dashboard"] = {"port": free_port()}
    path = tmp_path / "smart-bedroom.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def history(path: Path) -> sqlite3.Connection:
    """The history store, read-only, as another program (a backup, `nights`) reads it."""
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


def stored_events(db: sqlite3.Connection) -> list[tuple[str, float, bool]]:
    """(kind, start, spasm_like) of every event in history, in time order."""
    rows = db.execute("SELECT kind, start, spasm_like FROM events ORDER BY start, id").fetchall()
    return [(str(kind), float(start), bool(spasm)) for kind, start, spasm in rows]


def night_state(db: sqlite3.Connection) -> dict[str, Any] | None:
    """The open night as the room saved it for a restart."""
    row = db.execute("SELECT state FROM night_state WHERE room = ?", (ROOM,)).fetchone()
    state: dict[str, Any] | None = None if row is None else json.loads(row[0])
    return state


def last_payload(messages: list[Message], topic: str, before: float) -> bytes:
    """What a sensor said last before `before`: a probe that only repeats it changes nothing."""
    said = [payload for t, tp, payload in messages if tp == topic and t <= before]
    return said[-1] if said else next(p for _, tp, p in messages if tp == topic)


def quiet_stretch(labels: tuple[Label, ...]) -> tuple[Label, Label]:
    """The planted movements on either side of the night's longest quiet stretch."""
    ordered = sorted(labels, key=lambda label: label.start)
    return max(pairwise(ordered), key=lambda pair: pair[1].start - pair[0].end)


async def test_a_process_killed_mid_night_resumes_it_with_no_event_lost_or_doubled(
    mosquitto: Mosquitto, unique_topic: str, tmp_path: Path
) -> None:
    spec = short_night(unique_topic, seed=SEED).model_copy(update={"hours": HOURS})
    night = simulate_night(spec)
    messages = list(night.messages())
    before_quiet, after_quiet = quiet_stretch(night.labels)
    kill_t = before_quiet.end + KILL_AFTER_S
    assert after_quiet.start - kill_t >= QUIET_NEEDED_S, "the night must have a long quiet stretch"
    first_part = [m for m in messages if m[0] <= kill_t]

    config_file = write_config(mosquitto, unique_topic, spec, tmp_path)
    config = load_config(config_file)
    store_path = config.store.path
    publisher = replace(
        mqtt_settings(config),
        client_id=f"sim_{unique_topic[-12:]}",
        availability_topic=f"{unique_topic}/sim",
    )
    summary_now = f"{config.mqtt.base_topic}/{ROOM}/set/summary_now"

    async with aiohttp.ClientSession() as http, home_assistant(mosquitto, config) as ha:
        # The first process takes the night up to a quiet stretch, and is killed there.
        async with service_process(
            config_file, spec.start - LEAD_S, http, tmp_path / "first.log"
        ) as first:
            probe = last_payload(messages, spec.climate_topic, spec.start)
            clock = await first.clock(ha, spec.climate_topic, probe, already=0)
            sent_first = await publish_messages(publisher, first_part, clock)
            await first.until(lambda: first.took(sent_first + 1), "took the first part")

            async def saved() -> bool:
                """The open night is in history, with every event HA saw and a spasm."""
                with contextlib.closing(history(store_path)) as db:
                    state = night_state(db)
                    stored = stored_events(db)
                return (
                    state is not None
                    and state["accumulator"] is not None
                    and len(stored) == len(ha.movement_events())
                    and any(spasm for _, _, spasm in stored)
                )

            await first.until(saved, "saved the night and its events")
            taken_first = await first.messages_taken()
            first.process.kill()
            await first.process.wait()
            left_off = clock.now()
        with contextlib.closing(history(store_path)) as db:
            before_kill = stored_events(db)
            state = night_state(db)
        assert state is not None
        bed_time = float(state["accumulator"]["bed_time"])
        await ha.wait_for(lambda: ha.availability[-1:] == [b"offline"])  # its MQTT last will

        # The sensors go on while no service runs: the broker keeps it for the service.
        resume_t = max(left_off, kill_t + BACKLOG_S)
        backlog = [m for m in messages if kill_t < m[0] <= resume_t]
        sent_backlog = await publish_messages(publisher, backlog, clock)

        # A new process on the same config and history, from where the night left off.
        async with service_process(config_file, resume_t, http, tmp_path / "second.log") as second:
            probe = last_payload(messages, spec.climate_topic, resume_t)
            clock = await second.clock(ha, spec.climate_topic, probe, already=sent_backlog)
            rest = [m for m in messages if m[0] > resume_t]
            sent_rest = await publish_messages(publisher, rest, clock)
            taken = sent_backlog + 1 + sent_rest
            await second.until(lambda: second.took(taken), "took the rest of the night")
            await ha.client.publish(summary_now, b"PRESS", qos=1)
            await ha.wait_for(lambda: bool(ha.summaries))
            taken_second = await second.messages_taken()
            second.process.kill()  # killed again: what the history holds must be whole
            await second.process.wait()
        published = ha.movement_events()
        (summary,) = ha.summaries
        states = list(ha.states)

    with contextlib.closing(history(store_path)) as db:
        stored = stored_events(db)
        nights = db.execute("SELECT room, bed_time FROM nights").fetchall()
        state_after = night_state(db)

    # Every message was taken once: the first part, the backlog the broker kept, the rest.
    assert (sent_first, sent_backlog, sent_rest) == (len(first_part), len(backlog), len(rest))
    assert len(first_part) + len(backlog) + len(rest) == len(messages)
    assert (taken_first, taken_second) == (sent_first + 1, sent_backlog + 1 + sent_rest)
    # HA saw the first process go (its last will) and the second come.
    assert ha.availability[:3] == [b"online", b"offline", b"online"]

    # The night resumed: still open (the summary so far is no night), the bed time of before the
    # kill; the summary so far covers both parts.
    assert nights == []
    assert datetime.fromisoformat(summary["bed_time"]).timestamp() == pytest.approx(
        bed_time, abs=0.001
    )
    assert state_after is not None
    assert state_after["accumulator"]["bed_time"] == bed_time
    assert datetime.fromisoformat(summary["wake_time"]).timestamp() > after_quiet.end
    night_min = (messages[-1][0] - bed_time) / 60
    assert summary["time_in_bed_s"] >= (night_min - 1) * 60
    assert summary["temp_known_min"] >= night_min - 2  # more than the second part's minutes

    # No event lost or doubled: what HA saw is what history holds, each once.
    zone = config.zone
    seen = Counter((e["event_type"], e["start"]) for e in published)
    kept = Counter((kind, iso(start, zone)) for kind, start, _ in stored)
    assert max(seen.values()) == 1, seen
    assert max(kept.values()) == 1, kept
    assert seen == kept
    # Movements made before the kill were all stored by the first process; the restless
    # episode they began is told once, by the second, which kept the episode's state.
    assert before_kill == [e for e in stored if e[1] < kill_t and e[0] not in EPISODE_KINDS]
    assert [kind for kind, _, _ in stored if kind in EPISODE_KINDS] == ["restless_start"]
    assert summary["restless_episodes"] == 1

    spasms = [start for _, start, spasm in stored if spasm and start >= bed_time]
    assert any(start < kill_t for start in spasms)
    assert any(start > resume_t for start in spasms)
    assert summary["spasm_count"] == len(spasms)
    assert states[-1]["spasms_tonight"] == len(spasms)

    # The planted spasms are found (one may be missed, as in the live test).
    spasm_labels = [label for label in night.labels if label.spasm_like]
    assert len(spasm_labels) - 1 <= len(spasms) <= len(spasm_labels)
    for start in spasms:
        assert any(lab.start - 2 <= start <= lab.end + 2 for lab in spasm_labels), start
