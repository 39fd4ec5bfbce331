"""What else moves a bed: a closed movement's shape features, and the bout rules that name causes.

Theory of operation
-------------------
Movements less than `BOUT_GAP_S` apart (on the samples' clock) form one *bout*, judged once
it is over: WASM/IRLSSG 2016 already joins leg movements < 0.5 s apart into one; a turnover
that pauses for a breath, a cough train and a cat's steps come as several bursts a second or
so apart, and judging the bursts one by one makes each look like a jerk. In order:
1. CLONUS: a bout holding a regular 3-8 Hz rhythm (see `accel.py`) stays clonus.
2. TURNOVER: the resting orientation before and after the bout differs by the turnover angle.
3. A *train* of `TRAIN_MIN_JOLTS` or more short jolts with onsets 0.25-2.5 s apart is not a
   spasm: coughs come in trains of explosive expirations about 0.5-1.5 s apart (Morice et al.,
   ERS guidelines on the assessment of cough, Eur Respir J 2007;29:1256; cough epochs of
   0.3-0.5 s), a pet's steps 1-3 per second. A train that leaves the mattress tilted (weight
   added or taken away) is `pet`, otherwise `cough`. A rapid series of myoclonic jerks looks the
   same to a bed sensor; the README says so.
4. A sharp movement that leaves the mattress tilted by `LOAD_TILT_DEG` or more (less than a
   turnover) is a load put down or taken off the edge: someone sitting down or getting up, a pet
   settling (`sit`).
5. A single short movement whose energy sits in one frequency of `KNOCK_MIN_HZ` or more and
   dies away from its first cycle is the bed frame ringing at its own resonance after a knock
   (a struck structure rings as a damped sinusoid; a body's jerk moves mass broadband or slowly
   and has no single ringing tone). Below `KNOCK_MIN_RATE_HZ` the ring cannot be seen.
6. A sustained movement of 1-5 Hz strokes that recur irregularly is `scratch`: scratching
   strokes come at about 1.5-4 Hz with cycle-to-cycle variation (nocturnal scratch studies with
   wrist actigraphy and video, e.g. Ebata et al., Br J Dermatol 2001;144:305), against clonus's
   regular 5-8 Hz beats.
7. Otherwise the bout's first movement decides by the per-movement rules (jerk, PLM candidate,
   movement), spanning the whole bout: "a rapid series without pause counts as one spasm".
Pure functions over plain tuples; no state.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

# Bursts closer than this (end to next onset, samples' clock) belong to one bout.
BOUT_GAP_S = 2.0
# A train: at least this many jolts, onset to onset within the range below.
TRAIN_MIN_JOLTS = 2
TRAIN_INTERVAL_S = (0.25, 2.5)
# A jolt of a train is short; a longer burst is a movement of its own kind.
TRAIN_MAX_JOLT_S = 1.0
# A jolt reaches a third of the burst's peak amplitude (coughs of one train differ by up to
# about 2x) ...
JOLT_ON_POWER = 0.1
# ... rising from a valley by 3x in power, and ends when it falls to a third of its top's power.
JOLT_RISE = 3.0
JOLT_DIP_POWER = 1.0 / 3.0
# A load left on the mattress (a pet settling, someone sitting down or getting up) tilts it this
# much at the sensor; a limb's spasm returns where it was (a turnover tilts it more, and longer).
LOAD_TILT_DEG = 1.0
# Knocks: the frame's ringing (bed frames and slats ring at roughly 5-30 Hz) is a single tone
# that decays; body motion is below ~4 Hz or broadband.
KNOCK_MIN_HZ = 4.0
KNOCK_MIN_RATE_HZ = 20.0  # ringing above ~8 Hz needs this rate to be seen without aliasing
KNOCK_MAX_S = 1.5
KNOCK_MIN_TONE = 0.7  # share of the movement's power within ±TONE_HALF_WIDTH_HZ of one tone
KNOCK_MIN_CYCLES = 3.0  # a ring shows a few cycles of its tone before it dies away
TONE_HALF_WIDTH_HZ = 2.0
SPECTRUM_STEP_HZ = 1.0
KNOCK_MAX_TAIL = 0.7  # energy of the second half over the first: a ring dies away
# Below this beat a rhythm must be steadier to be clonus: clonus measures 4.7-7.0 Hz per person
# (some sources say 3-8 Hz); slower, looser rhythms are more often scratching or rubbing. A
# steady rhythm keeps its autocorrelation over one beat and most of it over two.
CLONUS_SLOW_BEAT_HZ = 4.5
CLONUS_SLOW_MIN_AUTOCORR = 0.8
CLONUS_SLOW_MIN_REGULARITY = 0.5
# Scratching: 1-5 Hz strokes for at least this long with a rhythm below clonus's regularity.
SCRATCH_HZ = (1.0, 5.0)
SCRATCH_MIN_S = 2.0
SCRATCH_MIN_AUTOCORR = 0.2
SCRATCH_MIN_SLOW_SHARE = 0.5  # the strokes carry most of the motion, not a fast carrier


@dataclass(frozen=True, slots=True)
class Burst:
    """One closed burst of motion above the onset level, with the measures that judge it."""

    start: float
    end: float
    peak_sq: float  # envelope peak, g² (absolute, for comparing sensors)
    rise_s: float
    rhythm: float  # autocorrelation at the best clonus beat period; 0 when not measured
    regularity: float  # autocorrelation at two beat periods: a sustained rhythm keeps it
    beat_hz: float
    slow_rhythm: float  # best autocorrelation in the scratching band
    slow_hz: float
    tone: float  # share of power near one frequency
    tone_hz: float
    tail: float  # energy of the second half over the first
    jolts: tuple[float, ...]  # onset times of the jolts inside the burst
    rate_hz: float
    pre_gravity: tuple[float, float, float]


Residual = tuple[float, float, float, float]  # rx, ry, rz, envelope


def jolt_onsets(seg: Sequence[Residual], peak_sq: float, t0: float, rate: float) -> list[float]:
    """Onset times of the distinct jolts in a burst.

    A jolt is a rise of the envelope well above its last valley to a fair share of the burst's
    peak; each jolt must fall well below its own top before the next counts.
    """
    floor = JOLT_ON_POWER * peak_sq
    onsets: list[float] = []
    inside = False
    top = 0.0
    valley = 0.0
    for i, sample in enumerate(seg):
        env = sample[3]
        if inside:
            if env > top:
                top = env
            elif env <= JOLT_DIP_POWER * top:
                inside = False
                valley = env
        elif env < valley:
            valley = env
        elif env >= floor and env >= JOLT_RISE * valley:
            inside = True
            top = env
            onsets.append(t0 + i / rate)
    return onsets


def tone(seg: Sequence[Residual], rate: float) -> tuple[float, float, float]:
    """(how tonal the burst is, its strongest frequency, tail-over-head energy).

    Tonal = the smaller of the share of power near that frequency and how well the burst
    repeats itself one or two of its periods later.

    A direct DFT at `SPECTRUM_STEP_HZ` steps of the (zero-padded) burst, summed over the axes;
    called only for short bursts, so its cost is bounded by `KNOCK_MAX_S`.
    """
    n = len(seg)
    nyquist = rate / 2.0
    if n < 4 or nyquist <= 1.0:
        return 0.0, 0.0, 1.0
    half = n // 2
    head = sum(v[0] * v[0] + v[1] * v[1] + v[2] * v[2] for v in seg[:half])
    tail_energy = sum(v[0] * v[0] + v[1] * v[1] + v[2] * v[2] for v in seg[half:])
    tail = tail_energy / head if head > 0.0 else 1.0
    means = [sum(v[axis] for v in seg) / n for axis in range(3)]
    columns = [[v[axis] - means[axis] for v in seg] for axis in range(3)]
    freqs: list[float] = []
    power: list[float] = []
    f = SPECTRUM_STEP_HZ
    while f < nyquist:
        w = 2.0 * math.pi * f / rate
        cosines = [math.cos(w * i) for i in range(n)]
        sines = [math.sin(w * i) for i in range(n)]
        total = 0.0
        for column in columns:
            re = sum(c * v for c, v in zip(cosines, column, strict=True))
            im = sum(s * v for s, v in zip(sines, column, strict=True))
            total += re * re + im * im
        freqs.append(f)
        power.append(total)
        f += SPECTRUM_STEP_HZ
    whole = sum(power)
    if whole <= 0.0:
        return 0.0, 0.0, tail
    best = max(range(len(power)), key=power.__getitem__)
    # A burst of n samples cannot resolve frequencies closer than rate / n.
    width = round(max(TONE_HALF_WIDTH_HZ, rate / n) / SPECTRUM_STEP_HZ)
    near = sum(power[max(0, best - width) : best + width + 1])
    # A short burst of noise can bunch its power by chance; a ring also repeats itself, cycle
    # after cycle, whatever its decay (the correlation is normalised over each lag's overlap).
    period = rate / freqs[best]
    lags = {max(1, math.floor(k * period)) for k in (1, 2)} | {
        math.ceil(k * period) for k in (1, 2)
    }
    repeat = max(_lag_correlation(columns, lag) for lag in lags)
    return min(near / whole, max(0.0, repeat)), freqs[best], tail


def _lag_correlation(columns: list[list[float]], lag: int) -> float:
    """Normalised correlation of the burst with itself `lag` samples later."""
    n = len(columns[0])
    if lag >= n - 2:
        return 0.0
    cross = a2 = b2 = 0.0
    for column in columns:
        head, later = column[: n - lag], column[lag:]
        cross += sum(x * y for x, y in zip(head, later, strict=True))
        a2 += sum(x * x for x in head)
        b2 += sum(y * y for y in later)
    return cross / math.sqrt(a2 * b2) if a2 > 0.0 and b2 > 0.0 else 0.0


def is_train(bursts: Sequence[Burst], max_rise_s: float) -> bool:
    """Sharp short jolts, at least `TRAIN_MIN_JOLTS`, each following the last by a cough's interval.

    Only sharp bursts (an impulse, like a cough's expiration or a paw landing) count; a smooth
    push and return (a limb movement) swells and fades within one burst and is not a train.
    """
    if any(
        b.rise_s > max_rise_s or b.end - b.start > TRAIN_MAX_JOLT_S * max(1, len(b.jolts))
        for b in bursts
    ):
        return False
    onsets = [t for b in bursts for t in b.jolts]
    if len(onsets) < TRAIN_MIN_JOLTS:
        return False
    low, high = TRAIN_INTERVAL_S
    return all(low <= b - a <= high for a, b in itertools.pairwise(onsets))


def is_knock(burst: Burst) -> bool:
    """A short burst that rings at one frequency of the frame's range and dies away."""
    return (
        burst.rate_hz >= KNOCK_MIN_RATE_HZ
        and burst.end - burst.start <= KNOCK_MAX_S
        and burst.tone >= KNOCK_MIN_TONE
        and burst.tone_hz >= KNOCK_MIN_HZ
        and (burst.end - burst.start) * burst.tone_hz >= KNOCK_MIN_CYCLES
        and burst.tail <= KNOCK_MAX_TAIL
    )


def is_scratch(burst: Burst, regular: float) -> bool:
    """A sustained burst of 1-5 Hz strokes that recur, but less regularly than `regular`.

    A smooth regular oscillation is a limb's push and return, left to the PLM rules.
    """
    low, high = SCRATCH_HZ
    return (
        burst.end - burst.start >= SCRATCH_MIN_S
        and low <= burst.slow_hz <= high
        and SCRATCH_MIN_AUTOCORR <= burst.slow_rhythm < regular
    )
