"""The simulated LD2410: ESPHome's topics and payloads, report-on-change, movements as spikes."""

from __future__ import annotations

import itertools
from functools import cache

from integration.adapters.payloads import parse_payload
from integration.core.readings import MovementEnergyReading, OccupancyReading, SensorKind
from integration.core.simulation.night import (
    DEFAULT_MMWAVE_ENERGY_TOPIC,
    DEFAULT_MMWAVE_PRESENCE_TOPIC,
    LabelKind,
    NightSpec,
    SimulatedNight,
    simulate_night,
)
from integration.messages import PayloadFormat, SensorSpec

SPEC = NightSpec(
    seed=5,
    hours=1.0,
    jerks=4,
    clonus=1,
    plm_series=1,
    turnovers=3,
    tonic=1,
    get_ups=1,
    dropouts=0,
    mmwave=True,
)
ESPHOME = PayloadFormat.ESPHOME
ENERGY = SensorSpec(
    "bedroom", "radar", SensorKind.MOVEMENT_ENERGY, DEFAULT_MMWAVE_ENERGY_TOPIC, ESPHOME
)
PRESENCE = SensorSpec(
    "bedroom", "radar_presence", SensorKind.OCCUPANCY, DEFAULT_MMWAVE_PRESENCE_TOPIC, ESPHOME
)


@cache
def night() -> SimulatedNight:
    return simulate_night(SPEC)


@cache
def radar_readings() -> tuple[list[MovementEnergyReading], list[OccupancyReading]]:
    energies: list[MovementEnergyReading] = []
    presence: list[OccupancyReading] = []
    for t, topic, payload in night().messages():
        for spec, into in ((ENERGY, energies), (PRESENCE, presence)):
            if topic == spec.topic:
                parsed = parse_payload(spec, payload, t, topic)
                assert isinstance(parsed, list), (topic, payload)
                into.extend(parsed)  # type: ignore[arg-type]
    return energies, presence


def test_every_mmwave_payload_parses_as_esphome_sends_it() -> None:
    energies, presence = radar_readings()
    assert len(energies) > 600  # about one a second while it changes, for an hour
    assert presence[0].occupied
    assert all(0 <= r.energy_pct <= 100 and r.energy_pct == int(r.energy_pct) for r in energies)


def test_energy_is_reported_only_when_it_changes() -> None:
    energies, _ = radar_readings()
    values = [r.energy_pct for r in energies]
    assert all(a != b for a, b in itertools.pairwise(values))
    gaps = [b.t - a.t for a, b in itertools.pairwise(energies)]
    assert min(gaps) > 0.9  # one frame a throttle period of 1 s, never faster


def test_planted_movements_show_as_energy_spikes_and_stillness_does_not() -> None:
    energies, _ = radar_readings()
    labels = night().labels

    def peak(start: float, end: float) -> float:
        inside = [r.energy_pct for r in energies if start <= r.t <= end]
        return max(inside, default=0.0)

    moves = [lb for lb in labels if lb.kind in (LabelKind.JERK, LabelKind.TURNOVER)]
    assert moves
    assert all(peak(lb.start, lb.end + 3.0) >= 25 for lb in moves)
    busy = [(lb.start - 5, lb.end + 5) for lb in labels]
    quiet = [r.energy_pct for r in energies if not any(a <= r.t <= b for a, b in busy)]
    assert sorted(quiet)[len(quiet) // 2] < 10  # a still sleeper reads a few points


def test_presence_drops_while_out_of_the_room_and_returns() -> None:
    _, presence = radar_readings()
    (away,) = [lb for lb in night().labels if lb.kind is LabelKind.OUT_OF_BED]
    states = [(r.t, r.occupied) for r in presence]
    assert [s for _, s in states] == [True, False, True]
    assert away.start < states[1][0] < states[2][0] <= away.end + 1.0


def test_without_mmwave_the_night_is_unchanged() -> None:
    plain = simulate_night(SPEC.model_copy(update={"mmwave": False}))
    radar_topics = {DEFAULT_MMWAVE_ENERGY_TOPIC, DEFAULT_MMWAVE_PRESENCE_TOPIC}
    with_radar = [m for m in night().messages() if m[1] not in radar_topics]
    assert with_radar == list(plain.messages())
    assert plain.labels == night().labels
