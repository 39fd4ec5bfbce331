"""`smart-bedroom note`: a note straight into the history, or a clear refusal and exit code 1."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from integration.adapters.store import Store
from integration.cli import cli
from integration.core.notes import Note

REPO = Path(__file__).resolve().parents[1]
LONDON = ZoneInfo("Europe/London")  # the demo config's timezone
# Appended to the demo config, whose last key is its list of rooms.
GUEST_ROOM = """\
  - id: guest
    name: Guest room
    sensors:
      - id: guest_temperature
        kind: temperature
        topic: zigbee2mqtt/guest_climate
        format: zigbee2mqtt
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def config_file(tmp_path: Path, *, two_rooms: bool = False) -> Path:
    demo = (REPO / "integration/defaults/demo.yaml").read_text(encoding="utf-8")
    path = tmp_path / "home.yaml"
    path.write_text(
        demo + (GUEST_ROOM if two_rooms else "") + f"store:\n  path: {tmp_path / 'history.db'}\n",
        encoding="utf-8",
    )
    return path


def kept(tmp_path: Path) -> list[Note]:
    async def read() -> list[Note]:
        store = await Store.open(tmp_path / "history.db")
        try:
            return await store.notes(None, 0, time.time() + 3600)
        finally:
            await store.close()

    return asyncio.run(read())


def test_a_note_with_a_local_date_time_is_kept_and_exported(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    code, out, err = run(
        "note", "  baclofen 10 mg, first dose ", "--at", "2026-11-23T22:00", "--config", str(config)
    )
    assert (code, err) == (0, "")
    assert out.strip() == "note 1 kept for bedroom at 2026-11-23 22:00: baclofen 10 mg, first dose"
    at = datetime(2026, 11, 23, 22, 0, tzinfo=LONDON).timestamp()
    assert kept(tmp_path) == [Note("bedroom", at, "baclofen 10 mg, first dose", "cli", 1)]

    code, out, _ = run(
        "export", "--config", str(config), "--from", "2026-11-23", "--to", "2026-11-23",
        "--table", "notes",
    )  # fmt: skip
    assert code == 0
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert (row["room"], row["time"], row["note"], row["from"]) == (
        "bedroom",
        "2026-11-23T22:00+00:00",
        "baclofen 10 mg, first dose",
        "cli",
    )


def test_a_note_at_a_time_of_day_is_today_and_without_at_is_now(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    before = time.time()
    assert run("note", "hot day", "--at", "00:00", "--config", str(config))[0] == 0
    assert run("note", "woke with cramps", "--config", str(config))[0] == 0
    after = time.time()
    midnights = {
        datetime.combine(
            datetime.fromtimestamp(t, LONDON).date(), datetime.min.time(), LONDON
        ).timestamp()
        for t in (before, after)
    }
    today, now = kept(tmp_path)
    assert today.at in midnights
    assert before <= now.at <= after
    assert (today.text, now.text) == ("hot day", "woke with cramps")


def test_an_offset_in_the_time_is_kept_as_given(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    assert run("note", "flu", "--at", "2026-06-01T08:00+02:00", "--config", str(config))[0] == 0
    assert kept(tmp_path)[0].at == datetime.fromisoformat("2026-06-01T06:00+00:00").timestamp()


def test_with_several_rooms_the_room_is_named(tmp_path: Path) -> None:
    config = config_file(tmp_path, two_rooms=True)
    code, _, err = run("note", "new mattress", "--config", str(config))
    assert (code, err.strip()) == (1, "several rooms (bedroom, guest): say which with --room")
    assert run("note", "new mattress", "--room", "guest", "--config", str(config))[0] == 0
    assert [(n.room, n.text) for n in kept(tmp_path)] == [("guest", "new mattress")]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["   "], "note not kept: The note is empty: write what may explain the nights."),
        (["x" * 501], "note not kept: The note is 501 characters long; keep it to 500."),
        (
            ["hot day", "--at", "2999-01-01T00:00"],
            "note not kept: The note's time is in the future: a note says what has already "
            "happened. (for an earlier day, give the date: --at 2026-11-23T22:00)",
        ),
        (
            ["hot day", "--at", "yesterday"],
            "note not kept: --at 'yesterday' is neither a time today like 22:00 nor a date-time "
            "like 2026-11-23T22:00",
        ),
        (["hot day", "--room", "attic"], "no room 'attic' in the config; its rooms: bedroom"),
    ],
    ids=["empty", "too-long", "future", "not-a-time", "no-such-room"],
)
def test_a_note_that_cannot_be_kept_says_why_and_exits_1(
    tmp_path: Path, args: list[str], said: str
) -> None:
    config = config_file(tmp_path)
    code, out, err = run("note", *args, "--config", str(config))
    assert (code, out, err.strip()) == (1, "", said)
    assert not (tmp_path / "history.db").exists()  # nothing was opened, nothing written


def test_a_store_that_cannot_be_opened_exits_1_with_the_reason(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    (tmp_path / "history.db").write_bytes(b"not sqlite at all " * 300)
    code, _, err = run("note", "hot day", "--config", str(config))
    assert code == 1
    assert "corrupt or not a smart-bedroom database" in err
