"""enclave.exclave and enclave.embedded on hand-drawn shapes with known answers."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from gridplan.geo.rules import check_areas

X0, Y0 = 660_000.0, 2_744_000.0
CRS = 32650


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _areas(rows: list[tuple[str, shapely.Geometry, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": [r[0] for r in rows], "households": [r[2] for r in rows]},
        geometry=[r[1] for r in rows],
        crs=CRS,
    )


def test_donut_island_is_embedded() -> None:
    """An island community inside a donut.

    ::

        +-----------------+
        |  donut (2500)   |
        |    +-------+    |
        |    |island |    |
        |    | (1500)|    |
        |    +-------+    |
        +-----------------+
    """
    outer = _box(0, 0, 600, 600)
    hole = _box(200, 200, 400, 400)
    report = check_areas(_areas([("donut", outer.difference(hole), 2500), ("island", hole, 1500)]))
    emb = report.findings[report.findings["rule"] == "enclave.embedded"]
    assert list(emb["area_id"]) == ["island"]
    assert emb["value"].iloc[0] == 1500
    assert "inside donut" in emb["message"].iloc[0]
    assert emb.geometry.iloc[0].equals(hole)
    assert (report.findings["rule"] == "enclave.exclave").sum() == 0


def test_area_in_a_notch_on_the_outline_is_embedded_but_two_halves_are_not() -> None:
    """``n`` sits in a notch of ``a`` on the outline; ``a`` also borders ``b``.

    ::

        +--------+---+--------+
        |   a    | n |   b    |      n touches the outline (top) and otherwise only a
        |  +-----+   |        |      (a wraps round it); a and b share x=300.
        |  |         |        |
        +--+---------+--------+

    A subdistrict of just two halves: neither is inside the other.
    """
    n = _box(100, 200, 200, 300)
    a = _box(0, 0, 300, 300).difference(n)
    b = _box(300, 0, 600, 300)
    report = check_areas(_areas([("a", a, 2000), ("n", n, 1200), ("b", b, 2000)]))
    emb = report.findings[report.findings["rule"] == "enclave.embedded"]
    assert list(emb["area_id"]) == ["n"]
    assert "off the outline" in emb["message"].iloc[0]

    halves = check_areas(
        _areas([("l", _box(0, 0, 300, 300), 2000), ("r", _box(300, 0, 600, 300), 2000)])
    )
    assert len(halves.findings) == 0


def test_two_part_community_reports_detached_part_with_households_and_neighbour() -> None:
    """Community ``a`` has a main part and a detached part east of ``b``.

    ::

        +--------+--------+--+--------+
        |   a    |   b    |a'|   c    |   a' (the detached part, 50 x 100 m) borders
        |        |        |  |        |   b (100 m) and c (100 m + 50 m below)
        +--------+--------+--+        |
        |          d         |        |
        +--------------------+--------+

    Households come from compound points, so the part's own households are known.
    """
    a_main = _box(0, 100, 100, 200)
    a_part = _box(200, 100, 250, 200)
    b = _box(100, 100, 200, 200)
    c = _box(250, 0, 350, 200)
    d = _box(0, 0, 250, 100)
    areas = gpd.GeoDataFrame(
        {"area_id": ["a", "b", "c", "d"]},
        geometry=[shapely.MultiPolygon([a_main, a_part]), b, c, d],
        crs=CRS,
    )
    compounds = gpd.GeoDataFrame(
        {"compound_id": ["k1", "k2", "k3"], "households": [1500.0, 320.0, 2000.0]},
        geometry=[
            shapely.Point(X0 + 50, Y0 + 150),
            shapely.Point(X0 + 225, Y0 + 150),
            shapely.Point(X0 + 150, Y0 + 150),
        ],
        crs=CRS,
    )
    report = check_areas(areas, compounds=compounds)
    ex = report.findings[report.findings["rule"] == "enclave.exclave"]
    assert len(ex) == 1
    assert ex["area_id"].iloc[0] == "a"
    assert ex["value"].iloc[0] == 320
    assert ex.geometry.iloc[0].equals(a_part)
    # c borders the part along x=250 (100 m); b along x=200 (100 m); d along y=100 (50 m):
    # ties broken by area order, so b.
    assert "borders b most (100 m)" in ex["message"].iloc[0]
    assert ex["severity"].iloc[0] == "error"
    row = report.areas.set_index("id").loc["a"]
    assert row["parts"] == 2
    assert row["households"] == 1820


def test_touching_at_a_single_point_is_not_contiguity() -> None:
    """``a`` is two squares meeting only at a corner: two parts, one detached.

    ::

        +----+----+
        | b  | a2 |
        +----X----+     X: a1 and a2 touch at one point
        | a1 | c  |
        +----+----+
    """
    a = shapely.union_all([_box(0, 0, 100, 100), _box(100, 100, 200, 200)])
    assert a.geom_type == "MultiPolygon"
    report = check_areas(
        _areas(
            [
                ("a", a, 2000),
                ("b", _box(0, 100, 100, 200), 2000),
                ("c", _box(100, 0, 200, 100), 2000),
            ]
        )
    )
    ex = report.findings[report.findings["rule"] == "enclave.exclave"]
    assert list(ex["area_id"]) == ["a"]
    # Households of the part pro rata by area from the column (1000 of 2000).
    assert ex["value"].iloc[0] == pytest.approx(1000)
    assert "about 1,000 households" in ex["message"].iloc[0]
    assert report.areas.set_index("id").loc["a", "parts"] == 2


def test_detached_sliver_is_ignored_and_counted() -> None:
    """A 0.5 m wide detached scrap is a digitising sliver, not an exclave."""
    a = shapely.MultiPolygon([_box(0, 0, 100, 100), _box(300, 0, 300.5, 50)])
    report = check_areas(_areas([("a", a, 2000), ("b", _box(100, 0, 200, 100), 2000)]))
    assert (report.findings["rule"] == "enclave.exclave").sum() == 0
    assert report.ignored_slivers["enclave.exclave"] == 1
    assert report.areas.set_index("id").loc["a", "parts"] == 1


def test_island_drawn_with_a_sliver_gap_is_still_embedded() -> None:
    """The island's edge is 0.3 m inside the donut's hole: not a shared edge, but close."""
    outer = _box(0, 0, 600, 600)
    hole = _box(200, 200, 400, 400)
    island = _box(200.3, 200.3, 399.7, 399.7)
    report = check_areas(
        _areas([("donut", outer.difference(hole), 2500), ("island", island, 1500)])
    )
    assert report.by_rule() == {"enclave.embedded": 1}
    assert report.findings["area_id"].iloc[0] == "island"
    assert report.ignored_slivers["coverage.gap"] == 1
