"""Codes that last (gridplan.geo.codes.code_plan, gridplan.geo.diff.code_changes).

A 6 x 2 block of unit squares (100 m, 100 households each), three communities of two
columns, each in two grids (its top and bottom row)::

    y=1  | a0 a1 | b2 b3 | c4 c5 |
    y=0  | a0 a1 | b2 b3 | c4 c5 |

The child plans split b (b2 | b3), rename a, or merge a and b.
"""

from __future__ import annotations

from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
from shapely import box

from gridplan.geo.codes import CodeHistory, CodeScheme, code_plan, keep_codes
from gridplan.geo.diff import plan_diff
from gridplan.geo.plans import plan_from_units
from gridplan.plan import Level, Plan

SCHEME = CodeScheme("350582", "001")
_NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _units() -> gpd.GeoDataFrame:
    rows = [(x, y) for y in (1, 0) for x in range(6)]
    return gpd.GeoDataFrame(
        {
            "unit_id": [f"u{x}{y}" for x, y in rows],
            "households": 100.0,
            "residents": 250.0,
        },
        geometry=[box(x * 100, y * 100, x * 100 + 100, y * 100 + 100) for x, y in rows],
        crs=32650,
    )


def _plan(community: dict[int, str], grid: dict[tuple[int, int], str], **kw: object) -> Plan:
    units = _units()
    xs = [int(u[1]) for u in units["unit_id"]]
    ys = [int(u[2]) for u in units["unit_id"]]
    return plan_from_units(
        units,
        [community[x] for x in xs],
        [grid[(x, y)] for x, y in zip(xs, ys, strict=True)],
        name="p",
        **kw,  # type: ignore[arg-type]
    )


def _base() -> Plan:
    com = {0: "a", 1: "a", 2: "b", 3: "b", 4: "c", 5: "c"}
    grid = {(x, y): f"{com[x]}-{'top' if y else 'bottom'}" for x in range(6) for y in (0, 1)}
    return code_plan(_plan(com, grid), None, scheme=SCHEME).with_id(1, _NOW)


def _split() -> Plan:
    com = {0: "a", 1: "a", 2: "b", 3: "d", 4: "c", 5: "c"}
    grid = {(x, y): f"{com[x]}-{'top' if y else 'bottom'}" for x in range(6) for y in (0, 1)}
    grid.update({(2, 0): "b-col", (2, 1): "b-col", (3, 0): "d-col", (3, 1): "d-col"})
    return _plan(com, grid, parent_id=1)


def _households(plan: Plan) -> dict[str, float]:
    return dict.fromkeys(plan.assignments["unit_id"].astype(str), 100.0)


def _codes(plan: Plan, level: Level) -> dict[str, str]:
    areas = plan.areas_at(level)
    return dict(zip(areas["area_id"].astype(str), areas["code"].astype(str), strict=True))


def test_first_plan_numbered_west_to_east_then_north_to_south() -> None:
    base = _base()
    assert _codes(base, Level.COMMUNITY) == {"a": "001", "b": "002", "c": "003"}
    grids = base.areas_at(Level.GRID)
    # grid ids become their codes: community code + sequence, the top row first
    by_parent = grids.groupby("parent_id")["code"].apply(sorted).to_dict()
    assert by_parent["a"] == ["350582001001001", "350582001001002"]
    top = grids.geometry.centroid.y > 100
    assert grids.loc[top, "code"].str.endswith("001").all()
    assert base.metrics["code_scheme"] == {"county": "350582", "subdistrict": "001"}


def test_split_keeps_untouched_codes_and_gives_new_ones() -> None:
    base = _base()
    history = CodeHistory.from_plans([base])
    child = code_plan(_split(), base, history=history, households=_households(base))
    comm = _codes(child, Level.COMMUNITY)
    # a and c untouched; b split in halves: the western half keeps 002, the other is new
    assert comm == {"a": "001", "b": "002", "c": "003", "d": "004"}
    before = set(base.areas_at(Level.GRID)["code"])
    after = child.areas_at(Level.GRID)
    untouched = after[after["parent_id"].isin(["a", "c"])]
    assert set(untouched["code"]) <= before and len(untouched) == 4
    # the grid of b's western half keeps one of b's grid codes; d's grid is under 004
    assert set(after.loc[after["parent_id"] == "d", "code"]) == {"350582001004001"}
    b_codes = set(after.loc[after["parent_id"] == "b", "code"])
    assert b_codes <= before
    # unique within the district; assignments name grids by code
    assert after["code"].is_unique
    assert set(child.assignments["grid_id"]) == set(after["area_id"]) == set(after["code"])
    assert child.metrics["codes"]["community"] == {"kept": 3, "new": 1, "retired": 0}


def test_codes_stable_under_a_rerun() -> None:
    base = _base()
    first = code_plan(
        _split(), base, history=CodeHistory.from_plans([base]), households=_households(base)
    )
    # rerun with the first child already stored: the same areas get the same codes back
    again = code_plan(
        _split(),
        base,
        history=CodeHistory.from_plans([base, first]),
        households=_households(base),
    )
    assert _codes(again, Level.COMMUNITY) == _codes(first, Level.COMMUNITY)
    assert sorted(again.areas_at(Level.GRID)["code"]) == sorted(first.areas_at(Level.GRID)["code"])


def test_retired_code_never_reused() -> None:
    base = _base()
    com = {0: "a", 1: "a", 2: "a", 3: "a", 4: "c", 5: "c"}  # a absorbs b: 002 retired
    grid = {(x, y): f"{com[x]}-{x}{y}" for x in range(6) for y in (0, 1)}
    merged = code_plan(
        _plan(com, grid, parent_id=1),
        base,
        history=CodeHistory.from_plans([base]),
        households=_households(base),
    )
    assert _codes(merged, Level.COMMUNITY) == {"a": "001", "c": "003"}
    # now split a again: the new part must not take the retired 002
    com2 = {0: "a", 1: "a", 2: "e", 3: "e", 4: "c", 5: "c"}
    grid2 = {(x, y): f"{com2[x]}-{x}{y}" for x in range(6) for y in (0, 1)}
    again = code_plan(
        _plan(com2, grid2, parent_id=2),
        merged,
        history=CodeHistory.from_plans([base, merged]),
        households=_households(base),
    )
    assert _codes(again, Level.COMMUNITY)["e"] == "004"
    # a sibling proposal (not retired) with b's exact units gets 002 back: the same households
    sibling = code_plan(
        _plan(com2, grid2, parent_id=1),
        base,
        history=CodeHistory.from_plans([base]),
        households=_households(base),
    )
    assert _codes(sibling, Level.COMMUNITY)["e"] == "002"


def test_merged_community_keeps_the_code_of_its_largest_part() -> None:
    """a (4 units) and b (2 units, after moving column 3 to c) merge: the code of a."""
    overlap = {"area_id": ["m", "m", "n"], "old_code": ["001", "002", "003"]}
    frame = {"area_id": ["m", "n"], "parent": "", "x": [0.0, 50.0], "y": 0.0}
    import pandas as pd

    codes = keep_codes(
        pd.DataFrame({**frame, "weight": [600.0, 200.0]}),
        pd.DataFrame({**overlap, "weight": [400.0, 200.0, 200.0]}),
        old_totals={"001": 400.0, "002": 200.0, "003": 200.0},
        used={"001", "002", "003"},
        row_tolerance=1.0,
    )
    assert codes == {"m": "001", "n": "003"}


def test_rename_only_moves_no_households() -> None:
    base = _base()
    com = {0: "z", 1: "z", 2: "b", 3: "b", 4: "c", 5: "c"}  # a renamed z, nothing else
    grid = {(x, y): f"{com[x]}-{'top' if y else 'bottom'}" for x in range(6) for y in (0, 1)}
    renamed = code_plan(
        _plan(com, grid, parent_id=1),
        base,
        history=CodeHistory.from_plans([base]),
        households=_households(base),
    )
    assert _codes(renamed, Level.COMMUNITY)["z"] == "001"
    diff = plan_diff(base, renamed, units=_units())
    assert diff.households_moved == 0.0
    assert diff.units_moved == 0
    doc = diff.to_json()
    assert doc["codes"]["community"] == {
        "kept": ["001", "002", "003"],
        "changed": [],
        "new": [],
        "retired": [],
    }
    assert len(doc["codes"]["grid"]["kept"]) == 6


def test_diff_lists_kept_changed_new_retired() -> None:
    base = _base()
    child = code_plan(
        _split(), base, history=CodeHistory.from_plans([base]), households=_households(base)
    )
    doc = plan_diff(base, child, units=_units()).to_json()
    com = doc["codes"]["community"]
    assert com == {"kept": ["001", "003"], "changed": ["002"], "new": ["004"], "retired": []}
    grids = doc["codes"]["grid"]
    assert len(grids["kept"]) == 4 and len(grids["new"]) == 1
    assert len(grids["changed"]) + len(grids["retired"]) == 2
    # households whose community code changed: column 3 only (b -> d)
    assert doc["households_moved"] == 200.0


def test_drawn_plan_codes_by_overlap() -> None:
    """Without assignments, codes follow the overlapping area."""
    base = _base()
    drawn_areas = base.areas_at(Level.COMMUNITY).copy()
    drawn_areas["code"] = None
    drawn_areas["area_id"] = ["x", "y", "w"]
    drawn = Plan("drawn", base.assignments.iloc[0:0], drawn_areas)
    coded = code_plan(drawn, base, history=CodeHistory.from_plans([base]))
    assert _codes(coded, Level.COMMUNITY) == {"x": "001", "y": "002", "w": "003"}
    assert np.all(coded.areas["code"].notna())


def test_a_child_of_a_plan_with_subdistricts_stays_in_them() -> None:
    """b and c in subdistrict 002, a in 001; the split child (no subdistricts of its own)
    is put in its parent's: untouched communities keep their 12-digit codes."""
    from gridplan.geo.hierarchy import with_subdistricts

    base = _base()
    with_subs = code_plan(
        with_subdistricts(
            base, {"a": "W", "b": "E", "c": "E"}, codes={"W": "001", "E": "002"}, scheme=SCHEME
        ),
        None,
        keep_own=True,
    ).with_id(2, _NOW)
    before = _codes(with_subs, Level.COMMUNITY)
    assert before == {"a": "350582001001", "b": "350582002002", "c": "350582002003"}
    split = _plan(
        {0: "a", 1: "a", 2: "b", 3: "d", 4: "c", 5: "c"},
        {(x, y): f"g{x}{y}" for x in range(6) for y in (0, 1)},
        parent_id=2,
    )
    child = code_plan(
        split,
        with_subs,
        history=CodeHistory.from_plans([base, with_subs]),
        households=_households(base),
    )
    after = _codes(child, Level.COMMUNITY)
    assert after["a"] == before["a"] and after["c"] == before["c"]
    assert after["b"] == before["b"] and after["d"] == "350582002004"
    subs = child.areas_at(Level.SUBDISTRICT)
    assert sorted(subs["code"]) == ["350582001", "350582002"]
    grids = child.areas_at(Level.GRID)
    pairs = zip(grids["code"], grids["parent_id"], strict=True)
    assert all(str(c).startswith(after[str(p)]) for c, p in pairs)


def test_scenario_rename_moves_nobody_and_split_keeps_untouched_grids() -> None:
    """A scenario on a stored base: renaming a (a new community of exactly its units) keeps
    001 and moves no household; splitting b keeps every grid code of a and c."""
    from gridplan.geo.scenario import ScenarioBase, parse_scenario, run_scenario

    base = _base()
    units = _units()
    row = base.assignments.set_index("unit_id").reindex(units["unit_id"])

    def run(steps: list[dict[str, object]]) -> Plan:
        scenario = parse_scenario(
            {
                "name": "t",
                "base": {"plan": "latest"},
                "targets": {"community": {"households": [100, 400]}},
                "seed": 3,
                "steps": steps,
            }
        )
        result = run_scenario(
            scenario,
            ScenarioBase(
                units=units,
                communities=row["community_id"].to_numpy(dtype=object),
                grids=row["grid_id"].to_numpy(dtype=object),
                parent_id=1,
                codes=_codes(base, Level.COMMUNITY),
                plan=base,
                history=CodeHistory.from_plans([base]),
            ),
        )
        return result.plan

    renamed = run([{"action": "create", "name": "Zeta", "units": ["u00", "u10", "u01", "u11"]}])
    assert "a" not in _codes(renamed, Level.COMMUNITY)
    assert _codes(renamed, Level.COMMUNITY)["Zeta"] == "001"
    assert renamed.metrics["households_moved"] == 0.0
    assert plan_diff(base, renamed, units=units).households_moved == 0.0
    split = run([{"action": "split", "community": "b", "parts": 2}])
    grids = split.areas_at(Level.GRID)
    untouched = grids[grids["parent_id"].isin(["a", "c"])]
    kept = base.areas_at(Level.GRID)
    assert set(untouched["code"]) == set(kept.loc[kept["parent_id"].isin(["a", "c"]), "code"])
    assert sorted(_codes(split, Level.COMMUNITY).values()) == ["001", "002", "003", "004"]
    comm = split.areas_at(Level.COMMUNITY).set_index("code")
    # only the households of the new community (004) changed code: b's larger part kept 002
    assert split.metrics["households_moved"] == comm.loc["004", "households"]
    assert comm.loc["002", "households"] >= comm.loc["004", "households"]
