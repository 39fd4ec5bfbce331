"""Every tunable of movement detection (the `detection:` section of the rule files).

Amplitude thresholds are ratios to the adaptive per-night resting baseline (rolling quiet-period
RMS of the gravity-removed signal), so mattresses and sensors with different baselines need no
tuning.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DetectionSettings(BaseModel):
    """Thresholds, durations and episode rules of the bed-motion detectors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Signal conditioning (DETECTION-FACTS: remove gravity, ~0.25 s RMS envelope, quiet baseline).
    gravity_tau_s: float = Field(
        default=1.0, gt=0, description="time constant of the low-pass that estimates gravity"
    )
    envelope_tau_s: float = Field(
        default=0.25, gt=0, description="time constant of the RMS envelope of the residual"
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
    # On/off threshold pair, about 4:1 above rest, with a hold (WASM/IRLSSG 2016 leg-movement rule).
    onset_ratio: float = Field(
        default=4.0, gt=1, description="a movement starts when the envelope exceeds this x baseline"
    )
    offset_ratio: float = Field(
        default=1.75, gt=1, description="it ends when the envelope stays below this x baseline"
    )
    offset_hold_s: float = Field(
        default=0.5, gt=0, description="how long the envelope must stay low to end a movement"
    )
    min_movement_s: float = Field(
        default=0.15, ge=0, description="shorter bursts are glitches, not movements"
    )
    max_movement_s: float = Field(
        default=60.0, gt=0, description="a movement is closed and classified after this long"
    )
    gap_reset_s: float = Field(
        default=1.0, gt=0, description="a gap between samples longer than this restarts the filters"
    )
    # Kinds.
    jerk_min_s: float = Field(default=0.2, ge=0, description="shortest jerk")
    jerk_max_s: float = Field(default=3.0, gt=0, description="longest jerk")
    jerk_max_rise_s: float = Field(
        default=0.35, gt=0, description="a jerk reaches its peak within this long of its onset"
    )
    clonus_min_hz: float = Field(default=3.0, gt=0, description="slowest clonus beat")
    clonus_max_hz: float = Field(default=8.0, gt=0, description="fastest clonus beat")
    clonus_min_beats: int = Field(default=3, ge=1, description="beats that make clonus")
    clonus_min_autocorr: float = Field(
        default=0.5, gt=0, lt=1, description="rhythm: autocorrelation needed at the beat period"
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
    # Restless episodes.
    restless_min_events: int = Field(
        default=3, ge=2, description="spasm-like events within the window that open an episode"
    )
    restless_window_s: float = Field(
        default=600.0, gt=0, description="window for the count; an episode closes after this quiet"
    )
