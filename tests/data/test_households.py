"""Household estimation on hand-drawn buildings whose answers are known.

The buildings (metres, EPSG:32650, UTM 50N: Quanzhou/Jinjiang's zone)::

    y
    20 +---------+      +-----+      +---+      +------+
       |    A    |      |  B  |      | C |      |  D   |
       | apts    |      |house|      |yes|      |office|
       | 30x20   |      |10x10|      |20x|      |10x10 |
       | 6 lvls  |      | (2) |      |20 |      | 3    |
     0 +---------+      +-----+      +---+      +------+
       0        30     40    50     60   80    90    100

A: 600 m² × 6 tagged levels = 3600 m², residential      → 3600 / 90 = 40 households
B: 100 m² × 2 default levels (house) = 200 m²           → 200 / 90  = 2.222…
C: 400 m² × 3 fallback levels = 1200 m², use "yes" × 0.5 → 600 / 90  = 6.666…
D: 100 m² × 3 tagged levels, office (not housing)        → 0
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely import Point, box

from gridplan.data.households import (
    HouseholdParams,
    estimate_households,
    round_households,
)
from gridplan.errors import CRSError, InputError


@pytest.fixture
def buildings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "building_id": ["A", "B", "C", "D"],
            "use": ["apartments", "house", "yes", "office"],
            "levels": [6.0, None, np.nan, 3.0],
        },
        geometry=[box(0, 0, 30, 20), box(40, 0, 50, 10), box(60, 0, 80, 20), box(90, 0, 100, 10)],
        crs=32650,
    )


def test_known_answers(buildings: gpd.GeoDataFrame) -> None:
    est = estimate_households(buildings)
    b = est.buildings
    assert b["floor_area"].tolist() == pytest.approx([3600, 200, 1200, 300])
    assert b["households"].tolist() == pytest.approx([40, 200 / 90, 600 / 90, 0])
    assert b["levels_used"].tolist() == [6, 2, 3, 3]
    assert b["levels_source"].tolist() == ["tagged", "default", "default", "tagged"]
    r = est.report
    assert r.buildings == 4
    assert r.residential_buildings == 3
    assert r.default_levels == 2
    assert r.default_levels_residential == 2
    assert r.default_level_ids == ("B", "C")
    assert r.floor_area == pytest.approx(5300)
    assert r.residential_floor_area == pytest.approx(3600 + 200 + 600)
    assert r.households == pytest.approx(4400 / 90)
    assert r.to_dict()["default_level_ids"] == ["B", "C"]


def test_parameters_change_the_answer(buildings: gpd.GeoDataFrame) -> None:
    params = HouseholdParams(
        floor_area_per_household=100.0,
        mixed_share=0.0,
        default_levels={"house": 3.0},
        fallback_levels=2.0,
    )
    est = estimate_households(buildings, params)
    # A 3600/100, B 100*3/100, C not housing at share 0, D office
    assert est.buildings["households"].tolist() == pytest.approx([36, 3, 0, 0])
    assert est.buildings["levels_used"].tolist() == [6, 3, 2, 3]
    assert est.report.residential_buildings == 2


def test_geographic_input_is_measured_in_metres(buildings: gpd.GeoDataFrame) -> None:
    shifted = buildings.copy()
    shifted.geometry = shifted.translate(500_000, 2_700_000)  # Jinjiang, about 24.4° N
    est = estimate_households(shifted.to_crs(4326))
    assert est.buildings["households"].sum() == pytest.approx(4400 / 90, rel=1e-6)


def test_given_households_are_kept_unless_asked(buildings: gpd.GeoDataFrame) -> None:
    given = buildings.assign(households=[12.0, None, None, None])
    assert estimate_households(given).buildings["households"].iloc[0] == 12
    assert estimate_households(given).report.given == 1
    redo = estimate_households(given, keep_given=False).buildings
    assert redo["households"].iloc[0] == pytest.approx(40)


def test_missing_use_counts_as_unknown_and_levels_must_be_positive() -> None:
    gdf = gpd.GeoDataFrame(
        {"building_id": ["x"], "levels": [0.0]}, geometry=[box(0, 0, 10, 9)], crs=32650
    )
    est = estimate_households(gdf)
    # no use → "unknown": fallback 3 levels, half residential: 90 * 3 * 0.5 / 90
    assert est.buildings["households"].iloc[0] == pytest.approx(1.5)
    assert est.report.default_level_ids == ("x",)


def test_bad_parameters_and_missing_crs() -> None:
    with pytest.raises(InputError, match="floor_area_per_household"):
        HouseholdParams(floor_area_per_household=0)
    with pytest.raises(InputError, match="mixed_share"):
        HouseholdParams(mixed_share=1.5)
    with pytest.raises(InputError, match="positive"):
        HouseholdParams(default_levels={"house": -1.0})
    gdf = gpd.GeoDataFrame({"building_id": ["x"]}, geometry=[box(0, 0, 1, 1)])
    with pytest.raises(CRSError, match=r"town\.gpkg"):
        estimate_households(gdf, source="town.gpkg")


def test_negative_given_households_are_rejected(buildings: gpd.GeoDataFrame) -> None:
    """A negative household count is named, not kept (it used to lower the total)."""
    given = buildings.assign(households=[np.nan, -5.0, np.nan, np.nan])
    with pytest.raises(InputError, match=r"negative households in building\(s\) B \(-5\)"):
        estimate_households(given)
    # re-estimating ignores the given values, so the negative one is not used
    assert estimate_households(given, keep_given=False).buildings["households"].min() >= 0


def test_buildings_without_a_footprint_are_rejected(buildings: gpd.GeoDataFrame) -> None:
    """A point or missing footprint would silently get 0 households: it is named instead."""
    bad = buildings.set_geometry(
        [box(0, 0, 30, 20), Point(45, 5), None, box(90, 0, 100, 10)], crs=buildings.crs
    )
    with pytest.raises(InputError, match=r"2 building\(s\).*B \(Point\), C \(no geometry\)"):
        estimate_households(bad)


def test_rounding_keeps_the_total() -> None:
    values = np.array([40, 200 / 90, 600 / 90, 0])
    rounded = round_households(values)
    assert rounded.sum() == round(values.sum()) == 49
    assert rounded.tolist() == [40, 2, 7, 0]
    assert round_households([0.5, 0.5, 0.5, 0.5]).tolist() == [1, 1, 0, 0]
    with pytest.raises(InputError):
        round_households([-1.0])
