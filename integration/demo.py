"""`smart-bedroom demo`: the whole product on one machine, with nothing installed.

An embedded broker, the real service against it, and a simulated night published live at a
large speed-up from a thread of its own (as a sensor would, over MQTT); when the night is in,
it is closed and summarised, and the dashboard stays up until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from datetime import time as dt_time
from importlib import resources
from pathlib import Path

from integration.adapters.broker import embedded_broker, free_port
from integration.adapters.mqtt import ConnectionState, publish_messages
from integration.clock import ScaledClock
from integration.config import ServiceConfig, load_config
from integration.core.events import MovementEvent
from integration.core.scoring import NightScore, score_night
from integration.core.simulation.night import NightSpec, scaled_counts, simulate_night
from integration.core.summary import NightSummary
from integration.service import Service, mqtt_settings

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


def last_lights_out(config: ServiceConfig) -> float:
    """The most recent 22:30 in the demo's timezone: a night must start at night to be one."""
    zone = config.zone
    now = datetime.now(zone)
    lights_out = datetime.combine(now.date(), LIGHTS_OUT, zone)
    if lights_out > now:
        lights_out = datetime.combine(now.date() - timedelta(days=1), LIGHTS_OUT, zone)
    return lights_out.timestamp()


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
        spec = NightSpec(
            seed=seed, hours=hours, start=last_lights_out(config), **scaled_counts(hours)
        )
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
            wall_s = time.monotonic() - started
            url = service.dashboard_url
            result = DemoResult(
                broker=broker,
                speed=speed,
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
