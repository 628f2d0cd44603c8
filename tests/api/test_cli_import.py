"""``gridplan import`` through Typer's CliRunner, on the embedded GeoPackage and on PostGIS.

The hand-drawn compounds (EPSG:32650 metres)::

    +----+   +----+   +----+
    | a  |   | b  |   | c  |     a, b: fine (100 and 50 households)
    +----+   +----+   +----+     c: -3 households → rejected
    0   100 200  300 400  500
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely import box
from typer.testing import CliRunner

import gridplan.api.commands.import_ as import_command
from gridplan.api.cli import app
from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store, open_store

runner = CliRunner()


def _compounds(path: Path) -> Path:
    gpd.GeoDataFrame(
        {"id": ["a", "b", "c"], "name": ["青新小区", "锦青小区", "坏小区"], "户数": [100, 50, -3]},
        geometry=[box(0, 0, 100, 100), box(200, 0, 300, 100), box(400, 0, 500, 100)],
        crs=32650,
    ).to_file(path)
    return path


@pytest.mark.realdata
def test_import_roads_json(tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "gridplan.gpkg"
    roads = str(shared_data / "tallahassee/tallahassee.gpkg")
    result = runner.invoke(
        app, ["import", roads, "--kind", "roads", "--db", str(db), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["loaded"] == {"roads": 567}
    assert data["skipped"] == []
    assert data["db"] == str(db)
    with open_store(db) as store:
        assert store.count(LayerKind.ROADS) == 567
    again = runner.invoke(app, ["import", roads, "--kind", "roads", "--db", str(db)])
    assert again.exit_code == 2
    assert "already stored" in again.stderr


def test_invalid_feature_fails_with_reason(tmp_path: Path) -> None:
    db = tmp_path / "gridplan.gpkg"
    path = _compounds(tmp_path / "compounds.gpkg")
    result = runner.invoke(app, ["import", str(path), "--kind", "compounds", "--db", str(db)])
    assert result.exit_code == 2
    assert "error: 1 invalid feature(s): compounds feature c: negative households (-3)" in (
        result.stderr
    )
    assert not db.exists()  # input is checked before the store is even opened
    with open_store(db) as store:
        assert store.count(LayerKind.COMPOUNDS) == 0


def test_skip_invalid_lists_what_it_skipped(tmp_path: Path) -> None:
    db = tmp_path / "gridplan.gpkg"
    path = _compounds(tmp_path / "compounds.gpkg")
    args = ["import", str(path), "--kind", "compounds", "--db", str(db), "--skip-invalid"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "compounds" in result.stdout
    assert "negative households (-3)" in result.stdout
    assert "Skipped 1 invalid feature(s)" in result.stdout
    with open_store(db) as store:
        stored = store.read_layer(LayerKind.COMPOUNDS)
    assert stored["name"].tolist() == ["青新小区", "锦青小区"]
    assert stored["households"].tolist() == [100.0, 50.0]


@pytest.mark.realdata
def test_pbf_is_osm_and_households_are_reported(tmp_path: Path, helsinki_pbf: Path) -> None:
    db = tmp_path / "gridplan.gpkg"
    args = ["import", str(helsinki_pbf), "--db", str(db), "--skip-invalid", "--format", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kind"] == "osm"
    assert data["loaded"] == {
        "roads": 867,
        "paths": 2321,
        "buildings": 474,
        "compounds": 22,
        "facilities": 6,
    }
    assert len(data["skipped"]) == 15
    assert {"layer", "feature", "reason"} == set(data["skipped"][0])
    assert data["households"]["buildings"] == 474
    assert data["households"]["params"]["floor_area_per_household"] == 90.0
    table = runner.invoke(
        app,
        [
            "import",
            str(helsinki_pbf),
            "--db",
            str(tmp_path / "other.gpkg"),
            "--skip-invalid",
            "--floor-area-per-household",
            "60",
        ],
    )
    assert table.exit_code == 0, table.output
    assert "households (estimated from floor area, fractional)" in table.stdout
    assert "way/86941886" in table.stdout  # a skipped, broken footprint


@pytest.mark.realdata
def test_bbox_reads_part_of_an_extract(tmp_path: Path, helsinki_pbf: Path) -> None:
    db = str(tmp_path / "gridplan.gpkg")
    args = ["import", str(helsinki_pbf), "--db", db, "--skip-invalid", "--format", "json"]
    part = runner.invoke(app, [*args, "--bbox", "24.93,60.16,24.94,60.17"])
    assert part.exit_code == 0, part.output
    assert 0 < json.loads(part.stdout)["loaded"]["roads"] < 867
    bad = runner.invoke(app, [*args, "--bbox", "24.93,60.16"])
    assert bad.exit_code == 2
    assert "four numbers" in bad.stderr


def test_bad_options_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GRIDPLAN_DATABASE_URL", raising=False)
    path = _compounds(tmp_path / "compounds.gpkg")
    db = str(tmp_path / "gridplan.gpkg")
    no_kind = runner.invoke(app, ["import", str(path), "--db", db])
    assert no_kind.exit_code == 2
    assert "--kind" in no_kind.stderr
    bad_field = runner.invoke(
        app, ["import", str(path), "--kind", "compounds", "--field", "households", "--db", db]
    )
    assert bad_field.exit_code == 2
    assert "expected gridplan_column=input_column" in bad_field.stderr
    missing = runner.invoke(app, ["import", str(tmp_path / "nope.gpkg"), "--kind", "roads"])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    assert not (tmp_path / "gridplan.gpkg").exists()  # the default store was not created


def test_areas_as_grids(tmp_path: Path) -> None:
    path = tmp_path / "grids.geojson"
    gpd.GeoDataFrame(
        {"网格名称": ["网格1"], "社区": ["350582001004"]},
        geometry=[box(118.58, 24.80, 118.581, 24.801)],
        crs=4326,
    ).to_file(path)
    db = tmp_path / "gridplan.gpkg"
    args = ["import", str(path), "--kind", "areas", "--level", "grid", "--field"]
    args += ["parent_id=社区", "--db", str(db), "--format", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    plan_id = json.loads(result.stdout)["plan_id"]
    with open_store(db) as store:
        grids = store.load_plan(plan_id).areas_at("grid")
    assert grids["parent_id"].tolist() == ["350582001004"]
    assert grids["name"].tolist() == ["网格1"]


@pytest.mark.postgis
@pytest.mark.realdata
def test_same_counts_on_postgis(
    postgis_store: Store, tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command on PostGIS (the test's own schema) loads what it loads on GeoPackage."""
    opened: list[str] = []

    def open_test_schema(url: str) -> Store:
        opened.append(url)
        return postgis_store

    monkeypatch.setattr(import_command, "open_store", open_test_schema)
    roads = str(shared_data / "tallahassee/tallahassee.gpkg")
    url = "postgresql+psycopg://postgres@localhost/gridplan_test"
    args = ["import", roads, "--kind", "roads", "--db", url, "--format", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert opened == [url]
    assert json.loads(result.stdout)["loaded"] == {"roads": 567}
    assert postgis_store.count(LayerKind.ROADS) == 567
    assert postgis_store.read_layer(LayerKind.ROADS)["road_class"].value_counts().to_dict() == {
        "local": 464,
        "secondary": 94,
        "motorway": 9,
    }


def test_unknown_csv_encoding_is_bad_input(tmp_path: Path) -> None:
    """An unknown --encoding used to end in pandas' LookupError traceback."""
    csv = tmp_path / "compounds.csv"
    csv.write_text("name,lon,lat\n青新小区,118.5,24.7\n", encoding="utf-8")
    db = tmp_path / "gridplan.gpkg"
    result = runner.invoke(
        app,
        ["import", str(csv), "--kind", "compounds", "--encoding", "nope", "--db", str(db)],
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.strip() == "error: --encoding 'nope': not a known text encoding"
    assert not db.exists()


def test_import_says_the_next_step(tmp_path: Path) -> None:
    """Roads in: the next step is ``units``; drawn areas in: ``check`` of the plan they made."""
    from shapely import LineString

    roads = tmp_path / "roads.geojson"
    gpd.GeoDataFrame(
        {"road_id": ["r1"], "highway": ["residential"]},
        geometry=[LineString([(118.58, 24.80), (118.59, 24.80)])],
        crs=4326,
    ).to_file(roads)
    db = tmp_path / "s.gpkg"
    result = runner.invoke(app, ["import", str(roads), "--kind", "roads", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert f"next: gridplan units --db {db}" in result.output
    areas = tmp_path / "areas.geojson"
    gpd.GeoDataFrame(
        {"area_id": ["A"]}, geometry=[box(118.58, 24.80, 118.581, 24.801)], crs=4326
    ).to_file(areas)
    drawn = runner.invoke(app, ["import", str(areas), "--kind", "areas", "--db", str(db)])
    assert drawn.exit_code == 0, drawn.output
    assert f"next: gridplan check --db {db} --plan 1" in drawn.output
