"""Whole simulated nights in a family of bedrooms: our comfort controller against HA's thermostat.

Run: python -m bench.comfort [--seeds N] [--room NAME ...]

Same room model, same sensors (median of three), same schedule for every controller in a row:
generic_thermostat gets the band's middle as its target at each band change (as an HA
automation would), HA's default tolerance 0.3 °C — the plain on/off thermostat — and the common
0.5 °C, with the same 5-minute minimum cycle as ours. Scored on the true air temperature from
21:30 to 08:00 against the band in force. The rooms (`ROOMS` in the thermal model) differ in
mass, insulation, actuator power, sensor lag and sensor offsets; `reference` is the room the
controller was first tuned on. "ours" has run one night in the room before (as the service
keeps what it learned in its history); "1st night" is the same controller knowing nothing.
A reversal is heating started within 30 minutes of cooling stopping, or the other way round.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

from integration.core.simulation.thermal import (
    COLD,
    MILD,
    ROOMS,
    WARM,
    Controller,
    NightResult,
    RoomModel,
    Setup,
    Weather,
    run_night,
)

# Every night with the setups where the actuators can act on the band (a heater on a cold night,
# a cooler on a warm one, both on a mild one); a fan alone cannot cool a warm night.
SCENARIOS = (
    (COLD, (Setup.HEATER, Setup.BOTH)),
    (MILD, (Setup.HEATER, Setup.BOTH)),
    (WARM, (Setup.COOLER, Setup.BOTH)),
)
_LEARNING_SEED_OFFSET = 100  # the night before has weather noise of its own


def second_night(weather: Weather, setup: Setup, seed: int, model: RoomModel) -> NightResult:
    """Our controller's second night in the room, after one night of learning it."""
    first = run_night(Controller.OURS, weather, setup, seed + _LEARNING_SEED_OFFSET, model=model)
    return run_night(
        Controller.OURS, weather, setup, seed, model=model, learned=dict(first.learned)
    )


def _mean(run: Callable[[int], NightResult], seeds: range) -> tuple[float, float, float]:
    results = [run(seed) for seed in seeds]
    return (
        statistics.fmean(r.in_band_share for r in results),
        statistics.fmean(r.switches_per_h for r in results),
        statistics.fmean(r.reversals for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="nights per row")
    parser.add_argument("--room", action="append", choices=sorted(ROOMS), help="only these rooms")
    args = parser.parse_args()
    seeds = range(1, args.seeds + 1)
    print(f"{'':<37}{'ours':^24}{'1st night':>10}{'on/off thermostat ±0.3':^28}{'±0.5':>8}")
    header = (
        f"{'room':<29}{'night':<6}{'acts':<7}"
        f"{'in band':>8}{'sw/h':>7}{'rev':>6}   {'in band':>9}"
        f"{'in band':>11}{'sw/h':>7}{'rev':>6}   {'in band':>8}"
    )
    print(header)
    print("-" * len(header))
    ours_all: list[float] = []
    onoff_all: list[float] = []
    behind = 0
    reversals = 0.0
    for room_name in args.room or list(ROOMS):
        model = ROOMS[room_name]
        for weather, setups in SCENARIOS:
            for setup in setups:
                ours = _mean(lambda s, w=weather, u=setup, m=model: second_night(w, u, s, m), seeds)
                first = _mean(
                    lambda s, w=weather, u=setup, m=model: run_night(
                        Controller.OURS, w, u, s, model=m
                    ),
                    seeds,
                )
                onoff = _mean(
                    lambda s, w=weather, u=setup, m=model: run_night(
                        Controller.GENERIC, w, u, s, tolerance_c=0.3, model=m
                    ),
                    seeds,
                )
                wide = _mean(
                    lambda s, w=weather, u=setup, m=model: run_night(
                        Controller.GENERIC, w, u, s, tolerance_c=0.5, model=m
                    ),
                    seeds,
                )
                ours_all.append(ours[0])
                onoff_all.append(onoff[0])
                behind += ours[0] < onoff[0]
                reversals += ours[2]
                print(
                    f"{room_name:<29}{weather.name:<6}{setup:<7}"
                    f"{ours[0]:>8.1%}{ours[1]:>7.2f}{ours[2]:>6.1f}   {first[0]:>9.1%}"
                    f"{onoff[0]:>11.1%}{onoff[1]:>7.2f}{onoff[2]:>6.1f}   {wide[0]:>8.1%}"
                )
        print()
    print(
        f"mean of {len(seeds)} seeded nights per row, tz Europe/London; in band on the whole "
        f"family: ours {statistics.fmean(ours_all):.1%}, on/off thermostat "
        f"{statistics.fmean(onoff_all):.1%}; rows where ours is behind it: {behind} of "
        f"{len(ours_all)}; our reversals per night, summed over rows: {reversals:.1f}"
    )


if __name__ == "__main__":
    main()
