from __future__ import annotations

import pytest

from integration.core.detectors import DetectionSettings, RoomMotionDetector
from integration.core.events import MovementEvent, MovementKind
from integration.core.readings import OccupancyReading

from .signals import ROOM, T0, Bed, run


def test_losing_micro_motion_is_out_of_bed_reported_on_return() -> None:
    det = RoomMotionDetector(ROOM, DetectionSettings())
    bed = Bed(rate_hz=20.0).leave(200.0, 150.0)
    events, _, _ = run(bed, 450.0, det, batch=20)
    (out,) = events
    assert out.kind is MovementKind.OUT_OF_BED
    assert not out.spasm_like
    assert out.start == pytest.approx(T0 + 200.0, abs=20.0)
    assert out.end == pytest.approx(T0 + 350.0, abs=20.0)
    assert out.why["rule"] == "micro_motion_lost"
    assert det.in_bed is True


def test_in_bed_turns_false_while_micro_motion_is_gone() -> None:
    det = RoomMotionDetector(ROOM, DetectionSettings())
    run(Bed(rate_hz=20.0).leave(200.0, 1000.0), 400.0, det, batch=20)
    assert det.in_bed is False


def test_an_occupancy_sensor_takes_precedence_over_micro_motion() -> None:
    det = RoomMotionDetector(ROOM, DetectionSettings())
    det.feed(OccupancyReading(ROOM, "occ", T0, True))
    events, _, _ = run(Bed(rate_hz=20.0).leave(200.0, 150.0), 450.0, det, batch=20)
    assert events == []
    assert det.in_bed is True


def test_two_accelerometers_report_one_jerk_once() -> None:
    det = RoomMotionDetector(ROOM, DetectionSettings())
    bed = Bed().jerk(60.0, 1.0)
    readings = sorted(
        [*bed.batches(80.0, sensor_id="left"), *bed.batches(80.0, sensor_id="right")],
        key=lambda r: r.t,
    )
    events = [e for r in readings for e in det.feed(r) if isinstance(e, MovementEvent)]
    assert [e.kind for e in events] == [MovementKind.JERK]
