"""Accelerometer messages: one `{"x","y","z"}` sample or a `{"t0","rate","x":[..],..}` batch.

Device clocks drift and many boards never sync NTP, so a device time is used only when the
(last) sample it implies lies no more than `MAX_CLOCK_SKEW_S` ahead of arrival and no more than
`MAX_BACKLOG_S` behind it (the backlog a persistent MQTT session hands over after a network
cut keeps its own time); otherwise the message is anchored so its last sample is at arrival.
Data is never dropped for a bad clock.
"""

from __future__ import annotations

import math
from typing import Any

from integration.core.readings import AccelSamples, RejectReason
from integration.messages import SensorSpec

from .values import number

STANDARD_GRAVITY_M_S2 = 9.80665  # CGPM 1901 / ISO 80000-3 standard acceleration of gravity
MAX_CLOCK_SKEW_S = 120.0  # ahead of arrival by more: the device clock is wrong
# Behind arrival by up to an hour: a queued backlog (broker session, sensor buffer), not a bad clock.
MAX_BACKLOG_S = 3600.0
MAX_BATCH_SAMPLES = 10_000  # 100 s at 100 Hz: larger is a runaway buffer, not a sensor batch
# 5 Hz still resolves periodic limb movements (0.5-10 s, AASM/IRLSSG scoring) and 100 Hz covers
# clonus (5-8 Hz) with margin; outside this the detectors' filters are not valid.
MIN_RATE_HZ = 5.0
MAX_RATE_HZ = 100.0
_MS_EPOCH_ABOVE = 1e11  # epoch seconds pass 1e11 only in year 5138; larger means milliseconds


def accel_samples(spec: SensorSpec, node: Any, t: float) -> AccelSamples | RejectReason:
    """Samples in g from the object holding x/y/z, stamped per the module's clock rule."""
    if not isinstance(node, dict):
        return RejectReason.MISSING_FIELD
    if spec.unit is None or spec.unit == "g":
        scale = 1.0
    elif spec.unit in ("m/s2", "m/s²"):
        scale = 1.0 / STANDARD_GRAVITY_M_S2
    else:
        return RejectReason.UNKNOWN_UNIT
    try:
        x, y, z = node["x"], node["y"], node["z"]
    except KeyError:
        return RejectReason.MISSING_FIELD
    if isinstance(x, list):
        return _batch(spec, node, x, y, z, scale, t)
    x_value, y_value, z_value = number(x), number(y), number(z)
    if isinstance(x_value, RejectReason):
        return x_value
    if isinstance(y_value, RejectReason):
        return y_value
    if isinstance(z_value, RejectReason):
        return z_value
    stamp = node.get("t", node.get("ts"))
    device_t = None if stamp is None else _device_time(stamp)
    start = device_t if device_t is not None and _plausible(device_t, t) else t
    return AccelSamples(
        spec.room,
        spec.sensor_id,
        start,
        spec.rate_hz,
        (x_value * scale,),
        (y_value * scale,),
        (z_value * scale,),
    )


def _batch(
    spec: SensorSpec, node: dict[str, Any], x: Any, y: Any, z: Any, scale: float, t: float
) -> AccelSamples | RejectReason:
    rate = node.get("rate", spec.rate_hz)
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not math.isfinite(rate):
        return RejectReason.BAD_BATCH
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        return RejectReason.RATE_OUT_OF_RANGE
    xs, ys, zs = _series(x, scale), _series(y, scale), _series(z, scale)
    if xs is None or ys is None or zs is None or not len(xs) == len(ys) == len(zs):
        return RejectReason.BAD_BATCH
    span_s = (len(xs) - 1) / rate
    device_t = _device_time(node.get("t0"))
    start = device_t if device_t is not None and _plausible(device_t + span_s, t) else t - span_s
    return AccelSamples(spec.room, spec.sensor_id, start, float(rate), xs, ys, zs)


def _series(value: Any, scale: float) -> tuple[float, ...] | None:
    """The finite numbers of a JSON list (scaled), or None if any is not one."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_BATCH_SAMPLES:
        return None
    for item in value:
        if type(item) is not float and type(item) is not int:  # bool is an int subclass
            return None
    try:
        floats = (
            tuple([item * scale for item in value]) if scale != 1.0 else tuple(map(float, value))
        )
    except OverflowError:
        return None
    return floats if all(map(math.isfinite, floats)) else None


def _plausible(device_t: float, arrival_t: float) -> bool:
    """A device's stamp for its last sample is believed: a little early or a backlog late."""
    return -MAX_CLOCK_SKEW_S <= arrival_t - device_t <= MAX_BACKLOG_S


def _device_time(value: Any) -> float | None:
    """Epoch seconds from a device stamp in seconds or milliseconds; None if unusable."""
    seconds = number(value)
    if isinstance(seconds, RejectReason):
        return None
    return seconds / 1000.0 if seconds > _MS_EPOCH_ABOVE else seconds
