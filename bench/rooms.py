"""Rooms one service instance keeps up with, each bed streaming 50 Hz batches, before lag appears.

Run: python -m bench.rooms [--quick] [--speed S]

N rooms, each with an under-mattress accelerometer sending one batch of 50 Hz x/y/z a second
(no device timestamp: the service stamps arrival), published live on a private Mosquitto by a
process of its own, `speed` times faster than real time, into one real `Service` on a
`ScaledClock` of the same speed. Everything the service does scales with simulated time —
messages, samples, ticks (one a simulated second), status and history writes — so N rooms at
`speed`x carry the load of N x `speed` rooms at real time; the table says both. N doubles from
`FIRST_ROOMS` until the service falls behind, then two bisections narrow the edge.

It keeps up when, over the timed window, it handled at least `KEEP_UP_SHARE` of what was
published, the backlog (published, not yet handled) stayed under a quarter second of input,
and its inbound queue dropped nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import aiomqtt
from paho.mqtt.client import Client as PahoClient
from paho.mqtt.enums import CallbackAPIVersion

from bench.detection import RULES_DIR
from bench.e2e import BASE_TOPIC, SPAWN, CpuMeter, bench_config, night_spec, running
from integration.adapters.broker import embedded_broker
from integration.clock import ScaledClock
from integration.core.simulation.night import simulate_night
from integration.service import Service

SPEED = 10.0  # each room sends ten batches a wall second: N rooms = 10 N rooms at real time
FIRST_ROOMS = 8
BISECTIONS = 2  # after doubling: the edge to within a quarter of the last good N
KEEP_UP_SHARE = 0.98
BACKLOG_WALL_S = 0.25  # a backlog above this much input is lag a person would see
_RECORDED_HOURS = 0.25  # the stretch of night every room replays, each from its own offset
_STOP_CHECK_EVERY = 64
_PROBE_S = 0.02  # how often the event loop's lateness and the queue are sampled


def accel_topic(room: int) -> str:
    """Room `room`'s accelerometer topic."""
    return f"{BASE_TOPIC}-in/room_{room}/accel"


def room_document(room: int) -> dict[str, Any]:
    """A bedroom with one accelerometer."""
    sensor = {"id": "bed_motion", "kind": "motion", "topic": accel_topic(room), "unit": "g"}
    return {"id": f"room_{room}", "name": f"Room {room}", "sensors": [sensor]}


def without_device_time(payload: bytes) -> bytes:
    """A batch payload minus its `t0`: the service anchors the batch at arrival."""
    if not payload.startswith(b'{"t0":'):
        return payload
    return b"{" + payload[payload.index(b",") + 1 :]


def publish_paced(
    host: str,
    port: int,
    rooms: int,
    speed: float,
    published: Synchronized[int],
    ready: Event,
    go: Event,
    stop: Event,
) -> None:
    """Publisher process: one batch per room every 1/`speed` wall second, evenly spread."""
    spec = night_spec(_RECORDED_HOURS, f"{BASE_TOPIC}-in/recorded", jerks=3, clonus=1, turnovers=2)
    batches = [
        without_device_time(payload)
        for _t, topic, payload in simulate_night(spec).messages()
        if topic == spec.accel_topic
    ]
    topics = [accel_topic(room) for room in range(rooms)]
    client = PahoClient(CallbackAPIVersion.VERSION2, client_id="bench-beds")
    client.connect(host, port)
    client.loop_start()
    ready.set()
    go.wait()
    interval_s = 1.0 / (rooms * speed)
    began = time.monotonic()
    sent = 0
    try:
        while sent % _STOP_CHECK_EVERY or not stop.is_set():
            delay = began + sent * interval_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            room, lap = sent % rooms, sent // rooms
            client.publish(topics[room], batches[(lap + 37 * room) % len(batches)], qos=0)
            sent += 1
            published.value = sent
    finally:
        client.loop_stop()
        client.disconnect()


@dataclass(frozen=True, slots=True)
class Step:
    """One N: what was offered and handled in the timed window, and how the loop fared."""

    rooms: int
    offered_per_s: float
    handled_per_s: float
    backlog_end: int
    queue_max: int
    dropped: int
    loop_lag_p99_s: float
    service_cpu: float
    broker_cpu: float
    speed: float

    @property
    def keeps_up(self) -> bool:
        """Handled nearly all, no backlog worth a person's notice, nothing dropped."""
        return (
            self.handled_per_s >= KEEP_UP_SHARE * self.offered_per_s
            and self.backlog_end <= BACKLOG_WALL_S * self.rooms * self.speed
            and self.dropped == 0
        )


@contextlib.asynccontextmanager
async def beds(
    host: str, port: int, rooms: int, speed: float, published: Synchronized[int]
) -> AsyncIterator[Event]:
    """The publisher process for the block; it starts sending when the yielded event is set."""
    ready, go, stop = SPAWN.Event(), SPAWN.Event(), SPAWN.Event()
    process = SPAWN.Process(
        target=publish_paced,
        args=(host, port, rooms, speed, published, ready, go, stop),
        daemon=True,
    )
    process.start()
    try:
        await asyncio.to_thread(ready.wait, 30.0)
        yield go
    finally:
        stop.set()
        go.set()
        await asyncio.to_thread(process.join, 10.0)
        if process.is_alive():
            process.kill()


async def announced(host: str, port: int, rooms: int) -> None:
    """Return once every room's retained state is out: discovery is done, the load is ours."""
    seen: set[str] = set()
    async with aiomqtt.Client(host, port, identifier="bench-watch-state") as client:
        await client.subscribe(f"{BASE_TOPIC}/+/state", qos=1)
        async for message in client.messages:
            seen.add(message.topic.value)
            if len(seen) >= rooms:
                return


async def measure_step(
    host: str, port: int, workdir: Path, rooms: int, speed: float, warmup_s: float, seconds: float
) -> Step:
    """Run N rooms against a fresh service and time a window once it is warm."""
    config = bench_config(host, port, workdir, [room_document(room) for room in range(rooms)])
    clock = ScaledClock(time.time(), speed)
    # As the demo does: a tick per simulated second, trailing what loopback may still carry.
    service = Service(config, RULES_DIR, clock=clock, tick_every_s=1.0, tick_lag_s=0.05 * speed)
    stats, mqtt = service.pipeline.stats, service.mqtt
    published: Synchronized[int] = SPAWN.Value("q", 0, lock=False)
    async with beds(host, port, rooms, speed, published) as go, running(service):
        await asyncio.wait_for(announced(host, port, rooms), 120.0)
        go.set()
        await asyncio.sleep(warmup_s)
        meter = CpuMeter()
        lags: list[float] = []
        queue_max = 0
        sent0, handled0, began = published.value, stats.messages, time.monotonic()
        while time.monotonic() - began < seconds:
            due = time.monotonic() + _PROBE_S
            await asyncio.sleep(_PROBE_S)
            lags.append(max(0.0, time.monotonic() - due))
            queue_max = max(queue_max, mqtt.queued)
        wall_s = time.monotonic() - began
        sent, handled = published.value, stats.messages
        service_cpu, broker_cpu = meter.percent()
    return Step(
        rooms=rooms,
        offered_per_s=(sent - sent0) / wall_s,
        handled_per_s=(handled - handled0) / wall_s,
        backlog_end=sent - handled,
        queue_max=queue_max,
        dropped=mqtt.counters.dropped_overflow,
        loop_lag_p99_s=statistics.quantiles(lags, n=100)[98] if len(lags) > 1 else 0.0,
        service_cpu=service_cpu,
        broker_cpu=broker_cpu,
        speed=speed,
    )


async def search(
    speed: float, first: int, limit: int, warmup_s: float, seconds: float
) -> list[Step]:
    """Double N until the service falls behind (or `limit`), then bisect the edge."""
    steps: list[Step] = []
    with tempfile.TemporaryDirectory() as directory:
        async with embedded_broker() as (host, port, _broker):

            async def step(rooms: int) -> Step:
                workdir = Path(directory) / f"n{rooms}"
                workdir.mkdir()
                result = await measure_step(host, port, workdir, rooms, speed, warmup_s, seconds)
                steps.append(result)
                return result

            rooms = first
            while (await step(rooms)).keeps_up and rooms * 2 <= limit:
                rooms *= 2
            for _ in range(BISECTIONS):
                good = max((s.rooms for s in steps if s.keeps_up), default=0)
                bad = min((s.rooms for s in steps if not s.keeps_up), default=0)
                if not good or not bad or bad - good <= 1:
                    break
                await step((good + bad) // 2)
    return sorted(steps, key=lambda s: s.rooms)


def table(steps: Sequence[Step], speed: float) -> list[str]:
    """The table's lines."""
    header = (
        f"{'rooms':>6}{'= at 1x':>9}{'offered/s':>11}{'handled/s':>11}{'backlog':>9}"
        f"{'queue max':>11}{'lag p99 ms':>12}{'CPU %':>7}{'broker %':>10}  keeps up"
    )
    lines = [header, "-" * len(header)]
    lines.extend(_row(s, speed) for s in steps)
    best = max((s.rooms for s in steps if s.keeps_up), default=0)
    lines.append(
        f"largest that keeps up: {best} rooms at {speed:g}x = {best * speed:,.0f} rooms at real "
        f"time (one 50 Hz batch a second each); keeps up = handled >= {KEEP_UP_SHARE:.0%} of "
        f"offered, backlog <= {BACKLOG_WALL_S:g} s of input, no drops; lag = event-loop lateness "
        "sampled every 20 ms; CPU % of one core (service process; the broker)"
    )
    return lines


def _row(s: Step, speed: float) -> str:
    return (
        f"{s.rooms:>6}{s.rooms * speed:>9,.0f}{s.offered_per_s:>11,.0f}{s.handled_per_s:>11,.0f}"
        f"{s.backlog_end:>9,}{s.queue_max:>11,}{s.loop_lag_p99_s * 1000:>12.0f}"
        f"{s.service_cpu:>7.0f}{s.broker_cpu:>10.0f}  {'yes' if s.keeps_up else 'NO'}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small steps, seconds")
    parser.add_argument("--speed", type=float, default=SPEED, help="times real time")
    args = parser.parse_args(argv)
    if args.quick:
        steps = asyncio.run(search(args.speed, 4, 8, 0.5, 1.0))
    else:
        steps = asyncio.run(search(args.speed, FIRST_ROOMS, 4096, 2.0, 5.0))
    print("\n".join(table(steps, args.speed)))


if __name__ == "__main__":
    main()
