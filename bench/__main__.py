"""Every benchmark table: python -m bench (ingest, detection, comfort, e2e, memory, rooms, rawnights, association, report)."""

from __future__ import annotations

import argparse

from bench import association, comfort, detection, e2e, ingest, memory, rawnights, report, rooms


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print("== ingest: a night through replay ==")
    ingest.main([])
    print("\n== detection: simulated nights, pipeline vs fixed threshold ==")
    detection.main([])
    print("\n== comfort: our controller vs HA generic_thermostat ==")
    comfort.main()
    print("\n== e2e: throughput on a real broker, live detection delay ==")
    e2e.main([])
    print("\n== memory: a week of nights through one pipeline ==")
    memory.main([])
    print("\n== rooms: rooms per service instance at 50 Hz ==")
    rooms.main([])
    print("\n== rawnights: a month of kept raw nights, disk used against the cap ==")
    rawnights.main([])
    print("\n== association: the weeks' statistics on 90 simulated nights ==")
    association.main([])
    print("\n== report: 30 and 90 simulated nights gathered, drawn and printed to PDF ==")
    report.main([])


if __name__ == "__main__":
    main()
