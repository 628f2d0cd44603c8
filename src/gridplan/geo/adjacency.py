"""Build the unit graph: rook adjacency of units, with the road class along each shared edge.

Two units are adjacent when their boundaries share a stretch of positive length (touching
at a point does not count). Each edge carries the shared length (metres) and the class of the
road the shared boundary runs along: the shared boundary counts as along a road when most of
its length lies within ``tolerance`` metres of road centrelines; the class is the most
important class that covers at least half of the edge on its own, else the class covering
most of it. Edges that follow no road get ``None``.

Everything is vectorised: candidate pairs come from an STRtree query, shared boundaries from
one array intersection, and road coverage from points sampled along the shared boundaries
(spacing ``tolerance / 2``, at most :data:`MAX_SAMPLES` per edge) tested against an STRtree of
the roads.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from gridplan.data.crs import metric_crs, require_crs
from gridplan.data.layers import ROAD_CLASSES, feature_ids, parse_counts
from gridplan.errors import InputError
from gridplan.geo.graph import EDGE_COLUMNS, UnitGraph
from gridplan.geo.threads import resolve_workers, spans, thread_map

#: Default distance (metres) within which a boundary counts as following a road.
DEFAULT_TOLERANCE = 15.0
#: Most sample points taken along one shared edge.
MAX_SAMPLES = 41
_MIN_SAMPLES = 3


def class_rank(road_class: object) -> int:
    """Rank of a road class: 0 for the most important (``motorway``); unknown classes last.

    Examples
    --------
    >>> class_rank("motorway"), class_rank("local"), class_rank("S9999") > class_rank("other")
    (0, 5, True)
    """
    try:
        return ROAD_CLASSES.index(str(road_class))
    except ValueError:
        return len(ROAD_CLASSES)


def build_unit_graph(
    units: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    id_column: str = "unit_id",
    households_column: str = "households",
    residents_column: str = "residents",
    crs: CRS | None = None,
    workers: int | None = None,
) -> UnitGraph:
    """Build the rook-adjacency :class:`~gridplan.geo.graph.UnitGraph` of units.

    Parameters
    ----------
    units
        Unit polygons with an id column (default ``unit_id``) and optional household and
        resident counts (missing counts are 0).
    roads
        Road centrelines with a ``road_class`` column (missing classes count as ``other``).
        Without roads every edge has ``road_class`` ``None``.
    tolerance
        Distance in metres within which a shared boundary counts as following a road.
    id_column, households_column, residents_column
        Column names in ``units``.
    crs
        Metric CRS to compute in (default :func:`~gridplan.data.crs.metric_crs` of the units).
    workers
        Threads for the road-proximity queries (``None``: the usable cores, at most 4). The
        result does not depend on it.

    Returns
    -------
    UnitGraph
        Nodes in the order of ``units``; ``edges`` with ``u < v``, ``length`` (m) and
        ``road_class``.

    Raises
    ------
    InputError
        If the id column is missing, a unit has no id or ids repeat, a unit is not a
        polygon, a count is negative or not a number, or ``workers`` is below 1.
    CRSError
        If the units or the roads have no CRS.

    Examples
    --------
    Three squares in a row, a road along the edge between the first two::

        +---+---+---+
        | a | b | c |      road (local) on x=1
        +---+---+---+

    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> units = gpd.GeoDataFrame({"unit_id": ["a", "b", "c"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs=32650)
    >>> roads = gpd.GeoDataFrame({"road_class": ["local"]},
    ...     geometry=[LineString([(1, -1), (1, 2)])], crs=32650)
    >>> g = build_unit_graph(units, roads, tolerance=0.1)
    >>> g.edge_table().values.tolist()
    [['a', 'b', 1.0, 'local'], ['b', 'c', 1.0, None]]
    """
    if id_column not in units.columns:
        raise InputError(f"units: no {id_column!r} column")
    threads = resolve_workers(workers)
    ids = feature_ids(units[id_column], id_column, "units")
    target = CRS.from_user_input(crs) if crs is not None else metric_crs(units, "units")
    metric = units.to_crs(target) if units.crs is not None and units.crs != target else units
    geoms = np.asarray(metric.geometry.values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    bad = ~np.isin(kinds, [3, 6])
    if bad.any():
        raise InputError(f"units: unit {ids[bad][0]!r} is not a polygon")
    n = len(geoms)

    u, v, segments = _shared_segments(geoms)
    length = np.bincount(segments.edge, weights=segments.length, minlength=len(u)).astype(float)
    road_class = np.full(len(u), None, dtype=object)
    if roads is not None and len(roads) > 0 and len(u) > 0:
        require_crs(roads, "roads")
        road_class = _edge_classes(segments, length, roads.to_crs(target), tolerance, threads)
    edges = pd.DataFrame(
        {"u": u.astype(np.int64), "v": v.astype(np.int64), "length": length}
    ).assign(road_class=pd.Series(road_class, dtype=object))[list(EDGE_COLUMNS)]
    reps = shapely.point_on_surface(geoms)
    return UnitGraph(
        unit_ids=ids,
        households=_counts(units, households_column, ids),
        residents=_counts(units, residents_column, ids),
        edges=edges.reset_index(drop=True),
        centroids=np.column_stack([shapely.get_x(reps), shapely.get_y(reps)]).astype(float)
        if n
        else np.empty((0, 2)),
        areas=shapely.area(geoms).astype(float),
        crs=target,
    )


@dataclass(frozen=True)
class _Segments:
    """Straight pieces of shared boundary: edge index, end points and length."""

    edge: npt.NDArray[np.int64]
    p0: npt.NDArray[np.float64]
    p1: npt.NDArray[np.float64]
    length: npt.NDArray[np.float64]


def shared_boundaries(
    units: gpd.GeoDataFrame,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Pairs ``u < v`` of units (row positions) sharing boundary of positive length.

    Returns the pairs and the shared boundary of each pair as a MultiLineString of its
    straight pieces, in the CRS of ``units``.
    """
    u, v, seg = _shared_segments(np.asarray(units.geometry.values, dtype=object))
    lines = shapely.linestrings(np.stack([seg.p0, seg.p1], axis=1))
    shared = shapely.multilinestrings(lines, indices=seg.edge)
    return u, v, np.asarray(shared, dtype=object)


def _shared_segments(
    geoms: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], _Segments]:
    """Adjacent pairs ``u < v`` and the straight pieces of their shared boundaries.

    Boundaries are cut into vertex-to-vertex segments; a segment found (with the same two
    end points) in the boundaries of two units is shared by them. This is exact and fast for
    coverages whose neighbours share vertices (polygonized blocks, census blocks, units cut
    from them). Segments found in one unit only (the outer edge, or a neighbour's boundary
    with different vertices: a "T-junction") are intersected with the other units' boundaries
    through an STRtree, so partial overlaps are found too.
    """
    empty_i = np.empty(0, dtype=np.int64)
    none = _Segments(empty_i, np.empty((0, 2)), np.empty((0, 2)), np.empty(0))
    if len(geoms) == 0:
        return empty_i, empty_i, none
    rings, ring_owner = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    same = idx[1:] == idx[:-1]
    p0, p1 = coords[:-1][same], coords[1:][same]
    owner = ring_owner[idx[:-1][same]]
    nonzero = (p0 != p1).any(axis=1)
    p0, p1, owner = p0[nonzero], p1[nonzero], owner[nonzero]
    # Orient every segment the same way so shared ones compare equal.
    flip = (p0[:, 0] > p1[:, 0]) | ((p0[:, 0] == p1[:, 0]) & (p0[:, 1] > p1[:, 1]))
    a = np.where(flip[:, None], p1, p0)
    b = np.where(flip[:, None], p0, p1)
    order = np.lexsort((owner, b[:, 1], b[:, 0], a[:, 1], a[:, 0]))
    a, b, owner = a[order], b[order], owner[order]
    key_change = np.ones(len(a), dtype=bool)
    key_change[1:] = (a[1:] != a[:-1]).any(axis=1) | (b[1:] != b[:-1]).any(axis=1)
    run = np.cumsum(key_change) - 1
    run_size = np.bincount(run)
    # Pairs of distinct owners within each run of equal segments.
    left: list[npt.NDArray[np.int64]] = []
    right: list[npt.NDArray[np.int64]] = []
    seg_of: list[npt.NDArray[np.int64]] = []
    starts = np.flatnonzero(key_change)
    two = starts[run_size == 2]
    ok = owner[two] != owner[two + 1]
    left.append(owner[two][ok])
    right.append(owner[two + 1][ok])
    seg_of.append(two[ok])
    for start in starts[run_size > 2]:  # three or more units on one segment: overlaps
        members = np.unique(owner[start : start + run_size[run[start]]])
        for i, x in enumerate(members):
            for y in members[i + 1 :]:
                left.append(np.array([x]))
                right.append(np.array([y]))
                seg_of.append(np.array([start]))
    su = np.concatenate(left)
    sv = np.concatenate(right)
    sidx = np.concatenate(seg_of)
    seg_a, seg_b = a[sidx], b[sidx]
    # Segments of one unit only: partial overlaps with a neighbour's differently-cut boundary.
    single = starts[run_size == 1]
    extra = _partial_overlaps(a, b, owner, single)
    if extra is not None:
        eu, ev, ea, eb = extra
        su, sv = np.concatenate([su, eu]), np.concatenate([sv, ev])
        seg_a, seg_b = np.concatenate([seg_a, ea]), np.concatenate([seg_b, eb])
    if len(su) == 0:
        return empty_i, empty_i, none
    n = np.int64(len(geoms))
    keys, codes = np.unique(su.astype(np.int64) * n + sv.astype(np.int64), return_inverse=True)
    length = np.hypot(seg_b[:, 0] - seg_a[:, 0], seg_b[:, 1] - seg_a[:, 1])
    return keys // n, keys % n, _Segments(codes.astype(np.int64), seg_a, seg_b, length)


def _partial_overlaps(
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    owner: npt.NDArray[np.int64],
    single: npt.NDArray[np.int64],
) -> (
    tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
    ]
    | None
):
    """Shared pieces of the unmatched segments ``single`` with the boundary segments of other
    units (owner < other).

    Segment against segment (two vertices each) through an STRtree of every boundary segment:
    the cost grows with the number of segments near each other, never with the size of the
    polygon a segment touches, so one unit of a million vertices beside another with different
    vertices costs seconds, not hours.
    """
    if len(single) == 0:
        return None
    lines = shapely.linestrings(np.stack([a, b], axis=1))
    qi, ti = shapely.STRtree(lines).query(lines[single], predicate="intersects")
    qs = single[qi]
    keep = owner[qs] < owner[ti]
    qs, ti = qs[keep], ti[keep]
    if len(qs) == 0:
        return None
    pieces = shapely.intersection(lines[qs], lines[ti])
    is_line = np.isin(shapely.get_type_id(pieces), [1, 5])
    pieces, qs, ti = pieces[is_line], qs[is_line], ti[is_line]
    parts, pidx = shapely.get_parts(pieces, return_index=True)
    is_line = shapely.get_type_id(parts) == 1
    parts, pidx = parts[is_line], pidx[is_line]
    if len(parts) == 0:
        return None
    coords, cidx = shapely.get_coordinates(parts, return_index=True)
    same = cidx[1:] == cidx[:-1]
    q0, q1 = coords[:-1][same], coords[1:][same]
    src = pidx[cidx[:-1][same]]
    nonzero = (q0 != q1).any(axis=1)
    q0, q1, src = q0[nonzero], q1[nonzero], src[nonzero]
    return owner[qs][src].astype(np.int64), owner[ti][src].astype(np.int64), q0, q1


def _edge_classes(
    segments: _Segments,
    length: npt.NDArray[np.float64],
    roads: gpd.GeoDataFrame,
    tolerance: float,
    workers: int = 1,
) -> npt.NDArray[np.object_]:
    """Road class along each shared edge (``None`` where under half of it follows roads)."""
    road_geoms = np.asarray(roads.geometry.values, dtype=object)
    valid = ~(pd.isna(road_geoms) | shapely.is_empty(road_geoms))
    road_geoms = road_geoms[valid]
    if "road_class" in roads.columns:
        classes = roads["road_class"].to_numpy(dtype=object)[valid]
        classes = np.asarray(
            [c if isinstance(c, str) and c else "other" for c in classes], dtype=object
        )
    else:
        classes = np.full(len(road_geoms), "other", dtype=object)
    result = np.full(len(length), None, dtype=object)
    if len(road_geoms) == 0:
        return result
    unknown = sorted({str(c) for c in classes if class_rank(c) == len(ROAD_CLASSES)})
    rank_of = {c: len(ROAD_CLASSES) + i for i, c in enumerate(unknown)}
    rank_of.update({c: i for i, c in enumerate(ROAD_CLASSES)})
    rank_to_class = {r: c for c, r in rank_of.items()}
    ranks = np.asarray([rank_of[str(c)] for c in classes], dtype=np.int64)

    # Sample points at even arc-length steps along every edge's pieces (in any order).
    n_edges = len(length)
    order = np.argsort(segments.edge, kind="stable")
    seg_edge = segments.edge[order]
    seg_len = segments.length[order]
    p0, p1 = segments.p0[order], segments.p1[order]
    cum = np.cumsum(seg_len)
    first_seg = np.searchsorted(seg_edge, np.arange(n_edges))
    edge_start = np.where(first_seg > 0, cum[np.maximum(first_seg - 1, 0)], 0.0)
    step = max(tolerance / 2.0, 1e-9)
    count = np.clip(np.ceil(length / step).astype(np.int64) + 1, _MIN_SAMPLES, MAX_SAMPLES)
    sample_edge = np.repeat(np.arange(n_edges), count)
    k = np.arange(len(sample_edge)) - np.repeat(np.cumsum(count) - count, count)
    position = edge_start[sample_edge] + (k + 0.5) / count[sample_edge] * length[sample_edge]
    seg = np.minimum(np.searchsorted(cum, position, side="right"), len(cum) - 1)
    frac = np.clip((position - (cum[seg] - seg_len[seg])) / np.maximum(seg_len[seg], 1e-12), 0, 1)
    xy = p0[seg] + (p1[seg] - p0[seg]) * frac[:, None]
    weight = length[sample_edge] / count[sample_edge]
    p_idx, r_idx = _points_near(shapely.STRtree(road_geoms), xy, tolerance, workers)
    pairs = pd.DataFrame({"p": p_idx, "rank": ranks[r_idx]}).drop_duplicates()
    pairs["edge"] = sample_edge[pairs["p"].to_numpy()]
    pairs["w"] = weight[pairs["p"].to_numpy()]
    covered = (
        pd.DataFrame({"edge": sample_edge[p_idx], "p": p_idx, "w": weight[p_idx]})
        .drop_duplicates("p")
        .groupby("edge")["w"]
        .sum()
    )
    share_total = covered / length[covered.index.to_numpy()]
    along = share_total[share_total > 0.5].index
    if len(along) == 0:
        return result
    per_class = pairs.groupby(["edge", "rank"])["w"].sum().reset_index()
    per_class = per_class[per_class["edge"].isin(along)]
    per_class["share"] = per_class["w"] / length[per_class["edge"].to_numpy()]
    # Most important class covering at least half the edge on its own...
    strong = per_class[per_class["share"] >= 0.5].sort_values(["edge", "rank"])
    chosen = strong.drop_duplicates("edge").set_index("edge")["rank"]
    # ... else the class covering most of it (ties: the more important).
    rest = per_class[~per_class["edge"].isin(chosen.index)]
    fallback = (
        rest.sort_values(["edge", "w", "rank"], ascending=[True, False, True])
        .drop_duplicates("edge")
        .set_index("edge")["rank"]
    )
    for edge, rank in pd.concat([chosen, fallback]).items():
        result[int(edge)] = rank_to_class[int(rank)]
    return result


#: Sample points per thread below which the road query stays on the calling thread.
_POINTS_PER_THREAD = 50_000


def _points_near(
    tree: shapely.STRtree, xy: npt.NDArray[np.float64], distance: float, workers: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pairs (point index, tree index) of the points ``xy`` within ``distance`` of a tree
    geometry, as ``tree.query(points, predicate="dwithin")`` gives them (same order).

    Large inputs are cut into contiguous chunks, one per thread: each makes its own points
    and queries the shared tree, which is only read (GEOS runs without the GIL).
    """
    chunks = min(workers, max(1, len(xy) // _POINTS_PER_THREAD))
    if chunks <= 1:
        found = tree.query(shapely.points(xy), predicate="dwithin", distance=distance)
        return found[0], found[1]
    tree.query(shapely.points(xy[:1]))  # the tree is built before threads share it

    def near(span: slice) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        p, r = tree.query(shapely.points(xy[span]), predicate="dwithin", distance=distance)
        return p + span.start, r

    parts = thread_map(near, spans(len(xy), chunks), workers)
    return (
        np.concatenate([p for p, _ in parts]).astype(np.int64),
        np.concatenate([r for _, r in parts]).astype(np.int64),
    )


def _counts(
    units: gpd.GeoDataFrame, column: str, ids: npt.NDArray[np.object_]
) -> npt.NDArray[np.float64]:
    if column not in units.columns:
        return np.zeros(len(ids), dtype=float)
    values = parse_counts(units[column], column, ids=ids, source="units")
    return np.nan_to_num(values, nan=0.0)
