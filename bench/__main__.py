"""Every benchmark table: python -m bench (ingest, detection, comfort; a few minutes)."""

from __future__ import annotations

import argparse

from bench import comfort, detection, ingest


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print("== ingest: a night through replay ==")
    ingest.main([])
    print("\n== detection: simulated nights, pipeline vs fixed threshold ==")
    detection.main([])
    print("\n== comfort: our controller vs HA generic_thermostat ==")
    comfort.main()


if __name__ == "__main__":
    main()
