"""`smart-bedroom simulate --weeks N --history DIR`: weeks of nights in a history others can read."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from integration.adapters.store import Store
from integration.cli import cli
from integration.core.association import around_note, by_temperature, counted_spasm_times
from integration.core.localtime import night_date
from integration.core.notes import Note
from integration.core.simulation.weeks import MEDICATION_NOTE
from integration.core.summary import MinuteRecord, NightSummary

LONDON = ZoneInfo("Europe/London")  # the demo config's timezone


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


Kept = tuple[list[NightSummary], list[MinuteRecord], list[float], list[Note]]


def kept(directory: Path) -> Kept:
    async def read() -> Kept:
        store = await Store.open(directory / "history.db")
        try:
            summaries = await store.nights(0.0, time.time())
            minutes = await store.minutes("bedroom", 0.0, time.time())
            events = await store.spasm_events("bedroom", 0.0, time.time())
            missed = await store.labels("bedroom", 0.0, time.time())
            notes = await store.notes("bedroom", 0.0, time.time())
        finally:
            await store.close()
        return summaries, minutes, counted_spasm_times(events, missed), notes

    return asyncio.run(read())


def test_weeks_land_in_a_history_that_nights_and_export_read(tmp_path: Path) -> None:
    history = tmp_path / "weeks"
    code, _out, err = run("simulate", "--weeks", "2", "--history", str(history), "--seed", "3")
    assert code == 0, err
    assert "wrote 14 simulated nights" in err
    summaries, minutes, times, notes = kept(history)
    assert len(summaries) == 14
    dates = [night_date(s.bed_time, LONDON) for s in summaries]
    assert dates[-1] < night_date(time.time(), LONDON)  # nothing in the future
    assert [(d - dates[0]).days for d in dates] == list(range(14))
    assert sum(s.spasm_count for s in summaries) == len(times) == sum(m.spasms for m in minutes)
    (note,) = notes
    assert (note.text, note.source, note.id is not None) == (MEDICATION_NOTE, "simulation", True)
    assert night_date(note.at, LONDON) == dates[7]  # halfway, by default

    config = history / "config.yaml"
    code, out, err = run("nights", "--config", str(config), "--last", "30")
    assert code == 0, err
    assert len(out.splitlines()) == 1 + 14
    first, last = dates[0].isoformat(), dates[-1].isoformat()
    code, out, err = run("export", "--config", str(config), "--from", first, "--to", last)
    assert code == 0, err
    assert len(list(csv.DictReader(io.StringIO(out)))) == 14


def test_eight_weeks_in_the_store_show_the_planted_effects(tmp_path: Path) -> None:
    history = tmp_path / "weeks"
    code, _out, err = run(
        "simulate", "--weeks", "8", "--history", str(history), "--warm-rate-ratio", "2.0"
    )
    assert code == 0, err
    _summaries, minutes, times, notes = kept(history)
    warm = by_temperature(minutes, times).groups[-1]
    assert warm.name == "above the band"
    assert warm.versus_reference is not None
    assert warm.versus_reference.low > 1
    medication = around_note(minutes, times, notes[0], LONDON)
    assert medication.enough
    assert medication.groups[-1].versus_reference is not None
    assert medication.groups[-1].versus_reference.high < 1


def test_a_directory_with_a_history_is_refused(tmp_path: Path) -> None:
    assert run("simulate", "--weeks", "1", "--history", str(tmp_path))[0] == 0
    code, _out, err = run("simulate", "--weeks", "1", "--history", str(tmp_path))
    assert code == 1
    assert "already holds a history (history.db): give a new or empty directory" in err


def test_a_medication_night_past_the_weeks_is_refused(tmp_path: Path) -> None:
    code, _out, err = run(
        "simulate", "--weeks", "1", "--history", str(tmp_path / "w"), "--medication-night", "7"
    )
    assert code == 1
    assert "medication_night must be a night from 0 to 6 (got 7)" in err
    assert not (tmp_path / "w").exists()  # nothing written


def test_weeks_and_history_go_together_and_not_with_a_night_file(tmp_path: Path) -> None:
    for args in (
        ["--weeks", "2"],
        ["--history", str(tmp_path)],
        ["--weeks", "2", "--history", str(tmp_path), "--out", str(tmp_path / "n.jsonl")],
    ):
        code, _out, err = run("simulate", *args)
        assert code == 2
        assert "--weeks N goes with --history DIR (and not --out or --publish)" in err
