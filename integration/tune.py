"""`smart-bedroom tune`: search the detection tunables against the person's own labels.

The stored raw nights are replayed through the real pipeline under candidate settings, and each
candidate is judged only by what the person said: a confirmed spasm it does not find, or one the
person reported that it does not find, is a miss; an event they rejected that it still reports is
a false alarm. A candidate that reports more spasm-like events than the rules in force, beyond
the spasms the person reported missed, is charged each extra one as a probable false alarm: the
person saw those nights, and a setting that finds everything by finding far more is no better.
The search is a coordinate descent over a few tunables within documented bounds, starting from
the rules in force, and a change is proposed only when it strictly lowers that cost on the
labelled nights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from integration.config import ServiceConfig
from integration.core.detectors import DetectionSettings
from integration.core.events import MovementEvent
from integration.core.labels import MISSED_WINDOW_S, EventLabel, Label
from integration.core.rules import RuleSet
from integration.messages import InboundMessage
from integration.pipeline import Pipeline
from integration.replay import replay

__all__ = [
    "MIN_LABELS",
    "TUNABLES",
    "LabelledNight",
    "NightVerdict",
    "Tunable",
    "TuneResult",
    "judge",
    "tune",
]

# Fewer labels than this say too little to move a threshold: tune reports and changes nothing.
MIN_LABELS = 5
# A labelled event and a detection are the same movement when they overlap within this.
MATCH_TOLERANCE_S = 1.0
# Passes of the coordinate descent; each tries every value of every tunable once.
MAX_PASSES = 2


@dataclass(frozen=True, slots=True)
class Tunable:
    """One detection setting tune may change, and the range it may change it in."""

    name: str
    low: float
    high: float
    steps: int
    why: str

    def values(self) -> list[float]:
        """The candidate values, evenly spaced over [low, high]."""
        span = (self.high - self.low) / (self.steps - 1)
        return [round(self.low + i * span, 4) for i in range(self.steps)]


# The settings that decide spasm-like vs not, with bounds inside which the clinical definitions
# behind the defaults still hold (README, "Tuning from your labels").
TUNABLES: tuple[Tunable, ...] = (
    Tunable("onset_ratio", 2.0, 5.0, 7, "how far above the resting level a movement starts"),
    Tunable("jerk_max_s", 1.0, 4.0, 7, "the longest movement still taken for a jerk"),
    Tunable("clonus_min_autocorr", 0.4, 0.8, 5, "how rhythmic a burst must be to be clonus"),
    Tunable("turnover_min_angle_deg", 2.0, 10.0, 5, "the tilt that makes a burst a turnover"),
)


@dataclass(frozen=True, slots=True)
class LabelledNight:
    """One stored night of one room: its raw messages and the person's labels on it."""

    night_date: str
    room: str
    messages: Sequence[InboundMessage]
    labels: Sequence[EventLabel]


@dataclass(frozen=True, slots=True)
class NightVerdict:
    """How one night's detections stand against its labels."""

    spasm_like: int  # detected, labelled or not
    found: int  # confirmed or reported spasms the detections include
    missed: int  # confirmed or reported spasms they do not
    false_alarms: int  # rejected events they still report as spasm-like

    @property
    def cost(self) -> int:
        """What the search minimises."""
        return self.missed + self.false_alarms


@dataclass(slots=True)
class TuneResult:
    """Before and after, night by night, and what changed."""

    before: DetectionSettings
    after: DetectionSettings
    verdicts_before: list[NightVerdict] = field(default_factory=list)
    verdicts_after: list[NightVerdict] = field(default_factory=list)
    tried: int = 0  # candidate settings replayed

    @property
    def changes(self) -> dict[str, tuple[float, float]]:
        """Tunable → (value in force, proposed value), for those that changed."""
        return {
            t.name: (getattr(self.before, t.name), getattr(self.after, t.name))
            for t in TUNABLES
            if getattr(self.before, t.name) != getattr(self.after, t.name)
        }


def judge(events: Sequence[MovementEvent], labels: Sequence[EventLabel]) -> NightVerdict:
    """Score one night's detections against the person's labels (see the module docstring).

    Matching is one to one: labels on events take the detection they overlap first, then each
    reported spasm takes the latest detection left in the minutes before the report.
    """
    spasms = [e for e in events if e.spasm_like]
    taken: set[int] = set()
    found = missed = false_alarms = 0
    for label in sorted(labels, key=lambda lab: (lab.label is Label.MISSED, lab.start)):
        if label.label is Label.MISSED:
            free = [
                i
                for i, e in enumerate(spasms)
                if i not in taken and label.start - MISSED_WINDOW_S <= e.start <= label.start
            ]
            match = free[-1] if free else None
        else:
            match = next(
                (
                    i
                    for i, e in enumerate(spasms)
                    if i not in taken
                    and e.start < label.end + MATCH_TOLERANCE_S
                    and label.start < e.end + MATCH_TOLERANCE_S
                ),
                None,
            )
        if match is not None:
            taken.add(match)
        if label.label is Label.REJECTED:
            false_alarms += match is not None
        else:
            found += match is not None
            missed += match is None
    return NightVerdict(len(spasms), found, missed, false_alarms)


def tune(
    nights: Sequence[LabelledNight],
    config: ServiceConfig,
    rules: RuleSet,
    *,
    tunables: Sequence[Tunable] = TUNABLES,
    progress: Callable[[int], None] = lambda tried: None,
) -> TuneResult:
    """Search the tunables from `rules.detection` on the labelled nights (see module docstring)."""
    cache: dict[str, list[NightVerdict]] = {}

    def verdicts(settings: DetectionSettings) -> list[NightVerdict]:
        key = settings.model_dump_json()
        if key not in cache:
            candidate = rules.model_copy(update={"detection": settings})
            cache[key] = [
                judge(replay(night.messages, Pipeline(config, candidate)).events, night.labels)
                for night in nights
            ]
            progress(len(cache))
        return cache[key]

    start = best = rules.detection
    # Detections a candidate may add for free: those in force, plus every spasm reported missed.
    allowed = [
        v.spasm_like + sum(label.label is Label.MISSED for label in night.labels)
        for v, night in zip(verdicts(start), nights, strict=True)
    ]

    def cost(settings: DetectionSettings) -> int:
        return sum(
            v.cost + max(0, v.spasm_like - free)
            for v, free in zip(verdicts(settings), allowed, strict=True)
        )

    best_cost = cost(best)
    for _ in range(MAX_PASSES):
        improved = False
        for tunable in tunables:
            for value in tunable.values():
                candidate = _with(best, tunable.name, value)
                if candidate is None or candidate == best:
                    continue
                candidate_cost = cost(candidate)
                if candidate_cost < best_cost:
                    best, best_cost, improved = candidate, candidate_cost, True
        if not improved or best_cost == 0:
            break
    # Change as little as the labels need: put back any tunable whose change no longer helps.
    for tunable in tunables:
        original = _with(best, tunable.name, getattr(start, tunable.name))
        if original is not None and original != best and cost(original) <= best_cost:
            best = original
    return TuneResult(start, best, verdicts(start), verdicts(best), len(cache))


def _with(settings: DetectionSettings, name: str, value: float) -> DetectionSettings | None:
    """`settings` with one value changed, validated whole; None when that breaks a rule."""
    try:
        return DetectionSettings.model_validate({**settings.model_dump(), name: value})
    except ValidationError:
        return None


def report(nights: Sequence[LabelledNight], result: TuneResult) -> list[str]:
    """The before/after table, night by night, then the proposed changes."""
    lines = [
        f"{'night':<12} {'room':<10} {'labels':>6}  {'spasm-like':>11}  {'confirmed found':>15}"
        f"  {'missed':>7}  {'false alarms':>12}",
    ]
    pairs = zip(nights, result.verdicts_before, result.verdicts_after, strict=True)
    for night, before, after in pairs:
        lines.append(
            f"{night.night_date:<12} {night.room:<10} {len(night.labels):>6}  "
            f"{before.spasm_like:>4} → {after.spasm_like:<4}  "
            f"{before.found:>6} → {after.found:<6}  {before.missed:>2} → {after.missed:<2}  "
            f"{before.false_alarms:>4} → {after.false_alarms:<5}"
        )
    lines.append(f"({result.tried} settings replayed)")
    if not result.changes:
        lines.append("No change does better on your labels: the rules in force stay.")
    for name, (old, new) in result.changes.items():
        lines.append(f"proposed: {name}: {old:g} → {new:g}")
    return lines
