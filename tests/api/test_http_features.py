"""OGC API – Features on Providence (real PostGIS): landing, collections, paging, bbox, items."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

GEOJSON = "application/geo+json"


def _links(doc: dict) -> dict[str, str]:
    return {link["rel"]: link["href"] for link in doc["links"]}


def test_landing_and_conformance(client: TestClient) -> None:
    doc = client.get("/").json()
    rels = _links(doc)
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    assert client.get("/openapi.json").status_code == 200


def test_collections_list_the_six(client: TestClient, providence: Any) -> None:
    doc = client.get("/collections").json()
    names = [c["id"] for c in doc["collections"]]
    assert names == ["communities", "grids", "findings", "compounds", "units", "roads"]
    communities = client.get("/collections/communities").json()
    bbox = communities["extent"]["spatial"]["bbox"][0]
    assert bbox == pytest.approx(list(providence.plan.areas.total_bounds))
    assert _links(communities)["items"].endswith("/collections/communities/items")


def test_unknown_collection_is_404(client: TestClient) -> None:
    for url in ("/collections/parcels", "/collections/parcels/items", "/collections/x/items/1"):
        r = client.get(url)
        assert r.status_code == 404
        assert "no collection 'parcels'" in r.json()["description"] or "'x'" in r.text


def test_communities_page_through_all_39(client: TestClient, providence: Any) -> None:
    """Pages of 10 (the app's default limit): 10 + 10 + 10 + 9, linked by next/prev."""
    seen: list[str] = []
    url: str | None = "/collections/communities/items"
    pages = 0
    while url:
        r = client.get(url)
        assert r.status_code == 200
        assert r.headers["content-type"] == GEOJSON
        doc = r.json()
        assert doc["type"] == "FeatureCollection"
        assert doc["numberMatched"] == 39
        assert doc["numberReturned"] == len(doc["features"])
        assert doc["plan_id"] == providence.plan_id
        links = _links(doc)
        if pages > 0:
            assert "prev" in links
        seen += [f["id"] for f in doc["features"]]
        url = links.get("next")
        pages += 1
    assert pages == 4
    want = sorted(providence.plan.areas_at("community")["area_id"])
    assert seen == want
    first = client.get("/collections/communities/items", params={"limit": 1}).json()
    feature = first["features"][0]
    assert feature["properties"]["area_id"] == want[0]
    assert feature["properties"]["level"] == "community"
    assert feature["geometry"]["type"] == "MultiPolygon"
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    assert -72 < lon < -71 and 41 < lat < 42  # RFC 7946 order: longitude, latitude


def test_limit_is_clamped_and_offset_past_the_end(client: TestClient) -> None:
    doc = client.get("/collections/grids/items", params={"limit": 5000}).json()
    assert doc["numberReturned"] == 50  # the app's page_limit_max
    assert doc["numberMatched"] == 154
    doc = client.get("/collections/grids/items", params={"offset": 1000}).json()
    assert doc["features"] == [] and doc["numberReturned"] == 0
    assert "next" not in _links(doc) and "prev" in _links(doc)


def test_bbox_filters_like_shapely(client: TestClient, providence: Any) -> None:
    box = (-71.42, 41.81, -71.40, 41.83)
    grids = providence.plan.areas_at("grid")
    want = sorted(grids[grids.intersects(shapely.box(*box))]["area_id"])
    doc = client.get(
        "/collections/grids/items", params={"bbox": ",".join(map(str, box)), "limit": 50}
    ).json()
    assert sorted(f["id"] for f in doc["features"]) == want
    assert doc["numberMatched"] == len(want) and 0 < len(want) < 154
    units = providence.units
    want_units = sorted(units[units.intersects(shapely.box(*box))]["unit_id"])
    got: list[str] = []
    url: str | None = f"/collections/units/items?bbox={','.join(map(str, box))}&limit=50"
    while url:
        doc = client.get(url).json()
        assert doc["numberMatched"] == len(want_units)
        got += [f["id"] for f in doc["features"]]
        url = _links(doc).get("next")
    assert got == want_units


def test_units_collection_pages_from_the_store(client: TestClient, providence: Any) -> None:
    doc = client.get("/collections/units/items", params={"limit": 3, "offset": 6}).json()
    assert doc["numberMatched"] == 3014
    ids = sorted(providence.units["unit_id"])
    assert [f["id"] for f in doc["features"]] == ids[6:9]
    props = doc["features"][0]["properties"]
    assert set(props) >= {"unit_id", "households", "residents"}
    assert "plan_id" not in doc


@pytest.mark.parametrize(
    "bbox",
    ["1,2,3", "a,b,c,d", "10,10,0,0", "-200,0,0,1", "0,0,nan,1", "1,2,3,4,5"],
)
def test_bad_bbox_is_400(client: TestClient, bbox: str) -> None:
    r = client.get("/collections/units/items", params={"bbox": bbox})
    assert r.status_code == 400
    assert r.json()["description"].startswith(f"bbox {bbox!r}")


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({"limit": 0}, "limit"), ({"offset": -1}, "offset"), ({"plan": "x"}, "plan")],
)
def test_bad_paging_is_422(client: TestClient, params: dict, fragment: str) -> None:
    r = client.get("/collections/communities/items", params=params)
    assert r.status_code == 422
    assert fragment in r.json()["description"]


def test_plan_parameter(client: TestClient, providence: Any) -> None:
    # a layer collection is the same under every plan: plan= must name one, changes nothing
    r = client.get("/collections/units/items", params={"plan": providence.plan_id, "limit": 5})
    assert r.status_code == 200
    plain = client.get("/collections/units/items", params={"limit": 5}).json()
    assert r.json()["features"] == plain["features"]
    r = client.get("/collections/units/items", params={"plan": 999})
    assert r.status_code == 404 and "plan 999" in r.json()["description"]
    r = client.get("/collections/communities/items", params={"plan": 999})
    assert r.status_code == 404
    assert "plan 999" in r.json()["description"]
    r = client.get("/collections/communities/items", params={"plan": providence.plan_id})
    assert r.json()["numberMatched"] == 39


def test_one_item(client: TestClient, providence: Any) -> None:
    r = client.get("/collections/grids/items/440070022002")
    assert r.status_code == 200
    assert r.headers["content-type"] == GEOJSON
    doc = r.json()
    assert doc["id"] == "440070022002"
    assert doc["properties"]["parent_id"] == "002200"
    assert {"self", "collection"} <= set(_links(doc))
    r = client.get("/collections/units/items/440070022002009")
    assert r.status_code == 200 and r.json()["properties"]["unit_id"] == "440070022002009"
    r = client.get("/collections/units/items/nope")
    assert r.status_code == 404 and r.json()["description"] == "no feature 'nope' in units"
    r = client.get("/collections/grids/items/nope")
    assert r.status_code == 404
    assert r.json()["description"] == f"no feature 'nope' in grids of plan {providence.plan_id}"


def test_empty_collections(client: TestClient, providence: Any) -> None:
    """Providence has no roads, compounds or findings: empty collections, not errors."""
    for name in ("roads", "compounds", "findings"):
        doc = client.get(f"/collections/{name}/items").json()
        assert doc["features"] == [] and doc["numberMatched"] == 0
    r = client.get("/collections/findings/items/1")
    assert r.status_code == 404


def _signed_area(ring: list[list[float]]) -> float:
    """Shoelace area of a closed ring: positive when counter-clockwise."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2


def test_polygons_follow_the_right_hand_rule(client: TestClient) -> None:
    """RFC 7946 §3.1.6: exterior rings counter-clockwise, holes clockwise.

    The communities are dissolved from blocks (GEOS gives clockwise shells) and the units
    come from a shapefile-style source, so neither is oriented by accident.
    """
    for name in ("communities", "grids", "units"):
        doc = client.get(f"/collections/{name}/items", params={"limit": 50}).json()
        assert doc["features"]
        for feature in doc["features"]:
            geometry = feature["geometry"]
            polygons = (
                geometry["coordinates"]
                if geometry["type"] == "MultiPolygon"
                else [geometry["coordinates"]]
            )
            for rings in polygons:
                assert _signed_area(rings[0]) > 0, (name, feature["id"], "exterior")
                for hole in rings[1:]:
                    assert _signed_area(hole) < 0, (name, feature["id"], "hole")
