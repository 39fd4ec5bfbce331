"""mmWave moving energy: movements and restlessness, never a spasm; one notice a night."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from integration.core.detectors import DetectionSettings, RoomMotionDetector
from integration.core.detectors.radar import NOTICE_AGAIN_S, NOTICE_CODE, RadarChannel
from integration.core.events import MovementEvent, MovementKind, Notice
from integration.core.readings import AccelSamples, MovementEnergyReading, OccupancyReading

T0 = 1_767_225_600.0
SETTINGS = DetectionSettings()
REST_S = 120  # a still sleeper first, so the resting energy is known


def reports(energies: Sequence[float], start: float = T0) -> list[MovementEnergyReading]:
    """One report a second, as ESPHome's ld2410 sends them: only when the value changed."""
    out: list[MovementEnergyReading] = []
    last = None
    for i, energy in enumerate(energies):
        if energy != last:
            out.append(MovementEnergyReading("bedroom", "radar", start + i, energy))
            last = energy
    return out


def run(
    detector: RoomMotionDetector, readings: Sequence[object], until: float
) -> list[MovementEvent | Notice]:
    """Readings in time order with a tick each second in between, up to `until`."""
    out: list[MovementEvent | Notice] = []
    pending = sorted(readings, key=lambda r: r.t)  # type: ignore[attr-defined]
    now = T0
    index = 0
    while now <= until:
        while index < len(pending) and pending[index].t <= now:  # type: ignore[attr-defined]
            out += detector.feed(pending[index])  # type: ignore[arg-type]
            index += 1
        out += detector.tick(now)
        now += 1.0
    return out


def rest(seconds: int, level: float = 3.0) -> list[float]:
    """A still sleeper: a few points of moving energy, wobbling."""
    return [level + (i % 3) for i in range(seconds)]


def movements(found: Sequence[MovementEvent | Notice]) -> list[MovementEvent]:
    return [e for e in found if isinstance(e, MovementEvent) and e.kind is MovementKind.MOVEMENT]


@pytest.mark.parametrize(
    "burst",
    [
        [60.0],  # a jerk: one high report
        [90.0, 70.0, 40.0],  # a short kick
        [100.0] * 20,  # a turnover, or getting up
        [80.0, 5.0, 80.0, 5.0, 80.0, 5.0],  # clonus-like beating, as 1 Hz reports see it
        [30.0, 45.0, 30.0, 45.0],  # small restless shifting
    ],
    ids=["spike", "kick", "long", "beating", "shifting"],
)
def test_energy_burst_is_one_movement_never_spasm_like(burst: list[float]) -> None:
    detector = RoomMotionDetector("bedroom", SETTINGS)
    energies = rest(REST_S) + burst + rest(30)
    found = run(detector, reports(energies), T0 + len(energies) + 5)

    events = [e for e in found if isinstance(e, MovementEvent)]
    assert [e.kind for e in events] == [MovementKind.MOVEMENT]
    assert not any(e.spasm_like for e in events)
    assert events[0].why["rule"] == "mmwave_energy"


def test_movement_times_allow_for_report_period_and_latency() -> None:
    detector = RoomMotionDetector("bedroom", SETTINGS)
    energies = [*rest(REST_S), 80.0, 80.0, 80.0, *rest(30)]
    (event,) = movements(run(detector, reports(energies), T0 + len(energies)))

    lag = SETTINGS.mmwave_report_s + SETTINGS.mmwave_latency_s
    assert event.start == pytest.approx(T0 + REST_S - lag)
    assert event.end == pytest.approx(T0 + REST_S + 3 - lag)


def test_resting_energy_is_learnt_so_a_noisy_room_does_not_move() -> None:
    channel = RadarChannel("bedroom", "radar", SETTINGS)
    noisy = [12.0 + (i % 5) for i in range(REST_S)]  # a sensor that reads 12-16 at rest
    found = [
        e for r in reports([*noisy, 24.0, 14.0, *noisy]) for e in channel.feed(r.t, r.energy_pct)
    ]
    assert not [e for e in found if isinstance(e, MovementEvent)]
    assert channel.baseline >= 12.0


def test_a_quiet_night_gives_no_movement() -> None:
    detector = RoomMotionDetector("bedroom", SETTINGS)
    found = run(detector, reports(rest(3600)), T0 + 3600)
    assert movements(found) == []


def test_capability_notice_once_a_night() -> None:
    detector = RoomMotionDetector("bedroom", SETTINGS)
    night = [*rest(60), 70.0, *rest(60)]
    first = reports(night)
    second = reports(night, start=T0 + NOTICE_AGAIN_S + 10)
    notices = [
        item
        for r in [*first, *reports(night, start=T0 + 3600), *second]
        for item in detector.feed(r)
        if isinstance(item, Notice)
    ]
    assert [(n.code, n.t) for n in notices] == [(NOTICE_CODE, T0), (NOTICE_CODE, second[0].t)]
    assert "not its shape" in notices[0].message


def test_short_movements_close_together_open_a_restless_episode() -> None:
    detector = RoomMotionDetector("bedroom", SETTINGS)
    energies = rest(REST_S)
    for _ in range(4):  # four kicks, half a minute apart
        energies += [70.0, 50.0, *rest(30)]
    found = run(detector, reports(energies), T0 + len(energies) + SETTINGS.restless_window_s + 5)

    kinds = [e.kind for e in found if isinstance(e, MovementEvent)]
    assert kinds.count(MovementKind.MOVEMENT) == 4
    assert MovementKind.RESTLESS_START in kinds
    assert MovementKind.RESTLESS_END in kinds
    start = next(
        e for e in found if isinstance(e, MovementEvent) and e.kind is MovementKind.RESTLESS_START
    )
    assert start.why["counted"] == "movements (mmWave: shape unknown)"


def test_long_movements_are_repositioning_not_restlessness() -> None:
    detector = RoomMotionDetector("bedroom", SETTINGS)
    energies = rest(REST_S)
    for _ in range(4):  # four 20-second movements: turning over, longer than a limb movement
        energies += [90.0] * 20 + rest(30)
    found = run(detector, reports(energies), T0 + len(energies) + 5)
    kinds = [e.kind for e in found if isinstance(e, MovementEvent)]
    assert kinds == [MovementKind.MOVEMENT] * 4


def test_no_movement_while_presence_says_out_of_bed() -> None:
    detector = RoomMotionDetector("bedroom", SETTINGS)
    energies = [*rest(REST_S), 80.0, 80.0, *rest(30)]
    away = OccupancyReading("bedroom", "radar_presence", T0 + 60, occupied=False)
    found = run(detector, [away, *reports(energies)], T0 + len(energies))
    assert movements(found) == []


def test_a_streaming_accelerometer_speaks_for_the_movements() -> None:
    detector = RoomMotionDetector("bedroom", SETTINGS)
    energies = [*rest(REST_S), 80.0, 80.0, *rest(30)]
    batches = [
        AccelSamples("bedroom", "bed", T0 + s, 10.0, (0.0,) * 10, (0.0,) * 10, (1.0,) * 10)
        for s in range(len(energies))
    ]
    found = run(detector, [*batches, *reports(energies)], T0 + len(energies))
    assert [e for e in movements(found) if e.why.get("rule") == "mmwave_energy"] == []
