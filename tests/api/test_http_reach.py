"""``GET /plans/{id}/reach`` on the river town (``tests/reachtown.py``), both stores.

Community A: 500 households; S (200) is 200 m from its centre F, N (300) is 1,400 m away by
the only bridge.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

import reachtown as town
from gridplan.api.app import create_app
from gridplan.data.store.base import Store
from gridplan.settings import Settings


@pytest.fixture
def client(store: Store, tmp_path: Path) -> TestClient:
    town.load_store(store, tmp_path)
    return TestClient(create_app(Settings(database_url=store.url), store=store))


def test_reach_at_500_metres(client: TestClient) -> None:
    r = client.get("/plans/1/reach", params={"metres": 500})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["network"] == "paths" and doc["speed_m_per_min"] == 50.0
    (level,) = doc["thresholds"]
    assert level["metres"] == 500.0 and level["minutes"] == 10.0
    (row,) = level["communities"]
    assert row["community"] == "A" and row["name"] == "河畔社区"
    assert row["households"] == pytest.approx(500.0)
    assert row["households_within"] == pytest.approx(200.0)
    assert row["share"] == pytest.approx(0.4)
    assert row["centres"] == ["F"]
    assert row["any"] == {
        "kind": None,
        "households_within": pytest.approx(200.0),
        "share": pytest.approx(0.4),
    }
    (iso,) = doc["isochrones"]["features"]
    assert iso["properties"]["facility_id"] == "F" and iso["properties"]["threshold"] == 500.0
    (gone,) = doc["unreached"]["features"]
    assert gone["properties"]["location_id"] == "N"
    assert gone["properties"]["distance_centre"] is None  # beyond the largest threshold
    far = client.get("/plans/1/reach", params={"metres": [500, 2000]}).json()
    (gone,) = far["unreached"]["features"]  # at the smallest threshold, distances to 2 km
    assert gone["properties"]["distance_centre"] == pytest.approx(1400.0, abs=0.5)
    # the isochrone (CRS84) holds S and not N
    area = shapely.geometry.shape(iso["geometry"])
    north = shapely.geometry.shape(gone["geometry"])
    assert not area.contains(north)


def test_minutes_kind_and_no_geometry(client: TestClient) -> None:
    r = client.get(
        "/plans/1/reach", params={"minutes": [10, 30], "kind": "school", "geometry": "false"}
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert "isochrones" not in doc and "unreached" not in doc
    assert [t["metres"] for t in doc["thresholds"]] == [500.0, 1500.0]
    thirty = doc["thresholds"][1]["communities"][0]
    assert thirty["share"] == pytest.approx(1.0)
    assert thirty["any"] == {"kind": "school", "households_within": 0.0, "share": 0.0}
    assert doc["notes"] == ["no facility of kind 'school'"]


def test_default_thresholds(client: TestClient) -> None:
    doc = client.get("/plans/1/reach", params={"geometry": "false"}).json()
    assert [t["metres"] for t in doc["thresholds"]] == [300.0, 500.0, 1000.0]


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ({"metres": 500, "minutes": 10}, 400, "not both"),
        ({"metres": 0}, 422, "greater than 0"),
        ({"minutes": [1] * 11}, 422, "minutes"),
        ({"metres": "far"}, 422, "metres"),
        ({"radius": 5}, 400, "unknown query parameter"),
        ({"geometry": "maybe"}, 422, "geometry"),
    ],
)
def test_bad_parameters_are_4xx(
    client: TestClient, query: dict[str, object], status: int, words: str
) -> None:
    r = client.get("/plans/1/reach", params=query)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    assert words in r.text


def test_missing_plan_is_404_and_the_route_is_documented(client: TestClient) -> None:
    assert client.get("/plans/7/reach").status_code == 404
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/plans/{plan_id}/reach"]["get"]
    assert {p["name"] for p in op["parameters"]} == {
        "plan_id",
        "metres",
        "minutes",
        "kind",
        "geometry",
    }
    assert {"200", "400", "404", "422"} <= set(op["responses"])


def test_checks_over_http_report_reach(client: TestClient) -> None:
    doc = client.get("/plans/1/checks").json()
    rules = [f["rule"] for f in doc["levels"]["community"]["findings"]]
    assert "reach.outside" in rules
