"""The ingest benchmark's quick run: both payload forms, and its profile of the hot path."""

from __future__ import annotations

import pytest

from bench.ingest import main, run_bench
from integration.core.simulation.night import PayloadStyle

HOURS = 0.01  # 36 s of a night at 50 Hz: 1,800 samples


def _rows(lines: list[str]) -> dict[str, list[str]]:
    """Table rows by payload form, split into their columns."""
    forms = {str(style) for style in PayloadStyle}
    return {cells[0]: cells for cells in map(str.split, lines) if cells and cells[0] in forms}


def test_both_payload_forms_replay_every_sample() -> None:
    rows = _rows(run_bench(HOURS, 50.0))

    assert set(rows) == {"single", "batch"}
    for row in rows.values():
        assert row[2] == "1,800"  # samples
    # One message a sample against one a second; the room's other sensors send the same in both.
    other_single = int(rows["single"][1].replace(",", "")) - 1_800
    other_batch = int(rows["batch"][1].replace(",", "")) - round(HOURS * 3600)
    assert other_single == other_batch >= 1


def test_the_profile_names_the_pipeline_among_the_costliest_functions() -> None:
    lines = run_bench(HOURS, 50.0, [PayloadStyle.SINGLE], profile_top=10)

    assert set(_rows(lines)) == {"single"}
    text = "\n".join(lines)
    assert "single: the 10 costliest functions" in text
    assert "Ordered by: internal time" in text
    assert "Ordered by: cumulative time" in text
    assert "pipeline.py" in text
    assert "(handle)" in text


def test_the_command_line_picks_one_payload_form(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--hours", str(HOURS), "--payload", "batch"])

    assert set(_rows(capsys.readouterr().out.splitlines())) == {"batch"}
