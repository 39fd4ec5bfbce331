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
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from bench.baseline import baseline_events
from integration.adapters.rulefiles import load_rules
from integration.config import ServiceConfig, load_config
from integration.core.events import MovementEvent, MovementKind
from integration.core.rules import RuleSet
from integration.core.scoring import NightScore, combine, percentile, score_night
from integration.core.simulation.night import (
    DEFAULT_PARTNER_ACCEL_TOPIC,
    LabelKind,
    NightSpec,
    PayloadStyle,
    simulate_night,
)
from integration.messages import InboundMessage
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


@dataclass(frozen=True, slots=True)
class Condition:
    """One sensor setup and bedroom to score."""

    noise_g: float
    rate_hz: float
    payload: PayloadStyle
    coupling: float = 1.0
    confounders: str = "none"
    lag_s: float = 0.0  # delivery lag of the accelerometer's batches, jittered 0..lag_s

    @property
    def name(self) -> str:
        """Short row label."""
        thick = f" x{self.coupling:g}" if self.coupling != 1.0 else ""
        extra = "" if self.confounders == "none" else f" {self.confounders}"
        late = f" late≤{self.lag_s:g}s" if self.lag_s else ""
        return f"{self.noise_g * 1000:g}mg {self.rate_hz:g}Hz {self.payload}{thick}{extra}{late}"


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
CONDITIONS = SENSOR_CONDITIONS + BEDROOM_CONDITIONS + LAG_CONDITIONS
QUICK_CONDITIONS = (
    REFERENCE,
    Condition(0.003, 50.0, PayloadStyle.BATCH, confounders="all"),
    Condition(0.003, 50.0, PayloadStyle.BATCH, confounders="all", lag_s=3.0),
    Condition(0.003, 25.0, PayloadStyle.SINGLE),
)


@dataclass(frozen=True, slots=True)
class Run:
    """A detector's score over a condition's nights, and how fast it got there."""

    score: NightScore
    samples: int
    wall_s: float
    span_s: float
    events: tuple[tuple[str, float, float, bool], ...] = ()  # (kind, start, end, spasm_like)


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
    detectors: tuple[Callable[[Sequence[InboundMessage]], list[MovementEvent]], ...] = (
        lambda messages: pipeline_events(messages, config, rules),
        lambda messages: baseline_events(messages, configs[0]),
    )
    scores: tuple[list[NightScore], list[NightScore]] = ([], [])
    walls = [0.0, 0.0]
    samples = 0
    seen: list[tuple[str, float, float, bool]] = []
    for seed in seeds:
        night = simulate_night(bench_spec(seed, hours, condition))
        messages = [InboundMessage(t, topic, payload) for t, topic, payload in night.messages()]
        samples += round(hours * 3600 * condition.rate_hz)
        for index, detect in enumerate(detectors):
            began = time.perf_counter()
            events = detect(messages)
            walls[index] += time.perf_counter() - began
            scores[index].append(score_night(events, night.labels))
            if index == 0:
                seen += [
                    (str(e.kind), round(e.start, 3), round(e.end, 3), e.spasm_like)
                    for e in events
                    if e.kind is not MovementKind.OUT_OF_BED  # occupancy is timed by arrival
                ]
    span_s = hours * 3600.0 * len(seeds)
    return (
        Run(combine(scores[0]), samples, walls[0], span_s, tuple(seen)),
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


def run_bench(conditions: Sequence[Condition], seeds: Sequence[int], hours: float) -> list[str]:
    """The table's lines."""
    config, rules = demo_config(), load_rules(RULES_DIR)
    configs = (config, partner_config(config))
    lines = [HEADER, "-" * len(HEADER)]
    on_time: dict[Condition, Run] = {}
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
        lines.append(format_row(condition, "baseline", baseline))
    lines.append(
        f"{len(seeds)} simulated night(s) of {hours:g} h per condition; R jcp = recall of jerks, "
        "clonus and PLM (what the targets are for); recall by kind is of spasm-like labels "
        "(tonic spasms barely move a bed); FA/8h = false spasm-like events per 8 hours; "
        "turn→spasm = turnovers reported as a spasm; flagged = coughs, scratches, knocks, pets "
        "and partner movements reported as a spasm; delay = detection time after the "
        "movement's end (s); =on time: a late row's events equal the on-time row's; speed "
        "excludes simulation. Confounders are planted at about twice a real night's rate."
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
