"""The planner's whole job from the command line, with no Python in between.

Each step is a ``gridplan`` process, as a planner runs it: a real OpenStreetMap extract that
pyrosm ships (``test.osm.pbf``, a small Finnish town, ODbL) → import → units → partition →
grids → check → plans export → re-import of the export. Households are conserved from the
import's estimate to the export, every community lies in its band, every grid is coded, the
check's findings are the ones stored with the plan, and the README tour runs as written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyrosm
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GRIDPLAN = str(Path(sys.executable).with_name("gridplan"))


def run(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One ``gridplan`` process in ``folder``."""
    done = subprocess.run(
        [GRIDPLAN, *args], cwd=folder, capture_output=True, text=True, timeout=600
    )
    if check:
        assert done.returncode == 0, f"gridplan {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    return done


def run_json(folder: Path, *args: str) -> Any:
    return json.loads(run(folder, *args, "--format", "json").stdout)


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("job")
    pbf = pyrosm.get_data("test_pbf")
    out: dict[str, Any] = {"folder": folder}
    out["import"] = run_json(folder, "import", pbf)
    out["units"] = run_json(folder, "units")
    out["partition"] = run_json(folder, "partition", "--band", "1000", "3000", "--seed", "1")
    out["grids"] = run_json(
        folder, "grids", "--band", "300", "500", "--codes", "350582,001", "--seed", "1"
    )
    out["check"] = run_json(folder, "check", "--plan", str(out["grids"]["plan_id"]))
    plan = str(out["grids"]["plan_id"])
    out["export_c"] = run_json(folder, "plans", "export", plan, "--out", "communities.gpkg")
    out["export_g"] = run_json(
        folder, "plans", "export", plan, "--level", "grid", "--out", "grids.shp",
        "--encoding", "GBK", "--crs", "EPSG:3067",
    )  # fmt: skip
    out["export_u"] = run_json(
        folder, "plans", "export", plan, "--level", "units", "--out", "units.geojson"
    )
    out["reimport"] = run_json(
        folder, "import", "grids.shp", "--kind", "areas", "--level", "grid", "--db", "re.gpkg"
    )
    out["shown"] = run_json(folder, "plans", "show", "1", "--db", "re.gpkg")
    return out


def test_osm_extract_imports_by_default(job: dict[str, Any]) -> None:
    """No --skip-invalid needed: features cut at the extract's edge are listed and skipped."""
    imported = job["import"]
    assert imported["loaded"]["roads"] > 150 and imported["loaded"]["buildings"] > 2000
    assert imported["skipped"], "the extract's broken edge features are reported"
    assert all("cut at the extract's edge" in s["reason"] for s in imported["skipped"])


def test_households_are_conserved_from_import_to_export(job: dict[str, Any]) -> None:
    estimated = job["import"]["households"]["households"]
    units = job["units"]
    unplaced = sum(u["households"] for u in units["unplaced"])
    assert units["households"] + unplaced == pytest.approx(estimated, abs=1e-6)
    placed = units["households"]
    assert sum(a["households"] for a in job["partition"]["areas"]) == pytest.approx(placed)
    assert sum(g["households"] for g in job["grids"]["grid_list"]) == pytest.approx(placed)
    folder: Path = job["folder"]
    for name, key in (("communities.gpkg", "export_c"), ("units.geojson", "export_u")):
        frame = gpd.read_file(folder / name)
        assert frame["households"].sum() == pytest.approx(placed)
        assert job[key]["households"] == pytest.approx(placed)
    grids = gpd.read_file(folder / "grids.shp")
    assert grids["households"].sum() == pytest.approx(placed, rel=1e-9)
    assert grids.crs.to_epsg() == 3067  # Finland's national CRS (a Chinese city: EPSG:4490)
    assert (folder / "grids.cpg").read_text().strip() == "GBK"
    reimported = job["shown"]["levels"]["grid"]
    assert sum(g["households"] for g in reimported) == pytest.approx(placed, rel=1e-9)


def test_every_community_in_band_and_every_grid_coded(job: dict[str, Any]) -> None:
    partition = job["partition"]
    assert partition["valid"] and partition["plan_id"] == 1
    assert all(1000 <= a["households"] <= 3000 for a in partition["areas"])
    assert sorted(a["code"] for a in partition["areas"]) == [
        f"{i:03d}" for i in range(1, len(partition["areas"]) + 1)
    ]
    grids = job["grids"]
    assert grids["plan_id"] == 2 and grids["parent_id"] == 1
    codes = [g["grid_code"] for g in grids["grid_list"]]
    assert len(codes) == len(set(codes)) > len(partition["areas"])
    assert all(re.fullmatch(r"350582001\d{6}", c) for c in codes)
    communities = {c["area_id"]: c["code"] for c in grids["communities"]}
    for g in grids["grid_list"]:  # a grid's code holds its community's code
        assert g["grid_code"][9:12] == communities[g["area_id"]]
    exported = gpd.read_file(job["folder"] / "grids.shp")
    assert sorted(exported["code"]) == sorted(codes)


def test_check_reports_the_findings_stored_with_the_plan(job: dict[str, Any]) -> None:
    levels = job["check"]["levels"]
    assert set(levels) == {"community", "grid"}
    assert job["grids"]["findings"] == {k: v["summary"]["by_rule"] for k, v in levels.items()}
    exported = gpd.read_file(job["folder"] / "communities.gpkg")
    stored = levels["community"]["summary"]["findings"]
    assert int(exported["findings"].sum()) == stored
    assert set(exported["status"]) == {"in band"}


def test_plans_list_and_diff(job: dict[str, Any]) -> None:
    folder: Path = job["folder"]
    listed = run_json(folder, "plans", "list")["plans"]
    assert [(p["plan_id"], p["parent_id"]) for p in listed] == [(1, None), (2, 1)]
    diff = run_json(folder, "plans", "diff", "1", "2")
    # gridding moves no household between communities
    assert diff["units_moved"] == 0 and diff["households_moved"] == 0
    assert all(c["status"] == "unchanged" for c in diff["communities"])


def test_bad_steps_name_the_problem_in_one_line(tmp_path: Path) -> None:
    """A store with nothing in it: each step says what is missing and what to run."""
    empty = run(tmp_path, "units", check=False)
    assert empty.returncode == 2 and "no such store" in empty.stderr
    run(tmp_path, "import", pyrosm.get_data("test_pbf"), "--db", "s.gpkg")
    part = run(tmp_path, "partition", "--band", "1000", "3000", "--db", "s.gpkg", check=False)
    assert part.returncode == 2 and "gridplan units" in part.stderr
    grids = run(tmp_path, "grids", "--db", "s.gpkg", check=False)
    assert grids.returncode == 2 and "no plan" in grids.stderr
    assert all(len(r.stderr.strip().splitlines()) == 1 for r in (empty, part, grids))


@pytest.mark.realdata
def test_readme_tour_runs_as_written(tmp_path: Path, shared_data: Path) -> None:
    """The README's CLI tour, every command in order, on files the earlier ones made."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- tour -->")[1].split("<!-- /tour -->")[0]
    script = block.split("```bash\n", 1)[1].rsplit("```", 1)[0]
    assert script.count("gridplan ") >= 25
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    (made,) = [p for p in tmp_path.iterdir() if (p / "gridplan.gpkg").is_file()]
    for name in ("map.html", "diff.html", "grids.shp", "tlh.html", "prov.gpkg", "prov.html"):
        assert (made / name).is_file(), name


def test_assign_on_the_store(job: dict[str, Any]) -> None:
    """The store's compounds go to the plan's communities; OSM gives no household counts,
    so they are reported unknown, never 0."""
    folder: Path = job["folder"]
    done = run_json(folder, "assign", "--plan", "2", "--out", "compounds.gpkg")
    assert done["plan_id"] == 2
    assert done["compounds"] == job["import"]["loaded"]["compounds"]
    assert done["households"] is None and done["households_unknown"] == done["compounds"]
    written = gpd.read_file(folder / "compounds.gpkg")
    communities = {a["district"] for a in job["partition"]["areas"]}
    assert set(written["area_id"]) <= communities


def test_an_output_that_cannot_be_written_stores_nothing(job: dict[str, Any]) -> None:
    """--out naming the store itself, or a place that can't be written, is refused before
    any plan is stored (it used to wipe the store, or store a plan and then fail)."""
    folder: Path = job["folder"]
    before = len(run_json(folder, "plans", "list")["plans"])
    onto = run(folder, "plans", "export", "2", "--out", "gridplan.gpkg", check=False)
    assert onto.returncode == 2 and "the store itself" in onto.stderr
    full = run(folder, "plans", "export", "2", "--out", str(folder / "gridplan.gpkg"), check=False)
    assert full.returncode == 2
    nowhere = run(
        folder, "partition", "--band", "1000", "3000", "--out", "/proc/p.gpkg", check=False
    )
    assert nowhere.returncode == 2 and "cannot write" in nowhere.stderr
    assert len(run_json(folder, "plans", "list")["plans"]) == before


def test_an_exported_file_is_checked_against_the_band_it_was_planned_in(
    job: dict[str, Any],
) -> None:
    folder: Path = job["folder"]
    run(folder, "partition", "--band", "1000", "3500", "--seed", "2", "--out", "wide.gpkg")
    checked = run_json(folder, "check", "--areas", "wide.gpkg")
    assert checked["summary"]["by_rule"].get("size.over", 0) == 0
    areas = gpd.read_file(folder / "wide.gpkg", layer="communities")
    assert set(areas["band_hi"]) == {3500.0}
