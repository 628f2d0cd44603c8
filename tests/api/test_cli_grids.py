"""Tests of ``gridplan grids`` (CliRunner on the real app, real files, both stores)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely import LineString, box
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.data.reference import load_overrides
from gridplan.data.store.base import Store
from gridplan.geo.assign import assign_compounds, assignment_summary
from gridplan.geo.codes import CodeScheme
from gridplan.geo.grids import GridParams, divide_into_grids
from gridplan.geo.units import build_units

CRS = "EPSG:32650"  # UTM 50N (Fujian): a true metric CRS, lengths exact
runner = CliRunner()


def _files(tmp_path: Path) -> tuple[Path, Path]:
    """Two communities of 2 x 2 units, 150 households each; band 250–350 gives two grids
    per community::

        +----+----+----+----+
        | A  | A  | B  | B  |    community code 004 (A) and 005 (B)
        +----+----+----+----+
        | A  | A  | B  | B  |
        +----+----+----+----+
    """
    units = gpd.GeoDataFrame(
        {"uid": [f"u{r}{c}" for r in range(2) for c in range(4)], "hh": [150.0] * 8},
        geometry=[box(c * 100, r * 100, c * 100 + 100, r * 100 + 100)
                  for r in range(2) for c in range(4)],
        crs=CRS,
    )  # fmt: skip
    areas = gpd.GeoDataFrame(
        {"area_id": ["A", "B"], "code": ["350582001004", "350582001005"]},
        geometry=[box(0, 0, 200, 200), box(200, 0, 400, 200)],
        crs=CRS,
    )
    u, a = tmp_path / "units.gpkg", tmp_path / "areas.geojson"
    units.to_file(u)
    areas.to_crs(4326).to_file(a)
    return a, u


#: Keys of the JSON summary.
SUMMARY_KEYS = {
    "band", "grids", "in_band", "communities", "grid_list", "unplaced_units", "plan_id",
    "parent_id", "findings", "out",
}  # fmt: skip
#: Columns of the ``grids`` and ``communities`` layers ``--out`` writes.
AREA_COLUMNS = {
    "area_id", "code", "name", "parent_id", "parent_code", "households", "residents",
    "measure", "band_lo", "band_hi", "status", "findings", "rules",
}  # fmt: skip
GRID_CODES = ["350582001004001", "350582001004002", "350582001005001", "350582001005002"]


def test_grids_json_codes_and_out(tmp_path: Path) -> None:
    a, u = _files(tmp_path)
    out = tmp_path / "grids.gpkg"
    result = runner.invoke(
        app,
        ["grids", "--areas", str(a), "--units", str(u), "--unit-id-field", "uid",
         "--households-field", "hh", "--band", "250", "350", "--codes", "350582,001",
         "--out", str(out), "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == SUMMARY_KEYS
    assert data["band"] == [250.0, 350.0]
    assert data["grids"] == 4
    assert data["in_band"] == 4
    assert data["plan_id"] is None and data["parent_id"] is None
    assert data["unplaced_units"] == []
    assert data["out"] == [str(out)]
    assert data["communities"] == [
        {"area_id": "A", "code": "350582001004", "households": 600.0, "grids": 2,
         "valid": True, "explanation": None},
        {"area_id": "B", "code": "350582001005", "households": 600.0, "grids": 2,
         "valid": True, "explanation": None},
    ]  # fmt: skip
    assert [g["grid_code"] for g in data["grid_list"]] == GRID_CODES
    assert [g["area_id"] for g in data["grid_list"]] == ["A", "A", "B", "B"]
    assert all(g["households"] == 300.0 and g["in_band"] for g in data["grid_list"])
    assert all(g["note"] is None for g in data["grid_list"])
    # grids in band; the communities (600) are under the default community band
    assert data["findings"] == {"grid": {}, "community": {"size.under": 2}}

    assert [str(n) for n, _ in pyogrio.list_layers(out)] == ["grids", "communities"]
    grids = gpd.read_file(out, layer="grids").sort_values("area_id", ignore_index=True)
    assert set(grids.columns) >= AREA_COLUMNS
    assert grids["area_id"].tolist() == GRID_CODES
    assert (grids["code"] == grids["area_id"]).all()
    assert grids["parent_id"].tolist() == ["A", "A", "B", "B"]
    assert grids["parent_code"].tolist() == ["350582001004"] * 2 + ["350582001005"] * 2
    assert grids["households"].tolist() == [300.0] * 4
    assert (grids["status"] == "in band").all() and (grids["findings"] == 0).all()
    assert (grids["band_lo"] == 250.0).all() and (grids["band_hi"] == 350.0).all()
    assert grids.to_crs(CRS).total_bounds == pytest.approx([0, 0, 400, 200], abs=0.01)
    assert grids.to_crs(CRS).area.tolist() == pytest.approx([20000.0] * 4, rel=1e-6)
    communities = gpd.read_file(out, layer="communities")
    assert set(communities.columns) >= AREA_COLUMNS
    assert communities["area_id"].tolist() == ["A", "B"]
    assert communities["code"].tolist() == ["350582001004", "350582001005"]
    assert communities["households"].tolist() == [600.0, 600.0]
    assert (communities["status"] == "under").all()
    assert (communities["rules"] == "size.under:1").all()


def test_grids_table_and_default_codes(tmp_path: Path) -> None:
    """GeoJSON holds one layer: the grids at the path, the communities beside it."""
    a, u = _files(tmp_path)
    out = tmp_path / "grids.geojson"
    result = runner.invoke(
        app,
        ["grids", "--areas", str(a), "--units", str(u), "--households-field", "hh",
         "--band", "250", "350", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 grids" in result.stdout
    grids = gpd.read_file(out)
    communities = gpd.read_file(tmp_path / "grids-communities.geojson")
    # without --codes a grid is numbered after its community's own code
    code = dict(zip(communities["area_id"], communities["code"], strict=True))
    assert sorted(grids["area_id"]) == sorted(
        f"{code[c]}-{i:03d}" for c in ("A", "B") for i in (1, 2)
    )
    assert sorted(grids["parent_id"]) == ["A", "A", "B", "B"]
    assert sorted(communities["area_id"]) == ["A", "B"]
    assert communities["households"].sum() == grids["households"].sum() == 1200.0


def test_grids_on_the_store_make_a_child_plan(tmp_path: Path) -> None:
    """Without --areas: the communities of the stored plan (partition --db) are divided
    into coded grids, stored as its child plan; the communities and their codes are kept."""
    from gridplan.data.layers import LayerKind, normalise
    from gridplan.data.store.base import open_store

    units = gpd.read_file(_files(tmp_path)[1])
    db = tmp_path / "store.gpkg"
    with open_store(db) as st:
        st.import_layers(
            {LayerKind.UNITS: normalise(LayerKind.UNITS, units,
                                        fields={"unit_id": "uid", "households": "hh"})},
            source="squares",
        )  # fmt: skip
    part = runner.invoke(
        app, ["partition", "--db", str(db), "--band", "500", "700", "--format", "json"]
    )
    assert part.exit_code == 0, part.output
    parent = json.loads(part.stdout)["plan_id"]
    out = tmp_path / "grids.gpkg"
    result = runner.invoke(
        app,
        ["grids", "--db", str(db), "--plan", str(parent), "--band", "250", "350",
         "--codes", "350582,001", "--out", str(out), "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == SUMMARY_KEYS
    assert data["parent_id"] == parent and data["plan_id"] not in (None, parent)
    assert data["grids"] == data["in_band"] == 4
    assert [c["code"] for c in data["communities"]] == ["001", "002"]
    assert sorted(g["grid_code"] for g in data["grid_list"]) == [
        "350582001001001", "350582001001002", "350582001002001", "350582001002002",
    ]  # fmt: skip
    assert data["findings"] == {"community": {}, "grid": {}}
    with open_store(db, create=False) as st:
        child = st.load_plan(data["plan_id"])
        first = st.load_plan(parent)
    assert child.parent_id == parent
    assert child.targets["grid"] == {"households": [250.0, 350.0]}
    assert child.targets["community"] == first.targets["community"]
    kept = ["area_id", "code", "name", "households"]
    assert (
        child.areas_at("community")[kept].sort_values("area_id", ignore_index=True).to_dict()
        == first.areas_at("community")[kept].sort_values("area_id", ignore_index=True).to_dict()
    )
    assert len(child.assignments) == 8 and child.assignments["grid_id"].notna().all()
    assert child.areas_at("grid")["households"].sum() == 1200.0
    written = gpd.read_file(out, layer="grids")
    assert sorted(written["area_id"]) == sorted(g["grid_code"] for g in data["grid_list"])
    assert set(written["parent_code"]) == {"001", "002"}


def test_grids_bad_input(tmp_path: Path) -> None:
    a, u = _files(tmp_path)
    out = str(tmp_path / "g.gpkg")
    base = ["grids", "--areas", str(a), "--units", str(u), "--out", out]
    result = runner.invoke(app, [*base, "--households-field", "nope"])
    assert result.exit_code == 2
    assert "nope" in result.stderr
    result = runner.invoke(app, [*base, "--households-field", "hh", "--codes", "3505"])
    assert result.exit_code == 2
    assert "county,subdistrict" in result.stderr
    result = runner.invoke(app, [*base, "--households-field", "hh", "--band", "500", "300"])
    assert result.exit_code == 2
    assert "band" in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_grids_time_limit_must_be_positive(tmp_path: Path, value: str) -> None:
    """``--time-limit 0`` (or negative, NaN, infinite) used to be accepted, as ``partition``
    already refuses it: bad input, exit 2, one line naming the option, nothing written."""
    a, u = _files(tmp_path)
    out = tmp_path / "g.gpkg"
    result = runner.invoke(
        app,
        ["grids", "--areas", str(a), "--units", str(u), "--unit-id-field", "uid",
         "--households-field", "hh", "--band", "250", "350", "--time-limit", value,
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"--time-limit {value}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_grids_store_option_saves_a_plan(tmp_path: Path) -> None:
    """--store saves communities and grids as a plan in the store named by --db."""
    from gridplan.data.store.base import open_store

    a, u = _files(tmp_path)
    db = str(tmp_path / "store.gpkg")
    result = runner.invoke(
        app,
        ["grids", "--areas", str(a), "--units", str(u), "--unit-id-field", "uid",
         "--households-field", "hh", "--band", "250", "350", "--codes", "350582,001",
         "--out", str(tmp_path / "g.gpkg"), "--store", "--db", db, "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan_id = json.loads(result.stdout)["plan_id"]
    with open_store(db) as st:
        plan = st.load_plan(plan_id)
    assert len(plan.areas_at("grid")) == 4
    assert len(plan.areas_at("community")) == 2
    assert len(plan.assignments) == 8
    assert set(plan.assignments["grid_id"]) == set(plan.areas_at("grid")["area_id"])


@pytest.mark.postgis
def test_assign_and_grids_plan_round_trips_in_both_stores(store: Store) -> None:
    """Roads -> units (compounds carved) -> compounds assigned -> grids -> a stored plan.

    ::

        +---------+---------+ y=200     road x=200 splits communities A (west) and B (east);
        |  [c1]   |   [c3]  |           road y=100 splits each into north/south blocks;
        +---------+---------+ y=100     c1..c4: compounds of 200 households each
        |  [c2]   |   [c4]  |
        +---------+---------+ y=0
        0        200       400
    """
    roads = gpd.GeoDataFrame(
        {"road_class": ["primary", "local"]},
        geometry=[LineString([(200, -10), (200, 210)]), LineString([(-10, 100), (410, 100)])],
        crs=CRS,
    )
    outline = gpd.GeoDataFrame(geometry=[box(0, 0, 400, 200)], crs=CRS)
    compounds = gpd.GeoDataFrame(
        {
            "compound_id": ["c1", "c2", "c3", "c4"],
            "name": ["c1", "c2", "c3", "福隆广场"],
            "households": [200.0] * 4,
            "residents": [500.0] * 4,
        },
        geometry=[box(20, 120, 80, 180), box(20, 20, 80, 80), box(220, 120, 280, 180),
                  box(220, 20, 280, 80)],
        crs=CRS,
    )  # fmt: skip
    areas = gpd.GeoDataFrame(
        {"area_id": ["A", "B"], "name": ["青新社区", "锦青社区"], "code": ["004", "005"]},
        geometry=[box(0, 0, 200, 200), box(200, 0, 400, 200)],
        crs=CRS,
    )
    assigned = assign_compounds(compounds, areas, overrides=load_overrides())
    assert assigned["area_id"].tolist() == ["A", "A", "B", "B"]
    units = build_units(roads, outline, compounds=compounds).units
    result = divide_into_grids(
        units, areas, params=GridParams(150, 450), scheme=CodeScheme("350582", "001")
    )
    assert result.grids["in_band"].all()
    plan = result.to_plan(areas, name="assign+grids", source="test")
    plan = replace(plan, metrics={**plan.metrics, "assign": assignment_summary(assigned)})
    plan_id = store.save_plan(plan)
    back = store.load_plan(plan_id)
    assert back.name == "assign+grids"
    assert len(back.assignments) == len(units)
    assert sorted(back.areas_at("grid")["area_id"]) == sorted(result.grids["grid_code"])
    assert back.areas_at("grid")["households"].sum() == 800.0
    assert back.metrics["assign"]["households"] == 800.0
    grid_codes = sorted(back.areas_at("grid")["area_id"])
    assert all(code.startswith("350582001") and len(code) == 15 for code in grid_codes)
