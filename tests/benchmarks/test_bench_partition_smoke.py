"""Smoke tests of the partition benchmarks on tiny inputs, so they cannot rot."""

from __future__ import annotations

import pytest
from bench_partition_gerrychain import compare as compare_gerrychain
from bench_partition_gerrychain import grid_instance
from bench_partition_scale import report
from bench_partition_spopt import compare as compare_spopt
from bench_partition_spopt import lattice_instance


@pytest.mark.slow
@pytest.mark.benchmark
def test_spopt_benchmark_on_a_tiny_lattice() -> None:
    numbers = compare_spopt(lattice_instance(8, seed=1), construction=2, annealing=1)
    assert numbers["ours_valid"] == 1.0 and numbers["ours_out_of_band"] == 0
    assert numbers["ours_areas"] >= 1 and numbers["spopt_areas"] >= 1
    assert numbers["ratio"] > 0


@pytest.mark.slow
@pytest.mark.benchmark
def test_gerrychain_benchmark_on_a_tiny_grid() -> None:
    numbers = compare_gerrychain("grid 12x12", grid_instance(12), 4, steps=5)
    assert numbers["ours_rate"] > 0 and numbers["gc_rate"] > 0
    assert numbers["ours_first"] > 0 and numbers["gc_first"] > 0


@pytest.mark.slow
@pytest.mark.benchmark
def test_scale_benchmark_on_a_small_lattice() -> None:
    numbers = report(25, peer=True)
    assert set(numbers) == {"first", "full", "fixed", "peer"}
    assert all(v > 0 for v in numbers.values())
