"""Event-level scoring of detected movements against the labels of a simulated night.

An event matches a label when their spans overlap once each is widened by `tolerance_s`; each
label matches at most one event and each event at most one label (a maximum matching, so one
long event cannot claim two labels and a burst of events cannot all count). Spasm-like events
are matched to spasm-like labels whatever their kinds — a jerk called clonus is still a spasm
found — and kind agreement is reported beside it. Derived events (PLM series, restless episode
starts and ends) are not movements and take no part, nor do series and dropout labels.

Restlessness is scored apart, in minutes (`score_restless`): the restless-episode rule of
`episodes.py` applied to the planted spasm-like movements gives the planted episodes, which the
reported `restless_end` spans are compared with. Beside it, how many planted body movements any
reported movement overlapped: what a sensor that cannot tell kinds apart still sees.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from integration.core.detectors.settings import DetectionSettings
from integration.core.events import MovementEvent, MovementKind
from integration.core.simulation.night import Label, LabelKind

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "NightScore",
    "RestlessScore",
    "combine",
    "combine_restless",
    "percentile",
    "planted_restless_spans",
    "score_night",
    "score_restless",
]

DEFAULT_TOLERANCE_S = 1.0  # a detector's onset/offset may lag the movement by its RMS window
DERIVED_EVENT_KINDS = frozenset(
    {MovementKind.PLM_SERIES, MovementKind.RESTLESS_START, MovementKind.RESTLESS_END}
)
UNSCORED_LABEL_KINDS = frozenset({LabelKind.PLM_SERIES, LabelKind.DROPOUT})
# Ordinary movements scored by their own kind: found when an event of the same kind matches.
ORDINARY_KINDS = {
    LabelKind.TURNOVER: MovementKind.TURNOVER,
    LabelKind.OUT_OF_BED: MovementKind.OUT_OF_BED,
}


@dataclass(frozen=True, slots=True)
class NightScore:
    """Counts from one night, or summed over several by `combine`."""

    nights: int
    true_positives: int  # spasm-like labels matched by a spasm-like event
    false_positives: int  # spasm-like events matching no spasm-like label: false alarms
    false_negatives: int  # spasm-like labels no spasm-like event matched
    labels_by_kind: Mapping[str, int] = field(default_factory=dict)
    found_by_kind: Mapping[str, int] = field(default_factory=dict)
    kind_agreed: int = 0  # matched spasm pairs whose event kind is the label's kind
    turnovers: int = 0
    turnovers_flagged: int = 0  # turnover labels overlapped by a false-alarm spasm-like event
    delays_s: tuple[float, ...] = ()  # detected_at - label end, for matched spasm-like pairs
    # non-spasm labels other than turnovers (cough, knock, pet, ...) overlapped by a false alarm
    flagged_by_kind: Mapping[str, int] = field(default_factory=dict)

    @property
    def precision(self) -> float:
        """Share of spasm-like events that were spasms (1.0 when none were claimed)."""
        claimed = self.true_positives + self.false_positives
        return self.true_positives / claimed if claimed else 1.0

    @property
    def recall(self) -> float:
        """Share of spasms found (1.0 when there were none)."""
        planted = self.true_positives + self.false_negatives
        return self.true_positives / planted if planted else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    @property
    def false_alarms_per_night(self) -> float:
        """Spasm-like events with no spasm behind them, per night."""
        return self.false_positives / self.nights if self.nights else 0.0

    @property
    def turnovers_flagged_share(self) -> float:
        """Share of turnovers reported as a spasm."""
        return self.turnovers_flagged / self.turnovers if self.turnovers else 0.0

    @property
    def kind_agreement(self) -> float | None:
        """Share of found spasms given the label's own kind; None when none were found."""
        return self.kind_agreed / self.true_positives if self.true_positives else None

    def recall_of_kinds(self, kinds: Iterable[LabelKind]) -> float | None:
        """Share of the labels of these kinds found; None when the nights had none."""
        kinds = list(kinds)
        planted = sum(self.labels_by_kind.get(kind, 0) for kind in kinds)
        found = sum(self.found_by_kind.get(kind, 0) for kind in kinds)
        return found / planted if planted else None

    def recall_of(self, kind: LabelKind) -> float | None:
        """Share of `kind` labels found; None when the nights had none."""
        planted = self.labels_by_kind.get(kind, 0)
        return self.found_by_kind.get(kind, 0) / planted if planted else None


def score_night(
    events: Iterable[MovementEvent],
    labels: Iterable[Label],
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> NightScore:
    """Score one night's events against its labels."""
    scored_events = [e for e in events if e.kind not in DERIVED_EVENT_KINDS]
    scored_labels = [label for label in labels if label.kind not in UNSCORED_LABEL_KINDS]
    spasm_events = [e for e in scored_events if e.spasm_like]
    spasm_labels = [label for label in scored_labels if label.spasm_like]
    pairs = _match(spasm_events, spasm_labels, tolerance_s)
    labels_by_kind = Counter(str(label.kind) for label in scored_labels)
    found_by_kind = Counter(str(spasm_labels[j].kind) for _, j in pairs)
    for label_kind, event_kind in ORDINARY_KINDS.items():
        same_kind = [e for e in scored_events if e.kind is event_kind]
        own = [label for label in scored_labels if label.kind is label_kind]
        found_by_kind[str(label_kind)] = len(_match(same_kind, own, tolerance_s))
    matched_events = {i for i, _ in pairs}
    false_alarms = [e for i, e in enumerate(spasm_events) if i not in matched_events]
    turnovers = [label for label in scored_labels if label.kind is LabelKind.TURNOVER]
    flagged = sum(
        any(_overlaps(e, label, tolerance_s) for e in false_alarms) for label in turnovers
    )
    others = [
        label
        for label in scored_labels
        if not label.spasm_like and label.kind not in ORDINARY_KINDS
    ]
    flagged_by_kind = Counter(
        str(label.kind)
        for label in others
        if any(_overlaps(e, label, tolerance_s) for e in false_alarms)
    )
    detected = [(spasm_events[i].detected_at, spasm_labels[j].end) for i, j in pairs]
    delays = tuple(at - end for at, end in detected if at is not None)
    return NightScore(
        nights=1,
        true_positives=len(pairs),
        false_positives=len(false_alarms),
        false_negatives=len(spasm_labels) - len(pairs),
        labels_by_kind=dict(labels_by_kind),
        found_by_kind=dict(found_by_kind),
        kind_agreed=sum(str(spasm_events[i].kind) == str(spasm_labels[j].kind) for i, j in pairs),
        turnovers=len(turnovers),
        turnovers_flagged=flagged,
        delays_s=delays,
        flagged_by_kind=dict(flagged_by_kind),
    )


def combine(scores: Iterable[NightScore]) -> NightScore:
    """Several nights as one score: counts summed, delays pooled."""
    scores = list(scores)
    labels: Counter[str] = Counter()
    found: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    for score in scores:
        labels.update(score.labels_by_kind)
        found.update(score.found_by_kind)
        flagged.update(score.flagged_by_kind)
    return NightScore(
        nights=sum(s.nights for s in scores),
        true_positives=sum(s.true_positives for s in scores),
        false_positives=sum(s.false_positives for s in scores),
        false_negatives=sum(s.false_negatives for s in scores),
        labels_by_kind=dict(labels),
        found_by_kind=dict(found),
        kind_agreed=sum(s.kind_agreed for s in scores),
        turnovers=sum(s.turnovers for s in scores),
        turnovers_flagged=sum(s.turnovers_flagged for s in scores),
        delays_s=tuple(d for s in scores for d in s.delays_s),
        flagged_by_kind=dict(flagged),
    )


# The body's own movements, for "seen at all" by a sensor that cannot tell them apart.
BODY_MOVEMENT_LABELS = frozenset(
    {LabelKind.JERK, LabelKind.CLONUS, LabelKind.PLM, LabelKind.TONIC, LabelKind.TURNOVER}
)


@dataclass(frozen=True, slots=True)
class RestlessScore:
    """Restless minutes planted and reported, and planted body movements seen at all."""

    planted_min: float = 0.0
    found_min: float = 0.0
    overlap_min: float = 0.0  # reported restless minutes inside planted episodes
    body_movements: int = 0
    body_movements_seen: int = 0  # overlapped by any reported movement, whatever its kind


def planted_restless_spans(
    labels: Iterable[Label], settings: DetectionSettings
) -> list[tuple[float, float]]:
    """The restless episodes a detector seeing every spasm would report (`episodes.py` rule)."""
    spans: list[tuple[float, float]] = []
    recent: list[float] = []
    opened: float | None = None
    last_end = -math.inf
    spasms = sorted((label for label in labels if label.spasm_like), key=lambda lb: lb.start)
    for label in spasms:
        if opened is not None and label.start - last_end >= settings.restless_window_s:
            spans.append((opened, last_end))
            opened, recent = None, []
        recent = [*recent, label.start][-settings.restless_min_events :]
        last_end = max(last_end, label.end)
        if (
            opened is None
            and len(recent) >= settings.restless_min_events
            and recent[-1] - recent[0] <= settings.restless_window_s
        ):
            opened = recent[0]
    if opened is not None:
        spans.append((opened, last_end))
    return spans


def score_restless(
    events: Iterable[MovementEvent],
    labels: Iterable[Label],
    settings: DetectionSettings,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> RestlessScore:
    """Restless minutes reported against planted, and body movements seen, for one night."""
    events, labels = list(events), list(labels)
    planted = planted_restless_spans(labels, settings)
    found = [(e.start, e.end) for e in events if e.kind is MovementKind.RESTLESS_END]
    overlap = sum(max(0.0, min(b, d) - max(a, c)) for a, b in found for c, d in planted)
    moves = [e for e in events if e.kind not in DERIVED_EVENT_KINDS | {MovementKind.OUT_OF_BED}]
    body = [label for label in labels if label.kind in BODY_MOVEMENT_LABELS]
    seen = sum(any(_overlaps(e, label, tolerance_s) for e in moves) for label in body)
    return RestlessScore(
        planted_min=sum(b - a for a, b in planted) / 60.0,
        found_min=sum(b - a for a, b in found) / 60.0,
        overlap_min=overlap / 60.0,
        body_movements=len(body),
        body_movements_seen=seen,
    )


def combine_restless(scores: Iterable[RestlessScore]) -> RestlessScore:
    """Several nights' restlessness as one: minutes and counts summed."""
    scores = list(scores)
    return RestlessScore(
        planted_min=sum(s.planted_min for s in scores),
        found_min=sum(s.found_min for s in scores),
        overlap_min=sum(s.overlap_min for s in scores),
        body_movements=sum(s.body_movements for s in scores),
        body_movements_seen=sum(s.body_movements_seen for s in scores),
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank `q`-th percentile (0-100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _overlaps(event: MovementEvent, label: Label, tolerance_s: float) -> bool:
    return event.start - tolerance_s <= label.end and label.start - tolerance_s <= event.end


def _match(
    events: Sequence[MovementEvent], labels: Sequence[Label], tolerance_s: float
) -> list[tuple[int, int]]:
    """A maximum one-to-one matching of overlapping (event, label) pairs, as index pairs.

    Kuhn's augmenting paths; candidates are tried largest overlap first, so among maximum
    matchings the natural pairing wins. Events are swept in time order, so only labels near
    each event are compared.
    """
    order = sorted(range(len(labels)), key=lambda j: labels[j].start)
    label_starts = [labels[j].start for j in order]
    longest = max((label.end - label.start for label in labels), default=0.0)
    candidates: list[list[int]] = []
    for event in events:
        near: list[tuple[float, int]] = []
        lo = bisect.bisect_left(label_starts, event.start - longest - 2 * tolerance_s)
        for position in range(lo, len(order)):
            j = order[position]
            if labels[j].start - tolerance_s > event.end:
                break
            if _overlaps(event, labels[j], tolerance_s):
                overlap = min(event.end, labels[j].end) - max(event.start, labels[j].start)
                near.append((-overlap, j))
        candidates.append([j for _, j in sorted(near)])
    label_owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in label_owner or augment(label_owner[j], seen):
                label_owner[j] = i
                return True
        return False

    for i in range(len(events)):
        if candidates[i]:
            augment(i, set())
    return sorted((i, j) for j, i in label_owner.items())
