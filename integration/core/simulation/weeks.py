"""Simulated weeks: many nights of history with a temperature effect and a medication change planted.

Theory of operation
-------------------
`simulate_weeks` makes what the service would have kept after N nights — per-minute records,
spasm-like events, restless episodes and each night's `NightSummary` — without rendering any
accelerometer signal: the figures come straight from a model, and each night is fed through the
real `NightAccumulator`, so the minutes and the summaries are exactly what the service computes
from such a night. It is for the association statistics, the report, the demo and the bench.

The model (each size a field of `WeeksSpec`, defaults documented there):
- Room temperature: each night has a level that swings through warm and cool spells
  (a `spell_nights`-long cycle, so the nights before and after the medication change see the same
  mix) plus night-to-night noise; within the night the room cools slowly, with a little wander.
  With the default band 18-20 °C some nights are mostly above the band, some in it, some below.
- Spasm-like events: a Poisson process per minute in bed, `baseline_per_h` in the band, times
  `warm_rate_ratio` in minutes above the band, `cold_rate_ratio` below it, times
  `medication_rate_ratio` from the medication night on, times a gamma-distributed night frailty
  (mean 1, coefficient of variation `frailty_cv`): some nights are worse for no visible reason,
  which makes the night counts overdispersed, as real spasm counts are.
- Bed and wake times vary around `bed_time_h`; get-ups, restless episodes and a few climate-sensor
  gaps (minutes of unknown temperature, shown as data gaps in the summary).
Every night draws from its own generator seeded by (seed, night), so adding nights never changes
the earlier ones. The medication change comes back as a `Note` of source "simulation".
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from integration.core.events import MovementEvent, MovementKind
from integration.core.notes import Note, make_note
from integration.core.readings import AccelSamples
from integration.core.summary import HISTORY_NIGHTS, MinuteRecord, NightAccumulator, NightSummary

__all__ = [
    "MEDICATION_NOTE",
    "MEDICATION_RATE_RATIO",
    "WARM_RATE_RATIO",
    "SimulatedNight",
    "WeeksSpec",
    "simulate_weeks",
]

# The planted effects' default sizes: a change a person would care about and that eight weeks of
# nights can show. Illustrative, not taken from a study: heat makes MS symptoms worse for many
# (Uhthoff's phenomenon), and antispastic medication aims to make spasms less frequent.
WARM_RATE_RATIO = 1.6
MEDICATION_RATE_RATIO = 0.6

MEDICATION_NOTE = "baclofen 10 mg at 22:00 started"
_MEDICATION_AT = time(22, 0)
_TEMPERATURE_SENSOR = "room_temperature"
_MOTION_SENSOR = "bed_motion"
# Spasm-like kinds in the shares a bed sensor sees them in MS (jerks most, then PLM, clonus).
_KINDS = ((MovementKind.JERK, 0.6), (MovementKind.PLM, 0.25), (MovementKind.CLONUS, 0.15))
_DURATION_S = {
    MovementKind.JERK: (0.2, 2.0),
    MovementKind.PLM: (0.5, 5.0),
    MovementKind.CLONUS: (1.0, 30.0),
}
_SWING_C = 1.8  # half the warm-to-cool swing of a night's mean room temperature
_NIGHT_NOISE_C = 0.6  # night-to-night scatter of that mean
_COOLING_C_PER_H = 0.25  # the room cools through the night (heating set back, body heat spread)
_WANDER_C = 0.08  # minute-to-minute wander of the reading (AR(1) step)
_BED_JITTER_H = 0.5
_NIGHT_HOURS = (7.0, 8.5)
_GET_UPS = (0, 2)
_GET_UP_MIN = (2.0, 10.0)
_RESTLESS = (0, 3)
_RESTLESS_MIN = (5.0, 25.0)
_GAP_P = 0.15  # share of nights with a climate-sensor gap
_GAP_MIN = (25.0, 120.0)
# Bed accelerometer SD of per-second means, in g: still sleeper, restless, the minute of a spasm.
_STILL_G, _RESTLESS_G, _SPASM_G = 0.002, 0.03, 0.012
_MOTION_SECONDS = 6  # seconds of motion reported per minute: enough for the minute's SD


@dataclass(frozen=True, slots=True)
class WeeksSpec:
    """What to simulate; the planted effects are the `*_rate_ratio` fields."""

    nights: int = 56
    seed: int = 1
    start: date = date(2026, 9, 7)  # the evening of the first night
    room: str = "bedroom"
    room_name: str = "Bedroom"
    zone: str = "Europe/Berlin"
    low_c: float = 18.0  # the comfort band in force all night
    high_c: float = 20.0
    baseline_per_h: float = 4.0  # spasm-like events an hour in bed, in the band, before medication
    warm_rate_ratio: float = WARM_RATE_RATIO  # planted: the rate above the band over the rate in it
    cold_rate_ratio: float = 1.0  # planted: below the band (none by default)
    medication_night: int | None = 28  # night index of the change (None: no change, no note)
    medication_rate_ratio: float = (
        MEDICATION_RATE_RATIO  # planted: the rate after the change over the rate before
    )
    frailty_cv: float = 0.3  # night-to-night variation of the rate, gamma with mean 1
    spell_nights: int = 14  # one warm-and-cool cycle of the nights' room temperature
    bed_time_h: float = 22.5  # local bed time, hours after midnight of the evening
    gaps: bool = True  # some nights lose the climate sensor for a while

    def __post_init__(self) -> None:
        """Refuse what cannot be simulated, saying which field."""
        if self.nights < 1:
            raise ValueError(f"nights must be at least 1 (got {self.nights})")
        for name in ("warm_rate_ratio", "cold_rate_ratio", "medication_rate_ratio"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be above 0 (got {value})")
        if not 0 < self.baseline_per_h <= 60:
            raise ValueError(f"baseline_per_h must be in (0, 60] (got {self.baseline_per_h})")
        if self.medication_night is not None and not 0 <= self.medication_night < self.nights:
            raise ValueError(
                f"medication_night must be a night from 0 to {self.nights - 1} "
                f"(got {self.medication_night})"
            )
        if not self.low_c < self.high_c:
            raise ValueError(f"low_c must be below high_c (got {self.low_c}, {self.high_c})")
        if self.frailty_cv < 0 or self.spell_nights < 2:
            raise ValueError("frailty_cv must be 0 or more and spell_nights at least 2")


@dataclass(frozen=True, slots=True)
class SimulatedNight:
    """One simulated night as the history keeps it."""

    summary: NightSummary
    minutes: list[MinuteRecord] = field(default_factory=list)
    events: list[MovementEvent] = field(default_factory=list)


def simulate_weeks(spec: WeeksSpec) -> tuple[list[SimulatedNight], list[Note]]:
    """`spec.nights` nights, oldest first, and the medication note (if a change is planted)."""
    zone = ZoneInfo(spec.zone)
    nights: list[SimulatedNight] = []
    for index in range(spec.nights):
        history = [n.summary for n in nights[-HISTORY_NIGHTS:]]
        nights.append(_night(spec, index, zone, history))
    notes: list[Note] = []
    if spec.medication_night is not None:
        evening = spec.start + timedelta(days=spec.medication_night)
        at = datetime.combine(evening, _MEDICATION_AT, zone).timestamp()
        notes.append(make_note(spec.room, MEDICATION_NOTE, at, at, "simulation"))
    return nights, notes


def _night_level_c(spec: WeeksSpec, index: int, rng: random.Random) -> float:
    """The night's mean room temperature: warm and cool spells, plus scatter."""
    middle = (spec.low_c + spec.high_c) / 2
    phase = 2 * math.pi * index / spec.spell_nights
    return middle + _SWING_C * math.sin(phase) + rng.gauss(0.0, _NIGHT_NOISE_C)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means of one minute."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _spans(
    rng: random.Random,
    start: float,
    end: float,
    counts: tuple[int, int],
    minutes: tuple[float, float],
) -> list[tuple[float, float]]:
    """Non-overlapping spans inside [start, end), sorted."""
    spans: list[tuple[float, float]] = []
    for _ in range(rng.randint(*counts)):
        length = rng.uniform(*minutes) * 60
        for _try in range(20):
            a = rng.uniform(start + 1800, end - 1800 - length)
            b = a + length
            if all(b + 300 < s or a > e + 300 for s, e in spans):
                spans.append((a, b))
                break
    return sorted(spans)


def _night(
    spec: WeeksSpec, index: int, zone: ZoneInfo, history: list[NightSummary]
) -> SimulatedNight:
    rng = random.Random(f"weeks:{spec.seed}:{index}")
    evening = spec.start + timedelta(days=index)
    midnight = datetime.combine(evening, time(0, 0), zone).timestamp()
    bed_time = midnight + (spec.bed_time_h + rng.uniform(-_BED_JITTER_H, _BED_JITTER_H)) * 3600
    bed_time = math.floor(bed_time / 60) * 60 + rng.uniform(0, 59)
    wake_time = bed_time + rng.uniform(*_NIGHT_HOURS) * 3600
    level = _night_level_c(spec, index, rng)
    frailty = (
        rng.gammavariate(1 / spec.frailty_cv**2, spec.frailty_cv**2) if spec.frailty_cv else 1.0
    )
    medicated = spec.medication_night is not None and index >= spec.medication_night
    get_ups = _spans(rng, bed_time, wake_time, _GET_UPS, _GET_UP_MIN)
    restless = _spans(rng, bed_time, wake_time, _RESTLESS, _RESTLESS_MIN)
    gap = (
        _spans(rng, bed_time, wake_time, (1, 1), _GAP_MIN)
        if spec.gaps and rng.random() < _GAP_P
        else []
    )

    acc = NightAccumulator(
        spec.room, spec.room_name, bed_time, zone, sensors=(_TEMPERATURE_SENSOR, _MOTION_SENSOR)
    )
    events: list[MovementEvent] = []
    first, last = math.floor(bed_time / 60), math.floor(wake_time / 60)
    hours_span = (wake_time - bed_time) / 3600
    wander = 0.0
    for minute in range(first, last + 1):
        t = minute * 60.0
        hours_in = (t - bed_time) / 3600
        wander = 0.9 * wander + rng.gauss(0.0, _WANDER_C)
        temp_c = level + _COOLING_C_PER_H * (hours_span / 2 - hours_in) + wander
        reading_t = max(bed_time, t + 30.0)
        if reading_t < wake_time and not any(a <= reading_t < b for a, b in gap):
            acc.add_temperature(reading_t, round(temp_c, 2), spec.low_c, spec.high_c)
            acc.sensor_seen(_TEMPERATURE_SENSOR, reading_t)
        in_bed = not any(a < t + 60 and b > t for a, b in get_ups)
        spasms = 0
        if in_bed and bed_time <= t and t + 60 <= wake_time:
            per_h = spec.baseline_per_h * frailty
            if temp_c > spec.high_c:
                per_h *= spec.warm_rate_ratio
            elif temp_c < spec.low_c:
                per_h *= spec.cold_rate_ratio
            if medicated:
                per_h *= spec.medication_rate_ratio
            spasms = _poisson(rng, per_h / 60)
            events.extend(_spasm(spec, rng, t) for _ in range(spasms))
        restless_now = any(a < t + 60 and b > t for a, b in restless)
        sd_g = _RESTLESS_G if restless_now else _SPASM_G if spasms else _STILL_G
        motion = tuple(1.0 + rng.gauss(0.0, sd_g) for _ in range(_MOTION_SECONDS))
        still = (0.0,) * _MOTION_SECONDS
        acc.add_motion(AccelSamples(spec.room, _MOTION_SENSOR, t + 1.0, 0.1, still, still, motion))
        acc.sensor_seen(_MOTION_SENSOR, t + 1.0)
    for a, b in restless:
        events.append(_episode(spec.room, MovementKind.RESTLESS_START, a, a))
        events.append(_episode(spec.room, MovementKind.RESTLESS_END, a, b))
    events.sort(key=lambda e: (e.start, e.end))
    changes = sorted([(a, False) for a, _ in get_ups] + [(b, True) for _, b in get_ups])
    for event in sorted(events, key=lambda e: e.end):
        acc.add_event(event)
    for t, state in changes:
        acc.in_bed(t, state)
    summary = acc.finish(wake_time, history)
    return SimulatedNight(summary, acc.minutes(bed_time, wake_time), events)


def _spasm(spec: WeeksSpec, rng: random.Random, minute_t: float) -> MovementEvent:
    kind = rng.choices([k for k, _ in _KINDS], [w for _, w in _KINDS])[0]
    start = minute_t + rng.uniform(0.0, 59.0)
    return MovementEvent(
        room=spec.room,
        kind=kind,
        start=start,
        end=start + rng.uniform(*_DURATION_S[kind]),
        peak=round(rng.uniform(3.0, 15.0), 2),
        confidence=round(rng.uniform(0.6, 0.95), 2),
        spasm_like=True,
        why={"source": "simulation"},
    )


def _episode(room: str, kind: MovementKind, start: float, end: float) -> MovementEvent:
    return MovementEvent(
        room=room,
        kind=kind,
        start=start,
        end=end,
        peak=0.0,
        confidence=1.0,
        spasm_like=False,
        why={"source": "simulation"},
    )
