"""Service reach on the demo (central Helsinki, OSM): check, reach summary, siting, the map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.data.layers import LayerKind
from gridplan.data.store.base import open_store

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("demo")
    result = runner.invoke(app, ["demo", "--out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), out / "gridplan.gpkg"


def _json(args: list[str]) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_demo_keeps_the_walking_network(demo: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    report, store_path = demo
    assert report["summary"]["walking network (paths)"] == "2321 ways"
    with open_store(store_path) as store:
        paths = store.read_layer(LayerKind.PATHS)
    assert len(paths) == 2321
    assert {"footway", "steps", "pedestrian", "residential"} <= set(paths["path_class"])


def test_gridplan_check_reports_reach_findings_on_the_demo(demo: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    report, store_path = demo
    doc = _json(["check", "--db", str(store_path), "--plan", str(report["plan_id"])])
    found = [f for f in doc["levels"]["community"]["findings"] if f["rule"] == "reach.outside"]
    assert found, "the demo's communities are not all within 10 minutes of a centre"
    assert all("10-minute walk (500 m)" in f["message"] for f in found)
    grids = doc["levels"].get("grid", {}).get("findings", [])
    assert not [f for f in grids if f["rule"] == "reach.outside"]  # a community's rule


def test_reach_summary_and_site_on_the_demo(demo: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    report, store_path = demo
    plan = str(report["plan_id"])
    doc = _json(["reach", "summary", "--db", str(store_path), "--plan", plan])
    assert doc["network"] == "paths"
    by_t = {t["metres"]: t["communities"] for t in doc["thresholds"]}
    assert set(by_t) == {300.0, 500.0, 1000.0}
    for near, far in zip(by_t[300.0], by_t[1000.0], strict=True):
        assert near["households_within"] <= far["households_within"] <= far["households"] + 1e-6
        assert near["any"]["households_within"] >= near["households_within"] - 1e-6
    worst = min(by_t[500.0], key=lambda c: c["share"])
    site = _json(
        [
            "reach",
            "site",
            "--db",
            str(store_path),
            "--plan",
            plan,
            "--community",
            worst["community"],
            "--count",
            "2",
        ]
    )
    assert len(site["sites"]) == 2 and site["optimal"]
    assert site["households_within_before"] == pytest.approx(worst["households_within"])
    assert site["households_within_after"] > site["households_within_before"]


def test_the_demo_map_draws_network_isochrones(demo: tuple[dict, Path], tmp_path: Path) -> None:  # type: ignore[type-arg]
    report, store_path = demo
    out = tmp_path / "map.html"
    result = runner.invoke(
        app, ["map", "--db", str(store_path), "--plan", str(report["plan_id"]), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Walking isochrones along the network (300/500/1,000 m)" in html
    assert "Households beyond reach of their service centre" in html
    assert "Walking circles" not in html
