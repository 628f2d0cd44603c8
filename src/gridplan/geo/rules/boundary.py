"""The areas' boundaries as classified pieces, computed once and shared by the rules.

Every ring of every (non-sliver) part is cut into pieces. Each piece knows its area and part,
whether it is *internal* (inside the outline and not along it), the neighbouring area across
it (``-1`` when it faces no area) and whether it follows a road (within the road tolerance of
a road centreline and running along it). The enclave rules sum piece lengths by neighbour,
the road rule by road status; lengths are exact because the pieces partition the boundary.

A straight boundary segment stays one piece when its status is the same all along it (the
usual case: a shared edge matched with its twin, wholly along one road or far from any);
only segments whose status changes along them are cut into pieces of at most
``sample_step`` metres, each classified by its midpoint. Everything is vectorised with
shapely 2 (``STRtree`` queries and predicates on arrays) and numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """Pieces of the areas' boundaries, in ring order.

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

    Each straight boundary segment is first classified whole: when the areas form a valid
    coverage (GEOS: matching vertices on shared edges) the neighbour across an edge is its
    twin's area, exactly; a segment with all of its length within the road tolerance of a
    parallel road segment follows a road; one with no road near follows none. Only the
    segments whose status changes along them (a road that stops half-way, an edge that meets
    the outline or two neighbours) are cut into pieces of at most ``sample_step`` and
    classified piece by piece, so lengths stay exact and the work stays proportional to the
    number of vertices, not to the boundary length.
    """
    tol = config.sliver_width
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
    n_seg = len(seg_len)
    seg_mid = (seg_a + seg_b) / 2.0

    # 1. Whole segments: internal?, neighbour, road; "fine" when that varies along them.
    fine = np.zeros(n_seg, dtype=bool)
    twin = _twins(seg_a, seg_b, seg_area) if ctx.coverage_valid else np.full(n_seg, -1, np.int64)
    neighbour = twin.copy()
    internal = np.zeros(n_seg, dtype=bool)
    paired = twin >= 0
    outline = _prepared(ctx.outline)
    internal[paired] = shapely.contains_xy(outline, seg_mid[paired, 0], seg_mid[paired, 1])
    loose = np.flatnonzero(~paired)
    lines = None
    if len(loose):
        lines = shapely.linestrings(np.stack([seg_a[loose], seg_b[loose]], axis=1))
        inside, varies = _segment_internal(lines, seg_a[loose], seg_b[loose], seg_mid[loose],
                                           outline, tol)  # fmt: skip
        internal[loose] = inside
        fine[loose] |= varies
        ask = inside | varies
        nb, nb_varies = _segment_neighbours(
            lines[ask], seg_a[loose][ask], seg_b[loose][ask], seg_mid[loose][ask],
            seg_area[loose][ask], ctx.geoms, tol,
        )  # fmt: skip
        neighbour[loose[ask]] = nb
        fine[loose[ask]] |= nb_varies
    on_road = np.zeros(n_seg, dtype=bool)
    has_roads = ctx.roads is not None and len(ctx.roads) > 0
    if has_roads:
        assert ctx.roads is not None
        r_start, r_end = _road_segments(np.asarray(ctx.roads.geometry.values, dtype=object))
        ask_road = np.flatnonzero(internal | fine)
        on, varies = _segment_roads(seg_a[ask_road], seg_b[ask_road], r_start, r_end, config)
        on_road[ask_road] = on
        fine[ask_road] |= varies

    # 2. Pieces: one per plain segment, k equal pieces of at most sample_step per fine one.
    k = np.where(fine, np.ceil(seg_len / config.sample_step - 1e-9), 1).astype(np.int64)
    k = np.maximum(k, 1)
    seg = np.repeat(np.arange(n_seg), k)
    j = np.arange(len(seg)) - np.repeat(np.cumsum(k) - k, k)
    d = seg_b[seg] - seg_a[seg]
    start = seg_a[seg] + d * (j / k[seg])[:, None]
    end = seg_a[seg] + d * ((j + 1) / k[seg])[:, None]
    ring = seg_ring[seg]
    area = seg_area[seg]
    length = seg_len[seg] / k[seg]
    p_internal = internal[seg]
    p_neighbour = neighbour[seg]
    p_on_road = on_road[seg]

    # 3. Pieces of fine segments, one by one.
    fine_loose = np.flatnonzero(fine[seg] & ~paired[seg])
    if len(fine_loose):
        mid = (start[fine_loose] + end[fine_loose]) / 2.0
        points = shapely.points(mid)
        inner = _internal(points, start[fine_loose], end[fine_loose], outline, tol)
        p_internal[fine_loose] = inner
        p_neighbour[fine_loose] = -1
        p_neighbour[fine_loose[inner]] = _neighbours(
            points[inner], area[fine_loose[inner]], ctx.geoms, tol
        )
    fine_road = np.flatnonzero(fine[seg] & p_internal)
    if has_roads and len(fine_road):
        p_on_road[fine_road] = _follows_road(
            start[fine_road], end[fine_road], r_start, r_end, config
        )
    p_on_road &= p_internal
    external = np.bincount(ring[~p_internal], minlength=len(rings))
    return BoundaryPieces(
        area=area,
        part=ring_part[ring].astype(np.int64),
        ring=ring,
        start=start,
        end=end,
        length=length,
        internal=p_internal,
        neighbour=np.where(p_internal, p_neighbour, -1),
        on_road=p_on_road,
        ring_closed=external == 0,
    )


def _segment_internal(
    lines: npt.NDArray[np.object_],
    a: Floats,
    b: Floats,
    mid: Floats,
    outline: shapely.Geometry,
    tol: float,
) -> tuple[Bools, Bools]:
    """Whole segments: (internal, varies along the segment)."""
    edge = _prepared(shapely.boundary(outline))
    touch = np.asarray(shapely.dwithin(edge, lines, tol), dtype=bool)
    inside = np.asarray(shapely.contains_xy(outline, mid[:, 0], mid[:, 1]), dtype=bool)
    along = np.zeros(len(lines), dtype=bool)
    k = np.flatnonzero(touch)
    if len(k):
        along[k] = (
            shapely.dwithin(edge, shapely.points(a[k]), tol)
            & shapely.dwithin(edge, shapely.points(b[k]), tol)
            & shapely.dwithin(edge, shapely.points(mid[k]), tol)
        )
    return inside & ~touch, touch & ~along


def _segment_neighbours(
    lines: npt.NDArray[np.object_],
    a: Floats,
    b: Floats,
    mid: Floats,
    own: Ints,
    geoms: npt.NDArray[np.object_],
    tol: float,
) -> tuple[Ints, Bools]:
    """Whole segments: (the one other area all along them or -1, varies along them).

    An area runs *along* a segment when both ends and the middle are within ``tol`` of it;
    an area near only one end (across a corner) does not count. A segment with exactly one
    area along it has that neighbour; one with areas near it but none (or several) along it
    varies and is cut into pieces.
    """
    out = np.full(len(lines), -1, dtype=np.int64)
    varies = np.zeros(len(lines), dtype=bool)
    if len(lines) == 0:
        return out, varies
    tree = shapely.STRtree(geoms)
    p, g = tree.query(lines, predicate="dwithin", distance=tol)
    other = g != own[p]
    p, g = p[other], g[other]
    if len(p) == 0:
        return out, varies
    shapely.prepare(geoms)
    along = (
        shapely.dwithin(geoms[g], shapely.points(mid[p]), tol)
        & shapely.dwithin(geoms[g], shapely.points(a[p]), tol)
        & shapely.dwithin(geoms[g], shapely.points(b[p]), tol)
    )
    n_along = np.bincount(p[along], minlength=len(lines))
    single = along & (n_along[p] == 1)
    out[p[single]] = g[single]
    varies[p] = True
    varies[p[single]] = False
    return out, varies


def _segment_roads(
    a: Floats, b: Floats, r_start: Floats, r_end: Floats, config: CheckConfig
) -> tuple[Bools, Bools]:
    """Whole segments: (follows a road all along, follows one only in part)."""
    on = np.zeros(len(a), dtype=bool)
    varies = np.zeros(len(a), dtype=bool)
    if len(a) == 0 or len(r_start) == 0:
        return on, varies
    tree = shapely.STRtree(shapely.linestrings(np.stack([r_start, r_end], axis=1)))
    lines = shapely.linestrings(np.stack([a, b], axis=1))
    p, r = tree.query(lines, predicate="dwithin", distance=config.road_tolerance)
    if len(p) == 0:
        return on, varies
    along = _parallel(b[p] - a[p], r_end[r] - r_start[r], config.road_max_angle)
    p, r = p[along], r[along]
    # Distance to a segment is convex along a straight line: both ends near means all near.
    whole = (_point_segment_distance(a[p], r_start[r], r_end[r]) <= config.road_tolerance) & (
        _point_segment_distance(b[p], r_start[r], r_end[r]) <= config.road_tolerance
    )
    on[p[whole]] = True
    varies[p] = True
    varies &= ~on
    return on, varies


def _parallel(d1: Floats, d2: Floats, max_angle: float) -> Bools:
    cos = np.abs((d1 * d2).sum(axis=1)) / (np.hypot(*d1.T) * np.hypot(*d2.T))
    return np.asarray(cos >= np.cos(np.radians(max_angle)) - 1e-9, dtype=bool)


def _point_segment_distance(p: Floats, s0: Floats, s1: Floats) -> Floats:
    d = s1 - s0
    t = np.clip(((p - s0) * d).sum(axis=1) / (d * d).sum(axis=1), 0.0, 1.0)
    return np.asarray(np.hypot(*(p - (s0 + d * t[:, None])).T), dtype=float)


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
    start: Floats, end: Floats, r_start: Floats, r_end: Floats, config: CheckConfig
) -> Bools:
    """Pieces whose midpoint is within the road tolerance of a road segment running the same
    way."""
    out = np.zeros(len(start), dtype=bool)
    if len(r_start) == 0 or len(start) == 0:
        return out
    mid = (start + end) / 2.0
    tree = shapely.STRtree(shapely.linestrings(np.stack([r_start, r_end], axis=1)))
    p, r = tree.query(shapely.points(mid), predicate="dwithin", distance=config.road_tolerance)
    along = _parallel(end[p] - start[p], r_end[r] - r_start[r], config.road_max_angle)
    out[p[along]] = True
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
