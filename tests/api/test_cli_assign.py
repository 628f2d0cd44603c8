"""Tests of ``gridplan assign`` (CliRunner on the real app, real files)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import Result
from shapely import box
from typer.testing import CliRunner

from gridplan.api.cli import app

CRS = "EPSG:32650"  # UTM 50N (Fujian): a true metric CRS, lengths exact
runner = CliRunner()


def _files(
    tmp_path: Path, households: str = "households", unknown: tuple[str, ...] = ()
) -> tuple[Path, Path, Path]:
    """Two communities; K straddles them 70/30, L is outside, M is named 福隆广场 (in A)::

    +----------+----------+
    |  A  [K K | K]  [P]  |  [L]
    | [M]      |     B    |
    +----------+----------+

    Households K 100, P 20, L 5, M 40 in column ``households`` (``None`` for ``unknown``).
    """
    counts = {"K": 100.0, "P": 20.0, "L": 5.0, "M": 40.0}
    areas = gpd.GeoDataFrame(
        {"cid": ["A", "B"], "name": ["青新社区", "锦青社区"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=CRS,
    )
    comps = gpd.GeoDataFrame(
        {
            "cid": ["K", "P", "L", "M"],
            "name": ["straddle", "point-like", "outside", "福隆广场"],
            households: [None if k in unknown else v for k, v in counts.items()],
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


def _assign(a: Path, c: Path, out: Path, *options: str) -> Result:
    return runner.invoke(
        app,
        ["assign", "--compounds", str(c), "--areas", str(a), "--compound-id-field", "cid",
         "--area-id-field", "cid", *options, "--out", str(out)],
    )  # fmt: skip


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix in (".parquet", ".geoparquet"):
        return gpd.read_parquet(path)
    return gpd.read_file(path)


def test_assign_json_and_out_file(tmp_path: Path) -> None:
    a, c, overrides = _files(tmp_path, households="hh")
    out = tmp_path / "assigned.gpkg"
    result = _assign(
        a, c, out, "--households-field", "hh", "--overrides", str(overrides), "--format", "json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["compounds"] == 4
    assert data["households"] == 165.0 and data["households_unknown"] == 0
    assert data["areas"] == [
        {"area_id": "A", "compounds": 1, "households": 100.0, "households_unknown": 0},
        {"area_id": "B", "compounds": 3, "households": 65.0, "households_unknown": 0},
    ]
    flagged = {f["compound_id"]: f for f in data["flagged"]}
    assert set(flagged) == {"K", "L", "M"}
    assert flagged["M"]["method"] == "override"
    assert data["overrides"][0]["status"] == "applied"
    assert data["out"] == str(out)
    written = gpd.read_file(out)
    # the user's columns under the user's names, gridplan's beside them
    assert {"cid", "hh", "name", "area_id", "method", "overlap_share", "flagged", "note"} <= set(
        written.columns
    )
    assert not {"compound_id", "households"} & set(written.columns)
    written = written.set_index("cid")
    assert len(written) == 4
    assert written["hh"].to_dict() == {"K": 100.0, "P": 20.0, "L": 5.0, "M": 40.0}
    assert written.loc["K", "overlap_share"] == pytest.approx(0.7, abs=1e-3)
    assert written.loc["K", "area_id"] == "A" and bool(written.loc["K", "flagged"])
    assert written.loc["P", "area_id"] == "B" and written.loc["P", "overlap_share"] == 1.0
    assert written.loc["L", "method"] == "nearest"
    assert written.loc["M", "area_id"] == "B" and written.loc["M", "method"] == "override"
    assert written.to_crs(CRS).loc["M"].geometry.equals_exact(box(10, 10, 30, 30), 1e-3)


def test_assign_unknown_households_are_not_zero(tmp_path: Path) -> None:
    """P has no count: the totals hold the known counts and say one is unknown; an area
    whose compounds have no count at all has households None, never 0."""
    a, c, _ = _files(tmp_path, households="hh", unknown=("P", "L"))
    out = tmp_path / "assigned.geojson"
    result = _assign(a, c, out, "--households-field", "hh", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["households"] == 140.0 and data["households_unknown"] == 2
    per_area = {r["area_id"]: r for r in data["areas"]}
    assert per_area["A"] == {
        "area_id": "A", "compounds": 2, "households": 140.0, "households_unknown": 0
    }  # fmt: skip
    assert per_area["B"] == {
        "area_id": "B", "compounds": 2, "households": None, "households_unknown": 2
    }  # fmt: skip
    written = gpd.read_file(out).set_index("cid")
    assert written["hh"].isna().to_dict() == {"K": False, "P": True, "L": True, "M": False}
    table = _assign(a, c, out, "--households-field", "hh")
    assert table.exit_code == 0, table.output
    assert "unknown" in table.stdout


def test_assign_without_counts_reports_unknown(tmp_path: Path) -> None:
    """A count column the user did not name is not guessed: every count is unknown."""
    a, c, _ = _files(tmp_path, households="hh")
    result = _assign(a, c, tmp_path / "assigned.gpkg", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["households"] is None and data["households_unknown"] == 4
    assert all(r["households"] is None for r in data["areas"])


def test_assign_table_geojson(tmp_path: Path) -> None:
    a, c, _ = _files(tmp_path)
    out = tmp_path / "assigned.geojson"
    result = _assign(a, c, out)
    assert result.exit_code == 0, result.output
    assert "4 compounds assigned" in result.stdout
    assert "households per community" in result.stdout
    written = gpd.read_file(out)
    assert len(written) == 4 and "cid" in written.columns
    assert written["households"].sum() == 165.0  # the schema's own name comes back as is


# Shapefile field names hold 10 characters: gridplan's longer columns are shortened.
_SHP = {"overlap_share": "overlap"}


@pytest.mark.parametrize(
    "suffix", [".gpkg", ".geojson", ".json", ".shp", ".parquet", ".geoparquet", ".csv"]
)
def test_assign_writes_every_format(tmp_path: Path, suffix: str) -> None:
    a, c, _ = _files(tmp_path, households="hh")
    out = tmp_path / f"assigned{suffix}"
    result = _assign(a, c, out, "--households-field", "hh", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["out"] == str(out)
    written = _read(out)
    share = _SHP.get("overlap_share", "overlap_share") if suffix == ".shp" else "overlap_share"
    assert {"cid", "hh", "area_id", "method", share, "flagged", "note"} <= set(written.columns)
    assert "compound_id" not in written.columns
    assert dict(zip(written["cid"], written["area_id"], strict=True)) == {
        "K": "A", "P": "B", "L": "B", "M": "A",
    }  # fmt: skip
    assert written["hh"].sum() == 165.0


def test_assign_bad_input(tmp_path: Path) -> None:
    a, c, _ = _files(tmp_path)
    result = runner.invoke(
        app, ["assign", "--compounds", str(c), "--areas", str(a), "--out", str(tmp_path / "x.txt")]
    )
    assert result.exit_code == 2
    assert "--out x.txt" in result.stderr
    for suffix in (".gpkg", ".geojson", ".json", ".shp", ".parquet", ".geoparquet", ".csv"):
        assert suffix in result.stderr
    assert not (tmp_path / "x.txt").exists()
    result = _assign(a, c, tmp_path / "x.gpkg", "--households-field", "nope")
    assert result.exit_code == 2
    assert "nope" in result.stderr
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
    assert "compound_id" not in written.columns  # the user's id column keeps its name
    assert sorted(written["GEOID10"]) == sorted(blocks["GEOID10"])
    assert (written["area_id"] == written["GEOID10"].str[:12]).all()


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
