"""`smart-bedroom demo`: the whole product on one machine, with nothing installed.

An embedded broker, the real service against it, and a simulated night published live at a
large speed-up from a thread of its own (as a sensor would, over MQTT); when the night is in,
it is closed and summarised, and the dashboard stays up until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from datetime import time as dt_time
from importlib import resources
from pathlib import Path

from integration.adapters.broker import embedded_broker, free_port
from integration.adapters.mqtt import ConnectionState, mqtt_settings, publish_messages
from integration.adapters.store import Store
from integration.clock import ScaledClock
from integration.config import ServiceConfig, load_config
from integration.core.events import MovementEvent
from integration.core.notes import Note
from integration.core.scoring import NightScore, score_night
from integration.core.simulation.night import NightSpec, scaled_counts, simulate_night
from integration.core.simulation.weeks import SimulatedNight
from integration.core.summary import NightSummary
from integration.errors import StoreError
from integration.service import Service

_LOGGER = logging.getLogger(__name__)

# Above this many wall seconds of lateness the parser stops trusting device timestamps, so the
# service must not fall behind: ticks come every 20 ms of wall time and trail it by 50 ms.
_TICK_WALL_S = 0.02
_TICK_LAG_WALL_S = 0.05
LIGHTS_OUT = dt_time(22, 30)
# With amqtt (no Mosquitto installed), faster than this skews arrival times past what the
# parser trusts, and detection suffers; 120x is an 8-hour night in 4 minutes.
AMQTT_MAX_SPEED = 120.0


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo night showed."""

    broker: str
    speed: float
    start: float  # the simulated night's start (UTC epoch seconds): replay it with NightSpec
    published: int
    wall_s: float
    summaries: tuple[NightSummary, ...]
    events: tuple[MovementEvent, ...]
    score: NightScore
    dashboard_url: str | None


def demo_config(host: str, port: int, workdir: Path, dashboard_port: int) -> ServiceConfig:
    """The packaged demo bedroom, on the embedded broker, with its history in `workdir`."""
    packaged = Path(str(resources.files("integration") / "defaults" / "demo.yaml"))
    config = load_config(packaged)
    return config.model_copy(
        update={
            "mqtt": config.mqtt.model_copy(update={"host": host, "port": port}),
            "store": config.store.model_copy(update={"path": workdir / "history.db"}),
            "dashboard": config.dashboard.model_copy(update={"port": dashboard_port}),
        }
    )


def write_demo_config(workdir: Path) -> Path:
    """The demo's config with its history in `workdir`, so `nights` and `export` can read it."""
    packaged = resources.files("integration") / "defaults" / "demo.yaml"
    history = (workdir / "history.db").resolve()
    path = workdir / "config.yaml"
    text = packaged.read_text(encoding="utf-8") + f"store:\n  path: {json.dumps(str(history))}\n"
    path.write_text(text, encoding="utf-8")
    return path


async def keep_weeks(path: Path, nights: list[SimulatedNight], notes: list[Note]) -> None:
    """Simulated weeks into the history store at `path`: each night as the service keeps one."""
    store = await Store.open(path)
    try:
        for night in nights:
            await store.record(
                events=night.events, minutes=night.minutes, summaries=[night.summary]
            )
        for note in notes:
            await store.add_note(note)
    finally:
        await store.close()


async def nights_kept(workdir: Path) -> int:
    """How many demo nights the history in `workdir` holds already."""
    path = workdir / "history.db"
    if not path.exists():
        return 0
    try:
        store = await Store.open(path)
    except StoreError as err:
        _LOGGER.warning("demo: the kept nights cannot be read (%s); starting from last night", err)
        return 0
    try:
        return len(await store.summaries("bedroom", 10_000))
    finally:
        await store.close()


def last_lights_out(config: ServiceConfig, nights_back: int = 0) -> float:
    """The most recent 22:30 in the demo's timezone, or `nights_back` evenings before it.

    A night must start at night to be one; whole local evenings keep 22:30 across DST.
    """
    zone = config.zone
    now = datetime.now(zone)
    day = (
        now.date()
        if datetime.combine(now.date(), LIGHTS_OUT, zone) <= now
        else (now.date() - timedelta(days=1))
    )
    return datetime.combine(day - timedelta(days=nights_back), LIGHTS_OUT, zone).timestamp()


async def run_demo(
    *,
    workdir: Path,
    hours: float,
    speed: float,
    seed: int,
    progress: Callable[[float], None] | None = None,
    hold: Callable[[DemoResult], Awaitable[object]] | None = None,
) -> DemoResult:
    """Publish a simulated night into the real service; `hold` runs while it is still up."""
    async with embedded_broker() as (host, port, broker):
        if broker == "amqtt":  # a Python broker keeps up with less: slower, still minutes
            speed = min(speed, AMQTT_MAX_SPEED)
        config = demo_config(host, port, workdir, free_port())
        # Each run adds the night before the earliest kept, so the history grows as weeks do.
        start = last_lights_out(config, await nights_kept(workdir))
        spec = NightSpec(seed=seed, hours=hours, start=start, **scaled_counts(hours))
        night = simulate_night(spec)
        clock = ScaledClock(spec.start, speed)
        service = Service(
            config,
            None,
            clock=clock,
            tick_every_s=max(1.0, _TICK_WALL_S * speed),
            tick_lag_s=_TICK_LAG_WALL_S * speed,
        )
        task = asyncio.create_task(service.run(), name="demo-service")
        try:
            mqtt = service.mqtt
            await mqtt.wait_for(lambda: mqtt.state is ConnectionState.CONNECTED)
            publisher = replace(
                mqtt_settings(config),
                client_id="smart-bedroom-simulator",
                availability_topic=f"{config.mqtt.base_topic}/simulator/availability",
            )
            started = time.monotonic()
            sent = await asyncio.to_thread(
                asyncio.run, publish_messages(publisher, night.messages(), clock, progress)
            )
            stats = service.pipeline.stats
            await service.wait_for(lambda: stats.messages >= sent)
            summaries = await service.close_nights()
            # The night is over: at 480x the next evening is minutes away, and a room with a
            # schedule would open a night of no data while the dashboard is up. Stop time.
            clock.stop()
            wall_s = time.monotonic() - started
            url = service.dashboard_url
            result = DemoResult(
                broker=broker,
                speed=speed,
                start=spec.start,
                published=sent,
                wall_s=wall_s,
                summaries=tuple(summaries),
                events=tuple(service.recent_events),
                score=score_night(service.recent_events, night.labels),
                dashboard_url=url,
            )
            if hold is not None:
                await hold(result)
            return result
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
