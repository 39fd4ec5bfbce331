"""parse_payload never raises: any bytes, any JSON, every format and kind."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from integration.adapters.payloads import parse_payload
from integration.core.readings import Rejection, RejectReason, SensorKind
from integration.messages import PayloadFormat, SensorSpec

T = 1_767_225_600.0
KEYS = ["temperature", "Temperature", "humidity", "rh", "tC", "tF", "TempUnit", "occupancy",
        "presence", "action", "vibration", "strength", "x", "y", "z", "t", "t0", "rate",
        "params", "temperature:0", "DS18B20", "a"]  # fmt: skip

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=20,
)
specs = st.builds(
    SensorSpec,
    room=st.just("bedroom"),
    sensor_id=st.just("s1"),
    kind=st.sampled_from(SensorKind),
    topic=st.text(min_size=1, max_size=20),
    payload_format=st.sampled_from(PayloadFormat),
    field=st.none()
    | st.sampled_from(["a", "params.temperature:0.tC", "x.0", "DS18B20.Temperature"]),
    unit=st.none() | st.sampled_from(["C", "F", "g", "m/s2", "K", ""]),
    rate_hz=st.none() | st.floats(min_value=1, max_value=200),
)


def _check(spec: SensorSpec, payload: bytes) -> None:
    result = parse_payload(spec, payload, T)
    if isinstance(result, Rejection):
        assert isinstance(result.reason, RejectReason)
        assert result.topic == spec.topic
        assert len(result.excerpt) <= 80
    else:
        assert len(result) >= 1
        for reading in result:
            assert (reading.room, reading.sensor_id) == ("bedroom", "s1")


@settings(max_examples=500, derandomize=True)
@given(spec=specs, payload=st.binary(max_size=200))
def test_any_bytes_give_readings_or_a_rejection(spec: SensorSpec, payload: bytes) -> None:
    _check(spec, payload)


@settings(max_examples=1000, derandomize=True)
@given(spec=specs, doc=json_values)
def test_any_json_gives_readings_or_a_rejection(spec: SensorSpec, doc: Any) -> None:
    _check(spec, json.dumps(doc).encode())


@settings(max_examples=300, derandomize=True)
@given(spec=specs, text=st.text(max_size=40))
def test_any_text_gives_readings_or_a_rejection(spec: SensorSpec, text: str) -> None:
    _check(spec, text.encode())
