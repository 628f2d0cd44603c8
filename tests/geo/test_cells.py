"""Cells: one unit per building inside each road block (hand-drawn blocks, known answers)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import Point, box

from gridplan.geo.cells import build_cells
from gridplan.geo.grids import GridParams, divide_into_grids
from gridplan.geo.units import build_units

CRS = "EPSG:32650"
X0, Y0 = 650_000.0, 2_740_000.0


def _block(units: list[str], shapes: list[object], households: list[float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "unit_id": units,
            "households": households,
            "residents": [0.0] * len(units),
            "kind": ["block"] * len(units),
            "compound_id": [None] * len(units),
        },
        geometry=shapes,
        crs=CRS,
    )


def _twelve_buildings() -> tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    """One 400 × 300 m block with 12 buildings in a 4 × 3 lattice, 1,600 households::

    +-----------------------------+
    | [1]   [2]   [3]   [4]       |   each building 133⅓ households
    | [5]   [6]   [7]   [8]       |
    | [9]  [10]  [11]  [12]       |
    +-----------------------------+
    """
    block = box(X0, Y0, X0 + 400, Y0 + 300)
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"b{i + 1}" for i in range(12)]},
        geometry=[
            box(
                X0 + 30 + 100 * (i % 4),
                Y0 + 230 - 100 * (i // 4),
                X0 + 70 + 100 * (i % 4),
                Y0 + 270 - 100 * (i // 4),
            )
            for i in range(12)
        ],
        crs=CRS,
    )
    placed = pd.DataFrame(
        {
            "source": "buildings",
            "feature_id": buildings["building_id"],
            "unit_id": "u1",
            "method": "contained",
            "households": 1600.0 / 12,
            "residents": 0.0,
        }
    )
    return _block(["u1"], [block], [1600.0]), placed, buildings


def test_one_cell_per_building_tiles_the_block_and_conserves_households() -> None:
    units, placed, buildings = _twelve_buildings()
    cells = build_cells(units, placed, {"buildings": buildings})
    assert len(cells) == 12
    assert cells["households"].sum() == pytest.approx(1600.0, abs=1e-9)
    assert set(cells["block_unit"]) == {"u1"}
    assert shapely.union_all(cells.geometry.values).area == pytest.approx(120_000.0)
    assert cells.geometry.area.sum() == pytest.approx(120_000.0)
    # each building lies in its own cell
    inside = [
        cells.geometry.iloc[i].contains(buildings.geometry.iloc[i].centroid) for i in range(12)
    ]
    assert all(inside)
    assert (cells["kind"] == "cell").all()


def test_a_block_of_1600_households_in_12_buildings_makes_four_grids_of_400() -> None:
    units, placed, buildings = _twelve_buildings()
    cells = build_cells(units, placed, {"buildings": buildings})
    community = gpd.GeoDataFrame({"area_id": ["A"]}, geometry=[units.geometry.iloc[0]], crs=CRS)
    result = divide_into_grids(cells, community, params=GridParams(300, 500, seed=1))
    grids = result.grids
    assert len(grids) == 4
    assert grids["households"].round(6).tolist() == [400.0] * 4
    assert grids["in_band"].all()
    assert all(g.geom_type == "Polygon" for g in grids.geometry)
    # with the block as one unit the same community cannot be divided at all
    whole = divide_into_grids(units, community, params=GridParams(300, 500, seed=1))
    assert not whole.grids["in_band"].any()


def test_buildings_without_households_make_no_cell_and_their_ground_joins_a_neighbour() -> None:
    units, placed, buildings = _twelve_buildings()
    placed.loc[placed["feature_id"].isin(["b2", "b7"]), "households"] = 0.0
    units["households"] = placed["households"].sum()
    cells = build_cells(units, placed, {"buildings": buildings})
    assert len(cells) == 10
    assert "b2" not in ";".join(cells["features"].dropna())
    assert cells.geometry.area.sum() == pytest.approx(120_000.0)
    assert cells["households"].sum() == pytest.approx(units["households"].iloc[0])


def test_a_compound_unit_and_a_one_building_block_stay_whole() -> None:
    """A carved compound (小区) keeps its identity; a block with one counted building is one
    cell carrying the block's id."""
    units = _block(["u1", "u2"], [box(0, 0, 100, 100), box(100, 0, 200, 100)], [450.0, 30.0])
    units.loc[0, "kind"] = "compound"
    units.loc[0, "compound_id"] = "银星花园"
    buildings = gpd.GeoDataFrame(
        {"building_id": ["a", "b", "c"]},
        geometry=[box(10, 10, 20, 20), box(60, 60, 70, 70), box(150, 50, 160, 60)],
        crs=CRS,
    )
    placed = pd.DataFrame(
        {
            "source": ["compounds", "buildings"],
            "feature_id": ["银星花园", "c"],
            "unit_id": ["u1", "u2"],
            "households": [450.0, 30.0],
            "residents": [0.0, 0.0],
        }
    )
    compounds = gpd.GeoDataFrame(
        {"compound_id": ["银星花园"]}, geometry=[box(0, 0, 100, 100)], crs=CRS
    )
    cells = build_cells(units, placed, {"buildings": buildings, "compounds": compounds})
    assert cells[["unit_id", "block_unit", "kind", "households"]].values.tolist() == [
        ["u1", "u1", "compound", 450.0],
        ["u2", "u2", "block", 30.0],
    ]


def test_count_points_alone_make_voronoi_cells_clipped_to_an_l_shaped_block() -> None:
    """A subdistrict's 楼栋 list is points with 户数: cells are their Voronoi cells clipped to
    the block; a cell cut in two by the block's shape keeps only the part with its point,
    the other part joins a neighbour, and each cell is one polygon::

        +----+
        | .  |
        |    +--------+
        | .     .   . |
        +-------------+
    """
    block = shapely.Polygon([(0, 0), (300, 0), (300, 100), (100, 100), (100, 300), (0, 300)])
    pts = [Point(50, 250), Point(50, 50), Point(180, 50), Point(260, 50)]
    points = gpd.GeoDataFrame({"point_id": ["p1", "p2", "p3", "p4"]}, geometry=pts, crs=CRS)
    placed = pd.DataFrame(
        {
            "source": "points",
            "feature_id": ["p1", "p2", "p3", "p4"],
            "unit_id": "u1",
            "households": [100.0, 120.0, 140.0, 160.0],
            "residents": [250.0, 300.0, 350.0, 400.0],
        }
    )
    units = _block(["u1"], [block], [520.0])
    cells = build_cells(units, placed, {"points": points})
    assert len(cells) == 4
    assert (shapely.get_type_id(np.asarray(cells.geometry.values)) == 3).all()
    assert cells["households"].sum() == 520.0 and cells["residents"].sum() == 1300.0
    assert cells.geometry.area.sum() == pytest.approx(block.area)


def test_cells_from_real_units_conserve_every_household() -> None:
    """build_units → build_cells on a grid of streets with random buildings: the cells of
    every unit hold exactly its households."""
    rng = np.random.default_rng(3)
    roads = gpd.GeoDataFrame(
        geometry=[shapely.LineString([(x, -10), (x, 610)]) for x in (0, 200, 400, 600)]
        + [shapely.LineString([(-10, y), (610, y)]) for y in (0, 300, 600)],
        crs=CRS,
    )
    centres = rng.uniform(10, 590, size=(200, 2))
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(200)], "households": rng.integers(0, 40, 200)},
        geometry=[box(x - 3, y - 3, x + 3, y + 3) for x, y in centres],
        crs=CRS,
    )
    result = build_units(roads, buildings=buildings)
    cells = build_cells(result.units, result.placements, {"buildings": buildings})
    per_block = cells.groupby("block_unit")["households"].sum()
    expected = result.units.set_index("unit_id")["households"]
    assert per_block.reindex(expected.index).to_numpy() == pytest.approx(expected.to_numpy())
    assert cells["households"].sum() == pytest.approx(float(buildings["households"].sum()))
    assert len(cells) == int((buildings["households"] > 0).sum())


def test_a_compound_of_1500_households_in_10_buildings_makes_three_or_four_grids() -> None:
    """A 小区 too big for one grid is divided along its buildings, all in one community;
    one of 450 households stays one cell (one grid)::

        +-------------------------------+--------+
        | [1] [2] [3] [4] [5]           |  [a]   |   big: 1,500 households, 10 buildings
        | [6] [7] [8] [9] [10]          |  [b]   |   small: 450 households, 2 buildings
        +-------------------------------+--------+
    """
    big = box(0, 0, 500, 200)
    small = box(500, 0, 600, 200)
    units = _block(["u1", "u2"], [big, small], [1500.0, 450.0])
    units["kind"] = "compound"
    units["compound_id"] = ["大园小区", "小园"]
    footprints = [
        box(20 + 100 * (i % 5), 130 - 100 * (i // 5), 70 + 100 * (i % 5), 170 - 100 * (i // 5))
        for i in range(10)
    ]
    footprints += [box(530, 130, 570, 170), box(530, 30, 570, 70)]
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(12)], "households": [20.0] * 12},
        geometry=footprints,
        crs=CRS,
    )
    placed = pd.DataFrame(
        {
            "source": "compounds",
            "feature_id": ["大园小区", "小园"],
            "unit_id": ["u1", "u2"],
            "households": [1500.0, 450.0],
            "residents": [0.0, 0.0],
        }
    )
    compounds = gpd.GeoDataFrame(
        {"compound_id": ["大园小区", "小园"]}, geometry=[big, small], crs=CRS
    )
    cells = build_cells(units, placed, {"buildings": buildings, "compounds": compounds})
    mine = cells[cells["block_unit"] == "u1"]
    assert len(mine) == 10 and set(mine["compound_id"]) == {"大园小区"}
    assert mine["households"].sum() == pytest.approx(1500.0)
    assert cells[cells["block_unit"] == "u2"]["unit_id"].tolist() == ["u2"]
    community = gpd.GeoDataFrame(
        {"area_id": ["A"]}, geometry=[shapely.union_all([big, small])], crs=CRS
    )
    result = divide_into_grids(cells, community, params=GridParams(300, 500, seed=1))
    grids = result.grids
    assert grids["in_band"].all()
    holding_small = grids[grids.geometry.contains(small.centroid)]
    assert holding_small["households"].tolist() == [450.0]  # the small compound: one grid
    assert holding_small.geometry.iloc[0].symmetric_difference(small).area < 1e-6
    assert 3 <= len(grids) - 1 <= 5  # the big one: a few grids along its buildings, in band
