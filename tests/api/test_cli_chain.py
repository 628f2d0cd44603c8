"""Every file a command writes is a valid input of the next: partition -> grids -> map,
check and import, with no Python in between, households conserved."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import Result
from shapely import box
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.data.store.base import open_store

CRS = "EPSG:32650"  # UTM 50N (Fujian)
runner = CliRunner()
GRID_CODES = ["350582001001001", "350582001001002", "350582001002001", "350582001002002"]


def _run(*args: str) -> Result:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def _units(tmp_path: Path, households: str) -> Path:
    """Eight units of 150 households (400 residents), ids ``GEOID10`` a..h::

    a b c d      band 500-700: two communities of 600, 001 west of 002 or north of it;
    e f g h      grids 250-350: two grids of 300 in each
    """
    cols = 4
    units = gpd.GeoDataFrame(
        {
            "GEOID10": list("abcdefgh"),
            households: [150.0] * 8,
            "pop": [400.0] * 8,
        },
        geometry=[
            box((i % cols) * 100, -(i // cols) * 100, (i % cols + 1) * 100, -(i // cols - 1) * 100)
            for i in range(8)
        ],
        crs=CRS,
    )
    path = tmp_path / "units.gpkg"
    units.to_file(path)
    return path


def _chain(tmp_path: Path, households: str = "hh") -> tuple[Path, Path]:
    """partition --out X.gpkg, then grids --areas X.gpkg --units X.gpkg --out G.gpkg."""
    units = _units(tmp_path, households)
    fields = ["--households-field", households] if households != "households" else []
    x, g = tmp_path / "X.gpkg", tmp_path / "G.gpkg"
    part = _run(
        "partition", "--units", units, *fields, "--residents-field", "pop",
        "--unit-id-field", "GEOID10", "--band", "500", "700", "--out", x, "--format", "json",
    )  # fmt: skip
    assert json.loads(part.stdout)["out"] == [str(x)]
    grids = _run(
        "grids", "--areas", x, "--units", x, *fields, "--residents-field", "pop",
        "--unit-id-field", "GEOID10",
        "--band", "250", "350", "--codes", "350582,001", "--out", g, "--format", "json",
    )  # fmt: skip
    data = json.loads(grids.stdout)
    assert data["grids"] == data["in_band"] == 4 and data["unplaced_units"] == []
    assert sorted(g["grid_code"] for g in data["grid_list"]) == GRID_CODES
    assert [c["code"] for c in data["communities"]] == ["001", "002"]
    assert sum(c["households"] for c in data["communities"]) == 1200.0
    return x, g


@pytest.mark.parametrize("households", ["hh", "households"])
def test_partition_output_is_the_input_of_grids(tmp_path: Path, households: str) -> None:
    x, g = _chain(tmp_path, households)
    units = gpd.read_file(x, layer="units")
    assert units[households].sum() == 1200.0
    grids = gpd.read_file(g, layer="grids").sort_values("area_id", ignore_index=True)
    assert grids["area_id"].tolist() == GRID_CODES
    assert grids["households"].sum() == 1200.0 and (grids["households"] == 300.0).all()
    assert grids["parent_code"].tolist() == ["001", "001", "002", "002"]
    communities = gpd.read_file(g, layer="communities")
    before = gpd.read_file(x, layer="communities")
    assert sorted(communities["code"]) == sorted(before["code"]) == ["001", "002"]
    assert communities["households"].sum() == before["households"].sum() == 1200.0
    # each grid lies in the community its parent_id names
    code_of = dict(zip(before["area_id"], before["code"], strict=True))
    assert (grids["parent_id"].map(code_of) == grids["parent_code"]).all()


def test_residents_are_conserved_through_grids(tmp_path: Path) -> None:
    x, g = _chain(tmp_path)
    assert gpd.read_file(x, layer="communities")["residents"].sum() == 3200.0
    assert gpd.read_file(g, layer="grids")["residents"].sum() == 3200.0


def test_grids_output_draws_on_the_map(tmp_path: Path) -> None:
    x, g = _chain(tmp_path)
    html = tmp_path / "m.html"
    result = _run("map", "--areas", x, "--grids", g, "--out", html, "--format", "json")
    data = json.loads(result.stdout)
    assert data["layers"]["communities"] == 2 and data["layers"]["grids"] == 4
    assert html.stat().st_size > 0
    assert "350582001001001" in html.read_text(encoding="utf-8")


def test_partition_output_is_checked(tmp_path: Path) -> None:
    x, _ = _chain(tmp_path)
    result = _run("check", "--areas", x, "--band", "500", "700", "--format", "json")
    data = json.loads(result.stdout)
    assert data["summary"]["areas"] == 2
    assert sum(a["households"] for a in data["areas"]) == 1200.0
    assert "size.under" not in data["summary"]["by_rule"]


def test_grids_output_is_checked_as_grids(tmp_path: Path) -> None:
    _, g = _chain(tmp_path)
    result = _run(
        "check", "--areas", g, "--level", "grid", "--band", "250", "350", "--format", "json"
    )
    data = json.loads(result.stdout)
    assert data["level"] == "grid"
    assert sorted(a["id"] for a in data["areas"]) == GRID_CODES
    assert sum(a["households"] for a in data["areas"]) == 1200.0
    assert data["summary"]["by_rule"] == {}


def test_grids_output_imports_as_grids(tmp_path: Path) -> None:
    _, g = _chain(tmp_path)
    db = tmp_path / "new.gpkg"
    result = _run("import", g, "--kind", "areas", "--level", "grid", "--db", db, "--format", "json")
    _imported_grids(json.loads(result.stdout), db)


def test_grids_layer_of_the_output_imports_as_grids(tmp_path: Path) -> None:
    """The same with the layer named: the grids, their codes and households land."""
    _, g = _chain(tmp_path)
    db = tmp_path / "new.gpkg"
    result = _run(
        "import", g, "--kind", "areas", "--level", "grid", "--layer", "grids", "--db", db,
        "--format", "json",
    )  # fmt: skip
    _imported_grids(json.loads(result.stdout), db)


def _imported_grids(data: dict, db: Path) -> None:
    assert data["loaded"] == {"areas": 4}
    with open_store(db, create=False) as store:
        plan = store.load_plan(data["plan_id"])
    grids = plan.areas_at("grid")
    assert sorted(grids["area_id"]) == GRID_CODES
    assert grids["households"].sum() == 1200.0
