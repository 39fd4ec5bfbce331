from __future__ import annotations

import pytest

from integration.core.simulation.thermal import (
    COLD,
    MILD,
    WARM,
    Controller,
    GenericThermostat,
    Setup,
    Weather,
    run_night,
)

NIGHT_CASES = [
    ("cold_heater", COLD, Setup.HEATER),
    ("mild_both", MILD, Setup.BOTH),
    ("warm_cooler", WARM, Setup.COOLER),
]


@pytest.mark.parametrize(
    ("weather", "setup"), [c[1:] for c in NIGHT_CASES], ids=[c[0] for c in NIGHT_CASES]
)
def test_ours_is_in_band_longer_with_fewer_switches_than_generic_thermostat(
    weather: Weather, setup: Setup
) -> None:
    ours = run_night(Controller.OURS, weather, setup, seed=1)
    generic = run_night(Controller.GENERIC, weather, setup, seed=1, tolerance_c=0.3)
    assert ours.in_band_share > generic.in_band_share
    assert ours.outside_degree_min < generic.outside_degree_min
    assert ours.switches_per_h <= generic.switches_per_h
    assert ours.reversals == 0


def test_same_seed_gives_the_same_night() -> None:
    assert run_night(Controller.OURS, MILD, Setup.BOTH, seed=7) == run_night(
        Controller.OURS, MILD, Setup.BOTH, seed=7
    )


def heater(min_cycle_s: float = 0.0) -> GenericThermostat:
    return GenericThermostat(
        ac_mode=False,
        cold_tolerance_c=0.3,
        hot_tolerance_c=0.3,
        min_cycle_duration_s=min_cycle_s,
        cycle_cooldown_s=min_cycle_s,
    )


GENERIC_CASES = [
    # HA: too_cold = target > cur + cold_tolerance (strict), too_hot = target < cur - hot_tolerance
    ("at_cold_tolerance_stays_off", [19.7], False),
    ("below_cold_tolerance_turns_on", [19.69], True),
    ("at_hot_tolerance_stays_on", [19.0, 20.3], True),
    ("above_hot_tolerance_turns_off", [19.0, 20.31], False),
]


@pytest.mark.parametrize(
    ("temps", "on"), [c[1:] for c in GENERIC_CASES], ids=[c[0] for c in GENERIC_CASES]
)
def test_generic_thermostat_uses_strict_tolerances_around_one_target(
    temps: list[float], on: bool
) -> None:
    thermostat = heater()
    thermostat.set_target(20.0, 0.0)
    for i, temp_c in enumerate(temps):
        thermostat.sensor_changed(temp_c, float(i + 1))
    assert thermostat.on is on


def test_generic_thermostat_waits_min_cycle_then_rechecks_on_its_timer() -> None:
    thermostat = heater(min_cycle_s=300.0)
    thermostat.set_target(20.0, 0.0)
    thermostat.sensor_changed(19.0, 0.0)  # on at t=0 (the first toggle is not held back)
    thermostat.sensor_changed(21.0, 100.0)  # too hot, but only 100 s on
    assert thermostat.on
    thermostat.timer(299.0)
    assert thermostat.on
    thermostat.timer(300.0)
    assert not thermostat.on


def test_generic_thermostat_target_change_forces_a_decision() -> None:
    thermostat = heater(min_cycle_s=300.0)
    thermostat.set_target(20.0, 0.0)
    thermostat.sensor_changed(19.0, 0.0)
    thermostat.set_target(18.0, 10.0)  # force=True ignores min_cycle_duration, as in HA
    assert not thermostat.on
