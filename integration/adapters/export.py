"""History rows as a clinician opens them in a spreadsheet: plain words, local times, one value a cell.

The store's rows keep what the code needs (epoch seconds, full floats, JSON documents); this is
the one place that turns them into what a person reads: a header row in plain words, local ISO
times with their UTC offset, numbers rounded to what the sensors can tell, and every value in a
cell of its own. CSV and JSON exports share the names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["clinician_rows"]

Row = Mapping[str, Any]
Cell = str | int | float | None
Column = tuple[str, Callable[[Row, ZoneInfo], Cell]]


def _time(key: str, *, seconds: bool = False) -> Callable[[Row, ZoneInfo], Cell]:
    def cell(row: Row, zone: ZoneInfo) -> Cell:
        value = row.get(key)
        if value is None:
            return None
        return datetime.fromtimestamp(float(value), zone).isoformat(
            timespec="milliseconds" if seconds else "minutes"
        )

    return cell


def _number(key: str, digits: int, scale: float = 1.0) -> Callable[[Row, ZoneInfo], Cell]:
    def cell(row: Row, _zone: ZoneInfo) -> Cell:
        value = row.get(key)
        if value is None:
            return None
        rounded = round(float(value) * scale, digits)
        return int(rounded) if digits == 0 else rounded

    return cell


def _plain(key: str) -> Callable[[Row, ZoneInfo], Cell]:
    def cell(row: Row, _zone: ZoneInfo) -> Cell:
        value = row.get(key)
        return value if value is None or isinstance(value, str | int | float) else str(value)

    return cell


def _yes_no(key: str) -> Callable[[Row, ZoneInfo], Cell]:
    def cell(row: Row, _zone: ZoneInfo) -> Cell:
        value = row.get(key)
        return None if value is None else ("yes" if value else "no")

    return cell


def _rate(key: str, field: str, digits: int) -> Callable[[Row, ZoneInfo], Cell]:
    """One field of a rate document (`{"events", "minutes", "per_hour"}`) stored as JSON."""

    def cell(row: Row, _zone: ZoneInfo) -> Cell:
        raw = row.get(key)
        value = json.loads(raw).get(field) if isinstance(raw, str) else None
        return None if value is None else round(float(value), digits)

    return cell


def _details(key: str) -> Callable[[Row, ZoneInfo], Cell]:
    """A JSON object as `name=value; …` in one cell: the reasons an event or action carries."""

    def cell(row: Row, _zone: ZoneInfo) -> Cell:
        raw = row.get(key)
        data = json.loads(raw) if isinstance(raw, str) and raw else {}
        parts = []
        for name, value in sorted(data.items()):
            shown = round(value, 3) if isinstance(value, float) else value
            parts.append(f"{name}={shown}")
        return "; ".join(parts)

    return cell


_COLUMNS: dict[str, tuple[Column, ...]] = {
    "nights": (
        ("night of", _plain("night_date")),
        ("room", _plain("room_name")),
        ("bedtime", _time("bed_time")),
        ("wake time", _time("wake_time")),
        ("hours in bed", _number("time_in_bed_s", 2, 1 / 3600)),
        ("minutes out of bed", _number("time_out_of_bed_s", 0, 1 / 60)),
        ("times up", _plain("get_ups")),
        ("lowest °C", _number("temp_min_c", 1)),
        ("mean °C", _number("temp_mean_c", 1)),
        ("highest °C", _number("temp_max_c", 1)),
        ("% of time in comfort band", _number("in_band_share", 0, 100)),
        ("minutes too warm", _plain("too_warm_min")),
        ("minutes too cold", _plain("too_cold_min")),
        ("spasm-like events", _plain("spasm_count")),
        ("spasm-like per hour in bed", _number("spasm_rate_per_h", 2)),
        ("jerks", _plain("spasms_jerk")),
        ("clonus", _plain("spasms_clonus")),
        ("periodic limb movements", _plain("spasms_plm")),
        ("spasm-like per hour when too warm", _rate("rate_when_warm", "per_hour", 2)),
        ("minutes too warm the rate rests on", _rate("rate_when_warm", "minutes", 0)),
        ("spasm-like per hour in band", _rate("rate_in_band", "per_hour", 2)),
        ("minutes in band the rate rests on", _rate("rate_in_band", "minutes", 0)),
        ("restless episodes", _plain("restless_episodes")),
        ("restless minutes", _number("restless_total_min", 0)),
        ("longest restless minutes", _number("restless_longest_min", 0)),
        ("% asleep (estimate from movement)", _number("sleep_efficiency", 0, 100)),
        ("comfort actions", _plain("actions")),
        ("sensor gaps", _plain("sensor_gaps")),
        ("unreadable messages", _plain("rejected_messages")),
        ("confirmed by you", _plain("labels_confirmed")),
        ("not a spasm, by you", _plain("labels_rejected")),
        ("unlabelled", _plain("labels_unlabelled")),
        ("missed by the sensor, by you", _plain("labels_missed")),
        ("your notes", _plain("notes")),
    ),
    "events": (
        ("event", _plain("id")),
        ("room", _plain("room")),
        ("kind", _plain("kind")),
        ("start", _time("start", seconds=True)),
        ("end", _time("end", seconds=True)),
        ("seconds", lambda row, _zone: round(float(row["end"]) - float(row["start"]), 1)),
        ("peak (x resting level)", _number("peak", 1)),
        ("confidence", _number("confidence", 2)),
        ("spasm-like", _yes_no("spasm_like")),
        ("your label", _plain("label")),
        ("why", _details("why")),
    ),
    "actions": (
        ("room", _plain("room")),
        ("time", _time("t", seconds=True)),
        ("kind", _plain("kind")),
        ("target", _plain("target")),
        ("data", _details("data")),
        ("why", _details("why")),
    ),
    "minutes": (
        ("room", _plain("room")),
        ("minute", _time("minute")),
        ("°C", _number("temp_c", 1)),
        ("band low °C", _number("low_c", 1)),
        ("band high °C", _number("high_c", 1)),
        ("bed movement (mg)", _number("activity_mg", 1)),
        ("spasm-like events", _plain("spasms")),
        ("in bed", _yes_no("in_bed")),
    ),
    "labels": (
        ("room", _plain("room")),
        ("event", _plain("event_id")),
        ("kind", _plain("kind")),
        ("start", _time("start", seconds=True)),
        ("end", _time("end", seconds=True)),
        ("label", _plain("label")),
        ("labelled at", _time("labelled_at", seconds=True)),
        ("from", _plain("source")),
    ),
    "notes": (
        ("room", _plain("room")),
        ("time", _time("at")),
        ("note", _plain("text")),
        ("from", _plain("source")),
        ("written at", _time("created")),
    ),
}


def clinician_rows(table: str, rows: Sequence[Row], zone: ZoneInfo) -> list[dict[str, Cell]]:
    """`rows` of one export table (`Store.export`) with plain-word names and readable values."""
    columns = _COLUMNS[table]
    return [{name: cell(row, zone) for name, cell in columns} for row in rows]


def header(table: str) -> list[str]:
    """The plain-word column names of `table`, for a CSV header even when there are no rows."""
    return [name for name, _cell in _COLUMNS[table]]
