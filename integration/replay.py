"""Replay: a recording through the very pipeline `run` uses, on simulated time, as fast as possible.

Between messages, ticks are synthesised once a second of recorded time, as the live shell
ticks once a second of wall time; after the last message, time runs on for a flush horizon so
events still open (an episode's quiet window) close as they would have live. A night still
open then is summarised up to the last message, as if the person got up when it ended.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from integration.clock import ReplayClock
from integration.core.events import Action, MovementEvent, Notice
from integration.core.localtime import iso
from integration.core.readings import TICK_S, Tick
from integration.core.summary import NightSummary
from integration.messages import InboundMessage
from integration.pipeline import Pipeline, PipelineOutputs

# Longer than any detector's closing window (restless episodes close after minutes of quiet).
FLUSH_HORIZON_S = 1800.0

DOCUMENT_SCHEMA = "smart-bedroom/replay/1"


@dataclass(slots=True)
class ReplayResult:
    """Everything the service would have done over the recording."""

    events: list[MovementEvent] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    summaries: list[NightSummary] = field(default_factory=list)
    first_t: float | None = None
    last_t: float | None = None

    def collect(self, out: PipelineOutputs) -> None:
        """Keep what one input produced."""
        self.events.extend(out.events)
        self.notices.extend(out.notices)
        self.actions.extend(out.actions)
        self.summaries.extend(out.summaries)


def replay(messages: Iterable[InboundMessage], pipeline: Pipeline) -> ReplayResult:
    """Feed `messages` (in recorded order) and synthesised ticks through `pipeline`."""
    result = ReplayResult()
    clock = ReplayClock()
    next_tick: float | None = None
    for message in messages:
        if next_tick is None:
            result.first_t = message.t
            clock.advance_to(message.t)
            next_tick = math.floor(message.t) + TICK_S
        while next_tick <= message.t:
            clock.advance_to(next_tick)
            result.collect(pipeline.handle(Tick(next_tick)))
            next_tick += TICK_S
        clock.advance_to(message.t)
        result.collect(pipeline.handle(message))
    if next_tick is not None:
        result.last_t = clock.now()
        end = clock.now() + FLUSH_HORIZON_S
        while next_tick <= end:
            result.collect(pipeline.handle(Tick(next_tick)))
            next_tick += TICK_S
        result.collect(pipeline.end_of_input(result.last_t))
    # By start, then by when each came out: an episode's end follows its start.
    result.events.sort(key=lambda e: (e.start, e.room, e.detected_at or e.end, e.kind))
    return result


def to_document(
    result: ReplayResult, pipeline: Pipeline, *, source: str, bad_lines: int = 0
) -> dict[str, Any]:
    """The `replay --json` document (schema in README, "The replay document")."""
    zone = pipeline.config.zone
    stats = pipeline.stats
    return {
        "schema": DOCUMENT_SCHEMA,
        "source": source,
        "timezone": pipeline.config.timezone,
        "from": iso(result.first_t, zone) if result.first_t is not None else None,
        "to": iso(result.last_t, zone) if result.last_t is not None else None,
        "messages": stats.messages,
        "bad_lines": bad_lines,
        "unrouted": stats.unrouted,
        "readings": dict(sorted(stats.readings.items())),
        "rejected": dict(sorted(stats.rejected.items())),
        "events": [
            {
                "room": e.room,
                "kind": str(e.kind),
                "start": iso(e.start, zone),
                "end": iso(e.end, zone),
                "duration_s": round(e.end - e.start, 3),
                "peak": round(e.peak, 3),
                "confidence": round(e.confidence, 3),
                "spasm_like": e.spasm_like,
                "detected_at": iso(e.detected_at, zone) if e.detected_at is not None else None,
                "why": dict(e.why),
            }
            for e in result.events
        ],
        "notices": [
            {
                "room": n.room,
                "sensor": n.sensor_id,
                "time": iso(n.t, zone),
                "code": n.code,
                "message": n.message,
            }
            for n in result.notices
        ],
        "actions": [
            {
                "room": a.room,
                "time": iso(a.t, zone),
                "kind": str(a.kind),
                "target": a.target,
                "data": dict(a.data),
                "why": dict(a.why),
            }
            for a in result.actions
        ],
        "summaries": [summary.to_dict() for summary in result.summaries],
    }


def compare(
    current: ReplayResult, other: ReplayResult, zone: ZoneInfo, *, names: tuple[str, str]
) -> list[str]:
    """A shadow test, side by side: what the night gives under two rule sets.

    Counts by kind, spasm-like totals and restless minutes, then the events only one of the
    two finds (the same kind starting within a second is the same event).
    """
    width = max(14, *(len(name) for name in names))
    kinds = sorted({str(e.kind) for e in (*current.events, *other.events)})
    lines = [f"{'':<16} {names[0]:>{width}} {names[1]:>{width}}"]

    def row(label: str, a: object, b: object) -> None:
        mark = "" if a == b else "  *"
        lines.append(f"{label:<16} {a!s:>{width}} {b!s:>{width}}{mark}")

    for kind in kinds:
        row(kind, *(sum(str(e.kind) == kind for e in r.events) for r in (current, other)))
    row("spasm-like", *(sum(e.spasm_like for e in r.events) for r in (current, other)))
    row(
        "restless min",
        *(round(sum(s.restless_total_min for s in r.summaries)) for r in (current, other)),
    )
    for name, ours, theirs in ((names[0], current, other), (names[1], other, current)):
        only = [
            e
            for e in ours.events
            if not any(o.kind == e.kind and abs(o.start - e.start) <= 1.0 for o in theirs.events)
        ]
        lines.append(f"only under {name} ({len(only)}):")
        lines += [
            f"  {iso(e.start, zone)[11:19]}  {e.kind:<15} {e.end - e.start:6.1f} s"
            f"{'  spasm-like' if e.spasm_like else ''}"
            for e in only
        ]
    return lines
