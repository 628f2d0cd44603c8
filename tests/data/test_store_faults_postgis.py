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
