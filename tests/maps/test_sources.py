"""Map layers gathered from a real store (GeoPackage and PostGIS) and checked by the rules.

The stored subdistrict (UTM 50N metres from X0, Y0; two communities, two grids each)::

    y=1000 +-----+-----+-----+-----+
           | a1  | a2  | b1  | b2  |     A = a1 + a2: 2,400 households (in 1000–3000)
           |  A  |  A  |  B  |  B  |     B = b1 + b2:   600 households (under)
    y=0    +-----+-----+-----+-----+     grids: 1,200 / 1,200 / 300 / 300 households
          x=0   500  1000  1500  2000    road (local) along y=0 and x=1000
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from mapkit import features_of, overlay_names
from shapely import LineString, box

from gridplan.data.crs import to_storage
from gridplan.data.layers import LayerKind, normalise
from gridplan.data.store.base import Store
from gridplan.errors import NotFoundError
from gridplan.maps.render import map_html, render_plan_map
from gridplan.ops.maps import stored_map_layers as store_layers
from gridplan.plan import Plan

pytestmark = pytest.mark.postgis

CRS = "EPSG:32650"
X0, Y0 = 654_000.0, 2_745_000.0


def _b(x0: float, x1: float) -> object:
    return box(X0 + x0, Y0, X0 + x1, Y0 + 1000)


def _plan(name: str, targets: dict[str, object] | None = None) -> Plan:
    areas = gpd.GeoDataFrame(
        {
            "level": ["community", "community", "grid", "grid", "grid", "grid"],
            "area_id": ["A", "B", "a1", "a2", "b1", "b2"],
            "name": ["青新社区", "阳光社区", None, None, None, None],
            "code": [
                "350582001004",
                "350582001015",
                "350582001004001",
                "350582001004002",
                "350582001015001",
                "350582001015002",
            ],
            "parent_id": [None, None, "A", "A", "B", "B"],
            "households": [2400.0, 600.0, 1200.0, 1200.0, 300.0, 300.0],
            "residents": [None] * 6,
        },
        geometry=[
            *(_b(0, 1000), _b(1000, 2000)),
            *(_b(0, 500), _b(500, 1000), _b(1000, 1500), _b(1500, 2000)),
        ],
        crs=CRS,
    )
    units = pd.DataFrame(
        {
            "unit_id": ["a1", "a2", "b1", "b2"],
            "community_id": ["A", "A", "B", "B"],
            "grid_id": ["a1", "a2", "b1", "b2"],
        }
    )
    return Plan(name=name, assignments=units, areas=to_storage(areas), targets=targets or {})


def _load(store: Store) -> None:
    roads = gpd.GeoDataFrame(
        {"road_id": ["r1", "r2"], "road_class": ["local", "local"], "name": ["青华路", None]},
        geometry=[
            LineString([(X0, Y0), (X0 + 2000, Y0)]),
            LineString([(X0 + 1000, Y0), (X0 + 1000, Y0 + 1000)]),
        ],
        crs=CRS,
    )
    units = gpd.GeoDataFrame(
        {"unit_id": ["a1", "a2", "b1", "b2"], "households": [1200.0, 1200.0, 300.0, 300.0]},
        geometry=[_b(0, 500), _b(500, 1000), _b(1000, 1500), _b(1500, 2000)],
        crs=CRS,
    )
    store.import_layers(
        {LayerKind.ROADS: normalise("roads", roads), LayerKind.UNITS: normalise("units", units)},
        source="fixture",
    )


def test_latest_plan_checked_when_no_findings_stored(store: Store) -> None:
    _load(store)
    store.save_plan(_plan("old"))
    latest = store.save_plan(_plan("新方案"))
    layers = store_layers(store)
    assert layers.title == f"新方案 (plan {latest})"
    assert len(layers.communities) == 2 and layers.grids is not None and len(layers.grids) == 4
    assert layers.units is not None and len(layers.units) == 4
    assert layers.findings is not None
    rules = sorted(layers.findings["rule"])
    assert "size.under" in rules  # B: 600 households
    by_area = layers.findings.groupby(["level", "area_id"])["rule"].apply(set).to_dict()
    assert "size.under" in by_area[("community", "B")]
    assert ("community", "A") not in by_area or "size.under" not in by_area[("community", "A")]
    assert "size.over" in by_area[("grid", "a1")]  # 1,200 > 500
    page = map_html(render_plan_map(layers))
    assert "Units (4)" in overlay_names(page)
    shares = {
        f["properties"]["name"]: f["properties"]["road_share"]
        for f in features_of(page, "Communities")
    }
    assert shares["青新社区"].endswith("%")


def test_given_plan_with_stored_findings_and_targets(store: Store) -> None:
    _load(store)
    findings = gpd.GeoDataFrame(
        {
            "rule": ["coverage.gap"],
            "severity": ["error"],
            "level": ["community"],
            "area_id": [None],
            "value": [2500.0],
            "message": ["gap of 2,500 m²"],
        },
        geometry=[box(X0 + 2000, Y0, X0 + 2050, Y0 + 50)],
        crs=CRS,
    )
    first = store.save_plan(_plan("带目标", {"community": {"households": [500, 2000]}}), findings)
    store.save_plan(_plan("later"))
    layers = store_layers(store, first, include_units=False)
    assert layers.units is None
    assert layers.findings is not None and list(layers.findings["rule"]) == ["coverage.gap"]
    page = map_html(render_plan_map(layers))
    names = overlay_names(page)
    assert "Communities (band 500–2,000 households)" in names
    assert "Finding coverage.gap (1)" in names
    status = {
        f["properties"]["name"]: f["properties"]["_s"].split("|")[1]
        for f in features_of(page, "Communities")
    }
    assert status == {"青新社区": "over", "阳光社区": "in"}


def test_no_plan_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store_layers(store)
