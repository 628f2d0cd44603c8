"""Tests of the unit graph builder (gridplan.geo.adjacency)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, box

from gridplan.data.road_classes import road_class_from_mtfcc
from gridplan.errors import CRSError, InputError
from gridplan.geo.adjacency import build_unit_graph, class_rank
from gridplan.geo.blocks import polygonize_roads

CRS = "EPSG:32650"  # UTM 50N (Fujian): a true metric CRS, lengths exact


def _grid_units() -> gpd.GeoDataFrame:
    """Four 100 m squares in a 2 x 2 grid::

        +-----+-----+ y=200
        |  c  |  d  |
        +-----+-----+ y=100     road "primary" along y=100 from x=0 to x=200
        |  a  |  b  |           road "local" along x=100 from y=0 to y=100 (a|b only)
        +-----+-----+ y=0       road "secondary" from (100,100) to (100,110): 10 m stub
        0    100   200

    a-d and b-c touch only at the point (100, 100): no edge.
    """
    return gpd.GeoDataFrame(
        {"unit_id": ["a", "b", "c", "d"], "households": [10.0, 20.0, None, 40.0]},
        geometry=[
            box(0, 0, 100, 100),
            box(100, 0, 200, 100),
            box(0, 100, 100, 200),
            box(100, 100, 200, 200),
        ],
        crs=CRS,
    )


def _grid_roads() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"road_class": ["primary", "local", "secondary"]},
        geometry=[
            LineString([(0, 100), (200, 100)]),
            LineString([(100, 0), (100, 100)]),
            LineString([(100, 100), (100, 110)]),
        ],
        crs=CRS,
    )


def test_rook_edges_lengths_and_classes() -> None:
    g = build_unit_graph(_grid_units(), _grid_roads(), tolerance=5.0)
    table = g.edge_table()
    assert table[["unit_a", "unit_b"]].values.tolist() == [
        ["a", "b"],
        ["a", "c"],
        ["b", "d"],
        ["c", "d"],
    ]
    assert table["length"].tolist() == pytest.approx([100.0] * 4)
    # c|d follows no road except a 10 m secondary stub (+ tolerance): under half -> None
    assert table["road_class"].tolist() == ["local", "primary", "primary", None]
    assert g.households.tolist() == [10.0, 20.0, 0.0, 40.0]
    assert g.n == 4
    assert g.components().tolist() == [0, 0, 0, 0]
    assert g.areas.tolist() == pytest.approx([10000.0] * 4)


def test_most_important_class_wins_when_both_follow() -> None:
    """A local road and a primary road both run along a|b: the primary class wins."""
    roads = gpd.GeoDataFrame(
        {"road_class": ["local", "primary"]},
        geometry=[LineString([(100, 0), (100, 100)]), LineString([(103, 0), (103, 100)])],
        crs=CRS,
    )
    g = build_unit_graph(_grid_units(), roads, tolerance=5.0)
    table = g.edge_table().set_index(["unit_a", "unit_b"])
    assert table.loc[("a", "b"), "road_class"] == "primary"
    assert table.loc[("c", "d"), "road_class"] is None


def test_road_within_tolerance_counts() -> None:
    """A road 10 m off the shared edge counts with tolerance 15 m, not with 5 m."""
    roads = gpd.GeoDataFrame(
        {"road_class": ["tertiary"]}, geometry=[LineString([(110, 0), (110, 100)])], crs=CRS
    )
    near = build_unit_graph(_grid_units(), roads, tolerance=15.0).edge_table()
    far = build_unit_graph(_grid_units(), roads, tolerance=5.0).edge_table()
    assert near.loc[0, "road_class"] == "tertiary"
    assert far.loc[0, "road_class"] is None


def test_without_roads_no_class() -> None:
    g = build_unit_graph(_grid_units())
    assert g.edges["road_class"].isna().all()
    assert len(g.edges) == 4


def test_disconnected_components() -> None:
    units = gpd.GeoDataFrame(
        {"unit_id": ["x", "y"]}, geometry=[box(0, 0, 1, 1), box(5, 5, 6, 6)], crs=CRS
    )
    g = build_unit_graph(units)
    assert len(g.edges) == 0
    assert g.components().tolist() == [0, 1]


def test_bad_units() -> None:
    units = _grid_units()
    with pytest.raises(InputError, match=r"^units: duplicate unit_id 'a' \(rows 1 and 2\)$"):
        build_unit_graph(units.assign(unit_id=["a", "a", "b", "c"]))
    with pytest.raises(InputError, match="no 'block_id'"):
        build_unit_graph(units, id_column="block_id")


def test_missing_unit_id_is_an_input_error() -> None:
    """A unit without an id used to become the unit ``'None'`` (or ``'nan'``)."""
    units = _grid_units().assign(unit_id=["a", None, "c", None])
    with pytest.raises(
        InputError, match=r"^units: feature at row 2 has no unit_id \(and 1 more\)$"
    ):
        build_unit_graph(units)


def test_many_repeats_are_summarised() -> None:
    units = _grid_units().assign(unit_id=["a", "a", "a", "a"])
    with pytest.raises(InputError, match=r"duplicate unit_id 'a' \(rows 1, 2, 3 and 4\)$"):
        build_unit_graph(units)
    nine = gpd.GeoDataFrame(
        {"unit_id": ["x"] * 7 + ["y", "y"]},
        geometry=[box(i, 0, i + 1, 1) for i in range(9)],
        crs=CRS,
    )
    with pytest.raises(
        InputError,
        match=r"duplicate unit_id 'x' \(rows 1, 2, 3, 4, 5 and 2 more\); 1 more id\(s\) repeat$",
    ):
        build_unit_graph(nine)


@pytest.mark.parametrize(
    ("households", "match"),
    [
        ([10.0, -20.0, None, 40.0], r"negative households in units for feature\(s\) b \(-20\)"),
        (
            ["10", "many", None, ""],
            r"households is not a number in units for feature\(s\) "
            r"b \('many'\)",
        ),
    ],
)
def test_bad_counts_are_input_errors(households: list[object], match: str) -> None:
    """A negative or unreadable count is named, not turned into 0 households."""
    units = _grid_units().assign(households=households)
    with pytest.raises(InputError, match=match):
        build_unit_graph(units)


def test_missing_and_text_counts_read() -> None:
    """Missing (None, "") counts are 0; numbers written as text are read."""
    units = _grid_units().assign(households=["10", " 20 ", None, ""])
    assert build_unit_graph(units).households.tolist() == [10.0, 20.0, 0.0, 0.0]


def test_roads_without_crs_name_the_layer() -> None:
    roads = gpd.GeoDataFrame(
        {"road_class": ["local"]}, geometry=[LineString([(100, 0), (100, 100)])]
    )
    with pytest.raises(CRSError, match="roads"):
        build_unit_graph(_grid_units(), roads)


def test_class_rank() -> None:
    assert class_rank("motorway") < class_rank("primary") < class_rank("local")


def test_networkx_and_table_agree() -> None:
    g = build_unit_graph(_grid_units(), _grid_roads(), tolerance=5.0)
    nxg = g.to_networkx()
    assert nxg.number_of_edges() == len(g.edge_table())
    assert nxg.edges[0, 2]["road_class"] == "primary"


@pytest.mark.realdata
def test_tallahassee_block_graph(shared_data: Path) -> None:
    """Blocks polygonized from roads: every shared edge lies on a road."""
    roads = gpd.read_file(shared_data / "tallahassee" / "tallahassee.gpkg", layer="roads")
    roads["road_class"] = road_class_from_mtfcc(roads["MTFCC"])
    blocks = polygonize_roads(roads).rename(columns={"block_id": "unit_id"})
    g = build_unit_graph(blocks, roads)
    assert g.edges["road_class"].notna().all()
    assert set(g.edges["road_class"]) <= {"motorway", "secondary", "local", "service"}
    assert (g.edges["u"] < g.edges["v"]).all()


@pytest.mark.realdata
def test_tallahassee_graph_same_on_threads(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The road queries cut into chunks on several threads give the one-thread graph."""
    import gridplan.geo.adjacency as adjacency

    roads = gpd.read_file(shared_data / "tallahassee" / "tallahassee.gpkg", layer="roads")
    roads["road_class"] = road_class_from_mtfcc(roads["MTFCC"])
    blocks = polygonize_roads(roads).rename(columns={"block_id": "unit_id"})
    one = build_unit_graph(blocks, roads, workers=1).edge_table()
    monkeypatch.setattr(adjacency, "_POINTS_PER_THREAD", 500)  # chunks even on a small city
    for workers in (2, 3):
        pd.testing.assert_frame_equal(
            build_unit_graph(blocks, roads, workers=workers).edge_table(), one
        )
    with pytest.raises(InputError, match="workers must be at least 1"):
        build_unit_graph(blocks, roads, workers=0)


def test_points_near_matches_one_query() -> None:
    """Chunked, threaded dwithin queries give the pairs of one query, in the same order."""
    from gridplan.geo.adjacency import _points_near

    rng = np.random.default_rng(5)
    starts = rng.uniform(0, 5000, (3000, 2))
    lines = shapely.linestrings(np.stack([starts, starts + rng.uniform(-40, 40, (3000, 2))], 1))
    tree = shapely.STRtree(lines)
    xy = rng.uniform(0, 5000, (120_000, 2))
    want = tree.query(shapely.points(xy), predicate="dwithin", distance=15.0)
    got = _points_near(tree, xy, 15.0, workers=2)
    assert len(want[0]) > 1000
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.realdata
def test_providence_blocks_connected(shared_data: Path) -> None:
    blocks = gpd.read_file(shared_data / "providence" / "providence_blocks.gpkg")
    g = build_unit_graph(blocks, id_column="GEOID10", households_column="TOTPOP")
    assert g.n == 3014
    assert int(np.unique(g.components()).size) == 1
    assert g.households.sum() == 178040


def test_t_junction_neighbours_without_shared_vertices() -> None:
    """The top unit's bottom edge has no vertex at x=100, where its two neighbours meet::

    +-----------+ y=100
    |     t     |
    +-----+-----+ y=0     t: one edge (0,0)-(200,0); l and r: (0,0)-(100,0), (100,0)-(200,0)
    |  l  |  r  |
    +-----+-----+ y=-100
    """
    units = gpd.GeoDataFrame(
        {"unit_id": ["t", "l", "r"]},
        geometry=[box(0, 0, 200, 100), box(0, -100, 100, 0), box(100, -100, 200, 0)],
        crs=CRS,
    )
    roads = gpd.GeoDataFrame(
        {"road_class": ["secondary"]}, geometry=[LineString([(-10, 0), (210, 0)])], crs=CRS
    )
    table = build_unit_graph(units, roads, tolerance=5.0).edge_table()
    assert table[["unit_a", "unit_b"]].values.tolist() == [["t", "l"], ["t", "r"], ["l", "r"]]
    assert table["length"].tolist() == pytest.approx([100.0, 100.0, 100.0])
    assert table["road_class"].tolist() == ["secondary", "secondary", None]
