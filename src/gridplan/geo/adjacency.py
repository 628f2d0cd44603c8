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

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from gridplan.data.crs import metric_crs
from gridplan.data.layers import ROAD_CLASSES
from gridplan.errors import InputError
from gridplan.geo.graph import EDGE_COLUMNS, UnitGraph

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

    Returns
    -------
    UnitGraph
        Nodes in the order of ``units``; ``edges`` with ``u < v``, ``length`` (m) and
        ``road_class``.

    Raises
    ------
    InputError
        If the id column is missing or ids repeat, or a unit is not a polygon.

    Examples
    --------
    Three squares in a row, a road along the edge between the first two::

        +---+---+---+
        | a | b | c |      road (local) on x=1
        +---+---+---+

    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> units = gpd.GeoDataFrame({"unit_id": ["a", "b", "c"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs=3857)
    >>> roads = gpd.GeoDataFrame({"road_class": ["local"]},
    ...     geometry=[LineString([(1, -1), (1, 2)])], crs=3857)
    >>> g = build_unit_graph(units, roads, tolerance=0.1)
    >>> g.edge_table().values.tolist()
    [['a', 'b', 1.0, 'local'], ['b', 'c', 1.0, None]]
    """
    if id_column not in units.columns:
        raise InputError(f"units: no {id_column!r} column")
    ids = units[id_column].astype(str).to_numpy(dtype=object)
    dup = pd.Series(ids).duplicated()
    if dup.any():
        raise InputError(f"units: duplicate {id_column} {ids[dup.to_numpy()][0]!r}")
    target = CRS.from_user_input(crs) if crs is not None else metric_crs(units, "units")
    metric = units.to_crs(target) if units.crs is not None and units.crs != target else units
    geoms = np.asarray(metric.geometry.values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    bad = ~np.isin(kinds, [3, 6])
    if bad.any():
        raise InputError(f"units: unit {ids[bad][0]!r} is not a polygon")
    n = len(geoms)

    u, v, shared = _shared_boundaries(geoms)
    length = shapely.length(shared)
    road_class = np.full(len(u), None, dtype=object)
    if roads is not None and len(roads) > 0 and len(u) > 0:
        road_class = _edge_classes(shared, length, roads.to_crs(target), tolerance)
    edges = pd.DataFrame(
        {"u": u.astype(np.int64), "v": v.astype(np.int64), "length": length}
    ).assign(road_class=pd.Series(road_class, dtype=object))[list(EDGE_COLUMNS)]
    reps = shapely.point_on_surface(geoms)
    return UnitGraph(
        unit_ids=ids,
        households=_counts(units, households_column, n),
        residents=_counts(units, residents_column, n),
        edges=edges.reset_index(drop=True),
        centroids=np.column_stack([shapely.get_x(reps), shapely.get_y(reps)]).astype(float)
        if n
        else np.empty((0, 2)),
        areas=shapely.area(geoms).astype(float),
        crs=target,
    )


def shared_boundaries(
    units: gpd.GeoDataFrame,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Pairs ``u < v`` of units (row positions) sharing boundary of positive length.

    Returns the pairs and the shared boundary geometries (line parts only), in the CRS of
    ``units``.
    """
    return _shared_boundaries(np.asarray(units.geometry.values, dtype=object))


def _shared_boundaries(
    geoms: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    if len(geoms) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    bounds = shapely.boundary(geoms)
    shared = shapely.intersection(bounds[left], bounds[right])
    shared = _line_parts(shared)
    length = shapely.length(shared)
    ok = length > 0
    order = np.lexsort((right[ok], left[ok]))
    return (
        left[ok][order].astype(np.int64),
        right[ok][order].astype(np.int64),
        shared[ok][order],
    )


def _line_parts(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Keep only the (multi)line parts of intersection results (drop shared points)."""
    kinds = shapely.get_type_id(geoms)
    collection = kinds == 7
    if not collection.any():
        return geoms
    out = geoms.copy()
    idx = np.flatnonzero(collection)
    parts, owner = shapely.get_parts(geoms[idx], return_index=True)
    is_line = np.isin(shapely.get_type_id(parts), [1, 2, 5])
    merged = [
        shapely.line_merge(shapely.multilinestrings(parts[is_line & (owner == k)]))
        for k in range(len(idx))
    ]
    out[idx] = np.asarray(merged, dtype=object)
    return out


def _edge_classes(
    shared: npt.NDArray[np.object_],
    length: npt.NDArray[np.float64],
    roads: gpd.GeoDataFrame,
    tolerance: float,
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
    result = np.full(len(shared), None, dtype=object)
    if len(road_geoms) == 0:
        return result
    unknown = sorted({str(c) for c in classes if class_rank(c) == len(ROAD_CLASSES)})
    rank_of = {c: len(ROAD_CLASSES) + i for i, c in enumerate(unknown)}
    rank_of.update({c: i for i, c in enumerate(ROAD_CLASSES)})
    rank_to_class = {r: c for c, r in rank_of.items()}
    ranks = np.asarray([rank_of[str(c)] for c in classes], dtype=np.int64)

    # Sample points along every line part of every shared edge, weighted by part length.
    parts, owner = shapely.get_parts(shared, return_index=True)
    part_len = shapely.length(parts)
    line = part_len > 0
    parts, owner, part_len = parts[line], owner[line], part_len[line]
    step = max(tolerance / 2.0, 1e-9)
    count = np.clip(np.ceil(part_len / step).astype(np.int64) + 1, _MIN_SAMPLES, MAX_SAMPLES)
    sample_part = np.repeat(np.arange(len(parts)), count)
    first = np.repeat(np.cumsum(count) - count, count)
    k = np.arange(len(sample_part)) - first
    frac = (k + 0.5) / count[sample_part]
    points = shapely.line_interpolate_point(parts[sample_part], frac, normalized=True)
    weight = part_len[sample_part] / count[sample_part]
    sample_edge = owner[sample_part]

    tree = shapely.STRtree(road_geoms)
    p_idx, r_idx = tree.query(points, predicate="dwithin", distance=tolerance)
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


def _counts(units: gpd.GeoDataFrame, column: str, n: int) -> npt.NDArray[np.float64]:
    if column not in units.columns:
        return np.zeros(n, dtype=float)
    values = pd.to_numeric(units[column], errors="coerce").to_numpy(dtype=float)
    return np.nan_to_num(values, nan=0.0)
