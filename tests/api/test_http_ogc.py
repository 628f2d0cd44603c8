"""OGC API Features as third-party clients expect it, on both stores (and through GDAL's
OAPIF driver, via pyogrio, against a real uvicorn server): ids with ``/``, spaces
and Chinese fetched by id; unknown query parameters refused; Part 2 CRS; links that never echo
an untrusted ``Host``; queryables and property filters; HEAD and OPTIONS.

The store is tiny and hand-drawn (EPSG:4326, near Shishi, Fujian)::

    24.79 +-----------+-----------+
          | way/123   | 小区 甲    |   one unit each, 30 and 40 households;
          |  (A)      |  (B)      |   community 社区/一 = way/123, 社区 二 = 小区 甲
    24.78 +-----------+-----------+
       118.55      118.56      118.57
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from gridplan.api.app import create_app
from gridplan.data.layers import LayerKind
from gridplan.plan import Plan
from gridplan.settings import Settings

pytestmark = [pytest.mark.postgis]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
IDS = ["way/123", "小区 甲"]
COMMUNITIES = ["社区/一", "社区 二"]
BOXES = [shapely.box(118.55, 24.78, 118.56, 24.79), shapely.box(118.56, 24.78, 118.57, 24.79)]


def _seed(store: Any) -> int:
    units = gpd.GeoDataFrame(
        {"unit_id": IDS, "households": [30.0, 40.0], "residents": [75.0, 100.0]},
        geometry=BOXES,
        crs=4326,
    )
    areas = gpd.GeoDataFrame(
        {
            "level": ["community"] * 2,
            "area_id": COMMUNITIES,
            "name": ["一", "二"],
            "code": ["350581001001", "350581001002"],
            "parent_id": [None, None],
            "households": [30.0, 40.0],
            "residents": [75.0, 100.0],
        },
        geometry=BOXES,
        crs=4326,
    )
    assignments = pd.DataFrame(
        {"unit_id": IDS, "community_id": COMMUNITIES, "grid_id": [None, None]}
    )
    store.import_layers({LayerKind.UNITS: units}, source="hand-drawn")
    return int(store.save_plan(Plan("tiny", assignments, areas)))


@pytest.fixture
def seeded(store: Any) -> Any:
    _seed(store)
    return store


def _client(store: Any, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(**settings), store=store))


@pytest.fixture
def client(seeded: Any) -> Iterator[TestClient]:
    with _client(seeded) as c:
        yield c


_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


def _links(doc: dict) -> dict[str, str]:
    return {link["rel"]: link["href"] for link in doc["links"]}


# -- 1. every feature fetchable by id --------------------------------------------------------


@pytest.mark.parametrize(("collection", "fid"), [("units", IDS[0]), ("units", IDS[1])])
def test_any_id_is_fetchable_percent_encoded(client: TestClient, collection: str, fid: str) -> None:
    r = client.get(f"/collections/{collection}/items/{quote(fid, safe='')}")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["id"] == fid
    assert _links(doc)["self"].endswith(f"/collections/{collection}/items/{quote(fid, safe='')}")
    # the link the server wrote fetches the same feature
    assert client.get(_links(doc)["self"]).json()["id"] == fid


def test_plan_area_ids_with_slash_and_chinese(client: TestClient) -> None:
    for fid in COMMUNITIES:
        r = client.get(f"/collections/communities/items/{quote(fid, safe='')}")
        assert r.status_code == 200 and r.json()["id"] == fid
    assert client.get("/collections/units/items/way/123").json()["id"] == "way/123"  # unencoded
    r = client.get(f"/collections/units/items/{quote('way/124', safe='')}")
    assert r.status_code == 404 and r.json()["description"] == "no feature 'way/124' in units"


# -- 2. unknown query parameters -------------------------------------------------------------

ROUTES = [
    "/",
    "/conformance",
    "/collections",
    "/collections/units",
    "/collections/units/queryables",
    "/collections/units/items",
    "/collections/communities/items",
    f"/collections/units/items/{quote(IDS[0], safe='')}",
]


@pytest.mark.parametrize("url", ROUTES)
def test_an_unknown_parameter_is_400_naming_it(client: TestClient, url: str) -> None:
    r = client.get(url, params={"colour": "red"})
    assert r.status_code == 400, r.text
    assert "unknown query parameter 'colour'" in r.json()["description"]
    assert client.get(url).status_code == 200


def test_documented_parameters_still_work(client: TestClient) -> None:
    r = client.get(
        "/collections/units/items",
        params={
            "bbox": "118.54,24.77,118.555,24.80",
            "bbox-crs": CRS84,
            "crs": CRS84,
            "limit": 5,
            "offset": 0,
        },
    )
    assert r.status_code == 200, r.text
    assert [f["id"] for f in r.json()["features"]] == ["way/123"]
    r = client.get("/collections/communities/items", params={"plan": 1, "limit": 1, "offset": 1})
    assert r.status_code in (200, 404)  # plan 1 may not be this store's; never a 400


# -- 3. Part 2 CRS ---------------------------------------------------------------------------


def test_collections_declare_their_crs(client: TestClient) -> None:
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    for c in client.get("/collections").json()["collections"]:
        assert c["storageCrs"] == CRS84
        assert c["crs"] == [CRS84, EPSG + "4326", EPSG + "4490", EPSG + "3857"]


def _first_corner(doc: dict) -> list[float]:
    geometry = doc["geometry"]
    ring = geometry["coordinates"][0] if geometry["type"] == "Polygon" else None
    if ring is None:
        ring = geometry["coordinates"][0][0]
    return [min(p[0] for p in ring), min(p[1] for p in ring)]


@pytest.mark.parametrize(
    ("crs", "want"),
    [
        (CRS84, [118.55, 24.78]),  # longitude, latitude
        (EPSG + "4326", [24.78, 118.55]),  # latitude, longitude (the EPSG axis order)
        (EPSG + "4490", [24.78, 118.55]),  # CGCS2000: latitude, longitude
        (
            EPSG + "3857",
            list(Transformer.from_crs(4326, 3857, always_xy=True).transform(118.55, 24.78)),
        ),
    ],
)
def test_output_crs(client: TestClient, crs: str, want: list[float]) -> None:
    url = f"/collections/units/items/{quote(IDS[0], safe='')}"
    r = client.get(url, params={"crs": crs})
    assert r.status_code == 200, r.text
    assert r.headers["content-crs"] == f"<{crs}>"
    assert _first_corner(r.json()) == pytest.approx(want, abs=1e-6 if crs != EPSG + "3857" else 1)
    r = client.get("/collections/units/items", params={"crs": crs})
    assert r.headers["content-crs"] == f"<{crs}>"
    first = next(f for f in r.json()["features"] if f["id"] == IDS[0])
    assert _first_corner(first) == pytest.approx(want, abs=1e-6 if crs != EPSG + "3857" else 1)


def test_default_crs_header_and_short_forms(client: TestClient) -> None:
    assert client.get("/collections/units/items").headers["content-crs"] == f"<{CRS84}>"
    r = client.get("/collections/units/items", params={"crs": "[EPSG:4490]"})
    assert r.headers["content-crs"] == f"<{EPSG}4490>"


@pytest.mark.parametrize(
    ("param", "value"),
    [("crs", EPSG + "32650"), ("crs", "nonsense"), ("bbox-crs", EPSG + "2000")],
)
def test_unsupported_crs_is_400(client: TestClient, param: str, value: str) -> None:
    params = {param: value, "bbox": "0,0,1,1"}
    r = client.get("/collections/units/items", params=params)
    assert r.status_code == 400
    assert r.json()["description"].startswith(f"{param} {value!r} is not supported")


@pytest.mark.parametrize(
    ("bbox_crs", "bbox"),
    [
        (CRS84, "118.565,24.70,118.60,24.80"),
        (EPSG + "4326", "24.70,118.565,24.80,118.60"),
        (EPSG + "4490", "24.70,118.565,24.80,118.60"),
        (EPSG + "3857", ",".join(map(str, _MERCATOR.transform_bounds(118.565, 24.7, 118.6, 24.8)))),
    ],
)
def test_bbox_crs(client: TestClient, bbox_crs: str, bbox: str) -> None:
    """Each box covers the east unit only (x 118.565–118.60 in its own CRS and axis order)."""
    r = client.get("/collections/units/items", params={"bbox": bbox, "bbox-crs": bbox_crs})
    assert r.status_code == 200, r.text
    assert [f["id"] for f in r.json()["features"]] == [IDS[1]]


def test_bbox_out_of_range_for_its_crs_is_400(client: TestClient) -> None:
    r = client.get(
        "/collections/units/items",
        params={"bbox": "118.5,24.7,118.6,24.8", "bbox-crs": EPSG + "4326"},
    )
    assert r.status_code == 400 and "latitude,longitude" in r.json()["description"]


# -- 4. links never echo an untrusted Host ---------------------------------------------------


def test_an_untrusted_host_is_not_echoed(client: TestClient) -> None:
    for url in ("/", "/collections", "/collections/units", "/collections/units/items", "/plans"):
        r = client.get(url, headers={"Host": "evil.example"})
        assert r.status_code == 200
        assert "evil.example" not in r.text, url
    item = client.get(
        f"/collections/units/items/{quote(IDS[0], safe='')}", headers={"Host": "evil.example"}
    )
    assert "evil.example" not in item.text
    assert _links(item.json())["self"].startswith("http://testserver/")


def test_links_from_the_public_url(seeded: Any) -> None:
    with _client(seeded, public_url="https://maps.example.org/gridplan/") as c:
        for url in ("/", "/collections", "/collections/units/items"):
            doc = c.get(url, headers={"Host": "evil.example"}).json()
            hrefs = [link["href"] for link in doc["links"]]
            assert all(h.startswith("https://maps.example.org/gridplan/") for h in hrefs), hrefs
        doc = c.get("/collections/units/items", params={"limit": 1}).json()
        assert _links(doc)["next"] == (
            "https://maps.example.org/gridplan/collections/units/items?offset=1&limit=1"
        )


def test_allowed_hosts_are_kept(seeded: Any) -> None:
    with _client(seeded, allowed_hosts=["gridplan.example.org"]) as c:
        doc = c.get("/collections", headers={"Host": "gridplan.example.org:8080"}).json()
        assert _links(doc)["self"] == "http://gridplan.example.org:8080/collections"
        doc = c.get("/collections", headers={"Host": "localhost:8765"}).json()
        assert _links(doc)["self"] == "http://localhost:8765/collections"


def test_a_malformed_public_url_is_refused() -> None:
    from gridplan.errors import InputError

    with pytest.raises(InputError, match="public_url"):
        create_app(Settings(public_url="maps.example.org"))


# -- 5. queryables, property filters, HEAD, OPTIONS ------------------------------------------


def test_queryables(client: TestClient) -> None:
    r = client.get("/collections/units/queryables")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/schema+json"
    doc = r.json()
    assert doc["type"] == "object" and doc["$id"].endswith("/collections/units/queryables")
    assert doc["properties"]["unit_id"]["type"] == "string"
    assert doc["properties"]["households"]["type"] == "number"
    communities = client.get("/collections/communities/queryables").json()["properties"]
    assert {"level", "area_id", "name", "code", "households"} <= set(communities)
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables" in conf


@pytest.mark.parametrize(
    ("params", "want"),
    [
        ({"unit_id": "way/123"}, ["way/123"]),
        ({"households": "40"}, ["小区 甲"]),
        ({"households": "40.0", "unit_id": "way/123"}, []),
        ({"residents": "75", "bbox": "118.5,24.7,118.6,24.8"}, ["way/123"]),
    ],
)
def test_property_filters(client: TestClient, params: dict, want: list[str]) -> None:
    doc = client.get("/collections/units/items", params=params).json()
    assert [f["id"] for f in doc["features"]] == want
    assert doc["numberMatched"] == len(want)


def test_plan_property_filter_and_bad_value(client: TestClient) -> None:
    doc = client.get("/collections/communities/items", params={"level": "community"}).json()
    assert doc["numberMatched"] == 2
    doc = client.get("/collections/communities/items", params={"level": "grid"}).json()
    assert doc["numberMatched"] == 0
    r = client.get("/collections/units/items", params={"households": "many"})
    assert r.status_code == 400 and "households" in r.json()["description"]


GET_ROUTES = [*ROUTES, "/healthz", "/openapi.json", "/plans"]


@pytest.mark.parametrize("url", GET_ROUTES)
def test_head_on_every_get_route(client: TestClient, url: str) -> None:
    get = client.get(url)
    head = client.head(url)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


@pytest.mark.parametrize(
    ("url", "methods"),
    [
        ("/collections/units/items", {"GET", "HEAD", "OPTIONS"}),
        (f"/collections/units/items/{quote(IDS[0], safe='')}", {"GET", "HEAD", "OPTIONS"}),
        ("/locate", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("/scenarios", {"POST", "OPTIONS"}),
    ],
)
def test_options_answers_allow(client: TestClient, url: str, methods: set[str]) -> None:
    r = client.options(url)
    assert r.status_code == 204
    assert set(r.headers["allow"].split(", ")) == methods


def test_options_on_no_route_is_404(client: TestClient) -> None:
    assert client.options("/nowhere").status_code == 404


def test_cors_preflight_still_works(seeded: Any) -> None:
    with _client(seeded, cors_origins=["https://dashboard.example.org"]) as c:
        r = c.options(
            "/collections",
            headers={
                "Origin": "https://dashboard.example.org",
                "Access-Control-Request-Method": "GET",
            },
        )
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://dashboard.example.org"


# -- 6. a client nobody here wrote: GDAL's OAPIF driver -------------------------------------


_SERVE = """
import sys, uvicorn
from gridplan.api.app import create_app
from gridplan.settings import Settings
app = create_app(Settings(database_url=sys.argv[1], page_limit_default=1))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


@pytest.fixture
def server(gpkg_store: Any, tmp_path: Any) -> Iterator[str]:
    """The store served by uvicorn in a process of its own (GDAL holds the GIL while it
    reads, so the server cannot share this process)."""
    _seed(gpkg_store)
    gpkg_store.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(tmp_path / "gridplan.gpkg"), str(port)]
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"OAPIF:http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(10)


def test_gdal_lists_pages_filters_and_fetches_by_id(server: str) -> None:
    layers = {name for name, _ in pyogrio.list_layers(server)}
    assert {"communities", "units", "roads"} <= layers
    units = pyogrio.read_dataframe(server, layer="units", PAGE_SIZE=1)  # two pages
    assert sorted(units["unit_id"]) == sorted(IDS)
    east = pyogrio.read_dataframe(server, layer="units", bbox=(118.565, 24.7, 118.6, 24.8))
    assert list(east["unit_id"]) == [IDS[1]]
    one = pyogrio.read_dataframe(server, layer="units", where="id = 'way/123'")
    assert list(one["unit_id"]) == ["way/123"]


def test_gdal_reads_cgcs2000(server: str) -> None:
    frame = pyogrio.read_dataframe(server, layer="units", CRS="EPSG:4490")
    assert frame.crs.to_epsg() == 4490
    west = frame[frame["unit_id"] == IDS[0]].geometry.iloc[0]
    # GDAL hands lon/lat to GIS code although the server sent EPSG:4490 as lat, lon
    assert west.bounds == pytest.approx((118.55, 24.78, 118.56, 24.79), abs=1e-6)


def test_owslib_reads_the_service(server: str) -> None:
    """OWSLib's OGC API – Features client: landing, conformance, collections, queryables,
    paged and bbox item lists, one feature by (percent-encoded) OSM id, and the CRS list."""
    from owslib.ogcapi.features import Features

    api = Features(server.removeprefix("OAPIF:"))
    assert any(c.endswith("/conf/core") for c in api.conformance()["conformsTo"])
    names = {c["id"] for c in api.collections()["collections"]}
    assert {"communities", "grids", "units", "roads", "findings"} <= names
    units = api.collection("units")
    assert "http://www.opengis.net/def/crs/EPSG/0/4490" in units["crs"]
    assert api.collection_queryables("units")["type"] == "object"
    first = api.collection_items("units", limit=1)
    assert first["numberReturned"] == 1
    assert any(link["rel"] == "next" for link in first["links"])
    east = api.collection_items("units", bbox=[118.565, 24.7, 118.6, 24.8])
    assert [f["id"] for f in east["features"]] == [IDS[1]]
    one = api.collection_item("units", quote("way/123", safe=""))
    assert one["id"] == "way/123"
    cgcs = api.collection_items("units", crs="http://www.opengis.net/def/crs/EPSG/0/4490")
    assert cgcs["numberReturned"] >= 1
