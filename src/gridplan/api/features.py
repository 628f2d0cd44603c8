"""OGC API – Features collections: communities, grids, findings (of a plan), compounds, units
and roads (the stored layers), as GeoJSON (RFC 7946, WGS84 longitude/latitude).

``/collections/{name}/items`` takes ``bbox`` (``minx,miny,maxx,maxy``), ``limit``, ``offset``
and, for the plan collections, ``plan`` (default: the latest plan); it answers a
FeatureCollection with ``numberMatched``, ``numberReturned`` and ``self``/``next``/``prev``
links. Plans never change, so the features of a plan are rendered once and kept; a layer is
rendered once per import (see :class:`LayerFeatures`).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from gridplan.api.service import PLAN_ID_MAX, Service
from gridplan.data.layers import LayerKind
from gridplan.errors import InputError, NotFoundError
from gridplan.plan import Level

GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


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


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """Parse ``minx,miny,maxx,maxy`` (or the 6-number 3D form) in longitude/latitude.

    Raises
    ------
    InputError
        If it is not 4 (or 6) finite numbers with min <= max in range.

    Examples
    --------
    >>> parse_bbox("-71.5,41.7,-71.3,41.9")
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
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError(
            f"bbox {text!r}: need -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90"
        )
    return minx, miny, maxx, maxy


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
    geometry_json = shapely.to_geojson(_right_hand(np.asarray(frame.geometry.values, dtype=object)))
    columns = [c for c in frame.columns if c != frame.geometry.name]
    records = frame[columns].to_dict("records")
    out: list[bytes] = []
    for i, (props, geom) in enumerate(zip(records, geometry_json.tolist(), strict=True)):
        clean = {str(k): _plain(v) for k, v in props.items()}
        fid = clean.get(id_column) if id_column else first_id + i
        out.append(
            b'{"type":"Feature","id":'
            + orjson.dumps(fid)
            + b',"geometry":'
            + (geom.encode() if geom is not None else b"null")
            + b',"properties":'
            + orjson.dumps(clean)
            + b"}"
        )
    return out


@dataclass(frozen=True)
class _Rendered:
    """A plan collection rendered once: features, their bounds, their ids."""

    features: list[bytes]
    geoms: np.ndarray
    bounds: np.ndarray
    ids: dict[str, int]
    extent: list[float] | None


def _render(frame: gpd.GeoDataFrame, id_column: str | None) -> _Rendered:
    frame = frame.reset_index(drop=True)
    features = render_features(frame, id_column)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    bounds = shapely.bounds(geoms) if len(frame) else np.empty((0, 4))
    if id_column:
        ids = {str(v): i for i, v in enumerate(frame[id_column].tolist())}
    else:
        ids = {str(i + 1): i for i in range(len(frame))}
    extent = None
    if len(frame) and np.isfinite(bounds).all():
        extent = [
            float(bounds[:, 0].min()),
            float(bounds[:, 1].min()),
            float(bounds[:, 2].max()),
            float(bounds[:, 3].max()),
        ]
    return _Rendered(features, geoms, bounds, ids, extent)


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


def _collection_doc(request: Request, c: Collection, extent: list[float] | None) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    doc: dict[str, Any] = {
        "id": c.name,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"href": f"{base}/collections/{c.name}", "rel": "self", "type": "application/json"},
            {
                "href": f"{base}/collections/{c.name}/items",
                "rel": "items",
                "type": GEOJSON,
                "title": f"{c.title}: items",
            },
        ],
    }
    if extent is not None:
        doc["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    return doc


def _page_link(request: Request, rel: str, offset: int, limit: int) -> dict[str, Any]:
    url = request.url.include_query_params(offset=offset, limit=limit)
    return {"href": str(url), "rel": rel, "type": GEOJSON}


def _collection_body(
    request: Request,
    c: Collection,
    features: list[bytes],
    matched: int,
    offset: int,
    limit: int,
    plan_id: int | None,
) -> bytes:
    links = [{"href": str(request.url), "rel": "self", "type": GEOJSON}]
    if offset + limit < matched:
        links.append(_page_link(request, "next", offset + limit, limit))
    if offset > 0:
        links.append(_page_link(request, "prev", max(0, offset - limit), limit))
    base = str(request.base_url).rstrip("/")
    links.append(
        {"href": f"{base}/collections/{c.name}", "rel": "collection", "type": "application/json"}
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
    400: {"description": "A bad parameter"},
    404: {"description": "No such collection, feature or plan"},
    422: {"description": "A parameter of the wrong type or out of range"},
    503: {"description": "The database cannot be reached"},
}


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

    @router.get("/collections", summary="The collections", responses=_ERRORS)
    def collections(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
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
        return Response(
            orjson.dumps(_collection_doc(request, c, _extent(c))), media_type="application/json"
        )

    def _check_plan(c: Collection, plan: int | None) -> None:
        if plan is not None and not c.from_plan:
            raise InputError(
                f"plan= applies to the plan collections (communities, grids, findings), "
                f"not to {c.name}"
            )

    @router.get(
        "/collections/{name}/items",
        summary="Features of a collection (GeoJSON FeatureCollection)",
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
            Query(description="minx,miny,maxx,maxy in WGS84 longitude/latitude"),
        ] = None,
        limit: Annotated[
            int | None, Query(ge=1, description="Page size (clamped to the maximum)")
        ] = None,
        offset: Annotated[int, Query(ge=0, description="Features to skip")] = 0,
        plan: Annotated[
            int | None,
            Query(ge=1, le=PLAN_ID_MAX, description="Plan id (plan collections; default: latest)"),
        ] = None,
    ) -> Response:
        c = collection_for(name)
        _check_plan(c, plan)
        box = parse_bbox(bbox)
        size = min(limit or settings.page_limit_default, settings.page_limit_max)
        pid: int | None = None
        if c.from_plan:
            pid, r = await run_in_threadpool(rendered.get, c, plan)
        else:
            r = await run_in_threadpool(layers.get, c)
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
        page = [r.features[i] for i in rows[offset : offset + size].tolist()]
        body = _collection_body(request, c, page, len(rows), offset, size, pid)
        return Response(body, media_type=GEOJSON)

    @router.get(
        "/collections/{name}/items/{feature_id}",
        summary="One feature (GeoJSON Feature)",
        responses={200: {"content": {GEOJSON: {}}, "description": "A feature"}, **_ERRORS},
        response_class=Response,
    )
    def item(
        request: Request,
        name: Annotated[str, Path(description="Collection id")],
        feature_id: Annotated[str, Path(description="Feature id")],
        plan: Annotated[
            int | None,
            Query(ge=1, le=PLAN_ID_MAX, description="Plan id (plan collections; default: latest)"),
        ] = None,
    ) -> Response:
        c = collection_for(name)
        _check_plan(c, plan)
        if c.from_plan:
            pid, r = rendered.get(c, plan)
            where = f"{c.name} of plan {pid}"
        else:
            r = layers.get(c)
            where = c.name
        row = r.ids.get(feature_id)
        if row is None:
            raise NotFoundError(f"no feature {feature_id!r} in {where}")
        feature = r.features[row]
        base = str(request.base_url).rstrip("/")
        links = orjson.dumps(
            [
                {"href": str(request.url), "rel": "self", "type": GEOJSON},
                {
                    "href": f"{base}/collections/{c.name}",
                    "rel": "collection",
                    "type": "application/json",
                },
            ]
        )
        return Response(feature[:-1] + b',"links":' + links + b"}", media_type=GEOJSON)

    return router
