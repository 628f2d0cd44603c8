"""The demo end to end on the real Helsinki extract, on the embedded GeoPackage store."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.data.layers import LayerKind
from gridplan.data.store import open_store
from gridplan.geo.rules import check_plan_levels, plan_findings
from gridplan.ops.layers import read_check_layers
from gridplan.plan import Level

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, float]:
    out = tmp_path_factory.mktemp("demo")
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--format", "json"])
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), out, seconds


def test_demo_finishes_within_a_minute_and_reports(demo_run: tuple[dict, Path, float]) -> None:
    report, out, seconds = demo_run
    assert seconds < 60
    summary = report["summary"]
    for key in ("blocks (polygonized roads)", "households (estimated)", "store", "map"):
        assert key in summary
    assert report["store"] == str(out / "gridplan.gpkg")
    # every skipped feature is listed with its reason
    assert all(s["reason"] for s in report["skipped"])


def test_demo_store_holds_layers_and_a_valid_plan(demo_run: tuple[dict, Path, float]) -> None:
    report, out, _ = demo_run
    with open_store(out / "gridplan.gpkg") as store:
        assert store.count(LayerKind.ROADS) > 700
        assert store.count(LayerKind.BUILDINGS) > 400
        units = store.read_layer(LayerKind.UNITS)
        plan = store.load_plan(report["plan_id"])
        findings = store.read_findings(report["plan_id"])
    # units are cells: one per building inside each road block, each knowing its block
    assert int(report["summary"]["units"]) == len(units)
    assert len(units) > int(report["summary"]["blocks (polygonized roads)"])
    assert units["block_unit"].notna().all()
    buildings_households = float(report["summary"]["households (estimated)"].replace(",", ""))
    # households are conserved from buildings to units (the summary rounds to a household)
    assert abs(units["households"].sum() - buildings_households) < 1.0
    communities = plan.areas_at(Level.COMMUNITY)
    assert len(communities) >= 2
    assert communities["households"].between(1000, 3000).all()
    assert abs(communities["households"].sum() - units["households"].sum()) < 1e-6
    grids = plan.areas_at(Level.GRID)
    assert len(grids) > len(communities)
    assert set(grids["parent_id"]) == set(communities["area_id"])
    assert grids["code"].str.fullmatch(r"\d{15}").all()
    assert set(plan.assignments["unit_id"]) == set(units["unit_id"])
    assert set(findings.columns) >= {"rule", "area_id", "message", "geometry"}
    # the communities are all in band, so no community-level size finding is stored
    community_findings = findings[findings["level"] == Level.COMMUNITY.value]
    assert not community_findings["rule"].str.startswith("size.").any()
    grid_findings = findings[findings["level"] == Level.GRID.value]
    out_of_band = grids[~grids["households"].between(300, 500)]
    assert grid_findings["rule"].str.startswith("size.").sum() == len(out_of_band)


def test_demo_runs_the_example_scenario_into_a_child_plan(
    demo_run: tuple[dict, Path, float],
) -> None:
    report, out, _ = demo_run
    with open_store(out / "gridplan.gpkg") as store:
        plans = store.list_plans()
        base = store.load_plan(report["plan_id"])
        child = store.load_plan(plans[-1].plan_id)
        stored = store.read_findings(child.plan_id)
        again = plan_findings(check_plan_levels(child, read_check_layers(store)))
    # communities (partition) → communities and grids (their child) → the scenario's plan
    assert len(plans) == 3
    # the scenario's plan is stored with its findings (what GET /plans/{id}/checks re-runs)
    assert len(stored) > 0
    assert stored[["level", "rule", "area_id"]].values.tolist() == (
        again[["level", "rule", "area_id"]].values.tolist()
    )
    assert child.parent_id == base.plan_id
    communities = child.areas_at(Level.COMMUNITY)
    # the scenario consolidates into fewer, larger communities, all within its band
    assert len(communities) < len(base.areas_at(Level.COMMUNITY))
    assert communities["households"].between(2000, 3000).all()
    # the units are cells, but the scenario re-districts whole road blocks: its community
    # boundaries follow roads
    at_community = stored[stored["level"] == Level.COMMUNITY.value]
    assert not (at_community["rule"] == "roads.off_road").any()
    # nothing lost: the same units, the same households
    assert set(child.assignments["unit_id"]) == set(base.assignments["unit_id"])
    assert (
        abs(communities["households"].sum() - base.areas_at(Level.COMMUNITY)["households"].sum())
        < 1e-6
    )
    diff_html = (out / "scenario-diff.html").read_text(encoding="utf-8")
    assert "moved" in diff_html.lower()


def test_demo_map_is_offline_html_with_the_plan(demo_run: tuple[dict, Path, float]) -> None:
    _, out, _ = demo_run
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "leaflet" in html.lower()
    assert "C001" in html
    # nothing is fetched: no external scripts, styles or tile templates
    # (Leaflet's attribution is a plain link: it fetches nothing unless clicked)
    assert not re.search(r"""<(script|img|iframe)[^>]*\ssrc\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"""<link[^>]*\shref\s*=\s*["']?(https?:)?//""", html)
    assert "{z}" not in html and "tile.openstreetmap" not in html


def test_demo_out_that_cannot_be_a_folder_is_bad_input(tmp_path: Path) -> None:
    """--out under a plain file used to end in a FileExistsError/NotADirectoryError
    traceback once the demo reached the store step; it is an InputError (exit 2)."""
    from gridplan.errors import InputError
    from gridplan.ops.demo import DemoConfig, DemoRun

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(InputError, match="cannot create the folder"):
        DemoRun(DemoConfig(out_dir=blocker / "demo")).open()


def test_demo_findings_equal_gridplan_check_on_the_same_plan(
    demo_run: tuple[dict, Path, float],
) -> None:
    """The demo reports, and stores, exactly what ``gridplan check --db`` finds in its plan
    (it used to report "none" for communities the check found five problems in)."""
    report, out, _ = demo_run
    store_path = out / "gridplan.gpkg"
    result = CliRunner().invoke(
        app,
        ["check", "--db", str(store_path), "--plan", str(report["plan_id"]), "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    levels = json.loads(result.stdout)["levels"]
    with open_store(store_path) as store:
        stored = store.read_findings(report["plan_id"])
    for level, label in (("community", "communities"), ("grid", "grids")):
        by_rule = levels[level]["summary"]["by_rule"]
        mine = stored[stored["level"] == level]["rule"].value_counts().to_dict()
        assert by_rule == mine
        text = ", ".join(f"{r} {n}" for r, n in sorted(by_rule.items())) or "none"
        assert report["summary"][f"findings ({label})"] == text


def test_demo_grids_are_built_from_cells_and_meet_their_band(
    demo_run: tuple[dict, Path, float],
) -> None:
    """Issue 12's target on the demo: at least 95% of grids in 300–500 households (road
    blocks alone gave 15 of 21), none empty, none in more than one part."""
    report, out, _ = demo_run
    with open_store(out / "gridplan.gpkg") as store:
        plan = store.load_plan(report["plan_id"])
        findings = store.read_findings(report["plan_id"])
    grids = plan.areas_at(Level.GRID)
    assert grids["households"].between(300, 500).mean() >= 0.95
    assert (grids["households"] > 0).all()
    at_grid = findings[findings["level"] == Level.GRID.value]
    assert not (at_grid["rule"] == "enclave.exclave").any()
    communities = plan.areas_at(Level.COMMUNITY)
    assert grids["households"].sum() == pytest.approx(communities["households"].sum())
