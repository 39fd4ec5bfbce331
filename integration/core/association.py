"""What the weeks say: spasm-like events per hour by room temperature, and before vs after a note.

Theory of operation
-------------------
Exposure is time in bed with a known room temperature (`MinuteRecord.in_bed` and `temp_c` not
None): out of bed nobody can have a spasm in bed, and a minute of unknown temperature cannot be
put in a group. (Before vs after a note, temperature plays no part: every in-bed minute counts.)
A spasm-like event counts in the minute it starts, as in the morning summary, and only the events
the person did not call "not a spasm", plus the ones they reported missed (`counted_spasm_times`).

Groups: "band" puts each minute below, in or above the comfort band in force in that minute (its
own `low_c`/`high_c`, since the band follows a schedule); "degree" puts it in a 1 °C bin of its
temperature. A group's rate is events / hours, with the events, minutes and nights it rests on.

Rate ratio against the reference group (in the band; "before" for a note), 95 % CI by the exact
conditional method: given the a + b events of both groups, a ~ Binomial(a + b, p) with
p = Ta·RR / (Ta·RR + Tb), so a Clopper-Pearson interval for p is one for RR (Breslow & Day 1987,
"Statistical Methods in Cancer Research II", §2.3; exact at any count, also at 0 events, where
the Wald interval on log RR is undefined). Pure Python: bisection on the binomial tail, summed in
log space.

Spasms cluster by night (a bad night is bad all night), so counts vary more from night to night
than a Poisson process allows and a plain Poisson CI would be too narrow. The dispersion φ is
Pearson's χ² / df of the per-night, per-group counts against their expected counts under the
fitted group rates; when φ > 1 the interval is widened as quasi-Poisson does, by √φ on the log
scale around the estimate (McCullagh & Nelder 1989, §4.5). An honest interval for clustered nights.

Below a documented amount of data (`MIN_GROUP_NIGHTS`, `MIN_GROUP_MINUTES`, `MIN_NOTE_NIGHTS`) a
group gets no rate and the verdict says how much there is and how much is needed. Every
association carries `ASSOCIATION_CAVEAT`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from integration.core.events import MovementEvent
from integration.core.labels import EventLabel, Label
from integration.core.localtime import night_date
from integration.core.notes import Note
from integration.core.summary import MIN_RATE_MIN, MinuteRecord

__all__ = [
    "ASSOCIATION_CAVEAT",
    "MIN_GROUP_MINUTES",
    "MIN_GROUP_NIGHTS",
    "MIN_NOTE_NIGHTS",
    "Association",
    "BandSuggestion",
    "GroupRate",
    "RateRatio",
    "around_note",
    "by_temperature",
    "counted_spasm_times",
    "dispersion",
    "rate_ratio",
    "suggest_band",
]

ASSOCIATION_CAVEAT = (
    "This is an association in one person's nights, not a cause: other things that differ "
    "between these nights (the season, the day before, medication, illness) may explain it. "
    "Talk it over with your neurologist before changing anything."
)

# A rate from fewer nights than a week leans on one or two unusual nights; a week covers the
# weekly rhythm (work days, weekends).
MIN_GROUP_NIGHTS = 7
# 10 hours in bed: at a typical 2-4 spasm-like events an hour that is 20-40 events, enough for a
# rate ratio's CI to span less than a factor of about 2.
MIN_GROUP_MINUTES = 600
# Before vs after a note: at least a week of nights on each side.
MIN_NOTE_NIGHTS = 7
# A night counts toward a group when it spent at least this long in it (the summary's own
# minimum for a rate), so a night that brushed the band for a minute is not "a night above it".
NIGHT_IN_GROUP_MIN = MIN_RATE_MIN
# Minute records further apart than this belong to different nights (a night is a run of
# minutes; the store keeps minutes only between bed time and waking).
NIGHT_BREAK_S = 4 * 3600.0
CONFIDENCE = 0.95
_BISECTION_STEPS = 200  # halving (0, 1) stops at float resolution well before this
_NEGLIGIBLE = 1e-18  # a binomial term this small against the running sum changes nothing
_DASH = "\u2013"  # U+2013, the en dash of a range a person reads ("17" dash "18 °C")

BandGroup = Literal["below the band", "in the band", "above the band"]
BELOW: BandGroup = "below the band"
IN_BAND: BandGroup = "in the band"
ABOVE: BandGroup = "above the band"
BEFORE = "before"
AFTER = "after"


@dataclass(frozen=True, slots=True)
class RateRatio:
    """A group's rate over the reference's, with its 95 % confidence interval."""

    ratio: float
    low: float
    high: float  # math.inf when the reference group had no events


@dataclass(frozen=True, slots=True)
class GroupRate:
    """Spasm-like events per hour in one group of minutes, with what the rate rests on."""

    name: str
    low_c: float | None  # temperature groups only
    high_c: float | None
    events: int
    minutes: int
    nights: int
    per_hour: float | None  # None when there is not enough data for this group
    versus_reference: RateRatio | None  # None for the reference group or when not enough


@dataclass(frozen=True, slots=True)
class Association:
    """Rates by group, each against the reference, a one-sentence verdict and the caveat."""

    title: str
    reference: str
    groups: tuple[GroupRate, ...]
    enough: bool
    verdict: str
    caveat: str
    dispersion: float = 1.0  # the φ the intervals were widened by (1: not widened)


@dataclass(frozen=True, slots=True)
class BandSuggestion:
    """A cooler or warmer band whose minutes had clearly fewer events than the current band's."""

    low_c: float
    high_c: float
    ratio: RateRatio
    nights: int
    sentence: str


# --- what counts ---------------------------------------------------------------------------


def counted_spasm_times(
    events: Iterable[tuple[int, MovementEvent, Label | None]], missed: Iterable[EventLabel]
) -> list[float]:
    """Start times of the spasm-like events that count: the person's 'not a spasm' left out, missed ones added."""
    times = [
        event.start
        for _id, event, label in events
        if event.spasm_like and label is not Label.REJECTED
    ]
    times.extend(label.start for label in missed if label.label is Label.MISSED)
    return sorted(times)


# --- the statistics ------------------------------------------------------------------------


def _log_binomial_sum(first: int, last: int, n: int, p: float) -> float:
    """log P(first <= X <= last) for X ~ Binomial(n, p).

    The largest term comes from lgamma; the others as ratios to it, walking away from it while
    they still matter (terms fall monotonically on both sides of the mode), so the sum neither
    underflows nor costs more than the few hundred terms that carry it.
    """
    if first > last:
        return -math.inf
    if p <= 0.0:
        return 0.0 if first == 0 else -math.inf
    if p >= 1.0:
        return 0.0 if last == n else -math.inf
    log_p, log_q = math.log(p), math.log1p(-p)
    odds = p / (1 - p)
    top = min(last, max(first, math.floor((n + 1) * p)))
    log_top = (
        math.lgamma(n + 1)
        - math.lgamma(top + 1)
        - math.lgamma(n - top + 1)
        + top * log_p
        + (n - top) * log_q
    )
    total, term = 1.0, 1.0
    for i in range(top, last):  # C(n, i+1) / C(n, i) = (n - i) / (i + 1)
        term *= (n - i) / (i + 1) * odds
        total += term
        if term < _NEGLIGIBLE * total:
            break
    term = 1.0
    for i in range(top, first, -1):  # C(n, i-1) / C(n, i) = i / (n - i + 1)
        term *= i / (n - i + 1) / odds
        total += term
        if term < _NEGLIGIBLE * total:
            break
    return log_top + math.log(total)


def _bisect(increasing: Callable[[float], float], target: float) -> float:
    """The p in (0, 1) where an increasing function of p crosses `target`."""
    low, high = 0.0, 1.0
    for _ in range(_BISECTION_STEPS):
        mid = (low + high) / 2
        if mid in (low, high):
            break
        if increasing(mid) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _clopper_pearson(a: int, n: int, confidence: float) -> tuple[float, float]:
    """Exact interval for a binomial proportion: a successes in n trials."""
    tail = math.log((1 - confidence) / 2)
    # P(X >= a; p) rises with p: the lower limit is where it reaches alpha/2.
    low = 0.0 if a == 0 else _bisect(lambda p: _log_binomial_sum(a, n, n, p), tail)
    # P(X <= a; p) falls with p: the upper limit is where it drops to alpha/2.
    high = 1.0 if a == n else _bisect(lambda p: -_log_binomial_sum(0, a, n, p), -tail)
    return low, high


def rate_ratio(
    a: int,
    minutes_a: float,
    b: int,
    minutes_b: float,
    dispersion: float = 1.0,
    confidence: float = CONFIDENCE,
) -> RateRatio | None:
    """(a / minutes_a) / (b / minutes_b) with its exact conditional CI, widened by √dispersion.

    None when there is nothing to compare (no events in either group, or no time in one).
    """
    if a < 0 or b < 0 or minutes_a <= 0 or minutes_b <= 0 or a + b == 0:
        return None
    n = a + b
    scale = minutes_b / minutes_a  # p / (1 - p) * scale = RR
    ratio = math.inf if b == 0 else (a / minutes_a) / (b / minutes_b)
    phi = max(1.0, dispersion)
    alpha_half = (1 - confidence) / 2
    if a == 0:  # RR = 0: the closed form 1 - (alpha/2)^(1/n), on the effective n / phi events
        p_high = 1 - alpha_half ** (phi / n)
        return RateRatio(0.0, 0.0, p_high / (1 - p_high) * scale)
    if b == 0:  # RR = inf: symmetric to a = 0
        p_low = alpha_half ** (phi / n)
        return RateRatio(math.inf, p_low / (1 - p_low) * scale, math.inf)
    p_low, p_high = _clopper_pearson(a, n, confidence)
    low = p_low / (1 - p_low) * scale
    high = p_high / (1 - p_high) * scale
    widen = math.sqrt(phi)  # quasi-Poisson: standard errors times sqrt(phi), on the log scale
    return RateRatio(ratio, ratio * (low / ratio) ** widen, ratio * (high / ratio) ** widen)


def dispersion(cells: Iterable[tuple[str, float, int, float]]) -> float:
    """Pearson χ² / df of per-night counts vs the group rates; at least 1.

    `cells` are (group, night key, events, minutes) for each night's share of each group; each
    group's rate is fitted from its cells (one parameter a group).
    """
    rows = [cell for cell in cells if cell[3] > 0]
    totals: dict[str, tuple[int, float]] = {}
    for group, _night, events, minutes in rows:
        e, m = totals.get(group, (0, 0.0))
        totals[group] = (e + events, m + minutes)
    chi2, used = 0.0, 0
    for group, _night, events, minutes in rows:
        group_events, group_minutes = totals[group]
        expected = group_events / group_minutes * minutes
        if expected > 0:
            chi2 += (events - expected) ** 2 / expected
            used += 1
    groups = sum(1 for e, _m in totals.values() if e > 0)
    df = used - groups
    return max(1.0, chi2 / df) if df > 0 else 1.0


# --- grouping -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    """Events and minutes of one group, per night."""

    events: int = 0
    minutes: int = 0
    by_night: dict[float, list[int]] = field(default_factory=dict)  # key -> [events, minutes]

    def add(self, night: float, events: int) -> None:
        self.events += events
        self.minutes += 1
        cell = self.by_night.setdefault(night, [0, 0])
        cell[0] += events
        cell[1] += 1

    @property
    def nights(self) -> int:
        return sum(1 for _e, m in self.by_night.values() if m >= NIGHT_IN_GROUP_MIN)

    @property
    def enough(self) -> bool:
        return self.nights >= MIN_GROUP_NIGHTS and self.minutes >= MIN_GROUP_MINUTES


@dataclass(frozen=True, slots=True)
class _Prepared:
    """Minutes in time order, each with its night key and the counted events starting in it."""

    records: list[MinuteRecord]
    nights: list[float]
    events: list[int]


def _prepare(minutes: Sequence[MinuteRecord], spasm_times: Sequence[float]) -> _Prepared:
    """Sort once, find the nights (runs of minutes), count the events of each minute."""
    per_minute: dict[int, int] = {}
    for t in spasm_times:
        minute = math.floor(t / 60)
        per_minute[minute] = per_minute.get(minute, 0) + 1
    records = sorted(minutes, key=lambda m: m.t)
    nights: list[float] = []
    start = last = -math.inf
    for record in records:
        if record.t - last > NIGHT_BREAK_S:
            start = record.t
        last = record.t
        nights.append(start)
    events = [per_minute.get(math.floor(r.t / 60), 0) for r in records]
    return _Prepared(records, nights, events)


def _tally(prepared: _Prepared, groups: Iterable[str | None]) -> dict[str, _Tally]:
    """Events, minutes and nights of each group; `groups` names each prepared minute's group."""
    tallies: dict[str, _Tally] = {}
    for group, night, events in zip(groups, prepared.nights, prepared.events, strict=True):
        if group is not None:
            tallies.setdefault(group, _Tally()).add(night, events)
    return tallies


def _cells(tallies: dict[str, _Tally]) -> list[tuple[str, float, int, float]]:
    """The nights' shares of each group for `dispersion`: those of a night that counts there.

    A night's few minutes in a group give a noisy χ² term of their own; leaving them out steadies
    the dispersion without biasing it.
    """
    return [
        (group, night, events, float(mins))
        for group, tally in tallies.items()
        for night, (events, mins) in tally.by_night.items()
        if mins >= NIGHT_IN_GROUP_MIN
    ]


def _band_group(record: MinuteRecord) -> str | None:
    temp, low, high = record.temp_c, record.low_c, record.high_c
    if not record.in_bed or temp is None or low is None or high is None:
        return None
    if temp < low:
        return BELOW
    return ABOVE if temp > high else IN_BAND


def _degree_label(low_c: float) -> str:
    return f"{low_c:.0f}{_DASH}{low_c + 1:.0f} °C"


def _degree_group(record: MinuteRecord) -> str | None:
    """The whole degree below the minute's temperature, as the group's key ("17")."""
    if not record.in_bed or record.temp_c is None:
        return None
    return str(math.floor(record.temp_c))


def _group_rate(
    name: str,
    tally: _Tally,
    reference: _Tally | None,
    phi: float,
    bounds: tuple[float | None, float | None] = (None, None),
) -> GroupRate:
    enough = tally.enough
    versus = None
    if enough and reference is not None and reference.enough:
        versus = rate_ratio(tally.events, tally.minutes, reference.events, reference.minutes, phi)
    return GroupRate(
        name=name,
        low_c=bounds[0],
        high_c=bounds[1],
        events=tally.events,
        minutes=tally.minutes,
        nights=tally.nights,
        per_hour=tally.events / (tally.minutes / 60) if enough else None,
        versus_reference=versus,
    )


def _change(ratio: float) -> str:
    """A rate ratio in words: "40 % fewer", "60 % more", "no difference"."""
    if math.isinf(ratio):
        return "no upper limit"
    percent = round(abs(ratio - 1) * 100)
    if percent == 0:
        return "no difference"
    return f"{percent} % fewer" if ratio < 1 else f"{percent} % more"


def _percent_change(ratio: RateRatio) -> str:
    """The change with its CI, e.g. "40 % fewer (95 % CI 22-55 %)" with an en dash in the range."""
    if math.isinf(ratio.ratio):
        return f"more (none in the reference; 95 % CI from {_change(ratio.low)} up)"
    if ratio.high < 1:
        first, second = round((1 - ratio.high) * 100), round((1 - ratio.low) * 100)
        return f"{_change(ratio.ratio)} (95 % CI {first}{_DASH}{second} %)"
    if ratio.low > 1 and not math.isinf(ratio.high):
        first, second = round((ratio.low - 1) * 100), round((ratio.high - 1) * 100)
        return f"{_change(ratio.ratio)} (95 % CI {first}{_DASH}{second} %)"
    return f"{_change(ratio.ratio)} (95 % CI from {_change(ratio.low)} to {_change(ratio.high)})"


def _describe(name: str, ratio: RateRatio, reference: str) -> str:
    if math.isinf(ratio.ratio):
        return f"{name}: events only there, none {reference}"
    return f"{name}: {_percent_change(ratio)} spasm-like events an hour than {reference}"


def _clear(ratio: RateRatio) -> bool:
    return ratio.high < 1 or ratio.low > 1


def _not_enough(tallies: dict[str, _Tally], needed: Sequence[str], what: str) -> str:
    have = [
        f"{name} {tallies[name].nights if name in tallies else 0} nights, "
        f"{(tallies[name].minutes if name in tallies else 0) / 60:.0f} h"
        for name in needed
    ]
    return f"Not enough nights to say ({'; '.join(have)}; each needs at least {what})."


# --- the associations ----------------------------------------------------------------------


def by_temperature(
    minutes: Sequence[MinuteRecord],
    spasm_times: Sequence[float],
    bins: Literal["band", "degree"] = "band",
) -> Association:
    """Spasm-like events per hour below, in and above the band (or by 1 °C), each against in band."""
    prepared = _prepare(minutes, spasm_times)
    band = _tally(prepared, map(_band_group, prepared.records))
    reference = band.get(IN_BAND)
    needed = f"{MIN_GROUP_NIGHTS} nights and {MIN_GROUP_MINUTES // 60} h in bed"
    if bins == "band":
        phi = dispersion(_cells(band))
        groups = tuple(
            _group_rate(name, band[name], reference, phi)
            if name != IN_BAND
            else _group_rate(name, band[name], None, phi)
            for name in (BELOW, IN_BAND, ABOVE)
            if name in band
        )
        title = "Spasm-like events by room temperature against the comfort band"
    else:
        degrees = _tally(prepared, map(_degree_group, prepared.records))
        phi = dispersion(_cells(degrees))
        shown = []
        for key in sorted(degrees, key=int):
            low_c = float(key)
            if degrees[key].enough:
                shown.append(
                    _group_rate(
                        _degree_label(low_c), degrees[key], reference, phi, (low_c, low_c + 1.0)
                    )
                )
        in_band = [_group_rate(IN_BAND, reference, None, phi)] if reference is not None else []
        groups = tuple(in_band + shown)
        title = "Spasm-like events by room temperature, 1 °C at a time"
    if reference is None or not reference.enough:
        verdict = _not_enough(band, [IN_BAND], needed)
        return Association(title, IN_BAND, groups, False, verdict, ASSOCIATION_CAVEAT, phi)
    compared = [g for g in groups if g.versus_reference is not None]
    if not compared:
        others = [n for n in (BELOW, ABOVE) if n in band] or [ABOVE]
        verdict = _not_enough(band, [IN_BAND, *others], needed)
        return Association(title, IN_BAND, groups, False, verdict, ASSOCIATION_CAVEAT, phi)
    clear = [g for g in compared if g.versus_reference is not None and _clear(g.versus_reference)]
    if clear:
        parts = [
            _describe(g.name, g.versus_reference, IN_BAND) for g in clear if g.versus_reference
        ]
        verdict = "; ".join(parts) + "."
        verdict = verdict[0].upper() + verdict[1:]
    else:
        verdict = (
            "No clear difference from the nights' minutes in the band: every interval includes "
            "no difference."
        )
    return Association(title, IN_BAND, groups, True, verdict, ASSOCIATION_CAVEAT, phi)


def around_note(
    minutes: Sequence[MinuteRecord],
    spasm_times: Sequence[float],
    note: Note,
    zone: ZoneInfo,
    nights_each_side: int = 14,
) -> Association:
    """Spasm-like events per hour in bed in the nights before vs after the note's night.

    The night the note falls in is left out (half of it may be before, half after).
    """
    noted = night_date(note.at, zone)
    first = noted - timedelta(days=nights_each_side)
    last = noted + timedelta(days=nights_each_side)
    prepared = _prepare([m for m in minutes if m.room == note.room], spasm_times)
    dates: dict[int, date] = {}  # night dates by UTC hour: one zone lookup an hour, not a minute

    def side(record: MinuteRecord) -> str | None:
        if not record.in_bed:
            return None
        hour = math.floor(record.t / 3600)
        day = dates.get(hour)
        if day is None:
            day = dates[hour] = night_date(hour * 3600.0, zone)
        if first <= day < noted:
            return BEFORE
        if noted < day <= last:
            return AFTER
        return None

    tallies = _tally(prepared, map(side, prepared.records))
    phi = dispersion(_cells(tallies))
    before, after = tallies.get(BEFORE), tallies.get(AFTER)
    title = f"Spasm-like events before and after “{note.text}”"

    def enough(tally: _Tally | None) -> bool:
        return (
            tally is not None
            and tally.nights >= MIN_NOTE_NIGHTS
            and tally.minutes >= MIN_GROUP_MINUTES
        )

    versus = None
    if enough(before) and enough(after) and before is not None and after is not None:
        versus = rate_ratio(after.events, after.minutes, before.events, before.minutes, phi)
    groups = tuple(
        GroupRate(
            name=name,
            low_c=None,
            high_c=None,
            events=tally.events,
            minutes=tally.minutes,
            nights=tally.nights,
            per_hour=tally.events / (tally.minutes / 60) if enough(tally) else None,
            versus_reference=versus if name == AFTER else None,
        )
        for name, tally in ((BEFORE, before), (AFTER, after))
        if tally is not None
    )
    if versus is None or before is None or after is None:
        have = "; ".join(
            f"{name} {0 if t is None else t.nights} nights, {0 if t is None else t.minutes / 60:.0f} h"
            for name, t in ((BEFORE, before), (AFTER, after))
        )
        verdict = (
            f"Not enough nights to say ({have}; each side needs at least {MIN_NOTE_NIGHTS} "
            f"nights and {MIN_GROUP_MINUTES // 60} h in bed)."
        )
        return Association(title, BEFORE, groups, False, verdict, ASSOCIATION_CAVEAT, phi)
    span = f"the {nights_each_side} nights after vs before"
    if _clear(versus):
        verdict = f"In {span}: {_percent_change(versus)} spasm-like events an hour."
    else:
        verdict = (
            f"In {span}: no clear difference ({_percent_change(versus)} spasm-like events an "
            "hour; the interval includes no difference)."
        )
    return Association(title, BEFORE, groups, True, verdict, ASSOCIATION_CAVEAT, phi)


def suggest_band(
    minutes: Sequence[MinuteRecord],
    spasm_times: Sequence[float],
    current_low_c: float,
    current_high_c: float,
) -> BandSuggestion | None:
    """A band as wide as the current one whose minutes had clearly fewer events; None if none.

    Candidates start at whole degrees; each needs enough data of its own, and its whole 95 % CI
    against the current band's minutes must lie below 1. Of those, the lowest rate wins (on a
    tie, the smallest change). Nothing is applied here: the person applies it, with the comfort
    band override.
    """
    if not current_low_c < current_high_c:
        return None
    width_c = max(1.0, float(round(current_high_c - current_low_c)))
    usable = [m for m in minutes if m.in_bed and m.temp_c is not None]
    if not usable:
        return None

    prepared = _prepare(usable, spasm_times)
    temps = [m.temp_c for m in prepared.records]

    def within(low_c: float, high_c: float) -> _Tally | None:
        inside = ("in" if t is not None and low_c <= t <= high_c else None for t in temps)
        return _tally(prepared, inside).get("in")

    current = within(current_low_c, current_high_c)
    if current is None or not current.enough:
        return None
    phi = dispersion(_cells(_tally(prepared, map(_degree_group, prepared.records))))
    known = [t for t in temps if t is not None]
    best: tuple[float, float, float, RateRatio, _Tally] | None = None
    width_steps = math.ceil(width_c)
    for start in range(math.floor(min(known)) - width_steps + 1, math.floor(max(known)) + 1):
        low_c, high_c = float(start), start + width_c
        if (low_c, high_c) == (current_low_c, current_high_c):
            continue
        tally = within(low_c, high_c)
        if tally is None or not tally.enough:
            continue
        ratio = rate_ratio(tally.events, tally.minutes, current.events, current.minutes, phi)
        if ratio is None or ratio.high >= 1:
            continue
        per_hour = tally.events / tally.minutes * 60
        shift = abs(low_c - current_low_c)  # of equal rates, the smallest change of band
        if best is None or (per_hour, shift) < (best[2], abs(best[0] - current_low_c)):
            best = (low_c, high_c, per_hour, ratio, tally)
    if best is None:
        return None
    low_c, high_c, _rate, ratio, tally = best
    sentence = (
        f"Nights held at {low_c:.0f}{_DASH}{high_c:.0f} °C had {_percent_change(ratio)} "
        f"spasm-like events an hour than at {current_low_c:g}{_DASH}{current_high_c:g} °C, over "
        f"{tally.nights} "
        "nights."
    )
    return BandSuggestion(low_c, high_c, ratio, tally.nights, sentence)
