"""``gridplan report`` and ``GET /plans/{id}/rollup`` on the demo store (real Helsinki data)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import geopandas as gpd
import openpyxl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gridplan.api.app import create_app
from gridplan.api.cli import app
from gridplan.ops.demo import DemoConfig, run_demo
from gridplan.settings import Settings

pytestmark = pytest.mark.slow

LEVELS = ["grid", "community", "subdistrict", "district"]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report-demo")
    run_demo(DemoConfig(out_dir=out))
    return out / "gridplan.gpkg"


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, ["report", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_report_prints_the_four_levels_with_the_policy_figures(demo_db: Path) -> None:
    text = _run("--db", str(demo_db))
    for level in LEVELS:
        assert f"{level} (" in text and f"{level}: policy figures" in text
    flat = " ".join(text.split())
    assert "volunteers ≥ 8% of residents" in flat and "¥10/household/yr" in flat


def test_report_json_sums_and_roster(demo_db: Path, tmp_path: Path) -> None:
    doc = json.loads(_run("--db", str(demo_db), "--format", "json"))
    levels = doc["levels"]
    assert list(levels) == LEVELS
    district = levels["district"][0]
    assert district["households"] == pytest.approx(sum(r["households"] for r in levels["grid"]))
    assert district["grids"] == len(levels["grid"])
    grid = levels["grid"][0]["code"]
    roster = tmp_path / "staff.csv"
    roster.write_text(
        f"name,role,grid_code\n王芳,专职网格员,{grid}\n李强,part-time,{grid}\n"
        "赵敏,full-time,000000001999001\n",
        encoding="utf-8",
    )
    service = tmp_path / "service.csv"
    community = levels["community"][0]["code"]
    service.write_text(f"code,volunteers,new_households,model\n{community},100,10,是\n", "utf-8")
    doc = json.loads(
        _run(
            "--db",
            str(demo_db),
            "--format",
            "json",
            "--staff",
            str(roster),
            "--service",
            str(service),
            "--staff-per-households",
            "250",
        )
    )
    g = {r["code"]: r for r in doc["levels"]["grid"]}
    assert g[grid]["staff"] == 2 and g[grid]["staff_full_time"] == 1
    assert g[grid]["staff_needed"] == 1 + -(-g[grid]["households"] // 250)
    c = {r["code"]: r for r in doc["levels"]["community"]}[community]
    assert c["model_communities"] == 1 and c["volunteers"] == 100
    assert c["volunteers_target"] == -(-c["residents"] * 0.10 // 1)
    assert c["new_household_funding_yuan"] == 3000
    assert doc["roster"]["unknown"][0]["name"] == "赵敏"
    assert len(doc["roster"]["grids_without_full_time"]) == len(g) - 1


def test_report_csv_and_xlsx(demo_db: Path, tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(_run("--db", str(demo_db), "--format", "csv"))))
    assert {r["level"] for r in rows} == set(LEVELS)
    out = tmp_path / "report.xlsx"
    _run("--db", str(demo_db), "--format", "xlsx", "--out", str(out))
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:4] == LEVELS


def test_report_bad_input_is_one_line(demo_db: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--db", str(demo_db), "--level", "street"])
    assert result.exit_code != 0 and "expected one of grid" in result.output
    result = CliRunner().invoke(app, ["report", "--db", str(demo_db), "--subdistrict", "777"])
    assert result.exit_code != 0 and "subdistrict 777" in result.output


def test_http_rollup(demo_db: Path) -> None:
    with TestClient(create_app(Settings(database_url=str(demo_db)))) as client:
        plan = client.get("/plans").json()
        plan_id = max(p["plan_id"] for p in (plan["plans"] if isinstance(plan, dict) else plan))
        r = client.get(f"/plans/{plan_id}/rollup")
        assert r.status_code == 200
        doc = r.json()
        assert list(doc["levels"]) == LEVELS
        one = client.get(f"/plans/{plan_id}/rollup", params={"level": "community"}).json()
        assert list(one["levels"]) == ["community"]
        assert one["levels"]["community"] == doc["levels"]["community"]
        csv_text = client.get(f"/plans/{plan_id}/rollup", params={"format": "csv"}).text
        assert csv_text.startswith("level,code,name")
        for params, status in (
            ({"level": "x"}, 422),
            ({"bogus": "1"}, 400),
            ({"subdistrict": "9"}, 404),
        ):
            assert client.get(f"/plans/{plan_id}/rollup", params=params).status_code == status
        assert client.get("/plans/999/rollup").status_code == 404
        ratio = client.get(
            f"/plans/{plan_id}/rollup",
            params={"level": "district", "households_per_staff": 0, "volunteer_share": 0.5},
        ).json()["levels"]["district"][0]
        assert ratio["staff_needed"] == ratio["grids"]  # 1 full-time per grid, no extra
        assert ratio["volunteers_target"] >= 0.5 * ratio["residents"] - len(
            doc["levels"]["community"]
        )
        assert (
            client.get(f"/plans/{plan_id}/rollup", params={"volunteer_share": 2}).status_code == 422
        )


def test_subdistricts_by_band_then_scoped_report_and_check(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.gpkg"
    db.write_bytes(demo_db.read_bytes())
    result = CliRunner().invoke(
        app,
        [
            "subdistricts",
            "--db",
            str(db),
            "--plan",
            "2",
            "--band",
            "2000",
            "3200",
            "--county",
            "110105",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    codes = [s["code"] for s in made["subdistricts"]]
    assert codes == ["110105001", "110105002"]
    assert sum(s["communities"] for s in made["subdistricts"]) == 4
    doc = json.loads(_run("--db", str(db), "--format", "json"))
    levels = doc["levels"]
    assert [r["code"] for r in levels["subdistrict"]] == codes
    assert all(len(r["code"]) == 12 and r["code"][:9] in codes for r in levels["community"])
    assert all(len(r["code"]) == 15 for r in levels["grid"])
    for sub in levels["subdistrict"]:
        part = [r for r in levels["community"] if r["parent_code"] == sub["code"]]
        assert sub["households"] == pytest.approx(sum(r["households"] for r in part))
    one = json.loads(_run("--db", str(db), "--format", "json", "--subdistrict", "002"))
    assert [r["code"] for r in one["levels"]["subdistrict"]] == ["110105002"]
    assert one["levels"]["district"][0]["households"] == pytest.approx(
        levels["subdistrict"][1]["households"]
    )
    checked = CliRunner().invoke(
        app, ["check", "--db", str(db), "--subdistrict", "110105001", "--format", "json"]
    )
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["levels"]["community"]["summary"]["areas"] == 2
    shown = CliRunner().invoke(
        app, ["plans", "show", "--db", str(db), "--subdistrict", "001", "--format", "json"]
    )
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["communities"] == 2
    out = tmp_path / "subdistricts.gpkg"
    exported = CliRunner().invoke(
        app, ["plans", "export", "--db", str(db), "--level", "subdistrict", "--out", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    frame = gpd.read_file(out)
    assert sorted(frame["code"]) == codes
    assert frame["households"].sum() == pytest.approx(levels["district"][0]["households"])


def test_stored_roster_and_service_feed_report_check_and_http(
    demo_db: Path, tmp_path: Path
) -> None:
    db = tmp_path / "roster.gpkg"
    db.write_bytes(demo_db.read_bytes())
    doc = json.loads(_run("--db", str(db), "--format", "json"))
    grids = [r["code"] for r in doc["levels"]["grid"]]
    community = doc["levels"]["community"][0]["code"]
    roster = tmp_path / "staff.csv"
    roster.write_text(
        f"name,role,grid_code\n王芳,专职网格员,{grids[0]}\n李强,part-time,{grids[0]}\n"
        "赵敏,full-time,NOSUCH\n",
        encoding="utf-8",
    )
    service = tmp_path / "service.csv"
    service.write_text(f"code,volunteers,new_households,model\n{community},1,2,\n", "utf-8")
    for args in (["staff", str(roster)], ["service", str(service)]):
        result = CliRunner().invoke(app, ["roster", *args, "--db", str(db)])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["roster", "check", "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    check = json.loads(result.stdout)
    assert check["staff"] == 3 and len(check["grids_without_full_time"]) == len(grids) - 1
    assert check["unknown"] == [
        {"name": "赵敏", "role": "full-time", "grid_code": "NOSUCH", "why": "unknown"}
    ]
    report = json.loads(_run("--db", str(db), "--format", "json"))
    c = {r["code"]: r for r in report["levels"]["community"]}[community]
    assert c["volunteers"] == 1 and c["new_household_funding_yuan"] == 600
    assert c["findings_by_rule"]["service.volunteers_short"] == 1
    assert report["levels"]["district"][0]["staff"] == 2
    with TestClient(create_app(Settings(database_url=str(db)))) as client:
        plan_id = report["plan_id"]
        served = client.get(f"/plans/{plan_id}/rollup", params={"level": "district"}).json()
        assert served["levels"]["district"][0]["staff"] == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("name,grid_code\n,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["roster", "staff", str(bad), "--db", str(db)])
    assert result.exit_code != 0 and "role" in result.output
