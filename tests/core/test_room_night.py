"""A room's night through the real pipeline: summary at the end, and a restart mid-night."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from integration.adapters.rulefiles import load_rules
from integration.config import load_config
from integration.core.simulation.night import NightSpec, simulate_night
from integration.core.summary import render_text
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import replay

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "integration" / "defaults" / "demo.yaml"


@functools.cache
def night_messages() -> tuple[InboundMessage, ...]:
    spec = NightSpec(seed=11, hours=2.5, jerks=5, clonus=1, plm_series=1, turnovers=5)
    night = simulate_night(spec)
    return tuple(InboundMessage(t, topic, body) for t, topic, body in night.messages())


def pipeline() -> Pipeline:
    return Pipeline(load_config(DEMO), load_rules(REPO / "rules"))


def test_a_replayed_night_gets_one_summary_covering_it() -> None:
    messages = night_messages()
    result = replay(messages, pipeline())
    (summary,) = result.summaries
    assert summary.room == "bedroom"
    assert summary.bed_time == messages[0].t  # the simulator puts the person in bed at once
    assert summary.wake_time == messages[-1].t
    assert summary.spasm_count == sum(1 for e in result.events if e.spasm_like)
    assert summary.temp_known_min >= 140
    assert summary.sleep is not None
    *during, told = result.actions
    assert summary.actions_count == len(during)
    assert (told.kind, told.target) == ("notify", "persistent_notification.create")
    assert told.data["message"] == render_text(summary)


def test_a_restart_mid_night_keeps_the_night_whole() -> None:
    messages = night_messages()
    whole = replay(messages, pipeline()).summaries[0]

    half = len(messages) // 2
    before = pipeline()
    for message in messages[:half]:
        before.handle(message)
    state = {room_id: room.snapshot() for room_id, room in before.rooms.items()}

    after = pipeline()
    for room_id, snapshot in state.items():
        after.rooms[room_id].restore(snapshot)
    resumed = replay(messages[half:], after).summaries[0]
    assert resumed.bed_time == whole.bed_time
    assert resumed.wake_time == whole.wake_time
    assert resumed.temp_known_min == whole.temp_known_min
    assert resumed.temp_mean_c == whole.temp_mean_c
    # The detectors restart with the service (a short warm-up), so a movement may be missed.
    assert whole.spasm_count - 2 <= resumed.spasm_count <= whole.spasm_count


def test_a_restart_inside_a_restless_episode_neither_forgets_nor_repeats_it() -> None:
    spec = NightSpec(
        seed=1, hours=0.5, jerks=8, clonus=1, plm_series=0, turnovers=1, get_ups=0, dropouts=0
    )
    night = simulate_night(spec)
    messages = [InboundMessage(t, topic, body) for t, topic, body in night.messages()]
    whole = replay(messages, pipeline())
    (opened,) = [e for e in whole.events if e.kind == "restless_start"]
    (closed,) = [e for e in whole.events if e.kind == "restless_end"]
    # Restart in a quiet spell of the open episode, 2 minutes after it opened.
    cut = next(i for i, m in enumerate(messages) if m.t >= opened.detected_at + 120)
    assert not [e for e in whole.events if messages[cut].t - 30 <= e.end <= messages[cut].t + 30]

    before = pipeline()
    for message in messages[:cut]:
        before.handle(message)
    saved = json.loads(json.dumps(before.rooms["bedroom"].snapshot()))  # as the store keeps it
    after = pipeline()
    after.rooms["bedroom"].restore(saved)
    assert after.rooms["bedroom"].status(messages[cut].t)["restless"] is True
    resumed = replay(messages[cut:], after)

    assert [e for e in resumed.events if e.kind == "restless_start"] == []
    (resumed_end,) = [e for e in resumed.events if e.kind == "restless_end"]
    assert (resumed_end.start, resumed_end.end) == (closed.start, closed.end)
    assert resumed.summaries[0].restless_episodes == whole.summaries[0].restless_episodes == 1


def test_a_saved_night_from_after_the_present_is_not_resumed() -> None:
    """A demo replaying the evening before, or a clock set back a day: no night from the future."""
    spec = NightSpec(
        seed=1, hours=0.5, jerks=2, clonus=0, plm_series=0, turnovers=0, get_ups=0, dropouts=0
    )
    messages = [
        InboundMessage(t, topic, body) for t, topic, body in simulate_night(spec).messages()
    ]
    before = pipeline()
    for message in messages[: len(messages) // 2]:
        before.handle(message)
    saved = json.loads(json.dumps(before.rooms["bedroom"].snapshot()))
    assert saved["accumulator"] is not None  # a night was open
    a_day_earlier = messages[0].t - 86_400
    after = pipeline()
    after.rooms["bedroom"].restore(saved, a_day_earlier)
    assert after.rooms["bedroom"].night.open_bed_time is None
    assert after.rooms["bedroom"].accumulator is None
    later = pipeline()
    later.rooms["bedroom"].restore(saved, messages[len(messages) // 2].t)  # the same timeline
    assert later.rooms["bedroom"].accumulator is not None
