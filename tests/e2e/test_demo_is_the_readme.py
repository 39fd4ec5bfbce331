"""One simulated night, one set of figures: in the demo, in `replay`, and in the README's example."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from integration.adapters.rulefiles import load_rules
from integration.cli import cli
from integration.core.simulation.night import NightSpec, scaled_counts, simulate_night
from integration.core.summary import NightSummary, render_text
from integration.demo import demo_config, run_demo
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import replay

README = Path(__file__).parents[2] / "README.md"


def readme_example() -> str:
    """The morning summary the README shows, as printed."""
    text = README.read_text(encoding="utf-8")
    (block,) = re.findall(r"```\n(Bedroom, night of .*?)```", text, flags=re.S)
    return block.strip()


def test_the_readmes_example_is_what_replay_prints_for_the_simulated_night(
    tmp_path: Path,
) -> None:
    """The command the README names for it: `simulate --seed 1` and `replay --json`."""
    night = tmp_path / "night.jsonl"
    runner = CliRunner()
    simulated = runner.invoke(cli, ["simulate", "--out", str(night), "--seed", "1"])
    assert simulated.exit_code == 0, simulated.output
    replayed = runner.invoke(cli, ["replay", str(night), "--json"])
    assert replayed.exit_code == 0, replayed.output
    (summary,) = json.loads(replayed.stdout)["summaries"]
    assert render_text(NightSummary.from_dict(summary)).strip() == readme_example()


async def test_the_demo_finds_what_replay_finds_in_the_same_night(tmp_path: Path) -> None:
    """Live through a broker at 480x against replay on recorded time: the same night's figures.

    Movement is judged on the sensor's own clock, so its counts are equal; temperatures are
    stamped at arrival, so the room's minutes may move by one at a minute's edge.
    """
    hours = 2.0
    demo = await run_demo(workdir=tmp_path / "demo", hours=hours, speed=480.0, seed=1)
    (live,) = demo.summaries
    spec = NightSpec(seed=1, hours=hours, start=demo.start, **scaled_counts(hours))
    messages = [
        InboundMessage(t=t, topic=topic, payload=payload)
        for t, topic, payload in simulate_night(spec).messages()
    ]
    config = demo_config("127.0.0.1", 1883, tmp_path / "replay", 0)
    (replayed,) = replay(messages, Pipeline(config, load_rules(None))).summaries
    assert live.night_date == replayed.night_date
    assert (live.spasm_count, live.spasms_by_kind) == (
        replayed.spasm_count,
        replayed.spasms_by_kind,
    )
    assert live.restless_episodes == replayed.restless_episodes
    assert abs(live.restless_total_min - replayed.restless_total_min) <= 1
    assert live.get_ups == replayed.get_ups
    assert live.in_band_share is not None
    assert replayed.in_band_share is not None
    assert abs(live.in_band_share - replayed.in_band_share) <= 0.02
    assert abs(live.too_warm_min - replayed.too_warm_min) <= 2
    assert abs(live.too_cold_min - replayed.too_cold_min) <= 2
