"""The edit use case (ops.edit) on the demo's store: real Helsinki units, roads, compounds.

The demo stores plan 1 (communities), plan 2 (its grids, child of 1) and plan 3 (a scenario,
child of 2), so plan 2 is stale and plan 3 is the latest.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gridplan.data.store import open_store
from gridplan.data.store.base import Store
from gridplan.errors import ConflictError, NotFoundError
from gridplan.geo.edit import EditBase, Move
from gridplan.geo.rules import check_plan_levels
from gridplan.ops.checks import check_stored_plan
from gridplan.ops.demo import DemoConfig, run_demo
from gridplan.ops.edit import open_edit, preview_edit, save_edit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = run_demo(DemoConfig(out_dir=tmp_path_factory.mktemp("demo"), seed=1))
    return result.store


@pytest.fixture
def store(demo_db: Path, tmp_path: Path) -> Iterator[Store]:
    copy = tmp_path / "gridplan.gpkg"
    shutil.copy(demo_db, copy)
    s = open_store(copy)
    try:
        yield s
    finally:
        s.close()


def _boundary_moves(base: EditBase, count: int, seed: int) -> list[Move]:
    rng = np.random.default_rng(seed)
    out: list[Move] = []
    while len(out) < count:
        i = int(rng.integers(len(base.unit_ids)))
        near = base.tree.query(base.metric[i], predicate="dwithin", distance=1.0)
        across = [int(j) for j in near if base.community[j] != base.community[i]]
        if across:
            out.append(Move(str(base.unit_ids[i]), str(base.community[across[0]])))
    return out


def test_preview_numbers_and_stale_base(store: Store) -> None:
    base = open_edit(store, 2)
    move = _boundary_moves(base, 1, seed=5)[0]
    unit = base.unit_index[move.unit]
    source, target = base.community[unit], move.to
    hh = float(base.households[unit])
    result = preview_edit(base, [move], latest_plan=store.latest_plan_id())
    doc = result.to_json()
    assert (
        doc["stale"] is True
        and doc["latest_plan"] == 3
        and "no longer the latest" in doc["message"]
    )
    rows = {c["id"]: c for c in doc["communities"]}
    before = base.levels["community"].rows
    assert rows[source]["households"] == pytest.approx(before.at[source, "households"] - hh)
    assert rows[target]["households"] == pytest.approx(before.at[target, "households"] + hh)
    assert rows[source]["changed"] and rows[target]["changed"]
    assert sum(r["units"] for r in rows.values()) == len(base.unit_ids)
    assert doc["moved"] == {"units": 1, "households": pytest.approx(hh)}
    # the unit's grid lost it, the target's grid it joined gained it
    grids = {g["id"]: g for g in doc["grids"]}
    old_grid = base.grid[unit]
    assert grids[old_grid]["units_after"] == grids[old_grid]["units_before"] - 1
    assert {g["community"] for g in grids.values() if g["units_after"] > g["units_before"]} == {
        target
    }
    assert {f["rule"] for f in doc["findings"]} <= set(
        check_stored_plan(store, 2).findings["rule"]
    ) | {"enclave.exclave", "enclave.embedded", "roads.off_road", "size.under", "size.over"}


def test_incremental_equals_full_recheck_on_real_units(store: Store) -> None:
    base = open_edit(store, 2)
    for moves in [_boundary_moves(base, 1, seed=s) for s in range(4)] + [
        [*_boundary_moves(base, 5, seed=9), Move(str(base.unit_ids[3]), "湖光社区")]
    ]:
        inc = base.preview(moves, levels=("community", "grid"))
        full = check_plan_levels(base.edited_plan(inc), base.layers)
        for level, check in inc.checks.items():
            got = sorted(zip(check.findings["rule"], check.findings["area_id"].astype(str),
                             check.findings["message"], strict=True))  # fmt: skip
            want = sorted(zip(full[level].findings["rule"],
                              full[level].findings["area_id"].astype(str),
                              full[level].findings["message"], strict=True))  # fmt: skip
            assert got == want, (level, moves)
            cols = ["id", "households", "parts", "road_boundary_share"]
            assert (
                check.areas[cols].round(6).fillna(-1).values.tolist()
                == full[level].areas[cols].round(6).fillna(-1).values.tolist()
            )


def test_save_stores_a_child_plan_with_its_findings(store: Store) -> None:
    base = open_edit(store, 3)  # the latest plan
    moves = [*_boundary_moves(base, 2, seed=2), Move(str(base.unit_ids[0]), "湖光社区")]
    saved = save_edit(store, base, moves, name="青阳街道 adjusted by hand")
    assert saved.parent == 3 and store.latest_plan_id() == saved.plan_id
    plan = store.load_plan(saved.plan_id)
    assert plan.parent_id == 3 and plan.name == "青阳街道 adjusted by hand"
    assert plan.source == "edit:plan 3" and plan.metrics["moves"] == 3
    com = plan.areas_at("community").set_index("area_id")
    assert com.loc["湖光社区", "name"] == "湖光社区"
    assert (
        plan.assignments.set_index("unit_id").loc[str(base.unit_ids[0]), "community_id"]
        == "湖光社区"
    )
    stored = store.read_findings(saved.plan_id)
    assert len(stored) == len(saved.check.findings) > 0
    # the findings stored are what `gridplan check` finds in the stored plan
    assert check_stored_plan(store, saved.plan_id).by_rule() == saved.check.by_rule()


def test_save_of_a_stale_base_needs_force(store: Store) -> None:
    base = open_edit(store, 2)
    moves = _boundary_moves(base, 1, seed=1)
    with pytest.raises(ConflictError, match="plan 2 is no longer the latest plan"):
        save_edit(store, base, moves)
    assert store.latest_plan_id() == 3
    saved = save_edit(store, base, moves, force=True)
    assert store.load_plan(saved.plan_id).parent_id == 2


def test_unknown_plan(store: Store) -> None:
    with pytest.raises(NotFoundError, match="plan 42"):
        open_edit(store, 42)
