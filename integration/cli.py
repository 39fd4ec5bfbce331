"""The `smart-bedroom` command: verbs only — parse, call, print."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import logging
import math
import os
import signal
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from integration import __version__
from integration.adapters.export import clinician_rows
from integration.adapters.export import header as export_header
from integration.adapters.ha_discovery import own_topic_problems
from integration.adapters.mqtt import mqtt_settings, publish_messages
from integration.adapters.rawnights import find_night, read_night, stored_nights
from integration.adapters.recording import BadLine, Recorder, RecordingWriter, read_recording
from integration.adapters.report import (
    ReportRefusedError,
    build_report,
    render_html,
    render_pdf,
)
from integration.adapters.rulefiles import load_rules, write_detection
from integration.adapters.store import ExportTable, Store
from integration.addon import (
    ADDON_CONFIG_DIR,
    OPTIONS_PATH,
    SUPERVISOR_URL,
    addon_launch,
    announce,
)
from integration.clock import Clock, ScaledClock, SystemClock
from integration.config import ServiceConfig, file_problems, load_config
from integration.core.localtime import iso, night_bounds, night_date, parse_hhmm
from integration.core.notes import Note, NoteRefused, make_note
from integration.core.readings import SensorKind
from integration.core.simulation.night import (
    NightSpec,
    labels_document,
    realistic_counts,
    scaled_counts,
    simulate_night,
)
from integration.core.simulation.weeks import (
    MEDICATION_RATE_RATIO,
    WARM_RATE_RATIO,
    WeeksSpec,
    simulate_weeks,
)
from integration.core.summary import render_text
from integration.demo import DemoResult, keep_weeks, run_demo, write_demo_config
from integration.errors import ConfigError, StoreError, SupervisorError
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import ReplayResult, compare, replay, to_document
from integration.service import Service
from integration.tune import MIN_LABELS, LabelledNight, report
from integration.tune import tune as run_tune

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")
_CONFIG_HELP = "service config YAML (default: the embedded demo bedroom)"
_RULES_HELP = "directory of rule files (default: built-in defaults)"


def _default_config() -> Path:
    return Path(str(resources.files("integration") / "defaults" / "demo.yaml"))


# What `check` and `run` check beyond the file itself, so what one accepts the other runs:
# secret files and certificates readable and usable, actuators off the service's own topics.
_RUN_CHECKS = (file_problems, own_topic_problems)


def _load(
    config: Path | None, rules: Path | None, *, for_run: bool = False
) -> tuple[ServiceConfig, Pipeline]:
    """Config and rules, or every located problem on stderr and exit code 1.

    `for_run` also checks what running needs (`_RUN_CHECKS`): `check` and `run` ask for it.
    """
    problems = []
    cfg = None
    try:
        cfg = load_config(config or _default_config(), _RUN_CHECKS if for_run else ())
    except ConfigError as err:
        problems.extend(err.problems)
    try:
        rule_set = load_rules(rules)
    except ConfigError as err:
        problems.extend(err.problems)
    if problems or cfg is None:
        for problem in problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1)
    return cfg, Pipeline(cfg, rule_set)


config_option = click.option(
    "--config", "config", type=click.Path(path_type=Path, dir_okay=False), help=_CONFIG_HELP
)
rules_option = click.option(
    "--rules", "rules", type=click.Path(path_type=Path, file_okay=False), help=_RULES_HELP
)


async def run_until_signalled(main: Callable[[], Awaitable[object]]) -> None:
    """Run `main` until SIGINT or SIGTERM, then cancel it so adapters say goodbye in order."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main())
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        _LOGGER.info("stopped")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


@click.group()
@click.version_option(__version__, prog_name="smart-bedroom")
@click.option(
    "--log-level", default="INFO", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"])
)
def cli(log_level: str) -> None:
    """Keep the bedroom cool and stable; tell how restless each night was."""
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@cli.command(short_help="Validate config and rules; every problem at file:line.")
@config_option
@rules_option
def check(config: Path | None, rules: Path | None) -> None:
    """Validate config and rule files; print every problem with file and line."""
    cfg, pipeline = _load(config, rules, for_run=True)
    sensors = len(cfg.sensor_specs())
    click.echo(
        f"ok: {len(cfg.rooms)} room(s), {sensors} sensor(s), {len(pipeline.subscriptions)} topic(s)"
    )


speed_option = click.option(
    "--speed",
    type=click.FloatRange(min=1.0, max=10_000.0),
    default=1.0,
    show_default=True,
    help="simulated seconds per wall-clock second; `run` and `simulate --publish` given the "
    "same --speed and --start agree on the time",
)


class _Moment(click.ParamType[float]):
    """A moment as ISO 8601 (`2026-11-23T22:30+00:00`; no offset means UTC) or epoch seconds."""

    name = "TIME"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        text = str(value)
        try:
            return float(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is neither a time like 2026-11-23T22:30+00:00 nor epoch seconds")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()


start_option = click.option(
    "--start",
    type=_Moment(),
    default=None,
    help="with --speed: the simulated start, e.g. 2026-11-23T22:30+00:00 (no offset: UTC) "
    "or epoch seconds (default: now)",
)


def _clock(speed: float, start: float | None) -> Clock:
    return SystemClock() if speed == 1.0 else ScaledClock(start or time.time(), speed)


@cli.command(short_help="The service: the configured broker, until stopped.")
@config_option
@rules_option
@speed_option
@start_option
def run(config: Path | None, rules: Path | None, speed: float, start: float | None) -> None:
    """Run the service against the configured MQTT broker until stopped."""
    cfg, _pipeline = _load(config, rules, for_run=True)
    _serve(cfg, rules, _clock(speed, start))


def _serve(cfg: ServiceConfig, rules: Path | None, clock: Clock) -> None:
    """The service until SIGINT or SIGTERM: `run` and `addon` start it this one way."""
    try:  # a secret file gone since the check above: one clear line, not a traceback
        service = Service(cfg, rules, clock=clock)
        asyncio.run(run_until_signalled(service.run))
    except ConfigError as err:
        for problem in err.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None


@cli.command(short_help="Inside the Home Assistant add-on: its options, the Supervisor's broker.")
@click.option(
    "--options",
    "options_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=str(OPTIONS_PATH),
    show_default=True,
    help="the add-on's options, as the Supervisor writes them (the history goes beside them)",
)
@click.option(
    "--supervisor",
    default=SUPERVISOR_URL,
    show_default=True,
    help="the Supervisor's API, which names the MQTT broker",
)
@click.option(
    "--addon-config",
    type=click.Path(path_type=Path, file_okay=False),
    default=str(ADDON_CONFIG_DIR),
    show_default=True,
    help="the add-on's config folder: rules/ and the options' config_file",
)
def addon(options_path: Path, supervisor: str, addon_config: Path) -> None:
    """Run as the Home Assistant add-on: no token and no broker to configure.

    The options and the Supervisor (MQTT broker, Home Assistant) make the config; the service
    then runs as `run` runs it. A problem is one line in the add-on's log, and exit code 1.
    """
    try:
        launch = asyncio.run(
            addon_launch(
                options_path,
                supervisor,
                environ=os.environ,
                addon_config=addon_config,
                checks=_RUN_CHECKS,
            )
        )
        load_rules(launch.rules_dir)
    except SupervisorError as err:
        click.echo(str(err), err=True)
        raise SystemExit(1) from None
    except ConfigError as err:
        for problem in err.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None
    if launch.log_level is not None:
        logging.getLogger().setLevel(launch.log_level)
    announce(launch)
    os.environ.update(launch.environ)  # the secrets the config names as `env:`
    _serve(launch.config, launch.rules_dir, SystemClock())


@cli.command(short_help="A labelled synthetic night, to a file or live over MQTT.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="write the night as a recording (JSONL) here",
)
@click.option(
    "--labels",
    type=click.Path(path_type=Path, dir_okay=False),
    help="where the labels go (default: next to --out, as <name>.labels.json)",
)
@click.option("--publish", is_flag=True, help="publish to the config's broker instead of a file")
@config_option
@speed_option
@start_option
@click.option(
    "--seed", type=int, default=1, show_default=True, help="the same seed makes the same night"
)
@click.option(
    "--hours", type=click.FloatRange(0.1, 24.0), default=8.0, show_default=True, help="night length"
)
@click.option(
    "--rate",
    "rate_hz",
    type=click.FloatRange(5, 100),
    default=50.0,
    show_default=True,
    help="accelerometer samples per second",
)
@click.option(
    "--payload",
    type=click.Choice(["batch", "single"]),
    default="batch",
    show_default=True,
    help="a second of samples per message, or one sample per message",
)
@click.option(
    "--noise",
    "noise_g",
    type=click.FloatRange(0, 0.1),
    default=0.002,
    show_default=True,
    help="the sensor's white noise, in g",
)
@click.option(
    "--jerks", type=click.IntRange(0), default=None, help="how many (default: per 8 h, scaled)"
)
@click.option("--clonus", type=click.IntRange(0), default=None, help="clonus bursts (3-8 Hz)")
@click.option(
    "--plm-series", type=click.IntRange(0), default=None, help="periodic limb movement series"
)
@click.option("--turnovers", type=click.IntRange(0), default=None, help="turning over in bed")
@click.option("--get-ups", type=click.IntRange(0), default=None, help="trips out of bed")
@click.option(
    "--dropouts", type=click.IntRange(0), default=None, help="stretches the sensor goes silent"
)
@click.option("--tonic", type=click.IntRange(0), default=None, help="tonic spasms (little motion)")
@click.option(
    "--realistic",
    is_flag=True,
    help="add a real bedroom's coughs, scratching, knocks, pets and partner (scaled to --hours)",
)
@click.option("--coughs", type=click.IntRange(0), default=None, help="cough trains")
@click.option("--scratches", type=click.IntRange(0), default=None, help="scratching bouts")
@click.option(
    "--knocks", type=click.IntRange(0), default=None, help="knocks on the frame or sitting down"
)
@click.option("--pets", type=click.IntRange(0), default=None, help="visits of a cat or small dog")
@click.option(
    "--partner/--no-partner", default=None, help="a partner breathes on the other side all night"
)
@click.option(
    "--partner-turnovers", type=click.IntRange(0), default=None, help="the partner turning over"
)
@click.option(
    "--partner-sensor", is_flag=True, help="render a second accelerometer under the partner"
)
@click.option(
    "--mmwave",
    is_flag=True,
    help="add an LD2410 mmWave sensor on ESPHome: presence and moving energy on their own topics",
)
@click.option(
    "--delivery-lag",
    "delivery_lag_s",
    type=click.FloatRange(0, 30),
    default=0.0,
    show_default=True,
    help="Wi-Fi lag: accelerometer messages arrive up to this many seconds late, with stalls",
)
@click.option(
    "--coupling",
    type=click.FloatRange(0.05, 2.0),
    default=1.0,
    show_default=True,
    help="how much of the body's motion the mattress passes to the sensor",
)
@click.option(
    "--weeks",
    type=click.IntRange(1, 52),
    default=None,
    help="instead of one night's signal: this many weeks of nights into a history (--history)",
)
@click.option(
    "--history",
    "history_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="with --weeks: a new directory for the history and a config.yaml to read it with",
)
@click.option(
    "--warm-rate-ratio",
    type=click.FloatRange(0.1, 10.0),
    default=WARM_RATE_RATIO,
    show_default=True,
    help="with --weeks, planted: spasm-like rate above the comfort band over the rate in it",
)
@click.option(
    "--medication-night",
    type=click.IntRange(0),
    default=None,
    help="with --weeks: the night (0 = first) a medication change is noted (default: halfway)",
)
@click.option(
    "--medication-rate-ratio",
    type=click.FloatRange(0.1, 10.0),
    default=MEDICATION_RATE_RATIO,
    show_default=True,
    help="with --weeks, planted: spasm-like rate after the medication change over before it",
)
def simulate(
    out: Path | None,
    labels: Path | None,
    publish: bool,
    config: Path | None,
    speed: float,
    start: float | None,
    seed: int,
    hours: float,
    rate_hz: float,
    payload: str,
    noise_g: float,
    coupling: float,
    realistic: bool,
    partner: bool | None,
    partner_sensor: bool,
    mmwave: bool,
    delivery_lag_s: float,
    weeks: int | None,
    history_dir: Path | None,
    warm_rate_ratio: float,
    medication_night: int | None,
    medication_rate_ratio: float,
    **counts: int | None,
) -> None:
    """Generate a labelled synthetic night: a recording plus its labels, or live on MQTT.

    With --weeks: simulated weeks of nights (a temperature and a medication effect planted) kept
    in a history store, for the weeks view, the report and `nights`/`export`.
    """
    if weeks is not None or history_dir is not None:
        if weeks is None or history_dir is None or out is not None or publish:
            raise click.UsageError("--weeks N goes with --history DIR (and not --out or --publish)")
        _simulate_weeks(
            weeks, history_dir, seed, warm_rate_ratio, medication_night, medication_rate_ratio
        )
        return
    if (out is None) == (not publish):
        raise click.UsageError("give either --out FILE or --publish")
    cfg, _pipeline = _load(config, None)
    fields: dict[str, object] = {
        "seed": seed,
        "hours": hours,
        "rate_hz": rate_hz,
        "payload": payload,
        "noise_g": noise_g,
        "coupling": coupling,
        "partner_sensor": partner_sensor,
        "mmwave": mmwave,
        "delivery_lag_s": delivery_lag_s,
    }
    # A count not given scales with the night's length.
    fields |= scaled_counts(hours)
    if realistic:
        fields |= realistic_counts(hours)
    fields |= {name: n for name, n in counts.items() if n is not None}
    if partner is not None:
        fields["partner"] = partner
        if not partner and counts.get("partner_turnovers") is None:
            fields["partner_turnovers"] = 0  # --realistic --no-partner: nobody there to turn
    if publish:
        fields["start"] = start or time.time()
    elif start is not None:
        fields["start"] = start
    fields |= _simulator_topics(cfg)
    try:
        night = simulate_night(NightSpec.model_validate(fields))
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    labels_path = labels or (out.with_suffix(".labels.json") if out else Path("night.labels.json"))
    labels_path.write_text(json.dumps(labels_document(night), indent=1) + "\n", encoding="utf-8")
    if out is not None:
        with RecordingWriter(out, mode="w") as writer:
            for t, topic, body in night.messages():
                writer.write(InboundMessage(t, topic, body))
        click.echo(
            f"wrote {writer.written} messages ({hours:g} h at {rate_hz:g} Hz, {payload}) to {out}; "
            f"{len(night.labels)} labels to {labels_path}",
            err=True,
        )
        return
    settings = replace(
        mqtt_settings(cfg),
        client_id=f"{cfg.mqtt.client_id}-simulator",
        availability_topic=f"{cfg.mqtt.base_topic}/simulator/availability",
    )
    clock = _clock(speed, night.spec.start)
    sent = asyncio.run(publish_messages(settings, night.messages(), clock))
    click.echo(f"published {sent} messages at {speed:g}x; labels in {labels_path}", err=True)


def _simulate_weeks(
    weeks: int,
    directory: Path,
    seed: int,
    warm_rate_ratio: float,
    medication_night: int | None,
    medication_rate_ratio: float,
) -> None:
    """Simulated weeks kept in `directory`, with the demo's config to read them.

    They end with the evening before the current night's date: never a night still under way.
    """
    if (directory / "history.db").exists():
        click.echo(
            f"{directory} already holds a history (history.db): give a new or empty directory",
            err=True,
        )
        raise SystemExit(1)
    cfg, _pipeline = _load(None, None)  # the demo bedroom, as the config written below has it
    room = cfg.rooms[0]
    nights = 7 * weeks
    last_night = night_date(time.time(), cfg.zone) - timedelta(days=1)
    try:
        spec = WeeksSpec(
            nights=nights,
            seed=seed,
            start=last_night - timedelta(days=nights - 1),
            room=room.id,
            room_name=room.name,
            zone=cfg.zone.key,
            warm_rate_ratio=warm_rate_ratio,
            medication_night=nights // 2 if medication_night is None else medication_night,
            medication_rate_ratio=medication_rate_ratio,
        )
    except ValueError as err:
        click.echo(f"simulate --weeks: {err}", err=True)
        raise SystemExit(1) from err
    directory.mkdir(parents=True, exist_ok=True)
    config_file = write_demo_config(directory)
    store_path = _load(config_file, None)[0].store.path
    simulated, notes = simulate_weeks(spec)
    try:
        asyncio.run(keep_weeks(store_path, simulated, notes))
    except StoreError as err:
        click.echo(f"history store: {err}", err=True)
        raise SystemExit(1) from err
    click.echo(
        f"wrote {nights} simulated nights ({spec.start} to {last_night}) and {len(notes)} note "
        f"to {store_path}; planted: {warm_rate_ratio:g}x above the band, "
        f"{medication_rate_ratio:g}x after night {spec.medication_night}. "
        f"Try `smart-bedroom nights --config {config_file}`.",
        err=True,
    )


@cli.command(short_help="Record the configured topics to a file, for replay.")
@config_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="JSONL file to append to",
)
@click.option("--duration", type=float, default=None, help="stop after this many seconds")
def record(config: Path | None, out: Path, duration: float | None) -> None:
    """Record every message on the configured topics, one JSON object a line."""
    cfg, _pipeline = _load(config, None)
    recorder = Recorder(cfg, out)

    async def main() -> None:
        if duration is None:
            await recorder.run()
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(duration):
                await recorder.run()

    asyncio.run(run_until_signalled(main))
    click.echo(f"recorded {recorder.written} message(s) to {out}", err=True)


@cli.command(
    name="replay", short_help="A recording through the pipeline of `run`, on simulated time."
)
@click.argument(
    "recording", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
@config_option
@rules_option
@click.option(
    "--night",
    "night_day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="a kept raw night instead of a file: the date of its evening, YYYY-MM-DD",
)
@click.option("--room", help="with --night: the room, when several have that night")
@click.option(
    "--compare-rules",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="a shadow test: the night under --rules and under these, side by side",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON document (schema in README)")
def replay_command(
    recording: Path | None,
    config: Path | None,
    rules: Path | None,
    night_day: datetime | None,
    room: str | None,
    compare_rules: Path | None,
    as_json: bool,
) -> None:
    """Feed a recording, or a kept raw night, through the same pipeline as `run`.

    A recording ending in .gz is read as a kept night is (gzip, torn tail left out).
    """
    if room is not None and night_day is None:
        raise click.UsageError("--room goes with --night")
    if as_json and compare_rules is not None:
        raise click.UsageError("--json prints one replay: leave out --compare-rules")
    cfg, pipeline = _load(config, rules)
    if night_day is not None and recording is None:
        source = _kept_night(cfg, night_day.date(), room)
    elif recording is not None and night_day is None:
        source = recording
    else:
        raise click.UsageError("give a recording file or --night DATE, not both")
    bad: list[BadLine] = []
    started = time.perf_counter()
    result = replay(_messages(source, bad), pipeline)
    wall_s = time.perf_counter() - started
    for line in bad[:10]:
        click.echo(f"{source}:{line.line}: skipped: {line.reason}", err=True)
    if compare_rules is not None:
        other = replay(_messages(source, []), _load(config, compare_rules)[1])
        names = (str(rules or "built-in rules"), str(compare_rules))
        click.echo(f"{source.name}: {len(result.events)} vs {len(other.events)} events")
        for text in compare(result, other, cfg.zone, names=names):
            click.echo(text)
        return
    if as_json:
        document = to_document(result, pipeline, source=source.name, bad_lines=len(bad))
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    _print_human(result, pipeline, wall_s)


def _messages(source: Path, bad: list[BadLine]) -> list[InboundMessage]:
    """A recording file's messages, or a kept raw night's (gzip)."""
    if source.name.endswith(".gz"):
        return list(read_night(source, bad))
    with source.open(encoding="utf-8", errors="replace") as lines:
        return list(read_recording(lines, bad))


def _kept_night(cfg: ServiceConfig, day: date, room: str | None) -> Path:
    """The file of a kept raw night, or a usage error saying which nights there are."""
    directory = cfg.store.raw_nights_directory
    found = find_night(directory, day, room)
    if len(found) == 1:
        return found[0].path
    if not found:
        kept = stored_nights(directory)
        have = ", ".join(f"{n.night_date} ({n.room})" for n in kept[-14:]) or "none"
        raise click.UsageError(f"no raw night {day} kept in {directory}; kept nights: {have}")
    rooms = ", ".join(n.room for n in found)
    raise click.UsageError(f"several rooms have the night {day} ({rooms}): add --room")


@cli.command(short_help="Tune detection from your labels on the kept nights.")
@config_option
@rules_option
@click.option("--room", help="only this room's nights")
@click.option("--write", is_flag=True, help="write the proposal into the rules directory (--rules)")
def tune(config: Path | None, rules: Path | None, room: str | None, write: bool) -> None:
    """Replay the kept raw nights with your labels and search the detection settings.

    Prints a before/after table per night; changes nothing unless --write, and nothing at all
    with fewer than the labels it needs.
    """
    cfg, pipeline = _load(config, rules)
    if write and rules is None:
        raise click.UsageError("--write needs --rules DIR: the rules to write the proposal into")
    kept = [n for n in stored_nights(cfg.store.raw_nights_directory) if room in (None, n.room)]
    _cfg, labels = _history(config, lambda store: store.labels(room, 0.0, math.inf))
    nights = []
    for night in kept:
        from_t, to_t = night_bounds(night.night_date, cfg.zone)
        said = [x for x in labels if x.room == night.room and from_t <= x.start < to_t]
        if said:
            messages = list(read_night(night.path))
            nights.append(LabelledNight(str(night.night_date), night.room, messages, said))
    given = sum(len(n.labels) for n in nights)
    if given < MIN_LABELS:
        click.echo(
            f"{given} label(s) on the {len(kept)} kept night(s); tune needs at least {MIN_LABELS} "
            "to move a setting. Label more events (HA's buttons or the dashboard): nothing changed."
        )
        return
    click.echo(f"replaying {len(nights)} labelled night(s), {given} labels …", err=True)
    result = run_tune(nights, cfg, pipeline.rules)
    for line in report(nights, result):
        click.echo(line)
    if write and result.changes and rules is not None:
        proposal = {name: new for name, (_old, new) in result.changes.items()}
        written = write_detection(rules, proposal)
        click.echo(f"wrote the proposal to {written}; a running service reloads it")


def _local_day(text: str, zone: ZoneInfo) -> float:
    """`YYYY-MM-DD` as the epoch seconds of that local midnight."""
    try:
        day = date.fromisoformat(text)
    except ValueError as err:
        raise click.BadParameter(f"{text!r} is not a date like 2026-11-24") from err
    return datetime.combine(day, datetime.min.time(), zone).timestamp()


def _history(
    config: Path | None, query: Callable[[Store], Awaitable[_T]]
) -> tuple[ServiceConfig, _T]:
    """Run one query against the config's history store, or exit 1 with why."""
    cfg, _pipeline = _load(config, None)

    async def main() -> _T:
        store = await Store.open(cfg.store.path)
        try:
            return await query(store)
        finally:
            await store.close()

    if not cfg.store.path.exists():
        click.echo(f"no history yet: {cfg.store.path} does not exist", err=True)
        raise SystemExit(1)
    try:
        return cfg, asyncio.run(main())
    except StoreError as err:
        click.echo(f"history store: {err}", err=True)
        raise SystemExit(1) from err


@cli.command(short_help="Recent nights from the history, a line each.")
@config_option
@click.option("--last", type=click.IntRange(1, 3660), default=14, show_default=True, help="nights")
def nights(config: Path | None, last: int) -> None:
    """List recent nights, a line each, from the history store."""
    far_past, now = 0.0, time.time()
    cfg, found = _history(config, lambda store: store.nights(far_past, now))
    zone = cfg.zone
    header = f"{'night':<11} {'room':<10} {'in bed':>7} {'spasms':>6} {'/h':>5} {'restless':>8} {'in band':>7} {'asleep':>6} {'temp':>5}"
    click.echo(header)
    for summary in found[-last:]:
        asleep = "" if summary.sleep is None else f"{summary.sleep.efficiency:.0%}"
        band = "" if summary.in_band_share is None else f"{summary.in_band_share:.0%}"
        rate = "" if summary.spasm_rate_per_h is None else f"{summary.spasm_rate_per_h:.1f}"
        temp = "" if summary.temp_mean_c is None else f"{summary.temp_mean_c:.1f}"
        hours = summary.time_in_bed_s / 3600
        bed = datetime.fromtimestamp(summary.bed_time, zone).strftime("%H:%M")
        click.echo(
            f"{summary.night_date:<11} {summary.room:<10} {hours:5.1f} h {summary.spasm_count:>6}"
            f" {rate:>5} {summary.restless_total_min:6.0f} m {band:>7} {asleep:>6} {temp:>5}"
            f"  (bed {bed})"
        )


@cli.command(short_help="History as CSV or JSON, for a clinician's spreadsheet.")
@config_option
@click.option("--from", "from_day", required=True, help="first local day, YYYY-MM-DD")
@click.option("--to", "to_day", required=True, help="last local day, YYYY-MM-DD (included)")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--table",
    type=click.Choice(["nights", "events", "actions", "minutes", "labels", "notes"]),
    default="nights",
    show_default=True,
    help="one row per night (the summary), event, action, minute of night, label, or note",
)
@click.option(
    "--raw",
    is_flag=True,
    help="the store's own columns (epoch seconds, full precision, JSON cells), for programs",
)
def export(
    config: Path | None, from_day: str, to_day: str, fmt: str, table: ExportTable, raw: bool
) -> None:
    """Export history for a clinician, as CSV or JSON on standard output.

    Columns in plain words, local times with their UTC offset, rounded numbers, one value a
    cell: it opens as it is in a spreadsheet.
    """
    zone = _load(config, None)[0].zone
    start = _local_day(from_day, zone)
    end = _local_day(to_day, zone) + 86_400  # the whole last day
    if end <= start:
        raise click.BadParameter(f"--from {from_day} is after --to {to_day}", param_hint="--from")
    _cfg, stored = _history(config, lambda store: store.export(start, end, table))
    rows: list[dict[str, Any]] = (
        [dict(row) for row in stored] if raw else clinician_rows(table, stored, zone)
    )
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    columns = (list(rows[0]) if rows else []) if raw else export_header(table)
    writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def _report_day(text: str, option: str) -> date:
    """A `report` date, or exit 1 saying what a date looks like."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        click.echo(f"report not made: {option} {text!r} is not a date like 2026-11-24", err=True)
        raise SystemExit(1) from None


@cli.command("report", short_help="A report of the nights for your neurologist, as PDF or HTML.")
@click.option("--from", "from_day", required=True, help="the first night, YYYY-MM-DD")
@click.option("--to", "to_day", required=True, help="the last night, YYYY-MM-DD (included)")
@click.option("--room", help="the room (default: the config's only room)")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="the file to write: .pdf, or .html for the printable page",
)
@config_option
def report_command(
    from_day: str, to_day: str, room: str | None, out: Path, config: Path | None
) -> None:
    """Write a report of one room's nights: charts, a nights table, what goes with what.

    Nights are dated by the evening they began. A period with nights missing still makes a
    report, which says which nights have no data.
    """
    if out.suffix.lower() not in (".pdf", ".html"):
        click.echo(f"report not made: --out {out} must end in .pdf or .html", err=True)
        raise SystemExit(1)
    first, last = _report_day(from_day, "--from"), _report_day(to_day, "--to")
    cfg, _pipeline = _load(config, None)
    zone = cfg.zone
    room_names = {r.id: r.name for r in cfg.rooms}
    try:
        _cfg, made = _history(
            config,
            lambda store: build_report(
                store,
                room=room,
                room_names=room_names,
                first=first,
                last=last,
                zone=zone,
                made_on=datetime.now(zone).date(),
            ),
        )
    except ReportRefusedError as refused:
        click.echo(f"report not made: {refused}", err=True)
        raise SystemExit(1) from None
    html = render_html(made)
    try:
        if out.suffix.lower() == ".html":
            out.write_text(html, encoding="utf-8")
        else:
            out.write_bytes(render_pdf(html))
    except OSError as err:
        click.echo(f"report not made: {err}", err=True)
        raise SystemExit(1) from err
    missing = f"; nights without data: {'; '.join(made.gap_words)}" if made.gaps else ""
    click.echo(
        f"wrote {out}: {made.room_name}, {made.period}, {len(made.rows)} of "
        f"{made.nights_in_period} nights with data{missing}"
    )


def _note_time(text: str, zone: ZoneInfo, now: float) -> float:
    """`--at`: "HH:MM" today (local), or an ISO date-time (local unless it has an offset)."""
    clock = parse_hhmm(text)
    if clock is not None:
        return datetime.combine(datetime.fromtimestamp(now, zone).date(), clock, zone).timestamp()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        click.echo(
            f"note not kept: --at {text!r} is neither a time today like 22:00 nor a date-time "
            "like 2026-11-23T22:00",
            err=True,
        )
        raise SystemExit(1) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()


@cli.command(short_help="Note what may explain the nights: a medication change, a hot day.")
@click.argument("text")
@click.option(
    "--at",
    "at_text",
    metavar="TIME",
    help="when it happened: 22:00 (today) or 2026-11-23T22:00 (local time); default: now",
)
@click.option("--room", help="the room it concerns (default: the config's only room)")
@config_option
def note(text: str, at_text: str | None, room: str | None, config: Path | None) -> None:
    """Keep a note in the history: it shows on the night page, in trends, reports and exports.

    Example: smart-bedroom note "baclofen 10 mg at 22:00, first dose" --at 22:00
    """
    cfg, _pipeline = _load(config, None)
    zone, now = cfg.zone, time.time()
    rooms = [r.id for r in cfg.rooms]
    if room is None and len(rooms) > 1:
        click.echo(f"several rooms ({', '.join(rooms)}): say which with --room", err=True)
        raise SystemExit(1)
    if room is not None and room not in rooms:
        click.echo(f"no room {room!r} in the config; its rooms: {', '.join(rooms)}", err=True)
        raise SystemExit(1)
    at = now if at_text is None else _note_time(at_text, zone, now)
    try:
        made = make_note(room or rooms[0], text, at, now, "cli")
    except NoteRefused as refused:
        hint = " (for an earlier day, give the date: --at 2026-11-23T22:00)" if at > now else ""
        click.echo(f"note not kept: {refused}{hint}", err=True)
        raise SystemExit(1) from None

    async def keep() -> Note:
        store = await Store.open(cfg.store.path)
        try:
            return await store.add_note(made, created=now)
        finally:
            await store.close()

    try:
        kept = asyncio.run(keep())
    except StoreError as err:
        click.echo(f"history store: {err}", err=True)
        raise SystemExit(1) from err
    when = datetime.fromtimestamp(kept.at, zone).strftime("%Y-%m-%d %H:%M")
    click.echo(f"note {kept.id} kept for {kept.room} at {when}: {kept.text}")


def _simulator_topics(cfg: ServiceConfig) -> dict[str, str]:
    """The topics of the config's first bed: the simulated night speaks where `run` listens.

    The first room with a motion sensor gives the accelerometer (and a partner's, if it has
    one), its occupancy sensor and its temperature sensor; a topic with wildcards is left to
    the simulator's default, which that filter may well match.
    """
    for room in cfg.rooms:
        by_kind: dict[str, str] = {}
        for sensor in room.sensors:
            key = {
                (SensorKind.MOTION, "person"): "accel_topic",
                (SensorKind.MOTION, "partner"): "partner_accel_topic",
                (SensorKind.OCCUPANCY, "person"): "occupancy_topic",
                (SensorKind.TEMPERATURE, "person"): "climate_topic",
            }.get((sensor.kind, sensor.side))
            topic = sensor.topic  # None for an HA entity: the simulator publishes on MQTT
            if key and key not in by_kind and topic is not None and not {"+", "#"} & set(topic):
                by_kind[key] = topic
        if "accel_topic" in by_kind:
            return by_kind
    return {}


@cli.command(short_help="A simulated night through the real service, nothing to install.")
@click.option("--hours", type=click.FloatRange(0.5, 12.0), default=8.0, show_default=True)
@click.option(
    "--speed",
    type=click.FloatRange(1.0, 1000.0),
    default=480.0,
    show_default=True,
    help="simulated seconds per second (480: an 8-hour night in a minute)",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--exit", "exit_after", is_flag=True, help="stop after the summary (no dashboard wait)"
)
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("smart-bedroom-demo"),
    show_default=True,
    help="where the demo keeps its history and a config to read it with; each run adds the night before",
)
@click.option("--fresh", is_flag=True, help="forget the earlier demo nights in --dir first")
def demo(
    hours: float, speed: float, seed: int, exit_after: bool, workdir: Path, fresh: bool
) -> None:
    """A simulated night through the real service, with an embedded broker: nothing to install."""
    logging.getLogger().setLevel(logging.WARNING)  # the progress bar and the summary speak
    if fresh:
        for name in ("history.db", "history.db-wal", "history.db-shm"):
            (workdir / name).unlink(missing_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = write_demo_config(workdir)

    async def show(result: DemoResult) -> None:
        bar.render_finish()
        click.echo(
            f"\n{result.published:,} messages over {result.broker} at {result.speed:g}x "
            f"in {result.wall_s:.0f} s; "
            f"{len(result.events)} events; spasm-like found vs planted: precision "
            f"{result.score.precision:.2f}, recall {result.score.recall:.2f}"
        )
        for summary in result.summaries:
            click.echo("\n" + render_text(summary))
        click.echo(
            f"\nhistory kept in {workdir}/: try `smart-bedroom nights --config {config_file}` "
            f"or `smart-bedroom export --config {config_file} --from … --to …`"
        )
        if result.dashboard_url is not None:
            click.echo(f"\ndashboard: {result.dashboard_url}")
        if not exit_after:
            click.echo("Ctrl-C to stop.")
            await asyncio.Future()

    with click.progressbar(length=int(hours * 3600), label="simulated night") as bar:
        done = [0.0]
        start = [0.0]

        def progress(t: float) -> None:
            if not start[0]:
                start[0] = t
            step = int(t - start[0] - done[0])
            if step >= 60:
                bar.update(step)
                done[0] += step

        asyncio.run(
            run_until_signalled(
                lambda: run_demo(
                    workdir=workdir,
                    hours=hours,
                    speed=speed,
                    seed=seed,
                    progress=progress,
                    hold=show,
                )
            )
        )


def _print_human(result: ReplayResult, pipeline: Pipeline, wall_s: float) -> None:
    zone = pipeline.config.zone
    stats = pipeline.stats
    if result.first_t is None or result.last_t is None:
        click.echo("the recording holds no messages")
        return
    span_s = result.last_t - result.first_t
    speed = span_s / wall_s if wall_s > 0 else float("inf")
    click.echo(
        f"replayed {stats.messages} messages, {iso(result.first_t, zone)} → {iso(result.last_t, zone)}"
    )
    click.echo(f"  {span_s / 3600:.2f} h of recording in {wall_s:.2f} s ({speed:,.0f}x real time)")
    readings = ", ".join(f"{kind} {n}" for kind, n in sorted(stats.readings.items())) or "none"
    click.echo(f"  readings: {readings}")
    rejected = ", ".join(f"{reason} {n}" for reason, n in sorted(stats.rejected.items())) or "none"
    click.echo(f"  rejected: {rejected}; on no configured topic: {stats.unrouted}")
    click.echo(f"events ({len(result.events)}):")
    for event in result.events:
        start = iso(event.start, zone)[11:19]
        flag = "spasm-like" if event.spasm_like else ""
        click.echo(
            f"  {start}  {event.room:<10} {event.kind:<15} {event.end - event.start:6.1f} s"
            f"  peak {event.peak:5.1f}x  conf {event.confidence:.2f}  {flag}"
        )
    for notice in result.notices:
        click.echo(
            f"notice {iso(notice.t, zone)[11:19]} {notice.room}/{notice.sensor_id}: {notice.message}"
        )
    for summary in result.summaries:
        click.echo(f"morning summary ({summary.room}):")
        click.echo(textwrap.indent(render_text(summary), "  "))
    click.echo(f"actions ({len(result.actions)}):")
    for action in result.actions:
        click.echo(
            f"  {iso(action.t, zone)[11:19]}  {action.room:<10} {action.kind} {action.target} {dict(action.data)}"
        )


def main() -> None:
    """Entry point of the `smart-bedroom` script."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit as done:
        # `replay … | head`: the reader had all it wanted. Click says so by exiting 1 with
        # stdout wrapped to stay quiet; for a pipe that is success, as for `cat`.
        if done.code == 1 and type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
            sys.exit(0)
        raise
