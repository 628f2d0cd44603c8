"""Tests of unit building and household placement (gridplan.geo.units)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely import LineString, Point, Polygon, box

from gridplan.data.layers import LayerKind
from gridplan.data.road_classes import road_class_from_mtfcc
from gridplan.errors import InputError
from gridplan.geo.units import UnitParams, build_units

CRS = "EPSG:32650"  # UTM 50N (Fujian): a true metric CRS, lengths exact


def _two_blocks() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A local road at x=100 splits the 200 x 100 outline into blocks W and E::

    +-----------+-----------+ y=100
    |  W        |        E  |
    |     [ C spans ]       |   compound C: x 60..140, y 20..80 (spans the road)
    |           |           |   compound D: x 150..190, y 10..50 (inside E)
    +-----------+-----------+ y=0
    0          100         200
    """
    roads = gpd.GeoDataFrame(
        {"road_class": ["local"]}, geometry=[LineString([(100, -10), (100, 110)])], crs=CRS
    )
    outline = gpd.GeoDataFrame(geometry=[box(0, 0, 200, 100)], crs=CRS)
    return roads, outline


def _compounds() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "compound_id": ["C", "D"],
            "households": [120.0, 40.0],
            "residents": [300.0, 100.0],
        },
        geometry=[box(60, 20, 140, 80), box(150, 10, 190, 50)],
        crs=CRS,
    )


def test_carve_keeps_compounds_whole() -> None:
    roads, outline = _two_blocks()
    result = build_units(roads, outline, compounds=_compounds())
    units = result.units
    assert len(units) == 4  # W rest, E rest, C, D
    by_compound = units.set_index("compound_id", drop=False)
    assert by_compound.loc["C", "geometry"].equals(box(60, 20, 140, 80))
    assert by_compound.loc["C", "households"] == 120.0
    assert by_compound.loc["D", "residents"] == 100.0
    assert sorted(units["kind"]) == ["block", "block", "compound", "compound"]
    # units tile the outline exactly
    assert float(units["area"].sum()) == pytest.approx(20000.0)
    assert shapely.union_all(units.geometry.values).equals(box(0, 0, 200, 100))
    assert float(units["households"].sum()) == 160.0
    assert set(result.placements["method"]) == {"carved"}
    assert result.unplaced.empty


def test_carve_merges_remainder_sliver() -> None:
    """Compound E covers x 1..100, y 0..100 of block W: the 1 x 100 strip left over at the
    outline edge (100 m²) is a sliver and joins E, its only neighbour."""
    roads, outline = _two_blocks()
    comp = gpd.GeoDataFrame(
        {"compound_id": ["E"], "households": [10.0]}, geometry=[box(1, 0, 100, 100)], crs=CRS
    )
    units = build_units(roads, outline, compounds=comp, params=UnitParams(min_area=200)).units
    assert len(units) == 2
    e = units[units["kind"] == "compound"].iloc[0]
    assert e["area"] == pytest.approx(10000.0)
    assert e["compound_id"] == "E"


def test_merge_mode_joins_blocks_across_minor_road() -> None:
    roads, outline = _two_blocks()
    result = build_units(
        roads, outline, compounds=_compounds(), params=UnitParams(compound_mode="merge")
    )
    assert len(result.units) == 1
    assert result.units["households"].tolist() == [160.0]
    assert result.split_compounds == []


def test_merge_mode_keeps_arterial_apart() -> None:
    roads, outline = _two_blocks()
    roads["road_class"] = "primary"
    result = build_units(
        roads, outline, compounds=_compounds(), params=UnitParams(compound_mode="merge")
    )
    assert len(result.units) == 2
    assert result.split_compounds == ["C"]
    # C goes whole to one unit (equal overlap: the first unit in order)
    assert float(result.units["households"].sum()) == 160.0


def test_none_mode_units_are_blocks() -> None:
    roads, outline = _two_blocks()
    result = build_units(
        roads, outline, compounds=_compounds(), params=UnitParams(compound_mode="none")
    )
    assert len(result.units) == 2
    assert sorted(result.units["households"].tolist()) == [40.0, 120.0]
    assert result.split_compounds == ["C"]


def test_buildings_and_points_placed_and_reported() -> None:
    """Buildings: b1 in W, b2 inside compound D (skipped: D carries its count), b3 far away.
    Points: p1 in E, p2 10 m outside the outline (snapped), p3 1 km away (unplaced)."""
    roads, outline = _two_blocks()
    buildings = gpd.GeoDataFrame(
        {"building_id": ["b1", "b2", "b3"], "households": [7.0, 9.0, 11.0]},
        geometry=[box(10, 10, 20, 20), box(160, 20, 170, 30), box(5000, 0, 5010, 10)],
        crs=CRS,
    )
    points = gpd.GeoDataFrame(
        {"point_id": ["p1", "p2", "p3"], "households": [1.0, 2.0, 4.0], "residents": [3, 5, 8]},
        geometry=[Point(180, 90), Point(210, 50), Point(1200, 50)],
        crs=CRS,
    )
    result = build_units(roads, outline, compounds=_compounds(), buildings=buildings, points=points)
    totals = result.totals.set_index("source")
    assert totals.loc["buildings", "households_placed"] == 7.0
    assert totals.loc["buildings", "households_input"] == 27.0
    assert totals.loc["points", "households_placed"] == 3.0
    assert totals.loc["points", "residents_unplaced"] == 8.0
    assert float(result.units["households"].sum()) == 160.0 + 7.0 + 3.0
    reasons = result.unplaced.set_index("feature_id")["reason"]
    assert "compound" in reasons["b2"]
    assert "snap_distance" in reasons["b3"]
    assert "snap_distance" in reasons["p3"]
    methods = result.placements.set_index("feature_id")["method"]
    assert methods["p2"] == "nearest"
    assert methods["p1"] == "contained"


def test_bad_inputs() -> None:
    roads, outline = _two_blocks()
    with pytest.raises(InputError, match="compound_mode"):
        build_units(roads, outline, params=UnitParams(compound_mode="x"))  # type: ignore[arg-type]
    lines = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)])], crs=CRS)
    with pytest.raises(InputError, match="expected a polygon or point"):
        build_units(roads, outline, buildings=lines)
    neg = gpd.GeoDataFrame({"households": [-1.0]}, geometry=[Point(1, 1)], crs=CRS)
    with pytest.raises(InputError, match="negative households"):
        build_units(roads, outline, points=neg)


def test_repeated_or_missing_compound_ids_are_input_errors() -> None:
    """A repeated compound id used to be accepted: its placements and the compound unit's
    ``compound_id`` could not tell the two compounds apart. A missing id became ``'nan'``."""
    roads, outline = _two_blocks()
    twice = _compounds().assign(compound_id=["C", "C"])
    with pytest.raises(
        InputError, match=r"^compounds: duplicate compound_id 'C' \(rows 1 and 2\)$"
    ):
        build_units(roads, outline, compounds=twice)
    with pytest.raises(InputError, match="compounds: duplicate compound_id 'C'"):
        build_units(roads, outline, compounds=twice, params=UnitParams(compound_mode="merge"))
    missing = _compounds().assign(compound_id=["C", None])
    with pytest.raises(InputError, match=r"^compounds: feature at row 2 has no compound_id$"):
        build_units(roads, outline, compounds=missing)
    # Ids that differ only as values still collide as text (1 and "1" are both "1").
    mixed = _compounds().assign(compound_id=pd.Series([1, "1"], dtype=object))
    with pytest.raises(InputError, match="compounds: duplicate compound_id '1'"):
        build_units(roads, outline, compounds=mixed)


def test_repeated_building_and_point_ids_are_input_errors() -> None:
    """Buildings and points go through the same check as compounds when they carry ids."""
    roads, outline = _two_blocks()
    buildings = gpd.GeoDataFrame(
        {"building_id": ["b1", "b2", "b1"], "households": [1.0, 2.0, 3.0]},
        geometry=[box(10, 10, 20, 20), box(30, 10, 40, 20), box(150, 60, 160, 70)],
        crs=CRS,
    )
    with pytest.raises(InputError, match=r"buildings: duplicate building_id 'b1' \(rows 1 and 3\)"):
        build_units(roads, outline, buildings=buildings)
    points = gpd.GeoDataFrame(
        {"point_id": ["p", "p"], "households": [1.0, 2.0]},
        geometry=[Point(50, 50), Point(150, 50)],
        crs=CRS,
    )
    with pytest.raises(InputError, match=r"points: duplicate point_id 'p' \(rows 1 and 2\)"):
        build_units(roads, outline, points=points)


def test_unique_compound_ids_still_build_units() -> None:
    """Unique ids (and compounds with no id column, named by row) are accepted as before."""
    roads, outline = _two_blocks()
    units = build_units(roads, outline, compounds=_compounds()).units
    assert sorted(units["compound_id"].dropna()) == ["C", "D"]
    no_ids = _compounds().drop(columns="compound_id")
    units = build_units(roads, outline, compounds=no_ids).units
    assert sorted(units["compound_id"].dropna()) == ["row 1", "row 2"]


def test_unreadable_counts_are_named_not_dropped() -> None:
    """A count that is not a number used to become "unknown" and silently lose its households;
    numbers written as text are still read."""
    roads, outline = _two_blocks()
    words = gpd.GeoDataFrame({"households": ["many"]}, geometry=[Point(150, 50)], crs=CRS)
    with pytest.raises(
        InputError,
        match=r"households is not a number in points for feature\(s\) "
        r"row 1 \('many'\)",
    ):
        build_units(roads, outline, points=words)
    text = gpd.GeoDataFrame(
        {"households": ["5", ""]}, geometry=[Point(150, 50), Point(50, 50)], crs=CRS
    )
    units = build_units(roads, outline, points=text).units
    assert units["households"].sum() == 5


@pytest.mark.realdata
def test_tallahassee_households_conserved(shared_data: Path) -> None:
    """Roads -> blocks -> 7,102 households from the 254 block points, conserved exactly."""
    gpkg = shared_data / "tallahassee" / "tallahassee.gpkg"
    roads = gpd.read_file(gpkg, layer="roads")
    roads["road_class"] = road_class_from_mtfcc(roads["MTFCC"])
    points = gpd.read_file(gpkg, layer="block_points").rename(
        columns={"HU100": "households", "POP100": "residents", "GEOID": "point_id"}
    )
    assert len(points) == 254
    hull = shapely.union_all(
        [*roads.geometry.values, *points.to_crs(roads.crs).geometry.values]
    ).convex_hull
    outline = gpd.GeoDataFrame(geometry=[hull], crs=roads.crs)
    result = build_units(roads, outline, points=points)
    assert result.units["households"].sum() == 7102
    assert result.units["residents"].sum() == 13878
    assert result.unplaced.empty
    assert len(result.placements) == 254
    # Without an outline only closed faces are units: whatever is not placed is reported,
    # and placed + unplaced is still exactly the input.
    open_result = build_units(roads, points=points)
    placed = open_result.units["households"].sum()
    assert placed + open_result.unplaced["households"].sum() == 7102
    assert 0 < placed < 7102


def test_invalid_building_is_repaired_and_placed() -> None:
    """A self-touching (bow-tie) footprint of 12 households is repaired, not dropped."""
    roads, outline = _two_blocks()
    bowtie = Polygon([(10, 10), (30, 30), (30, 10), (10, 30)])
    assert not bowtie.is_valid
    buildings = gpd.GeoDataFrame(
        {"building_id": ["bow"], "households": [12.0]}, geometry=[bowtie], crs=CRS
    )
    result = build_units(roads, outline, buildings=buildings)
    assert result.units["households"].sum() == 12.0
    assert result.unplaced.empty


@pytest.mark.realdata
def test_helsinki_buildings_and_compounds(helsinki_pbf: Path) -> None:
    """Real OSM roads, buildings (households estimated, rounded) and residential compounds:
    every household lands on a unit in every compound mode."""
    from gridplan.data.households import estimate_households, round_households
    from gridplan.data.osm import read_osm

    layers = read_osm(helsinki_pbf)
    buildings = estimate_households(layers[LayerKind.BUILDINGS]).buildings
    buildings["households"] = round_households(buildings["households"]).astype(float)
    roads = layers[LayerKind.ROADS]
    hull = shapely.convex_hull(shapely.union_all(roads.to_crs(32635).geometry.values))
    outline = gpd.GeoDataFrame(geometry=[hull], crs=32635)
    total = buildings["households"].sum()
    assert total > 1000
    for mode in ("carve", "merge", "none"):
        result = build_units(
            roads,
            outline,
            compounds=layers[LayerKind.COMPOUNDS],
            buildings=buildings,
            params=UnitParams(compound_mode=mode),
        )
        placed = result.units["households"].sum()
        unplaced = result.unplaced["households"].sum() if len(result.unplaced) else 0.0
        assert placed + unplaced == total
        assert result.units.geometry.is_valid.all()
        assert float(result.units["area"].sum()) == pytest.approx(hull.area, rel=1e-6)


def test_overlapping_compounds_carve_without_double_counting() -> None:
    """D overlaps C (x 120..140): C, listed first, keeps the overlap; both stay whole units
    and the units still tile the outline::

        +-----------+-----------+
        |     [ C  [|]  D ]     |   C: x 60..140, D: x 120..190 (both y 20..80)
        +-----------+-----------+
    """
    roads, outline = _two_blocks()
    comps = gpd.GeoDataFrame(
        {"compound_id": ["C", "D"], "households": [50.0, 70.0]},
        geometry=[box(60, 20, 140, 80), box(120, 20, 190, 80)],
        crs=CRS,
    )
    units = build_units(roads, outline, compounds=comps).units
    by = units.set_index("compound_id", drop=False)
    assert by.loc["C", "area"] == pytest.approx(80 * 60)
    assert by.loc["D", "area"] == pytest.approx(50 * 60)
    assert float(units["area"].sum()) == pytest.approx(20000.0)
    assert float(units["households"].sum()) == 120.0
