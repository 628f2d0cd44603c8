"""Smoke test of bench_check.py on a tiny lattice, so the benchmark cannot rot."""

from __future__ import annotations

import pytest
from bench_check import (
    compare,
    lattice_instance,
    postgis_sql,
    run_gridplan,
    run_maup,
)


@pytest.mark.slow
@pytest.mark.postgis
def test_bench_check_runs_on_a_tiny_lattice(postgis_url: str) -> None:
    inst = lattice_instance(side=9, n_areas=3, seed=1)
    assert len(inst.units) == 81
    report = run_gridplan(inst)
    assert len(report.areas) == len(inst.areas)
    assert report.areas["households"].sum() == inst.units["households"].sum()
    # Roads on two of every three lattice lines: some boundary follows no road.
    assert 0 < report.areas["road_boundary_share"].mean() < 1
    times = compare(inst, repeat=1, db=postgis_url, use_maup=True)
    assert set(times) == {"gridplan", "postgis", "maup"}
    assert all(t > 0 for t in times.values())
    healthy, n_adjacent = run_maup(inst.areas)
    assert healthy and n_adjacent >= 2
    assert len(postgis_sql("s", with_roads=True, coverage_functions=False)) == 5
