"""Tests of ``gridplan assign`` (CliRunner on the real app, real files)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely import box
from typer.testing import CliRunner

from gridplan.api.cli import app

CRS = "EPSG:32650"  # UTM 50N (Fujian): a true metric CRS, lengths exact
runner = CliRunner()


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two communities; K straddles them 70/30, L is outside, M is named 福隆广场 (in A)::

    +----------+----------+
    |  A  [K K | K]  [P]  |  [L]
    | [M]      |     B    |
    +----------+----------+
    """
    areas = gpd.GeoDataFrame(
        {"cid": ["A", "B"], "name": ["青新社区", "锦青社区"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=CRS,
    )
    comps = gpd.GeoDataFrame(
        {
            "cid": ["K", "P", "L", "M"],
            "name": ["straddle", "point-like", "outside", "福隆广场"],
            "households": [100.0, 20.0, 5.0, 40.0],
        },
        geometry=[
            box(30, 40, 130, 60),
            box(149, 49, 151, 51),
            box(250, 40, 260, 60),
            box(10, 10, 30, 30),
        ],
        crs=CRS,
    )
    a, c = tmp_path / "areas.gpkg", tmp_path / "compounds.geojson"
    areas.to_file(a)
    comps.to_crs(4326).to_file(c)
    overrides = tmp_path / "overrides.csv"
    overrides.write_text("compound,community\n福隆广场,锦青社区\n", encoding="utf-8")
    return a, c, overrides


def test_assign_json_and_out_file(tmp_path: Path) -> None:
    a, c, overrides = _files(tmp_path)
    out = tmp_path / "assigned.gpkg"
    result = runner.invoke(
        app,
        ["assign", "--compounds", str(c), "--areas", str(a), "--compound-id-field", "cid",
         "--area-id-field", "cid", "--overrides", str(overrides), "--out", str(out),
         "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    per_area = {r["area_id"]: r["households"] for r in data["areas"]}
    assert per_area == {"A": 100.0, "B": 65.0}
    flagged = {f["compound_id"]: f for f in data["flagged"]}
    assert set(flagged) == {"K", "L", "M"}
    assert flagged["M"]["method"] == "override"
    assert data["overrides"][0]["status"] == "applied"
    written = gpd.read_file(out).set_index("compound_id")
    assert len(written) == 4
    assert {"area_id", "method", "overlap_share"} <= set(written.columns)
    assert written.loc["K", "overlap_share"] == pytest.approx(0.7, abs=1e-3)
    assert written.loc["P", "area_id"] == "B"
    assert written.loc["L", "method"] == "nearest"
    assert written.crs.to_epsg() == 4326


def test_assign_table_geojson(tmp_path: Path) -> None:
    a, c, _ = _files(tmp_path)
    out = tmp_path / "assigned.geojson"
    result = runner.invoke(
        app,
        ["assign", "--compounds", str(c), "--areas", str(a), "--compound-id-field", "cid",
         "--area-id-field", "cid", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 compounds assigned" in result.stdout
    assert "households per community" in result.stdout
    assert len(gpd.read_file(out)) == 4


def test_assign_bad_input(tmp_path: Path) -> None:
    a, c, _ = _files(tmp_path)
    result = runner.invoke(
        app, ["assign", "--compounds", str(c), "--areas", str(a), "--out", str(tmp_path / "x.shp")]
    )
    assert result.exit_code == 2
    assert "use a .gpkg or .geojson" in result.stderr
    result = runner.invoke(
        app,
        ["assign", "--compounds", str(tmp_path / "missing.gpkg"), "--areas", str(a),
         "--out", str(tmp_path / "x.gpkg")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("name,where\nx,y\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["assign", "--compounds", str(c), "--areas", str(a), "--overrides", str(bad),
         "--out", str(tmp_path / "x.gpkg")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "missing column" in result.stderr
    result = runner.invoke(
        app,
        ["assign", "--compounds", str(c), "--areas", str(a), "--workers", "0",
         "--out", str(tmp_path / "x.gpkg")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--workers" in result.stderr


@pytest.mark.realdata
def test_assign_providence_blocks_to_block_groups(shared_data: Path, tmp_path: Path) -> None:
    blocks = gpd.read_file(shared_data / "providence" / "providence_blocks.gpkg")
    blocks["bg"] = blocks["GEOID10"].str[:12]
    groups = blocks.dissolve("bg").reset_index()[["bg", "geometry"]]
    gpath = tmp_path / "bg.gpkg"
    groups.to_file(gpath)
    out = tmp_path / "out.gpkg"
    result = runner.invoke(
        app,
        ["assign", "--compounds", str(shared_data / "providence" / "providence_blocks.gpkg"),
         "--areas", str(gpath), "--compound-id-field", "GEOID10", "--area-id-field", "bg",
         "--out", str(out), "--format", "json", "--workers", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = gpd.read_file(out)
    assert len(written) == 3014
    assert (written["area_id"] == written["compound_id"].str[:12]).all()


@pytest.mark.parametrize("command", ["assign", "grids", "partition"])
def test_out_that_cannot_be_written_is_bad_input(tmp_path: Path, command: str) -> None:
    """--out naming a folder used to end in an IsADirectoryError traceback (write_layer is
    shared by assign, grids and partition)."""
    a, c, _ = _files(tmp_path)
    out = tmp_path / "folder.gpkg"
    out.mkdir()
    units = tmp_path / "units.gpkg"
    gpd.GeoDataFrame(
        {"unit_id": ["u1", "u2"], "hh": [300.0, 300.0]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=32650,
    ).to_file(units)
    args = {
        "assign": ["--compounds", str(c), "--areas", str(a)],
        "grids": ["--areas", str(a), "--units", str(units), "--households-field", "hh"],
        "partition": ["--units", str(units), "--households-field", "hh", "--band", "200", "700"],
    }[command]
    result = runner.invoke(app, [command, *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"--out {out}: cannot write" in result.stderr
    assert out.is_dir()
