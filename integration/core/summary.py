"""The morning summary: how one room's night went, as data first and then as a few plain lines.

Theory of operation
-------------------
`NightAccumulator` is opened at bed time and fed during the night; it keeps per-minute
aggregates only (an 8-12 h night is at most 720 minutes), so memory is bounded and every feed
is O(1) (O(1) per sample for accelerometer batches). `finish(wake_time, history)` turns the
aggregates into a frozen `NightSummary`; `render_text` says it in a few lines for a
notification. `snapshot()`/`restore()` carry the whole state across a restart.

Conventions the figures rest on:
- A minute is the absolute UTC minute `floor(t / 60)`; the night covers the minutes from the
  bed time's minute up to (not including) the minute holding the wake time.
- Temperature of a minute: the mean of its readings, else the last minute's value held for up
  to `TEMP_HOLD_MIN` minutes (sensors report on change), else unknown. A known minute is too
  warm above the band's high, too cold below its low, else in band (band in force then).
- Until told otherwise the person is in bed; out-of-bed spans come from `in_bed()` updates.
  Time in bed is the night minus the time out of bed; a get-up is an out-of-bed span that
  started before the wake time.
- Spasm-like events (`MovementEvent.spasm_like`) count in the minute of their start. Rates
  when warm vs in band are events per hour over the minutes of each condition, with those
  counts; below `MIN_RATE_MIN` minutes a rate is None. They describe this night only.
- Sleep vs wake is an estimate from movement (`actigraphy.score_sleep`); out-of-bed minutes
  are wake.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from integration.core.actigraphy import score_sleep
from integration.core.events import Action, MovementEvent, MovementKind
from integration.core.localtime import night_date
from integration.core.readings import AccelSamples

TEMP_HOLD_MIN = 15  # a temperature sensor reporting on change may stay silent this long
MIN_RATE_MIN = 30  # fewer minutes in a condition than this make no rate at all
DEFAULT_GAP_S = 900.0  # silent longer than this is a gap (comfort's default staleness)
HISTORY_NIGHTS = 7  # nights the comparison averages over
_SNAPSHOT_VERSION = 1


# --- the summary as data -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    """Spasm-like events per hour over the minutes of one condition, with what it rests on."""

    events: int
    minutes: int
    per_hour: float | None  # None below MIN_RATE_MIN minutes


@dataclass(frozen=True, slots=True)
class SleepEstimate:
    """Sleep vs wake estimated from bed movement (Cole-Kripke 1992 with Webster's rules)."""

    efficiency: float  # asleep / scored minutes
    asleep_min: int
    awake_min: int
    scored_min: int


@dataclass(frozen=True, slots=True)
class DataQuality:
    """How complete the night's data was."""

    sensor_gaps: int
    gap_total_s: float
    longest_gap_s: float
    gaps_by_sensor: Mapping[str, int]
    rejected_total: int
    rejected_by_reason: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One headline figure against the mean of the last nights that had it."""

    nights: int
    mean: float
    difference: float | None  # this night minus the mean; None when this night lacks it


@dataclass(frozen=True, slots=True)
class LabelCounts:
    """How the night's spasm-like events stand with the person (see `core.labels`)."""

    confirmed: int = 0
    rejected: int = 0  # not spasms: already left out of every spasm count
    unlabelled: int = 0
    missed: int = 0  # reported by the person, not by the sensor


@dataclass(frozen=True, slots=True)
class NightSummary:
    """Everything the morning summary says about one room's night; times are UTC epoch s."""

    room: str
    room_name: str
    zone: str
    bed_time: float
    wake_time: float
    time_in_bed_s: float
    time_out_of_bed_s: float
    get_ups: int
    temp_min_c: float | None
    temp_mean_c: float | None
    temp_max_c: float | None
    temp_known_min: int
    in_band_share: float | None
    too_warm_min: int
    too_cold_min: int
    spasm_count: int
    spasm_rate_per_h: float | None  # per hour in bed
    spasms_by_kind: Mapping[str, int]
    spasms_by_hour: Mapping[str, int]  # local "HH:00", in night order
    peak_spasm_hour: str | None
    restless_episodes: int
    restless_total_min: float
    restless_longest_min: float
    rate_when_warm: Rate
    rate_in_band: Rate
    sleep: SleepEstimate | None
    actions_count: int
    actions_by_kind: Mapping[str, int]
    actions_by_target: Mapping[str, int]
    quality: DataQuality
    comparison: Mapping[str, Comparison] = field(default_factory=dict)
    labels: LabelCounts = field(default_factory=LabelCounts)

    @property
    def night_date(self) -> str:
        """Local date of the evening the night began (02:00 belongs to the evening before)."""
        return night_date(self.bed_time, ZoneInfo(self.zone)).isoformat()

    @property
    def headline(self) -> dict[str, float | None]:
        """The figures compared night to night."""
        return {
            "spasm_count": float(self.spasm_count),
            "spasm_rate_per_h": self.spasm_rate_per_h,
            "restless_total_min": self.restless_total_min,
            "time_in_bed_h": self.time_in_bed_s / 3600,
            "get_ups": float(self.get_ups),
            "in_band_share": self.in_band_share,
            "temp_mean_c": self.temp_mean_c,
            "sleep_efficiency": None if self.sleep is None else self.sleep.efficiency,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (plain dicts, lists, numbers, strings, None)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NightSummary:
        """The summary `to_dict()` produced."""
        values = dict(data)
        values["rate_when_warm"] = Rate(**data["rate_when_warm"])
        values["rate_in_band"] = Rate(**data["rate_in_band"])
        values["sleep"] = None if data["sleep"] is None else SleepEstimate(**data["sleep"])
        values["quality"] = DataQuality(**data["quality"])
        values["comparison"] = {k: Comparison(**v) for k, v in data["comparison"].items()}
        values["labels"] = LabelCounts(**data.get("labels") or {})  # none before labels existed
        return cls(**values)


@dataclass(frozen=True, slots=True)
class MinuteRecord:
    """One minute of a room's night, downsampled for the history store."""

    room: str
    t: float  # start of the minute, UTC epoch s
    temp_c: float | None
    low_c: float | None
    high_c: float | None
    activity_mg: float | None  # SD of per-second mean acceleration magnitude
    spasms: int
    in_bed: bool  # False when any part of the minute was out of bed


# --- the accumulator -----------------------------------------------------------------------


@dataclass(slots=True)
class _Temperature:
    """One minute's temperature readings and the band in force at the last one."""

    sum_c: float = 0.0
    count: int = 0
    low_c: float = 0.0
    high_c: float = 0.0


@dataclass(slots=True)
class _Activity:
    """One minute's per-second mean acceleration magnitudes, minus 1 g, as running sums."""

    count: int = 0
    sum_g: float = 0.0
    sum_sq_g2: float = 0.0


class NightAccumulator:
    """Collects one room's night as per-minute aggregates until `finish()`."""

    def __init__(
        self,
        room: str,
        room_name: str,
        bed_time: float,
        zone: ZoneInfo,
        *,
        sensors: Iterable[str] = (),
        gap_s: float = DEFAULT_GAP_S,
        gap_s_by_id: Mapping[str, float] | None = None,
    ) -> None:
        """`sensors` are expected from bed time on, so silence from the start is a gap too.

        A sensor silent longer than `gap_s_by_id[sensor]` (else `gap_s`) leaves a data gap.
        """
        self.room = room
        self.room_name = room_name
        self.bed_time = bed_time
        self.zone = zone
        self.gap_s = gap_s
        self.gap_s_by_id = dict(gap_s_by_id or {})
        self._temps: dict[int, _Temperature] = {}
        self._temp_min_c: float | None = None
        self._temp_max_c: float | None = None
        self._activity: dict[int, _Activity] = {}
        self._second: int | None = None  # the second being summed, and its running sums
        self._second_sum_g = 0.0
        self._second_count = 0
        self._spasms: dict[tuple[int, str], int] = {}  # (minute, kind) -> count
        self._restless: list[tuple[float, float]] = []
        self._restless_open: float | None = None
        self._actions: dict[tuple[int, str, str], int] = {}  # (minute, kind, target) -> count
        self._out_spans: list[tuple[float, float]] = []
        self._out_since: float | None = None
        self._last_seen: dict[str, float] = dict.fromkeys(sensors, bed_time)
        self._gaps: dict[str, list[float]] = {}  # sensor -> gap lengths, s
        self._rejected: dict[str, int] = {}

    # --- feeds ---------------------------------------------------------------------------

    def add_temperature(self, t: float, temp_c: float, low_c: float, high_c: float) -> None:
        """The fused room temperature at `t` and the comfort band in force then."""
        minute = self._temps.setdefault(_minute(t), _Temperature())
        minute.sum_c += temp_c
        minute.count += 1
        minute.low_c, minute.high_c = low_c, high_c
        self._temp_min_c = temp_c if self._temp_min_c is None else min(self._temp_min_c, temp_c)
        self._temp_max_c = temp_c if self._temp_max_c is None else max(self._temp_max_c, temp_c)

    def add_event(self, event: MovementEvent) -> None:
        """A movement event or restless-episode boundary from the detectors."""
        if event.spasm_like:
            key = (_minute(event.start), event.kind.value)
            self._spasms[key] = self._spasms.get(key, 0) + 1
        elif event.kind is MovementKind.RESTLESS_START:
            self._restless_open = event.start
        elif event.kind is MovementKind.RESTLESS_END:
            start = event.start if self._restless_open is None else self._restless_open
            self._restless.append((start, event.end))
            self._restless_open = None

    def add_action(self, action: Action) -> None:
        """An action the service took for this room."""
        key = (_minute(action.t), action.kind.value, action.target)
        self._actions[key] = self._actions.get(key, 0) + 1

    def add_motion(self, samples: AccelSamples) -> None:
        """The bed accelerometer's samples: reduced to per-second means, then per-minute sums.

        Feed one accelerometer per room (the bed's), in time order: samples of another sensor
        would split its seconds.

        O(1) per sample, summed in C a second's worth at a time (a night at 50 Hz costs well
        under a second of replay).
        """
        xs, ys, zs = samples.x_g, samples.y_g, samples.z_g
        count = len(xs)
        if count == 1:  # one sample a message, as many boards send: nothing to split
            self._add_to_second(math.floor(samples.t), math.hypot(xs[0], ys[0], zs[0]) - 1, 1)
            return
        step = 0.0 if samples.rate_hz is None else 1.0 / samples.rate_hz
        start = 0
        while start < count:
            second = math.floor(samples.t + start * step)
            stop = count if step == 0.0 else math.ceil((second + 1 - samples.t) / step)
            stop = min(count, max(start + 1, stop))
            magnitudes = map(math.hypot, xs[start:stop], ys[start:stop], zs[start:stop])
            self._add_to_second(second, sum(magnitudes) - (stop - start), stop - start)
            start = stop

    def _add_to_second(self, second: int, excess_g: float, count: int) -> None:
        """Add `count` samples' magnitude minus 1 g to `second`, closing the one before it."""
        if second != self._second:
            self._flush_second()
            self._second = second
        self._second_sum_g += excess_g
        self._second_count += count

    def in_bed(self, t: float, in_bed: bool | None) -> None:
        """The in-bed belief at `t`; None (unknown) keeps the last known state."""
        if in_bed is False and self._out_since is None:
            self._out_since = max(t, self.bed_time)
        elif in_bed is True and self._out_since is not None:
            self._out_spans.append((self._out_since, max(t, self._out_since)))
            self._out_since = None

    def sensor_seen(self, sensor_id: str, t: float) -> None:
        """A reading (or a rejected message) arrived from `sensor_id` at `t`."""
        last = self._last_seen.get(sensor_id, self.bed_time)
        if t - last > self.gap_s_by_id.get(sensor_id, self.gap_s):
            self._gaps.setdefault(sensor_id, []).append(t - last)
        self._last_seen[sensor_id] = max(last, t)

    def add_rejected(self, reason: str, count: int = 1) -> None:
        """Messages from this room's sensors that gave no reading, by reason."""
        self._rejected[reason] = self._rejected.get(reason, 0) + count

    # --- the summary -----------------------------------------------------------------------

    def finish(self, wake_time: float, history: Sequence[NightSummary] = ()) -> NightSummary:
        """The night's summary up to `wake_time`, compared with earlier nights in `history`."""
        self._flush_second()
        first, end = _minute(self.bed_time), _minute(wake_time)
        minutes = range(first, max(first, end))
        out_spans = [
            (start, min(stop, wake_time))
            for start, stop in self._spans_until(wake_time)
            if start < wake_time
        ]
        out_s = sum(stop - start for start, stop in out_spans)
        night_s = max(0.0, wake_time - self.bed_time)
        in_bed_s = max(0.0, night_s - out_s)

        temps = self._minute_temperatures(minutes)
        known = [c for c in temps if c is not None]
        pairs = [(m, c) for m, c in zip(minutes, temps, strict=True) if c is not None]
        warm = [m for m, (temp, _, high) in pairs if temp > high]
        cold = [m for m, (temp, low, _) in pairs if temp < low]
        in_band = [m for m, (temp, low, high) in pairs if low <= temp <= high]

        spasms_per_minute: dict[int, int] = {}
        by_kind: dict[str, int] = {}
        for (minute, kind), count in sorted(self._spasms.items()):
            if first <= minute < end:
                spasms_per_minute[minute] = spasms_per_minute.get(minute, 0) + count
                by_kind[kind] = by_kind.get(kind, 0) + count
        by_hour: dict[str, int] = {}
        for minute, count in spasms_per_minute.items():
            label = datetime.fromtimestamp(minute * 60, self.zone).strftime("%H:00")
            by_hour[label] = by_hour.get(label, 0) + count
        spasm_count = sum(by_kind.values())

        restless = self._restless_until(wake_time)
        restless_min = [(stop - start) / 60 for start, stop in restless]

        actions = {k: v for k, v in self._actions.items() if first <= k[0] < end}
        actions_by_kind: dict[str, int] = {}
        actions_by_target: dict[str, int] = {}
        for (_, kind, target), count in sorted(actions.items()):
            actions_by_kind[kind] = actions_by_kind.get(kind, 0) + count
            actions_by_target[target] = actions_by_target.get(target, 0) + count

        summary = NightSummary(
            room=self.room,
            room_name=self.room_name,
            zone=self.zone.key,
            bed_time=self.bed_time,
            wake_time=wake_time,
            time_in_bed_s=in_bed_s,
            time_out_of_bed_s=out_s,
            get_ups=len(out_spans),
            temp_min_c=self._temp_min_c,
            temp_mean_c=sum(c[0] for c in known) / len(known) if known else None,
            temp_max_c=self._temp_max_c,
            temp_known_min=len(known),
            in_band_share=len(in_band) / len(known) if known else None,
            too_warm_min=len(warm),
            too_cold_min=len(cold),
            spasm_count=spasm_count,
            spasm_rate_per_h=spasm_count / (in_bed_s / 3600) if in_bed_s > 0 else None,
            spasms_by_kind=by_kind,
            spasms_by_hour=by_hour,
            peak_spasm_hour=max(by_hour, key=lambda h: by_hour[h]) if by_hour else None,
            restless_episodes=len(restless),
            restless_total_min=sum(restless_min),
            restless_longest_min=max(restless_min, default=0.0),
            rate_when_warm=_rate(warm, spasms_per_minute),
            rate_in_band=_rate(in_band, spasms_per_minute),
            sleep=self._sleep(minutes, out_spans),
            actions_count=sum(actions.values()),
            actions_by_kind=actions_by_kind,
            actions_by_target=actions_by_target,
            quality=self._quality(wake_time),
            labels=LabelCounts(unlabelled=spasm_count),
        )
        comparison = compare(summary, history)
        return NightSummary(**{**_fields(summary), "comparison": comparison})

    def minutes(self, since: float, until: float) -> list[MinuteRecord]:
        """Per-minute history rows for the minutes starting in [since, until), for the store."""
        self._flush_second()
        first = max(_minute(self.bed_time), _minute(since))
        span = range(first, max(first, _minute(until)))
        temps = self._minute_temperatures(range(_minute(self.bed_time), span.stop))[
            first - _minute(self.bed_time) :
        ]
        out = self._spans_until(until)
        spasms: dict[int, int] = {}
        for (minute, _), count in self._spasms.items():
            spasms[minute] = spasms.get(minute, 0) + count
        return [
            MinuteRecord(
                room=self.room,
                t=minute * 60.0,
                temp_c=None if temp is None else temp[0],
                low_c=None if temp is None else temp[1],
                high_c=None if temp is None else temp[2],
                activity_mg=_activity_mg(self._activity.get(minute)),
                spasms=spasms.get(minute, 0),
                in_bed=not any(a < (minute + 1) * 60 and b > minute * 60 for a, b in out),
            )
            for minute, temp in zip(span, temps, strict=True)
        ]

    def _spans_until(self, wake_time: float) -> list[tuple[float, float]]:
        spans = list(self._out_spans)
        if self._out_since is not None:
            spans.append((self._out_since, max(wake_time, self._out_since)))
        return spans

    def _restless_until(self, wake_time: float) -> list[tuple[float, float]]:
        spans = list(self._restless)
        if self._restless_open is not None:
            spans.append((self._restless_open, wake_time))
        return [
            (max(start, self.bed_time), min(stop, wake_time))
            for start, stop in spans
            if start < wake_time and stop > self.bed_time
        ]

    def _minute_temperatures(self, minutes: range) -> list[tuple[float, float, float] | None]:
        """(temp, low, high) per night minute, held over short silences; None when unknown."""
        result: list[tuple[float, float, float] | None] = []
        held: tuple[float, float, float] | None = None
        held_since = 0
        for minute in minutes:
            reading = self._temps.get(minute)
            if reading is not None:
                held = (reading.sum_c / reading.count, reading.low_c, reading.high_c)
                held_since = minute
            elif held is not None and minute - held_since > TEMP_HOLD_MIN:
                held = None
            result.append(held)
        return result

    def _sleep(
        self, minutes: range, out_spans: Sequence[tuple[float, float]]
    ) -> SleepEstimate | None:
        if not any(m in self._activity for m in minutes):
            return None
        activity = [_activity_mg(self._activity.get(m)) for m in minutes]
        out_minutes = {
            m - minutes.start
            for start, stop in out_spans
            for m in range(_minute(start), math.ceil(stop / 60))
            if m in minutes
        }
        score = score_sleep(activity, out_minutes)
        if score.efficiency is None:
            return None
        return SleepEstimate(score.efficiency, score.asleep_min, score.awake_min, score.scored_min)

    def _quality(self, wake_time: float) -> DataQuality:
        gaps = {sensor: list(lengths) for sensor, lengths in self._gaps.items()}
        for sensor, last in self._last_seen.items():
            if wake_time - last > self.gap_s_by_id.get(sensor, self.gap_s):
                gaps.setdefault(sensor, []).append(wake_time - last)
        lengths = [g for sensor_gaps in gaps.values() for g in sensor_gaps]
        return DataQuality(
            sensor_gaps=len(lengths),
            gap_total_s=sum(lengths),
            longest_gap_s=max(lengths, default=0.0),
            gaps_by_sensor={sensor: len(g) for sensor, g in sorted(gaps.items())},
            rejected_total=sum(self._rejected.values()),
            rejected_by_reason=dict(sorted(self._rejected.items())),
        )

    def _flush_second(self) -> None:
        if self._second is None or not self._second_count:
            return
        minute = self._activity.setdefault(self._second // 60, _Activity())
        mean_g = self._second_sum_g / self._second_count
        minute.count += 1
        minute.sum_g += mean_g
        minute.sum_sq_g2 += mean_g * mean_g
        self._second, self._second_sum_g, self._second_count = None, 0.0, 0

    # --- restart ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able data (the partly summed second is flushed first)."""
        self._flush_second()
        return {
            "version": _SNAPSHOT_VERSION,
            "room": self.room,
            "room_name": self.room_name,
            "bed_time": self.bed_time,
            "zone": self.zone.key,
            "gap_s": self.gap_s,
            "gap_s_by_id": dict(self.gap_s_by_id),
            "temps": [[m, v.sum_c, v.count, v.low_c, v.high_c] for m, v in self._temps.items()],
            "temp_min_c": self._temp_min_c,
            "temp_max_c": self._temp_max_c,
            "activity": [[m, v.count, v.sum_g, v.sum_sq_g2] for m, v in self._activity.items()],
            "spasms": [[m, kind, n] for (m, kind), n in self._spasms.items()],
            "restless": [list(span) for span in self._restless],
            "restless_open": self._restless_open,
            "actions": [[m, kind, target, n] for (m, kind, target), n in self._actions.items()],
            "out_spans": [list(span) for span in self._out_spans],
            "out_since": self._out_since,
            "last_seen": dict(self._last_seen),
            "gaps": {sensor: list(g) for sensor, g in self._gaps.items()},
            "rejected": dict(self._rejected),
        }

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any]) -> NightAccumulator:
        """The accumulator that `snapshot()` came from; ValueError for an unknown version."""
        if snapshot.get("version") != _SNAPSHOT_VERSION:
            raise ValueError(f"unknown night snapshot version {snapshot.get('version')!r}")
        acc = cls(
            snapshot["room"],
            snapshot["room_name"],
            float(snapshot["bed_time"]),
            ZoneInfo(snapshot["zone"]),
            gap_s=float(snapshot["gap_s"]),
            gap_s_by_id={k: float(v) for k, v in snapshot["gap_s_by_id"].items()},
        )
        acc._temps = {
            int(m): _Temperature(s, int(n), lo, hi) for m, s, n, lo, hi in snapshot["temps"]
        }
        acc._temp_min_c = snapshot["temp_min_c"]
        acc._temp_max_c = snapshot["temp_max_c"]
        acc._activity = {int(m): _Activity(int(n), s, sq) for m, n, s, sq in snapshot["activity"]}
        acc._spasms = {(int(m), kind): int(n) for m, kind, n in snapshot["spasms"]}
        acc._restless = [(float(a), float(b)) for a, b in snapshot["restless"]]
        acc._restless_open = snapshot["restless_open"]
        acc._actions = {(int(m), k, tg): int(n) for m, k, tg, n in snapshot["actions"]}
        acc._out_spans = [(float(a), float(b)) for a, b in snapshot["out_spans"]]
        acc._out_since = snapshot["out_since"]
        acc._last_seen = {k: float(v) for k, v in snapshot["last_seen"].items()}
        acc._gaps = {k: [float(g) for g in v] for k, v in snapshot["gaps"].items()}
        acc._rejected = {k: int(v) for k, v in snapshot["rejected"].items()}
        return acc


# --- helpers -------------------------------------------------------------------------------


def compare(summary: NightSummary, history: Sequence[NightSummary]) -> dict[str, Comparison]:
    """Each headline figure against its mean over the last `HISTORY_NIGHTS` earlier nights."""
    earlier = sorted(
        (h for h in history if h.room == summary.room and h.wake_time <= summary.bed_time),
        key=lambda h: h.wake_time,
        reverse=True,
    )[:HISTORY_NIGHTS]
    result: dict[str, Comparison] = {}
    now = summary.headline
    for name in now:
        values = [v for h in earlier if (v := h.headline[name]) is not None]
        if not values:
            continue
        mean = sum(values) / len(values)
        this = now[name]
        result[name] = Comparison(len(values), mean, None if this is None else this - mean)
    return result


def _minute(t: float) -> int:
    return math.floor(t / 60)


def _rate(minutes: Sequence[int], spasms_per_minute: Mapping[int, int]) -> Rate:
    events = sum(spasms_per_minute.get(m, 0) for m in minutes)
    per_hour = events / (len(minutes) / 60) if len(minutes) >= MIN_RATE_MIN else None
    return Rate(events, len(minutes), per_hour)


def _activity_mg(minute: _Activity | None) -> float | None:
    """SD of the minute's per-second mean magnitudes in milli-g; None with under 2 seconds."""
    if minute is None or minute.count < 2:
        return None
    mean = minute.sum_g / minute.count
    variance = max(0.0, minute.sum_sq_g2 / minute.count - mean * mean)
    return 1000.0 * math.sqrt(variance)


def _fields(summary: NightSummary) -> dict[str, Any]:
    return {name: getattr(summary, name) for name in NightSummary.__dataclass_fields__}


# --- text ----------------------------------------------------------------------------------


def penn_frequency(per_hour: float) -> str:
    """The Penn Spasm Frequency Scale band of a rate, in plain words."""
    if per_hour >= 10:
        return "10 or more an hour"
    if per_hour >= 1:
        return "1 or more an hour"
    if per_hour > 0:
        return "less than 1 an hour"
    return "none"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def render_text(summary: NightSummary) -> str:
    """A few plain lines for a phone notification; figures only, no medical claims."""
    zone = ZoneInfo(summary.zone)
    bed = datetime.fromtimestamp(summary.bed_time, zone)
    wake = datetime.fromtimestamp(summary.wake_time, zone)
    # The night's date is the evening it began, also for a bedtime after midnight.
    evening = datetime.fromisoformat(summary.night_date)
    lines = [
        f"{summary.room_name}, night of {evening:%a %d %b}: in bed {bed:%H:%M}-{wake:%H:%M} "
        f"({_duration(summary.time_in_bed_s)}), up {_count(summary.get_ups, 'time')}"
        + (f" ({_duration(summary.time_out_of_bed_s)})." if summary.get_ups else ".")
    ]
    spasms = f"Spasm-like movements: {summary.spasm_count}"
    if summary.spasm_rate_per_h is not None and summary.spasm_count:
        spasms += f" ({penn_frequency(summary.spasm_rate_per_h)})"
    if summary.peak_spasm_hour is not None:
        spasms += f", most around {summary.peak_spasm_hour}"
    if summary.restless_episodes:
        spasms += (
            f"; restless {_count(summary.restless_episodes, 'time')}, "
            f"{summary.restless_total_min:.0f} min "
            f"(longest {summary.restless_longest_min:.0f} min)"
        )
    lines.append(spasms + ".")
    said = summary.labels
    if said.confirmed or said.rejected or said.missed:
        lines.append(
            f"Your labels: {said.confirmed} confirmed, {said.rejected} not a spasm (not counted), "
            f"{said.unlabelled} unlabelled"
            + (f"; {_count(said.missed, 'spasm')} the sensor missed." if said.missed else ".")
        )
    if summary.temp_mean_c is not None and summary.in_band_share is not None:
        temp = (
            f"Room {summary.temp_min_c:.1f}-{summary.temp_max_c:.1f} °C "
            f"(mean {summary.temp_mean_c:.1f}), in the comfort band {summary.in_band_share:.0%}"
            " of the time"
        )
        if summary.too_warm_min:
            temp += f", too warm {summary.too_warm_min} min"
        if summary.too_cold_min:
            temp += f", too cold {summary.too_cold_min} min"
        lines.append(temp + ".")
    warm, band = summary.rate_when_warm, summary.rate_in_band
    if warm.per_hour is not None and band.per_hour is not None:
        lines.append(
            f"While too warm: {warm.events} in {warm.minutes} min ({warm.per_hour:.1f}/h); "
            f"in band: {band.events} in {band.minutes} min ({band.per_hour:.1f}/h). "
            "One night's counts, not a cause."
        )
    if summary.sleep is not None:
        lines.append(
            f"Estimated asleep from movement: {summary.sleep.efficiency:.0%} of the night."
        )
    earlier = summary.comparison.get("spasm_count")
    if earlier is not None:
        lines.append(
            f"Previous night: {earlier.mean:.0f} spasm-like."
            if earlier.nights == 1
            else f"Last {earlier.nights} nights: {earlier.mean:.1f} spasm-like on average."
        )
    if summary.quality.sensor_gaps or summary.quality.rejected_total:
        gaps, rejected = summary.quality.sensor_gaps, summary.quality.rejected_total
        lines.append(
            f"Data: {_count(gaps, 'sensor gap')}, {_count(rejected, 'unreadable message')}."
        )
    return "\n".join(lines)
