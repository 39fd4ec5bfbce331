"""A note is kept only when it says something, fits, and is not about the future."""

from __future__ import annotations

import math

import pytest

from integration.core.notes import (
    FUTURE_TOLERANCE_S,
    MAX_NOTE_CHARS,
    Note,
    NoteRefused,
    make_note,
)

NOW = 1_764_000_000.0


def test_a_note_is_kept_stripped_with_its_room_time_and_source() -> None:
    note = make_note("bedroom", "  baclofen 10 mg at 22:00\n", NOW - 3600, NOW, "cli")
    assert note == Note("bedroom", NOW - 3600, "baclofen 10 mg at 22:00", "cli")
    assert note.id is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "The note is empty"),
        ("   \n\t ", "The note is empty"),
        ("x" * (MAX_NOTE_CHARS + 1), f"is {MAX_NOTE_CHARS + 1} characters long; keep it to 500"),
    ],
    ids=["empty", "only-spaces", "too-long"],
)
def test_a_note_without_words_or_too_long_is_refused_with_a_sentence(text: str, said: str) -> None:
    with pytest.raises(NoteRefused, match=said):
        make_note("bedroom", text, NOW, NOW, "dashboard")


def test_the_longest_note_is_kept_and_spaces_around_it_do_not_count() -> None:
    text = "y" * MAX_NOTE_CHARS
    assert make_note("bedroom", f"  {text}  ", NOW, NOW, "ha").text == text


@pytest.mark.parametrize(
    ("offset_s", "kept"),
    [
        (-30 * 86400.0, True),
        (0.0, True),
        (FUTURE_TOLERANCE_S, True),  # a device clock a little ahead of ours
        (FUTURE_TOLERANCE_S + 1, False),
        (86400.0, False),
    ],
    ids=["a-month-ago", "now", "at-the-tolerance", "past-the-tolerance", "tomorrow"],
)
def test_a_note_about_the_future_is_refused(offset_s: float, kept: bool) -> None:
    if kept:
        assert make_note("bedroom", "hot day", NOW + offset_s, NOW, "cli").at == NOW + offset_s
    else:
        with pytest.raises(NoteRefused, match="in the future"):
            make_note("bedroom", "hot day", NOW + offset_s, NOW, "cli")


@pytest.mark.parametrize("at", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_a_time_that_is_not_a_time_is_refused(at: float) -> None:
    with pytest.raises(NoteRefused):
        make_note("bedroom", "infection", at, NOW, "cli")


def test_a_note_needs_a_room_and_a_known_source() -> None:
    with pytest.raises(NoteRefused, match="no room"):
        make_note("", "infection", NOW, NOW, "cli")
    with pytest.raises(NoteRefused, match="cannot come from 'email'"):
        make_note("bedroom", "infection", NOW, NOW, "email")


def test_refusal_is_a_value_error_whose_text_is_the_sentence() -> None:
    with pytest.raises(
        ValueError, match=r"^The note is empty: write what may explain the nights\.$"
    ):
        make_note("bedroom", "", NOW, NOW, "cli")
