"""`smart-bedroom report`, as a person runs it: a PDF or HTML file, or a clear refusal and exit 1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from integration.adapters.store import Store
from integration.cli import cli
from integration.core.simulation.weeks import WeeksSpec
from tests.weeks_history import fill_weeks

REPO = Path(__file__).resolve().parents[1]
# The demo config has one room, "bedroom", as the simulated weeks (its zone, London, dates the
# Berlin bedtimes of 22:30 on the same evenings).
SPEC = WeeksSpec(nights=21, seed=3, medication_night=10)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The demo config with its history in tmp_path, filled with three weeks but nights 5-6."""
    path = tmp_path / "home.yaml"
    demo = (REPO / "integration/defaults/demo.yaml").read_text(encoding="utf-8")
    path.write_text(demo + f"store:\n  path: {tmp_path / 'history.db'}\n", encoding="utf-8")

    async def keep() -> None:
        store = await Store.open(tmp_path / "history.db")
        await fill_weeks(store, SPEC, skip={5, 6})
        await store.close()

    asyncio.run(keep())
    return path


def test_report_writes_a_pdf_and_says_where_the_gaps_are(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    code, said, err = run(
        "report", "--config", str(config), "--from", "2026-09-07", "--to", "2026-09-27",
        "--out", str(out),
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.read_bytes().startswith(b"%PDF-")
    assert f"wrote {out}: Bedroom, 07 Sep 2026 to 27 Sep 2026, 19 of 21 nights with data" in said
    assert "nights without data: Sat 12 Sep to Sun 13 Sep (2 nights)" in said


def test_report_to_html_is_the_printable_page(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    code, _, _ = run(
        "report", "--config", str(config), "--from", "2026-09-07", "--to", "2026-09-27",
        "--room", "bedroom", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "Not a medical device." in page
    assert "@page" in page  # the print rules travel with the page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--from", "2026-09-27", "--to", "2026-09-07"),
            "report not made: The period is back to front: 2026-09-27 is after 2026-09-07.",
        ),
        (("--from", "27/09", "--to", "2026-09-30"), "--from '27/09' is not a date like 2026-11-24"),
        (("--from", "2026-09-01", "--to", "2026-09-30x"), "--to '2026-09-30x' is not a date"),
        (
            ("--from", "2025-01-01", "--to", "2025-01-31"),
            "No nights of Bedroom (bedroom) from 2025-01-01 to 2025-01-31: nothing to report.",
        ),
        (
            ("--from", "2026-09-07", "--to", "2026-09-27", "--room", "attic"),
            "No room 'attic' is configured; the rooms are: bedroom.",
        ),
    ],
    ids=["dates-out-of-order", "not-a-date", "bad-last-date", "empty-period", "unknown-room"],
)
def test_bad_input_is_a_clear_message_and_exit_1(
    config: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "report.pdf"
    code, _, err = run("report", "--config", str(config), *args, "--out", str(out))
    assert code == 1
    assert message in err
    assert not out.exists()


def test_an_out_file_that_is_neither_pdf_nor_html_is_refused(config: Path, tmp_path: Path) -> None:
    code, _, err = run(
        "report", "--config", str(config), "--from", "2026-09-07", "--to", "2026-09-27",
        "--out", str(tmp_path / "report.docx"),
    )  # fmt: skip
    assert code == 1
    assert "must end in .pdf or .html" in err


def test_without_a_history_there_is_nothing_to_report(tmp_path: Path) -> None:
    config = tmp_path / "home.yaml"
    demo = (REPO / "integration/defaults/demo.yaml").read_text(encoding="utf-8")
    config.write_text(demo + f"store:\n  path: {tmp_path / 'none.db'}\n", encoding="utf-8")
    code, _, err = run(
        "report", "--config", str(config), "--from", "2026-09-07", "--to", "2026-09-27",
        "--out", str(tmp_path / "r.pdf"),
    )  # fmt: skip
    assert code == 1
    assert "no history yet" in err
