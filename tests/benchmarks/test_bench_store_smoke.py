"""Smoke test of bench_store.py on a tiny input, so the benchmark cannot rot."""

from __future__ import annotations

import geopandas as gpd
import pytest
from bench_store import compare
from shapely import LineString, box

from gridplan.data.layers import LayerKind


@pytest.mark.slow
@pytest.mark.postgis
def test_bench_store_runs_on_a_tiny_input(postgis_url: str) -> None:
    units = gpd.GeoDataFrame(
        {"unit_id": [f"u{i}" for i in range(6)], "households": 10.0, "residents": 25.0},
        geometry=[box(i, 0, i + 1, 1) for i in range(6)],
        crs=4326,
    )
    roads = gpd.GeoDataFrame(
        {"road_id": ["r1", "r2"], "road_class": "local", "name": ["A", "B"]},
        geometry=[LineString([(0, 0), (6, 0)]), LineString([(0, 1), (6, 1)])],
        crs=4326,
    )
    times = compare({LayerKind.UNITS: units, LayerKind.ROADS: roads}, repeat=1, db=postgis_url)
    contenders = ("gridplan-gpkg", "geopandas-gpkg", "gridplan-postgis", "geopandas-postgis")
    assert set(times) == {f"{c}.{s}" for c in contenders for s in ("write", "read")}
    assert all(t > 0 for t in times.values())
