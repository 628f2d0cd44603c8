"""Communities of whole road blocks, a block above the ceiling cut along its cells."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from gridplan.data.layers import LayerKind, normalise
from gridplan.geo.cells import build_cells
from gridplan.geo.rules import CheckLayers
from gridplan.ops.checks import check_plan
from gridplan.ops.partition import PartitionSpec, partition_units
from gridplan.plan import Level

CRS = "EPSG:32650"


def _cells() -> gpd.GeoDataFrame:
    """Two road blocks: a superblock of 5,000 households in 10 buildings and a block of
    1,500 in one::

        +------------------------------+-------+
        | [1] [2] [3] [4] [5]          |  [x]  |   u1: 10 × 500 households
        | [6] [7] [8] [9] [10]         |       |   u2: 1,500 households
        +------------------------------+-------+
    """
    units = gpd.GeoDataFrame(
        {
            "unit_id": ["u1", "u2"],
            "households": [5000.0, 1500.0],
            "residents": [0.0, 0.0],
            "kind": ["block", "block"],
            "compound_id": [None, None],
        },
        geometry=[box(0, 0, 500, 200), box(500, 0, 600, 200)],
        crs=CRS,
    )
    footprints = [
        box(20 + 100 * (i % 5), 130 - 100 * (i // 5), 70 + 100 * (i % 5), 170 - 100 * (i // 5))
        for i in range(10)
    ] + [box(530, 80, 570, 120)]
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(11)]}, geometry=footprints, crs=CRS
    )
    placed = pd.DataFrame(
        {
            "source": "buildings",
            "feature_id": buildings["building_id"],
            "unit_id": ["u1"] * 10 + ["u2"],
            "households": [500.0] * 10 + [1500.0],
            "residents": 0.0,
        }
    )
    cells = build_cells(units, placed, {"buildings": buildings})
    return normalise(LayerKind.UNITS, cells, source="cells")


def test_a_block_above_the_ceiling_is_cut_along_its_cells_and_reported() -> None:
    cells = _cells()
    outcome = partition_units(cells, PartitionSpec(band=(1000, 3000), seed=1))
    assert outcome.plan is not None and outcome.result.valid
    communities = outcome.plan.areas_at(Level.COMMUNITY)
    assert communities["households"].between(1000, 3000).all()
    assert communities["households"].sum() == pytest.approx(6500.0)
    (note,) = outcome.notes
    assert "block u1 holds 5,000 households" in note and "cut along its 10 cells" in note
    # the cut runs through the block, off every road: the check reports the stretch
    check = check_plan(outcome.plan, CheckLayers(units=cells))
    assert len(communities) >= 3
    assert check.report(Level.COMMUNITY).areas["parts"].eq(1).all()


def test_strict_keeps_the_refusal() -> None:
    outcome = partition_units(_cells(), PartitionSpec(band=(1000, 3000), seed=1, strict=True))
    assert outcome.plan is None and not outcome.result.valid
    assert "u1" in (outcome.result.reason or "")


def test_blocks_under_the_ceiling_stay_whole() -> None:
    """With a ceiling above every block, communities are made of whole blocks only."""
    cells = _cells()
    outcome = partition_units(cells, PartitionSpec(band=(1000, 6000), seed=1))
    assert outcome.plan is not None and outcome.notes == ()
    of_cell = outcome.units.set_index("unit_id")["community_id"]
    for block, group in cells.groupby("block_unit"):
        assert of_cell.reindex(group["unit_id"]).nunique() == 1, block
