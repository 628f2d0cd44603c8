"""More than one worker (issue 16, item 6): every app on a store sees a plan that another
process stored at once — PostgreSQL ``LISTEN``/``NOTIFY`` on PostGIS, the file's change stamp on
the GeoPackage — not after the plan cache's refresh interval; and ``gridplan serve --workers 2``
runs two worker processes that both answer with the newest plan.

The apps here are built with a one-hour refresh interval, so only the change feed can explain
a fresh answer.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from gridplan.api.app import create_app
from gridplan.data.layers import LayerKind
from gridplan.data.store.base import open_store
from gridplan.plan import Plan
from gridplan.settings import Settings

HOUR = 3600.0


def _seed(store: Any) -> None:
    units = gpd.GeoDataFrame(
        {"unit_id": ["u1"], "households": [5.0], "residents": [10.0]},
        geometry=[shapely.box(0, 0, 0.01, 0.01)],
        crs=4326,
    )
    store.import_layers({LayerKind.UNITS: units})
    _plan(store, "社区 甲")


def _plan(store: Any, name: str) -> int:
    areas = gpd.GeoDataFrame(
        {
            "level": ["community"],
            "area_id": ["C"],
            "name": [name],
            "code": ["350582001004"],
            "parent_id": [None],
            "households": [5.0],
            "residents": [10.0],
        },
        geometry=[shapely.box(0, 0, 0.01, 0.01)],
        crs=4326,
    )
    assignments = pd.DataFrame({"unit_id": ["u1"], "community_id": ["C"], "grid_id": [None]})
    return int(store.save_plan(Plan(name, assignments, areas)))


def _located(client: TestClient) -> tuple[int, str]:
    doc = client.get("/locate", params={"lon": 0.005, "lat": 0.005}).json()
    return doc["plan_id"], doc["community"]["name"]


def _wait_for(client: TestClient, plan_id: int, seconds: float) -> float:
    """Seconds until ``client`` answers with ``plan_id`` (fails after ``seconds``)."""
    start = time.monotonic()
    while _located(client)[0] != plan_id:
        assert time.monotonic() - start < seconds, f"plan {plan_id} not seen in {seconds} s"
        time.sleep(0.01)
    return time.monotonic() - start


def test_geopackage_workers_see_a_new_plan_at_once(gpkg_store: Any) -> None:
    _seed(gpkg_store)
    # two apps, each with a store object of its own on the same file, as two workers have
    apps = [
        create_app(Settings(), store=open_store(gpkg_store.url), refresh_seconds=HOUR)
        for _ in range(2)
    ]
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        assert _located(one)[0] == _located(two)[0] == 1
        writer = open_store(gpkg_store.url)  # a `gridplan` command, say
        second = _plan(writer, "社区 乙")
        # the very next answer of each worker: the change stamp moved
        assert _located(one) == (second, "社区 乙")
        assert _located(two) == (second, "社区 乙")


def test_geopackage_stamp_moves_on_every_write(gpkg_store: Any) -> None:
    before = gpkg_store.change_stamp()
    _seed(gpkg_store)
    after = gpkg_store.change_stamp()
    assert before != after and after == gpkg_store.change_stamp()


@pytest.mark.postgis
def test_postgis_workers_are_notified_of_a_new_plan(postgis_store: Any) -> None:
    _seed(postgis_store)
    apps = [
        create_app(Settings(), store=open_store(postgis_store.url), refresh_seconds=HOUR)
        for _ in range(2)
    ]
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        assert _located(one)[0] == _located(two)[0] == 1
        time.sleep(0.3)  # both listeners are connected
        writer = open_store(postgis_store.url)
        try:
            second = _plan(writer, "社区 乙")
        finally:
            writer.close()
        # NOTIFY arrives when the transaction commits: well within a second
        assert _wait_for(one, second, 1.0) < 1.0
        assert _wait_for(two, second, 1.0) < 1.0
        assert _located(two) == (second, "社区 乙")


@pytest.mark.postgis
def test_postgis_watch_names_what_changed(postgis_store: Any) -> None:
    seen: list[str] = []
    stop = postgis_store.watch(seen.append)
    try:
        time.sleep(0.3)
        _seed(postgis_store)
        deadline = time.monotonic() + 2
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop()
    assert seen == ["import:1", "plan:1"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_with_two_workers(gpkg_store: Any) -> None:
    """``gridplan serve --workers 2``: two worker processes; a plan stored by a ``gridplan``
    command is in every answer that follows."""
    _seed(gpkg_store)
    port = _free_port()
    cli = Path(sys.executable).with_name("gridplan")
    proc = subprocess.Popen(
        [str(cli), "serve", "--db", gpkg_store.url, "--port", str(port), "--workers", "2"],
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "gridplan serve did not start in 60 s"
            time.sleep(0.2)
        second = _plan(open_store(gpkg_store.url), "社区 乙")
        # fresh connections, so both workers answer some of them
        answers = {
            httpx.get(f"{base}/locate?lon=0.005&lat=0.005", timeout=5).json()["plan_id"]
            for _ in range(40)
        }
        assert answers == {second}
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[1].decode()
    assert out.count("Started server process") == 2, out
