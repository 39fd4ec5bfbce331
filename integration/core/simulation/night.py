"""Labelled synthetic nights: a bed accelerometer, bed occupancy, room temperature and humidity.

Theory of operation: `simulate_night` first *plans* the night from the seed — where each
movement, get-up and dropout lies, which becomes the labels — and `SimulatedNight.messages`
then *renders* the signal lazily, one message at a time, so an 8-hour night at 100 Hz never sits
in memory and the first message costs nothing. Rendering re-seeds its own generator on every
call, so iterating twice gives the same bytes.

The accelerometer sees gravity in the bed's resting orientation (1 g), the sleeper's
micro-motion on top of it (breathing and heartbeat, a few mg), the planted movements — body
motion, all scaled by `coupling` (a thick mattress lets less through) — and Gaussian sensor
noise. Nothing planted overlaps, and each block keeps `_QUIET_PAD_S` of rest around
it, except a jerk cluster that runs into a turnover (people often reposition after a spasm).
Figures are cited where they are defined; they make plausible nights for tests and the
benchmark, not a physiological model of any one person.

Confounders (coughs, scratching, knocks and sitting down, pets, a bed partner; all off by
default) live in `confounders.py`. They draw from their own generator and are placed in the
quiet the sleeper's blocks leave, so adding them never changes the sleeper's plan, and with
none of them the bytes are those of a night without them. A partner's sensor renders the same
bed from the other side. `delivery_lag_s` moves only arrival times, never payloads.

mmWave (`mmwave`, off by default): an HLK-LD2410 beside the bed on ESPHome publishes its
presence and its moving-target energy on their own state topics, rendered from the same plan
(movements of the sleeper, the partner and the confounders; get-ups) by its own generator, so
the other topics' bytes do not change. See `_radar_messages` for the physics and its sources.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from integration.core.events import MovementKind
from integration.core.intents import Role
from integration.core.simulation.confounders import (
    STALLS_PER_H,
    BedModel,
    Breathing,
    ConfounderPlanner,
    Movement,
    Tilt,
    Vector,
    Waveform,
    stall_share,
)
from integration.core.simulation.confounders import white as _white
from integration.core.simulation.thermal import RoomModel, SimulatedRoom, Weather

__all__ = [
    "LABELS_SCHEMA",
    "REALISTIC_PER_8H",
    "Label",
    "LabelKind",
    "NightSpec",
    "PayloadStyle",
    "SimulatedNight",
    "labels_document",
    "realistic_counts",
    "scaled_counts",
    "simulate_night",
]

LABELS_SCHEMA = "smart-bedroom/labels/1"

# Lights-out of the default night: 2026-11-23 22:30 in London (GMT in November).
DEFAULT_START = datetime(2026, 11, 23, 22, 30, tzinfo=ZoneInfo("Europe/London")).timestamp()

# The topics of the embedded demo config, so a simulated night replays with no config at all.
DEFAULT_ACCEL_TOPIC = "smart-bedroom-sim/bedroom/bed/accel"
DEFAULT_PARTNER_ACCEL_TOPIC = "smart-bedroom-sim/bedroom/bed/partner_accel"
DEFAULT_OCCUPANCY_TOPIC = "zigbee2mqtt/bedroom_bed_occupancy"
DEFAULT_CLIMATE_TOPIC = "zigbee2mqtt/bedroom_climate"
# ESPHome's MQTT state topics are `<node>/<component>/<object id>/state` (esphome.io/components/mqtt).
DEFAULT_MMWAVE_PRESENCE_TOPIC = "bedroom-radar/binary_sensor/presence/state"
DEFAULT_MMWAVE_ENERGY_TOPIC = "bedroom-radar/sensor/moving_energy/state"

# Nothing is planted in the first minutes (the detector learns its resting baseline there)
# nor in the last one (so every label ends inside the recording).
_SETTLE_S = 180.0
_TAIL_S = 60.0
# Rest kept around every planted block, so one movement does not run into the next.
_QUIET_PAD_S = 30.0
_PLACEMENT_TRIES = 2000

# Breathing 12-18 breaths/min (0.2-0.3 Hz) and heartbeat 50-70 bpm at rest in sleep; bed-sensor
# ballistocardiography sees both as mg-level motion (e.g. Sadek et al. 2019, "Ballistocardiogram
# signal processing: a review", Health Inf Sci Syst 7:10).
_BREATH_HZ = (0.2, 0.3)
_BREATH_G = (0.002, 0.004)
_HEART_HZ = (0.83, 1.17)
_HEART_G = (0.0005, 0.0012)
_AMPLITUDE_DRIFT_HZ = 1 / 90.0  # breathing depth swells and fades over a minute or two

# Movement shapes (durations from the brief's scoring references: WASM/IRLSSG 2016 leg
# movements 0.5-10 s, repositioning 3-45 s; clonus 3-8 Hz; jerks sub-second to 2 s).
_JERK_S = (0.2, 2.0)
_JERK_RISE_S = (0.02, 0.06)  # a myoclonic jerk peaks within tens of ms: the "sharp onset"
_JERK_G = (0.03, 0.25)
_JERK_CLUSTER = (1, 3)  # at most three: four at PLM spacing would be a PLM series
_JERK_SPACING_S = (4.0, 60.0)
_JERK_THEN_TURN_P = 0.3  # share of jerk clusters that end in a turnover
_JERK_TO_TURN_S = (5.0, 20.0)
_CLONUS_S = (1.0, 30.0)
_CLONUS_HZ = (3.0, 8.0)
_CLONUS_G = (0.02, 0.12)
_CLONUS_RAMP_S = 0.15
_PLM_MOVES = (4, 30)
_PLM_S = (0.5, 5.0)
_PLM_ONSET_S = (15.0, 40.0)  # onset to onset, inside the scored 10-90 s
_PLM_ONSET_JITTER = 0.15  # each interval varies ±15 % around the series' own period
_PLM_G = (0.02, 0.08)
_PLM_HZ = (0.8, 2.5)  # a dorsiflexion is a slow push, not a vibration
_TURN_S = (3.0, 15.0)
_TURN_DEG = (10.0, 90.0)
_TURN_G = (0.05, 0.25)
_TURN_HZ = (0.3, 2.0)
_MAX_TILT_DEG = 80.0  # the sensor never ends up on its side
_GETUP_S = (120.0, 900.0)
_OCCUPANCY_LAG_S = (0.5, 3.0)  # pressure mats report a change within a few seconds
_DROPOUT_S = (5.0, 60.0)
_TONIC_S = (2.0, 10.0)
_TONIC_G = (0.004, 0.015)  # stiffening moves the bed little: a small slow offset
_TONIC_RAMP_S = (0.5, 1.0)
_TONIC_TREMOR_HZ = 10.0  # physiological tremor under contraction, 8-12 Hz
_NETWORK_LATENCY_S = 0.01
_CLIMATE_EVERY_S = 60.0  # Zigbee climate sensors report about once a minute
_CLIMATE_JITTER_S = 5.0
# A London late-November night (Met Office 1991-2020 November mean about 7 °C).
_WEATHER = Weather("november", mean_c=7.0, swing_c=2.5, room_start_c=19.5, day="2026-11-23")
_DECIMALS = 4  # 0.1 mg: below any sensor's noise, keeps recordings small

# The LD2410 as ESPHome publishes it (esphome.io/components/sensor/ld2410, and
# `LD2410Component::handle_periodic_data_`): one frame a `throttle` (1 s by default), each
# sensor published only when its value changed; presence drops `timeout` after the last target
# (5 s by default, the module's "no-one duration"). The radar's tracker shows motion some
# 0.5-1 s late. Radar sees motion (Doppler), not posture: each report's energy comes from how
# much the body moved in the second it describes (the movements' waveforms less their mean, so
# a held stiffening or a new resting position shows nothing), saturating towards 100; a still
# sleeper's breathing reads as a few points of moving energy (it is the still target's energy
# that carries it), someone walking about reads high. The radar looks at the room, not the
# mattress: the partner, a pet, someone sitting on the edge are all seen at full strength.
_RADAR_REPORT_S = 1.0
_RADAR_TIMEOUT_S = 5.0
_RADAR_LATENCY_S = (0.5, 1.0)
_RADAR_MOTION_G = 0.02  # body motion (g at the mattress) giving 63 % of full energy
_RADAR_STEP_S = 0.05  # motion sampled at 20 Hz within a report's second
_RADAR_REST = (3.0, 2.0)  # mean and spread of a still sleeper's moving energy
_RADAR_NOISE = 3.0  # spread of the energy while moving
_RADAR_WALK = (60.0, 100.0)  # walking about the room
_RADAR_WALK_S = (5.0, 15.0)  # from the bed to the door, from the door back to bed


class PayloadStyle(StrEnum):
    """How the accelerometer sends its samples."""

    SINGLE = "single"  # one `{"x","y","z"}` message per sample, timed by arrival
    BATCH = "batch"  # `{"t0","rate","x":[..],"y":[..],"z":[..]}` every `batch_s`


class LabelKind(StrEnum):
    """What was planted; values equal `MovementKind` values where one exists."""

    JERK = MovementKind.JERK.value
    CLONUS = MovementKind.CLONUS.value
    PLM = MovementKind.PLM.value
    PLM_SERIES = MovementKind.PLM_SERIES.value
    TURNOVER = MovementKind.TURNOVER.value
    OUT_OF_BED = MovementKind.OUT_OF_BED.value
    TONIC = "tonic"  # a tonic spasm: no detector kind names it, yet it is spasm-like
    DROPOUT = "dropout"  # the sensor sent nothing: not a movement, never scored
    # Confounders: real motion of the bed that is no spasm.
    COUGH = "cough"  # a cough train
    SCRATCH = "scratch"  # a scratching bout
    KNOCK = "knock"  # a knock on the bed frame
    SIT = "sit"  # someone sitting down on the edge, and getting up again
    PET = "pet"  # a pet jumping up, walking about, settling or leaving
    PARTNER = "partner"  # the bed partner turning over


SPASM_LIKE_LABELS = frozenset({LabelKind.JERK, LabelKind.CLONUS, LabelKind.PLM, LabelKind.TONIC})


class NightSpec(BaseModel):
    """What night to simulate; the counts are for the whole night."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(1, description="seed of everything random: same seed, same bytes")
    start: float = Field(DEFAULT_START, description="lights-out, UTC epoch seconds")
    hours: float = Field(8.0, gt=0.0, le=24.0, description="length of the recording")
    rate_hz: float = Field(50.0, ge=5.0, le=100.0, description="accelerometer sample rate")
    payload: PayloadStyle = Field(PayloadStyle.BATCH, description="single samples or batches")
    batch_s: float = Field(1.0, ge=0.05, le=10.0, description="seconds of samples per batch")
    noise_g: float = Field(0.002, ge=0.0, le=0.1, description="sensor noise per axis, 1 sigma")
    coupling: float = Field(
        1.0,
        gt=0.0,
        le=3.0,
        description=(
            "how much body motion reaches the sensor (mattress thickness, placement): scales "
            "micro-motion and movements alike, not gravity or noise"
        ),
    )
    jitter_s: float = Field(
        0.02, ge=0.0, le=1.0, description="extra arrival delay of a message, uniform 0..jitter_s"
    )
    jerks: int = Field(12, ge=0, description="jerks, planted in clusters of one to three")
    clonus: int = Field(4, ge=0, description="clonus bursts")
    plm_series: int = Field(2, ge=0, description="periodic limb movement series")
    turnovers: int = Field(16, ge=0, description="turnovers that change the resting orientation")
    get_ups: int = Field(1, ge=0, description="times out of bed")
    dropouts: int = Field(3, ge=0, description="spells when the sensor sends nothing")
    tonic: int = Field(2, ge=0, description="tonic spasms: sustained, little motion")
    coughs: int = Field(0, ge=0, description="cough trains of 2-8 coughs")
    scratches: int = Field(0, ge=0, description="scratching bouts")
    knocks: int = Field(0, ge=0, description="knocks on the frame or someone sitting on the edge")
    pets: int = Field(0, ge=0, description="visits of a cat or small dog")
    partner: bool = Field(False, description="a partner breathes on the other side all night")
    partner_turnovers: int = Field(0, ge=0, description="the partner's turnovers")
    partner_sensor: bool = Field(
        False, description="a second accelerometer under the partner, on `partner_accel_topic`"
    )
    delivery_lag_s: float = Field(
        0.0,
        ge=0.0,
        le=30.0,
        description=(
            "Wi-Fi lag: each accelerometer message arrives up to this much later, plus a few "
            "stalls an hour; payloads do not change"
        ),
    )
    room: str = Field("bedroom", description="room id the labels name")
    accel_topic: str = Field(DEFAULT_ACCEL_TOPIC, description="accelerometer topic")
    partner_accel_topic: str = Field(
        DEFAULT_PARTNER_ACCEL_TOPIC, description="the partner sensor's accelerometer topic"
    )
    occupancy_topic: str = Field(DEFAULT_OCCUPANCY_TOPIC, description="bed occupancy topic")
    climate_topic: str = Field(DEFAULT_CLIMATE_TOPIC, description="Zigbee2MQTT climate topic")
    mmwave: bool = Field(
        False,
        description="an LD2410 mmWave sensor on ESPHome beside the bed: presence ON/OFF and "
        "moving-target energy (0-100, about once a second, on change) on their own topics",
    )
    mmwave_presence_topic: str = Field(
        DEFAULT_MMWAVE_PRESENCE_TOPIC, description="the mmWave sensor's presence state topic"
    )
    mmwave_energy_topic: str = Field(
        DEFAULT_MMWAVE_ENERGY_TOPIC, description="the mmWave sensor's moving-energy state topic"
    )

    @model_validator(mode="after")
    def _partner_turnovers_need_a_partner(self) -> NightSpec:
        if self.partner_turnovers and not self.partner:
            msg = "partner_turnovers needs partner=True"
            raise ValueError(msg)
        return self

    @property
    def end(self) -> float:
        """End of the recording, UTC epoch seconds."""
        return self.start + self.hours * 3600.0

    @property
    def has_confounders(self) -> bool:
        """Whether anything besides the sleeper moves the bed or a second sensor is rendered."""
        return bool(
            self.coughs
            or self.scratches
            or self.knocks
            or self.pets
            or self.partner
            or self.partner_sensor
        )


@dataclass(frozen=True, slots=True)
class Label:
    """One planted truth: what happened from `start` to `end` (UTC epoch seconds)."""

    kind: LabelKind
    start: float
    end: float
    spasm_like: bool


_Movement = Movement


@dataclass(frozen=True, slots=True)
class _Turn:
    """The resting gravity vector rotating from `before` to `after` over [start, end]."""

    start: float
    end: float
    before: Vector
    after: Vector


@dataclass(slots=True)
class _Plan:
    """Everything the renderer needs, decided before the first sample."""

    labels: list[Label]
    movements: list[_Movement]
    turns: list[_Turn]
    empty_bed: list[tuple[float, float]]
    dropouts: list[tuple[float, float]]
    first_gravity: Vector
    breath_hz: float
    heart_hz: float
    breath_g: float
    heart_g: float
    confounders: _Confounders | None = None


@dataclass(slots=True)
class _Confounders:
    """What the confounders add to the plan: the other side of the bed and slow tilts."""

    bed: BedModel
    near: list[_Movement]  # confounders on the sleeper's side, e.g. coughs and knocks
    far: list[_Movement]  # the partner's movements
    partner: Breathing | None
    main_tilts: list[Tilt]
    partner_first_gravity: Vector
    partner_turns: list[_Turn]
    partner_tilts: list[Tilt]
    partner_noise: float  # times the spec's noise_g


@dataclass(slots=True)
class SimulatedNight:
    """A planned night: its labels now, its messages on demand."""

    spec: NightSpec
    labels: tuple[Label, ...]
    _plan: _Plan

    def messages(self) -> Iterator[tuple[float, str, bytes]]:
        """`(arrival t, topic, payload)` in arrival order, rendered as they are consumed."""
        side = _side_messages(self.spec, self._plan)
        if self.spec.mmwave:
            radar = _radar_messages(self.spec, self._plan)
            side = list(heapq.merge(side, radar, key=lambda message: message[0]))
        side_index = 0
        spec, plan = self.spec, self._plan
        main = _main_sensor(spec, plan)
        accel = _accel_messages(spec, main, spec.accel_topic, "arrival", plan.dropouts)
        if spec.partner_sensor and plan.confounders is not None:
            # Two devices, two connections: each stream keeps its order, the two interleave.
            partner = _partner_sensor(spec, plan, plan.confounders)
            accel = heapq.merge(
                accel,
                _accel_messages(spec, partner, spec.partner_accel_topic, "partner-arrival", []),
                key=lambda message: message[0],
            )
        for message in accel:
            while side_index < len(side) and side[side_index][0] <= message[0]:
                yield side[side_index]
                side_index += 1
            yield message
        yield from side[side_index:]


COUNT_FIELDS = (
    "jerks",
    "clonus",
    "plm_series",
    "turnovers",
    "get_ups",
    "dropouts",
    "tonic",
    "coughs",
    "scratches",
    "knocks",
    "pets",
    "partner_turnovers",
)

# A typical 8-hour night in a real shared bedroom. Adults change position some 10-20 times a
# night (De Koninck et al. 1992, "Sleep positions and position shifts in five age groups",
# Sleep 15:143); healthy sleepers cough and scratch a few times a night (cough is suppressed but
# not absent in sleep: Power et al. 1984, Am Rev Respir Dis 130:999; scratching in non-itchy
# controls: Ebata et al. 2001, Br J Dermatol 144:305); a knock or someone sitting on the bed and
# a pet's visit are household life.
REALISTIC_PER_8H: dict[str, int | bool] = {
    "coughs": 3,
    "scratches": 4,
    "knocks": 3,
    "pets": 2,
    "partner": True,
    "partner_turnovers": 15,
}


def scaled_counts(hours: float) -> dict[str, int]:
    """The default counts (for 8 h) scaled to a night of `hours`, for `NightSpec(**...)`."""
    defaults = NightSpec.model_fields
    return {
        name: math.floor(int(defaults[name].default) * hours / 8.0 + 0.5) for name in COUNT_FIELDS
    }


def realistic_counts(hours: float) -> dict[str, int | bool]:
    """`REALISTIC_PER_8H` scaled to a night of `hours` (flags stay as they are)."""
    return {
        name: value if isinstance(value, bool) else math.floor(value * hours / 8.0 + 0.5)
        for name, value in REALISTIC_PER_8H.items()
    }


def simulate_night(spec: NightSpec) -> SimulatedNight:
    """Plan a night from `spec.seed`; raises ValueError when the counts do not fit its hours."""
    plan = _plan_night(spec, random.Random(f"plan/{spec.seed}"))
    return SimulatedNight(spec, tuple(plan.labels), plan)


def labels_document(night: SimulatedNight) -> dict[str, Any]:
    """The labels file: the spec that made the night and what was planted, in time order."""
    return {
        "schema": LABELS_SCHEMA,
        "spec": night.spec.model_dump(mode="json"),
        "labels": [
            {
                "kind": str(label.kind),
                "start": round(label.start, 3),
                "end": round(label.end, 3),
                "spasm_like": label.spasm_like,
            }
            for label in night.labels
        ],
    }


# --- planning ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Block:
    """A span to place, with how to fill it once its start is known."""

    duration_s: float
    fill: Callable[[float], None]


def _uniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    return rng.uniform(*bounds)


def _log_uniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    """Small values more often than large ones, as with movement amplitudes and durations."""
    return math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1])))


def _random_axis(rng: random.Random) -> Vector:
    x, y, z = rng.gauss(0, 1), rng.gauss(0, 1), rng.gauss(0, 1)
    norm = math.sqrt(x * x + y * y + z * z) or 1.0
    return (x / norm, y / norm, z / norm)


def _gravity(roll_deg: float, pitch_deg: float) -> Vector:
    roll, pitch = math.radians(roll_deg), math.radians(pitch_deg)
    return (
        math.sin(pitch),
        -math.sin(roll) * math.cos(pitch),
        math.cos(roll) * math.cos(pitch),
    )


class _Planner:
    """Builds the labels and renderer inputs of one night, block by block."""

    def __init__(self, spec: NightSpec, rng: random.Random) -> None:
        self.spec = spec
        self.rng = rng
        self.labels: list[Label] = []
        self.movements: list[_Movement] = []
        self.turn_spans: list[tuple[float, float]] = []  # (start, end) of each turnover
        self.empty_bed: list[tuple[float, float]] = []
        self.dropouts: list[tuple[float, float]] = []
        self.turns_left = spec.turnovers

    def _label(self, kind: LabelKind, start: float, end: float) -> None:
        self.labels.append(Label(kind, start, end, kind in SPASM_LIKE_LABELS))

    def jerk_cluster(self, size: int) -> _Block:
        """A few jerks within a minute or two, sometimes followed by a turnover."""
        rng = self.rng
        offsets, durations = [], []
        at = 0.0
        for _ in range(size):
            offsets.append(at)
            durations.append(_uniform(rng, _JERK_S))
            at += durations[-1] + _uniform(rng, _JERK_SPACING_S)
        length = offsets[-1] + durations[-1]
        turn_after: tuple[float, float] | None = None
        if self.turns_left > 0 and rng.random() < _JERK_THEN_TURN_P:
            self.turns_left -= 1
            turn_after = (length + _uniform(rng, _JERK_TO_TURN_S), _uniform(rng, _TURN_S))
            length = turn_after[0] + turn_after[1]
        shapes = [
            (_log_uniform(rng, _JERK_G), _uniform(rng, _JERK_RISE_S), _random_axis(rng))
            for _ in range(size)
        ]

        def fill(start: float) -> None:
            for offset, duration, (peak_g, rise_s, axis) in zip(
                offsets, durations, shapes, strict=True
            ):
                self._jerk(start + offset, duration, peak_g, rise_s, axis)
            if turn_after is not None:
                self._turnover(start + turn_after[0], turn_after[1])

        return _Block(length, fill)

    def _jerk(
        self, start: float, duration: float, peak_g: float, rise_s: float, axis: Vector
    ) -> None:
        # Broadband: an unpredictable value each sample under a sharp-attack, fading envelope.
        # The value is a hash of the time, not a generator draw, so renders repeat exactly.
        salt = self.rng.uniform(0, 1000)

        def waveform(s: float) -> float:
            fade = (1.0 - s / duration) ** 2
            return peak_g * min(1.0, s / rise_s) * fade * _white(s + salt)

        self.movements.append(_Movement(start, start + duration, axis, waveform))
        self._label(LabelKind.JERK, start, start + duration)

    def clonus(self) -> _Block:
        """Rhythmic beats at 3-8 Hz with soft edges."""
        rng = self.rng
        duration = _log_uniform(rng, _CLONUS_S)
        beat_hz = _uniform(rng, _CLONUS_HZ)
        peak_g = _log_uniform(rng, _CLONUS_G)
        axis = _random_axis(rng)

        def waveform(s: float) -> float:
            edge = min(1.0, s / _CLONUS_RAMP_S, (duration - s) / _CLONUS_RAMP_S)
            phase = 2 * math.pi * beat_hz * s
            return peak_g * edge * (math.sin(phase) + 0.3 * math.sin(2 * phase))

        def fill(start: float) -> None:
            self.movements.append(_Movement(start, start + duration, axis, waveform))
            self._label(LabelKind.CLONUS, start, start + duration)

        return _Block(duration, fill)

    def plm_series(self) -> _Block:
        """Four to thirty leg movements, onset to onset 15-40 s around the series' own period."""
        rng = self.rng
        moves = rng.randint(*_PLM_MOVES)
        period_s = _uniform(rng, _PLM_ONSET_S)
        onsets = [0.0]
        for _ in range(moves - 1):
            step = period_s * (1 + rng.uniform(-_PLM_ONSET_JITTER, _PLM_ONSET_JITTER))
            onsets.append(onsets[-1] + min(max(step, _PLM_ONSET_S[0]), _PLM_ONSET_S[1]))
        series_g = _log_uniform(rng, _PLM_G)
        axis = _random_axis(rng)  # the same leg pushes the same way each time
        shapes = [
            (_uniform(rng, _PLM_S), series_g * rng.uniform(0.7, 1.3), _uniform(rng, _PLM_HZ))
            for _ in onsets
        ]
        length = onsets[-1] + shapes[-1][0]

        def fill(start: float) -> None:
            for onset, (duration, peak_g, push_hz) in zip(onsets, shapes, strict=True):
                at = start + onset
                self.movements.append(
                    _Movement(at, at + duration, axis, _plm_waveform(duration, peak_g, push_hz))
                )
                self._label(LabelKind.PLM, at, at + duration)
            self._label(LabelKind.PLM_SERIES, start, start + length)

        return _Block(length, fill)

    def turnover(self) -> _Block:
        """Repositioning: large slow motion that leaves the bed at a new resting orientation."""
        duration = _uniform(self.rng, _TURN_S)
        return _Block(duration, lambda start: self._turnover(start, duration))

    def _turnover(self, start: float, duration: float) -> None:
        rng = self.rng
        peak_g = _log_uniform(rng, _TURN_G)
        axis = _random_axis(rng)
        tones = [(_uniform(rng, _TURN_HZ), rng.uniform(0, 2 * math.pi)) for _ in range(2)]

        def waveform(s: float) -> float:
            envelope = math.sin(math.pi * s / duration) ** 2
            return (
                peak_g * envelope * sum(0.5 * math.sin(2 * math.pi * f * s + p) for f, p in tones)
            )

        self.movements.append(_Movement(start, start + duration, axis, waveform))
        self.turn_spans.append((start, start + duration))
        self._label(LabelKind.TURNOVER, start, start + duration)

    def tonic(self) -> _Block:
        """A sustained stiffening: a small slow offset with a faint tremor."""
        rng = self.rng
        duration = _uniform(rng, _TONIC_S)
        ramp_s = _uniform(rng, _TONIC_RAMP_S)
        peak_g = _log_uniform(rng, _TONIC_G)
        axis = _random_axis(rng)

        def waveform(s: float) -> float:
            level = min(1.0, s / ramp_s, (duration - s) / ramp_s)
            tremor = 0.15 * math.sin(2 * math.pi * _TONIC_TREMOR_HZ * s)
            return peak_g * level * (1.0 + tremor)

        def fill(start: float) -> None:
            self.movements.append(_Movement(start, start + duration, axis, waveform))
            self._label(LabelKind.TONIC, start, start + duration)

        return _Block(duration, fill)

    def get_up(self) -> _Block:
        """Out of bed: no body, so no micro-motion, only sensor noise."""
        duration = _uniform(self.rng, _GETUP_S)

        def fill(start: float) -> None:
            self.empty_bed.append((start, start + duration))
            self._label(LabelKind.OUT_OF_BED, start, start + duration)

        return _Block(duration, fill)

    def dropout(self) -> _Block:
        """The sensor sends nothing (Wi-Fi or broker trouble); aligned to whole batches."""
        step = self.spec.batch_s if self.spec.payload is PayloadStyle.BATCH else 1.0
        duration = max(step, round(_uniform(self.rng, _DROPOUT_S) / step) * step)

        def fill(start: float) -> None:
            aligned = self.spec.start + math.ceil((start - self.spec.start) / step) * step
            self.dropouts.append((aligned, aligned + duration))
            self._label(LabelKind.DROPOUT, aligned, aligned + duration)

        return _Block(duration + step, fill)


def _plm_waveform(duration: float, peak_g: float, push_hz: float) -> Waveform:
    def waveform(s: float) -> float:
        return peak_g * math.sin(math.pi * s / duration) * math.sin(2 * math.pi * push_hz * s)

    return waveform


def _plan_night(spec: NightSpec, rng: random.Random) -> _Plan:
    planner = _Planner(spec, rng)
    blocks: list[_Block] = []
    jerks_left = spec.jerks
    while jerks_left > 0:
        size = min(jerks_left, rng.randint(*_JERK_CLUSTER))
        blocks.append(planner.jerk_cluster(size))
        jerks_left -= size
    blocks += [planner.clonus() for _ in range(spec.clonus)]
    blocks += [planner.plm_series() for _ in range(spec.plm_series)]
    blocks += [planner.tonic() for _ in range(spec.tonic)]
    blocks += [planner.get_up() for _ in range(spec.get_ups)]
    blocks += [planner.dropout() for _ in range(spec.dropouts)]
    blocks += [planner.turnover() for _ in range(planner.turns_left)]
    taken = _place(blocks, spec, rng)
    confounders = (
        _plan_confounders(spec, planner, taken, random.Random(f"confounders/{spec.seed}"))
        if spec.has_confounders
        else None
    )
    planner.labels.sort(key=lambda label: (label.start, label.kind))
    planner.movements.sort(key=lambda movement: movement.start)
    first_gravity, turns = _turns(sorted(planner.turn_spans), rng)
    return _Plan(
        confounders=confounders,
        labels=planner.labels,
        movements=planner.movements,
        turns=turns,
        empty_bed=sorted(planner.empty_bed),
        dropouts=sorted(planner.dropouts),
        first_gravity=first_gravity,
        breath_hz=_uniform(rng, _BREATH_HZ),
        heart_hz=_uniform(rng, _HEART_HZ),
        breath_g=_uniform(rng, _BREATH_G),
        heart_g=_uniform(rng, _HEART_G),
    )


def _plan_confounders(
    spec: NightSpec, planner: _Planner, taken: list[tuple[float, float]], rng: random.Random
) -> _Confounders:
    """Place the confounders in the quiet the sleeper's blocks left, from their own generator."""
    confounders = ConfounderPlanner(rng, spec.rate_hz, BedModel.draw(rng))
    drawn = [confounders.cough_train() for _ in range(spec.coughs)]
    drawn += [confounders.scratch() for _ in range(spec.scratches)]
    drawn += [confounders.knock_or_sit() for _ in range(spec.knocks)]
    drawn += [confounders.pet() for _ in range(spec.pets)]
    drawn += [
        confounders.partner_turnover(_TURN_S, _TURN_G, _TURN_HZ)
        for _ in range(spec.partner_turnovers)
    ]
    _place([_Block(duration, fill) for duration, fill in drawn], spec, rng, taken)
    for kind, start, end in confounders.labels:
        planner.labels.append(Label(LabelKind(kind), start, end, spasm_like=False))
    confounders.sleeper_resettles(sorted(planner.turn_spans))
    partner_first, partner_turns = _turns(sorted(confounders.partner_turn_spans), rng)
    return _Confounders(
        bed=confounders.bed,
        near=sorted(confounders.near, key=lambda movement: movement.start),
        far=sorted(confounders.far, key=lambda movement: movement.start),
        partner=confounders.partner_breathing() if spec.partner else None,
        main_tilts=sorted(confounders.main_tilts, key=lambda tilt: tilt.start),
        partner_first_gravity=partner_first,
        partner_turns=partner_turns,
        partner_tilts=sorted(confounders.partner_tilts, key=lambda tilt: tilt.start),
        partner_noise=confounders.partner_noise(),
    )


def _place(
    blocks: list[_Block],
    spec: NightSpec,
    rng: random.Random,
    taken: list[tuple[float, float]] | None = None,
) -> list[tuple[float, float]]:
    """Put the longest blocks first at random free spots, each padded by quiet; spans taken."""
    lo, hi = spec.start + _SETTLE_S, spec.end - _TAIL_S
    taken = [] if taken is None else taken
    for block in sorted(blocks, key=lambda b: -b.duration_s):
        for _ in range(_PLACEMENT_TRIES):
            start = rng.uniform(lo, hi - block.duration_s) if hi - block.duration_s > lo else lo
            span = (start - _QUIET_PAD_S, start + block.duration_s + _QUIET_PAD_S)
            if start + block.duration_s <= hi and all(
                span[1] <= a or b <= span[0] for a, b in taken
            ):
                taken.append(span)
                block.fill(start)
                break
        else:
            msg = f"the planted events do not fit in {spec.hours:g} h; lower the counts"
            raise ValueError(msg)
    return taken


def _turns(spans: list[tuple[float, float]], rng: random.Random) -> tuple[Vector, list[_Turn]]:
    """The first resting orientation, then each turnover rolling it by 10-90° (within limits)."""
    roll, pitch = rng.uniform(-20, 20), rng.uniform(-5, 5)
    first = _gravity(roll, pitch)
    turns = []
    for start, end in spans:
        step = _uniform(rng, _TURN_DEG)
        new_roll = roll + step if rng.random() < 0.5 else roll - step
        if abs(new_roll) > _MAX_TILT_DEG:
            new_roll = roll - step if new_roll > 0 else roll + step
        new_roll = min(max(new_roll, -_MAX_TILT_DEG), _MAX_TILT_DEG)
        new_pitch = min(max(pitch + rng.uniform(-5, 5), -15.0), 15.0)
        # The body settles in the middle of the movement; the rotation spans its central 60 %.
        third = (end - start) * 0.2
        turns.append(
            _Turn(start + third, end - third, _gravity(roll, pitch), _gravity(new_roll, new_pitch))
        )
        roll, pitch = new_roll, new_pitch
    return first, turns


# --- rendering --------------------------------------------------------------------------------


def _smoothstep(u: float) -> float:
    return u * u * (3 - 2 * u)


@dataclass(slots=True)
class _Sensor:
    """One accelerometer's view of the bed: its own side in full, the other side through foam."""

    noise_seed: str
    noise_g: float
    first_gravity: Vector
    turns: list[_Turn]
    tilts: list[Tilt]
    movements: list[_Movement]  # on this sensor's side, felt times `coupling`
    breathing: Breathing | None  # the person lying on this sensor
    empty_bed: list[tuple[float, float]]  # when that person is away
    far_movements: list[_Movement] = field(default_factory=list)
    far_breathing: Breathing | None = None
    far_empty_bed: list[tuple[float, float]] = field(default_factory=list)
    bed: BedModel | None = None  # None: nothing on the other side reaches this sensor


def _main_sensor(spec: NightSpec, plan: _Plan) -> _Sensor:
    breathing = Breathing(plan.breath_hz, plan.heart_hz, plan.breath_g, plan.heart_g)
    sensor = _Sensor(
        f"noise/{spec.seed}",
        spec.noise_g,
        plan.first_gravity,
        plan.turns,
        [],
        plan.movements,
        breathing,
        plan.empty_bed,
    )
    extra = plan.confounders
    if extra is not None:
        sensor.tilts = extra.main_tilts
        sensor.movements = sorted(plan.movements + extra.near, key=lambda m: m.start)
        if extra.far or extra.partner is not None:
            sensor.far_movements, sensor.far_breathing = extra.far, extra.partner
            sensor.bed = extra.bed
    return sensor


def _partner_sensor(spec: NightSpec, plan: _Plan, extra: _Confounders) -> _Sensor:
    return _Sensor(
        f"partner-noise/{spec.seed}",
        spec.noise_g * extra.partner_noise,
        extra.partner_first_gravity,
        extra.partner_turns,
        extra.partner_tilts,
        extra.far,
        extra.partner,
        [],
        far_movements=sorted(plan.movements + extra.near, key=lambda m: m.start),
        far_breathing=Breathing(plan.breath_hz, plan.heart_hz, plan.breath_g, plan.heart_g),
        far_empty_bed=plan.empty_bed,
        bed=extra.bed,
    )


class _Active:
    """The movements under way at a time that only moves forward."""

    __slots__ = ("_active", "_index", "_movements")

    def __init__(self, movements: list[_Movement]) -> None:
        self._movements = movements
        self._index = 0
        self._active: list[_Movement] = []

    def at(self, t: float) -> list[_Movement]:
        movements = self._movements
        while self._index < len(movements) and movements[self._index].start <= t:
            self._active.append(movements[self._index])
            self._index += 1
        if self._active:
            self._active = [m for m in self._active if m.end > t]
        return self._active


class _Spans:
    """Whether a time that only moves forward lies in one of sorted, disjoint spans."""

    __slots__ = ("_index", "_spans")

    def __init__(self, spans: list[tuple[float, float]]) -> None:
        self._spans = spans
        self._index = 0

    def covers(self, t: float) -> bool:
        spans = self._spans
        while self._index < len(spans) and spans[self._index][1] <= t:
            self._index += 1
        return self._index < len(spans) and spans[self._index][0] <= t


class _MicroMotion:
    """Breathing and heartbeat of one person as a fraction of gravity, times `coupling`."""

    __slots__ = ("_breath_g", "_breath_w", "_drift_w", "_heart_g", "_heart_w", "_start")

    def __init__(self, breathing: Breathing, start: float, coupling: float) -> None:
        self._start = start
        self._drift_w = 2 * math.pi * _AMPLITUDE_DRIFT_HZ
        self._breath_w = 2 * math.pi * breathing.breath_hz
        self._heart_w = 2 * math.pi * breathing.heart_hz
        self._breath_g = breathing.breath_g * coupling
        self._heart_g = breathing.heart_g * coupling

    def at(self, t: float) -> float:
        s = t - self._start
        swell = 1.0 + 0.3 * math.sin(self._drift_w * s)
        breath = self._breath_g * swell * math.sin(self._breath_w * s)
        beat = self._heart_g * math.sin(self._heart_w * s) ** 15  # a sharp pulse
        return breath + beat


class _Tilts:
    """The sum of the slow load tilts up to a time that only moves forward, in radians."""

    __slots__ = ("_index", "_pitch", "_roll", "_rotation", "_tilts")

    def __init__(self, tilts: list[Tilt]) -> None:
        self._tilts = tilts
        self._index = 0
        self._roll = 0.0
        self._pitch = 0.0
        self._rotation = (0.0, 0.0, 1.0, 0.0, 1.0, 0.0)  # roll, pitch, cos/sin of each

    def apply(self, t: float, g: Vector) -> Vector:
        tilts = self._tilts
        while self._index < len(tilts) and tilts[self._index].end <= t:
            self._roll += tilts[self._index].roll_deg
            self._pitch += tilts[self._index].pitch_deg
            self._index += 1
        roll, pitch = self._roll, self._pitch
        if self._index < len(tilts) and tilts[self._index].start <= t:
            tilt = tilts[self._index]
            u = _smoothstep((t - tilt.start) / (tilt.end - tilt.start))
            roll, pitch = roll + u * tilt.roll_deg, pitch + u * tilt.pitch_deg
        if roll == 0.0 and pitch == 0.0:
            return g
        if (roll, pitch) != self._rotation[:2]:
            r, p = math.radians(roll), math.radians(pitch)
            self._rotation = (roll, pitch, math.cos(r), math.sin(r), math.cos(p), math.sin(p))
        _, _, cr, sr, cp, sp = self._rotation
        x, y, z = g[0], g[1] * cr - g[2] * sr, g[1] * sr + g[2] * cr  # roll about the bed's x
        return (x * cp + z * sp, y, z * cp - x * sp)  # then pitch about its y


class _FarSide:
    """What the other side of the bed does, through the mattress: scaled and low-passed."""

    __slots__ = ("_alpha", "_coupling", "_cross", "_empty", "_micro", "_moves", "_y")

    def __init__(self, spec: NightSpec, sensor: _Sensor, bed: BedModel) -> None:
        self._moves = _Active(sensor.far_movements)
        self._micro = (
            None
            if sensor.far_breathing is None
            else _MicroMotion(sensor.far_breathing, spec.start, spec.coupling)
        )
        self._empty = _Spans(sensor.far_empty_bed)
        self._coupling = spec.coupling
        self._cross = bed.cross
        # A first-order low-pass y += alpha·(x - y) per sample: the foam between the sides.
        self._alpha = 1.0 - math.exp(-2 * math.pi * bed.cutoff_hz / spec.rate_hz)
        self._y = (0.0, 0.0, 0.0)

    def at(self, t: float, g: Vector) -> Vector:
        x0 = x1 = x2 = 0.0
        if self._micro is not None and not self._empty.covers(t):
            m = self._micro.at(t)
            x0, x1, x2 = g[0] * m, g[1] * m, g[2] * m
        for movement in self._moves.at(t):
            value = self._coupling * movement.waveform(t - movement.start)
            ax, ay, az = movement.axis
            x0, x1, x2 = x0 + ax * value, x1 + ay * value, x2 + az * value
        y0, y1, y2 = self._y
        a = self._alpha
        self._y = (y0 + a * (x0 - y0), y1 + a * (x1 - y1), y2 + a * (x2 - y2))
        c = self._cross
        return (c * self._y[0], c * self._y[1], c * self._y[2])


class _Renderer:
    """Samples of one sensor in time order; holds only the current movements and orientation."""

    def __init__(self, spec: NightSpec, sensor: _Sensor) -> None:
        self.spec = spec
        self.sensor = sensor
        self.noise = random.Random(sensor.noise_seed)
        self.gravity = sensor.first_gravity
        self._turn_index = 0
        self._moves = _Active(sensor.movements)
        self._empty = _Spans(sensor.empty_bed)
        self._micro = (
            None
            if sensor.breathing is None
            else _MicroMotion(sensor.breathing, spec.start, spec.coupling)
        )
        self._tilts = _Tilts(sensor.tilts) if sensor.tilts else None
        self._far = None if sensor.bed is None else _FarSide(spec, sensor, sensor.bed)

    def sample(self, t: float) -> Vector:
        """The accelerometer at `t`, in g, rounded to 0.1 mg."""
        gx, gy, gz = self._gravity_at(t)
        if self._tilts is not None:
            gx, gy, gz = self._tilts.apply(t, (gx, gy, gz))
        resting = (gx, gy, gz)
        coupling = self.spec.coupling
        if self._micro is not None and not self._empty.covers(t):
            scale = 1.0 + self._micro.at(t)
            gx, gy, gz = gx * scale, gy * scale, gz * scale
        for movement in self._moves.at(t):
            value = coupling * movement.waveform(t - movement.start)
            ax, ay, az = movement.axis
            gx, gy, gz = gx + ax * value, gy + ay * value, gz + az * value
        if self._far is not None:
            fx, fy, fz = self._far.at(t, resting)
            gx, gy, gz = gx + fx, gy + fy, gz + fz
        sigma = self.sensor.noise_g
        if sigma > 0:
            gauss = self.noise.gauss
            gx, gy, gz = gx + gauss(0, sigma), gy + gauss(0, sigma), gz + gauss(0, sigma)
        return (round(gx, _DECIMALS), round(gy, _DECIMALS), round(gz, _DECIMALS))

    def _gravity_at(self, t: float) -> Vector:
        turns = self.sensor.turns
        while self._turn_index < len(turns) and turns[self._turn_index].end <= t:
            self.gravity = turns[self._turn_index].after
            self._turn_index += 1
        if self._turn_index < len(turns) and turns[self._turn_index].start <= t:
            turn = turns[self._turn_index]
            u = _smoothstep((t - turn.start) / (turn.end - turn.start))
            mixed = tuple(b + (a - b) * u for a, b in zip(turn.after, turn.before, strict=True))
            norm = math.sqrt(sum(c * c for c in mixed))
            return (mixed[0] / norm, mixed[1] / norm, mixed[2] / norm)
        return self.gravity


class _Lag:
    """Wi-Fi delivery: a random delay per message and, a few times an hour, a stall."""

    __slots__ = ("_lag_s", "_rng", "_stall_end", "_stall_start")

    def __init__(self, lag_s: float, rng: random.Random, start: float) -> None:
        self._lag_s = lag_s
        self._rng = rng
        self._stall_start = start + rng.expovariate(STALLS_PER_H / 3600.0)
        self._stall_end = self._stall_start + lag_s * stall_share(rng)

    def deliver(self, sent: float) -> float:
        """When a message sent at `sent` gets through (before the connection's ordering)."""
        t = sent + self._rng.uniform(0, self._lag_s)
        while t >= self._stall_end:
            self._stall_start = self._stall_end + self._rng.expovariate(STALLS_PER_H / 3600.0)
            self._stall_end = self._stall_start + self._lag_s * stall_share(self._rng)
        return self._stall_end if t >= self._stall_start else t


def _accel_messages(
    spec: NightSpec,
    sensor: _Sensor,
    topic: str,
    arrival_seed: str,
    dropouts: list[tuple[float, float]],
) -> Iterator[tuple[float, str, bytes]]:
    """One device's messages: its samples in payloads, arriving in its connection's order."""
    renderer = _Renderer(spec, sensor)
    arrival = random.Random(f"{arrival_seed}/{spec.seed}")
    lag = (
        _Lag(spec.delivery_lag_s, random.Random(f"lag/{topic}/{spec.seed}"), spec.start)
        if spec.delivery_lag_s > 0
        else None
    )
    period = 1.0 / spec.rate_hz
    per_message = (
        max(1, round(spec.batch_s * spec.rate_hz)) if spec.payload is PayloadStyle.BATCH else 1
    )
    total = int(spec.hours * 3600.0 * spec.rate_hz)
    drop_index = 0
    last_arrival = -math.inf
    for first in range(0, total, per_message):
        t0 = spec.start + first * period
        count = min(per_message, total - first)
        samples = [renderer.sample(t0 + i * period) for i in range(count)]
        while drop_index < len(dropouts) and dropouts[drop_index][1] <= t0:
            drop_index += 1
        if drop_index < len(dropouts) and dropouts[drop_index][0] <= t0:
            continue  # rendered all the same, so the signal after the gap is unchanged
        # MQTT over one TCP connection keeps a publisher's order: delays bunch, never reorder.
        sent = t0 + (count - 1) * period + _NETWORK_LATENCY_S + arrival.uniform(0, spec.jitter_s)
        if lag is not None:
            sent = lag.deliver(sent)
        last_arrival = max(sent, last_arrival)
        yield last_arrival, topic, _accel_payload(spec, t0, samples)


def _accel_payload(spec: NightSpec, t0: float, samples: list[Vector]) -> bytes:
    if spec.payload is PayloadStyle.SINGLE:
        x, y, z = samples[0]
        return f'{{"x":{x},"y":{y},"z":{z}}}'.encode()
    xs = ",".join([str(s[0]) for s in samples])
    ys = ",".join([str(s[1]) for s in samples])
    zs = ",".join([str(s[2]) for s in samples])
    rate = f"{spec.rate_hz:g}"
    return f'{{"t0":{t0:.3f},"rate":{rate},"x":[{xs}],"y":[{ys}],"z":[{zs}]}}'.encode()


def _side_messages(spec: NightSpec, plan: _Plan) -> list[tuple[float, str, bytes]]:
    """Occupancy on each change and the climate about once a minute: a few hundred a night."""
    rng = random.Random(f"side/{spec.seed}")
    out: list[tuple[float, str, bytes]] = [
        (spec.start, spec.occupancy_topic, b'{"occupancy":true}')  # z2m's retained state
    ]
    for start, end in plan.empty_bed:
        out.append(
            (start + _uniform(rng, _OCCUPANCY_LAG_S), spec.occupancy_topic, b'{"occupancy":false}')
        )
        out.append(
            (end + _uniform(rng, _OCCUPANCY_LAG_S), spec.occupancy_topic, b'{"occupancy":true}')
        )
    room = SimulatedRoom(RoomModel(), _WEATHER, spec.seed)
    no_actuators = dict.fromkeys(Role, False)  # open loop: nothing heats or cools
    zone = ZoneInfo("Europe/London")
    humidity = rng.uniform(42.0, 55.0)
    t = spec.start + rng.uniform(0, _CLIMATE_EVERY_S)
    simulated_to = spec.start
    while t < spec.end:
        while simulated_to < t:
            local = datetime.fromtimestamp(simulated_to, zone)
            room.advance(30.0, local.hour + local.minute / 60, no_actuators)
            simulated_to += 30.0
        humidity = min(max(humidity + rng.gauss(0, 0.3), 30.0), 70.0)
        payload = {
            "temperature": round(room.read(0), 1),
            "humidity": round(humidity, 1),
            "battery": 97,
            "linkquality": rng.randint(90, 160),
        }
        out.append((t, spec.climate_topic, json.dumps(payload, separators=(",", ":")).encode()))
        t += _CLIMATE_EVERY_S + rng.uniform(-_CLIMATE_JITTER_S, _CLIMATE_JITTER_S)
    out.sort(key=lambda message: message[0])
    return out


class _EsphomeBinarySensor:
    """An ESPHome binary sensor's MQTT state payloads (esphome.io/components/mqtt): device data."""

    ON = b"ON"
    OFF = b"OFF"


def _radar_messages(spec: NightSpec, plan: _Plan) -> list[tuple[float, str, bytes]]:
    """The LD2410's presence and moving energy, as ESPHome publishes them (see `_RADAR_*`)."""
    rng = random.Random(f"mmwave/{spec.seed}")
    bodies = list(plan.movements)
    if plan.confounders is not None:
        bodies += plan.confounders.near + plan.confounders.far
    moving = _Active(sorted(bodies, key=lambda movement: movement.start))
    partner_in_bed = spec.partner  # someone stays in the room: presence never drops
    walks: list[tuple[float, float]] = []  # walking about the room
    gone: list[tuple[float, float]] = []  # no one in the room: presence off, energy 0
    for start, end in plan.empty_bed:
        leave = start + _uniform(rng, _RADAR_WALK_S)
        back = max(leave, end - _uniform(rng, _RADAR_WALK_S))
        walks += [(start, leave), (back, end)]
        if not partner_in_bed and back - leave > _RADAR_TIMEOUT_S:
            gone.append((leave + _RADAR_TIMEOUT_S, back))
    walking, away = _Spans(sorted(walks)), _Spans(gone)
    presence = {True: _EsphomeBinarySensor.ON, False: _EsphomeBinarySensor.OFF}
    out: list[tuple[float, str, bytes]] = [(spec.start, spec.mmwave_presence_topic, presence[True])]
    present, last_energy = True, -1
    t = spec.start + rng.uniform(0, _RADAR_REPORT_S)
    while t < spec.end:
        seen_to = t - _uniform(rng, _RADAR_LATENCY_S)  # the motion this report shows ends here
        now_away = away.covers(seen_to)
        if now_away:
            energy = 0.0
        elif walking.covers(seen_to):
            energy = _uniform(rng, _RADAR_WALK)
        else:
            rest = max(0.0, rng.gauss(*_RADAR_REST))
            motion = _radar_motion(moving, seen_to - _RADAR_REPORT_S, seen_to)
            level = 100.0 * (1.0 - math.exp(-motion / _RADAR_MOTION_G))
            energy = max(rest, level + rng.gauss(0.0, _RADAR_NOISE)) if motion else rest
        arrival = t + _NETWORK_LATENCY_S + rng.uniform(0, spec.jitter_s)
        if present == now_away:
            present = not now_away
            out.append((arrival, spec.mmwave_presence_topic, presence[present]))
        value = round(min(100.0, energy))
        if value != last_energy:  # ESPHome publishes a sensor only when its value changed
            last_energy = value
            out.append((arrival, spec.mmwave_energy_topic, str(value).encode()))
        t += _RADAR_REPORT_S
    return out


def _radar_motion(moving: _Active, start: float, end: float) -> float:
    """RMS body motion over [start, end] less its mean: what Doppler sees of the movements."""
    steps = round((end - start) / _RADAR_STEP_S)
    values = []
    for i in range(steps):
        at = start + i * _RADAR_STEP_S
        values.append(sum(m.waveform(at - m.start) for m in moving.at(at)))
    if not any(values):
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
