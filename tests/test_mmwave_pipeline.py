"""A simulated night with an LD2410 through the real pipeline: restlessness and getting up."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from integration.adapters.recording import read_recording
from integration.adapters.rulefiles import load_rules
from integration.cli import cli
from integration.config import ServiceConfig
from integration.core.events import MovementKind
from integration.core.scoring import score_night, score_restless
from integration.core.simulation.night import (
    DEFAULT_ACCEL_TOPIC,
    DEFAULT_MMWAVE_ENERGY_TOPIC,
    DEFAULT_MMWAVE_PRESENCE_TOPIC,
    LabelKind,
    NightSpec,
    SimulatedNight,
    simulate_night,
)
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import ReplayResult, replay

RULES = load_rules(Path(__file__).resolve().parents[1] / "rules")
RADAR_SENSORS = [
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
ACCEL = {"id": "bed_motion", "kind": "motion", "topic": DEFAULT_ACCEL_TOPIC, "unit": "g"}


def config(*, accelerometer: bool) -> ServiceConfig:
    sensors = [*RADAR_SENSORS, ACCEL] if accelerometer else RADAR_SENSORS
    return ServiceConfig.model_validate(
        {
            "timezone": "Europe/London",
            "rooms": [{"id": "bedroom", "name": "Bedroom", "sensors": sensors}],
        }
    )


@cache
def night() -> SimulatedNight:
    # A restless two hours, as the detection bench plants them (per hour: 3 jerks, 1 clonus,
    # half a PLM series, 3 turnovers, half a tonic spasm), and one trip out of bed.
    return simulate_night(
        NightSpec(
            seed=1,
            hours=2.0,
            noise_g=0.003,
            jerks=6,
            clonus=2,
            plm_series=1,
            turnovers=6,
            tonic=1,
            get_ups=1,
            dropouts=1,
            mmwave=True,
        )
    )


@cache
def replayed(*, accelerometer: bool) -> ReplayResult:
    messages = [InboundMessage(t, topic, body) for t, topic, body in night().messages()]
    return replay(messages, Pipeline(config(accelerometer=accelerometer), RULES))


def test_mmwave_alone_finds_restless_minutes_near_the_planted_ones() -> None:
    result = replayed(accelerometer=False)
    score = score_restless(result.events, night().labels, RULES.detection)

    assert score.planted_min > 5
    assert score.found_min == pytest.approx(score.planted_min, rel=0.5)
    assert score.overlap_min >= 0.5 * score.planted_min


def test_mmwave_alone_finds_getting_up_and_never_a_spasm() -> None:
    result = replayed(accelerometer=False)
    score = score_night(result.events, night().labels)

    assert score.recall_of(LabelKind.OUT_OF_BED) == 1.0
    assert not [e for e in result.events if e.spasm_like]
    assert {e.kind for e in result.events} <= {
        MovementKind.MOVEMENT,
        MovementKind.OUT_OF_BED,
        MovementKind.RESTLESS_START,
        MovementKind.RESTLESS_END,
    }
    notices = [n for n in result.notices if n.code == "mmwave_shape_unseen"]
    assert len(notices) == 1


def test_beside_an_accelerometer_the_spasms_are_the_accelerometers() -> None:
    result = replayed(accelerometer=True)
    score = score_night(result.events, night().labels)

    assert score.recall > 0.8
    assert score.recall_of(LabelKind.OUT_OF_BED) == 1.0  # from the radar's presence
    assert not [e for e in result.events if e.why.get("rule") == "mmwave_energy"]


def test_simulate_mmwave_writes_a_night_that_replays_on_a_radar_config(tmp_path: Path) -> None:
    night_file = tmp_path / "night.jsonl"
    args = ["simulate", "--out", str(night_file), "--hours", "1", "--seed", "2", "--mmwave"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr

    with night_file.open(encoding="utf-8") as lines:
        messages = list(read_recording(lines))
    topics = {m.topic for m in messages}
    assert {DEFAULT_MMWAVE_PRESENCE_TOPIC, DEFAULT_MMWAVE_ENERGY_TOPIC} <= topics
    pipeline = Pipeline(config(accelerometer=False), RULES)
    replayed_night = replay(messages, pipeline)
    assert pipeline.stats.rejected == {}
    assert pipeline.stats.readings["movement_energy"] > 600
    assert any(e.kind is MovementKind.MOVEMENT for e in replayed_night.events)
