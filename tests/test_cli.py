"""The command line, as a person runs it: check, simulate, replay --json."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from integration.adapters.recording import read_recording
from integration.adapters.rulefiles import load_rules
from integration.adapters.store import Store
from integration.cli import cli
from integration.config import load_config
from integration.core.simulation.night import realistic_counts
from integration.pipeline import Pipeline
from integration.replay import replay

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_check_passes_the_shipped_config_and_rules() -> None:
    code, out, _ = run(
        "check", "--config", str(REPO / "config/smart-bedroom.yaml"), "--rules", str(REPO / "rules")
    )
    assert (code, out.startswith("ok: 1 room(s)")) == (0, True)


def test_check_names_file_and_line_of_every_problem(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    comfort = (REPO / "rules/comfort.yaml").read_text(encoding="utf-8")
    broken = comfort.replace("low: 16.5", "low: 23", 1)
    (rules / "comfort.yaml").write_text(broken, encoding="utf-8")
    (rules / "other.yaml").write_text("comfrt: {}\n", encoding="utf-8")
    code, _, err = run("check", "--rules", str(rules))
    # A check across fields points at the band it is about.
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "name: deep_sleep" in text)
    assert code == 1
    assert err.splitlines() == [
        f"{rules / 'comfort.yaml'}:{line}: comfort.bands[1]: low 23 is above high 18.5",
        f"{rules / 'other.yaml'}:1: comfrt: unknown section (known: detection, comfort,"
        " automations, night)",
    ]


def test_simulated_night_replays_into_the_documented_json(tmp_path: Path) -> None:
    night = tmp_path / "night.jsonl"
    code, _, err = run("simulate", "--out", str(night), "--hours", "2", "--seed", "3")
    assert code == 0, err
    labels = json.loads((tmp_path / "night.labels.json").read_text(encoding="utf-8"))
    assert labels["schema"] == "smart-bedroom/labels/1"
    assert labels["labels"]

    code, out, err = run("replay", str(night), "--rules", str(REPO / "rules"), "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["schema"] == "smart-bedroom/replay/1"
    assert {"events", "actions", "summaries", "rejected", "readings"} <= document.keys()
    assert document["rejected"] == {}
    assert document["readings"]["motion"] > 3000
    assert any(event["spasm_like"] for event in document["events"])
    for event in document["events"]:
        assert event["start"].endswith(("+00:00", "+01:00"))  # ISO 8601 with the zone's offset
        assert {"room", "kind", "start", "end", "spasm_like", "detected_at"} <= event.keys()
    # The demo room has an MQTT heater and fan: the comfort controller acts on them; the
    # shipped automations answer the planted spasms.
    targets = {a["target"] for a in document["actions"]}
    assert targets & {"smart-bedroom-sim/bedroom/heater/set", "smart-bedroom-sim/bedroom/fan/set"}
    assert "script.turn_on" in targets
    assert all(a["why"] for a in document["actions"])


def test_simulate_wants_a_file_or_the_broker() -> None:
    code, _, err = run("simulate")
    assert code == 2
    assert "give either --out FILE or --publish" in err


def test_nights_and_export_read_the_history_store(tmp_path: Path) -> None:
    night = tmp_path / "night.jsonl"
    assert run("simulate", "--out", str(night), "--hours", "2", "--seed", "3")[0] == 0
    config = tmp_path / "home.yaml"
    demo = (REPO / "integration/defaults/demo.yaml").read_text(encoding="utf-8")
    config.write_text(demo + f"store:\n  path: {tmp_path / 'history.db'}\n", encoding="utf-8")
    code, _, err = run("nights", "--config", str(config))
    assert (code, err.strip()) == (1, f"no history yet: {tmp_path / 'history.db'} does not exist")

    pipeline = Pipeline(load_config(config), load_rules(REPO / "rules"))
    with night.open(encoding="utf-8") as lines:
        (summary,) = replay(read_recording(lines), pipeline).summaries

    async def keep() -> None:
        store = await Store.open(tmp_path / "history.db")
        await store.record(summaries=[summary])
        await store.close()

    asyncio.run(keep())
    code, out, _ = run("nights", "--config", str(config))
    header, row = out.splitlines()
    assert header.split()[:3] == ["night", "room", "in"]
    assert row.startswith(f"{summary.night_date:<11} bedroom")
    assert f" {summary.spasm_count} " in row

    code, out, _ = run(
        "export", "--config", str(config), "--from", "2026-11-23", "--to", "2026-11-23"
    )
    (exported,) = list(csv.DictReader(io.StringIO(out)))
    # A clinician's spreadsheet: plain words, local times with their offset, rounded numbers,
    # one value a cell (no JSON, no epoch seconds).
    assert exported["night of"] == summary.night_date
    assert int(exported["spasm-like events"]) == summary.spasm_count
    assert exported["bedtime"].startswith(summary.night_date)
    assert exported["bedtime"][-6:] in {"+00:00", "+01:00"}
    assert datetime.fromisoformat(exported["bedtime"]).timestamp() == pytest.approx(
        summary.bed_time, abs=60
    )
    for value in exported.values():
        assert not value.startswith(("{", "[")), value
        if value.replace(".", "", 1).isdigit() and "." in value:
            assert len(value.split(".")[1]) <= 2, value
    code, out, _ = run(
        "export", "--config", str(config), "--from", "2026-11-23", "--to", "2026-11-23", "--raw"
    )
    (raw,) = list(csv.DictReader(io.StringIO(out)))
    assert float(raw["bed_time"]) == summary.bed_time  # for programs: the store's own columns
    code, out, _ = run(
        "export", "--config", str(config), "--from", "2026-11-23", "--to", "2026-11-23",
        "--table", "events",
    )  # fmt: skip
    header_row = out.splitlines()[0]
    assert header_row.startswith("event,room,kind,start,end,seconds,peak (x resting level)")
    code, _, err = run(
        "export", "--config", str(config), "--from", "2026-11-24", "--to", "2026-11-23"
    )
    assert code == 2
    assert "--from 2026-11-24 is after --to 2026-11-23" in err
    code, out, _ = run(
        "export",
        "--config",
        str(config),
        "--from",
        "2026-11-24",
        "--to",
        "2026-11-30",
        "--format",
        "json",
    )
    assert json.loads(out) == []
    code, _, err = run("export", "--config", str(config), "--from", "23/11", "--to", "x")
    assert code == 2
    assert "is not a date like 2026-11-24" in err


def test_simulate_realistic_adds_the_confounders_and_explicit_counts_win(tmp_path: Path) -> None:
    night = tmp_path / "night.jsonl"
    code, _, err = run(
        "simulate",
        "--out",
        str(night),
        "--hours",
        "4",
        "--rate",
        "10",
        "--realistic",
        "--coughs",
        "5",
        "--partner-sensor",
        "--delivery-lag",
        "2",
    )
    assert code == 0, err
    document = json.loads((tmp_path / "night.labels.json").read_text(encoding="utf-8"))
    expected = realistic_counts(4.0) | {"coughs": 5}
    assert {name: document["spec"][name] for name in expected} == expected
    kinds = Counter(label["kind"] for label in document["labels"])
    assert kinds["cough"] == 5
    assert kinds["scratch"] == expected["scratches"]
    assert kinds["knock"] + kinds["sit"] == expected["knocks"]
    assert kinds["pet"] == expected["pets"]
    assert kinds["partner"] == expected["partner_turnovers"]
    confounders = {"cough", "scratch", "knock", "sit", "pet", "partner"}
    assert all(
        not label["spasm_like"] for label in document["labels"] if label["kind"] in confounders
    )
    with night.open(encoding="utf-8") as lines:
        topics = Counter(message.topic for message in read_recording(lines))
    assert topics["smart-bedroom-sim/bedroom/bed/partner_accel"] == 4 * 3600


def test_simulate_speaks_on_the_configs_topics_so_the_quick_tour_finds_the_night(
    tmp_path: Path,
) -> None:
    """`simulate --config X` then `replay --config X`: the README's quick tour, on its config."""
    config = REPO / "config" / "smart-bedroom.yaml"
    night = tmp_path / "night.jsonl"
    code, _, err = run(
        "simulate", "--config", str(config), "--out", str(night), "--hours", "1", "--seed", "2"
    )
    assert code == 0, err
    code, out, err = run("replay", str(night), "--config", str(config), "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["unrouted"] == 0
    assert document["readings"]["motion"] > 0
    assert document["rejected"] == {}
    assert any(event["spasm_like"] for event in document["events"])


def test_simulate_takes_a_start_as_a_readable_time(tmp_path: Path) -> None:
    night = tmp_path / "night.jsonl"
    code, _, err = run(
        "simulate", "--out", str(night), "--hours", "0.5", "--start", "2026-11-23T22:30+00:00"
    )
    assert code == 0, err
    first = json.loads(night.read_text(encoding="utf-8").splitlines()[0])
    assert first["ts"] == datetime.fromisoformat("2026-11-23T22:30+00:00").timestamp()
    code, _, err = run("simulate", "--out", str(night), "--start", "tonight")
    assert code == 2
    assert "neither a time like 2026-11-23T22:30+00:00 nor epoch seconds" in err


def test_help_lines_are_whole_and_a_closed_pipe_is_no_error(tmp_path: Path) -> None:
    code, out, _ = run("--help")
    assert code == 0
    commands = out.split("Commands:")[1].splitlines()
    assert commands
    assert not [line for line in commands if line.rstrip().endswith("...")]
    night = tmp_path / "night.jsonl"
    assert run("simulate", "--out", str(night), "--hours", "1")[0] == 0
    # `replay … | head -1`: the reader stops early; the command ends quietly, exit code 0.
    replay = subprocess.Popen(
        [sys.executable, "-c", "from integration.cli import main; main()", "replay", str(night)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert replay.stdout is not None
    replay.stdout.readline()
    replay.stdout.close()
    _, stderr = replay.communicate(timeout=60)
    assert replay.returncode == 0
    assert b"Traceback" not in stderr
    assert b"BrokenPipeError" not in stderr
