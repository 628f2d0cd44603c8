"""Edits of a plan (geo.edit): moves, new communities, grids, and the incremental check.

The hand-drawn plan (metres, UTM 50N; 100 m units, 300 households each)::

    +----+----+----+----+
    | u1 | u2 | u3 | u4 |      communities a = u1 u2, b = u3 u4 (band 500–700: both in)
    +----+----+----+----+      grids a1 = u1, a2 = u2, b1 = u3 u4

The lattice (``bench_edit.lattice``): 30 × 30 units with roads, compounds, 25 communities and
100 grids, on which random moves are checked both ways and must agree with a full recheck of
the edited plan as ``gridplan check`` runs it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridplan.errors import InputError, NotFoundError
from gridplan.geo.edit import EditBase, Move
from gridplan.geo.plans import plan_from_units
from gridplan.geo.rules import check_plan_levels

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_edit import boundary_moves, lattice


def _row_plan() -> tuple[gpd.GeoDataFrame, EditBase]:
    units = gpd.GeoDataFrame(
        {
            "unit_id": ["u1", "u2", "u3", "u4"],
            "households": [300.0] * 4,
            "residents": [900.0] * 4,
        },
        geometry=[shapely.box(654_000 + i * 100, 2_745_000, 654_100 + i * 100, 2_745_100)
                  for i in range(4)],
        crs=32650,
    )  # fmt: skip
    plan = plan_from_units(
        units,
        ["a", "a", "b", "b"],
        ["a1", "a2", "b1", "b1"],
        name="row",
        targets={"community": {"households": [500, 700]}, "grid": {"households": [250, 650]}},
        community_names={"a": "青新社区", "b": "阳光社区"},
        community_codes={"a": "004", "b": "005"},
        grid_codes={"a1": "004001", "a2": "004002", "b1": "005001"},
    )
    return units, EditBase(plan, units)


def test_move_by_name_updates_households_band_and_grids() -> None:
    _, base = _row_plan()
    preview = base.preview([Move("u2", "阳光社区")], levels=("community", "grid"))
    rows = preview.checks["community"].areas.set_index("id")
    assert rows.loc["a", "households"] == 300.0 and rows.loc["b", "households"] == 900.0
    assert rows.loc["a", "in_band"] is False or not rows.loc["a", "in_band"]
    assert rows.loc["b", "name"] == "阳光社区" and rows.loc["b", "code"] == "005"
    assert bool(rows.loc["a", "changed"]) and bool(rows.loc["b", "changed"])
    assert sorted(preview.checks["community"].findings["rule"]) == ["size.over", "size.under"]
    # u2 joins the grid of b it touches (b1); a2 is left without units
    assert list(preview.grid) == ["a1", "b1", "b1", "b1"]
    grids = base.affected_grids(preview).set_index("id")
    assert grids.loc["a2", "status"] == "removed"
    assert grids.loc["b1", "households_after"] == 900.0 and grids.loc["b1", "in_band"] is False
    # by id and by code the same
    for ref in ("b", "005"):
        assert list(base.preview([Move("u2", ref)]).community) == ["a", "b", "b", "b"]


def test_new_community_takes_a_code_and_a_grid() -> None:
    _, base = _row_plan()
    preview = base.preview([Move("u4", "湖光社区")], levels=("community", "grid"))
    assert preview.new_communities == ("湖光社区",)
    rows = preview.checks["community"].areas.set_index("id")
    assert rows.loc["湖光社区", "households"] == 300.0
    assert bool(rows.loc["湖光社区", "new"]) and rows.loc["湖光社区", "code"] == "006"
    assert preview.grid[3] == "湖光社区-new"
    plan = base.edited_plan(preview)
    com = plan.areas_at("community").set_index("area_id")
    assert com.loc["湖光社区", "name"] == "湖光社区" and com.loc["湖光社区", "code"] == "006"
    assert plan.metrics["units_moved"] == 1 and plan.metrics["households_moved"] == 300.0


def test_errors_name_the_unit_and_the_community() -> None:
    _, base = _row_plan()
    with pytest.raises(NotFoundError, match="no unit 'u9'"):
        base.preview([Move("u9", "a")])
    with pytest.raises(NotFoundError, match="no community 'c'"):
        base.preview([Move("u1", "c", new=False)])
    with pytest.raises(InputError, match="existing community"):
        base.preview([Move("u1", "阳光社区", new=True)])
    with pytest.raises(InputError, match="empty"):
        base.preview([Move("u1", " ")])


def test_ambiguous_name_is_refused() -> None:
    units, _ = _row_plan()
    plan = plan_from_units(
        units, ["a", "a", "b", "b"], name="twins", community_names={"a": "同名", "b": "同名"}
    )
    with pytest.raises(InputError, match="ambiguous"):
        EditBase(plan, units).preview([Move("u1", "同名")])


def _key(findings: gpd.GeoDataFrame) -> list[tuple[str, str, float, str]]:
    return sorted(
        (r.rule, str(r.area_id), round(float(r.value), 3) if np.isfinite(r.value) else -1.0,
         r.message)
        for r in findings.itertuples()
    )  # fmt: skip


def _metrics(table: object) -> list[list[object]]:
    cols = ["id", "households", "residents", "parts", "road_boundary_share", "polsby_popper"]
    return table[cols].round(6).fillna(-1).values.tolist()  # type: ignore[index,no-any-return]


def test_incremental_check_equals_a_full_recheck() -> None:
    data = lattice(side=30, community=6, grid=3)
    base = EditBase(data.plan, data.units, data.layers)
    singles = [[m] for m in boundary_moves(base, 8, seed=3)]
    batch = boundary_moves(base, 6, seed=4)
    fresh = [Move(str(base.unit_ids[i]), "新社区") for i in (0, 1, 20)]
    compared = 0
    for moves in [*singles, batch, fresh, batch + fresh]:
        inc = base.preview(moves, levels=("community", "grid"))
        full = check_plan_levels(base.edited_plan(inc), data.layers)
        for level, check in inc.checks.items():
            assert check.incremental, (level, moves)
            if len(moves) == 1:  # only part was rechecked
                assert len(check.rechecked) < len(check.areas) / 2, (level, moves)
            assert _key(check.findings) == _key(full[level].findings), (level, moves)
            assert _metrics(check.areas) == _metrics(full[level].areas), (level, moves)
            compared += 1
    assert compared == 2 * 11


def test_a_gap_next_to_the_move_makes_the_check_full() -> None:
    data = lattice(side=20, community=5, grid=5)
    units = data.units[data.units["unit_id"] != "u7-7"].reset_index(drop=True)
    plan = data.plan
    keep = plan.assignments["unit_id"] != "u7-7"
    from dataclasses import replace

    plan = replace(plan, assignments=plan.assignments[keep].reset_index(drop=True))
    base = EditBase(plan, units, replace(data.layers, units=units))
    assert (base.levels["community"].findings["rule"] == "coverage.gap").any()
    near = base.preview([Move("u7-6", base.community[base.unit_index["u4-6"]])])
    far = base.preview([Move("u19-19", base.community[base.unit_index["u19-14"]])])
    assert not near.checks["community"].incremental
    assert far.checks["community"].incremental
    for preview in (near, far):
        full = check_plan_levels(base.edited_plan(preview), base.layers)
        assert _key(preview.checks["community"].findings) == _key(full["community"].findings)
