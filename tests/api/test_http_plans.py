"""Plans over HTTP: list, describe, diff, checks, map; the locate index follows new plans.

The hand-drawn store (real PostGIS, a schema of its own per test)::

    lat 24.71 +------+------+------+
              |  u1  |  u2  |  u3  |      households: u1 10, u2 20, u3 30
    lat 24.70 +------+------+------+
           118.50  118.51  118.52  118.53  (longitude)

    plan 1 ("before"):  A = u1 u2 (30 households)   B = u3 (30)
    plan 2 ("after"):   A = u1    (10)               B = u2 u3 (50)

so u2 and its 20 households move from A to B, and with it the compound 银星花园 (drawn
inside u2).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from gridplan.api.app import create_app
from gridplan.data.layers import LayerKind
from gridplan.geo.rules import check_areas
from gridplan.plan import Plan
from gridplan.settings import Settings

pytestmark = [pytest.mark.postgis]

HOUSEHOLDS = {"u1": 10.0, "u2": 20.0, "u3": 30.0}


def _units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "unit_id": ["u1", "u2", "u3"],
            "households": [10.0, 20.0, 30.0],
            "residents": [25.0, 50.0, 75.0],
        },
        geometry=[
            shapely.box(118.50 + 0.01 * i, 24.70, 118.51 + 0.01 * i, 24.71) for i in range(3)
        ],
        crs=4326,
    )


def _plan(name: str, membership: dict[str, str], parent_id: int | None = None) -> Plan:
    units = _units()
    units["community_id"] = units["unit_id"].map(membership)
    areas = units.dissolve(by="community_id", aggfunc={"households": "sum", "residents": "sum"})
    areas = areas.reset_index().rename(columns={"community_id": "area_id"})
    areas["level"] = "community"
    areas["name"] = "Community " + areas["area_id"]
    areas["code"] = "350582001" + areas["area_id"].map({"A": "004", "B": "005"})
    areas["parent_id"] = None
    cols = ["level", "area_id", "name", "code", "parent_id", "households", "residents", "geometry"]
    return Plan(
        name=name,
        assignments=pd.DataFrame(
            {
                "unit_id": units["unit_id"],
                "community_id": units["community_id"],
                "grid_id": [None] * 3,
            }
        ),
        areas=gpd.GeoDataFrame(areas[cols], crs=4326),
        targets={"community": {"households": [20, 40]}},
        parent_id=parent_id,
        source="test",
    )


def _compounds() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "compound_id": ["k1"],
            "name": ["银星花园"],
            "households": [20.0],
            "residents": [50.0],
            "kind": ["residential"],
        },
        geometry=[shapely.box(118.512, 24.702, 118.518, 24.708)],
        crs=4326,
    )


@pytest.fixture
def drawn(postgis_store: Any) -> Iterator[tuple[Any, TestClient]]:
    postgis_store.import_layers(
        {LayerKind.UNITS: _units(), LayerKind.COMPOUNDS: _compounds()}, source="drawn"
    )
    app = create_app(Settings(api_token="t"), store=postgis_store, refresh_seconds=0.0)
    with TestClient(app) as client:
        yield postgis_store, client


def test_plans_list_describe_and_diff(drawn: tuple[Any, TestClient]) -> None:
    store, client = drawn
    assert client.get("/plans").json() == {"plans": []}
    r = client.get("/locate", params={"lon": 118.515, "lat": 24.705})
    assert r.status_code == 404
    assert r.json()["description"] == "no plan is stored yet: import or create a plan first"

    first = store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    second = store.save_plan(_plan("after", {"u1": "A", "u2": "B", "u3": "B"}, parent_id=first))
    plans = client.get("/plans").json()["plans"]
    assert [(p["plan_id"], p["name"], p["parent_id"]) for p in plans] == [
        (first, "before", None),
        (second, "after", first),
    ]
    doc = client.get(f"/plans/{second}").json()
    assert doc["targets"] == {"community": {"households": [20, 40]}}
    assert (doc["communities"], doc["grids"], doc["units"]) == (2, 0, 3)
    assert doc["parent_id"] == first

    diff = client.get(f"/plans/{first}/diff/{second}").json()
    assert diff["units_moved"] == 1
    assert diff["households_moved"] == 20.0
    assert diff["moves"] == [
        {"from_community": "A", "to_community": "B", "units": 1, "households": 20.0}
    ]
    assert [
        (c["community_id"], c["households_before"], c["households_after"], c["change"])
        for c in diff["communities"]
    ] == [("A", 30.0, 10.0, -20.0), ("B", 30.0, 50.0, 20.0)]
    assert diff["unit_basis"] == "assignments"
    assert diff["compounds_moved"] == [
        {
            "compound_id": "k1",
            "name": "银星花园",
            "households": 20.0,
            "from_community": "A",
            "to_community": "B",
        }
    ]
    back = client.get(f"/plans/{second}/diff/{first}").json()
    assert back["moves"][0]["from_community"] == "B" and back["households_moved"] == 20.0

    for url in (f"/plans/{second + 5}", f"/plans/{first}/diff/{second + 5}"):
        r = client.get(url)
        assert r.status_code == 404
        assert r.json()["description"] == f"plan {second + 5} not found"


def test_diff_of_drawn_plans_places_units_by_point(drawn: tuple[Any, TestClient]) -> None:
    """Plans without assignments (drawn polygons): units are placed where their
    representative point falls."""
    store, client = drawn
    drawn_before = _plan("before", {"u1": "A", "u2": "A", "u3": "B"})
    drawn_after = _plan("after", {"u1": "A", "u2": "B", "u3": "B"})
    empty = drawn_before.assignments.iloc[0:0]
    first = store.save_plan(Plan(**{**drawn_before.__dict__, "assignments": empty}))
    second = store.save_plan(Plan(**{**drawn_after.__dict__, "assignments": empty}))
    diff = client.get(f"/plans/{first}/diff/{second}").json()
    assert diff["unit_basis"] == "located"
    assert diff["moves"] == [
        {"from_community": "A", "to_community": "B", "units": 1, "households": 20.0}
    ]
    assert [c["compound_id"] for c in diff["compounds_moved"]] == ["k1"]


def test_locate_index_follows_a_newly_stored_plan(drawn: tuple[Any, TestClient]) -> None:
    store, client = drawn
    first = store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    u2 = {"lon": 118.515, "lat": 24.705}
    doc = client.get("/locate", params=u2).json()
    assert (doc["plan_id"], doc["community"]["id"], doc["grid"]) == (first, "A", None)
    assert doc["community"]["code"] == "350582001004"
    second = store.save_plan(_plan("after", {"u1": "A", "u2": "B", "u3": "B"}, parent_id=first))
    doc = client.get("/locate", params=u2).json()
    assert (doc["plan_id"], doc["community"]["id"]) == (second, "B")
    # an older plan stays reachable by id
    assert client.get("/locate", params={**u2, "plan": first}).json()["community"]["id"] == "A"
    batch = client.post("/locate", json={"points": [[118.505, 24.705], [118.515, 24.705]]})
    assert [a["community"] for a in batch.json()["results"]] == ["A", "B"]
    assert batch.json()["communities"]["B"] == {"name": "Community B", "code": "350582001005"}


def test_checks_and_findings_collection(drawn: tuple[Any, TestClient]) -> None:
    """Band 20–40 households: before, A (30) and B (30) pass; after, A (10) is under and
    B (50) over."""
    store, client = drawn
    first = store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    after = _plan("after", {"u1": "A", "u2": "B", "u3": "B"}, parent_id=first)
    report = check_areas(after.areas_at("community"), config=None)
    second = store.save_plan(after, findings=report.findings_for_store())

    doc = client.get(f"/plans/{first}/checks").json()
    community = doc["levels"]["community"]
    assert doc["plan_id"] == first and "grid" not in doc["levels"]
    assert community["band"] == [20.0, 40.0] and community["measure"] == "households"
    assert community["summary"]["by_rule"] == {}
    doc = client.get(f"/plans/{second}/checks").json()
    found = {(f["rule"], f["area"]) for f in doc["levels"]["community"]["findings"]}
    assert found == {("size.under", "A"), ("size.over", "B")}

    # the stored findings (checked with the default 1000–3000 band: both under)
    items = client.get("/collections/findings/items").json()
    assert items["plan_id"] == second
    assert [(f["id"], f["properties"]["rule"]) for f in items["features"]] == [
        (1, "size.under"),
        (2, "size.under"),
    ]
    one = client.get("/collections/findings/items/2").json()
    assert one["properties"]["area_id"] == "B"
    assert client.get(f"/collections/findings/items?plan={first}").json()["numberMatched"] == 0


def test_map_is_html(drawn: tuple[Any, TestClient]) -> None:
    store, client = drawn
    plan_id = store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    r = client.get(f"/plans/{plan_id}/map")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "leaflet" in r.text.lower() and "Community A" in r.text
    assert client.get(f"/plans/{plan_id + 1}/map").status_code == 404


def test_bad_plan_targets_are_400(drawn: tuple[Any, TestClient]) -> None:
    store, client = drawn
    plan = _plan("odd", {"u1": "A", "u2": "A", "u3": "B"})
    plan = Plan(**{**plan.__dict__, "targets": {"community": {"households": [1]}}})
    plan_id = store.save_plan(plan)
    r = client.get(f"/plans/{plan_id}/checks")
    assert r.status_code == 400
    assert "community.households must be [lo, hi]" in r.json()["description"]
