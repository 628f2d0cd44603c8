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


def _one_compound(height: float = 20.0, **columns: object) -> gpd.GeoDataFrame:
    """The compound of x 30..130 across the boundary of ``a`` and ``b`` (70 % in a)."""
    return gpd.GeoDataFrame(
        {"compound_id": ["c"], "name": ["新世纪豪园"], **{k: [v] for k, v in columns.items()}},
        geometry=[_box(30, 50 - height / 2, 130, 50 + height / 2)],
        crs=CRS,
    )


def _splits(report: object) -> list[str]:
    findings = report.findings  # type: ignore[attr-defined]
    return list(findings.loc[findings["rule"] == "compound.split", "message"])


def test_a_compound_over_the_ceiling_may_be_divided() -> None:
    """1,000 households cannot fit one grid of 300-500: their division is not a finding, while
    the same compound of 400 households must not be cut."""
    grid = CheckConfig(bands={("grid", "households"): (300.0, 500.0)})
    big = check_areas(
        _two_communities(), compounds=_one_compound(households=1000.0), level="grid", config=grid
    )
    assert _splits(big) == []
    small = check_areas(
        _two_communities(), compounds=_one_compound(households=400.0), level="grid", config=grid
    )
    assert len(_splits(small)) == 1


def test_an_uncounted_compound_is_sized_by_the_units_inside() -> None:
    grid = CheckConfig(bands={("grid", "households"): (300.0, 500.0)})
    units = gpd.GeoDataFrame(
        {"unit_id": ["u1", "u2"], "households": [300.0, 300.0]},
        geometry=[_box(30, 40, 80, 60), _box(80, 40, 130, 60)],
        crs=CRS,
    )
    sized = check_areas(
        _two_communities(), compounds=_one_compound(), units=units, level="grid", config=grid
    )
    assert _splits(sized) == []  # 600 households inside: over the grid ceiling
    few = units.assign(households=[100.0, 100.0])
    assert len(_splits(check_areas(_two_communities(), compounds=_one_compound(), units=few,
                                   level="grid", config=grid))) == 1  # fmt: skip


def test_an_uncounted_compound_a_road_runs_through_is_a_neighbourhood() -> None:
    """OSM residential landuse crossed by a street: divided along it, not a finding; the same
    polygon with a count of its own (a gated 小区 with its internal road) is still one."""
    road = gpd.GeoDataFrame(
        {"road_id": ["r"], "road_class": ["local"]},
        geometry=[shapely.LineString([(X0 + 100, Y0 - 10), (X0 + 100, Y0 + 110)])],
        crs=CRS,
    )
    landuse = check_areas(_two_communities(), compounds=_one_compound(80), roads=road)
    assert _splits(landuse) == []
    gated = check_areas(
        _two_communities(), compounds=_one_compound(80, households=900.0), roads=road
    )
    assert len(_splits(gated)) == 1
    alone = check_areas(_two_communities(), compounds=_one_compound(80))  # no road through it
    assert len(_splits(alone)) == 1
    # a road along the compound's edge does not run through it
    edge = road.set_geometry([shapely.LineString([(X0 + 30, Y0 - 10), (X0 + 30, Y0 + 110)])])
    assert (
        len(_splits(check_areas(_two_communities(), compounds=_one_compound(80), roads=edge))) == 1
    )


def test_a_compound_reaching_beyond_the_outline_is_not_split_by_it() -> None:
    """Wholly in ``a`` but for a part beyond the subdistrict outline: not "in no community"."""
    outline = gpd.GeoDataFrame({"outline_id": ["o"]}, geometry=[_box(0, 0, 200, 100)], crs=CRS)
    over_edge = gpd.GeoDataFrame(
        {"compound_id": ["e"], "households": [200.0]},
        geometry=[_box(-10, 40, 60, 60)],
        crs=CRS,
    )
    report = check_areas(_two_communities(), compounds=over_edge, outline=outline)
    assert _splits(report) == []


def test_a_compound_whose_cells_all_went_to_one_area_is_whole() -> None:
    """Cells do not follow an uncounted compound's polygon: a 10 % sliver of it lies in the
    neighbour's cell. Its own cell (the one its building made) is in ``a``: not split. Without
    units the sliver counts."""
    units = gpd.GeoDataFrame(
        {"unit_id": ["ua", "ub"], "households": [120.0, 90.0]},
        geometry=[_box(0, 0, 100, 100), _box(100, 0, 200, 100)],
        crs=CRS,
    )
    sliver = gpd.GeoDataFrame({"compound_id": ["s"]}, geometry=[_box(10, 40, 110, 60)], crs=CRS)
    assert _splits(check_areas(_two_communities(), compounds=sliver, units=units)) == []
    assert len(_splits(check_areas(_two_communities(), compounds=sliver))) == 1
