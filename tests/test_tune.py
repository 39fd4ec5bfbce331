"""`tune` finds a better setting from the person's labels, and refuses to guess from too few."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from integration.adapters.rawnights import RawNights
from integration.adapters.rulefiles import load_rules, write_detection
from integration.adapters.store import Store
from integration.cli import cli
from integration.config import ServiceConfig, StoreConfig
from integration.core.events import MovementEvent, MovementKind
from integration.core.labels import EventLabel, Label
from integration.core.rules import RuleSet
from integration.core.simulation.night import NightSpec, simulate_night
from integration.errors import ConfigError
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import replay
from integration.tune import LabelledNight, judge, tune

RULES = load_rules(Path(__file__).resolve().parents[1] / "rules")
# Mis-set on purpose: a jerk (0.2-3 s in the literature) longer than half a second is not one.
MIS_SET = RULES.model_copy(
    update={"detection": RULES.detection.model_copy(update={"jerk_max_s": 0.5})}
)


def spec(seed: int, jerks: int = 3) -> NightSpec:
    return NightSpec(
        seed=seed,
        hours=0.4,
        jerks=jerks,
        clonus=1,
        plm_series=0,
        turnovers=2,
        get_ups=0,
        dropouts=0,
        tonic=0,
    )


def config_for(night: NightSpec) -> ServiceConfig:
    sensors = [
        {"id": "bed", "kind": "motion", "topic": night.accel_topic},
        {"id": "occ", "kind": "occupancy", "topic": night.occupancy_topic},
        {"id": "temp", "kind": "temperature", "topic": night.climate_topic},
    ]
    return ServiceConfig.model_validate(
        {"timezone": "Europe/London", "rooms": [{"id": "bedroom", "name": "B", "sensors": sensors}]}
    )


def overlaps(a_start: float, a_end: float, b_start: float, b_end: float) -> bool:
    return a_start < b_end + 1 and b_start < a_end + 1


def lived_with(seed: int, rules: RuleSet, jerks: int = 3) -> LabelledNight:
    """A night as the person lived it under `rules`: each spasm-like event they saw confirmed or
    rejected, and each spasm the sensor missed reported half a minute after it."""
    night = simulate_night(spec(seed, jerks))
    messages = [InboundMessage(t, topic, payload) for t, topic, payload in night.messages()]
    events = replay(messages, Pipeline(config_for(spec(seed, jerks)), rules)).events
    truth = [label for label in night.labels if label.spasm_like]
    labels = [
        EventLabel(
            "bedroom",
            e.start,
            e.end,
            Label.CONFIRMED
            if any(overlaps(e.start, e.end, t.start, t.end) for t in truth)
            else Label.REJECTED,
            e.kind.value,
            e.end + 60,
            "home_assistant",
        )
        for e in events
        if e.spasm_like
    ]
    labels += [
        EventLabel("bedroom", t.end + 30, t.end + 30, Label.MISSED, None, t.end + 30, "dashboard")
        for t in truth
        if not any(e.spasm_like and overlaps(e.start, e.end, t.start, t.end) for e in events)
    ]
    return LabelledNight(f"night {seed}", "bedroom", messages, labels)


def test_tune_recovers_a_mis_set_tunable_from_the_labels() -> None:
    nights = [lived_with(seed, MIS_SET) for seed in (1, 2)]
    assert sum(label.label is Label.MISSED for n in nights for label in n.labels) >= 3

    result = tune(nights, config_for(spec(1)), MIS_SET)

    before = sum(v.cost for v in result.verdicts_before)
    after = sum(v.cost for v in result.verdicts_after)
    assert before >= 3
    assert after < before
    assert after <= 1
    assert 1.0 <= result.after.jerk_max_s <= 4.0  # back inside the documented bounds
    assert "jerk_max_s" in result.changes
    assert sum(v.found for v in result.verdicts_after) > sum(
        v.found for v in result.verdicts_before
    )


def test_well_set_rules_with_agreeing_labels_are_left_alone() -> None:
    nights = [lived_with(1, RULES)]
    result = tune(nights, config_for(spec(1)), RULES)
    assert result.changes == {}
    assert [v.cost for v in result.verdicts_after] == [v.cost for v in result.verdicts_before]


def event(start: float, end: float, spasm_like: bool = True) -> MovementEvent:
    kind = MovementKind.JERK if spasm_like else MovementKind.TURNOVER
    return MovementEvent("bedroom", kind, start, end, 5.0, 0.9, spasm_like)


def said(start: float, end: float, label: Label) -> EventLabel:
    return EventLabel("bedroom", start, end, label, None, end, "cli")


@pytest.mark.parametrize(
    ("events", "labels", "verdict"),
    [
        # A confirmed spasm found; a rejected one still reported; a report with nothing before.
        (
            [event(100, 101), event(200, 201)],
            [
                said(100, 101, Label.CONFIRMED),
                said(200, 201, Label.REJECTED),
                said(500, 500, Label.MISSED),
            ],
            (2, 1, 1, 1),
        ),
        # One detection cannot answer both a label on it and a report right after it.
        (
            [event(100, 101)],
            [said(100, 101, Label.CONFIRMED), said(130, 130, Label.MISSED)],
            (1, 1, 1, 0),
        ),
        # A report finds the detection in the two minutes before it; not spasm-like ones don't count.
        ([event(100, 101), event(150, 160, False)], [said(200, 200, Label.MISSED)], (1, 1, 0, 0)),
    ],
)
def test_judging_matches_labels_one_to_one(
    events: list[MovementEvent], labels: list[EventLabel], verdict: tuple[int, int, int, int]
) -> None:
    v = judge(events, labels)
    assert (v.spasm_like, v.found, v.missed, v.false_alarms) == verdict


def test_proposed_settings_are_written_where_the_detection_section_lives(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parents[1] / "rules", rules)
    before = (rules / "detection.yaml").read_text(encoding="utf-8")

    written = write_detection(rules, {"jerk_max_s": 2.5})

    after = written.read_text(encoding="utf-8")
    assert written == rules / "detection.yaml"
    assert load_rules(rules).detection.jerk_max_s == 2.5
    assert "jerk_max_s: 2.5" in after
    assert [line for line in before.splitlines() if line.lstrip().startswith("#")] == [
        line for line in after.splitlines() if line.lstrip().startswith("#")
    ]  # every comment kept


def test_a_proposal_the_rules_refuse_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parents[1] / "rules", rules)
    before = (rules / "detection.yaml").read_bytes()
    with pytest.raises(ConfigError):
        write_detection(rules, {"onset_ratio": 0.5})  # must be above 1
    assert (rules / "detection.yaml").read_bytes() == before


def test_the_tune_command_reads_kept_nights_and_labels_and_writes_only_when_asked(
    tmp_path: Path,
) -> None:
    """The whole path a person takes: kept raw night + labels in the history → `tune --write`."""
    rules = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parents[1] / "rules", rules)
    write_detection(rules, {"jerk_max_s": 0.5})  # the mis-set rules in force
    lived = lived_with(1, MIS_SET, jerks=5)
    config = config_for(spec(1)).model_copy(
        update={"store": StoreConfig(path=tmp_path / "history.db")}
    )
    config_file = tmp_path / "config.yaml"
    config_file.write_text(config.model_dump_json(), encoding="utf-8")

    async def keep_the_night(labels: list[EventLabel]) -> None:
        raw = RawNights.configured(config, lambda: lived.messages[-1].t)
        assert raw is not None
        bed = Pipeline(config, MIS_SET)
        for message in lived.messages:
            await raw.take(bed.bed_rooms(message.topic), message)
        await raw.flush()
        store = await Store.open(config.store.path)
        try:
            events = replay(lived.messages, Pipeline(config, MIS_SET)).events
            await store.record(events=events)
            ids = {row["start"]: row["id"] for row in await store.export(0, 4e9, "events")}
            for label in labels:
                if label.label is Label.MISSED:
                    await store.report_missed("bedroom", label.start, "dashboard")
                else:
                    await store.label_event(
                        int(ids[label.start]), label.label, label.labelled_at, "cli", not_before=0
                    )
        finally:
            await store.close()

    asyncio.run(keep_the_night(list(lived.labels[:2])))
    runner = CliRunner()
    few = runner.invoke(cli, ["tune", "--config", str(config_file), "--rules", str(rules)])
    assert few.exit_code == 0, few.output
    assert "tune needs at least 5" in few.output
    assert "nothing changed" in few.output

    (tmp_path / "history.db").unlink()
    shutil.rmtree(config.store.raw_nights_directory)
    asyncio.run(keep_the_night(list(lived.labels)))
    assert len(lived.labels) >= 5
    dry = runner.invoke(cli, ["tune", "--config", str(config_file), "--rules", str(rules)])
    assert dry.exit_code == 0, dry.output
    assert "proposed: jerk_max_s: 0.5 →" in dry.output
    assert load_rules(rules).detection.jerk_max_s == 0.5  # nothing written without --write
    wrote = runner.invoke(
        cli, ["tune", "--config", str(config_file), "--rules", str(rules), "--write"]
    )
    assert wrote.exit_code == 0, wrote.output
    assert load_rules(rules).detection.jerk_max_s >= 1.0
