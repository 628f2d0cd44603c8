"""The metric CRS chosen for computation."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely import box

from gridplan.data.crs import metric_crs
from gridplan.data.households import estimate_households


def _helsinki_square_in_web_mercator() -> gpd.GeoDataFrame:
    """A 100 m x 100 m building footprint in central Helsinki (UTM 35N), stored in EPSG:3857."""
    utm = gpd.GeoDataFrame(
        {"building_id": ["b"], "levels": [4.0], "use": ["apartments"]},
        geometry=[box(385_000, 6_672_000, 385_100, 6_672_100)],
        crs=32635,
    )
    return utm.to_crs(3857)


def test_web_mercator_is_not_used_for_measuring() -> None:
    web = _helsinki_square_in_web_mercator()
    # Web Mercator "metres" at 60°N are stretched by 1/cos(60°) = 2: its area reads ~4x
    assert web.geometry.area.iloc[0] == pytest.approx(40_000, rel=0.02)
    crs = metric_crs(web)
    assert crs.to_epsg() == 32635
    assert web.to_crs(crs).geometry.area.iloc[0] == pytest.approx(10_000, rel=1e-6)


def test_households_from_a_web_mercator_layer_use_true_areas() -> None:
    est = estimate_households(_helsinki_square_in_web_mercator())
    # 10,000 m² x 4 levels / 90 m² per household, not four times that
    assert est.buildings["households"].iloc[0] == pytest.approx(40_000 / 90, rel=1e-6)


def test_a_true_projected_crs_in_metres_is_kept() -> None:
    gdf = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs=2779)
    assert metric_crs(gdf).to_epsg() == 2779
