"""Accelerometer payload sequences as a network and a broken sensor deliver them, generated.

Through the real parser and detector: duplicates, bounded reordering, gaps, flat lines and
batches later than the reorder window. Properties: nothing raises; a duplicate changes nothing;
a batch overtaken by less than the allowed lateness changes nothing.
"""

from __future__ import annotations

import json
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.adapters.payloads import parse_payload
from integration.core.detectors import DetectionSettings, RoomMotionDetector
from integration.core.detectors.accel import FLAT_NOTICE_S, REORDER_WINDOW_S
from integration.core.events import MovementEvent
from integration.core.readings import AccelSamples, Rejection, SensorKind
from integration.messages import PayloadFormat, SensorSpec
from tests.core.detectors.signals import T0, Bed

SPEC = SensorSpec("bedroom", "acc", SensorKind.MOTION, "bed/accel", PayloadFormat.JSON)
BATCHES = 100  # 100 s of 1-s batches at 50 Hz: warm-up, then a jerk and a clonus
# Deterministic and quick: a fixed example sequence, each example a few hundred ms.
SUITE = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
Delivery = list[tuple[float, bytes]]


@cache
def payloads() -> tuple[tuple[float, bytes], ...]:
    """The night's batches as a device publishes them: (arrival on time, payload)."""
    bed = Bed().jerk(50.0, 0.5).clonus(70.0, 3.0)
    out = []
    for batch in bed.batches(float(BATCHES), batch=50):
        end = batch.t + (len(batch.x_g) - 1) / 50.0
        doc = {"t0": round(batch.t, 3), "rate": 50, "x": batch.x_g, "y": batch.y_g, "z": batch.z_g}
        out.append((end + 0.3, json.dumps(doc).encode()))
    return tuple(out)


def detect(delivery: Delivery) -> list[tuple[str, float, float]]:
    """Parse and detect in arrival order, a tick each second; (kind, start, end) of events."""
    det = RoomMotionDetector("bedroom", DetectionSettings())
    events: list[MovementEvent] = []
    next_tick = T0 + 1.0
    for arrival, payload in sorted(delivery, key=lambda pair: pair[0]):
        while next_tick <= arrival:
            events += [e for e in det.tick(next_tick) if isinstance(e, MovementEvent)]
            next_tick += 1.0
        parsed = parse_payload(SPEC, payload, arrival)
        if isinstance(parsed, Rejection):
            continue
        for reading in parsed:
            events += [e for e in det.feed(reading) if isinstance(e, MovementEvent)]
    for _ in range(60):
        events += [e for e in det.tick(next_tick) if isinstance(e, MovementEvent)]
        next_tick += 1.0
    return [(str(e.kind), round(e.start, 3), round(e.end, 3)) for e in events]


@cache
def on_time() -> list[tuple[str, float, float]]:
    return detect(list(payloads()))


def flat(payload: bytes) -> bytes:
    doc = json.loads(payload)
    n = len(doc["x"])
    doc["x"], doc["y"], doc["z"] = [0.01] * n, [0.0] * n, [0.98] * n
    return json.dumps(doc).encode()


indices = st.lists(st.integers(0, BATCHES - 1), max_size=12, unique=True)


@SUITE
@given(indices, st.lists(st.floats(0.0, 30.0), min_size=12, max_size=12))
def test_a_batch_delivered_again_changes_nothing(which: list[int], after_s: list[float]) -> None:
    delivery = list(payloads())
    delivery += [(delivery[i][0] + after_s[k], delivery[i][1]) for k, i in enumerate(which)]
    assert detect(delivery) == on_time()


@SUITE
@given(indices, st.lists(st.floats(0.0, REORDER_WINDOW_S - 3.0), min_size=12, max_size=12))
def test_a_batch_overtaken_within_the_allowed_lateness_changes_nothing(
    which: list[int], late_s: list[float]
) -> None:
    delivery = list(payloads())
    for k, i in enumerate(which):
        delivery[i] = (delivery[i][0] + late_s[k], delivery[i][1])
    assert detect(delivery) == on_time()


@SUITE
@given(
    indices,
    st.lists(st.floats(0.0, 200.0), min_size=12, max_size=12),
    st.lists(st.integers(0, BATCHES - 1), max_size=30),
    st.sampled_from(["gap", "flat", "late"]),
)
def test_gaps_flat_lines_and_very_late_batches_never_raise(
    which: list[int], late_s: list[float], touched: list[int], fault: str
) -> None:
    delivery = list(payloads())
    if fault == "gap":
        delivery = [pair for i, pair in enumerate(delivery) if i not in set(touched)]
    elif fault == "flat":
        delivery = [(a, flat(p) if i in set(touched) else p) for i, (a, p) in enumerate(delivery)]
    for k, i in enumerate(which):
        if i < len(delivery):
            delivery[i] = (delivery[i][0] + late_s[k], delivery[i][1])
    detect(delivery)  # never raises; events may differ, which is the point of a fault


@SUITE
@given(st.integers(1, 10_000), st.floats(-2.0, 2.0, allow_nan=False))
def test_a_flat_batch_of_any_length_is_never_taken_as_the_resting_baseline(
    n: int, value_g: float
) -> None:
    det = RoomMotionDetector("bedroom", DetectionSettings())
    det.feed(
        AccelSamples("bedroom", "acc", T0 - n / 50.0, 50.0, (value_g,) * n, (0.0,) * n, (1.0,) * n)
    )
    channel = det._channels["acc"]
    assert channel.baseline == 0.0
    assert channel._quiet_seconds == 0
    if n >= 50 * (FLAT_NOTICE_S + 1):
        assert det.flat_sensors == frozenset({"acc"})
