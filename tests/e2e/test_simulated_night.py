from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import pytest

from bench.baseline import baseline_events
from bench.detection import main as detection_bench
from integration.adapters.rulefiles import load_rules
from integration.config import ServiceConfig, load_config
from integration.core.events import MovementKind
from integration.core.scoring import NightScore, score_night
from integration.core.simulation.night import NightSpec, SimulatedNight, simulate_night
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import ReplayResult, replay

REPO = Path(__file__).resolve().parents[2]
F1_FLOOR = 0.8
# A fixed threshold finds nearly every planted spasm at this noise; where it fails is calling
# each turnover a spasm, so on a PLM-heavy night its F1 is already about 0.9. The margin asks
# for clearly better, and the false-alarm test below pins down where the difference lies.
F1_MARGIN_OVER_BASELINE = 0.05

# Two hours with what a restless night holds per hour or two, at realistic noise.
SPEC = NightSpec(
    seed=11,
    hours=2.0,
    rate_hz=50.0,
    noise_g=0.003,
    jerks=6,
    clonus=2,
    plm_series=1,
    turnovers=6,
    get_ups=1,
    dropouts=1,
    tonic=1,
)


def demo_config() -> ServiceConfig:
    return load_config(Path(str(resources.files("integration") / "defaults" / "demo.yaml")))


@cache
def simulated() -> tuple[SimulatedNight, list[InboundMessage], ReplayResult]:
    night = simulate_night(SPEC)
    messages = [InboundMessage(t, topic, payload) for t, topic, payload in night.messages()]
    result = replay(messages, Pipeline(demo_config(), load_rules(REPO / "rules")))
    return night, messages, result


@cache
def pipeline_score() -> NightScore:
    night, _, result = simulated()
    return score_night(result.events, night.labels)


def test_replay_finds_the_planted_spasms() -> None:
    assert pipeline_score().f1 >= F1_FLOOR


def test_replay_beats_the_fixed_threshold_baseline() -> None:
    night, messages, _ = simulated()
    baseline = score_night(baseline_events(messages, demo_config()), night.labels)
    assert pipeline_score().f1 >= baseline.f1 + F1_MARGIN_OVER_BASELINE


def test_turnovers_are_not_reported_as_spasms() -> None:
    assert pipeline_score().turnovers_flagged == 0


def test_false_alarms_stay_under_one_a_night_where_the_baseline_raises_one_per_turnover() -> None:
    night, messages, _ = simulated()
    baseline = score_night(baseline_events(messages, demo_config()), night.labels)
    assert baseline.false_positives >= SPEC.turnovers
    assert pipeline_score().false_positives < 1


def test_getting_up_is_found() -> None:
    night, _, result = simulated()
    (away,) = [label for label in night.labels if label.kind == "out_of_bed"]
    assert any(
        e.kind is MovementKind.OUT_OF_BED and e.start < away.end and away.start < e.end
        for e in result.events
    )


def test_detection_bench_prints_both_detectors(capsys: pytest.CaptureFixture[str]) -> None:
    detection_bench(["--quick"])
    out = capsys.readouterr().out
    assert "pipeline" in out
    assert "baseline" in out
    assert "F1" in out
