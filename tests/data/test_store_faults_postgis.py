"""PostGIS store faults: a read-only database and a writer holding a table lock give one
line naming the store, after at most the lock timeout."""

from __future__ import annotations

import time
from urllib.parse import quote

import geopandas as gpd
import pytest
from shapely import Point
from sqlalchemy import create_engine, text

from gridplan.data.layers import LayerKind
from gridplan.data.store.postgis import PostGISStore
from gridplan.errors import StoreError

pytestmark = pytest.mark.postgis


def _facilities(*ids: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"facility_id": list(ids), "kind": "service_centre", "name": "服务中心"},
        geometry=[Point(118.58 + i * 0.001, 24.8) for i in range(len(ids))],
        crs=4326,
    )


def test_a_read_only_database(postgis_store: PostGISStore, postgis_url: str) -> None:
    postgis_store.import_layers({LayerKind.FACILITIES: _facilities("a")})
    sep = "&" if "?" in postgis_url else "?"
    url = f"{postgis_url}{sep}options={quote('-c default_transaction_read_only=on')}"
    store = PostGISStore(url, schema=postgis_store.schema)
    try:
        with pytest.raises(StoreError) as caught:
            store.import_layers({LayerKind.FACILITIES: _facilities("b")})
        message = str(caught.value)
        assert "\n" not in message
        assert "is read-only" in message and "cannot import" in message, message
        assert store.count(LayerKind.FACILITIES) == 1  # reads still work
    finally:
        store.close()


def test_a_writer_gives_up_on_a_held_lock(postgis_store: PostGISStore, postgis_url: str) -> None:
    store = PostGISStore(postgis_url, schema=postgis_store.schema, lock_timeout=0.3)
    holder = create_engine(postgis_url)
    try:
        with holder.begin() as conn:
            conn.execute(
                text(f'LOCK TABLE "{postgis_store.schema}"."imports" IN ACCESS EXCLUSIVE MODE')
            )
            started = time.monotonic()
            with pytest.raises(StoreError) as caught:
                store.import_layers({LayerKind.FACILITIES: _facilities("b")})
            waited = time.monotonic() - started
        message = str(caught.value)
        assert "\n" not in message
        assert "is locked by another writer (waited 0.3 s)" in message, message
        assert "cannot import" in message
        assert waited < 5
        store.import_layers({LayerKind.FACILITIES: _facilities("b")})
        assert store.count(LayerKind.FACILITIES) == 1
    finally:
        holder.dispose()
        store.close()


def test_concurrent_imports_of_the_same_ids(postgis_store: PostGISStore) -> None:
    """Two processes importing the same ids at once: one loads, the other gets the ordinary
    "already stored" message (it used to die on the primary key with a database error)."""
    import threading

    from gridplan.errors import InputError

    ids = [f"f{i}" for i in range(200)]
    results: list[object] = []
    barrier = threading.Barrier(2)

    def load() -> None:
        store = PostGISStore(postgis_store.url)
        try:
            barrier.wait()
            results.append(store.import_layers({LayerKind.FACILITIES: _facilities(*ids)}))
        except InputError as exc:
            results.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    errors = [r for r in results if isinstance(r, InputError)]
    assert len(results) == 2 and len(errors) == 1, results
    assert "facility_id(s) already stored" in str(errors[0])
    assert "nothing was loaded" in str(errors[0])
    assert postgis_store.count(LayerKind.FACILITIES) == 200
    assert len(postgis_store.read_imports()) == 1


def test_concurrent_plans_take_distinct_ids(postgis_store: PostGISStore) -> None:
    import threading

    from shapely import box

    from gridplan.plan import Plan, empty_assignments

    area = gpd.GeoDataFrame(
        {"level": ["community"], "area_id": ["C"], "households": [12.0]},
        geometry=[box(0, 0, 0.02, 0.01)],
        crs=4326,
    )
    got: list[int] = []
    barrier = threading.Barrier(4)

    def save() -> None:
        store = PostGISStore(postgis_store.url)
        try:
            barrier.wait()
            got.append(store.save_plan(Plan("p", empty_assignments(), area)))
        finally:
            store.close()

    threads = [threading.Thread(target=save) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(got) == [1, 2, 3, 4]
    assert [p.plan_id for p in postgis_store.list_plans()] == [1, 2, 3, 4]
