"""A history store filled with simulated weeks (`core.simulation.weeks`), for the report's tests."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from integration.adapters.store import Store
from integration.core.notes import Note
from integration.core.simulation.weeks import SimulatedNight, WeeksSpec, simulate_weeks

ROOM_NAMES = {"bedroom": "Bedroom"}


async def fill_weeks(
    store: Store, spec: WeeksSpec, *, skip: Collection[int] = ()
) -> tuple[list[SimulatedNight], list[Note]]:
    """Keep the simulated nights (but those at the indices in `skip`) and their notes."""
    nights, notes = simulate_weeks(spec)
    kept = [night for index, night in enumerate(nights) if index not in skip]
    for night in kept:
        await store.record(events=night.events, minutes=night.minutes, summaries=[night.summary])
    for note in notes:
        await store.add_note(note)
    return kept, notes


def period(spec: WeeksSpec) -> tuple[date, date]:
    """The night dates the spec's weeks span."""
    return spec.start, spec.start + timedelta(days=spec.nights - 1)


def zone(spec: WeeksSpec) -> ZoneInfo:
    """The spec's time zone."""
    return ZoneInfo(spec.zone)
