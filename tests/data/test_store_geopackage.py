"""GeoPackage-store specifics: the file, its lock, copy-on-write and concurrent writers."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely import Point

from gridplan.data.layers import LayerKind
from gridplan.data.store.base import open_store
from gridplan.data.store.geopackage import STORE_VERSION, GeoPackageStore
from gridplan.errors import InputError, StoreError
from gridplan.plan import Plan


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _facilities(*ids: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"facility_id": list(ids), "kind": "service_centre", "name": "服务中心"},
        geometry=[Point(118.58 + i * 0.001, 24.8) for i in range(len(ids))],
        crs=4326,
    )


def test_initialise_creates_every_table_once(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "gridplan.gpkg"
    store = GeoPackageStore(path)
    store.initialise()
    layers = dict(pyogrio.list_layers(path))
    assert {"roads", "units", "areas", "findings"} <= set(layers)
    assert layers["areas"] == "MultiPolygon" and layers["roads"] == "Unknown"
    assert layers["plans"] is None and layers["assignments"] is None  # attribute tables
    with closing(sqlite3.connect(path)) as con:
        assert con.execute("SELECT value FROM gridplan_store").fetchall() == [(STORE_VERSION,)]
        indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"ux_roads_id", "ix_findings_plan_seq", "ux_assignments_plan_unit"} <= indexes
    digest = _digest(path)
    store.initialise()
    assert _digest(path) == digest


def test_open_store_on_a_gpkg_path(tmp_path: Path) -> None:
    with open_store(tmp_path / "x.gpkg") as store:
        assert isinstance(store, GeoPackageStore)
        assert store.count(LayerKind.ROADS) == 0
    with pytest.raises(InputError, match="expected a PostgreSQL URL"):
        open_store(tmp_path / "x.sqlite")


def test_a_foreign_geopackage_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "mydata.gpkg"
    pyogrio.write_dataframe(_facilities("a"), path, layer="roads")
    digest = _digest(path)
    with pytest.raises(StoreError, match="not a gridplan store"):
        GeoPackageStore(path).initialise()
    assert _digest(path) == digest


def test_missing_store_file(tmp_path: Path) -> None:
    store = GeoPackageStore(tmp_path / "none.gpkg")
    with pytest.raises(StoreError, match="initialise it first"):
        store.count(LayerKind.ROADS)
    with pytest.raises(StoreError, match="initialise it first"):
        store.import_layers({LayerKind.FACILITIES: _facilities("a")})
    assert not (tmp_path / "none.gpkg").exists()


def test_copies_left_by_a_dead_writer_are_removed(gpkg_store: GeoPackageStore) -> None:
    stale = gpkg_store.path.with_name(f".{gpkg_store.path.name}.deadbeef.tmp.gpkg")
    stale.write_bytes(b"half written")
    gpkg_store.import_layers({LayerKind.FACILITIES: _facilities("a")})
    assert not stale.exists()
    assert gpkg_store.count(LayerKind.FACILITIES) == 1


def test_concurrent_writers_are_serialised(gpkg_store: GeoPackageStore) -> None:
    """Four threads each save three plans and import one facility through their own store
    object: nothing is lost, every plan id is distinct and consecutive."""
    errors: list[BaseException] = []
    ids: list[int] = []
    empty = gpd.GeoDataFrame({"level": [], "area_id": []}, geometry=[], crs=4326)
    plan = Plan(
        "p", pd.DataFrame({"unit_id": ["u1"], "community_id": ["c"], "grid_id": [None]}), empty
    )

    def work(n: int) -> None:
        own = GeoPackageStore(gpkg_store.path)
        try:
            for _ in range(3):
                ids.append(own.save_plan(plan))
            own.import_layers({LayerKind.FACILITIES: _facilities(f"f{n}")})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(ids) == list(range(1, 13))
    assert [p.plan_id for p in gpkg_store.list_plans()] == list(range(1, 13))
    assert gpkg_store.read_layer(LayerKind.FACILITIES)["facility_id"].tolist() == [
        "f0",
        "f1",
        "f2",
        "f3",
    ]
    assert [r.import_id for r in gpkg_store.read_imports()] == [1, 2, 3, 4]


def test_latest_plan_id_is_one_indexed_lookup(
    gpkg_store: GeoPackageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``latest_plan_id`` runs one statement, answered from the unique plan-id index (no
    table scan, no plan rows read)."""
    from gridplan.data.store import geopackage

    statements: list[str] = []
    connect = geopackage._connect

    def traced(path: Path, **kwargs: float) -> sqlite3.Connection:
        con = connect(path, **kwargs)
        con.set_trace_callback(statements.append)
        return con

    monkeypatch.setattr(geopackage, "_connect", traced)
    assert gpkg_store.latest_plan_id() is None
    assert len(statements) == 1
    with closing(sqlite3.connect(gpkg_store.path)) as con:
        steps = con.execute(f"EXPLAIN QUERY PLAN {statements[0]}").fetchall()
    assert [row[-1] for row in steps] == ["SEARCH plans USING COVERING INDEX ux_plans_id"]
