"""The rules on real data: Providence tracts and block groups, Tallahassee road blocks."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from gridplan.data.readers import read_layer_file
from gridplan.geo.blocks import polygonize_roads
from gridplan.geo.rules import CheckConfig, check_areas

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def providence_blocks(shared_data: Path) -> gpd.GeoDataFrame:
    path = shared_data / "providence" / "providence_blocks.gpkg"
    if not path.exists():
        pytest.fail(f"real data {path} is missing")
    blocks = gpd.read_file(path)
    blocks["BG"] = blocks["GEOID10"].str[:12]
    return blocks


def test_providence_tracts_as_communities_by_residents(
    providence_blocks: gpd.GeoDataFrame,
) -> None:
    """39 tracts (mean 4,565 residents) against 3000–5000 residents."""
    tracts = (
        providence_blocks.dissolve("TRACTCE10", aggfunc={"TOTPOP": "sum"})
        .reset_index()
        .rename(columns={"TRACTCE10": "area_id", "TOTPOP": "residents"})
    )
    report = check_areas(tracts, config=CheckConfig(measure="residents"))
    assert len(report.areas) == 39
    assert report.areas["residents"].sum() == 178_040
    res = report.areas.set_index("id")["residents"]
    by_rule = report.by_rule()
    assert by_rule["size.under"] == int((res < 3000).sum()) == 9
    assert by_rule["size.over"] == int((res > 5000).sum()) == 16
    # Census tracts tile the city: one part each, no gaps, overlaps or islands.
    assert set(by_rule) == {"size.under", "size.over"}
    assert (report.areas["parts"] == 1).all()
    assert report.areas["polsby_popper"].between(0, 1).all()


def test_providence_block_groups_as_grids(providence_blocks: gpd.GeoDataFrame) -> None:
    """154 block groups as grids, households = residents / 2.5, band 300–500."""
    bgs = providence_blocks.dissolve("BG", aggfunc={"TOTPOP": "sum"}).reset_index()
    bgs = bgs.rename(columns={"BG": "area_id", "TOTPOP": "residents"})
    bgs["households"] = bgs["residents"] / 2.5
    report = check_areas(bgs, level="grid")
    assert len(report.areas) == 154
    hh = report.areas["households"].to_numpy()
    by_rule = report.by_rule()
    assert by_rule["size.under"] == int((hh < 300).sum()) == 22
    assert by_rule["size.over"] == int((hh > 500).sum()) == 55
    assert set(by_rule) == {"size.under", "size.over"}
    assert set(report.findings["level"]) == {"grid"}


def test_providence_blocks_checked_as_grids_from_units(
    providence_blocks: gpd.GeoDataFrame,
) -> None:
    """Households summed from the blocks as units equal the dissolved totals."""
    units = providence_blocks[["GEOID10", "TOTPOP", "geometry"]].rename(
        columns={"GEOID10": "unit_id", "TOTPOP": "residents"}
    )
    units["households"] = units["residents"] / 2.5
    bgs = providence_blocks.dissolve("BG").reset_index()[["BG", "geometry"]]
    report = check_areas(bgs.rename(columns={"BG": "area_id"}), level="grid", units=units)
    assert report.areas["residents"].sum() == pytest.approx(178_040)
    assert report.by_rule()["size.over"] == 55


def test_tallahassee_road_blocks_follow_their_roads(shared_data: Path) -> None:
    """Blocks polygonized from the TIGER roads follow those roads everywhere (share 1)."""
    path = shared_data / "tallahassee" / "tallahassee.gpkg"
    roads = read_layer_file(path, "roads")
    blocks = polygonize_roads(roads, min_area=0)
    points = read_layer_file(path, "compounds", layer="block_points")
    report = check_areas(
        blocks, roads=roads, compounds=points, level="grid",
        config=CheckConfig().with_band("grid", 0, 10_000),
    )  # fmt: skip
    share = report.areas["road_boundary_share"].dropna().to_numpy()
    assert len(share) >= len(blocks) - 2
    assert np.all(share > 0.999)
    assert "roads.off_road" not in report.by_rule()
    # Households come from the census block points inside each block; the points outside
    # every block are unassigned compounds carrying the rest.
    unassigned = report.findings[report.findings["rule"] == "compound.unassigned"]
    assert report.areas["households"].sum() + unassigned["value"].sum() == pytest.approx(
        points["households"].sum()
    )
    # Only local streets as boundaries: blocks along secondary roads lose share.
    local = check_areas(
        blocks, roads=roads, level="grid",
        config=CheckConfig(road_classes=frozenset({"local"})).with_band("grid", 0, 10_000),
    )  # fmt: skip
    assert local.areas["road_boundary_share"].mean() < 0.95
    assert local.by_rule()["roads.off_road"] > 0
