"""Spasm-like movement detection on labelled simulated nights: the real pipeline vs the baseline.

Run: python -m bench.detection [--seeds N] [--hours H] [--quick] [--only TEXT]

Each night is simulated, held in memory (so generation is not timed), replayed through the very
`Pipeline` that `run` uses (embedded demo config, the rule files in `rules/`) and through the
fixed-threshold baseline an HA user has today (`bench.baseline`), and scored with
`integration.core.scoring` (events match labels that overlap within 1 s). Conditions vary one
thing at a time around 50 Hz batched samples with 3 mg noise: sensor noise, single-sample
payloads, a thick mattress that lets through 40 % of the body's motion ("x0.4"), where a fixed
threshold tuned on a thin one goes deaf; then a real bedroom at each sample rate, with each
thing that is not a spasm alone and all together (coughs, scratching, knocks, a pet, a partner
with and without a second accelerometer on their side); then batches delivered late.

Then the sensors people already own, each alone or beside the accelerometer (`Condition.setup`):
an mmWave presence sensor (an LD2410 on ESPHome: presence and moving energy), a bed-occupancy
mat alone, and that mat's state arriving as a Home Assistant entity (a Withings-like in-bed
sensor). A second table scores what those can find at all: restless minutes against the
planted episodes, getting up, turnovers, and planted body movements seen as any movement.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from bench.baseline import baseline_events
from integration.adapters.rulefiles import load_rules
from integration.config import ServiceConfig, load_config
from integration.core.events import MovementEvent, MovementKind
from integration.core.rules import RuleSet
from integration.core.scoring import (
    NightScore,
    RestlessScore,
    combine,
    combine_restless,
    percentile,
    score_night,
    score_restless,
)
from integration.core.simulation.night import (
    DEFAULT_MMWAVE_ENERGY_TOPIC,
    DEFAULT_MMWAVE_PRESENCE_TOPIC,
    DEFAULT_OCCUPANCY_TOPIC,
    DEFAULT_PARTNER_ACCEL_TOPIC,
    LabelKind,
    NightSpec,
    PayloadStyle,
    simulate_night,
)
from integration.messages import InboundMessage, ha_entity_topic
from integration.pipeline import Pipeline
from integration.replay import replay

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
KINDS = (LabelKind.JERK, LabelKind.CLONUS, LabelKind.PLM, LabelKind.TONIC)
# The recall target is for what a bed sensor can see; tonic spasms are reported beside it.
TARGET_KINDS = (LabelKind.JERK, LabelKind.CLONUS, LabelKind.PLM)
# Planted per simulated hour: a restless MS night (several spasms an hour, Penn scale "≥ 1/h"
# to "≥ 10/h") with ordinary turnovers; scaled to the night's length.
PER_HOUR = {"jerks": 3.0, "clonus": 1.0, "plm_series": 0.5, "turnovers": 3.0, "tonic": 0.5}
# What else moves the bed, per hour: about twice a real night's share (REALISTIC_PER_8H), so
# a few nights hold enough of each to measure.
CONFOUNDERS: dict[str, dict[str, float | bool]] = {
    "none": {},
    "cough": {"coughs": 1.0},
    "scratch": {"scratches": 1.0},
    "knock": {"knocks": 1.0},
    "pet": {"pets": 0.5},
    "partner": {"partner": True, "partner_turnovers": 3.0},
    "partner+sensor": {"partner": True, "partner_turnovers": 3.0, "partner_sensor": True},
    "all": {
        "coughs": 1.0,
        "scratches": 1.0,
        "knocks": 1.0,
        "pets": 0.5,
        "partner": True,
        "partner_turnovers": 3.0,
    },
}
CONFOUNDERS["all+sensor"] = CONFOUNDERS["all"] | {"partner_sensor": True}


# Sensor setups: what the room's config reads (the night always holds every sensor's messages).
ACCEL_AND_MAT = "accel+mat"  # the demo bedroom: accelerometer and a bed-occupancy mat
ACCEL_AND_MMWAVE = "accel+mmwave"  # the accelerometer, and an mmWave sensor instead of the mat
ACCEL = "accel"  # the accelerometer alone: out of bed from its micro-motion
MMWAVE = "mmwave"  # an LD2410 only: presence and moving energy
MAT = "mat"  # a bed-occupancy mat only
HA_PRESENCE = "ha_presence"  # the mat's state through an HA entity (Withings-like)
SETUPS = {
    ACCEL_AND_MAT: "",
    ACCEL_AND_MMWAVE: "+mmWave",
    ACCEL: "alone",
    MMWAVE: "mmWave only",
    MAT: "occupancy mat only",
    HA_PRESENCE: "HA presence only",
}
HA_PRESENCE_ENTITY = "binary_sensor.bed_presence"


@dataclass(frozen=True, slots=True)
class Condition:
    """One sensor setup and bedroom to score."""

    noise_g: float
    rate_hz: float
    payload: PayloadStyle
    coupling: float = 1.0
    confounders: str = "none"
    lag_s: float = 0.0  # delivery lag of the accelerometer's batches, jittered 0..lag_s
    setup: str = ACCEL_AND_MAT  # which of the bedroom's sensors the config reads (SETUPS)

    @property
    def name(self) -> str:
        """Short row label."""
        thick = f" x{self.coupling:g}" if self.coupling != 1.0 else ""
        extra = "" if self.confounders == "none" else f" {self.confounders}"
        late = f" late≤{self.lag_s:g}s" if self.lag_s else ""
        if not self.has_accelerometer:
            return f"{SETUPS[self.setup]}{extra}"
        own = "" if self.setup == ACCEL_AND_MAT else f" {SETUPS[self.setup]}"
        return (
            f"{self.noise_g * 1000:g}mg {self.rate_hz:g}Hz {self.payload}{thick}{extra}{late}{own}"
        )

    @property
    def has_accelerometer(self) -> bool:
        """The config reads the under-mattress accelerometer (the baseline needs it)."""
        return self.setup in (ACCEL_AND_MAT, ACCEL_AND_MMWAVE, ACCEL)


REFERENCE = Condition(0.003, 50.0, PayloadStyle.BATCH)
SENSOR_CONDITIONS = (
    Condition(0.001, 50.0, PayloadStyle.BATCH),
    REFERENCE,
    Condition(0.01, 50.0, PayloadStyle.BATCH),
    Condition(0.003, 50.0, PayloadStyle.SINGLE),
    # A thick mattress (or a sensor far from the body): every body motion at 40 %.
    Condition(0.003, 50.0, PayloadStyle.BATCH, coupling=0.4),
)
RATES = (10.0, 25.0, 50.0, 100.0)
BEDROOM_CONDITIONS = (
    *tuple(
        Condition(0.003, rate, PayloadStyle.BATCH, confounders=name)
        for rate in RATES
        for name in CONFOUNDERS
    ),
    Condition(0.003, 50.0, PayloadStyle.SINGLE, confounders="all"),
)
# Late delivery must change when events come out, never which: compared with the on-time row.
LAG_CONDITIONS = tuple(
    Condition(0.003, 50.0, PayloadStyle.BATCH, confounders="all", lag_s=lag)
    for lag in (1.0, 3.0, 10.0)
)
# The sensors people already own, alone and beside the accelerometer; on a plain night and in a
# real bedroom (a partner in the bed keeps a room presence sensor on when the sleeper gets up).
OWNED_CONDITIONS = (
    Condition(0.003, 50.0, PayloadStyle.BATCH, setup=MMWAVE),
    Condition(0.003, 50.0, PayloadStyle.BATCH, confounders="all", setup=MMWAVE),
    Condition(0.003, 10.0, PayloadStyle.BATCH, setup=ACCEL_AND_MMWAVE),
    Condition(0.003, 50.0, PayloadStyle.BATCH, setup=ACCEL_AND_MMWAVE),
    Condition(0.003, 50.0, PayloadStyle.BATCH, confounders="all", setup=ACCEL_AND_MMWAVE),
    Condition(0.003, 50.0, PayloadStyle.BATCH, setup=ACCEL),
    Condition(0.003, 50.0, PayloadStyle.BATCH, setup=MAT),
    Condition(0.003, 50.0, PayloadStyle.BATCH, setup=HA_PRESENCE),
)
# Rows of the first table repeated in the second, for comparison: the accelerometer with a mat
# at each rate, and in a real bedroom.
CAPABILITY_REFERENCES = (
    *(Condition(0.003, rate, PayloadStyle.BATCH) for rate in RATES),
    Condition(0.003, 50.0, PayloadStyle.BATCH, confounders="all"),
)
CONDITIONS = SENSOR_CONDITIONS + BEDROOM_CONDITIONS + LAG_CONDITIONS + OWNED_CONDITIONS
QUICK_CONDITIONS = (
    REFERENCE,
    Condition(0.003, 50.0, PayloadStyle.BATCH, confounders="all"),
    Condition(0.003, 50.0, PayloadStyle.BATCH, confounders="all", lag_s=3.0),
    Condition(0.003, 25.0, PayloadStyle.SINGLE),
    Condition(0.003, 50.0, PayloadStyle.BATCH, setup=MMWAVE),
)


@dataclass(frozen=True, slots=True)
class Run:
    """A detector's score over a condition's nights, and how fast it got there."""

    score: NightScore
    samples: int
    wall_s: float
    span_s: float
    events: tuple[tuple[str, float, float, bool], ...] = ()  # (kind, start, end, spasm_like)
    restless: RestlessScore = field(default_factory=RestlessScore)
    sleep_estimates: int = 0  # nights whose summary holds a sleep estimate


def bench_spec(seed: int, hours: float, condition: Condition) -> NightSpec:
    """A night of `hours` with the per-hour counts, one get-up, one dropout and the confounders."""
    counts = {name: max(1, round(rate * hours)) for name, rate in PER_HOUR.items()}
    extra = {
        name: value if isinstance(value, bool) else max(1, round(value * hours))
        for name, value in CONFOUNDERS[condition.confounders].items()
    }
    return NightSpec(
        seed=seed,
        hours=hours,
        rate_hz=condition.rate_hz,
        payload=condition.payload,
        noise_g=condition.noise_g,
        coupling=condition.coupling,
        get_ups=1,
        dropouts=1,
        delivery_lag_s=condition.lag_s,
        mmwave=condition.setup in (MMWAVE, ACCEL_AND_MMWAVE),
        **counts,
        **extra,
    )


def pipeline_events(
    messages: Sequence[InboundMessage], config: ServiceConfig, rules: RuleSet
) -> list[MovementEvent]:
    """The real pipeline's events over a recording."""
    return replay(messages, Pipeline(config, rules)).events


def score_condition(
    condition: Condition,
    seeds: Sequence[int],
    hours: float,
    configs: tuple[ServiceConfig, ServiceConfig],
    rules: RuleSet,
) -> tuple[Run, Run]:
    """Scores of (pipeline, baseline) over one night per seed."""
    with_partner = CONFOUNDERS[condition.confounders].get("partner_sensor", False)
    config = configs[1] if with_partner else configs[0]
    if condition.setup != ACCEL_AND_MAT:
        config = setup_config(configs[0], condition.setup)
    summaries: list[bool] = []  # per night: whether its summary holds a sleep estimate

    def ours(messages: Sequence[InboundMessage]) -> list[MovementEvent]:
        result = replay(messages, Pipeline(config, rules))
        summaries.append(any(s.sleep is not None for s in result.summaries))
        return result.events

    detectors: tuple[Callable[[Sequence[InboundMessage]], list[MovementEvent]], ...] = (
        ours,
        lambda messages: baseline_events(messages, configs[0]),
    )
    scores: tuple[list[NightScore], list[NightScore]] = ([], [])
    restless: list[RestlessScore] = []
    walls = [0.0, 0.0]
    samples = 0
    seen: list[tuple[str, float, float, bool]] = []
    for seed in seeds:
        night = simulate_night(bench_spec(seed, hours, condition))
        messages = [InboundMessage(t, topic, payload) for t, topic, payload in night.messages()]
        if condition.setup == HA_PRESENCE:
            messages = [_as_ha_entity(message) for message in messages]
        if condition.has_accelerometer:  # mmWave and mat rows process no samples
            samples += round(hours * 3600 * condition.rate_hz)
        for index, detect in enumerate(detectors):
            began = time.perf_counter()
            events = detect(messages)
            walls[index] += time.perf_counter() - began
            scores[index].append(score_night(events, night.labels))
            if index == 0:
                restless.append(score_restless(events, night.labels, rules.detection))
                seen += [
                    (str(e.kind), round(e.start, 3), round(e.end, 3), e.spasm_like)
                    for e in events
                    if e.kind is not MovementKind.OUT_OF_BED  # occupancy is timed by arrival
                ]
    span_s = hours * 3600.0 * len(seeds)
    return (
        Run(
            combine(scores[0]),
            samples,
            walls[0],
            span_s,
            tuple(seen),
            combine_restless(restless),
            sum(summaries),
        ),
        Run(combine(scores[1]), samples, walls[1], span_s),
    )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


HEADER = (
    f"{'condition':<38}{'detector':<10}{'P':>6}{'R':>6}{'F1':>6}{'R jcp':>7}"
    + "".join(f"{kind:>8}" for kind in KINDS)
    + f"{'FA/8h':>7}{'turn→spasm':>11}{'flagged':>9}{'delay p50':>10}{'p99':>7}"
    + f"{'samples/s':>11}{'x real':>8}{'=on time':>9}"
)


def format_row(condition: Condition, who: str, run: Run, same: bool | None = None) -> str:
    """One table line; `same` says whether a late row's events equal the on-time row's."""
    s = run.score
    kinds = "".join(f"{_share(s.recall_of(kind)):>8}" for kind in KINDS)
    speed = run.samples / run.wall_s if run.wall_s else 0.0
    realtime = run.span_s / run.wall_s if run.wall_s else 0.0
    per_8h = s.false_positives / (run.span_s / 28_800.0) if run.span_s else 0.0
    flagged = sum(s.flagged_by_kind.values())
    match = "" if same is None else ("yes" if same else "NO")
    return (
        f"{condition.name:<38}{who:<10}{s.precision:>6.2f}{s.recall:>6.2f}{s.f1:>6.2f}"
        f"{_share(s.recall_of_kinds(TARGET_KINDS)):>7}{kinds}{per_8h:>7.1f}"
        f"{_share(s.turnovers_flagged_share):>11}{flagged:>9}"
        f"{_seconds(percentile(s.delays_s, 50)):>10}{_seconds(percentile(s.delays_s, 99)):>7}"
        f"{speed:>11,.0f}{realtime:>8,.0f}{match:>9}"
    )


def demo_config() -> ServiceConfig:
    """The embedded demo bedroom, whose topics the simulator uses."""
    return load_config(Path(str(resources.files("integration") / "defaults" / "demo.yaml")))


def partner_config(config: ServiceConfig) -> ServiceConfig:
    """The demo bedroom with a second accelerometer under the partner's side."""
    data = config.model_dump(mode="json")
    data["rooms"][0]["sensors"].append(
        {
            "id": "partner_motion",
            "kind": "motion",
            "topic": DEFAULT_PARTNER_ACCEL_TOPIC,
            "unit": "g",
            "side": "partner",
        }
    )
    return ServiceConfig.model_validate(data)


def setup_config(config: ServiceConfig, setup: str) -> ServiceConfig:
    """The demo bedroom reading only the sensors of `setup` (its climate sensors always)."""
    data = config.model_dump(mode="json")
    room = data["rooms"][0]
    kept = {"temperature", "humidity"}
    if setup in (ACCEL_AND_MMWAVE, ACCEL_AND_MAT, ACCEL):
        kept.add("motion")
    if setup in (MAT, ACCEL_AND_MAT):
        kept.add("occupancy")
    sensors = [sensor for sensor in room["sensors"] if sensor["kind"] in kept]
    if setup in (MMWAVE, ACCEL_AND_MMWAVE):
        sensors += [
            {
                "id": "radar_presence",
                "kind": "occupancy",
                "topic": DEFAULT_MMWAVE_PRESENCE_TOPIC,
                "format": "esphome",
            },
            {
                "id": "radar_energy",
                "kind": "movement_energy",
                "topic": DEFAULT_MMWAVE_ENERGY_TOPIC,
                "format": "esphome",
            },
        ]
    if setup == HA_PRESENCE:
        data["homeassistant"] = {"enabled": True, "url": "http://homeassistant.local:8123"}
        sensors.append(
            {
                "id": "bed_presence",
                "kind": "occupancy",
                "source": "homeassistant",
                "entity_id": HA_PRESENCE_ENTITY,
            }
        )
    room["sensors"] = sensors
    return ServiceConfig.model_validate(data)


def _as_ha_entity(message: InboundMessage) -> InboundMessage:
    """The mat's Zigbee2MQTT state as HA's state object of an in-bed binary sensor."""
    if message.topic != DEFAULT_OCCUPANCY_TOPIC:
        return message
    state = "on" if b"true" in message.payload else "off"
    payload = f'{{"state":"{state}","attributes":{{"device_class":"occupancy"}}}}'.encode()
    return InboundMessage(message.t, ha_entity_topic(HA_PRESENCE_ENTITY), payload)


OWNED_HEADER = (
    f"{'condition':<38}{'restless min: planted':>22}{'found':>7}{'inside':>8}"
    f"{'out of bed':>12}{'turnovers':>11}{'moves seen':>12}{'spasm-like':>12}{'FA/8h':>7}"
    f"{'sleep est.':>12}"
)


def format_owned_row(condition: Condition, run: Run) -> str:
    """One line of the second table: what a sensor setup finds at all."""
    r, s = run.restless, run.score
    planted = s.labels_by_kind.get(str(LabelKind.OUT_OF_BED), 0)
    got_up = f"{s.found_by_kind.get(str(LabelKind.OUT_OF_BED), 0)}/{planted}"
    seen = f"{r.body_movements_seen}/{r.body_movements}"
    per_8h = s.false_positives / (run.span_s / 28_800.0) if run.span_s else 0.0
    return (
        f"{condition.name:<38}{r.planted_min:>22.0f}{r.found_min:>7.0f}{r.overlap_min:>8.0f}"
        f"{got_up:>12}{_share(s.recall_of(LabelKind.TURNOVER)):>11}{seen:>12}"
        f"{_share(s.recall_of_kinds(TARGET_KINDS)):>12}{per_8h:>7.1f}"
        f"{f'{run.sleep_estimates}/{s.nights}':>12}"
    )


def run_bench(conditions: Sequence[Condition], seeds: Sequence[int], hours: float) -> list[str]:
    """The table's lines."""
    config, rules = demo_config(), load_rules(RULES_DIR)
    configs = (config, partner_config(config))
    lines = [HEADER, "-" * len(HEADER)]
    on_time: dict[Condition, Run] = {}
    runs: dict[Condition, Run] = {}
    for condition in conditions:
        ours, baseline = score_condition(condition, seeds, hours, configs, rules)
        same = None
        if condition.lag_s:
            reference = replace(condition, lag_s=0.0)
            if reference not in on_time:
                on_time[reference] = score_condition(reference, seeds, hours, configs, rules)[0]
            same = ours.events == on_time[reference].events
        else:
            on_time[condition] = ours
        lines.append(format_row(condition, "pipeline", ours, same))
        if condition.has_accelerometer:
            lines.append(format_row(condition, "baseline", baseline))
        runs[condition] = ours
    lines.append(
        f"{len(seeds)} simulated night(s) of {hours:g} h per condition; R jcp = recall of jerks, "
        "clonus and PLM (what the targets are for); recall by kind is of spasm-like labels "
        "(tonic spasms barely move a bed); FA/8h = false spasm-like events per 8 hours; "
        "turn→spasm = turnovers reported as a spasm; flagged = coughs, scratches, knocks, pets "
        "and partner movements reported as a spasm; delay = detection time after the "
        "movement's end (s); =on time: a late row's events equal the on-time row's; speed "
        "excludes simulation. Confounders are planted at about twice a real night's rate."
    )
    owned = list(
        dict.fromkeys(
            c for c in conditions if c.setup != ACCEL_AND_MAT or c in CAPABILITY_REFERENCES
        )
    )
    if owned:
        lines += ["", OWNED_HEADER, "-" * len(OWNED_HEADER)]
        lines += [format_owned_row(condition, runs[condition]) for condition in owned]
        lines.append(
            "restless min: planted = the restless-episode rule (3 spasm-like movements within "
            "10 min) applied to the planted spasms; found = reported restless episodes; inside "
            "= found minutes within planted ones; out of bed = get-ups found/planted; turnovers "
            "= reported as turnovers; moves seen = planted jerks, clonus, PLM, tonic spasms and "
            "turnovers overlapped by any reported movement; spasm-like = recall of jerks, "
            "clonus and PLM; FA/8h = false spasm-like events per 8 hours; sleep est. = nights "
            "whose summary carries a sleep estimate."
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="nights per condition")
    parser.add_argument("--hours", type=float, default=2.0, help="length of each night")
    parser.add_argument("--quick", action="store_true", help="one 1-hour night, four conditions")
    parser.add_argument("--only", default="", help="only conditions whose name contains this")
    args = parser.parse_args(argv)
    conditions = QUICK_CONDITIONS if args.quick else CONDITIONS
    conditions = tuple(c for c in conditions if args.only in c.name)
    if args.quick:
        lines = run_bench(conditions, [1], 1.0)
    else:
        lines = run_bench(conditions, range(1, args.seeds + 1), args.hours)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
