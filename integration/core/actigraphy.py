"""Sleep vs wake per minute from bed movement: Cole-Kripke scoring with Webster's rescoring.

Source: Cole RJ, Kripke DF, Gruen W, Mullaney DJ, Gillin JC. Automatic sleep/wake
identification from wrist activity. Sleep 1992;15(5):461-469. We use the paper's 1-minute
epochs with the *mean activity per minute* reduction, whose weights are

    D = 0.001 * (106 A[-4] + 54 A[-3] + 58 A[-2] + 76 A[-1] + 230 A[0] + 74 A[+1] + 67 A[+2])

and a minute is awake when D >= 1. (The paper's other reduction, the maximum 10-s overlapping
epoch per minute, has scale 0.00001 and weights 404, 598, 326, 441, 1408, 508, 350; one popular
package carries a mistyped weight for some settings, so these are copied from the paper.)
Webster's rescoring rules (Webster et al. 1982, Sleep 5:389, as applied by Cole et al.) then
turn short sleep after long wake back into wake.

Scaling: the weights expect the activity counts of the wrist actigraph the paper used; a bed
accelerometer is a different instrument. Our per-minute figure is the standard deviation of
the per-second mean acceleration magnitude, in milli-g (calibration-free: a constant offset
cancels). `COUNTS_PER_MG` maps it so that one isolated minute with turnover-level movement
(>= about 9 mg) scores awake on its own (230 * 0.001 * counts >= 1 needs counts >= 4.35), while
steady resting micro-motion of breathing (about 1 mg) stays well below the awake sum for
seven quiet minutes (665 * 0.001 * 0.5 = 0.33). The result is an *estimate* from movement,
not sleep staging: lying still awake reads as asleep.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

# Cole et al. 1992, mean activity per 1-min epoch: weights for minutes -4 .. +2 and the scale.
COLE_KRIPKE_WEIGHTS: tuple[float, ...] = (106.0, 54.0, 58.0, 76.0, 230.0, 74.0, 67.0)
COLE_KRIPKE_SCALE = 0.001
_BEFORE = 4  # the weights cover 4 minutes before the scored one and 2 after
# Bed-accelerometer milli-g (SD of 1-s mean magnitude over the minute) to paper activity units:
# an isolated 9 mg minute (a turnover) scores awake, ~1 mg breathing micro-motion does not.
COUNTS_PER_MG = 0.5

# Webster's rules (a)-(c): after >= N minutes awake, the next M minutes of sleep are wake.
_AFTER_WAKE_RESCORE: tuple[tuple[int, int], ...] = ((15, 4), (10, 3), (4, 1))
# Rules (d)-(e): sleep of <= N minutes with >= M minutes of wake on both sides is wake.
_SURROUNDED_SLEEP_RESCORE: tuple[tuple[int, int], ...] = ((6, 10), (10, 20))


@dataclass(frozen=True, slots=True)
class SleepScore:
    """Per-minute asleep (True), awake (False) or unknown (None, no data) and the totals."""

    asleep: tuple[bool | None, ...]
    asleep_min: int
    awake_min: int

    @property
    def scored_min(self) -> int:
        """Minutes that had data to score."""
        return self.asleep_min + self.awake_min

    @property
    def efficiency(self) -> float | None:
        """Share of scored minutes estimated asleep; None when nothing could be scored."""
        return self.asleep_min / self.scored_min if self.scored_min else None


def cole_kripke(activity: Sequence[float | None]) -> list[bool | None]:
    """Raw Cole-Kripke sleep (True) / wake (False) per minute, activity in paper units.

    Minutes without data (None) are not scored and count as no activity for their neighbours;
    the first and last minutes use the neighbours that exist.
    """
    values = [0.0 if a is None else a for a in activity]
    scored: list[bool | None] = []
    for i, a in enumerate(activity):
        if a is None:
            scored.append(None)
            continue
        total = 0.0
        for offset, weight in enumerate(COLE_KRIPKE_WEIGHTS):
            j = i + offset - _BEFORE
            if 0 <= j < len(values):
                total += weight * values[j]
        scored.append(COLE_KRIPKE_SCALE * total < 1.0)
    return scored


def webster_rescore(scored: Sequence[bool | None]) -> list[bool | None]:
    """Apply Webster's rules (a)-(e) to a sleep (True) / wake (False) sequence.

    Unknown minutes (None) stay unknown and break the runs they sit in.
    """
    after_wake = list(scored)
    wake_run = 0
    pending = 0  # sleep minutes still to rescore after the last long wake run
    for i, minute in enumerate(scored):
        if minute is False:
            wake_run += 1
            pending = 0
            continue
        if minute is None:
            wake_run, pending = 0, 0
            continue
        if wake_run:
            pending = next((m for n, m in _AFTER_WAKE_RESCORE if wake_run >= n), 0)
            wake_run = 0
        if pending:
            after_wake[i] = False
            pending -= 1
    result = list(after_wake)
    for start, end in _runs(after_wake, value=True):
        length = end - start
        before = _run_length_ending(after_wake, start - 1, value=False)
        following = _run_length_starting(after_wake, end, value=False)
        if any(
            length <= most and before >= wake and following >= wake
            for most, wake in _SURROUNDED_SLEEP_RESCORE
        ):
            result[start:end] = [False] * length
    return result


def score_sleep(
    activity_mg: Sequence[float | None], out_of_bed: Collection[int] = ()
) -> SleepScore:
    """Sleep/wake estimate for consecutive minutes of bed activity in milli-g (None: no data).

    Minutes listed in `out_of_bed` (indexes) are wake whatever the sensor saw, before the
    rescoring, so a get-up also rescores the minutes of sleep right after it.
    """
    counts = [None if a is None else a * COUNTS_PER_MG for a in activity_mg]
    raw = cole_kripke(counts)
    for i in out_of_bed:
        raw[i] = False
    asleep = tuple(webster_rescore(raw))
    return SleepScore(
        asleep=asleep,
        asleep_min=sum(1 for a in asleep if a is True),
        awake_min=sum(1 for a in asleep if a is False),
    )


def _runs(values: Sequence[bool | None], *, value: bool) -> list[tuple[int, int]]:
    """[start, end) of every maximal run equal to `value`."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, v in enumerate(values):
        if v is value and start is None:
            start = i
        elif v is not value and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(values)))
    return runs


def _run_length_ending(values: Sequence[bool | None], last: int, *, value: bool) -> int:
    count = 0
    while last - count >= 0 and values[last - count] is value:
        count += 1
    return count


def _run_length_starting(values: Sequence[bool | None], first: int, *, value: bool) -> int:
    count = 0
    while first + count < len(values) and values[first + count] is value:
        count += 1
    return count
