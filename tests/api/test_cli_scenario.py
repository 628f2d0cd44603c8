"""``gridplan scenario run`` against both stores, with the shipped example scenarios.

The toy subdistrict below is a hand-drawn lattice, not Qingyang's geography (no public
boundaries exist): 4 rows × 12 columns of 100 m units, 80 households each, six communities
of 2 columns (青新 0-1, 阳光 2-3, 锦青 4-5, 洪宅垵 6-7, 高霞 8-9, 普照 10-11), and the ten
compounds the policy text names, each inside a unit next to the community it must join::

    col:  0 1 | 2 3 | 4 5 | 6 7 | 8 9 | 10 11
    row 0 青新 | 新 . | 阳 . | 福 . | . . | 机 .     新 新世纪豪园  市 市直机关宿舍楼
    row 1 青新 | 市 . | . . | . . | . . | . .       镇 镇长楼      银 银星花园
    row 2 青新 | 镇 . | . 豪 | . . | . . | . .       阳 阳光时代广场 福 福隆广场
    row 3 青新 | 银 . | . 世 | . . | . 公 | . .     世 世纪公园 豪 豪富花园 机 机场生活区
                                                   公 市公安局宿舍
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import box
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.data.layers import LayerKind, normalise
from gridplan.data.store.base import Store, open_store
from gridplan.geo.plans import plan_from_units
from gridplan.geo.rules import check_plan_levels, plan_findings
from gridplan.geo.scenario import load_scenario
from gridplan.ops.layers import read_check_layers
from gridplan.ops.scenario import load_base

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"
ROWS, COLS = 4, 12
COMMUNITIES = ["青新社区", "阳光社区", "锦青社区", "洪宅垵社区", "高霞社区", "普照社区"]
#: compound -> (row, col) of the unit it lies in.
COMPOUNDS = {
    "新世纪豪园": (0, 2),
    "市直机关宿舍楼": (1, 2),
    "镇长楼": (2, 2),
    "银星花园": (3, 2),
    "阳光时代广场": (0, 4),
    "福隆广场": (0, 6),
    "豪富花园": (2, 5),
    "世纪公园": (3, 5),
    "机场生活区": (0, 10),
    "市公安局宿舍": (3, 9),
}


def _toy() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray]:
    cells = [(r, c) for r in range(ROWS) for c in range(COLS)]
    units = gpd.GeoDataFrame(
        {
            "unit_id": [f"r{r}c{c}" for r, c in cells],
            "households": 80.0,
            "residents": 200.0,
        },
        geometry=[box(c * 100, -r * 100, c * 100 + 100, -r * 100 + 100) for r, c in cells],
        crs="EPSG:32650",
    ).to_crs(4326)
    compounds = gpd.GeoDataFrame(
        {
            "compound_id": [f"k{i}" for i in range(len(COMPOUNDS))],
            "name": list(COMPOUNDS),
            "households": 80.0,
        },
        geometry=[
            box(c * 100 + 20, -r * 100 + 20, c * 100 + 80, -r * 100 + 80)
            for r, c in COMPOUNDS.values()
        ],
        crs="EPSG:32650",
    ).to_crs(4326)
    communities = np.array([COMMUNITIES[c // 2] for _, c in cells], dtype=object)
    return units, compounds, communities


def _seed_store(store: Store) -> int:
    units, compounds, communities = _toy()
    store.import_layers(
        {
            LayerKind.UNITS: normalise(LayerKind.UNITS, units),
            LayerKind.COMPOUNDS: normalise(LayerKind.COMPOUNDS, compounds),
        },
        source="toy lattice",
    )
    base = plan_from_units(units, communities, name="现状", source="test")
    return store.save_plan(base)


@pytest.mark.postgis
def test_named_assignments_example_in_both_stores(store: Store) -> None:
    base_id = _seed_store(store)
    res = runner.invoke(
        app,
        ["scenario", "run", str(EXAMPLES / "qingyang_named_assignments.yaml"), "--db", store.url,
         "--format", "json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["parent_id"] == base_id and data["plan_id"] != base_id
    moved = {m["compound"]: m["to"] for m in data["compounds_moved"]}
    assert moved == {
        "新世纪豪园": "青新社区",
        "市直机关宿舍楼": "青新社区",
        "镇长楼": "青新社区",
        "银星花园": "青新社区",
        "阳光时代广场": "阳光社区",
        "福隆广场": "锦青社区",
        "豪富花园": "洪宅垵社区",
        "世纪公园": "洪宅垵社区",
        "机场生活区": "高霞社区",
        "市公安局宿舍": "普照社区",
    }
    after = {c["community"]: c["after"] for c in data["communities"]}
    assert after["青新社区"]["households"] == 12 * 80 and after["阳光社区"]["households"] == 5 * 80
    assert all(a["parts"] == 1 for a in after.values())
    plan = store.load_plan(data["plan_id"])
    assert plan.parent_id == base_id
    grids = plan.areas_at("grid")
    assert len(grids) >= 6
    assert ((grids["households"] >= 300) & (grids["households"] <= 500)).all()
    assert set(grids["parent_id"]) == set(COMMUNITIES)
    # The base plan is untouched (plans are immutable).
    assert store.load_plan(base_id).assignments["community_id"].tolist() == list(_toy()[2])
    # The new plan is stored with its findings: the ones its checks give when re-run on the
    # stored plan with the store's layers (what GET /plans/{id}/checks runs).
    stored = store.read_findings(data["plan_id"])
    again = plan_findings(check_plan_levels(plan, read_check_layers(store)))
    _assert_same_findings(stored, again)
    # communities of 5-12 × 80 households are under 1000; the regridded grids are in band
    assert data["checks"] == {
        "community": {"findings": 6, "by_rule": {"size.under": 6}},
        "grid": {"findings": 0, "by_rule": {}},
    }
    assert stored["rule"].tolist() == ["size.under"] * 6


def _assert_same_findings(stored: gpd.GeoDataFrame, expected: gpd.GeoDataFrame) -> None:
    """Same findings in the same order: columns and values, geometries within 1e-9°."""
    assert stored.crs == expected.crs
    pd.testing.assert_frame_equal(
        pd.DataFrame(stored.drop(columns="geometry")).reset_index(drop=True),
        pd.DataFrame(expected.drop(columns="geometry")).reset_index(drop=True),
    )
    left = np.asarray(stored.geometry.values, dtype=object)
    right = np.asarray(expected.geometry.values, dtype=object)
    both_null = pd.isna(left) & pd.isna(right)
    assert (both_null | shapely.equals_exact(left, right, tolerance=1e-9)).all()


@pytest.mark.postgis
def test_failing_step_leaves_the_store_unchanged(store: Store, tmp_path: Path) -> None:
    _seed_store(store)
    plans = len(store.list_plans())
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nbase: {plan: latest}\nsteps:\n"
        "  - {action: assign_compound, compound: 镇长楼, community: 青新社区}\n"
        "  - {action: merge, communities: [青新社区, 不存在社区]}\n",
        encoding="utf-8",
    )
    res = runner.invoke(app, ["scenario", "run", str(bad), "--db", store.url])
    assert res.exit_code == 2
    assert "step 2 (merge): no community '不存在社区'" in res.output
    assert len(store.list_plans()) == plans


def test_table_output_and_bad_file(tmp_path: Path) -> None:
    db = tmp_path / "s.gpkg"
    with open_store(db) as st:
        _seed_store(st)
    res = runner.invoke(
        app, ["scenario", "run", str(EXAMPLES / "qingyang_named_assignments.yaml"), "--db", str(db)]
    )
    assert res.exit_code == 0, res.output
    assert "stored as plan 2" in res.output and "(parent 1)" in res.output
    assert "findings (communities): 6 (size.under 6)" in res.output
    assert "findings (grids): 0 (none)" in res.output
    assert "青新社区" in res.output and "what moved" in res.output
    missing = runner.invoke(app, ["scenario", "run", str(tmp_path / "none.yaml"), "--db", str(db)])
    assert missing.exit_code == 2 and "no such scenario file" in missing.output


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("example", "lo", "hi"),
    [("wuhai_consolidation.yaml", 2500, 3500), ("new_development_community.yaml", 1000, 3000)],
)
def test_real_data_examples(
    example: str, lo: float, hi: float, tmp_path: Path, shared_data: Path
) -> None:
    """The Providence examples (households = TOTPOP / 2.5) end with every community in band."""
    res = runner.invoke(
        app,
        ["scenario", "run", str(EXAMPLES / example), "--db", str(tmp_path / "p.gpkg"),
         "--format", "json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    after = [c["after"] for c in data["communities"] if c["after"] is not None]
    assert after and all(lo <= a["households"] <= hi and a["parts"] == 1 for a in after)
    total = sum(a["households"] for a in after)
    assert total == pytest.approx(178040 / 2.5)
    # A base of files: the new plan is checked against the scenario's own files.
    scenario = load_scenario(EXAMPLES / example)
    with open_store(tmp_path / "p.gpkg") as store:
        layers = load_base(scenario, store).check_layers()
        plan = store.load_plan(data["plan_id"])
        stored = store.read_findings(data["plan_id"])
    _assert_same_findings(stored, plan_findings(check_plan_levels(plan, layers)))
    assert sum(c["findings"] for c in data["checks"].values()) == len(stored)
    if example.startswith("new_development"):
        names = {c["community"] for c in data["communities"] if c["after"] is not None}
        assert "Lakeside West" in names
    else:
        assert len(after) < len([c for c in data["communities"] if c["before"] is not None])


def test_scenario_file_not_utf8_is_bad_input(tmp_path: Path) -> None:
    """A scenario saved as GBK (a Windows editor's default for Chinese) used to end in a
    UnicodeDecodeError traceback."""
    path = tmp_path / "gbk.yaml"
    path.write_bytes("name: 青新社区\nbase: {plan: latest}\nsteps: []\n".encode("gbk"))
    res = runner.invoke(app, ["scenario", "run", str(path), "--db", str(tmp_path / "s.gpkg")])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert res.stderr.startswith("error: gbk.yaml: not UTF-8 text (")
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.realdata
@pytest.mark.slow
def test_scenario_base_files_from_another_place_are_refused(
    tmp_path: Path, shared_data: Path
) -> None:
    """A scenario whose base is Providence's files does not land in a store that holds
    Tallahassee: one store holds one place. Nothing is stored."""
    db = tmp_path / "tallahassee.gpkg"
    imported = runner.invoke(
        app,
        ["import", str(shared_data / "tallahassee" / "tallahassee.gpkg"), "--kind", "roads",
         "--layer", "roads", "--field", "road_id=SegID", "--db", str(db)],
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    scenario = Path(__file__).parents[2] / "examples" / "scenarios" / "wuhai_consolidation.yaml"
    result = runner.invoke(app, ["scenario", "run", str(scenario), "--db", str(db)])
    assert result.exit_code == 2
    assert "one store holds one place" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with open_store(db, create=False) as store:
        assert store.list_plans() == []
