"""``gridplan check``: the command-line contract, bad input, and findings stored with a plan."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.data.layers import FINDING_COLUMNS, normalise
from gridplan.geo.rules import CheckConfig, check_areas
from gridplan.ops.checks import check_drawn
from gridplan.plan import Level

X0, Y0 = 660_000.0, 2_744_000.0
CRS = 32650
runner = CliRunner()


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Three communities, roads, compounds and an outline, as files.

    ::

        +--------+--------+--------+
        |  A 青新 |  B 锦青 |  C 阳光 |     roads: x=100 (all along), none at x=200
        |    +---|---+    |   [o]  |     compound s: x 60..160 -> 40 % A, 60 % B
        |    +---|---+    |        |     compound o: a point in C
        +--------+--------+--------+
        0       100      200      300
    """
    areas = gpd.GeoDataFrame(
        {
            "CODE": ["350582001004", "350582001005", "350582001015"],
            "MC": ["青新社区", "锦青社区", "阳光社区"],
            "HU": [900.0, 2000.0, 3500.0],
            "POP": [2500.0, 4000.0, 9000.0],
        },
        geometry=[_box(0, 0, 100, 100), _box(100, 0, 200, 100), _box(200, 0, 300, 100)],
        crs=CRS,
    )
    roads = gpd.GeoDataFrame(
        {"highway": ["primary"]},
        geometry=[shapely.LineString([(X0 + 100, Y0 - 50), (X0 + 100, Y0 + 150)])],
        crs=CRS,
    )
    compounds = gpd.GeoDataFrame(
        {"name": ["新世纪豪园", "阳光时代广场"], "households": [300.0, 200.0]},
        geometry=[_box(60, 40, 160, 60), shapely.Point(X0 + 250, Y0 + 50)],
        crs=CRS,
    )
    outline = gpd.GeoDataFrame({"name": ["青阳街道"]}, geometry=[_box(0, 0, 300, 100)], crs=CRS)
    out = {}
    for name, gdf in (
        ("areas", areas),
        ("roads", roads),
        ("compounds", compounds),
        ("outline", outline),
    ):
        out[name] = tmp_path / f"{name}.gpkg"
        gdf.to_file(out[name], layer=name)
    return out


def _args(files: dict[str, Path], *extra: str) -> list[str]:
    return [
        "check",
        "--areas", str(files["areas"]),
        "--id-field", "CODE",
        "--name-field", "MC",
        "--households-field", "HU",
        "--residents-field", "POP",
        "--roads", str(files["roads"]),
        "--compounds", str(files["compounds"]),
        "--outline", str(files["outline"]),
        *extra,
    ]  # fmt: skip


def test_json_contract(files: dict[str, Path]) -> None:
    result = runner.invoke(app, _args(files, "--format", "json"))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"level", "summary", "areas", "findings"}
    assert doc["level"] == "community"
    s = doc["summary"]
    assert s["areas"] == 3
    assert s["by_rule"] == {
        "size.under": 1,
        "size.over": 1,
        "roads.off_road": 1,
        "compound.split": 1,
    }
    assert s["findings"] == 4
    by_id = {a["id"]: a for a in doc["areas"]}
    assert by_id["350582001004"]["name"] == "青新社区"
    assert by_id["350582001004"]["households"] == 900
    assert by_id["350582001004"]["road_boundary_share"] == pytest.approx(1.0)
    assert by_id["350582001005"]["road_boundary_share"] == pytest.approx(0.5)
    assert by_id["350582001015"]["road_boundary_share"] == pytest.approx(0.0)
    off = next(f for f in doc["findings"] if f["rule"] == "roads.off_road")
    assert off["area"] == "350582001005" and off["value"] == pytest.approx(100.0)
    assert off["geometry"]["type"] == "LineString"
    lon, lat = off["geometry"]["coordinates"][0]
    assert 118 < lon < 120 and 24 < lat < 26
    split = next(f for f in doc["findings"] if f["rule"] == "compound.split")
    assert "40% in 350582001004 (青新社区)" in split["message"]
    assert "60% in 350582001005 (锦青社区)" in split["message"]


def test_residents_band_and_grid_level(files: dict[str, Path]) -> None:
    result = runner.invoke(
        app,
        [
            "check", "--areas", str(files["areas"]), "--id-field", "CODE",
            "--residents-field", "POP", "--band", "3000", "5000", "--format", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"]["by_rule"] == {"size.under": 1, "size.over": 1}
    grid = runner.invoke(
        app,
        _args(files, "--level", "grid", "--band", "800", "2500", "--road-tolerance", "5",
              "--format", "json"),
    )  # fmt: skip
    assert grid.exit_code == 0, grid.output
    gdoc = json.loads(grid.stdout)
    assert gdoc["level"] == "grid"
    assert gdoc["summary"]["by_rule"]["size.over"] == 1
    assert "size.under" not in gdoc["summary"]["by_rule"]


def test_table_output(files: dict[str, Path]) -> None:
    result = runner.invoke(app, _args(files))
    assert result.exit_code == 0, result.output
    assert "3 communities checked" in result.stdout
    assert "roads.off_road" in result.stdout and "青新社区" in result.stdout


def test_bad_input_exits_non_zero_with_one_line(files: dict[str, Path], tmp_path: Path) -> None:
    missing = runner.invoke(app, ["check", "--areas", str(tmp_path / "nope.gpkg")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    field = runner.invoke(app, ["check", "--areas", str(files["areas"]), "--id-field", "NOPE"])
    assert field.exit_code == 2 and "NOPE" in field.output
    lines = runner.invoke(app, ["check", "--areas", str(files["roads"])])
    assert lines.exit_code == 2 and "wrong geometry type" in lines.output
    nocrs = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)]).to_file(nocrs)
    crs = runner.invoke(app, ["check", "--areas", str(nocrs)])
    assert crs.exit_code == 2 and "CRS" in crs.output
    for bad in (missing, field, lines, crs):
        assert len(bad.output.strip().splitlines()) == 1


def test_store_option_saves_a_drawn_plan_with_findings(
    files: dict[str, Path], tmp_path: Path
) -> None:
    db = tmp_path / "store.gpkg"
    result = runner.invoke(app, _args(files, "--db", str(db), "--store", "--plan-name", "现状"))
    assert result.exit_code == 0, result.output
    assert "stored as plan 1" in result.stdout
    from gridplan.data.store.base import open_store

    with open_store(db) as st:
        plan = st.load_plan(1)
        assert plan.name == "现状"
        assert sorted(plan.areas["area_id"]) == ["350582001004", "350582001005", "350582001015"]
        assert set(plan.areas["level"]) == {"community"}
        found = st.read_findings(1)
    assert sorted(found["rule"]) == [
        "compound.split",
        "roads.off_road",
        "size.over",
        "size.under",
    ]


@pytest.mark.postgis
def test_findings_stored_with_their_plan_in_both_stores(store: object) -> None:
    """The areas of a check become a drawn plan; its findings read back unchanged."""
    areas = gpd.GeoDataFrame(
        {"area_id": ["a", "b"], "name": ["青新社区", None], "households": [800.0, 2000.0]},
        geometry=[
            shapely.MultiPolygon([_box(0, 0, 100, 100), _box(300, 0, 400, 100)]),
            _box(100, 0, 300, 100),
        ],
        crs=CRS,
    )
    report = check_areas(areas, config=CheckConfig())
    assert report.by_rule() == {"size.under": 1, "enclave.exclave": 1}
    done = check_drawn(
        normalise("areas", areas), level=Level.COMMUNITY, name="drawn", source="areas.gpkg"
    )
    assert done.report(Level.COMMUNITY).by_rule() == report.by_rule()
    plan_id = store.save_plan(done.plan, done.findings)  # type: ignore[attr-defined]
    loaded = store.load_plan(plan_id)  # type: ignore[attr-defined]
    assert loaded.targets == {"community": {"households": [1000.0, 3000.0]}}
    assert sorted(loaded.areas_at("community")["area_id"]) == ["a", "b"]
    assert len(loaded.assignments) == 0
    found = store.read_findings(plan_id)  # type: ignore[attr-defined]
    assert list(found.columns[: len(FINDING_COLUMNS)]) == list(FINDING_COLUMNS)
    found = found.sort_values("rule").reset_index(drop=True)
    assert list(found["rule"]) == ["enclave.exclave", "size.under"]
    assert list(found["area_id"]) == ["a", "a"]
    assert found.crs.to_epsg() == 4326
    exclave = found.geometry.iloc[0]
    expected = gpd.GeoSeries([_box(300, 0, 400, 100)], crs=CRS).to_crs(4326).iloc[0]
    assert exclave.equals_exact(expected, tolerance=1e-7)


@pytest.mark.realdata
def test_providence_tracts_with_blocks_as_units(shared_data: Path, tmp_path: Path) -> None:
    """Tract polygons without counts; residents summed from the census blocks (--units)."""
    blocks_path = shared_data / "providence" / "providence_blocks.gpkg"
    blocks = gpd.read_file(blocks_path)
    tracts = blocks.dissolve("TRACTCE10").reset_index()[["TRACTCE10", "geometry"]]
    tracts_path = tmp_path / "tracts.gpkg"
    tracts.to_file(tracts_path)
    result = runner.invoke(
        app,
        [
            "check", "--areas", str(tracts_path), "--id-field", "TRACTCE10",
            "--units", str(blocks_path), "--measure", "residents", "--band", "3000", "5000",
            "--format", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"]["areas"] == 39
    assert doc["summary"]["by_rule"] == {"size.under": 9, "size.over": 16}
    assert sum(a["residents"] for a in doc["areas"]) == 178_040


def test_unreadable_geometry_is_bad_input(tmp_path: Path) -> None:
    """A GeoJSON ring of two points (not closed, GEOS cannot build it) used to end in a
    GEOSException traceback; it is an unreadable file: exit 2 with one line."""
    path = tmp_path / "areas.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        '"properties": {"area_id": "a"}, '
        '"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0]]]}}]}',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["check", "--areas", str(path), "--format", "json"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.strip().startswith("error: areas.geojson: cannot read (")
    assert len(result.stderr.strip().splitlines()) == 1


def test_json_is_utf8_whatever_the_stdout_encoding(files: dict[str, Path]) -> None:
    """With a latin-1 stdout (e.g. PYTHONIOENCODING=latin-1) the Chinese names used to raise
    UnicodeEncodeError; the JSON bytes are UTF-8 regardless."""
    latin = CliRunner(charset="latin-1")
    result = latin.invoke(app, _args(files, "--format", "json"))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout_bytes.decode("utf-8"))
    assert [a["name"] for a in doc["areas"]] == ["青新社区", "锦青社区", "阳光社区"]


def test_json_polygons_follow_rfc7946(tmp_path: Path) -> None:
    """A ring-shaped community drawn clockwise, with a counter-clockwise hole, came back in
    the JSON as drawn; RFC 7946 wants exteriors counter-clockwise and holes clockwise::

        +-----------------+ 300    a: 0..300 minus 100..200, 500 households (size.under)
        |  a  +-------+   |        b: 100..200, inside a's hole
        |     |   b   |   |
        |     +-------+   |
        +-----------------+ 0
        0    100     200  300
    """
    shell = [(X0, Y0), (X0, Y0 + 300), (X0 + 300, Y0 + 300), (X0 + 300, Y0)]  # clockwise
    hole = [(X0 + 100, Y0 + 100), (X0 + 200, Y0 + 100), (X0 + 200, Y0 + 200), (X0 + 100, Y0 + 200)]
    areas = gpd.GeoDataFrame(
        {"CODE": ["a", "b"], "MC": ["青新社区", "锦青社区"], "HU": [500.0, 2000.0]},
        geometry=[shapely.Polygon(shell, [hole]), _box(100, 100, 200, 200)],
        crs=CRS,
    )
    path = tmp_path / "donut.gpkg"
    areas.to_file(path)
    result = runner.invoke(
        app,
        ["check", "--areas", str(path), "--id-field", "CODE", "--name-field", "MC",
         "--households-field", "HU", "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    under = next(f for f in doc["findings"] if f["rule"] == "size.under")
    assert under["area"] == "a"
    polygon = shapely.geometry.shape(under["geometry"])
    assert len(polygon.interiors) == 1
    assert shapely.is_ccw(polygon.exterior)
    assert not shapely.is_ccw(polygon.interiors[0])
    lon, lat = polygon.exterior.coords[0]
    assert 118 < lon < 120 and 24 < lat < 26
