"""Smoke test of bench_units.py on a 2 x 1 tiling (so the benchmark can't rot)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_units import run, tiled_inputs


@pytest.mark.slow
@pytest.mark.realdata
def test_bench_units_runs_on_two_tiles(shared_data: Path) -> None:
    roads, points = tiled_inputs(2, 1)
    assert len(roads) == 2 * 567
    result = run(roads, points)
    assert result["households_in"] == 2 * 7102
    assert result["households_placed"] == 2 * 7102
    assert result["blocks"] > 200
    assert result["polygonize_s"] > 0 and result["peer_s"] > 0
