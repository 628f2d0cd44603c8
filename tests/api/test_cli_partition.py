"""``gridplan partition`` through Typer's CliRunner, on hand-drawn and real units."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from click.testing import Result
from shapely import box
from typer.testing import CliRunner

from gridplan.api.cli import app

runner = CliRunner()


def _partition(units: Path, *options: str, households: str = "hh") -> Result:
    """``gridplan partition --units UNITS --households-field HOUSEHOLDS OPTIONS...``."""
    return runner.invoke(
        app, ["partition", "--units", str(units), "--households-field", households, *options]
    )


def _squares(tmp_path: Path, households: list[float], cols: int = 4) -> Path:
    """Unit squares of 100 m in rows of ``cols`` (UTM 50N), ids a, b, c, ...

    a b c d
    e f g h
    """
    geoms = [
        box((i % cols) * 100, -(i // cols) * 100, (i % cols + 1) * 100, -(i // cols - 1) * 100)
        for i in range(len(households))
    ]
    gdf = gpd.GeoDataFrame(
        {
            "unit_id": [chr(ord("a") + i) for i in range(len(households))],
            "hh": households,
            "community": [
                "west" if i % cols < cols // 2 else "east" for i in range(len(households))
            ],
        },
        geometry=geoms,
        crs="EPSG:32650",
    )
    path = tmp_path / "units.gpkg"
    gdf.to_file(path, engine="pyogrio")
    return path


def test_partition_json_contract(tmp_path: Path) -> None:
    """Eight units of 1 household, two areas of exactly 4."""
    units = _squares(tmp_path, [1.0] * 8)
    out = tmp_path / "plan.gpkg"
    res = _partition(units, "--band", "4", "4", "--k", "2", "--out", str(out), "--format", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {"valid", "reason", "areas", "households_moved", "seconds"}
    assert data["valid"] is True and data["reason"] is None and data["households_moved"] is None
    assert [set(a) for a in data["areas"]] == [
        {"district", "households", "units", "road_boundary_share"}
    ] * 2
    assert sorted(a["households"] for a in data["areas"]) == [4.0, 4.0]
    written = gpd.read_file(out)
    assert len(written) == 8 and written["district"].nunique() == 2
    assert written.groupby("district")["households"].sum().tolist() == [4.0, 4.0]


def test_partition_baseline_keeps_names(tmp_path: Path) -> None:
    units = _squares(tmp_path, [1.0] * 8)
    out = tmp_path / "plan.geojson"
    res = _partition(
        units,
        "--band",
        "3",
        "5",
        "--baseline-field",
        "community",
        "--out",
        str(out),
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["households_moved"] == 0
    assert sorted(a["district"] for a in data["areas"]) == ["east", "west"]
    written = gpd.read_file(out)
    assert (written["district"] == written["community"]).all()


def test_partition_infeasible_says_why(tmp_path: Path) -> None:
    units = _squares(tmp_path, [1, 1, 9, 1, 1, 1, 1, 1])
    out = tmp_path / "plan.gpkg"
    res = _partition(units, "--band", "2", "5", "--out", str(out), "--format", "json")
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data["valid"] is False and "unit c holds 9" in data["reason"]
    assert data["areas"] == [] and not out.exists()
    table = _partition(units, "--band", "2", "5", "--out", str(out))
    assert table.exit_code == 1 and "unit c holds 9" in table.output


def test_partition_bad_input(tmp_path: Path) -> None:
    units = _squares(tmp_path, [1.0] * 8)
    res = _partition(
        units, "--band", "4", "4", "--out", str(tmp_path / "x.gpkg"), households="nope"
    )
    assert res.exit_code == 2
    assert "nope" in res.output
    res = _partition(units, "--band", "5", "4", "--out", str(tmp_path / "x.gpkg"))
    assert res.exit_code == 2 and "--band" in res.output


@pytest.mark.parametrize(
    ("option", "reason"),
    [
        (["--band", "nan", "4"], "--band nan 4"),  # used to loop forever in the engine
        (["--band", "4", "nan"], "--band 4 nan"),  # used to say "no valid plan" (exit 1)
        (["--band", "4", "8", "--time-limit", "nan"], "--time-limit nan"),
        # used to run without a limit; now refused at the CLI, naming the option
        (["--band", "4", "8", "--time-limit", "inf"], "--time-limit inf: must be a positive"),
    ],
)
def test_partition_nan_options_are_bad_input(
    tmp_path: Path, option: list[str], reason: str
) -> None:
    units = _squares(tmp_path, [1.0] * 8)
    res = _partition(units, *option, "--out", str(tmp_path / "x.gpkg"))
    assert res.exit_code == 2, res.output
    assert reason in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.gpkg").exists()


@pytest.mark.realdata
def test_partition_providence(tmp_path: Path, shared_data: Path) -> None:
    """Providence blocks, households = TOTPOP / 2.5, into 1000–3000-household communities."""
    blocks = gpd.read_file(shared_data / "providence" / "providence_blocks.gpkg")
    blocks["households"] = blocks["TOTPOP"] / 2.5
    units = tmp_path / "providence.gpkg"
    blocks[["GEOID10", "households", "TRACTCE10", "geometry"]].to_file(units, engine="pyogrio")
    out = tmp_path / "plan.gpkg"
    res = _partition(
        units,
        "--unit-id-field",
        "GEOID10",
        "--band",
        "1000",
        "3000",
        "--k",
        "39",
        "--baseline-field",
        "TRACTCE10",
        "--out",
        str(out),
        "--format",
        "json",
        households="households",
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["valid"] and len(data["areas"]) == 39
    assert all(1000 <= a["households"] <= 3000 for a in data["areas"])
    assert data["households_moved"] < 0.2 * blocks["households"].sum()
    written = gpd.read_file(out)
    assert written["district"].nunique() == 39 and written["district"].notna().all()


@pytest.mark.realdata
def test_partition_tallahassee_along_roads(tmp_path: Path, shared_data: Path) -> None:
    """Tallahassee roads polygonized into blocks, households from census block points (HU100);
    communities of 1000–3000 households whose boundaries all follow roads."""
    from gridplan.data.readers import read_layer_file
    from gridplan.geo.units import build_units

    path = shared_data / "tallahassee" / "tallahassee.gpkg"
    roads = read_layer_file(path, "roads")
    points = gpd.read_file(path, layer="block_points")
    points["households"] = points["HU100"].astype(float)
    points["residents"] = points["POP100"].astype(float)
    built = build_units(roads, points=points[["households", "residents", "geometry"]])
    units = tmp_path / "units.gpkg"
    built.units[["unit_id", "households", "residents", "geometry"]].to_file(units)
    road_file = tmp_path / "roads.gpkg"
    roads.to_file(road_file)
    out = tmp_path / "plan.gpkg"
    res = _partition(
        units,
        "--band",
        "1000",
        "3000",
        "--roads",
        str(road_file),
        "--out",
        str(out),
        "--format",
        "json",
        households="households",
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["valid"] and len(data["areas"]) >= 2
    shares = np.array([a["road_boundary_share"] for a in data["areas"]])
    assert (shares >= 0.99).all()
    total = sum(a["households"] for a in data["areas"])
    assert total == pytest.approx(built.units["households"].sum())
