"""Every benchmark script under bench/ still imports: the benchmarks are commands, not tests,
so nothing else notices when a move in kofu breaks one (bench/match_corruptions.py once
imported a helper that had moved, and the matching benchmark could not start)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
# Needs the `eval` extra (Splink, FEBRL's helpers), which `make test` does not install.
NEEDS_EVAL_EXTRA = {"match_febrl"}


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__"))
def test_the_benchmark_imports(name: str) -> None:
    if name in NEEDS_EVAL_EXTRA:
        pytest.importorskip("jellyfish")
    importlib.import_module(f"bench.{name}")
