"""A history store filled with a night replayed through the real pipeline, for dashboard tests.

The newest night is real (simulated sensors through `Pipeline`); the month before it is the same
night's summary shifted back a day at a time with varied figures, enough for the trend chart.
A second room with a hostile name checks that nothing from data reaches the page unescaped.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from integration.adapters.rulefiles import load_rules
from integration.adapters.store import Store
from integration.config import load_config
from integration.core.events import Action, ActionKind, MovementEvent
from integration.core.readings import Tick
from integration.core.simulation.night import NightSpec, simulate_night
from integration.core.summary import MinuteRecord, NightSummary
from integration.messages import InboundMessage
from integration.pipeline import Pipeline, PipelineOutputs
from integration.replay import replay

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "integration" / "defaults" / "demo.yaml"
ZONE = ZoneInfo("Europe/London")
DAY = 86400.0
EARLIER_NIGHTS = 11
HOSTILE_ROOM = "guest"
HOSTILE_NAME = "<script>alert('room')</script>"
HOSTILE_RULE = '"><img src=x onerror=alert(1)>'
ROOM_NAMES = {"bedroom": "Bedroom", HOSTILE_ROOM: HOSTILE_NAME}


class _KeepingMinutes(Pipeline):
    """The real pipeline, also keeping each closed night's minute records (replay drops them)."""

    minutes: list[MinuteRecord]

    def handle(self, item: InboundMessage | Tick) -> PipelineOutputs:
        out = super().handle(item)
        self.minutes.extend(out.minutes)
        return out

    def end_of_input(self, now: float) -> PipelineOutputs:
        out = super().end_of_input(now)
        self.minutes.extend(out.minutes)
        return out


@dataclass(frozen=True, slots=True)
class ReplayedNight:
    summary: NightSummary
    minutes: tuple[MinuteRecord, ...]
    events: tuple[MovementEvent, ...]
    actions: tuple[Action, ...]


@functools.cache
def replayed_night() -> ReplayedNight:
    """A 2.5 h night with jerks, clonus, a PLM series, turnovers and a get-up."""
    spec = NightSpec(seed=11, hours=2.5, jerks=5, clonus=1, plm_series=1, turnovers=5)
    messages = [
        InboundMessage(t, topic, body) for t, topic, body in simulate_night(spec).messages()
    ]
    pipeline = _KeepingMinutes(load_config(DEMO), load_rules(REPO / "rules"))
    pipeline.minutes = []
    result = replay(messages, pipeline)
    (summary,) = result.summaries
    return ReplayedNight(
        summary, tuple(pipeline.minutes), tuple(result.events), tuple(result.actions)
    )


def earlier(summary: NightSummary, days_back: int, room: str, room_name: str) -> NightSummary:
    """The summary moved `days_back` days earlier, with figures that vary night to night."""
    shift = days_back * DAY
    return dataclasses.replace(
        summary,
        room=room,
        room_name=room_name,
        bed_time=summary.bed_time - shift,
        wake_time=summary.wake_time - shift,
        spasm_count=(days_back * 7) % 19,
        in_band_share=None if days_back == 5 else 0.5 + (days_back * 0.13) % 0.5,
        comparison={},
    )


async def fill(store: Store) -> ReplayedNight:
    """Save the replayed night, the month before it, and one night of the hostile room."""
    night = replayed_night()
    await store.record(summaries=[night.summary])
    await store.record(minutes=night.minutes)
    await store.record(events=night.events)
    hostile = Action(
        "bedroom",
        night.summary.bed_time + 600,
        ActionKind.NOTIFY,
        "notify.<b>phone</b>",
        {"message": HOSTILE_RULE},
        {"rule": HOSTILE_RULE},
    )
    await store.record(actions=[*night.actions, hostile])
    for days_back in range(1, EARLIER_NIGHTS + 1):
        await store.record(summaries=[earlier(night.summary, days_back, "bedroom", "Bedroom")])
    await store.record(summaries=[earlier(night.summary, 0, HOSTILE_ROOM, HOSTILE_NAME)])
    return night
