"""The comfort controller in rooms it was not tuned on: the benchmark's family, as a regression.

Each row is the room's second night: the first one taught the controller the room, as the
service keeps what it learned in its history. Figures for every row: `python -m bench.comfort`.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bench.comfort import SCENARIOS, second_night
from integration.core.comfort import ComfortController, ComfortSettings
from integration.core.readings import TemperatureReading
from integration.core.simulation.thermal import (
    COLD,
    ROOMS,
    Controller,
    Setup,
    Weather,
    run_night,
)

COLD_ZONE = ZoneInfo("Europe/London")
ROWS = [
    (room, weather, setup) for room in ROOMS for weather, setups in SCENARIOS for setup in setups
]


@pytest.mark.parametrize(
    ("room", "weather", "setup"), ROWS, ids=[f"{r}-{w.name}-{s}" for r, w, s in ROWS]
)
def test_heating_and_cooling_never_take_turns_and_it_holds_what_the_thermostat_holds(
    room: str, weather: Weather, setup: Setup
) -> None:
    model = ROOMS[room]
    ours = second_night(weather, setup, 1, model)
    thermostat = run_night(Controller.GENERIC, weather, setup, seed=1, tolerance_c=0.3, model=model)
    assert ours.reversals == 0
    # Within 3 points of the on/off thermostat in every room; ahead of it on the whole family.
    assert ours.in_band_share >= thermostat.in_band_share - 0.03
    assert ours.switches_per_h <= 4.5


def test_on_the_whole_family_it_is_ahead_of_the_thermostat() -> None:
    ours = [second_night(w, s, 1, ROOMS[r]).in_band_share for r, w, s in ROWS]
    thermostat = [
        run_night(Controller.GENERIC, w, s, seed=1, tolerance_c=0.3, model=ROOMS[r]).in_band_share
        for r, w, s in ROWS
    ]
    assert sum(ours) / len(ours) >= sum(thermostat) / len(thermostat) + 0.05


def test_what_it_learned_survives_a_restart() -> None:
    first = run_night(Controller.OURS, COLD, Setup.HEATER, seed=101, model=ROOMS["two_mass_laggy"])
    learned = dict(first.learned)
    assert learned["observations"]
    assert learned["heat_stop"] > 0  # it saw the room run on
    restarted = ComfortController("bedroom", [], ComfortSettings(), COLD_ZONE)
    restarted.restore_learned(learned)
    assert restarted.learned() == learned


def test_nothing_odd_is_taken_back_from_a_damaged_history() -> None:
    controller = ComfortController("bedroom", [], ComfortSettings(), COLD_ZONE)
    controller.restore_learned(
        {"heat_start": "hot", "heat_stop": 99.0, "lag_s": float("nan"), "observations": -3}
    )
    learned = controller.learned()
    assert (learned["heat_start"], learned["heat_stop"]) == (0.0, 1.5)  # default; bounded
    assert (learned["lag_s"], learned["observations"]) == (None, 0)


def test_a_room_running_on_is_switched_that_much_ahead() -> None:
    """Heating that overshot by 0.4 °C last time stops 0.4 °C sooner this time."""
    settings = ComfortSettings(schedule_lead_s=0)
    plain = ComfortController("bedroom", [], settings, ZoneInfo("UTC"))
    taught = ComfortController("bedroom", [], settings, ZoneInfo("UTC"))
    taught.restore_learned({"heat_stop": 0.4, "heat_start": 0.2})
    reading = TemperatureReading("bedroom", "t", 0.0, 18.0)
    plain.step([reading], 0.0)
    taught.step([reading], 0.0)
    band = plain.status(0.0)[1]
    before, after = plain._band_edges(band), taught._band_edges(band)
    assert after.heat_off_c == pytest.approx(before.heat_off_c - 0.4)
    assert after.heat_on_c == pytest.approx(before.heat_on_c + 0.2)
