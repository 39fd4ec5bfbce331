"""The bed sensor firmware's payloads, as the service's parser reads them.

The firmware's batch code (`config/esphome/common/bed_sensor.h`) is plain C++: it is compiled
here with the host's compiler and driven through a small program, so what is parsed below is
byte for byte what the ESP32 publishes. `firmware_payload` spells the same format in Python for
the cases a real sensor would only produce when broken (a wrong rate, uneven axes); a test
proves the two spellings agree.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from integration.adapters.payloads import parse_payload
from integration.core.readings import AccelSamples, Rejection, RejectReason, SensorKind
from integration.messages import PayloadFormat, SensorSpec

HEADER = Path(__file__).parents[2] / "config" / "esphome" / "common" / "bed_sensor.h"
TOPIC = "bedsensor/bed/accel"
SPEC = SensorSpec("bedroom", "bed", SensorKind.MOTION, TOPIC, PayloadFormat.AUTO)
RATE_HZ = 50
GRAVITY_M_S2 = 9.80665
LSB_G = 0.000061  # ESPHome's mpu6050/mpu6886 drivers: ±2 g range, 61 µg a count
# 4 decimals in g: half the last digit, plus float32 rounding of the m/s² the driver hands over.
TOLERANCE_G = 0.00005 + 1e-6
ARRIVAL = 1_764_962_400.0  # 2025-12-05 19:20 UTC
# Warnings as errors: the ESP32 build is the one place this code is compiled otherwise.
CXX_FLAGS = ("-std=c++17", "-Wall", "-Wextra", "-Werror", "-O1")

DRIVER = r"""
#include "bed_sensor.h"
#include <iostream>
#include <string>

// Reads commands from stdin: `sample x y z t` (m/s², epoch s), `json` (print and clear),
// `tick now_ms` (print slots due). The first line is `rate capacity`.
int main() {
  unsigned rate = 0, capacity = 0;
  std::cin >> rate >> capacity;
  bed_sensor::Batch batch(rate, capacity);
  bed_sensor::SampleGrid grid(1000 / rate);
  std::string command;
  std::cout.precision(17);
  while (std::cin >> command) {
    if (command == "sample") {
      float x, y, z;
      double t;
      std::cin >> x >> y >> z >> t;
      std::cout << (batch.append(x, y, z, t) ? "ok" : "full") << "\n";
    } else if (command == "json") {
      std::cout << batch.to_json() << "\n";
      batch.clear();
    } else if (command == "tick") {
      unsigned long now = 0;
      std::cin >> now;
      const uint32_t due = grid.slots_due(static_cast<uint32_t>(now));
      std::cout << due << " " << grid.slot_ms() << "\n";
    }
  }
  return 0;
}
"""


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The firmware's batch code compiled into a driver program."""
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.fail("no C++ compiler: install g++ (README, Set up), as .ci/run does")
    build = tmp_path_factory.mktemp("firmware")
    source = build / "driver.cpp"
    source.write_text(DRIVER, encoding="utf-8")
    program = build / "driver"
    subprocess.run(
        [compiler, *CXX_FLAGS, "-I", str(HEADER.parent), str(source), "-o", str(program)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return program


def run_firmware(program: Path, commands: Sequence[str], capacity: int = RATE_HZ) -> list[str]:
    """The driver's output lines for these commands."""
    stdin = "\n".join([f"{RATE_HZ} {capacity}", *commands]) + "\n"
    done = subprocess.run(
        [str(program)], input=stdin, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.splitlines()


def counts_signal(n: int, start: int = 0) -> tuple[list[int], list[int], list[int]]:
    """Raw accelerometer counts: a slow sway on x and y, gravity (~1 g) plus a beat on z."""
    xs = [round(800 * math.sin(2 * math.pi * 0.3 * (start + i) / RATE_HZ)) for i in range(n)]
    ys = [-((start + i) * 37 % 401) for i in range(n)]
    zs = [
        16_384 + round(2_000 * math.sin(2 * math.pi * 6 * (start + i) / RATE_HZ)) for i in range(n)
    ]
    return xs, ys, zs


def sample_commands(counts: tuple[list[int], list[int], list[int]], t0: float | None) -> list[str]:
    """`sample` commands in m/s², as the ESPHome driver computes them from the counts."""
    commands = []
    for i, (x, y, z) in enumerate(zip(*counts, strict=True)):
        t = 0.0 if t0 is None else t0 + i / RATE_HZ
        commands.append(
            f"sample {x * LSB_G * GRAVITY_M_S2!r} {y * LSB_G * GRAVITY_M_S2!r} "
            f"{z * LSB_G * GRAVITY_M_S2!r} {t!r}"
        )
    return commands


def firmware_payload(
    t0: float | None, rate: object, xs: Sequence[float], ys: Sequence[float], zs: Sequence[float]
) -> bytes:
    """The firmware's format in Python: keys in order, t0 to 3 decimals, g to 4, no spaces."""

    def axis(values: Sequence[float]) -> str:
        return ",".join(f"{0.0 if abs(v) < 0.00005 else v:.4f}" for v in values)

    head = "" if t0 is None else f'"t0":{t0:.3f},'
    return (
        f'{{{head}"rate":{json.dumps(rate)},"x":[{axis(xs)}],"y":[{axis(ys)}],"z":[{axis(zs)}]}}'
    ).encode()


def parsed(payload: bytes, arrival: float = ARRIVAL) -> AccelSamples:
    """The one AccelSamples the parser makes of a payload."""
    result = parse_payload(SPEC, payload, arrival)
    assert not isinstance(result, Rejection), result
    [reading] = result
    assert isinstance(reading, AccelSamples)
    return reading


def test_full_batch_is_one_second_of_samples_in_g_at_the_device_time(firmware: Path) -> None:
    counts = counts_signal(RATE_HZ)
    t0 = ARRIVAL - 1.2
    [ok, *_, payload] = run_firmware(firmware, [*sample_commands(counts, t0), "json"])
    assert ok == "ok"
    samples = parsed(payload.encode())
    assert len(samples.x_g) == len(samples.y_g) == len(samples.z_g) == RATE_HZ
    assert samples.rate_hz == RATE_HZ
    assert samples.t == pytest.approx(t0, abs=0.0005)  # t0 travels with 3 decimals
    for axis, raw in zip((samples.x_g, samples.y_g, samples.z_g), counts, strict=True):
        assert axis == pytest.approx([c * LSB_G for c in raw], abs=TOLERANCE_G)
    assert samples.z_g[0] == pytest.approx(1.0, abs=0.001)  # lying flat: gravity on z


def test_payload_is_exactly_the_documented_format(firmware: Path) -> None:
    counts = counts_signal(RATE_HZ)
    t0 = 1_764_962_398.78
    [*_, payload] = run_firmware(firmware, [*sample_commands(counts, t0), "json"])
    document = json.loads(payload)
    assert list(document) == ["t0", "rate", "x", "y", "z"]
    assert payload.startswith('{"t0":1764962398.780,"rate":50,"x":[')
    assert " " not in payload
    numbers = [
        n for axis in "xyz" for n in payload.split(f'"{axis}":[')[1].split("]")[0].split(",")
    ]
    assert all(len(n.partition(".")[2]) == 4 for n in numbers)
    assert "-0.0000" not in numbers
    # The Python spelling used by the refusal tests below is the firmware's, byte for byte.
    axes = [[float(n) for n in document[axis]] for axis in "xyz"]
    assert firmware_payload(t0, RATE_HZ, *axes).decode() == payload


def test_consecutive_batches_continue_on_the_device_clock(firmware: Path) -> None:
    t0 = ARRIVAL - 3.0
    commands: list[str] = []
    for second in range(3):
        commands += [*sample_commands(counts_signal(RATE_HZ, second * RATE_HZ), t0 + second)]
        commands.append("json")
    payloads = [line for line in run_firmware(firmware, commands) if line.startswith("{")]
    batches = [parsed(p.encode()) for p in payloads]
    assert [b.t for b in batches] == pytest.approx([t0, t0 + 1, t0 + 2], abs=0.0005)
    joined = [z for b in batches for z in b.z_g]
    assert joined == pytest.approx(
        [c * LSB_G for c in counts_signal(3 * RATE_HZ)[2]], abs=TOLERANCE_G
    )


def test_batch_cut_short_by_a_missed_sample_keeps_its_own_timing(firmware: Path) -> None:
    # 37 samples, then a late read: the firmware publishes them at once and counts the gap.
    counts = counts_signal(37)
    t0 = ARRIVAL - 0.9
    [*_, payload] = run_firmware(firmware, [*sample_commands(counts, t0), "json"])
    samples = parsed(payload.encode())
    assert len(samples.x_g) == 37
    assert samples.rate_hz == RATE_HZ
    assert samples.t == pytest.approx(t0, abs=0.0005)


def test_full_batch_refuses_another_sample(firmware: Path) -> None:
    lines = run_firmware(firmware, sample_commands(counts_signal(RATE_HZ + 1), ARRIVAL))
    assert lines == ["ok"] * RATE_HZ + ["full"]


def test_before_sntp_sync_the_batch_has_no_t0_and_ends_at_arrival(firmware: Path) -> None:
    [*_, payload] = run_firmware(firmware, [*sample_commands(counts_signal(RATE_HZ), None), "json"])
    assert payload.startswith('{"rate":50,"x":[')
    samples = parsed(payload.encode())
    assert len(samples.x_g) == RATE_HZ
    # No device time: the parser anchors the batch so its last sample is at arrival.
    assert samples.t == pytest.approx(ARRIVAL - (RATE_HZ - 1) / RATE_HZ)


def test_t0_zero_from_an_unsynced_clock_is_read_as_no_device_time() -> None:
    xs, ys, zs = ([0.0] * RATE_HZ, [0.0] * RATE_HZ, [1.0] * RATE_HZ)
    without = parsed(firmware_payload(None, RATE_HZ, xs, ys, zs))
    zero = parsed(firmware_payload(0.0, RATE_HZ, xs, ys, zs))
    assert zero.t == without.t == pytest.approx(ARRIVAL - (RATE_HZ - 1) / RATE_HZ)


@pytest.mark.parametrize(
    ("seconds_behind", "kept"),
    [
        pytest.param(-60.0, True, id="a-minute-ahead-kept"),
        pytest.param(-180.0, False, id="three-minutes-ahead-anchored"),
        pytest.param(1_800.0, True, id="half-hour-backlog-kept"),
        pytest.param(7_200.0, False, id="two-hours-behind-anchored"),
    ],
)
def test_drifting_clock_is_anchored_at_arrival_not_refused(
    seconds_behind: float, kept: bool
) -> None:
    t0 = ARRIVAL - seconds_behind
    samples = parsed(firmware_payload(t0, RATE_HZ, [0.0] * 50, [0.0] * 50, [1.0] * 50))
    # The parser keeps the samples either way; only whose clock times them differs.
    assert len(samples.z_g) == RATE_HZ
    expected = t0 if kept else ARRIVAL - (RATE_HZ - 1) / RATE_HZ
    assert samples.t == pytest.approx(expected, abs=0.0005)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param(
            firmware_payload(ARRIVAL, 500, [0.0] * 50, [0.0] * 50, [1.0] * 50),
            RejectReason.RATE_OUT_OF_RANGE,
            id="rate-500",
        ),
        pytest.param(
            firmware_payload(ARRIVAL, 2, [0.0] * 50, [0.0] * 50, [1.0] * 50),
            RejectReason.RATE_OUT_OF_RANGE,
            id="rate-2",
        ),
        pytest.param(
            firmware_payload(ARRIVAL, "50", [0.0] * 50, [0.0] * 50, [1.0] * 50),
            RejectReason.BAD_BATCH,
            id="rate-as-text",
        ),
        pytest.param(
            firmware_payload(ARRIVAL, RATE_HZ, [0.0] * 50, [0.0] * 49, [1.0] * 50),
            RejectReason.BAD_BATCH,
            id="mixed-axis-lengths",
        ),
        pytest.param(
            firmware_payload(ARRIVAL, RATE_HZ, [], [], []),
            RejectReason.BAD_BATCH,
            id="empty-batch",
        ),
        pytest.param(
            firmware_payload(ARRIVAL, RATE_HZ, [0.0] * 50, [0.0] * 50, [1.0] * 50)[:-40],
            RejectReason.MALFORMED_JSON,
            id="cut-off-in-transit",
        ),
    ],
)
def test_broken_firmware_gets_a_located_refusal(payload: bytes, reason: RejectReason) -> None:
    result = parse_payload(SPEC, payload, ARRIVAL, topic=TOPIC)
    assert isinstance(result, Rejection)
    assert result.reason is reason
    assert result.topic == TOPIC
    assert result.excerpt == payload[:80].decode()


@pytest.mark.parametrize(
    ("ticks_ms", "expected"),
    [
        # Polled every 5 ms: one sample each 20 ms, on the grid set by the first poll.
        pytest.param(
            [1000, 1005, 1010, 1015, 1020, 1025, 1040],
            [(1, 1000), (0, 1000), (0, 1000), (0, 1000), (1, 1020), (0, 1020), (1, 1040)],
            id="on-time",
        ),
        # A poll 40 ms late: this slot is taken and the two before it were missed.
        pytest.param([1000, 1060], [(1, 1000), (3, 1060)], id="late-read"),
        # Polled a little after each slot: the grid stays put, no drift.
        pytest.param(
            [1000, 1023, 1041, 1062], [(1, 1000), (1, 1020), (1, 1040), (1, 1060)], id="jitter"
        ),
        # millis() wraps after 49.7 days; the grid carries on across it.
        pytest.param(
            [4_294_967_290, 4_294_967_295, 14, 34],
            [(1, 4_294_967_290), (0, 4_294_967_290), (1, 14), (1, 34)],
            id="millis-wraps",
        ),
    ],
)
def test_sample_grid_keeps_the_rate_and_counts_missed_slots(
    firmware: Path, ticks_ms: list[int], expected: list[tuple[int, int]]
) -> None:
    lines = run_firmware(firmware, [f"tick {t}" for t in ticks_ms])
    assert [tuple(int(v) for v in line.split()) for line in lines] == expected
