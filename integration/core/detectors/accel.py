"""One accelerometer: raw samples in, classified movements, absences and notices out.

Theory of operation
-------------------
Per sample (the hot path, plain floats in locals, about 1 µs in CPython):
1. smoothed = first-order low-pass at `smoothing_hz` (sensor noise is white; body movement and
   clonus lie below it); gravity = a slower low-pass (`gravity_tau_s`); residual = the
   difference, the body's motion with the bed's resting orientation removed;
2. envelope = exponential mean of the residual's squared magnitude (`envelope_tau_s`), so
   `sqrt(envelope)` is a short RMS;
3. QUIET → MOVING when the envelope exceeds (`onset_ratio` x baseline)², or when samples whose
   own power exceeds it keep coming (no pause over `offset_hold_s`) for `min_movement_s` (white
   noise almost never does that twice that far apart); MOVING → closed when the envelope stays
   below (`offset_ratio` x baseline)² and no such sample comes for `offset_hold_s` (the WASM
   on/off pair with a hold), or after `max_movement_s`, or at a gap, or on a tick once samples
   stopped. Start and
   end are the first and last samples whose *instantaneous* residual crossed the onset level
   (the last one standing for its sample period), so the envelope's tails do not lengthen a
   movement; while moving, the envelope is capped (`ENVELOPE_CAP`) so its fall, and with it the
   emission delay, is bounded.
Batches are timed `t + i / rate_hz`; single samples by their own `t`, with the filters stepped
by the rate measured over the last second (arrival times bunch and jitter).
Batches are taken in device-time order, not arrival order: a batch whose device time was seen
before (to the ms) is dropped; one that leaves a hole waits, with those after it, until the hole
fills or `REORDER_WINDOW_S` of newer samples arrived; a batch later than that is refused (both
counted). A flat line (a whole second of identical samples) is a stuck sensor: it never becomes
the baseline or the micro-motion, gives a `sensor_flat` notice after `FLAT_NOTICE_S`, and the
filters restart at the first sample that differs again.
Per second (cold path): the second's RMS joins a ring of quiet seconds (`baseline_window_s`
long, skipped while moving or while the bed seems empty); every `BASELINE_EVERY_S` the baseline
becomes its `baseline_percentile`. Gravity sampled once a second feeds the micro-motion level
(breathing and heartbeat move the resting orientation slightly), which decides presence; the
sample rate is checked against `clonus_min_rate_hz` (one notice per low-rate spell).
On closing, a movement is classified once, in this order:
- CLONUS: rate high enough, and the band-passed residual's autocorrelation at a 3-8 Hz beat
  period reaches `clonus_min_autocorr` with the half period anti-correlated (so the harmonics
  of faster ringing do not pass), over at least `clonus_min_beats` beats;
- TURNOVER: the resting gravity before and after differ by `turnover_min_angle_deg` and it lasted
  `turnover_min_s` (a jerk barely tilts the bed; lying differently does);
- JERK: `jerk_min_s`..`jerk_max_s` long with the envelope at half its peak amplitude within
  `jerk_max_rise_s` (myoclonic jerks peak within tens of ms);
- PLM (a candidate for the room's series rule): `plm_min_s`..`plm_max_s`, no turn;
- MOVEMENT otherwise (ordinary, not spasm-like).

Invariants: memory is a fixed ring of 1-s values, a 16-value micro-motion ring, at most
`SEGMENT_MAX_SAMPLES` residuals of the open movement, `MAX_HELD_BATCHES` held batches and
`SEEN_BATCHES` device times; nothing grows with the night.
A gap longer than `gap_reset_s` closes an open movement at its last sample and restarts the
filters from the next sample, so a restart never looks like movement.
Known blind spots: a tonic spasm (stiffening with little motion) barely moves the residual, and
a slow 0.3-0.5 Hz rhythmic myoclonus sits in the breathing band below the clonus search.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import mul

from integration.core.detectors.bouts import (
    BOUT_GAP_S,
    CLONUS_SLOW_BEAT_HZ,
    CLONUS_SLOW_MIN_AUTOCORR,
    CLONUS_SLOW_MIN_REGULARITY,
    KNOCK_MAX_S,
    KNOCK_MAX_TAIL,
    KNOCK_MIN_HZ,
    KNOCK_MIN_RATE_HZ,
    KNOCK_MIN_TONE,
    LOAD_TILT_DEG,
    SCRATCH_HZ,
    SCRATCH_MIN_S,
    SCRATCH_MIN_SLOW_SHARE,
    TRAIN_INTERVAL_S,
    Burst,
    is_knock,
    is_scratch,
    is_train,
    jolt_onsets,
    tone,
)
from integration.core.detectors.settings import (
    ENVELOPE_CAP,
    LATE_DELIVERY_S,
    DetectionSettings,
)
from integration.core.events import MovementKind, Notice

# Residuals kept per open movement: 10 s at 100 Hz is enough to time the rise and test rhythm.
SEGMENT_MAX_SAMPLES = 1024
# The rhythm test looks at the first seconds of a movement only, which bounds its cost.
RHYTHM_WINDOW_S = 4.0
# Single samples: the rate is the most samples seen in one of this many recent seconds.
RATE_WINDOW_S = 5
# Recomputing the percentile every few seconds keeps the per-sample cost flat.
BASELINE_EVERY_S = 10
# Gravity sampled at 1 Hz over this many seconds spans several breaths (~0.2-0.3 Hz).
MICRO_WINDOW_S = 16
# The in-bed micro-motion reference follows slow changes over about this many seconds.
MICRO_REFERENCE_TAU_S = 300.0
# Batches are taken in the order of their device time, not of arrival. After a hole in that time
# the next batches are held until it fills, for as long a stretch of sample time as a batch may
# arrive late (`LATE_DELIVERY_S`), so a batch overtaken by its successors is put in its place;
# one later still is refused and counted (`late_batches`).
REORDER_WINDOW_S = LATE_DELIVERY_S
MAX_HELD_BATCHES = 256  # and never more held than this (tiny batches over a long hole)
# Device times (to the ms) of the latest batches taken: one seen again was delivered twice (MQTT
# QoS 1 redelivers after a reconnect; a bridge may echo) and is dropped (`duplicate_batches`).
SEEN_BATCHES = 4096
# A stretch of sample time this long, from before what was processed and with no batch seen
# before, is not lateness: the device clock stepped back, and the channel restarts there.
CLOCK_STEP_S = REORDER_WINDOW_S
# Seconds of identical samples (every axis, every sample) that make a flat line a sensor fault.
# A body at rest on a mattress always moves it (breathing ~0.25 Hz, heartbeat ~1 Hz) and a MEMS
# accelerometer's own noise flickers its lowest bits, so even an empty bed never gives one second
# of identical samples: each such second is a stuck sensor, never a resting baseline.
FLAT_NOTICE_S = 5
# Another sensor's judgment of a stretch of time is awaited at most this long past its end
# (a movement on that side that goes on longer is still compared, from what it shows by then).
COVER_WAIT_S = 15.0
# Amplitude fraction of the peak that ends the rise (0.5 amplitude = 0.25 power).
RISE_POWER_FRACTION = 0.25

_QUIET = 0
_MOVING = 1


@dataclass(frozen=True, slots=True)
class Movement:
    """A closed movement of one accelerometer with the measures that classified it."""

    sensor_id: str
    # JERK, CLONUS, TURNOVER, PLM (a candidate until a series confirms it) or MOVEMENT
    kind: MovementKind
    start: float
    end: float
    peak: float  # envelope peak as a multiple of the baseline RMS
    rise_s: float
    angle_deg: float
    rhythm: float  # autocorrelation at the beat period; 0 when not measured
    beat_hz: float
    rate_hz: float
    # What else moved the bed, when not the sleeper's own movement (see `bouts.py`):
    # cough, pet, knock, scratch or partner; "" for a movement of the sleeper.
    cause: str = ""
    peak_g: float = 0.0  # envelope peak in g RMS: comparable between sensors
    evidence: tuple[tuple[str, float], ...] = ()  # the measures that named the cause


@dataclass(frozen=True, slots=True)
class Absence:
    """Micro-motion was lost from `start` (left the bed) and came back at `end`."""

    sensor_id: str
    start: float
    end: float
    reference: float
    level: float


class AccelChannel:
    """Streaming movement detector for one accelerometer."""

    def __init__(self, room: str, sensor_id: str, settings: DetectionSettings) -> None:
        self.room = room
        self.sensor_id = sensor_id
        self.s = settings
        self.present: bool | None = None  # micro-motion belief: someone in bed
        self.rate_hz = 0.0
        self.last_t: float | None = None
        self._gx = self._gy = self._gz = 0.0
        self._fx = self._fy = self._fz = 0.0  # the smoothed sample
        self._env = 0.0
        self._declared_rate: float | None = None
        self._batch_span_s = 0.0
        self._recent_counts: deque[int] = deque(maxlen=RATE_WINDOW_S)
        self._alphas_dt = 0.0
        self._alphas = (1.0, 0.0, 0.0)
        self._sec_end = 0.0
        self._sec_sum = 0.0
        self._sec_n = 0
        self._sec_moved = False
        self._sec_changed = True  # the first second is not judged flat
        self._quiet_rms: deque[float] = deque(maxlen=max(1, round(settings.baseline_window_s)))
        self._quiet_seconds = 0
        self.baseline = 0.0  # RMS of the residual at rest; 0 until the warm-up is over
        self._on_sq = math.inf
        self._off_sq = math.inf
        self._mode = _QUIET
        self._first_strong = -math.inf
        self._last_strong = -math.inf
        self._open_t = 0.0
        self._seg_last_t = 0.0
        self._below_since = -1.0
        self._peak_sq = 0.0
        self._pre_gravity = (0.0, 0.0, 0.0)
        self._seg: list[tuple[float, float, float, float]] = []
        self._micro: deque[tuple[float, float, float]] = deque(maxlen=MICRO_WINDOW_S)
        self._micro_reference = 0.0
        self._absent_since: float | None = None
        self._left_at: float | None = None
        self._back_since: float | None = None
        self._low_rate_noticed = False
        self._out: list[Movement | Absence | Notice] = []
        self._bout: list[Burst] = []  # bursts less than BOUT_GAP_S apart, judged together
        self._bout_until = -math.inf
        self._bout_gravity = (0.0, 0.0, 0.0)
        self._heard = False  # a batch arrived since the last tick
        self.heard_at: float | None = None  # the tick that last saw one arrive
        self.stopped = True  # nothing arrived for longer than a late batch takes
        self.duplicate_batches = 0  # dropped: a batch with a device time already taken
        self.late_batches = 0  # refused: a batch later than the reorder window can wait
        self._held: list[
            tuple[float, int, float, Sequence[float], Sequence[float], Sequence[float]]
        ] = []
        self._held_keys: set[int] = set()
        self._seen: deque[int] = deque()
        self._seen_keys: set[int] = set()
        self._late_run: tuple[float, float] | None = None  # refused stretch: start, next t0
        self._px = self._py = self._pz = math.nan  # the previous sample, to see a flat line
        self._flat_seconds = 0  # whole seconds of identical samples in a row
        self.flat = False  # a flat line long enough to be a sensor fault

    # -- hot path -------------------------------------------------------------------------

    def feed(
        self,
        t0: float,
        rate_hz: float | None,
        xs: Sequence[float],
        ys: Sequence[float],
        zs: Sequence[float],
    ) -> list[Movement | Absence | Notice]:
        """Process samples taken at `t0 + i / rate_hz` (or one sample at `t0`).

        Batches are taken in device-time order: one seen before is dropped, one that arrives
        after a hole is held until the hole fills or `REORDER_WINDOW_S` of newer samples came.
        """
        n = min(len(xs), len(ys), len(zs))
        if n == 0:
            return []
        self._heard = True
        if rate_hz:
            self._arrive(t0, rate_hz, xs, ys, zs, n)
        else:
            self._process(t0, None, xs, ys, zs, n)
        out, self._out = self._out, []
        return out

    # -- order of batches -----------------------------------------------------------------

    def _arrive(
        self,
        t0: float,
        rate: float,
        xs: Sequence[float],
        ys: Sequence[float],
        zs: Sequence[float],
        n: int,
    ) -> None:
        key = round(t0 * 1000.0)
        if key in self._seen_keys or key in self._held_keys:
            self.duplicate_batches += 1
            return
        end = t0 + (n - 1) / rate
        last_t = self.last_t
        if last_t is not None and end < last_t + 0.5 / rate:
            if not self._clock_stepped_back(t0, end, rate):
                self.late_batches += 1
                return
            self._release(force=True)
            self.last_t = None  # what comes now restarts the filters, as after a gap
            self._late_run = None
            self._remember(key)
            self._process(t0, rate, xs, ys, zs, n)
            return
        self._late_run = None
        heapq.heappush(self._held, (t0, key, rate, xs[:n], ys[:n], zs[:n]))
        self._held_keys.add(key)
        self._release(force=False)

    def _clock_stepped_back(self, t0: float, end: float, rate: float) -> bool:
        """Refused batches that go on from one another for `CLOCK_STEP_S`: a clock step."""
        run = self._late_run
        if run is None or abs(t0 - run[1]) > max(0.5 * (end - t0), 1.5 / rate):
            run = (t0, 0.0)
        self._late_run = (run[0], end + 1.0 / rate)
        return end - run[0] >= CLOCK_STEP_S

    def _release(self, *, force: bool) -> None:
        """Process held batches that follow on from what was processed (or waited long enough)."""
        held = self._held
        while held:
            t0, key, rate, xs, ys, zs = held[0]
            last_t = self.last_t
            if not force and last_t is not None and len(held) <= MAX_HELD_BATCHES:
                # Device clocks jitter: a start within half a batch of the next sample follows on.
                follows = t0 - last_t <= 1.0 / rate + max(0.5 * self._batch_span_s, 1.5 / rate)
                newest = max(h[0] + (len(h[3]) - 1) / h[2] for h in held)
                if not follows and newest - last_t <= REORDER_WINDOW_S:
                    return
            heapq.heappop(held)
            self._held_keys.discard(key)
            self._remember(key)
            self._process(t0, rate, xs, ys, zs, len(xs))

    def _remember(self, key: int) -> None:
        if len(self._seen) >= SEEN_BATCHES:
            self._seen_keys.discard(self._seen.popleft())
        self._seen.append(key)
        self._seen_keys.add(key)

    # -- the samples ------------------------------------------------------------------------

    def _process(
        self,
        t0: float,
        rate_hz: float | None,
        xs: Sequence[float],
        ys: Sequence[float],
        zs: Sequence[float],
        n: int,
    ) -> None:
        """Run samples through the filters and the movement state machine, in time order."""
        last_t = self.last_t
        if rate_hz and last_t is not None and t0 <= last_t:
            # Overlaps what was processed (a device re-sending with other batching): skip that.
            skip = math.floor((last_t - t0) * rate_hz + 0.5) + 1
            if skip >= n:
                return
            t0 += skip / rate_hz
            xs, ys, zs, n = xs[skip:], ys[skip:], zs[skip:], n - skip
        if last_t is None or t0 - last_t > self.s.gap_reset_s or t0 < last_t - self.s.gap_reset_s:
            self._restart(t0, xs[0], ys[0], zs[0])
            last_t = t0
        self._declared_rate = rate_hz
        self._batch_span_s = (n - 1) / rate_hz if rate_hz else 0.0
        # Single samples are timed by arrival, which bunches and jitters; their filters step
        # by the measured rate once it is known.
        step = 1.0 / rate_hz if rate_hz else 0.0
        dt = step or (1.0 / self.rate_hz if self.rate_hz > 0.0 else max(t0 - last_t, 0.0))
        if dt != self._alphas_dt:
            self._alphas_dt = dt
            self._alphas = self._filter_steps(dt)
        af, ag, ae = self._alphas
        hold = self.s.offset_hold_s
        min_run = self.s.min_movement_s
        gx, gy, gz, env = self._gx, self._gy, self._gz, self._env
        fx, fy, fz = self._fx, self._fy, self._fz
        on_sq = self._on_sq
        env_cap = on_sq * ENVELOPE_CAP
        sec_end, sec_sum, sec_n = self._sec_end, self._sec_sum, self._sec_n
        mode = self._mode
        first_strong, last_strong = self._first_strong, self._last_strong
        px, py, pz = self._px, self._py, self._pz
        changed = self._sec_changed  # a sample differed from the one before, this second
        flat_run = self._flat_seconds > 0
        t = t0 - step
        for x, y, z in zip(xs, ys, zs, strict=False):
            t += step
            if t >= sec_end:
                self._gx, self._gy, self._gz, self._env = gx, gy, gz, env
                self._fx, self._fy, self._fz = fx, fy, fz
                self._px, self._py, self._pz = px, py, pz
                self._mode, self._first_strong, self._last_strong = mode, first_strong, last_strong
                if self._end_second(t, sec_sum, sec_n, mode, changed):
                    gx, gy, gz, env = self._gx, self._gy, self._gz, self._env
                    fx, fy, fz = self._fx, self._fy, self._fz
                    mode, first_strong, last_strong = (
                        self._mode,
                        self._first_strong,
                        self._last_strong,
                    )
                    flat_run = True
                sec_end, sec_sum, sec_n = self._sec_end, 0.0, 0
                changed = False
                on_sq = self._on_sq
                env_cap = on_sq * ENVELOPE_CAP
            if x != px or y != py or z != pz:
                px, py, pz = x, y, z
                changed = True
                if flat_run:  # live again: the stuck value was no position, start afresh
                    flat_run = False
                    fx = gx = x
                    fy = gy = y
                    fz = gz = z
                    env = self.baseline * self.baseline
                    self._flat_ended(t)
            fx += af * (x - fx)
            rx = fx - gx
            gx += ag * rx
            fy += af * (y - fy)
            ry = fy - gy
            gy += ag * ry
            fz += af * (z - fz)
            rz = fz - gz
            gz += ag * rz
            e = rx * rx + ry * ry + rz * rz
            env += ae * (e - env)
            sec_sum += e
            sec_n += 1
            if mode:
                if e > on_sq:
                    last_strong = t
                if self._step_open(t, rx, ry, rz, env, last_strong):
                    mode = _QUIET
                    last_strong = -math.inf  # the next strong sample starts a new run
                elif env > env_cap:
                    env = env_cap
            elif e > on_sq:
                if t - last_strong > hold:
                    first_strong = t
                last_strong = t
                if env > on_sq or t - first_strong >= min_run:
                    mode = _MOVING
                    self._open(t, first_strong, gx, gy, gz)
        self._gx, self._gy, self._gz, self._env = gx, gy, gz, env
        self._fx, self._fy, self._fz = fx, fy, fz
        self._px, self._py, self._pz = px, py, pz
        self._sec_end, self._sec_sum, self._sec_n = sec_end, sec_sum, sec_n
        self._sec_changed = changed
        self._mode = mode
        self._first_strong, self._last_strong = first_strong, last_strong
        self.last_t = t
        if self._bout and mode == _QUIET and t >= self._bout_until:
            self._finish_bout((gx, gy, gz))

    def _filter_steps(self, dt: float) -> tuple[float, float, float]:
        """Per-sample steps of the smoothing, gravity and envelope low-passes for a sample period."""
        if dt <= 0.0:
            return 1.0, 0.0, 0.0
        s = self.s
        smoothing_tau_s = 1.0 / (2.0 * math.pi * s.smoothing_hz) if s.smoothing_hz else 0.0
        return (
            dt / (smoothing_tau_s + dt),
            dt / (s.gravity_tau_s + dt),
            dt / (s.envelope_tau_s + dt),
        )

    # -- movement lifecycle ---------------------------------------------------------------

    def _open(self, t: float, start: float, gx: float, gy: float, gz: float) -> None:
        if self._bout and start > self._bout_until:
            self._finish_bout((gx, gy, gz))
        self._open_t = t
        self._seg_last_t = t
        self._below_since = -1.0
        self._peak_sq = 0.0
        self._pre_gravity = (gx, gy, gz)
        self._seg = []
        self._sec_moved = True
        self._first_strong = start

    def _step_open(
        self,
        t: float,
        rx: float,
        ry: float,
        rz: float,
        env: float,
        last_strong: float,
    ) -> bool:
        """One sample of an open movement; True when it closed."""
        if len(self._seg) < SEGMENT_MAX_SAMPLES:
            self._seg.append((rx, ry, rz, env))
            self._seg_last_t = t
        if env > self._peak_sq:
            self._peak_sq = env
        if env < self._off_sq:
            if self._below_since < 0.0:
                self._below_since = t
            elif t - max(self._below_since, last_strong) >= self.s.offset_hold_s:
                self._close(last_strong)
                return True
        else:
            self._below_since = -1.0
        if t - self._open_t >= self.s.max_movement_s:
            self._close(last_strong)
            return True
        return False

    def _close(self, end: float) -> None:
        """End the open burst; it joins the bout, which is judged once `BOUT_GAP_S` stays quiet."""
        self._mode = _QUIET
        self._sec_moved = True
        s = self.s
        start = self._first_strong
        if self.rate_hz > 0.0:
            end += 1.0 / self.rate_hz  # the last strong sample stands for its whole period
        duration = end - start
        seg = self._seg
        self._seg = []
        if duration < s.min_movement_s or not seg or self.baseline <= 0.0:
            if not self._bout:
                return
            self._bout_until = max(self._bout_until, end + BOUT_GAP_S)
            return
        span = self._seg_last_t - self._open_t
        seg_rate = (len(seg) - 1) / span if span > 0 else self.rate_hz
        rate = seg_rate or self.rate_hz
        peak_sq = self._peak_sq
        rise_index = next(
            (i for i, v in enumerate(seg) if v[3] >= RISE_POWER_FRACTION * peak_sq), 0
        )
        rise_s = max(0.0, self._open_t - start + (rise_index / rate if rate else 0.0))
        rhythm = regularity = beat_hz = slow_rhythm = slow_hz = 0.0
        if rate >= s.clonus_min_rate_hz:
            rhythm, beat_hz, regularity = _rhythm(seg, rate, s.clonus_min_hz, s.clonus_max_hz)
        if duration >= SCRATCH_MIN_S and rate > 2.0 * SCRATCH_HZ[1]:
            slow_rhythm, slow_hz = _stroke_rhythm(seg, rate)
        tone_share, tone_hz, tail = 0.0, 0.0, 1.0
        if rise_s <= s.jerk_max_rise_s and duration <= KNOCK_MAX_S and rate >= KNOCK_MIN_RATE_HZ:
            tone_share, tone_hz, tail = tone(
                seg[: max(4, round((end - self._open_t) * rate))], rate
            )
        jolts = jolt_onsets(seg, peak_sq, self._open_t, rate) if rate else []
        burst = Burst(
            start=start,
            end=end,
            peak_sq=peak_sq,
            rise_s=rise_s,
            rhythm=rhythm,
            regularity=regularity,
            beat_hz=beat_hz,
            slow_rhythm=slow_rhythm,
            slow_hz=slow_hz,
            tone=tone_share,
            tone_hz=tone_hz,
            tail=tail,
            jolts=tuple(jolts) or (start,),
            rate_hz=rate,
            pre_gravity=self._pre_gravity,
        )
        if not self._bout:
            self._bout_gravity = self._pre_gravity
        self._bout.append(burst)
        self._bout_until = end + BOUT_GAP_S

    def _finish_bout(self, post_gravity: tuple[float, float, float]) -> None:
        """Judge the bout (see `bouts.py`) and report it as one movement."""
        bout, self._bout = self._bout, []
        if not bout:
            return
        s = self.s
        first, last = bout[0], bout[-1]
        start, end = first.start, last.end
        duration = end - start
        angle = _angle_deg(self._bout_gravity, post_gravity)
        peak_sq = max(b.peak_sq for b in bout)
        strongest = max(bout, key=lambda b: b.peak_sq)
        clonus = next(
            (
                b
                for b in bout
                if b.rhythm >= s.clonus_min_autocorr
                and (
                    b.beat_hz >= CLONUS_SLOW_BEAT_HZ
                    or (
                        b.rhythm >= CLONUS_SLOW_MIN_AUTOCORR
                        and b.regularity >= CLONUS_SLOW_MIN_REGULARITY
                    )
                )
                and (b.end - b.start) * b.beat_hz >= s.clonus_min_beats - 1
            ),
            None,
        )
        cause = ""
        evidence: tuple[tuple[str, float], ...] = ()
        kind = MovementKind.MOVEMENT
        if len(bout) == 1 and is_knock(first):
            cause = "knock"
            evidence = (
                ("tone_share", round(first.tone, 3)),
                ("min_tone_share", KNOCK_MIN_TONE),
                ("ring_hz", first.tone_hz),
                ("min_ring_hz", KNOCK_MIN_HZ),
                ("tail_over_head", round(first.tail, 3)),
                ("max_tail_over_head", KNOCK_MAX_TAIL),
            )
        elif clonus is not None:
            kind, first = MovementKind.CLONUS, clonus
        elif angle >= s.turnover_min_angle_deg and duration >= s.turnover_min_s:
            kind = MovementKind.TURNOVER
        elif is_train(bout, s.jerk_max_rise_s):
            onsets = [t for b in bout for t in b.jolts]
            cause = "pet" if angle >= LOAD_TILT_DEG else "cough"
            evidence = (
                ("jolts", len(onsets)),
                ("mean_interval_s", round((onsets[-1] - onsets[0]) / (len(onsets) - 1), 3)),
                ("interval_range_s_low", TRAIN_INTERVAL_S[0]),
                ("interval_range_s_high", TRAIN_INTERVAL_S[1]),
                ("tilt_deg", round(angle, 2)),
                ("load_tilt_deg", LOAD_TILT_DEG),
            )
        elif (
            first.rise_s <= s.jerk_max_rise_s and LOAD_TILT_DEG <= angle < s.turnover_min_angle_deg
        ):
            cause = "sit"
            evidence = (("tilt_deg", round(angle, 2)), ("load_tilt_deg", LOAD_TILT_DEG))
        elif is_scratch(strongest, s.clonus_min_autocorr) and angle < s.turnover_min_angle_deg:
            cause = "scratch"
            evidence = (
                ("stroke_hz", round(strongest.slow_hz, 2)),
                ("stroke_autocorr", round(strongest.slow_rhythm, 3)),
                ("clonus_autocorr", round(strongest.rhythm, 3)),
                ("clonus_min_autocorr", s.clonus_min_autocorr),
            )
        elif first.rise_s <= s.jerk_max_rise_s and s.jerk_min_s <= duration <= s.jerk_max_s:
            kind = MovementKind.JERK
        elif s.plm_min_s <= duration <= s.plm_max_s and angle < s.turnover_min_angle_deg:
            kind = MovementKind.PLM
        self._out.append(
            Movement(
                sensor_id=self.sensor_id,
                kind=kind,
                start=start,
                end=end,
                peak=math.sqrt(peak_sq) / self.baseline,
                rise_s=first.rise_s,
                angle_deg=angle,
                rhythm=first.rhythm,
                beat_hz=first.beat_hz,
                rate_hz=first.rate_hz,
                cause=cause,
                peak_g=math.sqrt(peak_sq),
                evidence=evidence,
            )
        )

    def _restart(self, t: float, x: float, y: float, z: float) -> None:
        """Start the filters afresh at a first sample or after a gap (closing what was open)."""
        if self._mode == _MOVING:
            self._close(self._last_strong)
        self._finish_bout((self._gx, self._gy, self._gz))
        self._gx, self._gy, self._gz = x, y, z
        self._fx, self._fy, self._fz = x, y, z
        self._env = self.baseline * self.baseline
        self._sec_end = t + 1.0
        self._sec_sum = 0.0
        self._sec_n = 0
        self._sec_moved = False
        self._sec_changed = False  # a stuck sensor's first second is flat too
        self._px, self._py, self._pz = x, y, z
        self._micro.clear()
        self._recent_counts.clear()
        self._last_strong = -math.inf

    def covered(self, t: float) -> bool:
        """Everything up to `t` is judged: samples past it arrived, and no bout is still open."""
        last_t = self.last_t
        if last_t is None or last_t < t:
            return False
        return (self._mode == _QUIET and not self._bout) or last_t >= t + COVER_WAIT_S

    def silent(self, now: float) -> bool:
        """Nothing arrived for longer than a late batch may take: the sensor stopped sending."""
        if self._heard:
            self._heard = False
            self.heard_at = now
        heard_at = self.heard_at
        return heard_at is None or now - heard_at > self._batch_span_s + LATE_DELIVERY_S

    def tick(self, now: float) -> list[Movement | Absence | Notice]:
        """Close a movement whose samples stopped coming (the sensor went quiet or away).

        Samples decide by their own time; the arrival clock only says when to stop waiting for
        more. Batches may arrive `LATE_DELIVERY_S` late (Wi-Fi), so a movement is closed here
        only after that long with nothing arriving at all; while batches keep coming, however
        late, the samples themselves show where it ends.
        """
        self.stopped = self.silent(now)
        if self.stopped and self._held:  # the hole will not fill: take what waited for it
            self._release(force=True)
        if self.stopped and self._mode == _MOVING and self.last_t is not None:
            self._close(self._last_strong)
            self._first_strong = self._last_strong = -math.inf
        if self.stopped and self._mode == _QUIET:
            self._finish_bout((self._gx, self._gy, self._gz))
        out, self._out = self._out, []
        return out

    # -- once a second ----------------------------------------------------------------------

    def _end_second(self, t: float, sec_sum: float, sec_n: int, mode: int, changed: bool) -> bool:
        """The second's bookkeeping; True when it reset the filters (a flat line began)."""
        s = self.s
        self._sec_end += 1.0
        if self._sec_end <= t:  # a slow single-sample stream: realign rather than loop
            self._sec_end = t + 1.0
        self._recent_counts.append(sec_n)
        # A short hole or a bunch of late arrivals skews one second's count; the busiest of the
        # last few seconds is the rate.
        rate = self._declared_rate or float(max(self._recent_counts))
        self._track_rate(t, rate)
        if sec_n and not changed:
            return self._flat_second(t)
        quiet = mode == _QUIET and not self._sec_moved
        self._sec_moved = mode == _MOVING
        self._micro.append((self._gx, self._gy, self._gz))
        self._track_presence(t, quiet)
        if sec_n == 0 or not quiet or self.present is False:
            return False
        self._quiet_rms.append(math.sqrt(sec_sum / sec_n))
        self._quiet_seconds += 1
        if self._quiet_seconds >= max(s.warmup_s, 1.0) and (
            self.baseline <= 0.0 or self._quiet_seconds % BASELINE_EVERY_S == 0
        ):
            ranked = sorted(self._quiet_rms)
            index = min(len(ranked) - 1, int(len(ranked) * s.baseline_percentile / 100.0))
            baseline = ranked[index]
            if baseline > 0.0:
                self.baseline = baseline
                self._on_sq = (s.onset_ratio * baseline) ** 2
                self._off_sq = (s.offset_ratio * baseline) ** 2
        return False

    def _flat_second(self, t: float) -> bool:
        """A second of identical samples: a stuck sensor, never rest; True if filters were reset.

        It joins neither the baseline, the warm-up nor the micro-motion that says someone is in
        bed. At the first such second, what the step into the stuck value looked like (an open
        movement, bursts of the last two seconds) is dropped and the filters settle on it.
        """
        self._flat_seconds += 1
        self._sec_moved = False
        self._micro.clear()
        if self._flat_seconds == FLAT_NOTICE_S:
            self.flat = True
            self._notice(
                t,
                "sensor_flat",
                f"accelerometer {self.sensor_id} sends identical samples: it is stuck "
                "(a body in bed, or the sensor's own noise, always moves it), so "
                "movement cannot be detected until its signal comes back",
            )
        if self._flat_seconds > 1:
            return False
        self._mode = _QUIET
        self._seg = []
        self._first_strong = self._last_strong = -math.inf
        self._bout = [burst for burst in self._bout if burst.end < t - 2.0]
        self._gx, self._gy, self._gz = self._fx, self._fy, self._fz = self._px, self._py, self._pz
        self._env = self.baseline * self.baseline
        return True

    def _flat_ended(self, t: float) -> None:
        """Samples differ again after a flat line; say so if it was reported."""
        seconds, self._flat_seconds = self._flat_seconds, 0
        if self.flat:
            self.flat = False
            self._notice(
                t,
                "sensor_flat_end",
                f"accelerometer {self.sensor_id} sends a live signal again after "
                f"{seconds} s of identical samples",
            )

    def _notice(self, t: float, code: str, message: str) -> None:
        self._out.append(Notice(self.room, self.sensor_id, t, code, message))

    def _track_rate(self, t: float, rate: float) -> None:
        self.rate_hz = rate
        if rate >= self.s.clonus_min_rate_hz:
            self._low_rate_noticed = False
        elif not self._low_rate_noticed:
            self._low_rate_noticed = True
            self._notice(
                t,
                "clonus_undetectable",
                f"accelerometer {self.sensor_id} samples at {rate:.0f} Hz; clonus beats "
                f"(up to {self.s.clonus_max_hz:.0f} Hz) need at least "
                f"{self.s.clonus_min_rate_hz:.0f} Hz, so clonus cannot be detected",
            )

    def _track_presence(self, t: float, quiet: bool) -> None:
        """Micro-motion lost for `out_of_bed_after_s` = out of bed; back for `back_in_bed_after_s`."""
        s = self.s
        if len(self._micro) < MICRO_WINDOW_S or self._quiet_seconds < s.warmup_s:
            return
        level = _spread(self._micro)
        reference = self._micro_reference
        if reference <= 0.0:
            self._micro_reference = level
            self.present = True
            return
        here = level >= s.absent_ratio * reference
        if self.present is not False:
            if here:
                self._absent_since = None
                if quiet:
                    step = min(level, 4.0 * reference) - reference
                    self._micro_reference = reference + step / MICRO_REFERENCE_TAU_S
            else:
                if self._absent_since is None:
                    self._absent_since = t
                if t - self._absent_since >= s.out_of_bed_after_s:
                    self.present = False
                    self._left_at = self._absent_since
                    self._back_since = None
        elif here:
            if self._back_since is None:
                self._back_since = t
            if t - self._back_since >= s.back_in_bed_after_s:
                self.present = True
                self._absent_since = None
                left = self._left_at if self._left_at is not None else self._back_since
                self._out.append(Absence(self.sensor_id, left, self._back_since, reference, level))
        else:
            self._back_since = None


def _angle_deg(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """Angle between two gravity vectors."""
    na = math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])
    nb = math.sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2])
    if na == 0.0 or nb == 0.0:
        return 0.0
    cos = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (na * nb)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def _spread(points: deque[tuple[float, float, float]]) -> float:
    """RMS distance of 1-Hz gravity samples from their mean: the body's micro-motion."""
    n = len(points)
    total = 0.0
    for axis in range(3):
        values = [p[axis] for p in points]
        mean = sum(values) / n
        total += sum((v - mean) * (v - mean) for v in values) / n
    return math.sqrt(total)


def _stroke_rhythm(
    seg: list[tuple[float, float, float, float]], rate: float
) -> tuple[float, float]:
    """Rhythm of the slow strokes (scratching's 1-5 Hz): zero unless they carry most of the motion.

    The residual is smoothed over half the fastest stroke's period first, so a broadband burst's
    fast carrier cannot pass for a stroke rhythm.
    """
    seg = seg[: max(1, round(RHYTHM_WINDOW_S * rate))]
    width = max(1, round(rate / (2.0 * SCRATCH_HZ[1])))
    n = len(seg) - width + 1
    if n < 4:
        return 0.0, 0.0
    smoothed: list[tuple[float, float, float, float]] = []
    sums = [list(accumulate((v[axis] for v in seg), initial=0.0)) for axis in range(3)]
    for i in range(n):
        x, y, z = ((c[i + width] - c[i]) / width for c in sums)
        smoothed.append((x, y, z, 0.0))

    def energy(values: list[tuple[float, float, float, float]]) -> float:
        total = 0.0
        for axis in range(3):
            column = [v[axis] for v in values]
            mean = sum(column) / len(column)
            total += sum((c - mean) * (c - mean) for c in column) / len(column)
        return total

    whole = energy(seg)
    if whole <= 0.0 or energy(smoothed) < SCRATCH_MIN_SLOW_SHARE * whole:
        return 0.0, 0.0
    rhythm, hz, _ = _rhythm(smoothed, rate, *SCRATCH_HZ)
    return rhythm, hz


def _rhythm(
    seg: list[tuple[float, float, float, float]], rate: float, min_hz: float, max_hz: float
) -> tuple[float, float, float]:
    """Best autocorrelation at a beat period, that beat in Hz, and the one at two periods.

    A sustained rhythm keeps about the square of the first at two periods; an irregular one,
    such as scratching, loses it.

    A moving mean one slowest-beat period wide is subtracted (it removes drift and turnover
    motion), then the vector autocorrelation is searched over the clonus periods. A period only
    counts when the half period is anti-correlated, which rejects the harmonics of faster ringing.
    """
    seg = seg[: max(1, round(RHYTHM_WINDOW_S * rate))]
    n = len(seg)
    width = max(2, round(rate / min_hz))
    shortest = max(2, math.floor(rate / max_hz))
    longest = math.ceil(rate / min_hz)
    if n < 2 * longest:
        return 0.0, 0.0, 0.0
    half = width // 2
    bands: list[list[float]] = []
    for axis in range(3):
        values = [v[axis] for v in seg]
        sums = list(accumulate(values, initial=0.0))
        band = []
        for i, v in enumerate(values):
            lo = max(0, i - half)
            hi = min(n, lo + width)
            band.append(v - (sums[hi] - sums[lo]) / (hi - lo))
        bands.append(band)
    energy = sum(sum(map(mul, b, b)) for b in bands)
    if energy <= 0.0:
        return 0.0, 0.0, 0.0

    def autocorr(lag: int) -> float:
        return sum(sum(map(mul, b, b[lag:])) for b in bands) / energy * n / (n - lag)

    best, best_lag = 0.0, 0
    for lag in range(shortest, longest + 1):
        value = autocorr(lag)
        if value > best and autocorr(max(1, round(lag / 2))) < 0.0:
            best, best_lag = value, lag
    if not best_lag:
        return 0.0, 0.0, 0.0
    return best, rate / best_lag, autocorr(2 * best_lag) if 2 * best_lag < n else 0.0
