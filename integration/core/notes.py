"""Notes: what the person says may explain the nights (a medication change, an infection, a hot day).

A note is a short text with the time of what it says happened and the room it concerns. It is
checked once, here, wherever it comes from (Home Assistant, the dashboard, the CLI, a simulation),
so every way in refuses the same notes with the same sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "FUTURE_TOLERANCE_S",
    "MAX_NOTE_CHARS",
    "NOTE_SOURCES",
    "Note",
    "NoteRefused",
    "make_note",
]

# Long enough for "baclofen 10 mg at 22:00, first dose; mattress topper removed", short enough
# to stay a marker on a chart and a cell in a table, not a diary.
MAX_NOTE_CHARS = 500
# A note "now" typed on one device and stamped on another may run a little ahead of our clock.
FUTURE_TOLERANCE_S = 60.0
# Where a note can come from; anything else is a programming error, refused the same way.
NOTE_SOURCES = ("cli", "ha", "dashboard", "simulation")


class NoteRefused(ValueError):
    """A note that cannot be kept; str(e) is the sentence shown to the person."""


@dataclass(frozen=True, slots=True)
class Note:
    """One note; `at` is when what it says happened (UTC epoch s), not when it was typed."""

    room: str
    at: float
    text: str
    source: str  # cli | ha | dashboard | simulation
    id: int | None = None  # the history's id, once kept


def make_note(room: str, text: str, at: float, now: float, source: str) -> Note:
    """A note ready to keep: text stripped, not empty, at most MAX_NOTE_CHARS, not in the future.

    Raises NoteRefused with a sentence for the person otherwise.
    """
    stripped = text.strip()
    if not stripped:
        raise NoteRefused("The note is empty: write what may explain the nights.")
    if len(stripped) > MAX_NOTE_CHARS:
        raise NoteRefused(
            f"The note is {len(stripped)} characters long; keep it to {MAX_NOTE_CHARS}."
        )
    if not room:
        raise NoteRefused("The note has no room.")
    if not math.isfinite(at):
        raise NoteRefused("The note's time is not a time.")
    if at > now + FUTURE_TOLERANCE_S:
        raise NoteRefused(
            "The note's time is in the future: a note says what has already happened."
        )
    if source not in NOTE_SOURCES:
        raise NoteRefused(f"A note cannot come from {source!r}.")
    return Note(room=room, at=at, text=stripped, source=source)
