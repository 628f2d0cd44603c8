"""``/locate`` on Providence (real PostGIS): it agrees with shapely, point by point."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest
import shapely
from fastapi.testclient import TestClient

from gridplan.plan import Level

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]


def _expected(providence: Any, level: Level, lon: np.ndarray, lat: np.ndarray) -> list:
    """The id of the first area (in plan order) covering each point, by brute force."""
    areas = providence.store.load_plan(providence.plan_id).areas_at(level)  # type: ignore[attr-defined]
    out = np.full(len(lon), None, dtype=object)
    for area_id, geom in zip(areas["area_id"], areas.geometry, strict=True):
        shapely.prepare(geom)
        hit = shapely.covers(geom, shapely.points(lon, lat)) & (out == None)  # noqa: E711
        out[hit] = area_id
    return out.tolist()


def _random_points(providence: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = providence.plan.areas.total_bounds
    rng = np.random.default_rng(seed)
    return rng.uniform(minx - 0.01, maxx + 0.01, n), rng.uniform(miny - 0.01, maxy + 0.01, n)


def test_batch_locate_agrees_with_shapely_on_10000_random_points(
    client: TestClient, providence: Any
) -> None:
    lon, lat = _random_points(providence, 10_000, seed=20240601)
    body = orjson.dumps({"points": np.column_stack([lon, lat]).tolist()})
    r = client.post("/locate", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["plan_id"] == providence.plan_id
    assert doc["count"] == 10_000 and len(doc["results"]) == 10_000
    got_c = [None if a is None else a["community"] for a in doc["results"]]
    got_g = [None if a is None else a["grid"] for a in doc["results"]]
    want_c = _expected(providence, Level.COMMUNITY, lon, lat)
    want_g = _expected(providence, Level.GRID, lon, lat)
    assert got_c == want_c
    assert got_g == want_g
    inside = sum(c is not None for c in want_c)
    assert doc["located"] == inside
    assert 3_000 < inside < 9_900  # both inside and outside points were tested
    # names and codes of exactly the areas hit come in the lookups
    assert set(doc["communities"]) == {c for c in want_c if c is not None}
    assert set(doc["grids"]) == {g for g in want_g if g is not None}
    for tract, info in doc["communities"].items():
        assert info == {"name": f"Tract {tract}", "code": f"44007{tract}"}
    for group, info in doc["grids"].items():
        assert info["code"] == group


def test_get_locate_agrees_with_shapely(client: TestClient, providence: Any) -> None:
    lon, lat = _random_points(providence, 300, seed=7)
    want_c = _expected(providence, Level.COMMUNITY, lon, lat)
    want_g = _expected(providence, Level.GRID, lon, lat)
    for x, y, c, g in zip(lon.tolist(), lat.tolist(), want_c, want_g, strict=True):
        r = client.get("/locate", params={"lon": x, "lat": y})
        if c is None:
            assert r.status_code == 404
            assert "outside every community" in r.json()["description"]
        else:
            assert r.status_code == 200, r.text
            doc = r.json()
            assert (doc["community"]["id"], doc["grid"]["id"]) == (c, g)
            assert doc["lon"] == x and doc["lat"] == y and doc["plan_id"] == providence.plan_id


def test_locate_known_point_and_explicit_plan(client: TestClient, providence: Any) -> None:
    # the interior point the census gives for block 440070022002009 lies in tract 002200
    block = providence.units[providence.units["unit_id"] == "440070022002009"].iloc[0]
    p = block.geometry.representative_point()
    r = client.get("/locate", params={"lon": p.x, "lat": p.y, "plan": providence.plan_id})
    assert r.status_code == 200
    assert r.json()["community"]["id"] == "002200"
    assert r.json()["grid"]["id"] == "440070022002"


def test_locate_outside_is_404_with_reason(client: TestClient, providence: Any) -> None:
    r = client.get("/locate", params={"lon": 118.55, "lat": 24.78})
    assert r.status_code == 404
    assert r.json() == {
        "code": "NotFoundError",
        "description": "the point (118.55, 24.78) is outside every community of plan "
        f"{providence.plan_id}",
    }


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"lon": 200, "lat": 41.8}, 422, "lon"),
        ({"lon": -71.4, "lat": -91}, 422, "lat"),
        ({"lon": "abc", "lat": 41.8}, 422, "lon"),
        ({"lat": 41.8}, 422, "lon"),
        ({"lon": "nan", "lat": 41.8}, 422, "lon"),
        ({"lon": -71.4, "lat": "inf"}, 422, "lat"),
        ({"lon": -71.4, "lat": 41.8, "plan": 0}, 422, "plan"),
        ({"lon": -71.4, "lat": 41.8, "plan": 999}, 404, "plan 999"),
    ],
)
def test_get_locate_bad_parameters(
    client: TestClient, params: dict, status: int, fragment: str
) -> None:
    r = client.get("/locate", params=params)
    assert r.status_code == status, r.text
    assert fragment in r.json()["description"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, '{"points"'),
        (b'{"points": 3}', 400, '{"points"'),
        (b'{"points": [[1, 2, 3]]}', 400, "[lon, lat] pair"),
        (b'{"points": [[1, 2], [3]]}', 400, "point 1 is not"),
        (b'{"points": [[1, 2], 3]}', 400, "[lon, lat] pair"),
        (b'{"points": [[1, true]]}', 400, "[lon, lat] pair"),
        (b'{"points": ["ab"]}', 400, "[lon, lat] pair"),
        (b'{"points": [[1, 1e400]]}', 400, "not valid JSON"),
        (b'{"points": [[1, 100000000000000000000000]]}', 400, "point 0 (1.0, 1e+23)"),
        (b'{"points": [["a", "b"]]}', 400, "[lon, lat] pair"),
        (b'{"points": [[-71.4, 41.8], [-71.4, 95]]}', 400, "point 1 (-71.4, 95.0)"),
    ],
)
def test_post_locate_bad_bodies(
    client: TestClient, body: bytes, status: int, fragment: str
) -> None:
    r = client.post("/locate", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert fragment in r.json()["description"]


def test_post_locate_empty_batch(client: TestClient, providence: Any) -> None:
    r = client.post("/locate", json={"points": []})
    assert r.status_code == 200
    assert r.json() == {
        "plan_id": providence.plan_id,
        "coords": "wgs84",
        "count": 0,
        "located": 0,
        "communities": {},
        "grids": {},
        "results": [],
    }


def test_post_locate_batch_limit(client: TestClient) -> None:
    # the app under test allows 20,000 points per batch
    r = client.post("/locate", json={"points": [[-71.4, 41.8]] * 20_001})
    assert r.status_code == 422
    assert r.json()["code"] == "LimitError"
    assert "20001 points" in r.json()["description"]


def test_post_locate_body_limit(client: TestClient) -> None:
    # the app under test accepts bodies up to 2,000,000 bytes
    big = b'{"points": [' + b",".join([b"[-71.400000001, 41.800000001]"] * 80_000) + b"]}"
    assert len(big) > 2_000_000
    r = client.post("/locate", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["code"] == "LimitError"
    assert "at most 2000000 bytes" in r.json()["description"]


def test_post_locate_body_limit_without_content_length(client: TestClient) -> None:
    def chunks():  # a streamed body has no Content-Length
        yield b'{"points": ['
        for _ in range(80_000):
            yield b"[-71.400000001, 41.800000001],"
        yield b"[-71.4, 41.8]]}"

    r = client.post("/locate", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["code"] == "LimitError"
