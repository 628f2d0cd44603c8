"""``gridplan check --overrides CSV``: named assignments not honoured (compound.override_violated).

The files, in metres (EPSG:32650, offset by ``X0, Y0``)::

    100 +------------------+------------------+
        | 350582001015     | 350582001007     |   * s  阳光时代广场 (x 50): in 阳光社区, named
        | 阳光社区          | 锦青社区          |        for 阳光社区 -> honoured
        |   * s     * f    |                  |   * f  福隆广场 (x 150): in 阳光社区, named
      0 +------------------+------------------+        for 锦青社区 -> VIOLATED (500 households)
        0                 200                400

The overrides CSV is written the way people type it: full-width brackets and spaces
(``阳光时代广场（一期）``, ``锦青　社区``) and a row for 镇长楼, which is not in the data (a note
on stderr, not a finding).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.data.reference import load_overrides
from gridplan.geo.rules import check_areas

X0, Y0 = 660_000.0, 2_744_000.0
CRS = 32650
RULE = "compound.override_violated"
runner = CliRunner()


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "CODE": ["350582001015", "350582001007"],
            "MC": ["阳光社区", "锦青社区"],
            "HU": [1500.0, 1200.0],
        },
        geometry=[_box(0, 0, 200, 100), _box(200, 0, 400, 100)],
        crs=CRS,
    )


def _compounds() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "compound_id": ["s", "f"],
            "name": ["阳光时代广场(一期)", "福隆广场"],
            "households": [300.0, 500.0],
        },
        geometry=[shapely.Point(X0 + 50, Y0 + 50), shapely.Point(X0 + 150, Y0 + 50)],
        crs=CRS,
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"areas": tmp_path / "areas.gpkg", "compounds": tmp_path / "compounds.gpkg"}
    _areas().to_file(out["areas"], layer="areas")
    _compounds().to_file(out["compounds"], layer="compounds")
    out["overrides"] = tmp_path / "overrides.csv"
    out["overrides"].write_text(
        "compound,community,note\n"
        "阳光时代广场（一期）,阳光社区,落实属地管理\n"
        "福隆广场,锦青　社区,落实属地管理\n"
        "镇长楼,青新社区,not in these files\n",
        encoding="utf-8",
    )
    return out


def _args(files: dict[str, Path], *extra: str) -> list[str]:
    return [
        "check",
        "--areas", str(files["areas"]),
        "--id-field", "CODE",
        "--name-field", "MC",
        "--households-field", "HU",
        "--compounds", str(files["compounds"]),
        "--overrides", str(files["overrides"]),
        *extra,
    ]  # fmt: skip


def _flat(text: str) -> str:
    """Text without whitespace (Rich wraps long notes at the console width)."""
    return "".join(text.split())


def test_json_reports_the_violated_override(files: dict[str, Path]) -> None:
    result = runner.invoke(app, _args(files, "--format", "json"))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"level", "summary", "areas", "findings"}
    assert doc["summary"]["by_rule"] == {RULE: 1}
    (finding,) = doc["findings"]
    assert finding["area"] == "350582001015"
    assert finding["severity"] == "error"
    assert finding["value"] == 500
    assert "福隆广场" in finding["message"]
    assert "not in 350582001007 (锦青社区)" in finding["message"]
    geometry = finding["geometry"]
    assert geometry["type"] == "GeometryCollection"
    assert [g["type"] for g in geometry["geometries"]] == ["Point", "Polygon", "Polygon"]
    lon, lat = geometry["geometries"][0]["coordinates"]
    assert 118 < lon < 120 and 24 < lat < 26
    notes = _flat(result.stderr)
    assert (
        _flat("override 镇长楼 → 青新社区 (line 4) not checked: no compound named 镇长楼") in notes
    )


def test_without_overrides_no_such_finding(files: dict[str, Path]) -> None:
    args = _args(files, "--format", "json")
    i = args.index("--overrides")
    del args[i : i + 2]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["by_rule"] == {}
    assert "override" not in result.stderr


def test_table_output_and_store(files: dict[str, Path], tmp_path: Path) -> None:
    db = tmp_path / "store.gpkg"
    result = runner.invoke(app, _args(files, "--db", str(db), "--store"))
    assert result.exit_code == 0, result.output
    assert RULE in _flat(result.stdout)
    assert "stored as plan 1" in result.stdout
    from gridplan.data.store.base import open_store

    with open_store(db) as st:
        found = st.read_findings(1)
    assert list(found["rule"]) == [RULE]
    assert found.geometry.iloc[0].geom_type == "GeometryCollection"


def test_bad_overrides_file_exits_2_with_one_line(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("compound,area\n福隆广场,锦青社区\n", encoding="utf-8")
    args = _args(files)
    args[args.index("--overrides") + 1] = str(bad)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "missing column(s) community" in result.stderr
    assert len(result.output.strip().splitlines()) == 1
    args[args.index("--overrides") + 1] = str(tmp_path / "nope.csv")
    missing = runner.invoke(app, args)
    assert missing.exit_code == 2 and "not found" in missing.stderr


@pytest.mark.postgis
def test_override_findings_round_trip_both_stores(store: object) -> None:
    """The GeometryCollection of an override finding is stored and read back unchanged."""
    from gridplan.data.layers import normalise
    from gridplan.geo.rules import CheckLayers
    from gridplan.ops.checks import check_drawn
    from gridplan.plan import Level

    areas = _areas().rename(columns={"CODE": "area_id", "MC": "name", "HU": "households"})
    report = check_areas(areas, compounds=_compounds(), overrides=load_overrides())
    assert report.by_rule() == {RULE: 1}
    done = check_drawn(
        normalise("areas", areas),
        level=Level.COMMUNITY,
        layers=CheckLayers(compounds=_compounds()),
        overrides=load_overrides(),
        name="drawn",
    )
    assert done.report(Level.COMMUNITY).by_rule() == {RULE: 1}
    plan_id = store.save_plan(done.plan, done.findings)  # type: ignore[attr-defined]
    found = store.read_findings(plan_id)  # type: ignore[attr-defined]
    assert list(found["rule"]) == [RULE]
    assert found["area_id"].iloc[0] == "350582001015"
    expected = report.findings.to_crs(4326).geometry.iloc[0]
    assert found.geometry.iloc[0].equals_exact(expected, tolerance=1e-7)
