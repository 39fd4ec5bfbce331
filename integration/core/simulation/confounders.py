"""What else moves a bed: coughs, scratching, knocks, sitting down, pets and a bed partner.

Theory of operation: `ConfounderPlanner` draws every confounder of a night from its own
generator (so the sleeper's plan does not change when confounders are added) and, as each
block is placed, fills plain lists the renderer reads: motion on the sleeper's side of the bed
(`near`: felt fully by our sensor, attenuated at a partner's), motion on the partner's side
(`far`), slow tilts of each sensor's resting orientation (a load on the mattress), and labels.
Knocks, sitting down and pets happen on the sleeper's side. The mattress couples the two
sides with `BedModel.cross` and a first-order low-pass at `BedModel.cutoff_hz`.

Every figure is modelled from physics or a published description and cited where defined; none
is chosen to suit a detector.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

Vector = tuple[float, float, float]
Waveform = Callable[[float], float]  # seconds since the movement's start → g along its axis

# Cough (Morice et al. 2007, "ERS guidelines on the assessment of cough", Eur Respir J 29:1256;
# McCool 2006, "Global physiology and pathophysiology of cough", Chest 129:48S): a deep
# inspiration, ~0.2 s of compression behind the closed glottis, then an explosive expiration
# whose sound lasts ~0.2-0.5 s with its explosive phase in the first 30-50 ms (Korpáš et al. 1996,
# "Analysis of the cough sound: an overview", Pulm Pharmacol 9:261). Coughs come in trains
# (bouts/epochs: coughs with no pause of 2 s between them, ERS 2007).
_COUGHS_PER_TRAIN = (2, 8)
_COUGH_S = (0.2, 0.5)
_COUGH_ONSETS_S = (0.4, 1.5)  # expiration onset to onset: irregular, under the 2 s of a bout
_COUGH_RISE_S = (0.03, 0.05)  # the explosive phase
_COUGH_COMPRESS_S = 0.2
_COUGH_FIRST_INSPIRATION_S = (0.5, 1.0)
# The trunk's abdominal and intercostal muscles contract hard against ~30 kg of torso lying on
# the mattress: a jolt mostly along the bed's vertical, a little weaker than a limb jerk's top.
# No bed-accelerometer amplitude is published that we know of; a decade around the low end of
# _JERK_G in night.py, log-uniform.
_COUGH_G = (0.01, 0.1)
_COUGH_SIDEWAYS = 0.25  # share of the jolt off the vertical axis
# Cough inspiration is deep (up to about half the vital capacity, McCool 2006): a few times a
# resting breath's 2-4 mg, along the vertical like breathing itself.
_COUGH_INSPIRATION_G = (0.004, 0.015)
# After a bout breathing is faster and irregular for a few breaths (modelled: two detuned
# tones fading out over a few breaths, a little above resting breathing's depth).
_COUGH_RECOVERY_S = (4.0, 15.0)
_COUGH_RECOVERY_HZ = ((0.3, 0.6), (0.5, 0.9))
_COUGH_RECOVERY_G = (0.002, 0.008)

# Scratching: the fingertips (or a foot) rubbed back and forth over the skin at a few strokes a
# second, in bouts of seconds (nocturnal-scratch actigraphy: Ebata et al. 2001, Br J Dermatol
# 144:305; Mahadevan et al. 2021, npj Digit Med 4:42; review: J Med Internet Res 2023 25:e43617),
# far less regular than clonus's beats: period and stroke strength vary stroke to stroke.
_SCRATCH_S = (2.0, 30.0)
_SCRATCH_HZ = (1.5, 4.0)
_SCRATCH_IRREGULARITY = (0.2, 0.4)  # each cycle's period varies ± this share
_SCRATCH_STROKE_SPREAD = (0.5, 1.5)  # each stroke's strength relative to the bout's
_SCRATCH_RAMP_S = 0.2
# A hand or foot on the skin moves little body mass: between breathing (2-4 mg) and a jerk.
_SCRATCH_G = (0.002, 0.02)

# The bed itself (one bed a night). A knock rings the frame and mattress at their own modes:
# bed frames and slatted bases have their first modes at roughly 5-25 Hz and ring for a
# decay time constant of 0.05-0.4 s (wood and steel frames are lightly damped, foam damps).
_BED_HZ = (5.0, 25.0)
_BED_TAU_S = (0.05, 0.4)
# A body on a mattress is a spring-mass: f = √(k/m)/2π with the mattress's k ≈ 10-30 kN/m
# under 35-70 kg gives about 1.9-4.7 Hz; softer beds and heavier loads lower it toward 1 Hz.
_BOUNCE_HZ = (1.0, 4.0)
_BOUNCE_DAMPING = (0.1, 0.3)  # damping ratio ζ of foam and springs; decay τ = 1/(2π f ζ)
# A first-order model of the mattress between the two halves of a bed: a sensor under one
# sleeper sees 0.1-0.4 of what one under the other would, with the foam passing only what is
# slower than a few Hz.
_CROSS_COUPLING = (0.1, 0.4)
_CROSS_CUTOFF_HZ = (2.0, 6.0)

# Knock: an impulse whose response is the bed's own damped ring; no body responds after it.
_KNOCK_G = (0.01, 0.1)
_KNOCK_RING_TAUS = 5.0  # rung down to exp(-5) < 1 % of its peak
_SIT_P = 0.5  # share of the "knocks" that are someone sitting down on the edge instead
# Sitting on the edge: a large slow load (half a person) that tilts the mattress at our sensor
# a few degrees until they get up again, with a mattress bounce as they land.
_SIT_S = (10.0, 180.0)
_SIT_LOWER_S = (0.5, 1.5)  # lowering onto the bed, and getting up again
_SIT_TILT_DEG = (1.0, 5.0)
_SIT_BOUNCE_G = (0.02, 0.2)
_SIT_STAND_BOUNCE = (0.3, 0.6)  # getting up unloads the spring more gently than landing
_PERSON_KG = 70.0

# Pets: a domestic cat weighs 3-6 kg, a small dog 5-10 kg; a cat's walking step cycle is about
# 1 s per limb (Goslow et al. 1973, "The cat step cycle", J Morphol 141:1), so 1-3 footfalls a
# second land on the mattress, irregularly as it picks its way over a duvet.
_CAT_P = 0.7
_CAT_KG = (3.0, 6.0)
_DOG_KG = (5.0, 10.0)
# Landing from a jump hits harder than a person lowering themselves (1-3x per kg: it arrives
# at a few m/s and stops within the mattress's give).
_PET_IMPACT = (1.0, 3.0)
_PET_THUMP_TAU_S = 0.03  # the broadband thump of paws landing
_PET_WALK_S = (3.0, 40.0)
_PET_STEPS_HZ = (1.0, 3.0)
_PET_STEP_JITTER = 0.3
_PET_STEP_G_PER_KG = (0.0002, 0.002)  # a paw's load is a few % of the landing's
_PET_SETTLE_P = 0.6  # the rest jump off again
_PET_SETTLE_S = (1.0, 3.0)
_PET_TILT_DEG_PER_KG = (0.03, 0.15)  # a person's few degrees scaled by the mass ratio

# The partner's night: breathing 12-20 breaths/min and heartbeat as for the sleeper (Sadek et al.
# 2019, Health Inf Sci Syst 7:10); turnovers like the sleeper's; in about half of them the
# mattress re-settles under the other sleeper by a small angle.
_PARTNER_BREATH_HZ = (0.2, 0.33)
_PARTNER_HEART_HZ = (0.83, 1.17)
_PARTNER_BREATH_G = (0.002, 0.004)
_PARTNER_HEART_G = (0.0005, 0.0012)
_RESETTLE_P = 0.5
_RESETTLE_DEG = (1.0, 8.0)
_PARTNER_NOISE = (0.7, 1.4)  # a second sensor of the same model: noise differs unit to unit

# Wi-Fi delivery: besides a per-message delay, a few stalls an hour (roaming, a missed DTIM
# beacon run, a router busy) during which the device's TCP stream is held and then flushed.
# MQTT keeps one connection's order (MQTT 3.1.1 §4.6), so a stall delivers a burst in order.
STALLS_PER_H = 4.0
_STALL_SHARE = (0.3, 1.0)  # a stall lasts this share of `delivery_lag_s`


def white(s: float) -> float:
    """Deterministic white noise in [-√3, √3) (unit variance), the shader hash fract(sin·k)."""
    u = (math.sin(s * 12.9898e3) * 43758.5453) % 1.0
    return (2.0 * u - 1.0) * math.sqrt(3.0)


def log_uniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    """Small values more often than large ones, as with movement amplitudes and durations."""
    return math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1])))


def smoothstep(u: float) -> float:
    """0 → 1 with zero slope at both ends."""
    return u * u * (3 - 2 * u)


def _vertical_axis(rng: random.Random, sideways: float) -> Vector:
    x, y, z = rng.gauss(0, sideways), rng.gauss(0, sideways), 1.0
    norm = math.sqrt(x * x + y * y + z * z)
    return (x / norm, y / norm, z / norm)


def _random_axis(rng: random.Random) -> Vector:
    x, y, z = rng.gauss(0, 1), rng.gauss(0, 1), rng.gauss(0, 1)
    norm = math.sqrt(x * x + y * y + z * z) or 1.0
    return (x / norm, y / norm, z / norm)


@dataclass(frozen=True, slots=True)
class Movement:
    """A planted movement as the renderer sees it: a waveform along one axis of the bed."""

    start: float
    end: float
    axis: Vector
    waveform: Waveform


@dataclass(frozen=True, slots=True)
class Tilt:
    """A sensor's resting orientation rolling and pitching by these degrees over [start, end]."""

    start: float
    end: float
    roll_deg: float
    pitch_deg: float


@dataclass(frozen=True, slots=True)
class BedModel:
    """One bed's mechanics, drawn once a night."""

    ring_hz: float  # the frame's mode a knock excites
    ring_tau_s: float
    bounce_hz: float  # a load on the mattress springs
    bounce_damping: float
    cross: float  # share of one side's motion felt under the other
    cutoff_hz: float  # the foam's low-pass between the sides

    @classmethod
    def draw(cls, rng: random.Random) -> BedModel:
        """A random bed, log-uniform where the range spans a factor of several."""
        return cls(
            ring_hz=log_uniform(rng, _BED_HZ),
            ring_tau_s=log_uniform(rng, _BED_TAU_S),
            bounce_hz=rng.uniform(*_BOUNCE_HZ),
            bounce_damping=rng.uniform(*_BOUNCE_DAMPING),
            cross=log_uniform(rng, _CROSS_COUPLING),
            cutoff_hz=rng.uniform(*_CROSS_CUTOFF_HZ),
        )

    @property
    def bounce_tau_s(self) -> float:
        """Decay time constant of the mattress bounce."""
        return 1.0 / (2 * math.pi * self.bounce_hz * self.bounce_damping)


@dataclass(frozen=True, slots=True)
class Breathing:
    """A sleeper's micro-motion: breathing and heartbeat, as g at a sensor under them."""

    breath_hz: float
    heart_hz: float
    breath_g: float
    heart_g: float


@dataclass(slots=True)
class ConfounderPlanner:
    """Draws each confounder and, once placed, records its motion, tilts and labels."""

    rng: random.Random
    rate_hz: float
    bed: BedModel
    near: list[Movement] = field(default_factory=list)
    far: list[Movement] = field(default_factory=list)
    main_tilts: list[Tilt] = field(default_factory=list)
    partner_tilts: list[Tilt] = field(default_factory=list)
    partner_turn_spans: list[tuple[float, float]] = field(default_factory=list)
    labels: list[tuple[str, float, float]] = field(default_factory=list)

    def cough_train(self) -> tuple[float, Callable[[float], None]]:
        """2-8 coughs: deep breath in, a held beat, an explosive jolt; ragged breathing after."""
        rng = self.rng
        axis = _vertical_axis(rng, _COUGH_SIDEWAYS)
        train_g = log_uniform(rng, _COUGH_G)
        depth_g = log_uniform(rng, _COUGH_INSPIRATION_G)
        coughs: list[tuple[float, float, float, float, float, float]] = []
        # (inspiration start, expiration start, expiration end, depth, jolt, rise)
        at = rng.uniform(*_COUGH_FIRST_INSPIRATION_S) + _COUGH_COMPRESS_S
        inspiration_start = 0.0
        for k in range(rng.randint(*_COUGHS_PER_TRAIN)):
            expire_s = rng.uniform(*_COUGH_S)
            if k:
                spacing = max(rng.uniform(*_COUGH_ONSETS_S), coughs[-1][2] - coughs[-1][1] + 0.25)
                at = coughs[-1][1] + spacing
                inspiration_start = coughs[-1][2]
            coughs.append(
                (
                    inspiration_start,
                    at,
                    at + expire_s,
                    depth_g * (1.0 if not k else rng.uniform(0.4, 0.8)),
                    train_g * rng.uniform(0.6, 1.4),
                    rng.uniform(*_COUGH_RISE_S),
                )
            )
        last_end = coughs[-1][2]
        recovery_s = rng.uniform(*_COUGH_RECOVERY_S)
        recovery_g = log_uniform(rng, _COUGH_RECOVERY_G)
        tones = [(rng.uniform(*hz), rng.uniform(0, 2 * math.pi)) for hz in _COUGH_RECOVERY_HZ]
        starts = [c[0] for c in coughs]
        salt = rng.uniform(0, 1000)
        duration = last_end + recovery_s

        def waveform(s: float) -> float:
            if s >= last_end:
                u = s - last_end
                fade = 1.0 - u / recovery_s
                return (
                    recovery_g
                    * fade
                    * sum(
                        w * math.sin(2 * math.pi * f * u + p)
                        for w, (f, p) in zip((1.0, 0.6), tones, strict=True)
                    )
                )
            begin, expire, end, depth, jolt_g, rise_s = coughs[bisect.bisect_right(starts, s) - 1]
            if s < expire:  # breathing in, then holding against the closed glottis
                inhale_s = max(expire - _COUGH_COMPRESS_S - begin, 0.1)
                return depth * smoothstep(min(1.0, (s - begin) / inhale_s))
            u = (s - expire) / (end - expire)
            jolt = jolt_g * min(1.0, (s - expire) / rise_s) * (1.0 - u) ** 2
            return depth * (1.0 - smoothstep(u)) + jolt * (0.7 * white(s + salt) + 0.7)

        def fill(start: float) -> None:
            self.near.append(Movement(start, start + duration, axis, waveform))
            self.labels.append(("cough", start, start + duration))

        return duration, fill

    def scratch(self) -> tuple[float, Callable[[float], None]]:
        """A bout of irregular strokes at 1.5-4 Hz, weak at the bed."""
        rng = self.rng
        duration = log_uniform(rng, _SCRATCH_S)
        stroke_hz = rng.uniform(*_SCRATCH_HZ)
        irregular = rng.uniform(*_SCRATCH_IRREGULARITY)
        bout_g = log_uniform(rng, _SCRATCH_G)
        axis = _random_axis(rng)
        starts: list[float] = []
        cycles: list[tuple[float, float]] = []  # (period, peak g)
        at = 0.0
        while at < duration:
            period = (1.0 + rng.uniform(-irregular, irregular)) / stroke_hz
            starts.append(at)
            cycles.append((period, bout_g * rng.uniform(*_SCRATCH_STROKE_SPREAD)))
            at += period
        duration = at  # the bout ends with a whole stroke

        def waveform(s: float) -> float:
            k = bisect.bisect_right(starts, s) - 1
            period, peak_g = cycles[k]
            edge = min(1.0, s / _SCRATCH_RAMP_S, (duration - s) / _SCRATCH_RAMP_S)
            return peak_g * edge * math.sin(2 * math.pi * (s - starts[k]) / period)

        def fill(start: float) -> None:
            self.near.append(Movement(start, start + duration, axis, waveform))
            self.labels.append(("scratch", start, start + duration))

        return duration, fill

    def knock_or_sit(self) -> tuple[float, Callable[[float], None]]:
        """A knock on the frame (a damped ring) or someone sitting down on the edge for a while."""
        if self.rng.random() < _SIT_P:
            return self._sit()
        rng, bed = self.rng, self.bed
        # A MEMS accelerometer's digital filter passes up to about half its output rate
        # (e.g. ADXL345 datasheet: bandwidth = ODR/2); model its roll-off as 8th-order-like.
        nyquist_gain = 1.0 / math.sqrt(1.0 + (bed.ring_hz / (0.5 * self.rate_hz)) ** 8)
        peak_g = log_uniform(rng, _KNOCK_G) * nyquist_gain
        axis = _random_axis(rng)
        duration = _KNOCK_RING_TAUS * bed.ring_tau_s
        w, tau = 2 * math.pi * bed.ring_hz, bed.ring_tau_s

        def waveform(s: float) -> float:
            return peak_g * math.exp(-s / tau) * math.sin(w * s)

        def fill(start: float) -> None:
            self.near.append(Movement(start, start + duration, axis, waveform))
            self.labels.append(("knock", start, start + duration))

        return duration, fill

    def _sit(self) -> tuple[float, Callable[[float], None]]:
        rng, bed = self.rng, self.bed
        lower_s, rise_s = rng.uniform(*_SIT_LOWER_S), rng.uniform(*_SIT_LOWER_S)
        sit_s = log_uniform(rng, _SIT_S)
        tilt_deg = rng.uniform(*_SIT_TILT_DEG) * rng.choice((-1.0, 1.0))
        pitch_deg = tilt_deg * rng.uniform(-0.3, 0.3)
        land_g = log_uniform(rng, _SIT_BOUNCE_G)
        stand_g = land_g * rng.uniform(*_SIT_STAND_BOUNCE)
        axis = _vertical_axis(rng, 0.3)
        ring_s = _KNOCK_RING_TAUS * bed.bounce_tau_s
        landed, stood = lower_s, lower_s + sit_s + rise_s
        duration = stood + ring_s
        bounce = _damped(bed.bounce_hz, bed.bounce_tau_s)

        def waveform(s: float) -> float:
            value = 0.0
            if s >= landed:
                value += land_g * bounce(s - landed)
            if s >= stood:
                value -= stand_g * bounce(s - stood)
            return value

        def fill(start: float) -> None:
            self.near.append(Movement(start, start + duration, axis, waveform))
            self.main_tilts.append(Tilt(start, start + landed, tilt_deg, pitch_deg))
            self.main_tilts.append(
                Tilt(start + lower_s + sit_s, start + stood, -tilt_deg, -pitch_deg)
            )
            self.labels.append(("sit", start, start + duration))

        return duration, fill

    def pet(self) -> tuple[float, Callable[[float], None]]:
        """A cat or small dog jumps up, walks about, then curls up or jumps down again."""
        rng, bed = self.rng, self.bed
        mass_kg = rng.uniform(*(_CAT_KG if rng.random() < _CAT_P else _DOG_KG))
        ratio = mass_kg / _PERSON_KG
        land_g = log_uniform(rng, _SIT_BOUNCE_G) * ratio * rng.uniform(*_PET_IMPACT)
        step_g = log_uniform(rng, _PET_STEP_G_PER_KG) * mass_kg
        step_hz = rng.uniform(*_PET_STEPS_HZ)
        walk_s = log_uniform(rng, _PET_WALK_S)
        axis = _vertical_axis(rng, 0.4)
        steps: list[float] = []
        strengths: list[float] = []
        at = 0.3  # the first paw lands after the jump's thump
        while at < walk_s:
            steps.append(at)
            strengths.append(step_g * rng.uniform(0.5, 1.5))
            at += (1.0 + rng.uniform(-_PET_STEP_JITTER, _PET_STEP_JITTER)) / step_hz
        settles = rng.random() < _PET_SETTLE_P
        end_s = rng.uniform(*_PET_SETTLE_S) if settles else 0.3
        leave_g = 0.0 if settles else land_g * rng.uniform(0.3, 0.7)  # the push-off
        ring_s = _KNOCK_RING_TAUS * bed.bounce_tau_s
        duration = walk_s + end_s + ring_s
        tilt_deg = log_uniform(rng, _PET_TILT_DEG_PER_KG) * mass_kg * rng.choice((-1.0, 1.0))
        pitch_deg = rng.uniform(-1.0, 1.0) * abs(tilt_deg)
        bounce = _damped(bed.bounce_hz, bed.bounce_tau_s)
        salt = rng.uniform(0, 1000)
        left = walk_s + end_s

        def waveform(s: float) -> float:
            value = land_g * (bounce(s) + math.exp(-s / _PET_THUMP_TAU_S) * white(s + salt))
            k = bisect.bisect_right(steps, s) - 1
            while k >= 0 and s - steps[k] < ring_s:
                value += strengths[k] * bounce(s - steps[k])
                k -= 1
            if leave_g and s >= left:
                value -= leave_g * bounce(s - left)
            return value

        def fill(start: float) -> None:
            self.near.append(Movement(start, start + duration, axis, waveform))
            if settles:
                self.main_tilts.append(
                    Tilt(start + walk_s, start + walk_s + end_s, tilt_deg, pitch_deg)
                )
            self.labels.append(("pet", start, start + duration))

        return duration, fill

    def partner_turnover(
        self, duration_s: tuple[float, float], peak_g: tuple[float, float], hz: tuple[float, float]
    ) -> tuple[float, Callable[[float], None]]:
        """The partner repositioning: their big slow motion, and in half the mattress re-settles."""
        rng = self.rng
        duration = rng.uniform(*duration_s)
        peak = log_uniform(rng, peak_g)
        axis = _random_axis(rng)
        tones = [(rng.uniform(*hz), rng.uniform(0, 2 * math.pi)) for _ in range(2)]
        resettle = rng.random() < _RESETTLE_P
        roll_deg = rng.uniform(*_RESETTLE_DEG) * rng.choice((-1.0, 1.0))
        pitch_deg = roll_deg * rng.uniform(-0.3, 0.3)

        def waveform(s: float) -> float:
            envelope = math.sin(math.pi * s / duration) ** 2
            return peak * envelope * sum(0.5 * math.sin(2 * math.pi * f * s + p) for f, p in tones)

        def fill(start: float) -> None:
            self.far.append(Movement(start, start + duration, axis, waveform))
            self.partner_turn_spans.append((start, start + duration))
            if resettle:  # over the central 60 %, as the body settles (night.py's _turns)
                third = duration * 0.2
                self.main_tilts.append(
                    Tilt(start + third, start + duration - third, roll_deg, pitch_deg)
                )
            self.labels.append(("partner", start, start + duration))

        return duration, fill

    def sleeper_resettles(self, turn_spans: list[tuple[float, float]]) -> None:
        """The same mattress re-settling under the partner's sensor when the sleeper turns."""
        for start, end in turn_spans:
            if self.rng.random() < _RESETTLE_P:
                roll_deg = self.rng.uniform(*_RESETTLE_DEG) * self.rng.choice((-1.0, 1.0))
                third = (end - start) * 0.2
                self.partner_tilts.append(
                    Tilt(
                        start + third, end - third, roll_deg, roll_deg * self.rng.uniform(-0.3, 0.3)
                    )
                )

    def partner_breathing(self) -> Breathing:
        """The partner's own breathing and heartbeat."""
        rng = self.rng
        return Breathing(
            breath_hz=rng.uniform(*_PARTNER_BREATH_HZ),
            heart_hz=rng.uniform(*_PARTNER_HEART_HZ),
            breath_g=rng.uniform(*_PARTNER_BREATH_G),
            heart_g=rng.uniform(*_PARTNER_HEART_G),
        )

    def partner_noise(self) -> float:
        """The partner sensor's noise relative to the spec's."""
        return log_uniform(self.rng, _PARTNER_NOISE)


def _damped(hz: float, tau_s: float) -> Waveform:
    """A unit impulse response of a spring-mass: a sine fading with time constant `tau_s`."""
    w = 2 * math.pi * hz

    def ring(s: float) -> float:
        return math.exp(-s / tau_s) * math.sin(w * s)

    return ring


def stall_share(rng: random.Random) -> float:
    """How much of `delivery_lag_s` one stall lasts."""
    return rng.uniform(*_STALL_SHARE)
