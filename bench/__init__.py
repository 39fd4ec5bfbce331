"""Benchmarks that print the tables quoted in the issues: `python -m bench` runs them all."""
