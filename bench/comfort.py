"""Whole simulated nights: our comfort controller against HA's generic_thermostat.

Run: python -m bench.comfort [--seeds N]

Same room model, same sensors (median of three), same schedule: generic_thermostat gets the
band's middle as its target at each band change (as an HA automation would), HA's default
tolerance 0.3 °C and the common 0.5 °C, and the same minimum cycle as ours. Scored on the true
air temperature from 21:30 to 08:00 against the band in force.
"""

from __future__ import annotations

import argparse
import statistics

from integration.core.simulation.thermal import (
    COLD,
    MILD,
    WARM,
    Controller,
    NightResult,
    Setup,
    run_night,
)

_TOLERANCES_C = (0.3, 0.5)  # HA's default tolerance, and a common wider one
# Every night with every setup, except those where nothing can act (cooling a freezing night,
# heating a hot one): there all controllers score the same and switch nothing.
_SCENARIOS = (
    (COLD, (Setup.HEATER, Setup.BOTH)),
    (MILD, (Setup.HEATER, Setup.COOLER, Setup.FAN, Setup.BOTH)),
    (WARM, (Setup.COOLER, Setup.FAN, Setup.BOTH)),
)


def _mean(results: list[NightResult]) -> tuple[float, float, float]:
    return (
        statistics.fmean(r.in_band_share for r in results),
        statistics.fmean(r.outside_degree_min for r in results),
        statistics.fmean(r.switches_per_h for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="nights per scenario")
    args = parser.parse_args()
    seeds = range(1, args.seeds + 1)
    who = [("ours", Controller.OURS, 0.0)] + [
        (f"generic±{tol:g}", Controller.GENERIC, tol) for tol in _TOLERANCES_C
    ]
    header = f"{'night':<6}{'actuators':<10}{'controller':<13}{'in band':>8}{'°C·min out':>12}{'switch/h':>10}"
    print(header)
    print("-" * len(header))
    for weather, setups in _SCENARIOS:
        for setup in setups:
            for name, controller, tol in who:
                results = [
                    run_night(controller, weather, setup, seed, tolerance_c=tol or 0.3)
                    for seed in seeds
                ]
                share, outside, switches = _mean(results)
                print(
                    f"{weather.name:<6}{setup:<10}{name:<13}{share:>8.1%}{outside:>12.1f}{switches:>10.2f}"
                )
        print()
    print(f"mean of {len(seeds)} seeded nights per row; tz Europe/London")


if __name__ == "__main__":
    main()
