"""Smoke test of bench_cells_scale.py on two copies of the town (so the benchmark can't rot)."""

from __future__ import annotations

import pytest
from bench_cells_scale import run


@pytest.mark.slow
def test_bench_cells_scale_runs_on_two_copies() -> None:
    r = run(4000, with_peer=True)
    assert r["copies"] == 2 and r["buildings"] == 4000
    assert r["households"] == pytest.approx(r["households_in"])
    assert r["grids"] > 0 and r["grids_in_band"] >= 0.95
    assert r["tessellation_ours"] > 0 and r["tessellation_momepy"] > 0
