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
import numpy as np
import orjson
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


def test_checks_of_a_plan_of_grids_alone(drawn: tuple[Any, TestClient]) -> None:
    """A plan imported as grids only (``gridplan import --level grid``) is checked at the
    grid level; it used to be refused with "areas: no features to check" (400)."""
    store, client = drawn
    plan = _plan("grids", {"u1": "A", "u2": "A", "u3": "B"})
    grids = plan.areas.assign(level="grid")
    plan = Plan(**{**plan.__dict__, "areas": grids, "targets": {"grid": {"households": [20, 40]}}})
    plan_id = store.save_plan(plan)
    r = client.get(f"/plans/{plan_id}/checks")
    assert r.status_code == 200, r.text
    levels = r.json()["levels"]
    assert set(levels) == {"grid"}
    assert levels["grid"]["band"] == [20.0, 40.0]
    assert [a["id"] for a in levels["grid"]["areas"]] == ["A", "B"]
    assert [a["households"] for a in levels["grid"]["areas"]] == [30.0, 30.0]


def test_map_is_html(drawn: tuple[Any, TestClient]) -> None:
    store, client = drawn
    plan_id = store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    r = client.get(f"/plans/{plan_id}/map")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "leaflet" in r.text.lower() and "Community A" in r.text
    assert client.get(f"/plans/{plan_id + 1}/map").status_code == 404


def test_map_is_drawn_once_per_plan_and_import(
    drawn: tuple[Any, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stored plan never changes: its map is drawn once, and again only after an import
    replaces the layers drawn with it."""
    import gridplan.api.plans as plans_module

    store, client = drawn
    calls: list[str] = []
    real = plans_module.render_plan_map

    def counting(layers: Any, **kwargs: Any) -> Any:
        calls.append("drawn")
        return real(layers, **kwargs)

    monkeypatch.setattr(plans_module, "render_plan_map", counting)
    plan_id = store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    first = client.get(f"/plans/{plan_id}/map")
    second = client.get(f"/plans/{plan_id}/map")
    assert first.status_code == second.status_code == 200
    assert first.text == second.text
    assert len(calls) == 1
    assert "银星花园" in first.text
    renamed = _compounds().assign(name=["金星花园"])
    store.import_layers({LayerKind.COMPOUNDS: renamed}, source="redrawn", replace=True)
    third = client.get(f"/plans/{plan_id}/map")
    assert len(calls) == 2
    assert "金星花园" in third.text and "银星花园" not in third.text


def test_bad_plan_targets_are_400(drawn: tuple[Any, TestClient]) -> None:
    store, client = drawn
    plan = _plan("odd", {"u1": "A", "u2": "A", "u3": "B"})
    plan = Plan(**{**plan.__dict__, "targets": {"community": {"households": [1]}}})
    plan_id = store.save_plan(plan)
    r = client.get(f"/plans/{plan_id}/checks")
    assert r.status_code == 400
    assert "community.households must be [lo, hi]" in r.json()["description"]


SCENARIO = {
    "name": "move u2 to B",
    "base": {"plan": "latest"},
    "targets": {"community": {"households": [20, 40]}},
    "steps": [{"action": "move_units", "units": ["u2"], "community": "B"}],
}
AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def slow_refresh(postgis_store: Any) -> Iterator[tuple[Any, TestClient]]:
    """The drawn store behind an app that re-reads the latest plan only once an hour: only
    its own writes can make it notice a new plan."""
    postgis_store.import_layers(
        {LayerKind.UNITS: _units(), LayerKind.COMPOUNDS: _compounds()}, source="drawn"
    )
    app = create_app(Settings(api_token="t"), store=postgis_store, refresh_seconds=3600)
    with TestClient(app) as client:
        yield postgis_store, client


def test_post_scenario_stores_a_new_plan(slow_refresh: tuple[Any, TestClient]) -> None:
    store, client = slow_refresh
    first = store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    u2 = {"lon": 118.515, "lat": 24.705}
    assert client.get("/locate", params=u2).json()["community"]["id"] == "A"

    r = client.post("/scenarios", json=SCENARIO, headers=AUTH)
    assert r.status_code == 201, r.text
    doc = r.json()
    second = doc["plan_id"]
    assert second > first and doc["parent_id"] == first and doc["name"] == "move u2 to B"
    assert [(s["step"], s["action"]) for s in doc["steps"]] == [(1, "move_units")]
    assert doc["steps"][0]["households_moved"] == 20.0
    assert [c["compound"] for c in doc["compounds_moved"]] == ["银星花园"]
    # the app's own write refreshes its locate index at once
    after = client.get("/locate", params=u2).json()
    assert (after["plan_id"], after["community"]["id"]) == (second, "B")
    diff = client.get(f"/plans/{first}/diff/{second}").json()
    assert diff["moves"] == [
        {"from_community": "A", "to_community": "B", "units": 1, "households": 20.0}
    ]
    assert [p.plan_id for p in store.list_plans()] == [first, second]


def test_post_scenario_stores_the_findings_its_checks_serve(
    drawn: tuple[Any, TestClient],
) -> None:
    """The scenario's plan is stored with its findings (band 20–40: after u2 moves, A has 10
    households and B 50), and they are the ones ``GET /plans/{id}/checks`` lists; scenario
    plans used to be stored without findings (an empty findings collection and map layer)."""
    store, client = drawn
    store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    r = client.post("/scenarios", json=SCENARIO, headers=AUTH)
    assert r.status_code == 201, r.text
    plan_id = r.json()["plan_id"]
    assert r.json()["checks"] == {
        "community": {"findings": 2, "by_rule": {"size.under": 1, "size.over": 1}}
    }
    stored = store.read_findings(plan_id)
    assert list(zip(stored["rule"], stored["area_id"], stored["value"], strict=True)) == [
        ("size.under", "A", 10.0),
        ("size.over", "B", 50.0),
    ]
    served = client.get(f"/plans/{plan_id}/checks").json()["levels"]
    assert set(served) == {"community"}
    listed = served["community"]["findings"]
    assert [(f["rule"], f["area"], f["value"], f["message"]) for f in listed] == list(
        zip(stored["rule"], stored["area_id"], stored["value"], stored["message"], strict=True)
    )
    # the same polygons; GeoJSON orients their rings as RFC 7946 asks
    shapes = [shapely.geometry.shape(f["geometry"]) for f in listed]
    oriented = shapely.orient_polygons(np.asarray(stored.geometry.values, dtype=object))
    assert shapely.equals_exact(shapes, oriented, tolerance=1e-9).all()
    items = client.get("/collections/findings/items", params={"plan": plan_id}).json()
    assert items["numberMatched"] == 2


def test_post_scenario_as_yaml(drawn: tuple[Any, TestClient]) -> None:
    store, client = drawn
    store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    text = (
        "name: 合并\n"
        "base: {plan: latest}\n"
        "targets: {community: {households: [20, 70]}}\n"
        "steps:\n"
        "  - {action: merge, communities: [A, B]}\n"
    )
    r = client.post(
        "/scenarios",
        content=text.encode(),
        headers={**AUTH, "Content-Type": "application/yaml; charset=utf-8"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "合并"
    assert client.get("/collections/communities/items").json()["numberMatched"] == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "this is a write: send Authorization: Bearer <token>"),
        ({"Authorization": "Bearer wrong"}, "the bearer token is not valid"),
        ({"Authorization": "Basic dDp0"}, "the Authorization header must be 'Bearer <token>'"),
        ({"Authorization": "Bearer "}, "the Authorization header must be 'Bearer <token>'"),
    ],
)
def test_post_scenario_needs_the_token(
    drawn: tuple[Any, TestClient], headers: dict, reason: str
) -> None:
    store, client = drawn
    store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    # even a malformed body is refused for want of a token first
    for body in (orjson.dumps(SCENARIO), b"{not json"):
        r = client.post("/scenarios", content=body, headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json() == {"code": "AuthError", "description": reason}
    assert len(store.list_plans()) == 1


def test_writes_disabled_without_a_configured_token(postgis_store: Any) -> None:
    app = create_app(Settings(api_token=None), store=postgis_store)
    with TestClient(app) as client:
        r = client.post("/scenarios", json=SCENARIO, headers=AUTH)
    assert r.status_code == 401
    assert "writes are disabled" in r.json()["description"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"name: [unclosed", "application/yaml", 400, "not valid YAML"),
        (b"[1, 2]", "application/json", 400, "a scenario is a mapping"),
        (orjson.dumps({**SCENARIO, "steps": []}), "application/json", 400, "steps"),
        (
            orjson.dumps({**SCENARIO, "steps": [{"action": "teleport"}]}),
            "application/json",
            400,
            "step 1 (teleport)",
        ),
        (
            orjson.dumps({**SCENARIO, "base": {"units": "/etc/passwd", "community_field": "x"}}),
            "application/json",
            400,
            "base must be a stored plan",
        ),
        (orjson.dumps({**SCENARIO, "base": {"plan": 999}}), "application/json", 404, "999"),
        (orjson.dumps({**SCENARIO, "base": {"plan": -5}}), "application/json", 404, "plan -5"),
        (orjson.dumps({**SCENARIO, "seed": -1}), "application/json", 400, "seed must be"),
    ],
)
def test_post_scenario_bad_documents(
    drawn: tuple[Any, TestClient], body: bytes, content_type: str, status: int, fragment: str
) -> None:
    store, client = drawn
    store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    r = client.post("/scenarios", content=body, headers={**AUTH, "Content-Type": content_type})
    assert r.status_code == status, r.text
    assert fragment in r.json()["description"]
    assert len(store.list_plans()) == 1


def test_post_scenario_failing_step_is_409_naming_it(drawn: tuple[Any, TestClient]) -> None:
    store, client = drawn
    store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    doc = {
        **SCENARIO,
        "steps": [
            {"action": "move_units", "units": ["u2"], "community": "B"},
            {"action": "move_units", "units": ["u9"], "community": "A"},
        ],
    }
    r = client.post("/scenarios", json=doc, headers=AUTH)
    assert r.status_code == 409
    body = r.json()
    assert (body["code"], body["step"], body["action"]) == ("ScenarioError", 2, "move_units")
    assert "u9" in body["reason"]
    assert body["description"].startswith("step 2 (move_units): ")
    assert len(store.list_plans()) == 1  # nothing stored


def test_points_on_boundaries_belong_to_the_first_area(drawn: tuple[Any, TestClient]) -> None:
    """After: A = u1 | B = u2 u3. The shared edge (lon 118.51) goes to A, the first area by
    id; a point on the outer edge is still inside; one just outside is not."""
    store, client = drawn
    store.save_plan(_plan("after", {"u1": "A", "u2": "B", "u3": "B"}))
    points = [[118.51, 24.705], [118.53, 24.705], [118.52, 24.71], [118.5301, 24.705]]
    doc = client.post("/locate", json={"points": points}).json()
    got = [None if a is None else a["community"] for a in doc["results"]]
    assert got == ["A", "B", "B", None]
    assert (
        client.get("/locate", params={"lon": 118.51, "lat": 24.705}).json()["community"]["id"]
        == "A"
    )


def test_layer_collections_follow_new_imports(drawn: tuple[Any, TestClient]) -> None:
    store, client = drawn
    doc = client.get("/collections/compounds/items").json()
    assert [f["id"] for f in doc["features"]] == ["k1"]
    more = _compounds().assign(compound_id=["k2"], name=["镇长楼"])
    store.import_layers({LayerKind.COMPOUNDS: more}, source="more")
    doc = client.get("/collections/compounds/items").json()
    assert [f["id"] for f in doc["features"]] == ["k1", "k2"]
    assert client.get("/collections/compounds/items/k2").json()["properties"]["name"] == "镇长楼"


def test_locate_picks_up_another_writers_plan_in_the_background(postgis_store: Any) -> None:
    """With a refresh interval, /locate never waits on the database for "which plan is the
    latest": it answers from the index it has and re-reads the latest id in the background,
    so a plan stored by another process shows up shortly after the interval."""
    import time

    postgis_store.import_layers({LayerKind.UNITS: _units()}, source="drawn")
    first = postgis_store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    app = create_app(Settings(), store=postgis_store, refresh_seconds=0.2)
    u2 = {"lon": 118.515, "lat": 24.705}
    with TestClient(app) as client:
        assert client.get("/locate", params=u2).json()["plan_id"] == first
        second = postgis_store.save_plan(
            _plan("after", {"u1": "A", "u2": "B", "u3": "B"}, parent_id=first)
        )
        deadline = time.monotonic() + 5
        seen = []
        while time.monotonic() < deadline:
            doc = client.get("/locate", params=u2).json()
            seen.append(doc["plan_id"])
            if doc["plan_id"] == second:
                break
            time.sleep(0.05)
        assert seen[-1] == second and doc["community"]["id"] == "B"
        assert set(seen) <= {first, second}


@pytest.mark.parametrize("crs", ["EPSG:0", "nonsense", "{", ""])
def test_post_scenario_area_in_an_unknown_crs_is_409_naming_it(
    drawn: tuple[Any, TestClient], crs: str
) -> None:
    """A well-formed step whose area CRS pyproj does not know fails as that step (it used to
    escape as a pyproj error)."""
    store, client = drawn
    store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    area = {"bbox": [0, 0, 1, 1], "crs": crs}
    doc = {**SCENARIO, "steps": [{"action": "create", "name": "新社区", "area": area}]}
    r = client.post("/scenarios", json=doc, headers=AUTH)
    assert r.status_code == 409, r.text
    body = r.json()
    assert (body["code"], body["step"], body["action"]) == ("ScenarioError", 1, "create")
    assert "crs" in body["reason"] or "placed" in body["reason"]


def test_post_scenario_on_a_read_only_store_is_503_naming_it(gpkg_store: Any) -> None:
    """A GeoPackage made read-only (``chmod 0444``, respected even for root): the scenario's
    plan cannot be stored, so the answer is a 503 saying so (it used to be a 500), and the
    store keeps its one plan and its mode."""
    import os
    import stat

    gpkg_store.import_layers({LayerKind.UNITS: _units(), LayerKind.COMPOUNDS: _compounds()})
    gpkg_store.save_plan(_plan("before", {"u1": "A", "u2": "A", "u3": "B"}))
    os.chmod(gpkg_store.path, 0o444)
    before = gpkg_store.path.read_bytes()
    app = create_app(Settings(api_token="t"), store=gpkg_store)
    with TestClient(app) as client:
        r = client.post("/scenarios", json=SCENARIO, headers=AUTH)
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "StoreError"
    assert "read-only" in r.json()["description"]
    assert gpkg_store.path.read_bytes() == before
    assert stat.S_IMODE(gpkg_store.path.stat().st_mode) == 0o444
    assert len(gpkg_store.list_plans()) == 1
