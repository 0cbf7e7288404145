"""Benchmarks and evaluations: commands that measure, not tests (numbers depend on the machine)."""
