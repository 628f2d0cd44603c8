"""``/locate``: which community and grid hold a point, answered from memory.

The community and grid polygons of a plan are loaded once into two shapely STRtrees
(:class:`PlanIndex`); a request never goes to the database per point. A batch is answered
with array operations only: the trees give the candidate areas of every point by bounding
box, ``shapely.intersects_xy`` on the prepared polygons keeps the true hits.

Indexes are kept per plan id (plans never change), and "the latest plan" is re-checked
cheaply (see :class:`gridplan.api.service.PlanCache`), so a newly stored plan is picked up
without a restart.

A point on a shared boundary belongs to the area listed first in the plan (the order the store
returns), so every point inside the subdistrict gets exactly one community.

``coords=gcj02`` or ``coords=bd09`` (single and batch) says the points are GCJ-02 (Gaode,
Tencent) or BD-09 (Baidu) longitude/latitude: they are converted to WGS84 before the lookup
(:mod:`gridplan.data.crs`; about 2 m), so a GCJ-02 point lands where its WGS84 twin does. The
answer echoes the point as given, with ``coords`` naming its frame.
"""

from __future__ import annotations

import gc
import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import orjson
import shapely
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from gridplan.api.service import PLAN_ID_MAX, Service
from gridplan.data.crs import Coords, to_wgs84_xy
from gridplan.errors import InputError, LimitError, NotFoundError
from gridplan.plan import Level, Plan


def _area_fragments(
    plan: Plan, level: Level
) -> tuple[np.ndarray, list[bytes], list[bytes], list[bytes]]:
    """Geometries and JSON pieces of a level's areas: ``{id, name, code}``, ``id``,
    ``{name, code}``."""
    areas = plan.areas_at(level)
    geoms = np.asarray(areas.geometry.values, dtype=object)
    full: list[bytes] = []
    ids: list[bytes] = []
    info: list[bytes] = []
    for row in areas[["area_id", "name", "code"]].itertuples(index=False):
        area_id, name, code = _text(row.area_id), _text(row.name), _text(row.code)
        full.append(orjson.dumps({"id": area_id, "name": name, "code": code}))
        ids.append(orjson.dumps(area_id))
        info.append(orjson.dumps({"name": name, "code": code}))
    return geoms, full, ids, info


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


class PlanIndex:
    """The community and grid polygons of one plan in two STRtrees.

    Parameters
    ----------
    plan
        A stored plan (its areas in EPSG:4326).

    Examples
    --------
    >>> index = PlanIndex(plan)  # doctest: +SKIP
    >>> community, grid = index.locate(np.array([-71.41]), np.array([41.82]))  # doctest: +SKIP
    """

    def __init__(self, plan: Plan) -> None:
        if plan.plan_id is None:
            raise ValueError("the plan has not been stored")
        self.plan_id = plan.plan_id
        cgeoms, cfrags, self._cids, self._cinfo = _area_fragments(plan, Level.COMMUNITY)
        ggeoms, gfrags, self._gids, self._ginfo = _area_fragments(plan, Level.GRID)
        self.community_tree = shapely.STRtree(cgeoms)
        self.grid_tree = shapely.STRtree(ggeoms)
        shapely.prepare(cgeoms)
        shapely.prepare(ggeoms)
        self._cgeoms = cgeoms
        self._ggeoms = ggeoms
        #: Community ids by row (what :meth:`locate` returns rows of).
        self.community_ids = np.asarray(
            plan.areas_at(Level.COMMUNITY)["area_id"].astype(object), dtype=object
        )
        self._cfrags = cfrags
        self._gfrags = gfrags
        self.n_communities = len(cfrags)
        self.n_grids = len(gfrags)

    @staticmethod
    def _first_hit(
        tree: shapely.STRtree,
        geoms: np.ndarray,
        points: np.ndarray,
        lon: np.ndarray,
        lat: np.ndarray,
    ) -> np.ndarray:
        # bounding boxes from the tree, then the exact test on the (prepared) polygons for
        # every candidate pair at once; a point on a boundary belongs to the first area
        pts, areas = tree.query(points)
        if len(pts) == 0:
            return np.full(len(points), -1, dtype=np.int64)
        inside = shapely.intersects_xy(geoms[areas], lon[pts], lat[pts])
        none = np.iinfo(np.int64).max
        out = np.full(len(points), none, dtype=np.int64)
        np.minimum.at(out, pts[inside], areas[inside])
        out[out == none] = -1
        return out

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The community and grid row holding each point (``-1`` when none).

        Parameters
        ----------
        lon, lat
            Coordinates in EPSG:4326, equal-length float arrays.
        """
        points = shapely.points(lon, lat)
        return (
            self._first_hit(self.community_tree, self._cgeoms, points, lon, lat),
            self._first_hit(self.grid_tree, self._ggeoms, points, lon, lat),
        )

    def community_of(self, points: gpd.GeoSeries) -> np.ndarray:
        """The community id holding each point (``None`` outside), by row of ``points``.

        Parameters
        ----------
        points
            Points in EPSG:4326.
        """
        if len(points) == 0:
            return np.empty(0, dtype=object)
        community, _ = self.locate(points.x.to_numpy(), points.y.to_numpy())
        ids = np.empty(len(self.community_ids) + 1, dtype=object)
        ids[:-1] = self.community_ids
        return ids[np.where(community < 0, len(self.community_ids), community)]

    def community_fragment(self, row: int) -> bytes:
        """The JSON of one community (``id``, ``name``, ``code``)."""
        return self._cfrags[row]

    def grid_fragment(self, row: int) -> bytes:
        """The JSON of one grid, or ``null`` for ``-1``."""
        return b"null" if row < 0 else self._gfrags[row]

    def answers(self, community: np.ndarray, grid: np.ndarray) -> bytes:
        """The batch answer: lookups of the areas hit, then one answer per point, in order.

        ``"communities": {id: {"name", "code"}}``, ``"grids": {id: {"name", "code"}}`` (only
        the areas some point fell in), ``"results": [{"community": id, "grid": id | null} |
        null, ...]``. Each distinct (community, grid) pair is rendered once and the points
        index into those renderings: no per-point Python code.
        """
        cs = np.unique(community[community >= 0]).tolist()
        gs = np.unique(grid[grid >= 0]).tolist()
        lookups = (
            b'"communities":{'
            + b",".join(self._cids[c] + b":" + self._cinfo[c] for c in cs)
            + b'},"grids":{'
            + b",".join(self._gids[g] + b":" + self._ginfo[g] for g in gs)
            + b"},"
        )
        if len(community) == 0:
            return lookups + b'"results":[]'
        width = self.n_grids + 1
        code = (community + 1) * width + (grid + 1)
        uniq, inverse = np.unique(code, return_inverse=True)
        rendered = np.empty(len(uniq), dtype=object)
        for i, key in enumerate(uniq.tolist()):  # one per distinct pair, not per point
            c, g = divmod(key, width)
            if c == 0:
                rendered[i] = b"null"
            else:
                gid = b"null" if g == 0 else self._gids[g - 1]
                rendered[i] = b'{"community":' + self._cids[c - 1] + b',"grid":' + gid + b"}"
        return lookups + b'"results":[' + b",".join(rendered[inverse.ravel()].tolist()) + b"]"


class Locator:
    """Indexes per plan id (a small LRU), built on first use.

    Parameters
    ----------
    service
        The service whose plan cache supplies the plans.
    max_indexes
        How many plan indexes to keep.
    """

    def __init__(self, service: Service, *, max_indexes: int = 4) -> None:
        self._service = service
        self._max = max_indexes
        self._indexes: OrderedDict[int, PlanIndex] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, plan_id: int | None) -> PlanIndex | None:
        """The index, if it can be had without touching the store."""
        if plan_id is None:
            plan_id = self._service.plans.latest_known()
            if plan_id is None:
                return None
        return self._indexes.get(plan_id)

    def index(self, plan_id: int | None) -> PlanIndex:
        """The index of a plan (the latest when ``plan_id`` is ``None``), built if needed."""
        pid = self._service.plans.resolve(plan_id)
        found = self._indexes.get(pid)
        if found is not None:
            return found
        index = PlanIndex(self._service.plans.get(pid))
        with self._lock:
            self._indexes[pid] = index
            while len(self._indexes) > self._max:
                self._indexes.popitem(last=False)
        # The loaded plan and its index live long: take them (and everything loaded before
        # them) out of the collector's full sweeps, which would otherwise walk them on every
        # request burst and put tens of milliseconds on the slowest answers.
        gc.freeze()
        return index

    async def index_async(self, plan_id: int | None) -> PlanIndex:
        """:meth:`index` without blocking the event loop when the store must be asked."""
        found = self.cached(plan_id)
        if found is not None:
            return found
        return await run_in_threadpool(self.index, plan_id)


@contextmanager
def _without_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector around a batch.

    A batch allocates hundreds of thousands of small objects (the parsed JSON lists, the
    points), none of them cyclic; left on, the collector would repeatedly walk the whole heap
    (pandas, shapely, the plans) and triple the time of a batch. Reference counting still
    frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def parse_points(body: bytes, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse a ``POST /locate`` body into longitude and latitude arrays.

    Parameters
    ----------
    body
        ``{"points": [[lon, lat], ...]}`` as UTF-8 JSON.
    max_points
        The largest batch allowed.

    Raises
    ------
    InputError
        If the body is not that shape or a coordinate is out of range (naming the point).
    LimitError
        If there are more than ``max_points`` points.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("points"), list):
        raise InputError('the body must be {"points": [[lon, lat], ...]}')
    points = doc["points"]
    if len(points) > max_points:
        raise LimitError(f"{len(points)} points in one batch; at most {max_points} are allowed")
    if not points:
        return np.empty(0), np.empty(0)
    pair = "every point must be a [lon, lat] pair of numbers"
    try:  # C-level iteration throughout: no per-point Python code
        lengths = np.fromiter(map(len, points), dtype=np.int64, count=len(points))
    except TypeError as exc:
        raise InputError(pair) from exc
    if (lengths != 2).any():
        raise InputError(f"{pair}; point {int(np.flatnonzero(lengths != 2)[0])} is not")
    if not set(map(type, itertools.chain.from_iterable(points))) <= {int, float}:
        raise InputError(pair)
    try:
        coords = np.fromiter(
            itertools.chain.from_iterable(points), dtype=np.float64, count=2 * len(points)
        ).reshape(-1, 2)
    except (OverflowError, ValueError, TypeError) as exc:
        raise InputError(pair) from exc
    lon, lat = coords[:, 0], coords[:, 1]
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"point {i} ({coords[i, 0]}, {coords[i, 1]}) is not a longitude in [-180, 180] "
            "and a latitude in [-90, 90]"
        )
    return lon, lat


_BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["points"],
    "properties": {
        "points": {
            "type": "array",
            "description": "Points as [longitude, latitude] in WGS84 (EPSG:4326), or in the "
            "frame the coords parameter names.",
            "items": {
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "prefixItems": [
                    {"type": "number", "minimum": -180, "maximum": 180},
                    {"type": "number", "minimum": -90, "maximum": 90},
                ],
                "items": {"type": "number"},
            },
        }
    },
}

_COORDS_DOC = (
    "Frame of the point(s): wgs84 (EPSG:4326, default), gcj02 (Gaode/AMap, Tencent) or "
    "bd09 (Baidu); GCJ-02 and BD-09 are converted to WGS84 before the lookup"
)

_AREA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": ["string", "null"]},
        "code": {"type": ["string", "null"]},
    },
}


def make_router(service: Service) -> APIRouter:
    """The ``/locate`` routes of one app."""
    router = APIRouter(tags=["locate"])
    locator = Locator(service)

    @router.get(
        "/locate",
        summary="The community and grid containing a point",
        responses={
            200: {
                "description": "The community and grid (grid is null when the plan has none).",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "plan_id": {"type": "integer"},
                                "lon": {"type": "number"},
                                "lat": {"type": "number"},
                                "coords": {"type": "string", "enum": [c.value for c in Coords]},
                                "community": _AREA_SCHEMA,
                                "grid": {"oneOf": [_AREA_SCHEMA, {"type": "null"}]},
                            },
                        }
                    }
                },
            },
            400: {"description": "A bad parameter"},
            404: {"description": "The point is outside every community, or no such plan"},
        },
        response_class=Response,
    )
    async def locate_one(
        lon: Annotated[float, Query(ge=-180, le=180, description="Longitude (see coords)")],
        lat: Annotated[float, Query(ge=-90, le=90, description="Latitude (see coords)")],
        plan: Annotated[
            int | None, Query(ge=1, le=PLAN_ID_MAX, description="Plan id (default: latest)")
        ] = None,
        coords: Annotated[Coords, Query(description=_COORDS_DOC)] = Coords.WGS84,
    ) -> Response:
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise InputError("lon and lat must be finite numbers")
        index = await locator.index_async(plan)
        c, g = index.locate(*to_wgs84_xy(np.array([lon]), np.array([lat]), coords))
        if c[0] < 0:
            raise NotFoundError(
                f"the point ({lon}, {lat}) is outside every community of plan {index.plan_id}"
            )
        body = b'{"plan_id":%d,"lon":%s,"lat":%s,"coords":"%s","community":%s,"grid":%s}' % (
            index.plan_id,
            repr(float(lon)).encode(),
            repr(float(lat)).encode(),
            coords.value.encode(),
            index.community_fragment(int(c[0])),
            index.grid_fragment(int(g[0])),
        )
        return _json(body)

    @router.post(
        "/locate",
        summary="The community and grid of each of a batch of points, in order",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _BATCH_SCHEMA}},
            }
        },
        responses={
            200: {
                "description": "One answer per point, in order: {community: id, grid: id} "
                "or null outside every community; the names and codes of the areas hit are "
                "in the communities and grids lookups.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "plan_id": {"type": "integer"},
                                "coords": {"type": "string", "enum": [c.value for c in Coords]},
                                "count": {"type": "integer"},
                                "located": {"type": "integer"},
                                "communities": {"type": "object"},
                                "grids": {"type": "object"},
                                "results": {"type": "array"},
                            },
                        }
                    }
                },
            },
            400: {"description": "A malformed body or a coordinate out of range"},
            404: {"description": "No such plan"},
            422: {"description": "Too many points"},
        },
        response_class=Response,
    )
    async def locate_many(
        request: Request,
        plan: Annotated[
            int | None, Query(ge=1, le=PLAN_ID_MAX, description="Plan id (default: latest)")
        ] = None,
        coords: Annotated[Coords, Query(description=_COORDS_DOC)] = Coords.WGS84,
    ) -> Response:
        body = await request.body()
        index = await locator.index_async(plan)
        with _without_gc():
            lon, lat = parse_points(body, service.settings.max_batch_points)
            c, g = index.locate(*to_wgs84_xy(lon, lat, coords))
            located = int((c >= 0).sum())
            head = b'{"plan_id":%d,"coords":"%s","count":%d,"located":%d,' % (
                index.plan_id,
                coords.value.encode(),
                len(c),
                located,
            )
            return _json(head + index.answers(c, g) + b"}")

    return router
