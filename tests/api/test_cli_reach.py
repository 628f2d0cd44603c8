"""``gridplan reach summary|site`` and reach findings in ``gridplan check``, on both stores.

The store holds the river town of ``tests/reachtown.py``: community A, its centre F on the
south bank, compound S (200 households) 200 m away, compound N (300 households) across the
river, 1,400 m away by the only bridge.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from typer.testing import CliRunner

import reachtown as town
from gridplan.api.cli import app
from gridplan.data.store.base import Store

runner = CliRunner()


@pytest.fixture
def town_store(store: Store, tmp_path: Path) -> str:
    """The river town in a store; its URL."""
    town.load_store(store, tmp_path)
    return store.url


def _json(args: list[str]) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_reach_summary_json(town_store: str) -> None:
    doc = _json(["reach", "summary", "--db", town_store, "--minutes", "10", "--minutes", "30"])
    assert doc["plan_id"] == 1 and doc["network"] == "paths"
    assert [t["metres"] for t in doc["thresholds"]] == [500.0, 1500.0]
    assert [t["minutes"] for t in doc["thresholds"]] == [10.0, 30.0]
    ten = doc["thresholds"][0]["communities"][0]
    assert ten["community"] == "A" and ten["name"] == "河畔社区" and ten["centres"] == ["F"]
    assert ten["households"] == pytest.approx(500.0)
    assert ten["households_within"] == pytest.approx(200.0)
    assert ten["share"] == pytest.approx(0.4)
    thirty = doc["thresholds"][1]["communities"][0]
    assert thirty["share"] == pytest.approx(1.0)


def test_reach_summary_table_and_isochrones_file(town_store: str, tmp_path: Path) -> None:
    out = tmp_path / "iso.geojson"
    gone = tmp_path / "unreached.gpkg"
    result = runner.invoke(
        app,
        ["reach", "summary", "--db", town_store, "--metres", "500", "--isochrones", str(out),
         "--unreached", str(gone)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "河畔社区" in result.stdout and "40.0%" in result.stdout
    iso = gpd.read_file(out)
    assert list(iso["threshold"]) == [500.0] and list(iso["facility_id"]) == ["F"]
    points = gpd.GeoSeries([town.pt(350, 0), town.pt(550, 300)], crs=town.CRS).to_crs(iso.crs)
    assert iso.geometry.iloc[0].contains(points.iloc[0])  # S, 200 m along the street
    assert not iso.geometry.iloc[0].contains(points.iloc[1])  # N, across the river
    beyond = gpd.read_file(gone)
    assert list(beyond["location_id"]) == ["N"] and list(beyond["households"]) == [300.0]


def test_reach_bad_input_is_one_line(town_store: str) -> None:
    for args, words in (
        (["--metres", "500", "--minutes", "10"], "not both"),
        (["--metres", "-1"], "positive"),
        (["--plan", "9"], "9"),
    ):
        result = runner.invoke(app, ["reach", "summary", "--db", town_store, *args])
        assert result.exit_code == 2, result.output
        assert words in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["reach", "site", "--db", town_store, "--community", "Z"])
    assert result.exit_code == 2 and "no community 'Z'" in result.output


def test_reach_site_puts_a_centre_across_the_river(town_store: str) -> None:
    doc = _json(["reach", "site", "--db", town_store, "--community", "河畔社区"])
    assert doc["community"] == "A" and doc["centres"] == ["F"]
    assert doc["households_within_before"] == pytest.approx(200.0)
    assert doc["households_within_after"] == pytest.approx(500.0)
    assert doc["households_gained"] == pytest.approx(300.0) and doc["optimal"]
    assert [s["candidate_id"] for s in doc["sites"]] == ["N"]
    scratch = _json(
        [
            "reach",
            "site",
            "--db",
            town_store,
            "--community",
            "A",
            "--from-scratch",
            "--method",
            "greedy",
        ]
    )
    assert scratch["households_within_before"] == 0.0
    assert scratch["sites"][0]["candidate_id"] == "N"  # N alone covers 300, S alone 200


def test_reach_site_candidates_file(town_store: str, tmp_path: Path) -> None:
    sites = gpd.GeoDataFrame(
        {"facility_id": ["north-bank", "south-bank"]},
        geometry=[town.pt(500, 300), town.pt(100, 0)],
        crs=town.CRS,
    )
    path = tmp_path / "sites.geojson"
    sites.to_file(path)
    doc = _json(
        ["reach", "site", "--db", town_store, "--community", "A", "--candidates", str(path)]
    )
    assert [s["candidate_id"] for s in doc["sites"]] == ["north-bank"]
    assert doc["households_gained"] == pytest.approx(300.0)
    result = runner.invoke(
        app, ["reach", "site", "--db", town_store, "--community", "A", "--candidates", "nope.gpkg"]
    )
    assert result.exit_code == 2


def test_check_on_the_store_reports_reach_findings(town_store: str) -> None:
    doc = _json(["check", "--db", town_store])
    found = [f for f in doc["levels"]["community"]["findings"] if f["rule"] == "reach.outside"]
    assert len(found) == 1
    assert found[0]["value"] == pytest.approx(300.0)
    assert "300 of 500 households (60%)" in found[0]["message"]


def test_check_files_with_facilities_and_paths(tmp_path: Path) -> None:
    files = town.write_files(tmp_path)
    base = [
        "check", "--areas", str(files["areas"]), "--compounds", str(files["compounds"]),
        "--facilities", str(files["facilities"]), "--paths", str(files["paths"]),
    ]  # fmt: skip
    doc = _json(base)
    found = [f for f in doc["findings"] if f["rule"] == "reach.outside"]
    assert [f["value"] for f in found] == [pytest.approx(300.0)]
    assert "10-minute walk (500 m)" in found[0]["message"]
    # 30 minutes reach N across the bridge; a 40 % target is met at 10 minutes
    for extra in (["--reach-minutes", "30"], ["--reach-target", "0.4"]):
        doc = _json([*base, *extra])
        assert "reach.outside" not in [f["rule"] for f in doc["findings"]], extra
    result = runner.invoke(app, ["check", "--db", str(tmp_path / "x.gpkg"), "--paths", "p.gpkg"])
    assert result.exit_code == 2 and "--paths" in result.output
