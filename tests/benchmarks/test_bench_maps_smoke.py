"""Smoke test of the map benchmark on a small slice of Providence (so the script can't rot)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from bench_maps import run


@pytest.mark.slow
@pytest.mark.realdata
def test_bench_maps_runs_on_a_slice(shared_data: Path, tmp_path: Path) -> None:
    blocks = gpd.read_file(shared_data / "providence" / "providence_blocks.gpkg").iloc[:150]
    result = run(blocks, copies=1, folder=tmp_path, browser=False)
    assert result["units"] == 150
    ours, peer = result["size_mb"]
    assert ours > 0 and peer > 0
    assert (tmp_path / "gridplan.html").exists() and (tmp_path / "folium.html").exists()
