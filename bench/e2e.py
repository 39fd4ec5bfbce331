"""End-to-end speed on a real, private Mosquitto: throughput and live detection delay.

Run: python -m bench.e2e [--quick]

Throughput: a publisher in a process of its own sends a simulated night's batched 50 Hz
accelerometer messages (1 s of samples each, with the bed's occupancy and climate messages) as
fast as the receiver takes them: it keeps `WINDOW` messages in flight, so the receiver is never
idle and never more than `WINDOW` simulated seconds behind (its device timestamps stay trusted).
The receiver is first a bare aiomqtt subscriber that only counts (the broker's ceiling on this
machine), then the real `Service`: ingest, parse, detect, publish events. The service's clock
follows the publisher through shared memory, so its arrival stamps match the payloads.

Delay: a night with planted jerks and clonus is published live at `SPEED` times real time on a
`ScaledClock` shared by publisher and service; a subscriber on the service's event topic notes
when each event arrives. Delay is that arrival minus the movement's end (its label), in
simulated seconds, next to the same night replayed (the detector's own delay, no transport).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import aiomqtt
import psutil
from paho.mqtt.client import Client as PahoClient
from paho.mqtt.enums import CallbackAPIVersion

from bench.detection import RULES_DIR
from integration.adapters.broker import embedded_broker
from integration.adapters.mqtt import ConnectionState, mqtt_settings, publish_messages
from integration.adapters.rulefiles import load_rules
from integration.clock import ScaledClock
from integration.config import ServiceConfig
from integration.core.events import MovementEvent
from integration.core.scoring import percentile
from integration.core.simulation.night import Label, LabelKind, NightSpec, simulate_night
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import replay
from integration.service import Service

# Messages in flight between publisher and receiver: enough that the receiver never waits,
# few enough (1 simulated second each) to stay inside the parser's trusted clock skew (120 s).
WINDOW = 100
BASE_TOPIC = "bench"
ROOM = "bedroom"
# The delay night: 1 h at 60x is a minute of wall time; the ticker runs once a simulated
# second and trails the clock by 20 ms of wall time (what loopback delivery may take).
SPEED = 60.0
TICK_LAG_WALL_S = 0.02
CLOSE_S = 15.0  # simulated seconds after the last message for open events to close and arrive
SPAWN = multiprocessing.get_context("spawn")  # never fork a process that runs threads
_POLL_S = 0.001  # how often the receiver's count is shared with the publisher
_STOP_CHECK_EVERY = 64  # messages between looks at the stop flag (a syscall)


def room_document(room_id: str, prefix: str, *, accel_only: bool = False) -> dict[str, Any]:
    """A bedroom config with an accelerometer, and unless `accel_only` occupancy and climate."""
    sensors = [{"id": "bed_motion", "kind": "motion", "topic": f"{prefix}/accel", "unit": "g"}]
    if not accel_only:
        sensors += [
            {"id": "bed_occupancy", "kind": "occupancy", "topic": f"{prefix}/occupancy"},
            {"id": "room_temperature", "kind": "temperature", "topic": f"{prefix}/climate"},
        ]
    return {"id": room_id, "name": room_id.replace("_", " ").title(), "sensors": sensors}


def bench_config(
    host: str, port: int, workdir: Path, rooms: Sequence[dict[str, Any]]
) -> ServiceConfig:
    """The service on the private broker, history in `workdir`, no dashboard, no HA REST."""
    return ServiceConfig.model_validate(
        {
            "timezone": "Europe/London",
            "mqtt": {
                "host": host,
                "port": port,
                "client_id": "bench_service",
                "base_topic": BASE_TOPIC,
            },
            "homeassistant": {"enabled": False, "discovery_prefix": "bench-ha"},
            "dashboard": {"enabled": False},
            "store": {"path": str(workdir / "history.db")},
            "rooms": list(rooms),
        }
    )


def night_spec(hours: float, prefix: str, **counts: int) -> NightSpec:
    """A night on `prefix`'s topics with only the given movements planted."""
    planted = {"jerks": 0, "clonus": 0, "plm_series": 0, "turnovers": 0} | counts
    return NightSpec(
        hours=hours,
        get_ups=0,
        dropouts=0,
        tonic=0,
        accel_topic=f"{prefix}/accel",
        occupancy_topic=f"{prefix}/occupancy",
        climate_topic=f"{prefix}/climate",
        **planted,
    )


def shifted(payload: bytes, shift_s: float) -> bytes:
    """A batch payload with its `t0` moved by `shift_s`: a recorded hour sent again later."""
    if not payload.startswith(b'{"t0":'):
        return payload
    comma = payload.index(b",")
    return b'{"t0":%.3f' % (float(payload[6:comma]) + shift_s) + payload[comma:]


@dataclass(frozen=True, slots=True)
class SharedCounts:
    """Counters the publisher process and the receiver both see."""

    published: Synchronized[int]
    processed: Synchronized[int]
    position_t: Synchronized[float]  # the simulated time of the last message published

    @classmethod
    def new(cls, start_t: float) -> SharedCounts:
        """Zeroed counters, the position at `start_t`."""
        return cls(
            SPAWN.Value("q", 0, lock=False),
            SPAWN.Value("q", 0, lock=False),
            SPAWN.Value("d", start_t, lock=False),
        )


def publish_windowed(
    host: str,
    port: int,
    spec: NightSpec,
    counts: SharedCounts,
    ready: Event,
    stop: Event,
) -> None:
    """Publisher process: the night again and again, `WINDOW` messages ahead of the receiver."""
    # Rendered before the clock starts. Only the accelerometer: the other sensors carry no
    # device time, and stamped on arrival up to a window ahead they would run against ticks.
    messages = [m for m in simulate_night(spec).messages() if m[1] == spec.accel_topic]
    client = PahoClient(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.connect(host, port)
    client.loop_start()
    ready.set()
    sent = 0
    span_s = spec.hours * 3600.0
    try:
        for lap in range(1_000_000):
            for t, topic, payload in messages:
                while sent - counts.processed.value >= WINDOW:
                    if stop.is_set():
                        return
                    time.sleep(0.0001)
                if sent % _STOP_CHECK_EVERY == 0 and stop.is_set():
                    return
                counts.position_t.value = t + lap * span_s
                client.publish(topic, shifted(payload, lap * span_s), qos=0)
                sent += 1
                counts.published.value = sent
    finally:
        client.loop_stop()
        client.disconnect()


class FollowClock:
    """The publisher's simulated time, read from shared memory: arrival stamps match payloads."""

    def __init__(self, counts: SharedCounts) -> None:
        self._counts = counts

    def now(self) -> float:
        """The time of the last message published."""
        return float(self._counts.position_t.value)

    async def sleep_until(self, t: float) -> None:
        """Poll until the publisher has reached `t`."""
        # Another process writes the time: there is no event to await, only memory to read.
        while self.now() < t:  # noqa: ASYNC110
            await asyncio.sleep(0.005)

    def take_steps(self) -> list[float]:
        """The publisher's time only moves forward."""
        return []


@dataclass(frozen=True, slots=True)
class Rate:
    """Messages a receiver took over a timed window, and the CPU it and the broker used."""

    messages: int
    wall_s: float
    receiver_cpu: float  # percent of one core
    broker_cpu: float

    @property
    def per_s(self) -> float:
        """Messages per second."""
        return self.messages / self.wall_s


class CpuMeter:
    """CPU time of this process and the broker between two readings, as % of one core."""

    def __init__(self) -> None:
        self._me = psutil.Process()
        brokers = [p for p in self._me.children() if p.name() == "mosquitto"]
        self._broker = brokers[0] if brokers else None
        self._start = self._read()

    def _read(self) -> tuple[float, float, float]:
        mine = self._me.cpu_times()
        theirs = self._broker.cpu_times() if self._broker else None
        broker = theirs.user + theirs.system if theirs else 0.0
        return time.monotonic(), mine.user + mine.system, broker

    def percent(self) -> tuple[float, float]:
        """(this process, broker) since construction."""
        now, mine, broker = self._read()
        wall = now - self._start[0]
        return 100 * (mine - self._start[1]) / wall, 100 * (broker - self._start[2]) / wall


@contextlib.asynccontextmanager
async def publisher(
    host: str, port: int, spec: NightSpec, counts: SharedCounts, processed: Callable[[], int]
) -> AsyncIterator[None]:
    """The windowed publisher process for the block, fed the receiver's count every ms."""
    ready, stop = SPAWN.Event(), SPAWN.Event()
    process = SPAWN.Process(
        target=publish_windowed, args=(host, port, spec, counts, ready, stop), daemon=True
    )
    process.start()

    async def share_count() -> None:
        while True:
            counts.processed.value = processed()
            await asyncio.sleep(_POLL_S)

    feeder = asyncio.create_task(share_count(), name="bench-share-count")
    try:
        await asyncio.to_thread(ready.wait, 30.0)
        yield
    finally:
        stop.set()
        feeder.cancel()
        await asyncio.to_thread(process.join, 10.0)
        if process.is_alive():
            process.kill()


async def timed(processed: Callable[[], int], warmup_s: float, seconds: float) -> Rate:
    """How many messages `processed` gains in `seconds`, after `warmup_s`."""
    await asyncio.sleep(warmup_s)
    meter = CpuMeter()
    first, began = processed(), time.monotonic()
    await asyncio.sleep(seconds)
    count, wall_s = processed() - first, time.monotonic() - began
    return Rate(count, wall_s, *meter.percent())


async def bare_subscriber_rate(
    host: str, port: int, spec: NightSpec, warmup_s: float, seconds: float
) -> Rate:
    """The broker's ceiling: an aiomqtt subscriber that only counts what arrives."""
    received = 0
    async with aiomqtt.Client(host, port, identifier="bench-bare") as client:
        await client.subscribe(spec.accel_topic, qos=1)

        async def count() -> None:
            nonlocal received
            async for _message in client.messages:
                received += 1

        counter = asyncio.create_task(count(), name="bench-bare-count")
        try:
            counts = SharedCounts.new(spec.start)
            async with publisher(host, port, spec, counts, lambda: received):
                return await timed(lambda: received, warmup_s, seconds)
        finally:
            counter.cancel()


@contextlib.asynccontextmanager
async def running(service: Service) -> AsyncIterator[None]:
    """The service for the block, connected and done announcing itself."""
    task = asyncio.create_task(service.run(), name="bench-service")
    try:
        mqtt = service.mqtt
        await mqtt.wait_for(lambda: mqtt.state is ConnectionState.CONNECTED)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def event_listener(
    host: str, port: int, now: Callable[[], float]
) -> AsyncIterator[list[tuple[float, dict[str, Any]]]]:
    """Movement events as they arrive on the service's event topics, stamped with `now()`."""
    arrived: list[tuple[float, dict[str, Any]]] = []
    async with aiomqtt.Client(host, port, identifier="bench-home-assistant") as client:
        await client.subscribe(f"{BASE_TOPIC}/+/event", qos=1)

        async def take() -> None:
            async for message in client.messages:
                document = json.loads(bytes(message.payload))
                if document.get("event_type") != "summary_ready":
                    arrived.append((now(), document))

        listener = asyncio.create_task(take(), name="bench-event-listener")
        try:
            yield arrived
        finally:
            listener.cancel()


async def service_rate(
    host: str, port: int, workdir: Path, spec: NightSpec, warmup_s: float, seconds: float
) -> tuple[Rate, int]:
    """The real service's end-to-end rate, and how many events it published meanwhile."""
    config = bench_config(
        host, port, workdir, [room_document(ROOM, f"{BASE_TOPIC}-in/{ROOM}", accel_only=True)]
    )
    counts = SharedCounts.new(spec.start)
    # Ticks trail the publisher by the window: those messages may still be on their way.
    service = Service(config, RULES_DIR, clock=FollowClock(counts), tick_lag_s=WINDOW + 5.0)
    stats = service.pipeline.stats
    async with (
        running(service),
        event_listener(host, port, time.monotonic) as events,
        publisher(host, port, spec, counts, lambda: stats.messages),
    ):
        rate = await timed(lambda: stats.messages, 2 * warmup_s, seconds)
        return rate, len(events)


@dataclass(frozen=True, slots=True)
class Delays:
    """Per planted movement kind: found / planted, live and replayed delays in simulated s."""

    kind: str
    planted: int
    found_live: int
    live_s: tuple[float, ...]
    replay_s: tuple[float, ...]


def live_delays(
    labels: Sequence[Label], arrived: Sequence[tuple[float, dict[str, Any]]]
) -> dict[Label, float]:
    """Each spasm-like label's delay: first overlapping spasm-like event's arrival minus its end."""
    spasms = [
        (
            at,
            datetime.fromisoformat(e["start"]).timestamp(),
            datetime.fromisoformat(e["end"]).timestamp(),
        )
        for at, e in arrived
        if e.get("spasm_like")
    ]
    delays: dict[Label, float] = {}
    for label in labels:
        if not label.spasm_like:
            continue
        for at, start, end in spasms:
            if start <= label.end + 1.0 and end >= label.start - 1.0:
                delays[label] = at - label.end
                break
    return delays


async def detection_delays(
    host: str, port: int, workdir: Path, spec: NightSpec, speed: float
) -> list[Delays]:
    """Publish `spec`'s night live at `speed` into the service; delays by label kind."""
    prefix = f"{BASE_TOPIC}-in/{ROOM}"
    config = bench_config(host, port, workdir, [room_document(ROOM, prefix)])
    night = simulate_night(spec)
    messages = list(night.messages())
    clock = ScaledClock(spec.start, speed)
    service = Service(
        config, RULES_DIR, clock=clock, tick_every_s=1.0, tick_lag_s=TICK_LAG_WALL_S * speed
    )
    sender = replace(
        mqtt_settings(config), client_id="bench-sensor", availability_topic="bench-sensor/status"
    )
    stats = service.pipeline.stats
    async with running(service), event_listener(host, port, clock.now) as arrived:
        sent = await asyncio.to_thread(asyncio.run, publish_messages(sender, messages, clock))
        await service.wait_for(lambda: stats.messages >= sent)
        await asyncio.sleep(CLOSE_S / speed + TICK_LAG_WALL_S)
    live = live_delays(night.labels, arrived)
    replayed = replay(
        (InboundMessage(*m) for m in messages), Pipeline(config, load_rules(RULES_DIR))
    )
    by_label = _replay_delays(night.labels, replayed.events)
    rows = []
    for kind in (LabelKind.JERK, LabelKind.CLONUS, LabelKind.PLM):
        labels = [label for label in night.labels if label.kind is kind and label.spasm_like]
        if labels:
            rows.append(
                Delays(
                    str(kind),
                    len(labels),
                    sum(1 for label in labels if label in live),
                    tuple(live[label] for label in labels if label in live),
                    tuple(by_label[label] for label in labels if label in by_label),
                )
            )
    return rows


def _replay_delays(labels: Sequence[Label], events: Sequence[MovementEvent]) -> dict[Label, float]:
    """The replayed detector's delay per label (detected_at minus label end), by overlap."""
    delays: dict[Label, float] = {}
    for label in labels:
        for event in events:
            if (
                event.spasm_like
                and event.start <= label.end + 1.0
                and event.end >= label.start - 1.0
            ):
                if event.detected_at is not None:
                    delays[label] = event.detected_at - label.end
                break
    return delays


@dataclass(frozen=True, slots=True)
class Plan:
    """How long each part runs."""

    throughput_hours: float  # the recorded stretch the publisher repeats
    seconds: float  # timed window per receiver
    warmup_s: float  # before the window: connections up, discovery out, caches warm
    delay_spec: NightSpec
    speed: float


def plan(quick: bool) -> Plan:
    """The default run (about two minutes) or the quick one (seconds)."""
    prefix = f"{BASE_TOPIC}-in/{ROOM}"
    if quick:
        return Plan(0.25, 1.0, 0.5, night_spec(0.2, prefix, jerks=5, clonus=1, turnovers=1), 240.0)
    return Plan(
        1.0,
        12.0,
        1.0,
        night_spec(1.0, prefix, jerks=24, clonus=6, plm_series=1, turnovers=4),
        SPEED,
    )


@dataclass(frozen=True, slots=True)
class Results:
    """One run: the broker's ceiling, the service's rate and its events, live delays."""

    broker: str
    bare: Rate
    service: Rate
    events_published: int
    delays: list[Delays]
    plan: Plan


async def measure(p: Plan) -> Results:
    """Both parts on one private broker."""
    throughput_spec = night_spec(
        p.throughput_hours, f"{BASE_TOPIC}-in/{ROOM}", jerks=2, clonus=1, turnovers=1
    )
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        async with embedded_broker() as (host, port, broker):
            bare = await bare_subscriber_rate(host, port, throughput_spec, p.warmup_s, p.seconds)
            service, events = await service_rate(
                host, port, workdir, throughput_spec, p.warmup_s, p.seconds
            )
            (workdir / "live").mkdir()
            delays = await detection_delays(host, port, workdir / "live", p.delay_spec, p.speed)
    return Results(broker, bare, service, events, delays, p)


def table(results: Results) -> list[str]:
    """Both tables' lines."""
    broker, bare, service, events = (
        results.broker,
        results.bare,
        results.service,
        results.events_published,
    )
    delays, p = results.delays, results.plan
    header = f"{'receiver':<34}{'messages':>10}{'seconds':>9}{'msgs/s':>9}{'samples/s':>11}{'CPU %':>7}{'broker %':>10}"
    lines = [header, "-" * len(header)]
    for name, rate in (
        (f"bare aiomqtt subscriber ({broker})", bare),
        ("service: ingest→detect→publish", service),
    ):
        lines.append(
            f"{name:<34}{rate.messages:>10,}{rate.wall_s:>9.1f}{rate.per_s:>9,.0f}"
            f"{rate.per_s * 50:>11,.0f}{rate.receiver_cpu:>7.0f}{rate.broker_cpu:>10.0f}"
        )
    lines.append(
        f"service/ceiling {service.per_s / bare.per_s:.0%}; {events} movement events published while "
        f"timed; one accelerometer message = 1 s of 50 Hz x/y/z (samples/s counts those); "
        f"publisher in its own process, QoS 0, {WINDOW} messages in flight; {psutil.cpu_count()} CPUs"
    )
    header = f"{'planted':<10}{'found':>8}{'live p50':>10}{'p99':>7}{'replay p50':>12}{'p99':>7}"
    lines += ["", header, "-" * len(header)]
    for row in delays:
        lines.append(
            f"{row.kind:<10}{f'{row.found_live}/{row.planted}':>8}{_s(row.live_s, 50):>10}{_s(row.live_s, 99):>7}"
            f"{_s(row.replay_s, 50):>12}{_s(row.replay_s, 99):>7}"
        )
    every = tuple(d for row in delays for d in row.live_s)
    again = tuple(d for row in delays for d in row.replay_s)
    found = f"{sum(r.found_live for r in delays)}/{sum(r.planted for r in delays)}"
    lines.append(
        f"{'all':<10}{found:>8}{_s(every, 50):>10}{_s(every, 99):>7}"
        f"{_s(again, 50):>12}{_s(again, 99):>7}"
    )
    lines.append(
        f"delay = simulated seconds from the movement's end to its event on {BASE_TOPIC}/<room>/event; "
        f"a {p.delay_spec.hours:g} h night published live at {p.speed:g}x real time (ScaledClock), "
        f"ticks every simulated second trailing the clock by {TICK_LAG_WALL_S * p.speed:g} s; "
        "replay = the same night through the pipeline, no broker"
    )
    return lines


def _s(values: Sequence[float], q: float) -> str:
    value = percentile(values, q)
    return "-" if value is None else f"{value:.1f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds per part")
    args = parser.parse_args(argv)
    print("\n".join(table(asyncio.run(measure(plan(args.quick))))))


if __name__ == "__main__":
    main()
