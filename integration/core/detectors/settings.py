"""Every tunable of movement detection (the `detection:` section of the rule files).

Amplitude thresholds are ratios to the adaptive per-night resting baseline (rolling quiet-period
RMS of the gravity-removed signal), so mattresses and sensors with different baselines need no
tuning.
"""

from __future__ import annotations

import math
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The promise: a movement's event is returned at most this long after the movement's end, for
# batches of up to `BATCH_ALLOWANCE_S` (longer batches add their own length). Settings that would
# break it are refused. PLM candidates held for their series have their own bound.
MAX_EMISSION_DELAY_S = 6.0
# While moving, the envelope is capped at this multiple of the onset power (the peak is taken
# before the cap), so its fall to the offset level takes a bounded time however hard the movement.
ENVELOPE_CAP = 400.0
# A batch may arrive this long after its last sample (an ESP32 on a busy Wi-Fi, a broker
# backlog): samples decide by their own time, so lateness delays events, never changes them.
# Only after this long with nothing arriving is the sensor taken as stopped.
LATE_DELIVERY_S = 15.0
BATCH_ALLOWANCE_S = 1.0


def emission_delay_bound_s(settings: DetectionSettings) -> float:
    """Most seconds of sample time between a movement's end and its event, with these settings.

    The bound runs on the samples' own clock: the event comes out as soon as the batch holding
    the sample that shows the end has arrived (the capped envelope fell to the offset level and
    stayed there for the hold). However late the batches arrive, that adds only their lateness.
    """
    s = settings
    fall_s = s.envelope_tau_s * math.log(ENVELOPE_CAP * (s.onset_ratio / s.offset_ratio) ** 2)
    return fall_s + s.offset_hold_s + BATCH_ALLOWANCE_S


class DetectionSettings(BaseModel):
    """Thresholds, durations and episode rules of the bed-motion detectors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Signal conditioning: remove gravity, a short (~0.25 s) RMS envelope, a quiet baseline.
    # Activity counts (band-limited to ~0.25-2.5 Hz) would erase clonus, so the raw signal is used.
    smoothing_hz: float = Field(
        default=8.0,
        ge=0,
        description="low-pass cut-off applied to samples first (0 = off): sensor noise is white, "
        "body movement and clonus (3-8 Hz) lie below it",
    )
    gravity_tau_s: float = Field(
        default=1.0, gt=0, description="time constant of the low-pass that estimates gravity"
    )
    envelope_tau_s: float = Field(
        default=0.15,
        gt=0,
        description="time constant of the RMS envelope of the residual (shorter than 0.25 s so "
        "a 0.2 s jerk still fills it)",
    )
    baseline_window_s: float = Field(
        default=600.0, gt=0, description="rolling window of 1-s RMS values the baseline comes from"
    )
    baseline_percentile: float = Field(
        default=30.0, gt=0, lt=100, description="percentile of that window taken as the baseline"
    )
    warmup_s: float = Field(
        default=30.0, ge=0, description="no events until this much signal set the baseline"
    )
    # On/off threshold pair with a hold (WASM/IRLSSG 2016 leg-movement rule: onset 8 µV above
    # rest, offset within 2 µV of it for >= 0.5 s). 3.0 and 1.5 x baseline are 2.0 and 0.5 x
    # baseline above rest: the same 4:1 pair of rises.
    onset_ratio: float = Field(
        default=3.0, gt=1, description="a movement starts when the envelope exceeds this x baseline"
    )
    offset_ratio: float = Field(
        default=1.5, gt=1, description="it ends when the envelope stays below this x baseline"
    )
    offset_hold_s: float = Field(
        default=0.5,
        gt=0,
        description="how long the envelope must stay low to end a movement (adds to the delay)",
    )
    min_movement_s: float = Field(
        default=0.15, ge=0, description="shorter bursts are glitches, not movements"
    )
    max_movement_s: float = Field(
        default=60.0, gt=0, description="a movement is closed and classified after this long"
    )
    gap_reset_s: float = Field(
        default=1.0,
        gt=0,
        description="a gap between samples longer than this restarts the filters",
    )
    # Kinds.
    jerk_min_s: float = Field(default=0.2, ge=0, description="shortest jerk")
    jerk_max_s: float = Field(default=3.0, gt=0, description="longest jerk")
    jerk_max_rise_s: float = Field(
        default=0.15,
        gt=0,
        description="a jerk's envelope reaches half its peak amplitude within this long of onset",
    )
    clonus_min_hz: float = Field(default=3.0, gt=0, description="slowest clonus beat")
    clonus_max_hz: float = Field(default=8.0, gt=0, description="fastest clonus beat")
    clonus_min_beats: int = Field(default=3, ge=1, description="beats that make clonus")
    clonus_min_autocorr: float = Field(
        default=0.6, gt=0, lt=1, description="rhythm: autocorrelation needed at the beat period"
    )
    clonus_min_rate_hz: float = Field(
        default=20.0, gt=0, description="below this sample rate clonus is reported undetectable"
    )
    plm_min_s: float = Field(default=0.5, ge=0, description="shortest periodic limb movement")
    plm_max_s: float = Field(default=10.0, gt=0, description="longest periodic limb movement")
    plm_min_interval_s: float = Field(
        default=10.0, gt=0, description="shortest onset-to-onset interval in a series"
    )
    plm_max_interval_s: float = Field(
        default=90.0, gt=0, description="longest onset-to-onset interval in a series"
    )
    plm_min_series: int = Field(default=4, ge=2, description="movements that confirm a series")
    turnover_min_s: float = Field(default=2.0, ge=0, description="shortest turnover")
    turnover_max_s: float = Field(default=45.0, gt=0, description="longest turnover (IRLSSG)")
    turnover_min_angle_deg: float = Field(
        default=5.0, gt=0, description="change of the resting gravity vector that marks a turnover"
    )
    # Out of bed.
    absent_ratio: float = Field(
        default=0.5, gt=0, lt=1, description="micro-motion below this x its in-bed level is absence"
    )
    out_of_bed_after_s: float = Field(
        default=60.0, gt=0, description="micro-motion lost this long means out of bed"
    )
    back_in_bed_after_s: float = Field(
        default=10.0, gt=0, description="micro-motion back this long means back in bed"
    )
    # Event-style vibration sensors.
    vibration_merge_s: float = Field(
        default=3.0, gt=0, description="vibration reports closer than this are one movement"
    )
    # mmWave presence sensors (moving-target energy 0-100, about one report a second): see
    # radar.py for the sources. Differences from the night's resting energy, not ratios: a
    # still sleeper reads near 0, where a ratio means nothing.
    mmwave_onset_energy: float = Field(
        default=15.0,
        gt=0,
        le=100,
        description="moving energy this far above its resting level starts a movement (the "
        "LD2410's factory move thresholds are 15-50 per gate; this is the least of them)",
    )
    mmwave_offset_energy: float = Field(
        default=7.5,
        ge=0,
        le=100,
        description="moving energy back below this far above rest (held mmwave_hold_s) ends a "
        "movement: half the onset, the accelerometer's 2:1 on/off pair",
    )
    mmwave_hold_s: float = Field(
        default=2.0,
        gt=0,
        le=30,
        description="energy stays low this long to end a movement (two reports at ESPHome's "
        "default 1 s throttle)",
    )
    mmwave_report_s: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="seconds of motion one report describes: ESPHome ld2410 `throttle`",
    )
    mmwave_latency_s: float = Field(
        default=0.75,
        ge=0,
        le=5,
        description="the radar's own delay between a motion and the report showing it "
        "(target tracking over several frames: about 0.5-1 s)",
    )
    # Restless episodes.
    restless_min_events: int = Field(
        default=3,
        ge=2,
        description="spasm-like events within the window that open an episode (or, in a room "
        "with only an mmWave sensor, movements)",
    )
    restless_window_s: float = Field(
        default=600.0, gt=0, description="window for the count; an episode closes after this quiet"
    )

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> Self:
        pairs = (
            ("offset_ratio", "onset_ratio"),
            ("jerk_min_s", "jerk_max_s"),
            ("clonus_min_hz", "clonus_max_hz"),
            ("plm_min_s", "plm_max_s"),
            ("plm_min_interval_s", "plm_max_interval_s"),
            ("turnover_min_s", "turnover_max_s"),
            ("mmwave_offset_energy", "mmwave_onset_energy"),
        )
        for low, high in pairs:
            if getattr(self, low) >= getattr(self, high):
                msg = f"{low} must be below {high} (got {getattr(self, low)} >= {getattr(self, high)})"
                raise ValueError(msg)
        bound = emission_delay_bound_s(self)
        if bound > MAX_EMISSION_DELAY_S:
            msg = (
                f"these settings could delay an event by {bound:.1f} s after its movement, over "
                f"the promised {MAX_EMISSION_DELAY_S:g} s: shorten envelope_tau_s, offset_hold_s "
                "or gap_reset_s"
            )
            raise ValueError(msg)
        return self
