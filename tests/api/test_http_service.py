"""The service as a whole: the error mapping, health, an unreachable database, CORS, the
GeoPackage store, and the ``serve`` command's bad input."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gridplan.api.app import create_app
from gridplan.api.cli import app as cli_app
from gridplan.api.errors import error_body, status_for
from gridplan.api.service import Service
from gridplan.data.layers import LayerKind
from gridplan.errors import (
    AuthError,
    ConflictError,
    CRSError,
    FeatureProblem,
    InfeasibleError,
    InputError,
    InvalidFeaturesError,
    LimitError,
    NotFoundError,
    ScenarioError,
    StoreError,
)
from gridplan.plan import Plan, empty_assignments
from gridplan.settings import Settings


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InputError("bad"), 400),
        (CRSError("no crs"), 400),
        (InvalidFeaturesError([FeatureProblem("units", "u1", "empty geometry")]), 400),
        (LimitError("too many"), 422),
        (NotFoundError("plan 9 not found"), 404),
        (ConflictError("already stored"), 409),
        (AuthError("no token"), 401),
        (ScenarioError(2, "merge", "no community X"), 409),
        (InfeasibleError("unit u1 alone exceeds 3000"), 409),
        (StoreError("down"), 503),
    ],
)
def test_error_mapping(error: Exception, status: int) -> None:
    assert status_for(error) == status  # type: ignore[arg-type]
    body = error_body(error)  # type: ignore[arg-type]
    assert body["code"] == type(error).__name__
    assert body["description"] == str(error)


def test_error_bodies_carry_the_details() -> None:
    body = error_body(ScenarioError(2, "merge", "no community X"))
    assert body == {
        "code": "ScenarioError",
        "description": "step 2 (merge): no community X",
        "step": 2,
        "action": "merge",
        "reason": "no community X",
    }
    body = error_body(InvalidFeaturesError([FeatureProblem("units", "u1", "empty geometry")]))
    assert body["problems"] == [{"layer": "units", "feature": "u1", "reason": "empty geometry"}]


def test_an_unexpected_error_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    """The last-resort handler: a bug becomes a generic 500 and a logged traceback (the
    schemathesis run shows that no request reaches it)."""
    app = create_app(Settings(database_url="unused.gpkg"))

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, "gridplan.api"),
    ):
        r = client.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"code": "InternalError", "description": "internal server error"}
    assert "a bug" in caplog.text and "Traceback" in caplog.text


@pytest.mark.postgis
def test_unreachable_database_is_503() -> None:
    from gridplan.data.store.postgis import PostGISStore

    store = PostGISStore("postgresql+psycopg://postgres@localhost:1/nowhere", schema="t_none")
    app = create_app(Settings(), store=store)
    with TestClient(app) as client:
        r = client.get("/healthz")
        assert r.status_code == 503
        assert r.json() == {"status": "unavailable", "database": "unreachable"}
        for url in ("/plans", "/locate?lon=1&lat=1", "/collections/units/items"):
            r = client.get(url)
            assert r.status_code == 503, url
            assert r.json()["code"] == "StoreError"


@pytest.mark.postgis
@pytest.mark.realdata
def test_healthz_and_cors(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "reachable"}
    allowed = "https://dashboard.example.org"
    r = client.options(
        "/locate",
        headers={"Origin": allowed, "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == allowed
    r = client.get("/conformance", headers={"Origin": allowed})
    assert r.headers["access-control-allow-origin"] == allowed
    r = client.get("/conformance", headers={"Origin": "https://elsewhere.example.com"})
    assert "access-control-allow-origin" not in r.headers


def test_geopackage_store(gpkg_store: Any) -> None:
    """The same app on the embedded store (a quick local run)::

    +----+----+
    | u1 | u2 |    one community "C" of both units, households 5 + 7
    +----+----+
    """
    units = gpd.GeoDataFrame(
        {"unit_id": ["u1", "u2"], "households": [5.0, 7.0], "residents": [10.0, 14.0]},
        geometry=[shapely.box(0, 0, 0.01, 0.01), shapely.box(0.01, 0, 0.02, 0.01)],
        crs=4326,
    )
    gpkg_store.import_layers({LayerKind.UNITS: units})
    areas = gpd.GeoDataFrame(
        {
            "level": ["community"],
            "area_id": ["C"],
            "name": ["社区 C"],
            "code": ["350582001004"],
            "parent_id": [None],
            "households": [12.0],
            "residents": [24.0],
        },
        geometry=[shapely.box(0, 0, 0.02, 0.01)],
        crs=4326,
    )
    assignments = pd.DataFrame(
        {"unit_id": ["u1", "u2"], "community_id": ["C", "C"], "grid_id": [None, None]}
    )
    plan_id = gpkg_store.save_plan(Plan("gpkg", assignments, areas))
    with TestClient(create_app(Settings(), store=gpkg_store)) as client:
        assert client.get("/healthz").status_code == 200
        doc = client.get("/locate", params={"lon": 0.015, "lat": 0.005}).json()
        assert doc["plan_id"] == plan_id
        assert doc["community"] == {"id": "C", "name": "社区 C", "code": "350582001004"}
        items = client.get("/collections/units/items", params={"bbox": "0.012,0,0.02,0.01"})
        assert [f["id"] for f in items.json()["features"]] == ["u2"]
        assert client.get("/collections/communities/items").json()["numberMatched"] == 1


@pytest.mark.postgis
def test_plan_cache_asks_the_store_only_for_the_latest_id(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Which plan is the latest" is one cheap query (``Store.latest_plan_id``); the cache
    used to list every stored plan (headers, targets, metrics) on each refresh."""

    def refused() -> None:
        raise AssertionError("the plan cache must not list the plans")

    asked: list[int | None] = []
    latest_plan_id = store.latest_plan_id

    def counted() -> int | None:
        asked.append(latest_plan_id())
        return asked[-1]

    monkeypatch.setattr(store, "list_plans", refused)
    monkeypatch.setattr(store, "latest_plan_id", counted)
    service = Service(Settings(), store=store, refresh_seconds=0.0)
    with pytest.raises(NotFoundError, match="no plan is stored yet"):
        service.plans.latest_id()
    area = gpd.GeoDataFrame(
        {"level": ["community"], "area_id": ["C"], "households": [12.0]},
        geometry=[shapely.box(0, 0, 0.02, 0.01)],
        crs=4326,
    )
    first = store.save_plan(Plan("first", empty_assignments(), area))
    assert service.plans.latest_id() == first
    version = service.plans.version
    second = store.save_plan(Plan("second", empty_assignments(), area, parent_id=first))
    assert service.plans.get().plan_id == second and service.plans.version == version + 1
    assert asked == [None, first, second]


def test_serve_rejects_a_bad_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--db", str(tmp_path / "nope.txt")])
    assert result.exit_code == 2
    assert "expected a PostgreSQL URL" in result.output


def test_serve_rejects_a_bad_port() -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--port", "70000"])
    assert result.exit_code == 2
    assert "65535" in result.output


@pytest.mark.slow
def test_gridplan_serve_serves_a_geopackage(gpkg_store: Any) -> None:
    """``gridplan serve --db FILE.gpkg --port P`` in its own process answers over HTTP."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    units = gpd.GeoDataFrame(
        {"unit_id": ["u1"], "households": [5.0], "residents": [10.0]},
        geometry=[shapely.box(0, 0, 0.01, 0.01)],
        crs=4326,
    )
    gpkg_store.import_layers({LayerKind.UNITS: units})
    areas = gpd.GeoDataFrame(
        {
            "level": ["community"],
            "area_id": ["C"],
            "name": ["C"],
            "code": ["350582001004"],
            "parent_id": [None],
            "households": [5.0],
            "residents": [10.0],
        },
        geometry=[shapely.box(0, 0, 0.01, 0.01)],
        crs=4326,
    )
    assignments = pd.DataFrame({"unit_id": ["u1"], "community_id": ["C"], "grid_id": [None]})
    gpkg_store.save_plan(Plan("served", assignments, areas))
    path = gpkg_store.url
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = Path(sys.executable).with_name("gridplan")
    proc = subprocess.Popen(
        [str(cli), "serve", "--db", path, "--port", str(port), "--log-level", "warning"],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "gridplan serve did not start in 30 s"
                time.sleep(0.2)
        assert r.json() == {"status": "ok", "database": "reachable"}
        doc = httpx.get(f"http://127.0.0.1:{port}/locate?lon=0.005&lat=0.005").json()
        assert doc["community"]["id"] == "C"
    finally:
        proc.terminate()
        proc.wait(10)
