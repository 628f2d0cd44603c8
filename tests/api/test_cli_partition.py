"""``gridplan partition`` through Typer's CliRunner, on hand-drawn and real units."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import Result
from shapely import box
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.data.layers import LayerKind, normalise
from gridplan.data.store.base import open_store

runner = CliRunner()

#: Keys of the JSON summary (files and store alike).
SUMMARY_KEYS = {
    "valid",
    "reason",
    "plan_id",
    "areas",
    "households_moved",
    "findings",
    "notes",
    "seconds",
    "source",
    "out",
}
#: Columns of the ``communities`` layer ``--out`` writes.
COMMUNITY_COLUMNS = {
    "area_id",
    "code",
    "name",
    "parent_id",
    "parent_code",
    "households",
    "residents",
    "measure",
    "band_lo",
    "band_hi",
    "status",
    "findings",
    "rules",
}


def _partition(units: Path, *options: str, households: str | None = "hh") -> Result:
    """``gridplan partition --units UNITS [--households-field HOUSEHOLDS] OPTIONS...``."""
    field = ["--households-field", households] if households else []
    return runner.invoke(app, ["partition", "--units", str(units), *field, *options])


def _squares(
    tmp_path: Path,
    households: list[float],
    cols: int = 4,
    *,
    id_column: str = "unit_id",
    households_column: str = "hh",
) -> Path:
    """Unit squares of 100 m in rows of ``cols`` (UTM 50N), ids a, b, c, ...; column
    ``community`` says west (the two left columns) or east::

        a b c d
        e f g h
    """
    geoms = [
        box((i % cols) * 100, -(i // cols) * 100, (i % cols + 1) * 100, -(i // cols - 1) * 100)
        for i in range(len(households))
    ]
    gdf = gpd.GeoDataFrame(
        {
            id_column: [chr(ord("a") + i) for i in range(len(households))],
            households_column: households,
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


def _read(path: Path) -> pd.DataFrame:
    """A file partition wrote, in any of its formats."""
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"code": str, "community_code": str, "area_id": str})
    if path.suffix == ".parquet":
        return gpd.read_parquet(path)
    return gpd.read_file(path)


def test_partition_json_contract(tmp_path: Path) -> None:
    """Eight units of 1 household, two communities of exactly 4: the summary, the
    ``communities`` layer and the ``units`` layer (the user's columns under their names)."""
    units = _squares(tmp_path, [1.0] * 8, id_column="GEOID10")
    out = tmp_path / "plan.gpkg"
    res = _partition(
        units,
        "--unit-id-field",
        "GEOID10",
        "--band",
        "4",
        "4",
        "--k",
        "2",
        "--out",
        str(out),
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == SUMMARY_KEYS
    assert data["valid"] is True and data["reason"] is None and data["households_moved"] is None
    assert data["plan_id"] is None  # files in, files out: nothing stored
    assert data["source"] == str(units)
    assert data["out"] == [str(out)]
    assert data["findings"] == {"community": {}}
    keys = {"district", "code", "households", "residents", "measure", "units", "blocks"}
    assert [set(a) for a in data["areas"]] == [keys | {"road_boundary_share"}] * 2
    # units counts the units each community holds (here one block each is one unit)
    assert sum(a["units"] for a in data["areas"]) == len(gpd.read_file(units))
    assert sorted(a["code"] for a in data["areas"]) == ["001", "002"]
    assert sorted(a["households"] for a in data["areas"]) == [4.0, 4.0]

    assert [str(n) for n, _ in pyogrio.list_layers(out)] == ["communities", "units"]
    communities = gpd.read_file(out, layer="communities")
    assert set(communities.columns) >= COMMUNITY_COLUMNS
    assert communities.to_crs(32650).area.tolist() == pytest.approx([40000.0] * 2, rel=1e-6)
    assert sorted(communities["code"]) == ["001", "002"]
    by_code = communities.set_index("code")
    assert by_code.loc["001", "name"] == "C001" and by_code.loc["002", "name"] == "C002"
    assert communities["households"].tolist() == [4.0, 4.0]
    assert (communities["status"] == "in band").all()
    assert (communities["measure"] == "households").all()
    assert (communities["band_lo"] == 4.0).all() and (communities["band_hi"] == 4.0).all()
    assert (communities["findings"] == 0).all()
    assert communities["parent_id"].isna().all() and communities["parent_code"].isna().all()
    assert sorted(a["district"] for a in data["areas"]) == sorted(communities["area_id"])

    written = gpd.read_file(out, layer="units")
    assert len(written) == 8
    assert {"GEOID10", "hh", "community", "community_id", "community_code"} <= set(written.columns)
    assert not {"district", "unit_id", "households"} & set(written.columns)
    assert sorted(written["GEOID10"]) == list("abcdefgh")
    code_of = dict(zip(communities["area_id"], communities["code"], strict=True))
    assert (written["community_code"] == written["community_id"].map(code_of)).all()
    totals = written.groupby("community_id")["hh"].sum()
    assert totals.to_dict() == dict(
        zip(communities["area_id"], communities["households"], strict=True)
    )


def test_partition_codes_in_reading_order(tmp_path: Path) -> None:
    """Three communities in one row of six units: codes run west to east::

    a b | c d | e f      band 2–2, k 3  ->  001 (a b), 002 (c d), 003 (e f)
    """
    units = _squares(tmp_path, [1.0] * 6, cols=6)
    out = tmp_path / "plan.gpkg"
    res = _partition(units, "--band", "2", "2", "--k", "3", "--out", str(out), "--format", "json")
    assert res.exit_code == 0, res.output
    written = gpd.read_file(out, layer="units").set_index("unit_id")
    assert written["community_code"].to_dict() == {
        "a": "001",
        "b": "001",
        "c": "002",
        "d": "002",
        "e": "003",
        "f": "003",
    }
    communities = gpd.read_file(out, layer="communities").set_index("code")
    assert communities["name"].to_dict() == {"001": "C001", "002": "C002", "003": "C003"}


def test_partition_codes_north_row_first(tmp_path: Path) -> None:
    """Two rows of four: with k 2 and a band of 4 the rows or the halves are communities;
    either way 001 is the north-west one and the codes follow the units' reading order."""
    units = _squares(tmp_path, [1.0] * 8)
    out = tmp_path / "plan.gpkg"
    res = _partition(units, "--band", "4", "4", "--k", "2", "--out", str(out))
    assert res.exit_code == 0, res.output
    written = gpd.read_file(out, layer="units").set_index("unit_id")
    assert written.loc["a", "community_code"] == "001"  # the north-west corner
    assert written.loc["h", "community_code"] == "002"  # the south-east corner


def test_partition_baseline_keeps_names(tmp_path: Path) -> None:
    """A baseline west/east split already in band: nothing moves, the west community is
    001 and the east 002, and each unit's ``community_id`` is its baseline community."""
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
    assert {a["district"]: a["code"] for a in data["areas"]} == {"west": "001", "east": "002"}
    units_out = tmp_path / "plan-units.geojson"
    assert data["out"] == [str(out), str(units_out)]
    written = gpd.read_file(units_out)
    assert "district" not in written.columns
    assert (written["community_id"] == written["community"]).all()
    assert (
        written["community_code"] == written["community"].map({"west": "001", "east": "002"})
    ).all()
    communities = gpd.read_file(out)
    assert sorted(communities["area_id"]) == ["east", "west"]


# Shapefile field names hold 10 characters: gridplan's longer columns are shortened.
_SHP = {"community_id": "comm_id", "community_code": "comm_code"}


@pytest.mark.parametrize("suffix", [".geojson", ".shp", ".parquet", ".csv"])
def test_partition_single_layer_formats_write_units_beside(tmp_path: Path, suffix: str) -> None:
    """A single-layer format holds the communities; the units go to ``X-units.<suffix>``."""
    units = _squares(tmp_path, [150.0] * 8)
    out = tmp_path / f"plan{suffix}"
    res = _partition(units, "--band", "500", "700", "--out", str(out), "--format", "json")
    assert res.exit_code == 0, res.output
    units_out = tmp_path / f"plan-units{suffix}"
    assert json.loads(res.stdout)["out"] == [str(out), str(units_out)]
    communities = _read(out)
    assert sorted(communities["code"]) == ["001", "002"]
    assert communities["households"].sum() == 1200.0
    assert set(communities["status"]) == {"in band"}
    written = _read(units_out)
    names = _SHP if suffix == ".shp" else {}
    cid, ccode = (names.get(c, c) for c in ("community_id", "community_code"))
    assert len(written) == 8 and {"unit_id", "hh", cid, ccode} <= set(written.columns)
    assert written.groupby(cid)["hh"].sum().tolist() == [600.0, 600.0]
    if suffix == ".shp":
        assert out.with_suffix(".cpg").read_text().strip() == "UTF-8"


def test_partition_households_field_is_optional(tmp_path: Path) -> None:
    """Units whose count column is called ``households`` need no --households-field; the
    column comes back under that name."""
    units = _squares(tmp_path, [1.0] * 8, households_column="households")
    out = tmp_path / "plan.gpkg"
    res = _partition(
        units, "--band", "4", "4", "--k", "2", "--out", str(out), "--format", "json",
        households=None,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert sorted(a["households"] for a in json.loads(res.stdout)["areas"]) == [4.0, 4.0]
    written = gpd.read_file(out, layer="units")
    assert written["households"].sum() == 8.0
    assert gpd.read_file(out, layer="communities")["households"].tolist() == [4.0, 4.0]


def test_partition_infeasible_says_why(tmp_path: Path) -> None:
    units = _squares(tmp_path, [1, 1, 9, 1, 1, 1, 1, 1])
    for out in (tmp_path / "plan.gpkg", tmp_path / "plan.geojson"):
        res = _partition(
            units, "--band", "2", "5", "--strict", "--out", str(out), "--format", "json"
        )
        assert res.exit_code == 1
        data = json.loads(res.stdout)
        assert data["valid"] is False and "unit c holds 9" in data["reason"]
        assert data["areas"] == [] and data["out"] == [] and data["plan_id"] is None
        assert data["findings"] == {}
        assert not out.exists()
    assert not (tmp_path / "plan-units.geojson").exists()
    table = _partition(units, "--band", "2", "5", "--strict", "--out", str(tmp_path / "plan.gpkg"))
    assert table.exit_code == 1 and "unit c holds 9" in table.output
    assert not (tmp_path / "plan.gpkg").exists()


def test_a_unit_above_the_ceiling_becomes_its_own_community_explained(tmp_path: Path) -> None:
    """Without --strict a unit that alone exceeds the ceiling (and cannot be cut) is a
    community of its own, explained, and every other community lies in the band::

        a b [c] d e f g h      c holds 9, the band is 2-5
    """
    units = _squares(tmp_path, [1, 1, 9, 1, 1, 1, 1, 1])
    out = tmp_path / "plan.gpkg"
    res = _partition(units, "--band", "2", "5", "--out", str(out), "--format", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["valid"] is True
    (note,) = data["notes"]
    assert "c alone holds 9" in note and "community X1 of its own" in note
    alone = [a for a in data["areas"] if a["district"] == "X1"]
    assert [a["households"] for a in alone] == [9.0]
    others = [a for a in data["areas"] if a["district"] != "X1"]
    assert others and all(2 <= a["households"] <= 5 for a in others)
    assert sum(a["households"] for a in data["areas"]) == 16.0


def test_partition_bad_input(tmp_path: Path) -> None:
    units = _squares(tmp_path, [1.0] * 8)
    res = _partition(
        units, "--band", "4", "4", "--out", str(tmp_path / "x.gpkg"), households="nope"
    )
    assert res.exit_code == 2
    assert "nope" in res.output
    res = _partition(units, "--band", "5", "4", "--out", str(tmp_path / "x.gpkg"))
    assert res.exit_code == 2 and "--band" in res.output
    res = _partition(units, "--band", "4", "4", "--out", str(tmp_path / "x.txt"))
    assert res.exit_code == 2 and ".gpkg" in res.stderr
    res = _partition(units, "--band", "4", "4")  # files in need a file out
    assert res.exit_code == 2 and "--out" in res.stderr
    res = _partition(units, "--band", "4", "4", "--plan", "1", "--out", str(tmp_path / "x.gpkg"))
    assert res.exit_code == 2 and "--plan" in res.stderr
    assert not (tmp_path / "x.gpkg").exists()


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


def _store_with_units(tmp_path: Path, households: list[float]) -> Path:
    """A GeoPackage store holding the :func:`_squares` units (and nothing else)."""
    units = gpd.read_file(_squares(tmp_path, households))
    layer = normalise(LayerKind.UNITS, units, fields={"households": "hh"})
    db = tmp_path / "store.gpkg"
    with open_store(db) as store:
        store.import_layers({LayerKind.UNITS: layer}, source="squares")
    return db


def test_partition_on_the_store_stores_a_plan(tmp_path: Path) -> None:
    """Without --units: the store's units become a stored, checked community plan;
    --plan re-districts it (the parent) with nothing moved and the names kept."""
    db = _store_with_units(tmp_path, [150.0] * 8)
    out = tmp_path / "plan.gpkg"
    res = runner.invoke(
        app,
        ["partition", "--db", str(db), "--band", "500", "700", "--out", str(out),
         "--format", "json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == SUMMARY_KEYS
    assert data["source"] == str(db) and data["out"] == [str(out)]
    plan_id = data["plan_id"]
    assert isinstance(plan_id, int)
    with open_store(db, create=False) as store:
        plan = store.load_plan(plan_id)
    communities = plan.areas_at("community")
    assert sorted(communities["code"]) == ["001", "002"]
    assert sorted(communities["name"]) == ["C001", "C002"]
    assert communities["households"].sum() == 1200.0
    assert len(plan.assignments) == 8
    assert plan.targets["community"] == {"households": [500.0, 700.0]}
    written = gpd.read_file(out, layer="communities")
    assert sorted(written["code"]) == ["001", "002"]
    assert gpd.read_file(out, layer="units")["households"].sum() == 1200.0

    again = runner.invoke(
        app,
        ["partition", "--db", str(db), "--band", "500", "700", "--plan", str(plan_id),
         "--format", "json"],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    redo = json.loads(again.stdout)
    assert redo["plan_id"] not in (None, plan_id) and redo["households_moved"] == 0
    assert redo["out"] == []
    with open_store(db, create=False) as store:
        child = store.load_plan(redo["plan_id"])
    assert child.parent_id == plan_id
    kept = child.areas_at("community").set_index("area_id")["name"].to_dict()
    assert kept == communities.set_index("area_id")["name"].to_dict()


def test_partition_on_the_store_without_a_plan_stores_nothing(tmp_path: Path) -> None:
    db = _store_with_units(tmp_path, [1, 1, 9, 1, 1, 1, 1, 1])
    res = runner.invoke(
        app, ["partition", "--db", str(db), "--band", "2", "5", "--strict", "--format", "json"]
    )
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data["valid"] is False and data["plan_id"] is None
    with open_store(db, create=False) as store:
        assert store.list_plans() == []


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
    assert sorted(a["code"] for a in data["areas"]) == [f"{i:03d}" for i in range(1, 40)]
    written = gpd.read_file(out, layer="units")
    assert "GEOID10" in written.columns and "unit_id" not in written.columns
    assert sorted(written["GEOID10"]) == sorted(blocks["GEOID10"])
    assert written["community_id"].nunique() == 39 and written["community_id"].notna().all()
    assert written["community_code"].nunique() == 39
    communities = gpd.read_file(out, layer="communities")
    assert len(communities) == 39 and (communities["status"] == "in band").all()
    assert communities["households"].sum() == pytest.approx(blocks["households"].sum())


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
