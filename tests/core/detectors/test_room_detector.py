from __future__ import annotations

import pytest

from integration.core.detectors import DetectionSettings, RoomMotionDetector
from integration.core.events import MovementEvent, MovementKind
from integration.core.readings import OccupancyReading, VibrationReading


def test_out_of_bed_spans_leaving_to_return_and_is_not_spasm_like() -> None:
    det = RoomMotionDetector("bedroom", DetectionSettings())
    beliefs = [det.in_bed]
    assert det.feed(OccupancyReading("bedroom", "occ", 0.0, True)) == []
    assert det.feed(OccupancyReading("bedroom", "occ", 10.0, False)) == []
    beliefs.append(det.in_bed)
    (event,) = det.feed(OccupancyReading("bedroom", "occ", 70.0, True))
    beliefs.append(det.in_bed)
    assert beliefs == [None, False, True]
    assert isinstance(event, MovementEvent)
    assert (event.kind, event.start, event.end, event.spasm_like) == (
        MovementKind.OUT_OF_BED, 10.0, 70.0, False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ((100.0, 102.0, 104.5), [(100.0, 104.5, 3)]),
        ((100.0, 104.0), [(100.0, 100.0, 1), (104.0, 104.0, 1)]),
    ],
    ids=["reports_within_merge_time_are_one_movement", "reports_apart_are_two_movements"],
)
def test_vibration_reports_merge_into_movement_bursts(
    times: tuple[float, ...], expected: list[tuple[float, float, int]]
) -> None:
    det = RoomMotionDetector("bedroom", DetectionSettings())
    events = []
    for t in times:
        events += det.feed(VibrationReading("bedroom", "vib", t, "vibration", None))
    events += det.tick(times[-1] + 10.0)
    got = [(e.start, e.end, e.why["reports"]) for e in events if isinstance(e, MovementEvent)]
    assert got == expected


def test_occupancy_alone_finds_getting_up_and_vibration_alone_is_never_spasm_like() -> None:
    det = RoomMotionDetector("bedroom", DetectionSettings())
    events = det.feed(VibrationReading("bedroom", "vib", 5.0, "vibration", 30.0))
    events += det.feed(OccupancyReading("bedroom", "occ", 10.0, False))
    events += det.feed(OccupancyReading("bedroom", "occ", 100.0, True))
    events += det.tick(200.0)
    assert [(e.kind, e.spasm_like) for e in events if isinstance(e, MovementEvent)] == [
        (MovementKind.OUT_OF_BED, False),
        (MovementKind.MOVEMENT, False),
    ]
