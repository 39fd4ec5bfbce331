"""A simulated night replayed on time and late through the real pipeline gives the same events."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from integration.adapters.rulefiles import load_rules
from integration.config import ConfigError, ServiceConfig, load_config
from integration.core.events import MovementKind
from integration.core.simulation.night import NightSpec, realistic_counts, simulate_night
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import replay

RULES = Path(__file__).resolve().parents[1] / "rules"


def demo_config() -> ServiceConfig:
    return load_config(Path(str(resources.files("integration") / "defaults" / "demo.yaml")))


def night_events(lag_s: float) -> list[tuple[str, float, float, bool]]:
    spec = NightSpec(
        seed=3,
        hours=1.0,
        rate_hz=25.0,
        jerks=4,
        clonus=2,
        plm_series=1,
        turnovers=3,
        get_ups=0,
        dropouts=1,
        tonic=0,
        delivery_lag_s=lag_s,
        **realistic_counts(4.0),
    )
    messages = [InboundMessage(*m) for m in simulate_night(spec).messages()]
    events = replay(messages, Pipeline(demo_config(), load_rules(RULES))).events
    return [
        (str(e.kind), round(e.start, 3), round(e.end, 3), e.spasm_like)
        for e in events
        if e.kind is not MovementKind.OUT_OF_BED  # the occupancy mat is timed by arrival
    ]


@pytest.mark.parametrize("lag_s", [3.0, 10.0])
def test_a_late_and_jittered_night_gives_the_on_time_events(lag_s: float) -> None:
    on_time = night_events(0.0)
    assert sum(spasm for *_, spasm in on_time) >= 4
    assert night_events(lag_s) == on_time


def test_partner_side_is_only_for_motion_sensors(tmp_path: Path) -> None:
    text = (
        "rooms:\n  - id: bedroom\n    sensors:\n      - id: t\n        kind: temperature\n"
        "        topic: a/b\n        side: partner\n"
    )
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="side: partner is for motion sensors"):
        load_config(path)
