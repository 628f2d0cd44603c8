"""``gridplan map`` through Typer's CliRunner: files, the embedded store, bad input.

The hand-drawn subdistrict (UTM 50N, metres from X0, Y0)::

    y=1000 +-----------+-----------+
           | A 青新社区  | B 阳光社区  |   A 1,200 households (in), B 3,500 (over)
           |   [k1]    |     *f1   |   k1 新世纪豪园 compound, f1 service centre
    y=0    +===========+===========+   road along y=0 (local), x=1000 (primary)
           | C 锦青社区 500 (under)  |
    y=-1000+-----------------------+
          x=0        x=1000      x=2000
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
from shapely import LineString, Point, box
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.data.crs import to_storage
from gridplan.data.layers import LayerKind, normalise
from gridplan.maps.tiles import external_resources, http_strings
from gridplan.plan import Plan, empty_assignments

CRS = "EPSG:32650"
X0, Y0 = 654_000.0, 2_745_000.0
runner = CliRunner()


def _b(x0: float, y0: float, x1: float, y1: float) -> object:
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _communities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "CID": ["A", "B", "C"],
            "CNAME": ["青新社区", "阳光社区", "锦青社区"],
            "HH": [1200, 3500, 500],
        },
        geometry=[_b(0, 0, 1000, 1000), _b(1000, 0, 2000, 1000), _b(0, -1000, 2000, 0)],
        crs=CRS,
    )


def _roads() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"road_id": ["r1", "r2"], "road_class": ["local", "primary"], "name": ["青华路", "迎宾路"]},
        geometry=[
            LineString([(X0, Y0), (X0 + 2000, Y0)]),
            LineString([(X0 + 1000, Y0 - 1000), (X0 + 1000, Y0 + 1000)]),
        ],
        crs=CRS,
    )


def _compounds() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"compound_id": ["k1"], "name": ["新世纪豪园"], "households": [300.0]},
        geometry=[_b(100, 100, 300, 300)],
        crs=CRS,
    )


def _facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"facility_id": ["f1"], "kind": ["service_centre"], "name": ["阳光社区服务中心"]},
        geometry=[Point(X0 + 1800, Y0 + 500)],
        crs=CRS,
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, frame in (
        ("areas", _communities()),
        ("roads", _roads()),
        ("compounds", _compounds()),
        ("facilities", _facilities()),
    ):
        path = tmp_path / f"{name}.gpkg"
        frame.to_file(path, layer=name)
        out[name] = path
    return out


def _file_args(files: dict[str, Path], out: Path) -> list[str]:
    return [
        "map",
        "--areas",
        str(files["areas"]),
        "--id-field",
        "CID",
        "--name-field",
        "CNAME",
        "--households-field",
        "HH",
        "--roads",
        str(files["roads"]),
        "--compounds",
        str(files["compounds"]),
        "--facilities",
        str(files["facilities"]),
        "--out",
        str(out),
    ]


def test_map_from_files_json(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "maps" / "map.html"
    result = runner.invoke(app, [*_file_args(files, out), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["out"] == str(out)
    assert summary["bytes"] == out.stat().st_size
    assert summary["tiles"] == "none"
    assert summary["layers"]["communities"] == 3
    assert summary["layers"]["roads"] == 2 and summary["layers"]["facilities"] == 1
    assert summary["findings"]["size.over"] == 1 and summary["findings"]["size.under"] == 1
    assert summary["bands"]["community"] == [1000.0, 3000.0, "households"]
    page = out.read_text(encoding="utf-8")
    assert http_strings(page) == [] and external_resources(page) == []
    assert '"name":"青新社区"' in page  # compact JSON, UTF-8 kept
    assert "Finding size.over (1)" in page and "Roads (2)" in page
    assert re.search(r'"radius":\s*1200\.0', page)  # 15 minutes at 80 m/min


def test_map_from_files_table_band_and_tiles(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "map.html"
    args = [*_file_args(files, out), "--band", "400", "4000", "--tiles", "gaode"]
    result = runner.invoke(app, [*args, "--walk-speed", "60", "--walk-minutes", "10"])
    assert result.exit_code == 0, result.output
    assert "map written" in result.stdout and "communities" in result.stdout
    assert "tiles gaode" in result.stdout
    page = out.read_text(encoding="utf-8")
    assert '"Communities (band 400–4,000 households)"' in page
    assert "autonavi.com" in page
    assert re.search(r'"radius":\s*600\.0', page) and not re.search(r'"radius":\s*1200\.0', page)
    assert "size.over" not in page and "size.under" not in page  # all three in 400–4000


def test_map_from_store_latest_and_given_plan(tmp_path: Path) -> None:
    from gridplan.data.store.base import open_store

    db = tmp_path / "gridplan.gpkg"
    comm = normalise(
        "areas", _communities(), fields={"area_id": "CID", "name": "CNAME", "households": "HH"}
    )
    comm = comm.assign(level="community", code=None, parent_id=None, residents=None)
    first = Plan(name="现状 2025", assignments=empty_assignments(), areas=to_storage(comm))
    merged = comm.copy()
    merged.loc[merged["area_id"] == "C", "households"] = 1500.0
    second = Plan(name="调整 2026", assignments=empty_assignments(), areas=to_storage(merged))
    with open_store(db) as store:
        store.import_layers({LayerKind.ROADS: normalise("roads", _roads())}, source="roads")
        first_id = store.save_plan(first)
        second_id = store.save_plan(second)
    out = tmp_path / "latest.html"
    result = runner.invoke(app, ["map", "--db", str(db), "--out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["plan_id"] == second_id
    assert summary["layers"]["roads"] == 2
    assert "size.under" not in summary["findings"]  # C has 1,500 households in plan 2
    page = out.read_text(encoding="utf-8")
    assert f"调整 2026 (plan {second_id})" in page
    out1 = tmp_path / "first.html"
    result = runner.invoke(
        app, ["map", "--db", str(db), "--plan", str(first_id), "--out", str(out1)]
    )
    assert result.exit_code == 0, result.output
    assert f"plan {first_id}" in result.stdout
    assert f"现状 2025 (plan {first_id})" in out1.read_text(encoding="utf-8")
    diff_out = tmp_path / "diff.html"
    args = ["map", "--db", str(db), "--diff-from", str(first_id), "--out", str(diff_out)]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    diff = json.loads(result.stdout)
    assert (diff["diff_from"], diff["plan_id"]) == (first_id, second_id)
    assert diff["changes"] == {"changed": 1, "new": 0, "removed": 0, "unchanged": 2}
    assert diff["moved_pieces"] == 0 and diff["households_moved"] == 0
    page = diff_out.read_text(encoding="utf-8")
    assert "<title>现状 2025 (plan" in page and "Communities after (by change)" in page
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "changed 1" in result.stdout


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--areas", "missing.gpkg"], "missing.gpkg"),
        (["--roads", "roads.gpkg"], "need --areas"),
        (["--areas", "a.gpkg", "--plan", "3"], "draw stored plans: use --db"),
        (["--db", "nowhere.txt"], "expected a PostgreSQL URL"),
        (["--walk-speed", "0", "--db", "x.gpkg"], "must be positive"),
        (["--walk-speed", "nan", "--db", "x.gpkg"], "must be positive"),
        (["--walk-minutes", "inf", "--db", "x.gpkg"], "must be positive"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], reason: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["map", *args, "--out", str(tmp_path / "m.html")])
    assert result.exit_code == 2
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_out_folder_is_bad_input(files: dict[str, Path], tmp_path: Path) -> None:
    """--out naming a folder used to end in an IsADirectoryError traceback."""
    out = tmp_path / "folder.html"
    out.mkdir()
    result = runner.invoke(app, _file_args(files, out))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{out}: cannot write the map" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_empty_store_says_there_is_no_plan(tmp_path: Path) -> None:
    db = tmp_path / "empty.gpkg"
    result = runner.invoke(app, ["map", "--db", str(db), "--out", str(tmp_path / "m.html")])
    assert result.exit_code == 2
    assert "plan" in result.stderr.lower()


@pytest.mark.realdata
def test_map_of_providence_tracts(shared_data: Path, tmp_path: Path) -> None:
    """Providence's 39 tracts as communities (band 3000–5000 residents), block groups as grids."""
    blocks = gpd.read_file(shared_data / "providence" / "providence_blocks.gpkg")
    tracts = blocks.dissolve("TRACTCE10", aggfunc={"TOTPOP": "sum"}).reset_index()
    tracts.to_file(tmp_path / "tracts.gpkg", layer="tracts")
    blocks["bg"] = blocks["GEOID10"].str[:12]
    groups = blocks.dissolve("bg", aggfunc={"TOTPOP": "sum", "TRACTCE10": "first"}).reset_index()
    groups = groups.rename(columns={"bg": "area_id", "TRACTCE10": "parent_id"})
    groups["code"] = groups["area_id"]
    groups["residents"] = groups["TOTPOP"].astype(float)
    groups.to_file(tmp_path / "groups.gpkg", layer="groups")
    out = tmp_path / "providence.html"
    result = runner.invoke(
        app,
        [
            "map",
            "--areas",
            str(tmp_path / "tracts.gpkg"),
            "--id-field",
            "TRACTCE10",
            "--residents-field",
            "TOTPOP",
            "--grids",
            str(tmp_path / "groups.gpkg"),
            "--grid-band",
            "750",
            "1250",
            "--out",
            str(out),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["layers"]["communities"] == 39 and summary["layers"]["grids"] == 154
    assert summary["bands"]["community"] == [3000.0, 5000.0, "residents"]
    assert summary["bands"]["grid"] == [750.0, 1250.0, "residents"]
    pops = tracts["TOTPOP"].astype(float)
    grid_pops = groups["residents"]
    under = int((pops < 3000).sum()) + int((grid_pops < 750).sum())
    over = int((pops > 5000).sum()) + int((grid_pops > 1250).sum())
    assert summary["findings"]["size.under"] == under
    assert summary["findings"]["size.over"] == over
    page = out.read_text(encoding="utf-8")
    assert "Grids (154)" in page and http_strings(page) == []
