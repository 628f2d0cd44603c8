"""OGC API – Features collections: communities, grids, findings (of a plan), compounds, units
and roads (the stored layers), as GeoJSON.

``/collections/{name}/items`` takes ``bbox`` (``minx,miny,maxx,maxy``, in ``bbox-crs``),
``limit``, ``offset``, ``crs`` (the output CRS), an equality filter per queryable property
(``?level=grid``) and, for the plan collections, ``plan`` (default: the latest plan); it answers
a FeatureCollection with ``numberMatched``, ``numberReturned`` and ``self``/``next``/``prev``
links. ``/collections/{name}/items/{id}`` fetches one feature by any id (``way/10246076``,
``小区 1``: percent-encoded in the URL); ``/collections/{name}/queryables`` is the JSON Schema
of the properties. A query parameter a route does not take is a 400 naming it (OGC API
Features Part 1, ``/req/core/query-param-unknown``).

CRS (OGC API Features Part 2): features are stored in EPSG:4326 with longitude/latitude order,
so the storage CRS is CRS84; ``crs`` and ``bbox-crs`` take CRS84, EPSG:4326, EPSG:4490
(CGCS2000) and EPSG:3857 as OGC URIs (``http://www.opengis.net/def/crs/EPSG/0/4490``; the
CURIE ``[EPSG:4490]`` and ``EPSG:4490`` are accepted too). Coordinates follow the axis order of
the CRS's definition, as Part 2 requires: CRS84 is longitude, latitude; EPSG:4326 and
EPSG:4490 are **latitude, longitude**; EPSG:3857 is easting, northing. The response names its
CRS in the ``Content-Crs`` header.

Plans never change, so the features of a plan are rendered once and kept; a layer is rendered
once per import (see :class:`LayerFeatures`).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pyproj import CRS, Transformer
from starlette.responses import Response

from gridplan.api.service import PLAN_ID_MAX, Service
from gridplan.data.layers import LayerKind
from gridplan.errors import InputError, NotFoundError
from gridplan.plan import Level

GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
#: The CRS the collections are offered in (``crs`` and ``bbox-crs``), the first the default.
SUPPORTED_CRS: tuple[str, ...] = (
    CRS84,
    EPSG_URI + "4326",
    EPSG_URI + "4490",
    EPSG_URI + "3857",
)
#: The CRS the features are stored in (EPSG:4326 held as longitude, latitude).
STORAGE_CRS = CRS84
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


def public_base(request: Request) -> str:
    """The base URL of links (no trailing slash): the configured ``public_url``, else the
    request's (whose ``Host`` the app has already checked, see
    :class:`gridplan.api.app.PublicHost`)."""
    settings = getattr(request.app.state, "service", None)
    configured = getattr(getattr(settings, "settings", None), "public_url", None)
    if configured:
        return str(configured).rstrip("/")
    return str(request.base_url).rstrip("/")


def refuse_unknown_parameters(request: Request, allowed: Iterable[str]) -> None:
    """Raise :class:`InputError` naming every query parameter not in ``allowed``.

    OGC API Features Part 1 (``/req/core/query-param-unknown``): a server answers 400 to a
    parameter it does not know rather than ignoring it.
    """
    known = set(allowed)
    unknown = sorted({k for k in request.query_params if k not in known})
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        takes = ", ".join(sorted(known)) or "no query parameters"
        noun = "parameter" if len(unknown) == 1 else "parameters"
        raise InputError(f"unknown query {noun} {names}; {request.url.path} takes {takes}")


def parse_crs(text: str | None, parameter: str = "crs") -> str:
    """The OGC URI of a supported CRS named by ``text`` (default CRS84).

    Raises
    ------
    InputError
        If the CRS is not one of :data:`SUPPORTED_CRS`.

    Examples
    --------
    >>> parse_crs("http://www.opengis.net/def/crs/EPSG/0/4490")
    'http://www.opengis.net/def/crs/EPSG/0/4490'
    >>> parse_crs("[EPSG:3857]")
    'http://www.opengis.net/def/crs/EPSG/0/3857'
    >>> parse_crs(None)
    'http://www.opengis.net/def/crs/OGC/1.3/CRS84'
    """
    if text is None or text == "":
        return CRS84
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    upper = value.upper()
    if upper in ("OGC:CRS84", "CRS84"):
        value = CRS84
    elif upper.startswith("EPSG:"):
        value = EPSG_URI + value[5:]
    if value in SUPPORTED_CRS:
        return value
    raise InputError(
        f"{parameter} {text!r} is not supported; the supported CRS are {', '.join(SUPPORTED_CRS)}"
    )


def _pyproj_crs(uri: str) -> CRS:
    if uri == CRS84:
        return CRS.from_user_input("OGC:CRS84")
    return CRS.from_epsg(int(uri.rsplit("/", 1)[1]))


_local = threading.local()


def _transformer(source: str, target: str) -> Transformer:
    """A transformer between two supported CRS, in the axis order of their definitions
    (pyproj transformers are not shared between threads)."""
    cache: dict[tuple[str, str], Transformer] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    found = cache.get((source, target))
    if found is None:
        found = Transformer.from_crs(_pyproj_crs(source), _pyproj_crs(target))
        cache[(source, target)] = found
    return found


def _to_crs(geoms: np.ndarray, target: str) -> np.ndarray:
    """Geometries in CRS84 transformed to ``target`` (its axis order)."""
    if target == CRS84:
        return geoms
    t = _transformer(CRS84, target)

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, move), dtype=object)


#: The valid range of each axis of a supported CRS, in its axis order.
_AXIS_RANGE: dict[str, tuple[tuple[float, float], tuple[float, float], str]] = {
    CRS84: ((-180, 180), (-90, 90), "longitude,latitude"),
    EPSG_URI + "4326": ((-90, 90), (-180, 180), "latitude,longitude"),
    EPSG_URI + "4490": ((-90, 90), (-180, 180), "latitude,longitude"),
    EPSG_URI + "3857": ((-20037508.35, 20037508.35), (-20048966.11, 20048966.11), "x,y metres"),
}


def collection_for(name: str) -> Collection:
    """The collection named ``name``.

    Raises
    ------
    NotFoundError
        If there is none.
    """
    found = COLLECTIONS.get(name)
    if found is None:
        raise NotFoundError(f"no collection {name!r}; the collections are {', '.join(COLLECTIONS)}")
    return found


def parse_bbox(text: str | None, crs: str = CRS84) -> tuple[float, float, float, float] | None:
    """Parse ``minx,miny,maxx,maxy`` (or the 6-number 3D form) in ``crs`` (its axis order)
    into a CRS84 longitude/latitude box.

    Raises
    ------
    InputError
        If it is not 4 (or 6) finite numbers with min <= max in the CRS's range.

    Examples
    --------
    >>> parse_bbox("-71.5,41.7,-71.3,41.9")
    (-71.5, 41.7, -71.3, 41.9)
    >>> parse_bbox("41.7,-71.5,41.9,-71.3", "http://www.opengis.net/def/crs/EPSG/0/4326")
    (-71.5, 41.7, -71.3, 41.9)
    """
    if text is None or text == "":
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise InputError(f"bbox {text!r}: expected minx,miny,maxx,maxy as numbers") from exc
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InputError(f"bbox {text!r}: expected 4 finite numbers minx,miny,maxx,maxy")
    minx, miny, maxx, maxy = values
    (x0, x1), (y0, y1), axes = _AXIS_RANGE[crs]
    if not (x0 <= minx <= maxx <= x1 and y0 <= miny <= maxy <= y1):
        raise InputError(
            f"bbox {text!r}: need {x0:g} <= minx <= maxx <= {x1:g} and "
            f"{y0:g} <= miny <= maxy <= {y1:g} ({axes} in {crs})"
        )
    if crs == CRS84:
        return minx, miny, maxx, maxy
    west, south, east, north = _transformer(crs, CRS84).transform_bounds(
        minx, miny, maxx, maxy, densify_pts=21
    )
    return (
        max(-180.0, float(west)),
        max(-90.0, float(south)),
        min(180.0, float(east)),
        min(90.0, float(north)),
    )


@dataclass(frozen=True)
class Collection:
    """One served collection.

    Parameters
    ----------
    name
        The collection id in URLs.
    title, description
        Shown in ``/collections``.
    id_column
        The column holding the feature id (``None``: the 1-based row number).
    level
        For a plan's communities or grids, the level of its areas.
    layer
        For a stored layer, its kind.
    findings
        The plan's findings.
    """

    name: str
    title: str
    description: str
    id_column: str | None
    level: Level | None = None
    layer: LayerKind | None = None
    findings: bool = False

    @property
    def from_plan(self) -> bool:
        """Whether the collection belongs to a plan (``plan=`` applies)."""
        return self.level is not None or self.findings


COLLECTIONS: dict[str, Collection] = {
    c.name: c
    for c in (
        Collection(
            "communities",
            "Communities (社区)",
            "The community polygons of a plan (default: the latest plan).",
            "area_id",
            level=Level.COMMUNITY,
        ),
        Collection(
            "grids",
            "Grids (网格)",
            "The grid polygons of a plan (default: the latest plan); parent_id is the community.",
            "area_id",
            level=Level.GRID,
        ),
        Collection(
            "findings",
            "Findings",
            "The rule violations stored for a plan (default: the latest plan); the id is the "
            "finding's 1-based number within its plan.",
            None,
            findings=True,
        ),
        Collection(
            "compounds",
            "Residential compounds (小区)",
            "Compounds with households and residents.",
            "compound_id",
            layer=LayerKind.COMPOUNDS,
        ),
        Collection(
            "units",
            "Units",
            "The road-bounded blocks that plans are made of.",
            "unit_id",
            layer=LayerKind.UNITS,
        ),
        Collection(
            "roads",
            "Roads",
            "Road centrelines with their class.",
            "road_id",
            layer=LayerKind.ROADS,
        ),
    )
}


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if isinstance(value, str | int | bool):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _right_hand(geoms: np.ndarray) -> np.ndarray:
    """Orient polygon rings as RFC 7946 §3.1.6 asks: exteriors counter-clockwise, holes
    clockwise (GEOS unions and shapefiles give clockwise shells)."""
    return np.asarray(shapely.orient_polygons(geoms, exterior_cw=False), dtype=object)


def _feature(fid: bytes, geometry: str | None, props: bytes) -> bytes:
    return (
        b'{"type":"Feature","id":'
        + fid
        + b',"geometry":'
        + (geometry.encode() if geometry is not None else b"null")
        + b',"properties":'
        + props
        + b"}"
    )


def _geometry_json(geoms: np.ndarray) -> list[str | None]:
    if len(geoms) == 0:
        return []
    return list(shapely.to_geojson(geoms).tolist())


def render_features(
    frame: gpd.GeoDataFrame, id_column: str | None, first_id: int = 1
) -> list[bytes]:
    """Render each row as a GeoJSON Feature (bytes).

    Parameters
    ----------
    frame
        Features in EPSG:4326.
    id_column
        The id column; ``None`` numbers the rows from ``first_id``.
    first_id
        The number of the first row when there is no id column.
    """
    if len(frame) == 0:
        return []
    r = _render(frame, id_column, first_id)
    return r.features


@dataclass(frozen=True)
class _Rendered:
    """A collection rendered once: features, their parts, bounds, ids and properties.

    ``geoms`` are in CRS84 (polygons oriented by the right-hand rule), ``features`` the
    CRS84 GeoJSON of each row; ``fids`` and ``props`` the JSON of each row's id and
    properties, to render a row in another CRS.
    """

    features: list[bytes]
    fids: list[bytes]
    props: list[bytes]
    geoms: np.ndarray
    bounds: np.ndarray
    ids: dict[str, int]
    extent: list[float] | None
    table: pd.DataFrame

    def in_crs(self, rows: list[int], crs: str) -> list[bytes]:
        """The features of ``rows`` with coordinates in ``crs``."""
        if crs == CRS84:
            return [self.features[i] for i in rows]
        moved = _geometry_json(_to_crs(self.geoms[rows], crs))
        return [_feature(self.fids[i], g, self.props[i]) for i, g in zip(rows, moved, strict=True)]


def _render(frame: gpd.GeoDataFrame, id_column: str | None, first_id: int = 1) -> _Rendered:
    frame = frame.reset_index(drop=True)
    geoms = _right_hand(np.asarray(frame.geometry.values, dtype=object))
    columns = [c for c in frame.columns if c != frame.geometry.name]
    table = pd.DataFrame(frame[columns])
    records = table.to_dict("records")
    fids: list[bytes] = []
    props: list[bytes] = []
    ids: dict[str, int] = {}
    for i, row in enumerate(records):
        clean = {str(k): _plain(v) for k, v in row.items()}
        fid = clean.get(id_column) if id_column else first_id + i
        fids.append(orjson.dumps(fid))
        props.append(orjson.dumps(clean))
        ids.setdefault(str(fid), i)
    geometry = _geometry_json(geoms)
    features = [_feature(f, g, p) for f, g, p in zip(fids, geometry, props, strict=True)]
    bounds = shapely.bounds(geoms) if len(frame) else np.empty((0, 4))
    extent = None
    if len(frame) and np.isfinite(bounds).all():
        extent = [
            float(bounds[:, 0].min()),
            float(bounds[:, 1].min()),
            float(bounds[:, 2].max()),
            float(bounds[:, 3].max()),
        ]
    return _Rendered(features, fids, props, geoms, bounds, ids, extent, table)


def _json_type(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    return "string"


def queryables_of(r: _Rendered) -> dict[str, str]:
    """The queryable properties of a rendered collection and their JSON types."""
    return {str(c): _json_type(r.table[c].dtype) for c in r.table.columns}


def _filter_rows(
    r: _Rendered, rows: np.ndarray, filters: dict[str, str], types: dict[str, str]
) -> np.ndarray:
    """The ``rows`` whose properties equal every ``filters`` value.

    Raises
    ------
    InputError
        If a value is not of its property's type.
    """
    if not filters or len(rows) == 0:
        return rows
    keep = np.ones(len(rows), dtype=bool)
    for name, text in filters.items():
        column = r.table[name].iloc[rows]
        kind = types[name]
        if kind in ("integer", "number"):
            try:
                value = float(text)
            except ValueError as exc:
                raise InputError(f"{name}={text!r}: {name} is a {kind}") from exc
            keep &= (pd.to_numeric(column, errors="coerce") == value).to_numpy(dtype=bool)
        elif kind == "boolean":
            lowered = text.lower()
            if lowered not in ("true", "false"):
                raise InputError(f"{name}={text!r}: {name} is true or false")
            keep &= (column == (lowered == "true")).to_numpy(dtype=bool)
        else:
            plain = [_plain(v) for v in column.tolist()]
            keep &= np.array([v is not None and str(v) == text for v in plain], dtype=bool)
    return rows[keep]


class PlanFeatures:
    """Rendered plan collections per (plan id, collection), a small LRU."""

    def __init__(self, service: Service, *, max_entries: int = 16) -> None:
        self._service = service
        self._max = max_entries
        self._cache: OrderedDict[tuple[int, str], _Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, collection: Collection, plan_id: int | None) -> tuple[int, _Rendered]:
        """The plan id and its rendered collection."""
        plans = self._service.plans
        known = plans.latest_known() if plan_id is None else plan_id
        pid = known if known is not None else plans.latest_id()
        key = (pid, collection.name)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return pid, hit
        if collection.findings:
            plan = self._service.plans.get(pid)  # raises NotFoundError for an unknown plan
            frame = self._service.call(lambda s: s.read_findings(pid))
            rendered = _render(frame, None)
        else:
            assert collection.level is not None
            plan = self._service.plans.get(pid)
            rendered = _render(plan.areas_at(collection.level), collection.id_column)
        del plan
        with self._lock:
            self._cache[key] = rendered
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return pid, rendered


class LayerFeatures:
    """Rendered layer collections (compounds, units, roads), re-read when a new import lands.

    Which import is the latest is re-read from the store at most every
    ``service.refresh_seconds`` (:meth:`Service.latest_import`), so a request normally touches
    no database; an import by another process shows up within that time.
    """

    def __init__(self, service: Service) -> None:
        self._service = service
        self._cache: dict[str, tuple[int, _Rendered]] = {}
        self._lock = threading.Lock()

    def get(self, collection: Collection) -> _Rendered:
        """The rendered layer of a collection, current as of the latest import."""
        assert collection.layer is not None
        layer = collection.layer
        marker = self._service.latest_import()
        hit = self._cache.get(collection.name)
        if hit is not None and hit[0] == marker:
            return hit[1]
        frame = self._service.call(lambda s: s.read_layer(layer))
        rendered = _render(frame, collection.id_column)
        with self._lock:
            self._cache[collection.name] = (marker, rendered)
        return rendered


def _query(params: Iterable[tuple[str, str]]) -> str:
    text = urlencode(list(params), quote_via=quote)
    return f"?{text}" if text else ""


def _collection_doc(request: Request, c: Collection, extent: list[float] | None) -> dict[str, Any]:
    base = public_base(request)
    href = f"{base}/collections/{quote(c.name, safe='')}"
    doc: dict[str, Any] = {
        "id": c.name,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": list(SUPPORTED_CRS),
        "storageCrs": STORAGE_CRS,
        "links": [
            {"href": href, "rel": "self", "type": "application/json"},
            {
                "href": f"{href}/items",
                "rel": "items",
                "type": GEOJSON,
                "title": f"{c.title}: items",
            },
            {
                "href": f"{href}/queryables",
                "rel": QUERYABLES_REL,
                "type": SCHEMA_JSON,
                "title": f"{c.title}: queryables",
            },
        ],
    }
    if extent is not None:
        doc["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    return doc


def _items_href(request: Request, c: Collection, params: list[tuple[str, str]]) -> str:
    base = public_base(request)
    return f"{base}/collections/{quote(c.name, safe='')}/items{_query(params)}"


def _page_link(
    request: Request, c: Collection, rel: str, offset: int, limit: int
) -> dict[str, Any]:
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")]
    params += [("offset", str(offset)), ("limit", str(limit))]
    return {"href": _items_href(request, c, params), "rel": rel, "type": GEOJSON}


def _collection_body(
    request: Request,
    c: Collection,
    features: list[bytes],
    matched: int,
    offset: int,
    limit: int,
    plan_id: int | None,
) -> bytes:
    links = [
        {
            "href": _items_href(request, c, request.query_params.multi_items()),
            "rel": "self",
            "type": GEOJSON,
        }
    ]
    if offset + limit < matched:
        links.append(_page_link(request, c, "next", offset + limit, limit))
    if offset > 0:
        links.append(_page_link(request, c, "prev", max(0, offset - limit), limit))
    links.append(
        {
            "href": f"{public_base(request)}/collections/{quote(c.name, safe='')}",
            "rel": "collection",
            "type": "application/json",
        }
    )
    meta: dict[str, Any] = {
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    if plan_id is not None:
        meta["plan_id"] = plan_id
    tail = orjson.dumps(meta)
    return b'{"type":"FeatureCollection","features":[' + b",".join(features) + b"]," + tail[1:]


def _crs_header(crs: str) -> dict[str, str]:
    return {"Content-Crs": f"<{crs}>"}


_FC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array"},
        "numberMatched": {"type": "integer"},
        "numberReturned": {"type": "integer"},
        "links": {"type": "array"},
    },
}

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A bad or unknown parameter, or an unsupported CRS"},
    404: {"description": "No such collection, feature or plan"},
    422: {"description": "A parameter of the wrong type or out of range"},
    503: {"description": "The database cannot be reached"},
}

_CRS_HELP = (
    "Output CRS, one of " + ", ".join(SUPPORTED_CRS) + " (default CRS84, longitude/latitude; "
    "EPSG:4326 and EPSG:4490 answer latitude, longitude)"
)
#: What ``crs`` and ``bbox-crs`` accept, in the OpenAPI schema: the URIs and their short forms.
_CRS_ENUM: dict[str, Any] = {
    "enum": [*SUPPORTED_CRS, "OGC:CRS84", "CRS84", "EPSG:4326", "EPSG:4490", "EPSG:3857"]
}
_BBOX_CRS_HELP = "CRS of bbox, one of " + ", ".join(SUPPORTED_CRS) + " (default CRS84)"

_PLAN_HELP = (
    "Plan id: which plan's areas the plan collections (communities, grids, findings) hold "
    "(default: the latest); on a layer collection it must name a stored plan and changes nothing"
)

#: The query parameters of each route (beside the queryables of ``/items``).
_ITEMS_PARAMETERS = frozenset({"bbox", "bbox-crs", "crs", "limit", "offset", "plan"})
_ITEM_PARAMETERS = frozenset({"crs", "plan"})


def make_router(service: Service) -> APIRouter:
    """The OGC API – Features routes of one app."""
    router = APIRouter(tags=["features"])
    rendered = PlanFeatures(service)
    layers = LayerFeatures(service)
    settings = service.settings

    def _extent(c: Collection) -> list[float] | None:
        if not c.from_plan:
            return None
        try:
            return rendered.get(c, None)[1].extent
        except NotFoundError:
            return None

    def _check_plan(c: Collection, plan: int | None) -> None:
        """``plan=`` on a layer collection (units, roads, ...): the layer is the same under
        every plan, so it changes nothing, but it must name a stored plan (plans are numbered
        from 1 and never deleted, so that is one comparison with the latest id)."""
        if plan is not None and not c.from_plan:
            try:
                latest = service.plans.latest_id()
            except NotFoundError:
                latest = 0
            if plan > latest:
                raise NotFoundError(f"plan {plan} not found")

    def _load(c: Collection, plan: int | None) -> tuple[int | None, _Rendered, str]:
        if c.from_plan:
            pid, r = rendered.get(c, plan)
            return pid, r, f"{c.name} of plan {pid}"
        return None, layers.get(c), c.name

    @router.get("/collections", summary="The collections", responses=_ERRORS)
    def collections(request: Request) -> Response:
        refuse_unknown_parameters(request, ())
        base = public_base(request)
        body = {
            "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}],
            "collections": [_collection_doc(request, c, _extent(c)) for c in COLLECTIONS.values()],
        }
        return Response(orjson.dumps(body), media_type="application/json")

    @router.get("/collections/{name}", summary="One collection", responses=_ERRORS)
    def collection(
        request: Request, name: Annotated[str, Path(description="Collection id")]
    ) -> Response:
        c = collection_for(name)
        refuse_unknown_parameters(request, ())
        return Response(
            orjson.dumps(_collection_doc(request, c, _extent(c))), media_type="application/json"
        )

    @router.get(
        "/collections/{name}/queryables",
        summary="The queryable properties of a collection (JSON Schema)",
        responses={
            200: {"content": {SCHEMA_JSON: {}}, "description": "JSON Schema"},
            **_ERRORS,
        },
        response_class=Response,
    )
    def queryables(
        request: Request,
        name: Annotated[str, Path(description="Collection id")],
        plan: Annotated[
            int | None,
            Query(ge=1, le=PLAN_ID_MAX, description=_PLAN_HELP),
        ] = None,
    ) -> Response:
        c = collection_for(name)
        refuse_unknown_parameters(request, ("plan",))
        _check_plan(c, plan)
        try:
            _, r, _where = _load(c, plan)
            types = queryables_of(r)
        except NotFoundError:
            if plan is not None:
                raise
            types = {}  # no plan stored yet
        href = f"{public_base(request)}/collections/{quote(c.name, safe='')}/queryables"
        doc = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": href,
            "type": "object",
            "title": c.title,
            "description": "Properties usable as equality filters on the items (?property=value)",
            "properties": {k: {"title": k, "type": t} for k, t in types.items()},
            "additionalProperties": False,
        }
        return Response(orjson.dumps(doc), media_type=SCHEMA_JSON)

    @router.get(
        "/collections/{name}/items",
        summary="Features of a collection (GeoJSON FeatureCollection)",
        description="Besides the parameters listed, each queryable property of the collection "
        "(see `/collections/{name}/queryables`) filters by equality: `?level=grid`.",
        responses={
            200: {"content": {GEOJSON: {"schema": _FC_SCHEMA}}, "description": "Features"},
            **_ERRORS,
        },
        response_class=Response,
    )
    async def items(
        request: Request,
        name: Annotated[str, Path(description="Collection id")],
        bbox: Annotated[
            str | None,
            Query(description="minx,miny,maxx,maxy in bbox-crs (default CRS84 lon/lat)"),
        ] = None,
        bbox_crs: Annotated[
            str | None,
            Query(alias="bbox-crs", description=_BBOX_CRS_HELP, json_schema_extra=_CRS_ENUM),
        ] = None,
        crs: Annotated[
            str | None, Query(description=_CRS_HELP, json_schema_extra=_CRS_ENUM)
        ] = None,
        limit: Annotated[
            int | None, Query(ge=1, description="Page size (clamped to the maximum)")
        ] = None,
        offset: Annotated[int, Query(ge=0, description="Features to skip")] = 0,
        plan: Annotated[
            int | None,
            Query(ge=1, le=PLAN_ID_MAX, description=_PLAN_HELP),
        ] = None,
    ) -> Response:
        c = collection_for(name)
        _check_plan(c, plan)
        out_crs = parse_crs(crs, "crs")
        box = parse_bbox(bbox, parse_crs(bbox_crs, "bbox-crs"))
        size = min(limit or settings.page_limit_default, settings.page_limit_max)
        pid, r, _where = await run_in_threadpool(_load, c, plan)
        types = queryables_of(r)
        refuse_unknown_parameters(request, _ITEMS_PARAMETERS | set(types))
        filters = {
            k: v
            for k, v in request.query_params.items()
            if k in types and k not in _ITEMS_PARAMETERS
        }
        if box is None:
            rows = np.arange(len(r.features))
        else:
            b = r.bounds
            rows = np.flatnonzero(
                (b[:, 0] <= box[2])
                & (b[:, 2] >= box[0])
                & (b[:, 1] <= box[3])
                & (b[:, 3] >= box[1])
            )
            if len(rows):  # bounding boxes overlap: now the geometry itself
                rows = rows[shapely.intersects(r.geoms[rows], shapely.box(*box))]
        rows = _filter_rows(r, rows, filters, types)
        page = r.in_crs(rows[offset : offset + size].tolist(), out_crs)
        body = _collection_body(request, c, page, len(rows), offset, size, pid)
        return Response(body, media_type=GEOJSON, headers=_crs_header(out_crs))

    @router.get(
        "/collections/{name}/items/{feature_id:path}",
        summary="One feature (GeoJSON Feature)",
        description="Any feature id, percent-encoded: `/collections/compounds/items/way%2F10246076`"
        " (an unencoded `/` works too).",
        responses={200: {"content": {GEOJSON: {}}, "description": "A feature"}, **_ERRORS},
        response_class=Response,
    )
    def item(
        request: Request,
        name: Annotated[str, Path(description="Collection id")],
        feature_id: Annotated[str, Path(description="Feature id (percent-encoded)")],
        crs: Annotated[
            str | None, Query(description=_CRS_HELP, json_schema_extra=_CRS_ENUM)
        ] = None,
        plan: Annotated[
            int | None,
            Query(ge=1, le=PLAN_ID_MAX, description=_PLAN_HELP),
        ] = None,
    ) -> Response:
        c = collection_for(name)
        refuse_unknown_parameters(request, _ITEM_PARAMETERS)
        _check_plan(c, plan)
        out_crs = parse_crs(crs, "crs")
        _pid, r, where = _load(c, plan)
        row = r.ids.get(feature_id)
        if row is None:
            raise NotFoundError(f"no feature {feature_id!r} in {where}")
        feature = r.in_crs([row], out_crs)[0]
        href = f"{public_base(request)}/collections/{quote(c.name, safe='')}"
        self_href = f"{href}/items/{quote(feature_id, safe='')}"
        links = orjson.dumps(
            [
                {
                    "href": self_href + _query(request.query_params.multi_items()),
                    "rel": "self",
                    "type": GEOJSON,
                },
                {"href": href, "rel": "collection", "type": "application/json"},
            ]
        )
        return Response(
            feature[:-1] + b',"links":' + links + b"}",
            media_type=GEOJSON,
            headers=_crs_header(out_crs),
        )

    return router
