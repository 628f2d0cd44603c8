"""The import pipeline against both stores (the ``store`` fixture runs each test on GeoPackage
and on PostGIS).

The hand-drawn compounds (EPSG:32650 metres, in Jinjiang)::

    y
    100 +------+   +------+     +-----+
        | good |   | bow  |     | neg |      good: a square, 120 households
        |  g1  |   |  \\/  |     | hh  |      bow:  a self-intersecting bow tie (repaired:
        |      |   |  /\\  |     | -5  |            two triangles, 5,000 m² in all)
      0 +------+   +------+     +-----+      neg:  a square with -5 households
        0    100  200   300   400   500      empty: an empty polygon
                                             line: a LineString (wrong type)
    hole: a square whose "hole" lies outside it (from 850 to 950): not repaired, since the
          repair would double its area
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely import LineString, Polygon, box

from gridplan.data.households import HouseholdParams
from gridplan.data.importer import (
    ImportKind,
    import_file,
    infer_kind,
    prepare_import,
)
from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.errors import CRSError, InputError, InvalidFeaturesError
from gridplan.plan import Level

pytestmark = pytest.mark.postgis

X0, Y0 = 660_000.0, 2_743_000.0  # near Qingyang, UTM 50N


def _square(x: float) -> list[tuple[float, float]]:
    return [(X0 + x, Y0), (X0 + x + 100, Y0), (X0 + x + 100, Y0 + 100), (X0 + x, Y0 + 100)]


def _compounds(path: Path, *, bad: bool) -> Path:
    rows = [("g1", 120.0, box(X0, Y0, X0 + 100, Y0 + 100))]
    rows.append(("g2", 80.0, box(X0 + 600, Y0, X0 + 700, Y0 + 100)))
    if bad:
        bow = Polygon([(X0 + 200, Y0), (X0 + 300, Y0 + 100), (X0 + 300, Y0), (X0 + 200, Y0 + 100)])
        rows += [
            ("bow", 10.0, bow),
            ("neg", -5.0, box(X0 + 400, Y0, X0 + 500, Y0 + 100)),
            ("empty", 3.0, Polygon()),
            ("line", 4.0, LineString([(X0, Y0 - 50), (X0 + 100, Y0 - 50)])),
            ("hole", 6.0, Polygon(_square(700), [_square(850)])),
        ]
    gdf = gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name": [f"小区{r[0]}" for r in rows]},
        geometry=[r[2] for r in rows],
        crs=32650,
    )
    gdf["households"] = [r[1] for r in rows]
    gdf.to_file(path, driver="GeoJSON" if path.suffix == ".geojson" else None)
    return path


def test_one_invalid_feature_loads_nothing(store: Store, tmp_path: Path) -> None:
    path = _compounds(tmp_path / "compounds.gpkg", bad=True)
    with pytest.raises(InvalidFeaturesError) as info:
        import_file(store, path, "compounds")
    reasons = {p.feature: p.reason for p in info.value.problems}
    assert set(reasons) == {"hole", "neg", "empty", "line"}  # the bow tie is repaired
    assert reasons["hole"] == (
        "invalid geometry (Hole lies outside shell[660850 2743000]); "
        "not repaired: its repair would change its area by 100%"
    )
    assert reasons["neg"] == "negative households (-5)"
    assert reasons["empty"] == "empty geometry"
    assert reasons["line"].startswith("wrong geometry type LineString")
    assert all(p.layer == "compounds" for p in info.value.problems)
    assert str(info.value).endswith(
        "--skip-invalid loads the other 3 feature(s) and lists the invalid one(s)"
    )
    assert store.count(LayerKind.COMPOUNDS) == 0


def test_skip_invalid_loads_the_rest_and_reports(store: Store, tmp_path: Path) -> None:
    path = _compounds(tmp_path / "compounds.gpkg", bad=True)
    result = import_file(store, path, "compounds", skip_invalid=True)
    assert result.loaded == {"compounds": 3}
    assert result.import_id is not None
    assert sorted(p.feature for p in result.skipped) == ["empty", "hole", "line", "neg"]
    assert [(p.layer, p.feature) for p in result.repaired] == [("compounds", "bow")]
    assert result.repaired[0].reason.startswith("repaired invalid geometry (Self-intersection")
    assert result.repaired[0].reason.endswith("now 2 polygons")
    assert result.to_dict()["repaired"] == [
        {"layer": "compounds", "feature": "bow", "reason": result.repaired[0].reason}
    ]
    assert [p.feature for p in store.read_imports()[-1].skipped] == [
        p.feature for p in result.skipped
    ]
    stored = store.read_layer(LayerKind.COMPOUNDS)
    assert stored["compound_id"].tolist() == ["bow", "g1", "g2"]
    assert stored["name"].tolist() == ["小区bow", "小区g1", "小区g2"]
    assert stored["households"].tolist() == [10.0, 120.0, 80.0]
    assert stored.crs.to_epsg() == 4326
    bow = stored.set_index("compound_id").to_crs(32650).geometry["bow"]
    assert bow.is_valid and bow.geom_type == "MultiPolygon"
    assert bow.area == pytest.approx(5_000, rel=1e-6)
    again = import_file(
        store, _compounds(tmp_path / "c2.gpkg", bad=False), "compounds", replace=True
    )
    assert again.loaded == {"compounds": 2}
    assert store.count(LayerKind.COMPOUNDS) == 2


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_missing_crs_is_named_and_loads_nothing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(0, 0, 1, 1)]).to_file(path)
    with pytest.raises(CRSError, match=r"nocrs\.shp"):
        import_file(store, path, "outline")
    assert store.count(LayerKind.OUTLINE) == 0


@pytest.mark.realdata
def test_tallahassee_roads_same_counts(store: Store, shared_data: Path) -> None:
    result = import_file(store, shared_data / "tallahassee/tallahassee.gpkg", "roads")
    assert result.loaded == {"roads": 567}
    assert store.count(LayerKind.ROADS) == 567
    roads = store.read_layer(LayerKind.ROADS)
    assert roads["road_class"].value_counts().to_dict() == {
        "local": 464,
        "secondary": 94,
        "motorway": 9,
    }


@pytest.mark.realdata
def test_cgcs2000_outline_stored_as_wgs84(store: Store, shared_data: Path) -> None:
    path = shared_data / "qingyang/jinjiang_outline.geojson"
    import_file(store, path, "outline")
    outline = store.read_layer(LayerKind.OUTLINE)
    assert outline.crs.to_epsg() == 4326
    assert outline["name"].tolist() == ["晋江市"]
    source = gpd.read_file(path)
    assert np.allclose(outline.total_bounds, source.total_bounds, atol=1e-6)


@pytest.mark.realdata
def test_osm_import_is_one_transaction(store: Store, helsinki_pbf: Path) -> None:
    # the extract's 15 broken polygons (12 buildings, 3 residential areas) are all cut at its
    # edge: skipped and reported by default, without --skip-invalid
    result = import_file(store, helsinki_pbf)
    assert result.kind is ImportKind.OSM
    assert result.loaded == {
        "roads": 867,
        "paths": 2321,
        "buildings": 474,
        "compounds": 22,
        "facilities": 6,
    }
    assert len(result.skipped) == 15
    assert all(p.reason.startswith("cut at the extract's edge (") for p in result.skipped)
    assert result.repaired == ()
    assert len(store.read_imports()[-1].skipped) == 15
    assert result.households is not None
    buildings = store.read_layer(LayerKind.BUILDINGS)
    assert len(buildings) == 474
    assert buildings["households"].sum() == pytest.approx(result.households.households)
    assert result.households.buildings == 474


@pytest.mark.realdata
def test_drawn_areas_become_a_plan(store: Store, shared_data: Path, tmp_path: Path) -> None:
    wards = shared_data / "providence/providence_wards.gpkg"
    result = import_file(store, wards, "areas")
    assert result.plan_id is not None and result.import_id is None
    assert result.loaded == {"areas": 15}
    plan = store.load_plan(result.plan_id)
    assert plan.source == "import:providence_wards.gpkg"
    assert len(plan.assignments) == 0
    communities = plan.areas_at(Level.COMMUNITY)
    assert len(communities) == 15
    assert sorted(communities["area_id"].astype(int)) == list(range(1, 16))
    grids = tmp_path / "grids.geojson"
    gpd.GeoDataFrame(
        {"网格名称": ["网格1", "网格2"], "community": ["1", "1"], "户数": [400, 350]},
        geometry=[box(-71.42, 41.82, -71.419, 41.821), box(-71.419, 41.82, -71.418, 41.821)],
        crs=4326,
    ).to_file(grids)
    gridded = import_file(store, grids, "areas", level="grid", fields={"parent_id": "community"})
    grid_areas = store.load_plan(gridded.plan_id).areas_at(Level.GRID)
    assert grid_areas["name"].tolist() == ["网格1", "网格2"]
    assert grid_areas["parent_id"].tolist() == ["1", "1"]
    assert grid_areas["households"].tolist() == [400.0, 350.0]


def test_buildings_keep_given_households(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "buildings.gpkg"
    gpd.GeoDataFrame(
        {
            "id": ["b1", "b2"],
            "building": ["apartments", "apartments"],
            "floors": [6, None],
            "户数": [48, None],
        },
        geometry=[box(X0, Y0, X0 + 30, Y0 + 20), box(X0 + 50, Y0, X0 + 80, Y0 + 20)],
        crs=32650,
    ).to_file(path)
    params = HouseholdParams(floor_area_per_household=100.0)
    result = import_file(store, path, "buildings", household_params=params)
    stored = store.read_layer(LayerKind.BUILDINGS).set_index("building_id")
    assert stored.loc["b1", "households"] == 48  # given
    assert stored.loc["b2", "households"] == pytest.approx(600 * 5 / 100)  # default 5 levels
    assert result.households is not None and result.households.given == 1


def test_kind_inference_and_bad_options(tmp_path: Path, helsinki_pbf: Path) -> None:
    assert infer_kind("x.osm.pbf") is ImportKind.OSM
    assert infer_kind("x.gpkg", "roads") is ImportKind.ROADS
    with pytest.raises(InputError, match="--kind"):
        infer_kind("x.gpkg")
    with pytest.raises(InputError, match="unknown kind 'parks'"):
        infer_kind("x.gpkg", "parks")
    with pytest.raises(InputError, match="--kind osm"):
        infer_kind("x.pbf", "roads")
    with pytest.raises(InputError, match="do not apply"):
        prepare_import(helsinki_pbf, layer="roads")
