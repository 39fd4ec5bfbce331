"""Labels are kept with their events in the history, survive a restart, and are refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.adapters.store import Store
from integration.core.events import MovementEvent, MovementKind
from integration.core.labels import Label
from integration.errors import LabelRefusedError
from tests.adapters.test_store import BED, DAY, jerk, summary

NOW = BED + 9 * 3600


async def night_with_jerks(store: Store) -> list[int]:
    """A summarised night of two jerks and a turnover; the ids of its events, in order."""
    await store.record(
        events=[
            jerk("bedroom", BED + 60),
            jerk("bedroom", BED + 120),
            MovementEvent("bedroom", MovementKind.TURNOVER, BED + 200, BED + 204, 3, 0.8, False),
        ],
        summaries=[summary("bedroom", BED, jerks=2)],
    )
    return [row["id"] for row in await store.export(0, NOW, "events")]


async def test_labels_change_the_night_and_survive_a_restart(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    ids = await night_with_jerks(store)
    await store.label_event(ids[0], Label.REJECTED, NOW, "dashboard", not_before=0)
    await store.label_event(ids[1], Label.REJECTED, NOW, "dashboard", not_before=0)
    await store.label_event(ids[1], Label.CONFIRMED, NOW + 1, "home_assistant", not_before=0)
    await store.close()

    store = await Store.open(tmp_path / "history.db")
    try:
        (night,) = await store.summaries("bedroom", 5)
        assert night.spasm_count == 1  # the rejected jerk left the count
        assert (night.labels.confirmed, night.labels.rejected, night.labels.unlabelled) == (1, 1, 0)
        events = await store.export(0, NOW, "events")
        assert [row["label"] for row in events] == ["rejected", "confirmed", None]
        labels = await store.export(0, NOW, "labels")
        assert [(row["event_id"], row["label"], row["source"]) for row in labels] == [
            (ids[0], "rejected", "dashboard"),
            (ids[1], "confirmed", "home_assistant"),  # the second word replaced the first
        ]
        nights = await store.export(0, NOW, "nights")
        assert (nights[0]["spasm_count"], nights[0]["labels_rejected"]) == (1, 1)
    finally:
        await store.close()


async def test_the_latest_spasm_like_event_is_what_a_button_labels(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        ids = await night_with_jerks(store)
        kept = await store.label_latest(
            "bedroom", Label.REJECTED, NOW, "home_assistant", not_before=0
        )
        assert (kept.event_id, kept.kind, kept.start) == (ids[1], "jerk", BED + 120)
        missed = await store.report_missed("bedroom", NOW, "home_assistant")
        assert (missed.label, missed.event_id) == (Label.MISSED, None)
        (night,) = await store.summaries("bedroom", 1)
        assert night.labels.missed == 0  # reported after the night: it belongs to none
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("which", "said", "reason"),
    [
        (999, Label.REJECTED, "no event 999"),
        (2, Label.REJECTED, "not spasm-like"),
        (0, Label.MISSED, "reported on its own"),
    ],
)
async def test_labels_that_cannot_be_kept_are_refused_with_the_reason(
    tmp_path: Path, which: int, said: Label, reason: str
) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        ids = await night_with_jerks(store)
        event_id = ids[which] if which < len(ids) else which
        with pytest.raises(LabelRefusedError, match=reason):
            await store.label_event(event_id, said, NOW, "dashboard", not_before=0)
        assert await store.export(0, NOW, "labels") == []
    finally:
        await store.close()


async def test_an_event_older_than_the_retention_is_refused(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        ids = await night_with_jerks(store)
        with pytest.raises(LabelRefusedError, match="older than the history keeps"):
            await store.label_event(ids[0], Label.REJECTED, NOW, "cli", not_before=BED + DAY)
    finally:
        await store.close()


async def test_a_room_without_spasm_like_events_has_nothing_for_a_button(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "history.db")
    try:
        with pytest.raises(LabelRefusedError, match="no spasm-like event"):
            await store.label_latest(
                "bedroom", Label.CONFIRMED, NOW, "home_assistant", not_before=0
            )
    finally:
        await store.close()
