"""Each rejection reason and boundary of parse_payload, one row per case."""

from __future__ import annotations

import json

import pytest

from integration.adapters.payloads import MAX_PAYLOAD_BYTES, parse_payload
from integration.core.readings import (
    AccelSamples,
    OccupancyReading,
    Reading,
    Rejection,
    RejectReason,
    SensorKind,
    TemperatureReading,
    VibrationReading,
)
from integration.messages import PayloadFormat, SensorSpec

T = 1_767_225_600.0
TOPIC = "test/topic"

P = PayloadFormat
K = SensorKind
R = RejectReason


def spec(
    kind: SensorKind = K.TEMPERATURE,
    fmt: PayloadFormat = P.AUTO,
    *,
    field: str | None = None,
    unit: str | None = None,
    rate_hz: float | None = None,
) -> SensorSpec:
    return SensorSpec("bedroom", "s1", kind, TOPIC, fmt, field, unit, rate_hz)


def only(result: list[Reading] | Rejection) -> Reading:
    assert isinstance(result, list), result
    assert len(result) == 1
    return result[0]


def reason(result: list[Reading] | Rejection) -> RejectReason:
    assert isinstance(result, Rejection), result
    assert result.topic == TOPIC
    return result.reason


TEMPERATURES = [
    (P.PLAIN, None, None, b"19.8", 19.8),
    (P.PLAIN, None, None, b" 19.80\n", 19.8),
    (P.PLAIN, None, None, b"1.9e1", 19.0),
    (P.PLAIN, None, None, b"-30", -30.0),
    (P.PLAIN, None, None, b"60", 60.0),
    (P.PLAIN, None, "F", b"68", 20.0),
    (P.PLAIN, None, "°F", b"85", 29.444444),
    (P.PLAIN, None, "c", b"21", 21.0),
    (P.ESPHOME, None, None, b"19.50", 19.5),
    (P.SHELLY, None, None, b"20.25", 20.25),
    (P.AUTO, None, None, b"19.8", 19.8),
    (P.AUTO, None, None, b'{"temperature":19.8}', 19.8),
    (P.AUTO, None, None, b'{"id":0,"tF":68.0}', 20.0),
    (P.AUTO, None, "F", b'{"id":0,"tC":19.6,"tF":67.3}', 19.6),
    (P.JSON, None, None, b"19.8", 19.8),
    (P.JSON, "a.b.0.c", None, b'{"a":{"b":[{"c":"19.8"}]}}', 19.8),
    (P.JSON, "params.temperature:0.tF", None, b'{"params":{"temperature:0":{"tF":68}}}', 20.0),
    (P.TASMOTA, None, "C", b'{"DS18B20":{"Temperature":19.8},"TempUnit":"F"}', 19.8),
]


@pytest.mark.parametrize(
    ("fmt", "field", "unit", "payload", "temp_c"),
    TEMPERATURES,
    ids=[
        "plain",
        "plain-padded",
        "plain-exponent",
        "lowest-plausible",
        "highest-plausible",
        "spec-unit-F",
        "degree-F-85-is-not-a-sentinel",
        "lowercase-c",
        "esphome",
        "shelly-gen1",
        "auto-plain",
        "auto-z2m",
        "auto-shelly-tF-only",
        "shelly-tC-beats-spec-unit",
        "json-scalar",
        "json-path-with-index-and-string",
        "json-path-key-with-colon-and-tF",
        "spec-unit-beats-TempUnit",
    ],
)
def test_temperature_is_read_in_celsius(
    fmt: PayloadFormat, field: str | None, unit: str | None, payload: bytes, temp_c: float
) -> None:
    reading = only(parse_payload(spec(K.TEMPERATURE, fmt, field=field, unit=unit), payload, T))
    assert isinstance(reading, TemperatureReading)
    assert (reading.room, reading.sensor_id, reading.t) == ("bedroom", "s1", T)
    assert reading.temp_c == pytest.approx(temp_c)


@pytest.mark.parametrize(
    ("kind", "fmt", "unit", "payload", "expected"),
    [
        (K.TEMPERATURE, P.PLAIN, None, b"", R.EMPTY),
        (K.TEMPERATURE, P.PLAIN, None, b" \n\t", R.EMPTY),
        (K.TEMPERATURE, P.PLAIN, None, b"1" * (MAX_PAYLOAD_BYTES + 1), R.TOO_LARGE),
        (K.TEMPERATURE, P.PLAIN, None, b"\xff\xfe19", R.NOT_UTF8),
        (K.TEMPERATURE, P.ZIGBEE2MQTT, None, b'{"temperature":', R.MALFORMED_JSON),
        (K.TEMPERATURE, P.JSON, None, b"[" * 100_000, R.MALFORMED_JSON),
        (K.TEMPERATURE, P.ZIGBEE2MQTT, None, b'{"battery":97}', R.MISSING_FIELD),
        (K.TEMPERATURE, P.ZIGBEE2MQTT, None, b"[19.8]", R.MISSING_FIELD),
        (K.TEMPERATURE, P.PLAIN, None, b"abc", R.NOT_A_NUMBER),
        (K.TEMPERATURE, P.PLAIN, None, b"ON", R.NOT_A_NUMBER),
        (K.TEMPERATURE, P.ZIGBEE2MQTT, None, b'{"temperature":true}', R.NOT_A_NUMBER),
        (K.TEMPERATURE, P.ZIGBEE2MQTT, None, b'{"temperature":[19]}', R.NOT_A_NUMBER),
        (K.TEMPERATURE, P.PLAIN, None, b"inf", R.NOT_FINITE),
        (K.TEMPERATURE, P.JSON, None, b"1e999", R.NOT_FINITE),
        (K.TEMPERATURE, P.ZIGBEE2MQTT, None, b'{"temperature":NaN}', R.NOT_FINITE),
        (K.TEMPERATURE, P.JSON, None, b"1" * 400, R.OUT_OF_RANGE),
        (K.TEMPERATURE, P.ESPHOME, None, b"nan", R.UNAVAILABLE),
        (K.TEMPERATURE, P.ZIGBEE2MQTT, None, b'{"temperature":null}', R.UNAVAILABLE),
        (K.TEMPERATURE, P.JSON, None, b"null", R.UNAVAILABLE),
        (K.TEMPERATURE, P.PLAIN, None, b"-127", R.SENTINEL),
        (K.TEMPERATURE, P.PLAIN, None, b"85", R.SENTINEL),
        (K.TEMPERATURE, P.PLAIN, "F", b"185", R.SENTINEL),
        (K.TEMPERATURE, P.PLAIN, None, b"-999", R.SENTINEL),
        (K.TEMPERATURE, P.PLAIN, None, b"999", R.SENTINEL),
        (K.TEMPERATURE, P.PLAIN, None, b"-99.9", R.SENTINEL),
        (K.TEMPERATURE, P.PLAIN, None, b"32767", R.SENTINEL),
        (K.TEMPERATURE, P.PLAIN, None, b"-32768", R.SENTINEL),
        (K.TEMPERATURE, P.PLAIN, None, b"65535", R.SENTINEL),
        (K.TEMPERATURE, P.PLAIN, None, b"3276.7", R.SENTINEL),
        (K.TEMPERATURE, P.PLAIN, None, b"-30.01", R.OUT_OF_RANGE),
        (K.TEMPERATURE, P.PLAIN, None, b"60.01", R.OUT_OF_RANGE),
        (K.TEMPERATURE, P.PLAIN, "F", b"150", R.OUT_OF_RANGE),
        (K.TEMPERATURE, P.PLAIN, "K", b"293", R.UNKNOWN_UNIT),
        (
            K.TEMPERATURE,
            P.TASMOTA,
            None,
            b'{"X":{"Temperature":20},"TempUnit":"K"}',
            R.UNKNOWN_UNIT,
        ),
        (K.HUMIDITY, P.PLAIN, None, b"-0.1", R.OUT_OF_RANGE),
        (K.HUMIDITY, P.PLAIN, None, b"100.1", R.OUT_OF_RANGE),
        (K.HUMIDITY, P.PLAIN, None, b"65535", R.SENTINEL),
        (K.HUMIDITY, P.ZIGBEE2MQTT, None, b'{"humidity":false}', R.NOT_A_NUMBER),
        (K.OCCUPANCY, P.PLAIN, None, b"maybe", R.NOT_A_NUMBER),
        (K.OCCUPANCY, P.PLAIN, None, b"2", R.NOT_A_NUMBER),
        (K.OCCUPANCY, P.ZIGBEE2MQTT, None, b'{"occupancy":null}', R.UNAVAILABLE),
        (K.OCCUPANCY, P.ZIGBEE2MQTT, None, b'{"illuminance":3}', R.MISSING_FIELD),
        (K.VIBRATION, P.ZIGBEE2MQTT, None, b'{"battery":97}', R.MISSING_FIELD),
        (K.VIBRATION, P.ZIGBEE2MQTT, None, b'{"action":null,"vibration":false}', R.UNAVAILABLE),
        (K.VIBRATION, P.ZIGBEE2MQTT, None, b'{"action":"shake"}', R.UNAVAILABLE),
        (K.VIBRATION, P.PLAIN, None, b"OFF", R.UNAVAILABLE),
        (K.MOTION, P.AUTO, None, b"0.98", R.MISSING_FIELD),
        (K.MOTION, P.AUTO, None, b'{"x":0.1,"y":0.2}', R.MISSING_FIELD),
        (K.MOTION, P.AUTO, None, b'{"x":0.1,"y":true,"z":1}', R.NOT_A_NUMBER),
        (K.MOTION, P.AUTO, None, b'{"x":0.1,"y":Infinity,"z":1}', R.NOT_FINITE),
        (K.MOTION, P.AUTO, "furlong", b'{"x":0.1,"y":0.2,"z":1}', R.UNKNOWN_UNIT),
    ],
    ids=[
        "empty",
        "whitespace-only",
        "over-256KiB",
        "invalid-utf8",
        "truncated-json",
        "json-nested-too-deep",
        "key-missing",
        "json-array-has-no-key",
        "text",
        "ON-is-not-a-temperature",
        "bool-is-not-a-temperature",
        "list-is-not-a-temperature",
        "plain-inf",
        "json-overflowing-float",
        "json-NaN",
        "json-huge-integer",
        "esphome-nan",
        "json-null-value",
        "json-null-document",
        "ds18b20-disconnected",
        "ds18b20-power-on-reset",
        "ds18b20-power-on-reset-in-F",
        "minus-999",
        "999",
        "minus-99.9",
        "int16-max",
        "int16-min",
        "uint16-max",
        "int16-max-tenths",
        "just-below-range",
        "just-above-range",
        "F-above-range",
        "kelvin-spec-unit",
        "kelvin-TempUnit",
        "humidity-below-0",
        "humidity-above-100",
        "humidity-uint16-max",
        "humidity-bool",
        "occupancy-unknown-word",
        "occupancy-number-not-0-or-1",
        "occupancy-null",
        "occupancy-missing",
        "vibration-without-action-or-flag",
        "vibration-state-refresh",
        "vibration-unknown-action-is-none",
        "vibration-flag-off",
        "motion-bare-number",
        "motion-axis-missing",
        "motion-bool-axis",
        "motion-infinite-axis",
        "motion-unknown-unit",
    ],
)
def test_bad_payload_is_rejected_with_its_reason(
    kind: SensorKind, fmt: PayloadFormat, unit: str | None, payload: bytes, expected: RejectReason
) -> None:
    assert reason(parse_payload(spec(kind, fmt, unit=unit), payload, T)) is expected


def test_rejection_carries_topic_and_a_short_decoded_excerpt() -> None:
    payload = b"\xff" + b"x" * 200
    rejection = parse_payload(spec(fmt=P.PLAIN), payload, T)
    assert rejection == Rejection(R.NOT_UTF8, TOPIC, "\ufffd" + "x" * 79)


def test_payload_of_exactly_the_size_limit_is_parsed() -> None:
    payload = b"19.8".ljust(MAX_PAYLOAD_BYTES)
    assert only(parse_payload(spec(fmt=P.PLAIN), payload, T)) == TemperatureReading(
        "bedroom", "s1", T, 19.8
    )


@pytest.mark.parametrize(
    ("fmt", "payload", "occupied"),
    [
        (P.PLAIN, b"ON", True),
        (P.PLAIN, b"off", False),
        (P.PLAIN, b"true", True),
        (P.PLAIN, b"false", False),
        (P.PLAIN, b"1", True),
        (P.PLAIN, b"0", False),
        (P.PLAIN, b"open", True),
        (P.PLAIN, b"closed", False),
        (P.ESPHOME, b"ON", True),
        (P.ZIGBEE2MQTT, b'{"occupancy":true}', True),
        (P.ZIGBEE2MQTT, b'{"presence":false}', False),
        (P.AUTO, b'{"occupancy":1}', True),
        (P.JSON, b'{"state":"ON"}', True),
    ],
    ids=[
        "ON",
        "off",
        "true",
        "false",
        "1",
        "0",
        "open-means-on-as-in-HA",
        "closed-means-off",
        "esphome-binary-sensor",
        "z2m-occupancy",
        "z2m-presence",
        "auto-json-1",
        "json-field-ON-string",
    ],
)
def test_occupancy_flags(fmt: PayloadFormat, payload: bytes, occupied: bool) -> None:
    field = "state" if fmt is P.JSON else None
    reading = only(parse_payload(spec(K.OCCUPANCY, fmt, field=field), payload, T))
    assert reading == OccupancyReading("bedroom", "s1", T, occupied)


@pytest.mark.parametrize(
    ("fmt", "payload", "expected"),
    [
        (
            P.ZIGBEE2MQTT,
            b'{"action":"vibration","strength":12,"angle_x":3,"angle_y":-1,"angle_z":88,"vibration":true}',
            VibrationReading("bedroom", "s1", T, "vibration", 12.0, 3.0, -1.0, 88.0),
        ),
        (
            P.ZIGBEE2MQTT,
            b'{"action":"tilt","strength":"n/a","angle_x":null}',
            VibrationReading("bedroom", "s1", T, "tilt", None),
        ),
        (
            P.AUTO,
            b'{"action":null,"vibration":true,"strength":4}',
            VibrationReading("bedroom", "s1", T, None, 4.0),
        ),
        (P.PLAIN, b"ON", VibrationReading("bedroom", "s1", T, None, None)),
        (P.SHELLY, b"1", VibrationReading("bedroom", "s1", T, None, None)),
    ],
    ids=[
        "z2m-event-with-angles",
        "unusable-numbers-become-none",
        "flag-without-action",
        "plain-on",
        "shelly-dw-vibration-1",
    ],
)
def test_vibration_events(fmt: PayloadFormat, payload: bytes, expected: VibrationReading) -> None:
    assert only(parse_payload(spec(K.VIBRATION, fmt), payload, T)) == expected


def _batch(n: int, rate: float | str, t0: float | None = None, **axes: object) -> bytes:
    doc: dict[str, object] = {"rate": rate, "x": [0.0] * n, "y": [0.0] * n, "z": [1.0] * n}
    if t0 is not None:
        doc["t0"] = t0
    doc.update(axes)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (_batch(0, 50), R.BAD_BATCH),
        (_batch(10_001, 50), R.BAD_BATCH),
        (_batch(3, 50, y=[0.0, 0.0]), R.BAD_BATCH),
        (_batch(3, 50, x=[0.0, None, 0.0]), R.BAD_BATCH),
        (_batch(3, 50, x=[0.0, True, 0.0]), R.BAD_BATCH),
        (_batch(3, 50, x=[0.0, "0.1", 0.0]), R.BAD_BATCH),
        (_batch(3, 50, y=0.0), R.BAD_BATCH),
        (_batch(3, 50).replace(b"0.0, 0.0, 0.0]", b"0.0, NaN, 0.0]", 1), R.BAD_BATCH),
        (_batch(3, 50, z=[1.0, 10**400, 1.0]), R.BAD_BATCH),
        (_batch(3, "50"), R.BAD_BATCH),
        (_batch(3, 4.99), R.RATE_OUT_OF_RANGE),
        (_batch(3, 100.01), R.RATE_OUT_OF_RANGE),
        (_batch(3, 0), R.RATE_OUT_OF_RANGE),
    ],
    ids=[
        "no-samples",
        "over-10000-samples",
        "unequal-lengths",
        "null-sample",
        "bool-sample",
        "string-sample",
        "scalar-axis-in-batch",
        "nan-sample",
        "overflowing-sample",
        "rate-as-string",
        "rate-below-5Hz",
        "rate-above-100Hz",
        "rate-zero",
    ],
)
def test_bad_batch_is_rejected(payload: bytes, expected: RejectReason) -> None:
    assert reason(parse_payload(spec(K.MOTION), payload, T)) is expected


@pytest.mark.parametrize(
    ("n", "rate", "t0", "start"),
    [
        (1, 5, None, T),
        (10_000, 100, None, T - 99.99),
        (50, 50, T - 1.0, T - 1.0),
        (50, 50, (T - 1.0) * 1000, T - 1.0),
        (50, 50, T - 120.98, T - 120.98),
        (50, 50, T - 1800.0, T - 1800.0),
        (50, 50, T - 3600.98, T - 3600.98),
        (50, 50, T - 3602.0, T - 0.98),
        (50, 50, T + 119.0, T + 119.0),
        (50, 50, T + 200, T - 0.98),
        (50, 50, 0, T - 0.98),
        (10_000, 5, T - 2000.0, T - 2000.0),
    ],
    ids=[
        "one-sample-no-t0-at-arrival",
        "longest-batch-ends-at-arrival",
        "synced-clock-used",
        "millisecond-t0",
        "last-sample-120s-old",
        "backlog-half-an-hour-late-keeps-its-time",
        "backlog-exactly-an-hour-late-keeps-its-time",
        "over-an-hour-late-is-anchored",
        "clock-a-little-ahead-is-used",
        "clock-far-ahead-is-anchored",
        "uptime-clock-is-anchored",
        "long-slow-batch-judged-by-its-end",
    ],
)
def test_batch_time_anchoring(n: int, rate: float, t0: float | None, start: float) -> None:
    reading = only(parse_payload(spec(K.MOTION), _batch(n, rate, t0), T))
    assert isinstance(reading, AccelSamples)
    assert reading.t == pytest.approx(start)
    assert (reading.rate_hz, len(reading.x_g)) == (rate, n)


@pytest.mark.parametrize(
    ("payload", "unit", "rate_hz", "expected"),
    [
        (b'{"x":0.01,"y":-0.02,"z":0.98}', None, 25.0, (T, 25.0, 0.01, -0.02, 0.98)),
        (b'{"x":0,"y":0,"z":9.80665}', "m/s2", None, (T, None, 0.0, 0.0, 1.0)),
        (b'{"x":1,"y":0,"z":0,"t":1767225590}', "g", None, (T - 10, None, 1.0, 0.0, 0.0)),
        (b'{"x":1,"y":0,"z":0,"ts":1767225590500}', None, None, (T - 9.5, None, 1.0, 0.0, 0.0)),
        (b'{"x":1,"y":0,"z":0,"t":12345}', None, None, (T, None, 1.0, 0.0, 0.0)),
        (b'{"x":1,"y":0,"z":0,"t":1767229200}', None, None, (T, None, 1.0, 0.0, 0.0)),
        (b'{"x":1,"y":0,"z":0,"t":"soon"}', None, None, (T, None, 1.0, 0.0, 0.0)),
    ],
    ids=[
        "g",
        "m-per-s2",
        "device-seconds",
        "device-milliseconds",
        "far-clock",
        "clock-an-hour-ahead",
        "bad-clock",
    ],
)
def test_single_accel_sample(
    payload: bytes,
    unit: str | None,
    rate_hz: float | None,
    expected: tuple[float, float | None, float, float, float],
) -> None:
    reading = only(parse_payload(spec(K.MOTION, unit=unit, rate_hz=rate_hz), payload, T))
    assert isinstance(reading, AccelSamples)
    got = (reading.t, reading.rate_hz, *reading.x_g, *reading.y_g, *reading.z_g)
    assert got == pytest.approx(expected)


def test_batch_in_m_per_s2_is_converted_to_g() -> None:
    payload = _batch(2, 50, x=[9.80665, -19.6133], y=[0, 0], z=[0.0, 0.0])
    reading = only(parse_payload(spec(K.MOTION, unit="m/s2"), payload, T))
    assert isinstance(reading, AccelSamples)
    assert reading.x_g == pytest.approx((1.0, -2.0))


def test_batch_without_rate_uses_the_configured_rate() -> None:
    payload = json.dumps({"x": [0.0], "y": [0.0], "z": [1.0]}).encode()
    reading = only(parse_payload(spec(K.MOTION, rate_hz=20.0), payload, T))
    assert isinstance(reading, AccelSamples)
    assert reading.rate_hz == 20.0


def test_motion_field_finds_a_nested_sample() -> None:
    payload = b'{"imu":[{"accel":{"x":0.1,"y":0.2,"z":0.9}}]}'
    reading = only(parse_payload(spec(K.MOTION, P.JSON, field="imu.0.accel"), payload, T))
    assert reading == AccelSamples("bedroom", "s1", T, None, (0.1,), (0.2,), (0.9,))


@pytest.mark.parametrize(
    "field",
    ["imu.1.accel", "imu.x", "missing", "imu.0.accel.x.y"],
    ids=["index-past-end", "key-into-list", "absent-key", "path-through-number"],
)
def test_field_that_leads_nowhere_is_missing(field: str) -> None:
    payload = b'{"imu":[{"accel":{"x":0.1,"y":0.2,"z":0.9}}]}'
    assert reason(parse_payload(spec(K.MOTION, P.JSON, field=field), payload, T)) is (
        R.MISSING_FIELD
    )


def test_plain_format_does_not_read_json() -> None:
    result = parse_payload(spec(fmt=P.PLAIN), b'{"temperature":19.8}', T)
    assert reason(result) is R.NOT_A_NUMBER


@pytest.mark.parametrize("action", ["[]", "{}", '["vibration"]'], ids=["list", "object", "nested"])
def test_a_vibration_action_that_is_not_text_is_refused(action: str) -> None:
    # Found by the property test: a list as "action" once raised TypeError (unhashable).
    result = parse_payload(spec(K.VIBRATION), f'{{"action": {action}}}'.encode(), T)
    assert isinstance(result, Rejection)
    assert result.reason is R.UNAVAILABLE
