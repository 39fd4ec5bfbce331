"""Room-level rules over classified movements: PLM series and restless episodes.

Theory of operation
-------------------
PLM series (WASM/IRLSSG 2016: >= 4 movements of 0.5-10 s, onset to onset 10-90 s). A movement
of 0.5-10 s that is not clonus or a turnover is a *candidate*. Candidates chain while each onset
follows the previous member's by `plm_min_interval_s`..`plm_max_interval_s`; one arriving sooner
is not a member and is reported on its own; one arriving later (or `plm_max_interval_s` of
nothing, seen on `tick`) ends the chain.
- Sharp candidates (jerks) are never held: until the series is confirmed they are emitted at
  once as `jerk`, yet still count as members, so a series whose movements look sharp is found.
- Smoother candidates are HELD until the chain reaches `plm_min_series` (at most
  plm_min_series - 1 of them): then they are all emitted as `plm`, and later members at once.
  When a chain ends unconfirmed, each held candidate is emitted as `movement` (an ordinary limb
  movement, not spasm-like). A held movement therefore comes out at most
  `plm_hold_bound_s(settings)` after its end (271 s with the defaults). Holding was chosen over
  "emit as jerk, never revise": a lone leg movement is not a spasm, and events are never
  retracted.
- A confirmed chain is emitted as one `plm_series` event when it ends (start = first onset,
  end = last member's end).
Restless episodes: the start times of the last `restless_min_events` spasm-like events are kept;
when they fit in `restless_window_s` an episode opens (`restless_start`, spanning those events);
it closes (`restless_end`, spanning the whole episode) once `restless_window_s` passed with no
spasm-like event. Both are spasm_like False. A sensor that sees movement but not its shape (an
mmWave radar, `radar.py`) hands its movements to `counted_movement`: they count as the
spasm-like events do, since it cannot tell which of them were spasms; the accelerometer, when
the room has one live, reports instead (`RoomMotionDetector`).
Invariants: state is a few floats and two deques bounded by the settings' counts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict
from typing import Any

from integration.core.detectors.accel import Movement
from integration.core.detectors.settings import DetectionSettings
from integration.core.events import SPASM_LIKE_KINDS, MovementEvent, MovementKind


def plm_hold_bound_s(settings: DetectionSettings) -> float:
    """Longest wait between a PLM candidate's end and its event (its chain can take this long)."""
    return (settings.plm_min_series - 1) * settings.plm_max_interval_s + 1.0


class Episodes:
    """PLM chains and restless episodes of one room."""

    def __init__(self, room: str, settings: DetectionSettings) -> None:
        self.room = room
        self.s = settings
        self._held: deque[tuple[Movement, float]] = deque(
            maxlen=max(1, settings.plm_min_series - 1)
        )
        self._chain_count = 0
        self._chain_start = 0.0
        self._chain_last_onset = -math.inf
        self._chain_last_end = 0.0
        self._chain_peak = 0.0
        # (start, peak) of the last spasm-like events
        self._recent: deque[tuple[float, float]] = deque(maxlen=settings.restless_min_events)
        self._episode_start: float | None = None
        self._last_spasm_end = -math.inf
        self._episode_events = 0
        self._episode_peak = 0.0  # the strongest spasm of the episode so far

    def snapshot(self) -> dict[str, Any]:
        """The open chain and episode, JSON-able, so a restart mid-night keeps both.

        Without it a restart would drop held PLM candidates and forget an open episode (never
        ending it, or opening it again).
        """
        return {
            "held": [[asdict(mv), gap] for mv, gap in self._held],
            "chain": [
                self._chain_count,
                self._chain_start,
                _finite(self._chain_last_onset),
                self._chain_last_end,
                self._chain_peak,
            ],
            "recent": [list(r) for r in self._recent],
            "episode": [
                self._episode_start,
                _finite(self._last_spasm_end),
                self._episode_events,
                self._episode_peak,
            ],
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Take back what `snapshot()` saved."""
        self._held.clear()
        for fields, gap in snapshot["held"]:
            evidence = tuple((name, value) for name, value in fields.get("evidence", ()))
            restored = fields | {"kind": MovementKind(fields["kind"]), "evidence": evidence}
            self._held.append((Movement(**restored), gap))
        count, start, onset, end, peak = snapshot["chain"]
        self._chain_count, self._chain_start = count, start
        self._chain_last_onset = -math.inf if onset is None else onset
        self._chain_last_end, self._chain_peak = end, peak
        self._recent.clear()
        self._recent.extend((t, p) for t, p in snapshot["recent"])
        episode_start, last_spasm_end, events, episode_peak = snapshot["episode"]
        self._episode_start = episode_start
        self._last_spasm_end = -math.inf if last_spasm_end is None else last_spasm_end
        self._episode_events, self._episode_peak = events, episode_peak

    @property
    def in_episode(self) -> bool:
        """A restless episode is open."""
        return self._episode_start is not None

    def movement(self, mv: Movement) -> list[MovementEvent]:
        """Events a closed movement completes (possibly none yet, when it is held)."""
        s = self.s
        sharp = mv.kind == MovementKind.JERK
        if not (mv.kind == MovementKind.PLM or (sharp and mv.end - mv.start >= s.plm_min_s)):
            return self._emit([self._alone(mv)])
        out: list[MovementEvent] = []
        interval = mv.start - self._chain_last_onset
        if self._chain_count and interval < s.plm_min_interval_s:
            return self._emit([self._alone(mv)])
        if not self._chain_count or interval > s.plm_max_interval_s:
            out += self._end_chain()
            self._chain_start = mv.start
            self._chain_peak = 0.0
        self._chain_count += 1
        self._chain_last_onset = mv.start
        self._chain_last_end = mv.end
        self._chain_peak = max(self._chain_peak, mv.peak)
        if self._chain_count > s.plm_min_series:
            out.append(self._plm(mv, interval))
        elif self._chain_count == s.plm_min_series:
            held = list(self._held)
            self._held.clear()
            out += [self._plm(h, gap) for h, gap in held] + [self._plm(mv, interval)]
        elif sharp:
            out.append(self._alone(mv))
        else:
            self._held.append((mv, interval))
        return self._emit(out)

    def tick(self, now: float) -> list[MovementEvent]:
        """End a PLM chain and a restless episode whose time ran out."""
        out: list[MovementEvent] = []
        if self._chain_count and now - self._chain_last_onset > self.s.plm_max_interval_s:
            out += self._emit(self._end_chain())
        if (
            self._episode_start is not None
            and now - self._last_spasm_end >= self.s.restless_window_s
        ):
            out.append(
                self._event(
                    MovementKind.RESTLESS_END,
                    self._episode_start,
                    self._last_spasm_end,
                    self._episode_peak,
                    1.0,
                    {
                        "rule": "restless_quiet_window",
                        "window_s": self.s.restless_window_s,
                        "spasm_like_events": self._episode_events,
                    },
                )
            )
            self._episode_start = None
            self._episode_peak = 0.0
            self._recent.clear()
        return out

    def _end_chain(self) -> list[MovementEvent]:
        out: list[MovementEvent] = [self._alone(h) for h, _ in self._held]
        self._held.clear()
        if self._chain_count >= self.s.plm_min_series:
            out.append(
                self._event(
                    MovementKind.PLM_SERIES,
                    self._chain_start,
                    self._chain_last_end,
                    self._chain_peak,
                    min(1.0, 0.5 + 0.1 * self._chain_count),
                    {
                        "rule": "plm_series",
                        "movements": self._chain_count,
                        "min_series": self.s.plm_min_series,
                        "min_interval_s": self.s.plm_min_interval_s,
                        "max_interval_s": self.s.plm_max_interval_s,
                    },
                )
            )
        self._chain_count = 0
        self._chain_last_onset = -math.inf
        return out

    def counted_movement(self, event: MovementEvent) -> list[MovementEvent]:
        """A movement of shape unknown (mmWave) in, with the episode opening it causes."""
        return [event, *self._count(event, shape_known=False)]

    def _emit(self, events: list[MovementEvent]) -> list[MovementEvent]:
        """Pass events through, adding restless-episode openings they cause."""
        out: list[MovementEvent] = []
        for event in events:
            out.append(event)
            if event.spasm_like:
                out += self._count(event)
        return out

    def _count(self, event: MovementEvent, *, shape_known: bool = True) -> list[MovementEvent]:
        """Count an event towards a restless episode: the opening, if it completes one."""
        self._recent.append((event.start, event.peak))
        self._last_spasm_end = max(self._last_spasm_end, event.end)
        if self._episode_start is not None:
            self._episode_events += 1
            self._episode_peak = max(self._episode_peak, event.peak)
            return []
        starts = sorted(start for start, _ in self._recent)
        if not (
            len(starts) >= self.s.restless_min_events
            and starts[-1] - starts[0] <= self.s.restless_window_s
        ):
            return []
        self._episode_start = starts[0]
        self._episode_events = len(starts)
        self._episode_peak = max(peak for _, peak in self._recent)
        why: dict[str, str | int | float | bool | None] = {
            "rule": "restless_cluster",
            "min_events": self.s.restless_min_events,
            "window_s": self.s.restless_window_s,
            "span_s": starts[-1] - starts[0],
        }
        if not shape_known:
            why["counted"] = "movements (mmWave: shape unknown)"
        return [
            self._event(
                MovementKind.RESTLESS_START, starts[0], event.end, self._episode_peak, 1.0, why
            )
        ]

    def _alone(self, mv: Movement) -> MovementEvent:
        """The event for a movement judged on its own (not a PLM series member)."""
        s = self.s
        kind = mv.kind
        duration = mv.end - mv.start
        if kind == MovementKind.PLM:  # a candidate whose series never came
            kind = MovementKind.MOVEMENT
        why: dict[str, str | int | float | bool | None] = {
            "duration_s": round(duration, 3),
            "peak_x_baseline": round(mv.peak, 2),
            "onset_ratio": s.onset_ratio,
            "offset_ratio": s.offset_ratio,
            "sensor": mv.sensor_id,
        }
        if mv.cause:
            # Something else moved the bed (bouts.py): a person reads the cause and its measures.
            why |= {"rule": f"{mv.cause}_pattern", "cause": mv.cause}
            why |= {name: value for name, value in mv.evidence}
            confidence = 0.7
        elif kind == MovementKind.CLONUS:
            why |= {
                "rule": "clonus_rhythm",
                "autocorr": round(mv.rhythm, 3),
                "min_autocorr": s.clonus_min_autocorr,
                "beat_hz": round(mv.beat_hz, 2),
                "beats": round(duration * mv.beat_hz + 1.0, 1),
                "min_beats": s.clonus_min_beats,
            }
            confidence = mv.rhythm
        elif kind == MovementKind.TURNOVER:
            why |= {
                "rule": "turnover_orientation",
                "angle_deg": round(mv.angle_deg, 1),
                "min_angle_deg": s.turnover_min_angle_deg,
                "min_s": s.turnover_min_s,
            }
            confidence = min(1.0, mv.angle_deg / (3.0 * s.turnover_min_angle_deg))
        elif kind == MovementKind.JERK:
            why |= {
                "rule": "jerk_sharp_short",
                "autocorr": round(mv.rhythm, 3),  # broadband: below the clonus rhythm
                "rise_s": round(mv.rise_s, 3),
                "max_rise_s": s.jerk_max_rise_s,
                "min_s": s.jerk_min_s,
                "max_s": s.jerk_max_s,
            }
            confidence = _margin_confidence(mv.peak, s.onset_ratio)
        else:
            why |= {
                # a held PLM candidate whose series never came, or a movement of no kind
                "rule": "lone_limb_movement" if mv.kind == MovementKind.PLM else "unclassified",
                "rise_s": round(mv.rise_s, 3),
                "angle_deg": round(mv.angle_deg, 1),
            }
            confidence = 0.5
        return self._event(kind, mv.start, mv.end, mv.peak, confidence, why)

    def _plm(self, mv: Movement, interval: float) -> MovementEvent:
        s = self.s
        return self._event(
            MovementKind.PLM,
            mv.start,
            mv.end,
            mv.peak,
            min(1.0, 0.5 + 0.1 * self._chain_count),
            {
                "rule": "plm_series_member",
                "duration_s": round(mv.end - mv.start, 3),
                "peak_x_baseline": round(mv.peak, 2),
                "series_so_far": self._chain_count,
                "min_series": s.plm_min_series,
                "interval_s": round(interval, 1) if math.isfinite(interval) else None,
                "min_interval_s": s.plm_min_interval_s,
                "max_interval_s": s.plm_max_interval_s,
                "sensor": mv.sensor_id,
            },
        )

    def _event(
        self,
        kind: MovementKind,
        start: float,
        end: float,
        peak: float,
        confidence: float,
        why: dict[str, str | int | float | bool | None],
    ) -> MovementEvent:
        return MovementEvent(
            room=self.room,
            kind=kind,
            start=start,
            end=end,
            peak=peak,
            confidence=max(0.0, min(1.0, confidence)),
            spasm_like=kind in SPASM_LIKE_KINDS,
            why=why,
        )


def _margin_confidence(peak: float, onset_ratio: float) -> float:
    """0.5 at the onset threshold, 1.0 at four times it (log scale)."""
    if peak <= onset_ratio:
        return 0.5
    return 0.5 + 0.5 * min(1.0, math.log(peak / onset_ratio) / math.log(4.0))


def _finite(t: float) -> float | None:
    """JSON has no infinity: "never" is saved as null."""
    return t if math.isfinite(t) else None
