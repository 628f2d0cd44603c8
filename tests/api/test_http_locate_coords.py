"""``/locate?coords=gcj02|bd09``: a Chinese web-map point lands where its WGS84 twin does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from shapely import box

from gridplan.api.app import create_app
from gridplan.data.crs import wgs84_to_bd09, wgs84_to_gcj02
from gridplan.plan import Plan
from gridplan.settings import Settings

UTM = "EPSG:32650"
X0, Y0 = 660_000.0, 2_744_000.0


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """A GeoPackage store in Jinjiang with six 400 m communities (one grid each)::

    | C4 | C5 | C6 |
    | C1 | C2 | C3 |
    """
    from gridplan.data.store.geopackage import GeoPackageStore

    cells = [(c, r) for r in range(2) for c in range(3)]
    geoms = gpd.GeoSeries(
        [box(X0 + c * 400, Y0 + r * 400, X0 + c * 400 + 400, Y0 + r * 400 + 400)
         for c, r in cells], crs=UTM,
    ).to_crs(4326)  # fmt: skip
    ids = [f"C{i + 1}" for i in range(6)]
    areas = gpd.GeoDataFrame(
        {
            "level": ["community"] * 6 + ["grid"] * 6,
            "area_id": ids + [f"G{i + 1}" for i in range(6)],
            "name": ids * 2,
            "code": [None] * 12,
            "parent_id": [None] * 6 + ids,
            "households": [100.0] * 12,
            "residents": [None] * 12,
        },
        geometry=list(geoms) * 2,
        crs=4326,
    )
    plan = Plan(
        name="Jinjiang",
        assignments=pd.DataFrame(
            {"unit_id": ids, "community_id": ids, "grid_id": areas["area_id"][6:].tolist()}
        ),
        areas=areas,
        targets={},
        source="test",
    )
    store = GeoPackageStore(tmp_path / "gridplan.gpkg")
    store.initialise()
    store.save_plan(plan)
    settings = Settings(database_url=str(tmp_path / "gridplan.gpkg"), api_token="t")
    try:
        with TestClient(create_app(settings, store=store)) as c:  # type: ignore[arg-type]
            yield c
    finally:
        store.close()


def _points() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Points 150 m east and 250 m north of each community's south-west corner (WGS84)."""
    cells = [(c, r) for r in range(2) for c in range(3)]
    pts = gpd.GeoSeries(
        gpd.points_from_xy([X0 + c * 400 + 150 for c, _ in cells],
                           [Y0 + r * 400 + 250 for _, r in cells]), crs=UTM,
    ).to_crs(4326)  # fmt: skip
    return pts.x.to_numpy(), pts.y.to_numpy(), [f"C{i + 1}" for i in range(6)]


@pytest.mark.parametrize("frame", ["gcj02", "bd09"])
def test_get_locate_in_a_web_map_frame(client: TestClient, frame: str) -> None:
    lon, lat, truth = _points()
    x, y = wgs84_to_gcj02(lon, lat) if frame == "gcj02" else wgs84_to_bd09(lon, lat)
    misses = 0
    for gx, gy, want in zip(x.tolist(), y.tolist(), truth, strict=True):
        r = client.get("/locate", params={"lon": gx, "lat": gy, "coords": frame})
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["community"]["id"] == want and doc["grid"]["id"] == f"G{want[1:]}"
        assert (doc["lon"], doc["lat"], doc["coords"]) == (gx, gy, frame)
        plain = client.get("/locate", params={"lon": gx, "lat": gy})
        misses += plain.status_code != 200 or plain.json()["community"]["id"] != want
    assert misses == 6  # read as WGS84 every one of them is in the wrong place


@pytest.mark.parametrize("frame", ["wgs84", "gcj02", "bd09"])
def test_post_locate_in_a_web_map_frame(client: TestClient, frame: str) -> None:
    lon, lat, truth = _points()
    if frame == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    elif frame == "bd09":
        lon, lat = wgs84_to_bd09(lon, lat)
    body = {"points": np.column_stack([lon, lat]).tolist()}
    r = client.post("/locate", params={"coords": frame}, json=body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["coords"] == frame and doc["located"] == 6
    assert [a["community"] for a in doc["results"]] == truth


def test_unknown_frame_is_a_client_error(client: TestClient) -> None:
    r = client.get("/locate", params={"lon": 118.6, "lat": 24.8, "coords": "mars"})
    assert 400 <= r.status_code < 500
    r = client.post("/locate", params={"coords": "mars"}, json={"points": []})
    assert 400 <= r.status_code < 500
