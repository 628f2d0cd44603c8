"""The areas' boundaries cut into short pieces, computed once and shared by the rules.

Every ring of every (non-sliver) part is split into pieces at most ``sample_step`` long. Each
piece knows its area and part, whether it is *internal* (inside the outline and not on it),
the neighbouring area across it (the nearest other area within the sliver width, ``-1`` when
it faces no area) and whether it follows a road (within the road tolerance of a road
centreline and running along it). The enclave rules sum piece lengths by neighbour, the road
rule by road status; lengths are exact because the pieces partition the boundary.

Everything is vectorised with shapely 2 (``segmentize``, ``STRtree`` queries on arrays).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import CheckContext

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class BoundaryPieces:
    """Short pieces of the areas' boundaries, in ring order.

    Parameters
    ----------
    area, part, ring
        Area index, part index (into :attr:`CheckContext.parts`) and ring number of each piece.
    start, end
        ``(n, 2)`` end points.
    length
        Piece lengths in metres.
    internal
        Inside the outline and not on it.
    neighbour
        Index of the area across the piece, ``-1`` when none (only set on internal pieces).
    on_road
        Follows a road (only set on internal pieces; all false without roads).
    ring_closed
        Whether each ring (by ring number) is entirely internal, so its first and last pieces
        are consecutive.
    """

    area: Ints
    part: Ints
    ring: Ints
    start: Floats
    end: Floats
    length: Floats
    internal: Bools
    neighbour: Ints
    on_road: Bools
    ring_closed: Bools

    def __len__(self) -> int:
        return len(self.length)


def boundary_pieces(ctx: CheckContext, config: CheckConfig) -> BoundaryPieces:
    """Cut the areas' boundaries into pieces and classify them (see module docstring).

    When the areas form a valid coverage (GEOS: matching vertices on shared edges), the
    neighbour across each edge is found exactly by matching the edge with its twin; only
    edges without a twin (on the outline, facing a gap) are looked up within the sliver
    width.
    """
    rings, ring_part = shapely.get_rings(ctx.parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    seg_a, seg_b = coords[:-1][same], coords[1:][same]
    seg_ring = ring_of[:-1][same].astype(np.int64)
    seg_len = np.hypot(*(seg_b - seg_a).T)
    nonzero = seg_len > 0
    seg_a, seg_b, seg_ring, seg_len = (
        seg_a[nonzero],
        seg_b[nonzero],
        seg_ring[nonzero],
        seg_len[nonzero],
    )
    seg_area = ctx.part_area[ring_part[seg_ring]]
    twin = _twins(seg_a, seg_b, seg_area) if ctx.coverage_valid else None

    # Cut each segment into k equal pieces of at most sample_step.
    k = np.maximum(1, np.ceil(seg_len / config.sample_step - 1e-9)).astype(np.int64)
    seg = np.repeat(np.arange(len(seg_len)), k)
    j = np.arange(len(seg)) - np.repeat(np.cumsum(k) - k, k)
    d = seg_b[seg] - seg_a[seg]
    start = seg_a[seg] + d * (j / k[seg])[:, None]
    end = seg_a[seg] + d * ((j + 1) / k[seg])[:, None]
    ring = seg_ring[seg]
    part = ring_part[ring].astype(np.int64)
    area = seg_area[seg]
    length = seg_len[seg] / k[seg]
    mid = (start + end) / 2.0

    neighbour = np.full(len(length), -1, dtype=np.int64)
    if twin is not None:
        neighbour = twin[seg]
        internal = np.asarray(shapely.contains_xy(_prepared(ctx.outline), mid[:, 0], mid[:, 1]))
        loose = np.flatnonzero(neighbour < 0)
    else:
        internal = np.zeros(len(length), dtype=bool)
        loose = np.arange(len(length))
    if len(loose):
        points = shapely.points(mid[loose])
        internal[loose] = _internal(
            points, start[loose], end[loose], ctx.outline, config.sliver_width
        )
        inner = loose[internal[loose]]
        neighbour[inner] = _neighbours(
            points[internal[loose]], area[inner], ctx.geoms, config.sliver_width
        )
    on_road = np.zeros(len(length), dtype=bool)
    idx = np.flatnonzero(internal)
    if ctx.roads is not None and len(ctx.roads) and len(idx):
        on_road[idx] = _follows_road(start[idx], end[idx], mid[idx], ctx.roads, config)
    external = np.bincount(ring[~internal], minlength=len(rings))
    return BoundaryPieces(
        area=area,
        part=part,
        ring=ring,
        start=start,
        end=end,
        length=length,
        internal=internal,
        neighbour=neighbour,
        on_road=on_road,
        ring_closed=external == 0,
    )


def _twins(a: Floats, b: Floats, area: Ints) -> Ints:
    """For each edge, the other area with the same edge (``-1`` when none)."""
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    order = np.lexsort((hi[:, 1], hi[:, 0], lo[:, 1], lo[:, 0]))
    key = np.column_stack([lo, hi])[order]
    equal = (key[1:] == key[:-1]).all(axis=1)
    first, second = order[:-1][equal], order[1:][equal]
    other = area[first] != area[second]
    first, second = first[other], second[other]
    twin = np.full(len(a), -1, dtype=np.int64)
    twin[first] = area[second]
    twin[second] = area[first]
    return twin


def _prepared(geom: shapely.Geometry) -> shapely.Geometry:
    shapely.prepare(geom)
    return geom


def _internal(
    points: npt.NDArray[np.object_],
    start: Floats,
    end: Floats,
    outline: shapely.Geometry,
    tol: float,
) -> Bools:
    """Pieces inside the outline and not running along its boundary.

    A piece runs along the boundary when its midpoint and both ends are within ``tol`` of
    it (a piece meeting the boundary end-on is still internal).
    """
    edge = shapely.boundary(outline)
    shapely.prepare(edge)
    shapely.prepare(outline)
    near = shapely.dwithin(edge, points, tol)
    if near.any():
        k = np.flatnonzero(near)
        near[k] &= shapely.dwithin(edge, shapely.points(start[k]), tol) & shapely.dwithin(
            edge, shapely.points(end[k]), tol
        )
    inside = shapely.contains(outline, points)
    return np.asarray(inside & ~near, dtype=bool)


def _neighbours(
    mids: npt.NDArray[np.object_], own: Ints, geoms: npt.NDArray[np.object_], tol: float
) -> Ints:
    """The nearest other area within ``tol`` of each point (``-1`` when none)."""
    out = np.full(len(mids), -1, dtype=np.int64)
    if len(mids) == 0:
        return out
    tree = shapely.STRtree(geoms)
    p, g = tree.query(mids, predicate="dwithin", distance=tol)
    other = g != own[p]
    p, g = p[other], g[other]
    if len(p) == 0:
        return out
    count = np.bincount(p, minlength=len(mids))
    many = count[p] > 1
    dist = np.zeros(len(p))
    if many.any():
        dist[many] = shapely.distance(mids[p[many]], geoms[g[many]])
    order = np.lexsort((g, dist, p))
    p, g = p[order], g[order]
    first = np.r_[True, p[1:] != p[:-1]]
    out[p[first]] = g[first]
    return out


def _follows_road(
    start: Floats,
    end: Floats,
    mid: Floats,
    roads: gpd.GeoDataFrame,
    config: CheckConfig,
) -> Bools:
    """Pieces within the road tolerance of a road segment running the same way."""
    out = np.zeros(len(mid), dtype=bool)
    r_start, r_end = _road_segments(np.asarray(roads.geometry.values, dtype=object))
    if len(r_start) == 0 or len(mid) == 0:
        return out
    segs = shapely.linestrings(np.stack([r_start, r_end], axis=1))
    tree = shapely.STRtree(segs)
    p, r = tree.query(shapely.points(mid), predicate="dwithin", distance=config.road_tolerance)
    if len(p) == 0:
        return out
    d_piece = end[p] - start[p]
    d_road = r_end[r] - r_start[r]
    cos = np.abs((d_piece * d_road).sum(axis=1)) / (np.hypot(*d_piece.T) * np.hypot(*d_road.T))
    along = cos >= np.cos(np.radians(config.road_max_angle)) - 1e-9
    out[np.unique(p[along])] = True
    return out


def _road_segments(lines: npt.NDArray[np.object_]) -> tuple[Floats, Floats]:
    """Every straight segment of the road lines as start and end points."""
    parts = shapely.get_parts(lines)
    parts = parts[shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING]
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    nonzero = np.hypot(*(b - a).T) > 0
    return a[nonzero], b[nonzero]
