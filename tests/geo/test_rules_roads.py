"""roads.off_road and road_boundary_share on hand-drawn squares with known answers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridplan.geo.rules import CheckConfig, check_areas

X0, Y0 = 660_000.0, 2_744_000.0  # UTM 50N, around Jinjiang
CRS = 32650


def _boxes(cells: dict[str, tuple[int, int]], size: float = 100.0) -> gpd.GeoDataFrame:
    ids = list(cells)
    geoms = [
        shapely.box(X0 + c * size, Y0 + r * size, X0 + (c + 1) * size, Y0 + (r + 1) * size)
        for c, r in cells.values()
    ]
    return gpd.GeoDataFrame(
        {"area_id": ids, "households": [2000.0] * len(ids)}, geometry=geoms, crs=CRS
    )


def _roads(lines: list[list[tuple[float, float]]], classes: list[str]) -> gpd.GeoDataFrame:
    geoms = [shapely.LineString([(X0 + x, Y0 + y) for x, y in line]) for line in lines]
    return gpd.GeoDataFrame(
        {"road_id": [str(i) for i in range(len(lines))], "road_class": classes},
        geometry=geoms,
        crs=CRS,
    )


def _three_by_three() -> gpd.GeoDataFrame:
    """Nine 100 m squares; C is the centre one.

    ::

        y=300 +----+----+----+
              | NW | N  | NE |
        y=200 +----+====+====+   ==  road y=200 (x 0..300)
              | W  | C  ‖ E  |   ‖   road x=200 (y 0..300)
        y=100 +----+====+====+   ==  road y=100 (x 0..300)
              | SW | S  ‖ SE |
        y=0   +----+----+----+
              x=0  100  200  300

    C has roads on its north, east and south sides, none on its west side (x=100).
    """
    cells = {
        "SW": (0, 0), "S": (1, 0), "SE": (2, 0),
        "W": (0, 1), "C": (1, 1), "E": (2, 1),
        "NW": (0, 2), "N": (1, 2), "NE": (2, 2),
    }  # fmt: skip
    return _boxes(cells)


def _three_roads() -> gpd.GeoDataFrame:
    return _roads(
        [[(0, 200), (300, 200)], [(0, 100), (300, 100)], [(200, 0), (200, 300)]],
        ["primary", "local", "service"],
    )


def test_square_with_roads_on_three_of_four_sides_has_share_three_quarters() -> None:
    report = check_areas(_three_by_three(), roads=_three_roads())
    share = report.areas.set_index("id")["road_boundary_share"]
    assert share["C"] == pytest.approx(0.75, abs=1e-9)
    # W: east side x=100 (no road), north y=200 and south y=100 (roads).
    assert share["W"] == pytest.approx(2 / 3, abs=1e-9)
    # NW: east side x=100 (no road), south side y=200 (road); its outer sides don't count.
    assert share["NW"] == pytest.approx(0.5, abs=1e-9)
    assert share["E"] == pytest.approx(1.0, abs=1e-9)


def test_off_road_stretches_are_reported_once_with_their_length() -> None:
    report = check_areas(_three_by_three(), roads=_three_roads())
    off = report.findings[report.findings["rule"] == "roads.off_road"]
    # The line x=100 between the west column and the middle column: three 100 m stretches.
    assert len(off) == 3
    assert off["value"].to_numpy() == pytest.approx([100.0, 100.0, 100.0])
    assert sorted(off["area_id"]) == ["NW", "SW", "W"]
    metric = off.geometry.values
    xs = shapely.get_coordinates(metric)[:, 0]
    assert np.allclose(xs, X0 + 100.0)
    assert all(off["severity"] == "warning")
    assert "100 m" in off["message"].iloc[0]


def test_road_classes_filter_and_tolerance() -> None:
    """Only primary roads count: C keeps only its north side on a road (share 0.25)."""
    config = CheckConfig(road_classes=frozenset({"primary"}))
    report = check_areas(_three_by_three(), roads=_three_roads(), config=config)
    share = report.areas.set_index("id")["road_boundary_share"]
    assert share["C"] == pytest.approx(0.25, abs=1e-9)


def test_road_within_tolerance_counts_and_beyond_does_not() -> None:
    """Two squares sharing the side x=100; a road runs parallel 10 m (then 20 m) away.

    ::

        +-----+-----+
        |  a  | b   |
        |     |  :  |   : road at x=110 (10 m from the boundary: follows it)
        +-----+-----+
    """
    areas = _boxes({"a": (0, 0), "b": (1, 0)})
    near = check_areas(areas, roads=_roads([[(110, -50), (110, 150)]], ["local"]))
    assert near.areas["road_boundary_share"].to_numpy() == pytest.approx([1.0, 1.0])
    assert (near.findings["rule"] == "roads.off_road").sum() == 0
    far = check_areas(areas, roads=_roads([[(120, -50), (120, 150)]], ["local"]))
    assert far.areas["road_boundary_share"].to_numpy() == pytest.approx([0.0, 0.0])
    off = far.findings[far.findings["rule"] == "roads.off_road"]
    assert len(off) == 1 and off["value"].iloc[0] == pytest.approx(100.0)
    assert off["area_id"].iloc[0] == "a"


def test_outline_stretches_do_not_count() -> None:
    """With no road at all, only the shared side is internal: one 100 m stretch."""
    areas = _boxes({"a": (0, 0), "b": (1, 0)})
    outline = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 200, Y0 + 100)], crs=CRS)
    report = check_areas(
        areas, roads=_roads([[(500, 500), (600, 500)]], ["local"]), outline=outline
    )
    off = report.findings[report.findings["rule"] == "roads.off_road"]
    assert off["value"].to_numpy() == pytest.approx([100.0])
    assert report.areas["road_boundary_share"].to_numpy() == pytest.approx([0.0, 0.0])


def test_without_roads_share_is_unknown_and_noted() -> None:
    report = check_areas(_three_by_three())
    assert report.areas["road_boundary_share"].isna().all()
    assert "roads not checked: no roads given" in report.notes
    assert (report.findings["rule"] == "roads.off_road").sum() == 0


def test_closed_ring_stretch_wraps_into_one_finding() -> None:
    """An island square inside a big square, no roads nearby: its whole ring is one stretch.

    ::

        +-----------+
        |   big     |
        |   +---+   |
        |   | i |   |
        |   +---+   |
        +-----------+
    """
    big = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    island = shapely.box(X0 + 100, Y0 + 100, X0 + 200, Y0 + 200)
    areas = gpd.GeoDataFrame(
        {"area_id": ["big", "i"]}, geometry=[big.difference(island), island], crs=CRS
    )
    report = check_areas(areas, roads=_roads([[(1000, 0), (1100, 0)]], ["local"]))
    off = report.findings[report.findings["rule"] == "roads.off_road"]
    assert len(off) == 1
    assert off["value"].iloc[0] == pytest.approx(400.0)
    assert off.geometry.iloc[0].length == pytest.approx(400.0)


def test_road_along_part_of_a_long_edge() -> None:
    """A 300 m shared edge with a road along its middle 100 m only.

    ::

        +---------+
        |    a    |
        +---------+  y=100: shared edge x 0..300; road only x 100..200
        |    b    |
        +---------+
    """
    areas = gpd.GeoDataFrame(
        {"area_id": ["a", "b"]},
        geometry=[
            shapely.box(X0, Y0 + 100, X0 + 300, Y0 + 200),
            shapely.box(X0, Y0, X0 + 300, Y0 + 100),
        ],
        crs=CRS,
    )
    report = check_areas(areas, roads=_roads([[(100, 100), (200, 100)]], ["local"]))
    share = report.areas["road_boundary_share"].to_numpy()
    # The road's end zones (15 m beyond each end, running the same way) count too.
    assert share == pytest.approx([130 / 300, 130 / 300], abs=0.01)
    off = report.findings[report.findings["rule"] == "roads.off_road"]
    assert len(off) == 2
    assert off["value"].to_numpy() == pytest.approx([85.0, 85.0], abs=2.0)


def test_drawn_boundaries_a_little_apart_still_follow_the_road() -> None:
    """Hand-drawn neighbours 0.6 m apart (a sliver gap), a road between them."""
    areas = gpd.GeoDataFrame(
        {"area_id": ["a", "b"]},
        geometry=[
            shapely.box(X0, Y0, X0 + 100, Y0 + 100),
            shapely.box(X0 + 100.6, Y0, X0 + 200, Y0 + 100),
        ],
        crs=CRS,
    )
    report = check_areas(areas, roads=_roads([[(100.3, -20), (100.3, 120)]], ["local"]))
    assert report.areas["road_boundary_share"].to_numpy() == pytest.approx([1.0, 1.0])
    assert report.ignored_slivers["coverage.gap"] == 1
    assert len(report.findings) == 0
