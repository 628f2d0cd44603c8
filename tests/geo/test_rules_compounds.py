"""compound.split, compound.unassigned, and households summed from compounds and units."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from gridplan.geo.rules import CheckConfig, check_areas

X0, Y0 = 660_000.0, 2_744_000.0
CRS = 32650


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _two_communities() -> gpd.GeoDataFrame:
    """``a`` (x 0..100) and ``b`` (x 100..200), no household column."""
    return gpd.GeoDataFrame(
        {"area_id": ["a", "b"], "name": ["青新社区", "锦青社区"]},
        geometry=[_box(0, 0, 100, 100), _box(100, 0, 200, 100)],
        crs=CRS,
    )


def _compounds() -> gpd.GeoDataFrame:
    """A compound split 70/30, one wholly in b, one outside, one point in a.

    ::

        +----------+----------+
        |  a  +----|---+  b   |     split: x 30..130 -> 70 % in a, 30 % in b
        |     |split   |  +--+|     inb:   wholly in b
        |  *  +----|---+  |in||     *:     point compound in a
        +----------+-----+--+-+     out:   x 300..320, in no community
    """
    return gpd.GeoDataFrame(
        {
            "compound_id": ["split", "inb", "pt", "out"],
            "name": ["新世纪豪园", "银星花园", "镇长楼", "机场生活区"],
            "households": [1000.0, 400.0, 50.0, 80.0],
            "residents": [2500.0, 1000.0, 120.0, 200.0],
        },
        geometry=[
            _box(30, 40, 130, 60),
            _box(160, 10, 190, 30),
            shapely.Point(X0 + 10, Y0 + 10),
            _box(300, 0, 320, 20),
        ],
        crs=CRS,
    )


def test_compound_split_seventy_thirty() -> None:
    report = check_areas(_two_communities(), compounds=_compounds())
    split = report.findings[report.findings["rule"] == "compound.split"]
    assert len(split) == 1
    assert split["area_id"].iloc[0] == "a"
    assert split["value"].iloc[0] == pytest.approx(0.3)
    message = split["message"].iloc[0]
    assert "新世纪豪园" in message
    assert "70% in a (青新社区)" in message and "30% in b (锦青社区)" in message


def test_compound_unassigned() -> None:
    report = check_areas(_two_communities(), compounds=_compounds())
    un = report.findings[report.findings["rule"] == "compound.unassigned"]
    assert len(un) == 1
    assert un["area_id"].iloc[0] is None
    assert un["value"].iloc[0] == 80
    assert "机场生活区" in un["message"].iloc[0]
    assert un["severity"].iloc[0] == "error"


def test_households_summed_from_compounds_by_overlap_share_and_containment() -> None:
    report = check_areas(_two_communities(), compounds=_compounds())
    rows = report.areas.set_index("id")
    # a: 70 % of 1000 + the point's 50; b: 30 % of 1000 + 400.
    assert rows.loc["a", "households"] == pytest.approx(750.0)
    assert rows.loc["b", "households"] == pytest.approx(700.0)
    assert rows.loc["a", "residents"] == pytest.approx(0.7 * 2500 + 120)
    under = report.findings[report.findings["rule"] == "size.under"]
    assert sorted(under["area_id"]) == ["a", "b"]


def test_households_from_units_by_representative_point() -> None:
    units = gpd.GeoDataFrame(
        {"unit_id": ["u1", "u2", "u3"], "households": [600.0, 500.0, 350.0]},
        geometry=[_box(0, 0, 50, 100), _box(50, 0, 100, 100), _box(100, 0, 200, 100)],
        crs=CRS,
    )
    report = check_areas(_two_communities(), units=units, level="grid")
    rows = report.areas.set_index("id")
    assert rows.loc["a", "households"] == 1100 and rows.loc["b", "households"] == 350
    over = report.findings[report.findings["rule"] == "size.over"]
    assert list(over["area_id"]) == ["a"] and over["value"].iloc[0] == 1100
    assert "above the band 300–500" in over["message"].iloc[0]


def test_small_share_across_a_boundary_is_not_a_split() -> None:
    """A compound poking 0.5 % of its area across the boundary is not split."""
    comp = gpd.GeoDataFrame(
        {"compound_id": ["c"], "households": [100.0]},
        geometry=[_box(0.5, 0, 100.5, 100)],
        crs=CRS,
    )
    report = check_areas(_two_communities(), compounds=comp)
    assert (report.findings["rule"] == "compound.split").sum() == 0
    strict = check_areas(
        _two_communities(), compounds=comp, config=CheckConfig(compound_min_share=0.001)
    )
    assert (strict.findings["rule"] == "compound.split").sum() == 1
