"""The two stores behind the Store interface: round trips, parity, atomicity, append-only plans.

Every test taking ``store`` runs on the embedded GeoPackage store and on PostGIS (its own
schema, dropped afterwards). The fixture is a tiny hand-drawn subdistrict near Jinjiang
(118.58 E, 24.80 N), one grid step = 0.001 degree::

    y=2  +---------+---------+      outline o1: the whole 4 x 2 rectangle
         |  u1     |  u2     |      units u1..u4: the four 2 x 1 cells
         |  [b1]   |   *f1   |      roads: r1 (local, 青新路) along y=1,
    y=1  +====r1===+====r1===+             r2 (primary, two parts) along x=2
         |  u3     |  u4  ^c2|      buildings b1 (u1), b2 (u3): squares
         |  [b2] (c1)        |      compounds c1 (polygon 新世纪豪园, u3),
    y=0  +---------+---------+                c2 (point 银星花园, u4)
        x=0      x=2       x=4      facility f1 (point, u2)
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, MultiLineString, Point, Polygon, box
from sqlalchemy import text

from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.data.store.geopackage import GeoPackageStore
from gridplan.errors import (
    ConflictError,
    FeatureProblem,
    InputError,
    NotFoundError,
    StoreError,
)
from gridplan.plan import Plan

X0, Y0, STEP = 118.58, 24.80, 0.001


def _p(x: float, y: float) -> tuple[float, float]:
    return (X0 + x * STEP, Y0 + y * STEP)


def _box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return box(*_p(x0, y0), *_p(x1, y1))


def _layers() -> dict[LayerKind, gpd.GeoDataFrame]:
    """The hand-drawn layers (units given in Web Mercator to exercise reprojection)."""
    outline = gpd.GeoDataFrame(
        {"outline_id": ["o1"], "name": ["青阳街道"], "code": ["350582001"]},
        geometry=[_box(0, 0, 4, 2)],
        crs=4326,
    )
    roads = gpd.GeoDataFrame(
        {
            "road_id": ["r1", "r2"],
            "road_class": ["local", "primary"],
            "name": ["青新路", None],
            "TLID": [101, 102],
            "lanes": [2.5, None],
        },
        geometry=[
            LineString([_p(0, 1), _p(4, 1)]),
            MultiLineString([[_p(2, 0), _p(2, 1)], [_p(2, 1), _p(2, 2)]]),
        ],
        crs=4326,
    )
    buildings = gpd.GeoDataFrame(
        {
            "building_id": ["10", "9"],
            "levels": [6.0, np.nan],
            "use": ["residential", "apartments"],
            "name": ["市直机关宿舍楼", None],
            "households": [48.0, 12.0],
            "addr:street": ["青新路", None],
        },
        geometry=[_box(0.5, 1.2, 1.0, 1.7), _box(0.5, 0.2, 1.0, 0.7)],
        crs=4326,
    )
    compounds = gpd.GeoDataFrame(
        {
            "compound_id": ["c1", "c2"],
            "name": ["新世纪豪园", "银星花园"],
            "households": [300.0, np.nan],
            "residents": [900.0, 450.0],
            "kind": ["development", "staff_housing"],
        },
        geometry=[_box(1.0, 0.1, 1.9, 0.9), Point(_p(3.5, 0.5))],
        crs=4326,
    )
    facilities = gpd.GeoDataFrame(
        {"facility_id": ["f1"], "kind": ["service_centre"], "name": ["青新社区服务中心"]},
        geometry=[Point(_p(3.0, 1.5))],
        crs=4326,
    )
    units = gpd.GeoDataFrame(
        {
            "unit_id": ["u1", "u2", "u3", "u4"],
            "households": [48.0, 0.0, 312.0, 150.0],
            "residents": [120.0, 0.0, 930.0, 450.0],
        },
        geometry=[_box(0, 1, 2, 2), _box(2, 1, 4, 2), _box(0, 0, 2, 1), _box(2, 0, 4, 1)],
        crs=4326,
    ).to_crs(3857)
    return {
        LayerKind.OUTLINE: outline,
        LayerKind.ROADS: roads,
        LayerKind.BUILDINGS: buildings,
        LayerKind.COMPOUNDS: compounds,
        LayerKind.FACILITIES: facilities,
        LayerKind.UNITS: units,
    }


def _plan(name: str = "baseline", parent_id: int | None = None) -> Plan:
    """Two communities (west: u1+u3, east: u2+u4), west split into two grids."""
    assignments = pd.DataFrame(
        {
            "unit_id": ["u1", "u2", "u3", "u4"],
            "community_id": ["青新", "锦青", "青新", "锦青"],
            "grid_id": ["g1", None, "g2", None],
        }
    )
    areas = gpd.GeoDataFrame(
        {
            "level": ["community", "community", "grid", "grid"],
            "area_id": ["青新", "锦青", "g1", "g2"],
            "name": ["青新社区", "锦青社区", "网格1", "网格2"],
            "code": ["350582001004", "350582001005", "350582001004001", "350582001004002"],
            "parent_id": [None, None, "青新", "青新"],
            "households": [360.0, 150.0, 48.0, 312.0],
            "residents": [1050.0, 450.0, np.nan, 930.0],
            "parts": [1, 2, 1, 1],
        },
        geometry=[
            _box(0, 0, 2, 2),
            shapely.MultiPolygon([_box(2, 1, 4, 2), _box(2, 0, 4, 1).buffer(-STEP / 10)]),
            _box(0, 1, 2, 2),
            _box(0, 0, 2, 1),
        ],
        crs=4326,
    )
    return Plan(
        name=name,
        assignments=assignments,
        areas=areas,
        targets={"community": {"households": [1000, 3000]}, "grid": {"households": [300, 500]}},
        metrics={"communities": 2, "share": np.float64(0.5), "missing": float("nan")},
        parent_id=parent_id,
        source="test:hand-drawn",
    )


def _findings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "rule": ["size.under", "enclave.exclave", "roads.off_road"],
            "severity": ["error", "error", "warning"],
            "level": ["community", "community", "grid"],
            "area_id": ["青新", "锦青", "g1"],
            "value": [360.0, 2.0, np.nan],
            "message": ["青新 has 360 households (< 1000)", "锦青 is in 2 parts", "off road"],
        },
        geometry=[None, _box(2, 0, 4, 1), LineString([_p(0, 1.5), _p(2, 1.5)])],
        crs=4326,
    )


def _nones(values: pd.Series) -> list[Any]:
    return [None if pd.isna(v) else v for v in values]


def _geoms_equal(a: gpd.GeoSeries, b: gpd.GeoSeries, tol: float = 1e-9) -> bool:
    left, right = np.asarray(a.values, dtype=object), np.asarray(b.values, dtype=object)
    if len(left) != len(right):
        return False
    both_null = pd.isna(left) & pd.isna(right)
    same = shapely.equals_exact(left, right, tolerance=tol)
    return bool(np.all(both_null | same))


def _assert_frames_equal(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    """Same columns, dtypes and values; geometries equal within 1e-9 degrees."""
    assert list(a.columns) == list(b.columns)
    assert a.crs == b.crs
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
    )
    assert _geoms_equal(a.geometry, b.geometry)


# --------------------------------------------------------------------------- layers


def test_every_layer_kind_round_trips(store: Store) -> None:
    layers = _layers()
    result = store.import_layers(layers, source="hand-drawn.gpkg")
    assert result.loaded == {k.value: len(g) for k, g in layers.items()}
    for kind, original in layers.items():
        got = store.read_layer(kind)
        assert store.count(kind) == len(original)
        assert got.crs.to_epsg() == 4326
        expected = original.to_crs(4326)
        id_col = got.columns[0]
        ordered = expected.set_index(id_col).loc[got[id_col]].reset_index()
        for col in [c for c in original.columns if c != "geometry"]:
            left, right = got[col].tolist(), ordered[col].tolist()
            assert [None if pd.isna(v) else v for v in left] == [
                None if pd.isna(v) else v for v in right
            ], (kind, col)
        assert _geoms_equal(got.geometry, ordered.geometry), kind
        assert list(got.geometry.geom_type) == list(ordered.geometry.geom_type)


def test_read_layer_schema_order_and_extras(store: Store) -> None:
    store.import_layers(_layers())
    roads = store.read_layer(LayerKind.ROADS)
    assert list(roads.columns) == ["road_id", "road_class", "name", "TLID", "lanes", "geometry"]
    assert roads["road_id"].dtype == object and roads["name"].dtype == object
    assert roads["name"].tolist() == ["青新路", None]
    assert roads["TLID"].tolist() == [101, 102]
    buildings = store.read_layer(LayerKind.BUILDINGS)
    # numeric ids sort numerically: "9" before "10"
    assert buildings["building_id"].tolist() == ["9", "10"]
    assert buildings["addr:street"].tolist() == [None, "青新路"]
    assert np.isnan(buildings["levels"].iloc[0]) and buildings["levels"].iloc[1] == 6.0


def test_extra_columns_of_every_dtype(store: Store) -> None:
    """Extras are kept as JSON: ints stay ints, floats floats (NaN -> missing), booleans,
    text (Chinese intact), timestamps as ISO text, infinities as text, lists as lists."""
    facilities = gpd.GeoDataFrame(
        {
            "facility_id": ["f1", "f2"],
            "kind": ["school", "clinic"],
            "name": ["青阳中心小学", None],
            "beds": pd.array([40, None], dtype="Int64"),
            "staff": np.array([12, 30], dtype=np.int32),
            "open": [True, False],
            "area_m2": [1234.5, np.nan],
            "ratio": [float("inf"), 0.25],
            "opened": pd.to_datetime(["2020-09-01", "2021-03-15"]),
            "note": ["社区", None],
            "tags": [["a", "b"], None],
        },
        geometry=[Point(_p(1, 1)), Point(_p(3, 1))],
        crs=4326,
    )
    store.import_layers({LayerKind.FACILITIES: facilities})
    got = store.read_layer(LayerKind.FACILITIES)
    assert list(got.columns) == [
        "facility_id",
        "kind",
        "name",
        "area_m2",
        "beds",
        "note",
        "open",
        "opened",
        "ratio",
        "staff",
        "tags",
        "geometry",
    ]
    assert got["name"].tolist() == ["青阳中心小学", None]
    assert got["beds"].tolist()[0] == 40.0 and np.isnan(got["beds"].iloc[1])
    assert got["staff"].dtype == np.int64 and got["staff"].tolist() == [12, 30]
    assert got["open"].dtype == bool and got["open"].tolist() == [True, False]
    assert got["area_m2"].iloc[0] == 1234.5 and np.isnan(got["area_m2"].iloc[1])
    assert got["ratio"].tolist() == ["inf", 0.25]
    assert got["opened"].tolist() == ["2020-09-01T00:00:00", "2021-03-15T00:00:00"]
    assert got["note"].tolist() == ["社区", None]
    assert got["tags"].tolist() == [["a", "b"], None]


def test_bbox_keeps_features_that_intersect(store: Store) -> None:
    """The box x in [2.5, 3.5], y in [0.2, 0.8] lies inside u4: it meets u4, c2 (the point
    at 3.5, 0.5 on its edge) and the outline, nothing else; r2 runs along x=2 outside it."""
    store.import_layers(_layers())
    bbox = (*_p(2.5, 0.2), *_p(3.5, 0.8))
    assert store.read_layer(LayerKind.UNITS, bbox=bbox)["unit_id"].tolist() == ["u4"]
    assert store.read_layer(LayerKind.COMPOUNDS, bbox=bbox)["compound_id"].tolist() == ["c2"]
    assert store.read_layer(LayerKind.ROADS, bbox=bbox).empty
    assert len(store.read_layer(LayerKind.OUTLINE, bbox=bbox)) == 1
    # a box across the horizontal road meets r1 only (r2 is at x=2)
    across = (*_p(0.2, 0.9), *_p(0.4, 1.1))
    assert store.read_layer(LayerKind.ROADS, bbox=across)["road_id"].tolist() == ["r1"]
    with pytest.raises(InputError, match="bbox"):
        store.read_layer(LayerKind.ROADS, bbox=(1.0, 1.0, 0.0, 0.0))


def test_empty_layer_reads_with_schema_columns(store: Store) -> None:
    roads = store.read_layer(LayerKind.ROADS)
    assert roads.empty and list(roads.columns) == ["road_id", "road_class", "name", "geometry"]
    assert roads.crs.to_epsg() == 4326
    assert store.count(LayerKind.FACILITIES) == 0


def test_duplicate_ids_are_refused_unless_replace(store: Store) -> None:
    layers = _layers()
    store.import_layers({LayerKind.ROADS: layers[LayerKind.ROADS]})
    again = {
        LayerKind.BUILDINGS: layers[LayerKind.BUILDINGS],
        LayerKind.ROADS: layers[LayerKind.ROADS].iloc[[1]],
    }
    with pytest.raises(InputError, match=r"roads: 1 road_id\(s\) already stored: 'r2'"):
        store.import_layers(again)
    assert store.count(LayerKind.BUILDINGS) == 0  # the whole import was refused
    assert len(store.read_imports()) == 1
    result = store.import_layers(again, replace=True)
    assert store.read_layer(LayerKind.ROADS)["road_id"].tolist() == ["r2"]
    assert store.count(LayerKind.BUILDINGS) == 2
    assert result.import_id == 2  # ids are gap-free: the refused import took none


def test_ids_repeated_within_an_import_are_refused(store: Store) -> None:
    roads = _layers()[LayerKind.ROADS]
    twice = pd.concat([roads, roads.iloc[[0]]], ignore_index=True)
    with pytest.raises(InputError, match="duplicate road_id 'r1'"):
        store.import_layers({LayerKind.ROADS: twice})
    assert store.count(LayerKind.ROADS) == 0


def test_features_without_geometry_are_refused(store: Store) -> None:
    roads = _layers()[LayerKind.ROADS]
    roads.loc[1, "geometry"] = None
    with pytest.raises(InputError, match="missing or empty geometry for 'r2'"):
        store.import_layers({LayerKind.ROADS: roads})
    assert store.count(LayerKind.ROADS) == 0


def test_large_imports_are_checked_and_written_in_batches(store: Store) -> None:
    """2,500 points: more than one insert / id-check batch in either store."""
    n = 2500
    points = gpd.GeoDataFrame(
        {"facility_id": [str(i) for i in range(n)], "kind": "bench", "name": None},
        geometry=gpd.points_from_xy(X0 + np.arange(n) * 1e-5, np.full(n, Y0)),
        crs=4326,
    )
    assert store.import_layers({LayerKind.FACILITIES: points}).loaded == {"facilities": n}
    got = store.read_layer(LayerKind.FACILITIES)
    assert got["facility_id"].tolist() == [str(i) for i in range(n)]
    with pytest.raises(
        InputError,
        match=r"2500 facility_id\(s\) already stored: '0', '1'.*"
        r"\(and 2490 more\)",
    ):
        store.import_layers({LayerKind.FACILITIES: points})
    assert store.count(LayerKind.FACILITIES) == n


def test_areas_are_not_a_layer(store: Store) -> None:
    areas = _plan().areas
    with pytest.raises(InputError, match="stored as a plan"):
        store.import_layers({LayerKind.AREAS: areas})


def test_imports_record_source_loaded_and_skipped(store: Store) -> None:
    skipped = [FeatureProblem("buildings", "b7", "invalid geometry (Self-intersection)")]
    layers = _layers()
    first = store.import_layers(
        {LayerKind.BUILDINGS: layers[LayerKind.BUILDINGS]}, source="楼.gpkg", skipped=skipped
    )
    store.import_layers({LayerKind.ROADS: layers[LayerKind.ROADS]}, source="roads.shp")
    records = store.read_imports()
    assert [r.import_id for r in records] == [first.import_id, first.import_id + 1]
    assert records[0].source == "楼.gpkg" and records[0].loaded == {"buildings": 2}
    assert list(records[0].skipped) == skipped
    assert records[1].loaded == {"roads": 2} and list(records[1].skipped) == []
    assert records[0].created_at is not None and records[0].created_at.tzinfo is not None


# --------------------------------------------------------------------------- plans


def test_plan_round_trip(store: Store) -> None:
    plan = _plan()
    plan_id = store.save_plan(plan, _findings())
    loaded = store.load_plan(plan_id)
    assert loaded.plan_id == plan_id and loaded.name == "baseline"
    assert loaded.source == "test:hand-drawn" and loaded.parent_id is None
    assert loaded.targets == plan.targets
    assert loaded.metrics == {"communities": 2, "share": 0.5, "missing": None}
    assert list(loaded.assignments.columns) == ["unit_id", "community_id", "grid_id"]
    for col in loaded.assignments.columns:
        assert loaded.assignments[col].dtype == object
        assert loaded.assignments[col].tolist() == _nones(plan.assignments[col])
    areas = loaded.areas
    assert list(areas.columns) == [*plan.areas.columns]
    assert set(areas.geometry.geom_type) == {"MultiPolygon"}
    assert shapely.equals(
        np.asarray(areas.geometry.values), np.asarray(plan.areas.geometry.values)
    ).all()
    assert areas["name"].tolist() == ["青新社区", "锦青社区", "网格1", "网格2"]
    assert areas["parent_id"].tolist() == [None, None, "青新", "青新"]
    assert areas["parts"].tolist() == [1, 2, 1, 1]
    assert np.isnan(areas["residents"].iloc[2])
    found = store.read_findings(plan_id)
    expected = _findings()
    assert found.columns.tolist() == [*expected.columns]
    assert found["rule"].tolist() == expected["rule"].tolist()
    assert found["message"].tolist() == expected["message"].tolist()
    assert _geoms_equal(found.geometry, expected.geometry)
    info = store.list_plans()
    assert [p.plan_id for p in info] == [plan_id] and info[0].created_at == loaded.created_at


def test_plans_are_append_only(store: Store) -> None:
    first = store.save_plan(_plan("baseline"))
    second = store.save_plan(_plan("scenario A", parent_id=first))
    third = store.save_plan(_plan("scenario B", parent_id=second))
    assert (first, second, third) == (1, 2, 3)
    chain = {p.plan_id: p.parent_id for p in store.list_plans()}
    assert chain == {1: None, 2: 1, 3: 2}
    latest = store.load_plan()
    assert latest.plan_id == 3 and latest.name == "scenario B"
    with pytest.raises(ConflictError, match="never overwritten"):
        store.save_plan(latest)
    with pytest.raises(NotFoundError, match="parent plan 99 not found"):
        store.save_plan(_plan("orphan", parent_id=99))
    assert [p.name for p in store.list_plans()] == ["baseline", "scenario A", "scenario B"]
    assert store.load_plan(1).name == "baseline"  # the original is untouched


def test_latest_plan_id(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """``None`` on an empty store, then the newest id, without loading or listing plans."""
    for name in ("list_plans", "load_plan", "read_findings"):
        monkeypatch.setattr(store, name, _refuse(name))
    assert store.latest_plan_id() is None
    first = store.save_plan(_plan("baseline"), _findings())
    assert store.latest_plan_id() == first
    second = store.save_plan(_plan("scenario A", parent_id=first))
    assert store.latest_plan_id() == second == first + 1
    with pytest.raises(NotFoundError):  # a refused save uses no id
        store.save_plan(_plan("orphan", parent_id=99))
    assert store.latest_plan_id() == second


def test_latest_import_id(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """``None`` before any import, then the newest id, without reading import records."""
    monkeypatch.setattr(store, "read_imports", _refuse("read_imports"))
    assert store.latest_import_id() is None
    roads = _layers()[LayerKind.ROADS]
    first = store.import_layers({LayerKind.ROADS: roads}, source="first").import_id
    assert store.latest_import_id() == first
    second = store.import_layers({LayerKind.ROADS: roads}, source="again", replace=True)
    assert store.latest_import_id() == second.import_id > first


def _refuse(name: str) -> Any:
    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"latest_plan_id must not call {name}")

    return refused


def test_unknown_plans(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no plan is stored"):
        store.load_plan()
    with pytest.raises(NotFoundError, match="plan 5 not found"):
        store.load_plan(5)
    with pytest.raises(NotFoundError, match="plan 5 not found"):
        store.read_findings(5)
    with pytest.raises(NotFoundError, match="plan 5 not found"):
        store.save_findings(5, _findings())


def test_save_findings_replaces_only_that_plans(store: Store) -> None:
    a = store.save_plan(_plan("a"), _findings())
    b = store.save_plan(_plan("b"), _findings())
    store.save_findings(a, _findings().iloc[[2]])
    assert store.read_findings(a)["rule"].tolist() == ["roads.off_road"]
    assert len(store.read_findings(b)) == 3
    store.save_findings(b, _findings().iloc[:0])
    assert store.read_findings(b).empty


def test_plan_with_bad_rows_is_refused(store: Store) -> None:
    plan = _plan()
    twice = pd.concat([plan.assignments, plan.assignments.iloc[[0]]], ignore_index=True)
    with pytest.raises(InputError, match="u1"):
        store.save_plan(Plan("bad", twice, plan.areas))
    assert store.list_plans() == []


# --------------------------------------------------------------------------- atomicity


def _snapshot(store: Store) -> dict[str, Any]:
    state: dict[str, Any] = {kind.value: store.read_layer(kind) for kind in _layers()}
    state["imports"] = [(r.import_id, dict(r.loaded)) for r in store.read_imports()]
    state["plans"] = [p.plan_id for p in store.list_plans()]
    return state


def _assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert before["imports"] == after["imports"]
    assert before["plans"] == after["plans"]
    for kind in _layers():
        _assert_frames_equal(before[kind.value], after[kind.value])


def test_failure_mid_import_changes_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second layer write fails after the first was written inside the transaction."""
    layers = _layers()
    store.import_layers({LayerKind.OUTLINE: layers[LayerKind.OUTLINE]})
    before = _snapshot(store)
    digest = _file_digest(store)
    real = store._write_layer  # type: ignore[attr-defined]
    calls: list[LayerKind] = []

    def fail_on_second(*args: Any) -> None:
        kind = next(a for a in args if isinstance(a, LayerKind))
        calls.append(kind)
        if len(calls) == 2:
            raise OSError("disk full (injected)")
        real(*args)

    monkeypatch.setattr(store, "_write_layer", fail_on_second)
    rest = {k: g for k, g in layers.items() if k != LayerKind.OUTLINE}
    with pytest.raises(Exception, match="injected"):
        store.import_layers(rest, source="doomed")
    assert calls == [LayerKind.ROADS, LayerKind.BUILDINGS]
    monkeypatch.undo()
    _assert_unchanged(before, _snapshot(store))
    assert _file_digest(store) == digest
    # and the store still works: the same import now succeeds with the next import id
    assert store.import_layers(rest).import_id == 2


def _database_refuses(store: Store, table: str, column: str, bad: str) -> None:
    """Add a real database-side rule refusing rows where ``column > bad`` (PostgreSQL CHECK
    constraint, SQLite trigger): the database, not gridplan, makes the write fail."""
    if isinstance(store, GeoPackageStore):
        with closing(sqlite3.connect(store.path)) as con, con:
            con.execute(
                f"CREATE TRIGGER refused BEFORE INSERT ON {table} WHEN NEW.{column} > {bad} "
                "BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"
            )
    else:
        schema = store.schema  # type: ignore[attr-defined]
        with store._engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(
                text(
                    f'ALTER TABLE "{schema}".{table} '
                    f"ADD CONSTRAINT refused CHECK ({column} IS NULL OR {column} <= {bad})"
                )
            )


def test_database_error_mid_import_rolls_back(store: Store) -> None:
    """The database itself refuses the second layer after the first was written."""
    layers = _layers()
    store.import_layers({LayerKind.UNITS: layers[LayerKind.UNITS]})
    _database_refuses(store, "buildings", "levels", "100")
    before = _snapshot(store)
    digest = _file_digest(store)
    tall = layers[LayerKind.BUILDINGS].assign(levels=[6.0, 120.0])
    with pytest.raises(StoreError, match="refused"):
        store.import_layers({LayerKind.ROADS: layers[LayerKind.ROADS], LayerKind.BUILDINGS: tall})
    _assert_unchanged(before, _snapshot(store))
    assert _file_digest(store) == digest
    if isinstance(store, GeoPackageStore):
        assert not list(store.path.parent.glob("*.tmp.gpkg*"))


def test_database_error_mid_plan_rolls_back(store: Store) -> None:
    """The plan header, assignments and areas are written, then the findings are refused."""
    first = store.save_plan(_plan(), _findings())
    _database_refuses(store, "findings", "value", "1000")
    before = _snapshot(store)
    digest = _file_digest(store)
    bad = _findings().assign(value=[1.0, 5000.0, np.nan])
    with pytest.raises(StoreError, match="refused"):
        store.save_plan(_plan("doomed", parent_id=first), bad)
    with pytest.raises(StoreError, match="refused"):
        store.save_findings(first, bad)
    _assert_unchanged(before, _snapshot(store))
    assert _file_digest(store) == digest
    assert len(store.read_findings(first)) == 3
    assert store.save_plan(_plan("next", parent_id=first)) == first + 1


def test_refused_last_layer_loads_nothing(store: Store) -> None:
    layers = _layers()
    store.import_layers({LayerKind.UNITS: layers[LayerKind.UNITS]})
    before = _snapshot(store)
    with pytest.raises(InputError, match="unit_id"):
        store.import_layers(
            {
                LayerKind.ROADS: layers[LayerKind.ROADS],
                LayerKind.BUILDINGS: layers[LayerKind.BUILDINGS],
                LayerKind.UNITS: layers[LayerKind.UNITS].iloc[[2]],
            }
        )
    _assert_unchanged(before, _snapshot(store))


def _file_digest(store: Store) -> str | None:
    if isinstance(store, GeoPackageStore):
        return hashlib.sha256(Path(store.path).read_bytes()).hexdigest()
    return None


# --------------------------------------------------------------------------- parity


@pytest.mark.postgis
def test_both_stores_give_identical_results(gpkg_store: Store, postgis_store: Store) -> None:
    results = []
    for store in (gpkg_store, postgis_store):
        store.import_layers(_layers(), source="hand-drawn")
        first = store.save_plan(_plan(), _findings())
        store.save_plan(_plan("child", parent_id=first))
        results.append(store)
    g, p = results
    for kind in _layers():
        _assert_frames_equal(g.read_layer(kind), p.read_layer(kind))
        assert g.count(kind) == p.count(kind)
        bbox = (*_p(0.9, 0.4), *_p(2.1, 1.6))
        _assert_frames_equal(g.read_layer(kind, bbox=bbox), p.read_layer(kind, bbox=bbox))
    for plan_id in (1, 2):
        gp, pp = g.load_plan(plan_id), p.load_plan(plan_id)
        pd.testing.assert_frame_equal(gp.assignments, pp.assignments)
        _assert_frames_equal(gp.areas, pp.areas)
        assert (gp.name, gp.parent_id, gp.targets, gp.metrics, gp.source) == (
            pp.name,
            pp.parent_id,
            pp.targets,
            pp.metrics,
            pp.source,
        )
        _assert_frames_equal(g.read_findings(plan_id), p.read_findings(plan_id))
    assert [(i.plan_id, i.parent_id, i.name) for i in g.list_plans()] == [
        (i.plan_id, i.parent_id, i.name) for i in p.list_plans()
    ]
    assert [(r.import_id, dict(r.loaded), r.source) for r in g.read_imports()] == [
        (r.import_id, dict(r.loaded), r.source) for r in p.read_imports()
    ]
