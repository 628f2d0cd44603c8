"""Roll-ups over grid → community → subdistrict → district (gridplan.geo.rollup).

Providence (real 2010 census blocks): blocks are the units (households = residents / 2.5,
the data has no household count), block groups the grids, tracts the communities and wards
the subdistricts (each tract in the ward holding most of its residents). The sums of every
level equal the level above.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from gridplan.geo.codes import CodeScheme, code_plan
from gridplan.geo.hierarchy import subdistrict_codes, with_subdistricts, within_subdistrict
from gridplan.geo.plans import plan_from_units
from gridplan.geo.rollup import (
    ADDITIVE,
    ROLLUP_LEVELS,
    RollupPolicy,
    ServicePolicy,
    StaffPolicy,
    rollup,
    roster_check,
)
from gridplan.plan import Level, Plan

PERSONS_PER_HOUSEHOLD = 2.5


@pytest.fixture(scope="module")
def providence(shared_data: Path) -> tuple[Plan, gpd.GeoDataFrame]:
    path = shared_data / "providence" / "providence_blocks.gpkg"
    if not path.exists():
        pytest.fail(f"real data {path} is missing; tests that need it fail rather than skip")
    blocks = gpd.read_file(path)
    units = gpd.GeoDataFrame(
        {
            "unit_id": blocks["GEOID10"].astype(str),
            "residents": blocks["TOTPOP"].astype(float),
            "households": blocks["TOTPOP"].astype(float) / PERSONS_PER_HOUSEHOLD,
        },
        geometry=blocks.geometry.values,
        crs=blocks.crs,
    )
    tract = blocks["TRACTCE10"].astype(str).to_numpy(dtype=object)
    group = blocks["GEOID10"].str[:12].to_numpy(dtype=object)
    plan = plan_from_units(units, tract, group, name="providence")
    pop = blocks.assign(ward=blocks["WARD"].astype(int).astype(str))
    ward_of = (
        pop.groupby(["TRACTCE10", "ward"])["TOTPOP"]
        .sum()
        .reset_index()
        .sort_values(["TRACTCE10", "TOTPOP", "ward"], ascending=[True, False, True])
        .drop_duplicates("TRACTCE10")
        .set_index("TRACTCE10")["ward"]
        .to_dict()
    )
    plan = with_subdistricts(
        plan,
        ward_of,
        names={w: f"Ward {w}" for w in set(ward_of.values())},
        codes={w: f"{int(w):03d}" for w in set(ward_of.values())},
        scheme=CodeScheme("440070", "001"),
    )
    return code_plan(plan, None, keep_own=True), units


def test_providence_levels_sum_to_the_level_above(
    providence: tuple[Plan, gpd.GeoDataFrame],
) -> None:
    plan, units = providence
    result = rollup(plan, units=units)
    tables = {lv: result.level(lv) for lv in ROLLUP_LEVELS}
    assert [len(tables[lv]) for lv in ROLLUP_LEVELS] == [154, 39, 15, 1]
    district = tables["district"].iloc[0]
    assert district["residents"] == pytest.approx(178_040)
    assert district["units"] == 3014 and district["grids"] == 154
    assert district["code"] == "440070"
    for child, parent in itertools.pairwise(ROLLUP_LEVELS):
        lower, upper = tables[child], tables[parent]
        assert set(lower["parent_code"]) == set(upper["code"])
        for col in ADDITIVE:
            if child == "grid" and lower[col].isna().all():
                continue  # a per-community figure (volunteers, model, new households)
            sums = lower.groupby("parent_code")[col].sum()
            assert np.allclose(sums.reindex(upper["code"]).to_numpy(), upper[col].to_numpy()), (
                child,
                col,
            )
    # codes: 9-digit wards, 12-digit tracts, 15-digit block groups, unique in the district
    assert tables["subdistrict"]["code"].str.fullmatch(r"440070\d{3}").all()
    assert tables["community"]["code"].str.fullmatch(r"\d{12}").all()
    assert tables["community"]["code"].is_unique
    assert (
        tables["grid"]["code"].str.fullmatch(r"\d{15}").all() and tables["grid"]["code"].is_unique
    )
    codes = tables["community"].set_index("code")["parent_code"]
    assert all(str(c).startswith(str(p)) for c, p in codes.items())


def test_providence_one_subdistrict(providence: tuple[Plan, gpd.GeoDataFrame]) -> None:
    plan, units = providence
    of = subdistrict_codes(plan)
    ward = sorted(set(of.values()))[0]
    part = within_subdistrict(plan, ward[-3:])
    result = rollup(part, units=units)
    sub = result.level("subdistrict")
    assert sub["code"].tolist() == [ward]
    assert len(result.level("community")) == sum(1 for c in of.values() if c == ward)
    whole = rollup(plan, units=units).level("subdistrict").set_index("code")
    assert sub.iloc[0]["residents"] == pytest.approx(whole.loc[ward, "residents"])


def _two_communities() -> Plan:
    """Two communities of two grids each (100 households, 300 residents per unit)::

    | g1 | g2 | g3 | g4 |      a = g1 + g2, b = g3 + g4
    """
    units = gpd.GeoDataFrame(
        {"unit_id": ["u1", "u2", "u3", "u4"], "households": 100.0, "residents": 300.0},
        geometry=[box(i * 100, 0, i * 100 + 100, 100) for i in range(4)],
        crs=32650,
    )
    plan = plan_from_units(units, ["a", "a", "b", "b"], ["g1", "g2", "g3", "g4"], name="t")
    return code_plan(plan, None, scheme=CodeScheme("350582", "001"))


def test_staff_and_service_figures() -> None:
    plan = _two_communities()
    grids = sorted(plan.areas_at(Level.GRID)["code"])
    staff = pd.DataFrame(
        {
            "name": ["王芳", "李强", "张伟", "赵敏"],
            "role": ["专职网格员", "part-time", "full-time", "full-time"],
            "grid_code": [grids[0], grids[0], grids[1], "350582001009001"],
        }
    )
    service = pd.DataFrame(
        {
            "code": ["001", "002"],
            "volunteers": ["40", "60"],
            "new_households": ["3", "0"],
            "model": ["no", "是"],
        }
    )
    policy = RollupPolicy(StaffPolicy(1, 50.0), ServicePolicy())
    result = rollup(plan, staff=staff, service=service, policy=policy)
    g = result.level("grid").set_index("code")
    assert g.loc[grids[0], "staff"] == 2 and g.loc[grids[0], "staff_full_time"] == 1
    assert g.loc[grids[0], "staff_needed"] == 3  # 1 full-time + 100 / 50
    c = result.level("community").set_index("code")
    # 600 residents: 8 % -> 48 (40 registered: 8 short); model community 10 % -> 60 (none)
    assert c.loc["001", "volunteers_target"] == 48 and c.loc["001", "volunteers_short"] == 8
    assert c.loc["002", "volunteers_target"] == 60 and c.loc["002", "volunteers_short"] == 0
    assert (
        c.loc["001", "funding_yuan"] == 2000 and c.loc["001", "new_household_funding_yuan"] == 900
    )
    d = result.level("district").iloc[0]
    assert d["volunteers_short"] == 8 and d["model_communities"] == 1 and d["staff"] == 3
    check = roster_check(staff, plan, retired=frozenset({"350582001009001"}))
    assert check["grids_without_full_time"] == grids[2:]
    assert check["unknown"] == [
        {"name": "赵敏", "role": "full-time", "grid_code": "350582001009001", "why": "retired"}
    ]
    loads = {r["name"]: r["households"] for r in check["workload"]}
    assert loads == {"王芳": 50.0, "李强": 50.0, "张伟": 100.0}  # a grid shared by its staff


def test_findings_roll_up_by_rule() -> None:
    plan = _two_communities()
    grid = plan.areas_at(Level.GRID)["area_id"].iloc[0]
    findings = pd.DataFrame(
        {
            "level": ["grid", "community", "community"],
            "area_id": [grid, "a", "b"],
            "rule": ["roads.off_road", "size.under", "size.under"],
        }
    )
    result = rollup(plan, findings=findings)
    c = result.level("community").set_index("code")
    assert c.loc["001", "findings_by_rule"] == {"roads.off_road": 1, "size.under": 1}
    assert result.level("district").iloc[0]["findings_by_rule"] == {
        "roads.off_road": 1,
        "size.under": 2,
    }


def test_rule_volunteers_short_on_area_files() -> None:
    """Rule ``service.volunteers_short`` reads the areas' own ``volunteers`` and ``model``."""
    from gridplan.geo.rules import check_areas

    areas = gpd.GeoDataFrame(
        {
            "area_id": ["a", "b", "c"],
            "name": ["青新社区", "锦青社区", "青华社区"],
            "households": 1500.0,
            "residents": [4000.0, 4000.0, 4000.0],
            "volunteers": [300, 350, 500],
            "model": ["", "是", "1"],
        },
        geometry=[box(i * 1000, 0, i * 1000 + 1000, 1000) for i in range(3)],
        crs=32650,
    )
    report = check_areas(areas, level="community")
    found = report.findings[report.findings["rule"] == "service.volunteers_short"]
    # a: 300 < 8 % of 4000 = 320; b (model): 350 < 400; c (model): 500 >= 400
    assert found["area_id"].tolist() == ["a", "b"]
    assert found["value"].tolist() == [20.0, 50.0]
    assert "model community b" in found["message"].iloc[1]
