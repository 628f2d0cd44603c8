"""Road-bounded blocks: the road network polygonized inside an outline.

A block is a face of the planar road network: the lines are noded (split at every crossing),
dangling ends (cul-de-sacs, roads that stop inside a block) drop out, and the closed rings
become polygons. When an outline (the subdistrict) is given, its boundary is added to the
network, so the blocks at the edge are closed by the outline and the blocks exactly tile the
outline. Slivers (faces smaller than ``min_area``, e.g. between the two carriageways of a
divided road) merge into the neighbour they share the longest boundary with.

Everything is computed in the dataset's metric CRS (:func:`gridplan.data.crs.metric_crs`).
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse

from gridplan.data.crs import metric_crs, require_crs
from gridplan.errors import InputError

#: Default sliver tolerance in square metres: faces smaller than this merge into a neighbour.
DEFAULT_MIN_AREA = 200.0

#: Rounds of sliver merging (a sliver cluster merges into one piece per round).
_MAX_MERGE_ROUNDS = 8


def polygonize_roads(
    roads: gpd.GeoDataFrame,
    outline: gpd.GeoDataFrame | None = None,
    *,
    classes: Iterable[str] | None = None,
    min_area: float = DEFAULT_MIN_AREA,
    crs: CRS | None = None,
) -> gpd.GeoDataFrame:
    """Polygonize a road network into road-bounded blocks.

    Parameters
    ----------
    roads
        Road centrelines (LineString / MultiLineString), any CRS. A ``road_class`` column is
        needed only when ``classes`` is given.
    outline
        Optional boundary polygon(s) (e.g. the subdistrict). Its boundary closes the blocks at
        the edge; blocks outside it are dropped, so the blocks tile the outline.
    classes
        Keep only roads whose ``road_class`` is one of these (e.g. drop ``service`` and
        ``path`` to get coarser blocks). ``None`` keeps every road.
    min_area
        Sliver tolerance in square metres: smaller faces merge into the neighbour they share
        the longest boundary with (``0`` keeps every face).
    crs
        The metric CRS to compute in; default :func:`~gridplan.data.crs.metric_crs` of the
        roads (of the outline when there are no roads).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per block, in the metric CRS: ``block_id`` (``"b1"``, ``"b2"``, ... numbered
        north to south, then west to east by representative point), ``area`` (m²) and the
        polygon. ``attrs["dangles"]`` counts the dangling road pieces that bound no block and
        ``attrs["slivers_merged"]`` the faces merged away.

    Raises
    ------
    InputError
        If there are neither roads nor an outline, if ``classes`` is given and the roads have
        no ``road_class``, or if ``min_area`` is negative.
    CRSError
        If a layer has no CRS.

    Examples
    --------
    A ``#``-shaped network of four roads inside a 30 m square outline makes 9 blocks::

        +----+----+----+
        |    |    |    |
        +----+----+----+   (roads at x=10, x=20, y=10, y=20; the square is the outline)
        |    |    |    |
        +----+----+----+
        |    |    |    |
        +----+----+----+

    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> lines = [LineString([(10, -5), (10, 35)]), LineString([(20, -5), (20, 35)]),
    ...          LineString([(-5, 10), (35, 10)]), LineString([(-5, 20), (35, 20)])]
    >>> roads = gpd.GeoDataFrame(geometry=lines, crs=32650)
    >>> outline = gpd.GeoDataFrame(geometry=[box(0, 0, 30, 30)], crs=32650)
    >>> blocks = polygonize_roads(roads, outline, min_area=0)
    >>> len(blocks), float(blocks.area.sum())
    (9, 900.0)
    """
    if min_area < 0:
        raise InputError(f"min_area must be >= 0 (got {min_area})")
    has_roads = roads is not None and len(roads) > 0
    if not has_roads and (outline is None or len(outline) == 0):
        raise InputError("polygonize_roads needs roads or an outline (both are empty)")
    if has_roads:
        require_crs(roads, "roads")
    if outline is not None and len(outline) > 0:
        require_crs(outline, "outline")
    if crs is None:
        crs = metric_crs(roads if has_roads else outline, "roads" if has_roads else "outline")
    target = CRS.from_user_input(crs)

    line_parts: list[npt.NDArray[np.object_]] = []
    if has_roads:
        selected = roads
        if classes is not None:
            if "road_class" not in roads.columns:
                raise InputError("roads: a road-class filter needs a road_class column")
            keep = set(classes)
            selected = roads[roads["road_class"].isin(keep)]
        geoms = np.asarray(selected.to_crs(target).geometry.values, dtype=object)
        geoms = geoms[~(pd.isna(geoms) | shapely.is_empty(geoms))]
        kinds = shapely.get_type_id(geoms)
        bad = ~np.isin(kinds, [1, 2, 5])  # LineString, LinearRing, MultiLineString
        if bad.any():
            types = sorted({g.geom_type for g in geoms[bad]})
            raise InputError(
                f"roads: {int(bad.sum())} feature(s) are not lines ({', '.join(types)})"
            )
        line_parts.append(shapely.force_2d(geoms))

    area_geom: shapely.Geometry | None = None
    if outline is not None and len(outline) > 0:
        out_geoms = np.asarray(outline.to_crs(target).geometry.values, dtype=object)
        out_geoms = out_geoms[~(pd.isna(out_geoms) | shapely.is_empty(out_geoms))]
        area_geom = shapely.make_valid(shapely.union_all(shapely.force_2d(out_geoms)))
        if area_geom.is_empty or shapely.area(area_geom) <= 0:
            raise InputError("outline: no polygon area")
        line_parts.append(np.asarray([shapely.boundary(area_geom)], dtype=object))

    all_lines = np.concatenate(line_parts) if line_parts else np.empty(0, dtype=object)
    if area_geom is not None:
        # Only lines near the outline matter (a bounding-box test: faces outside the outline
        # are dropped below); roads crossing its edge are cut at the outline by the noding.
        tree = shapely.STRtree(all_lines)
        near = tree.query(area_geom)
        all_lines = all_lines[np.sort(near)]
    # node() splits the lines at every crossing and drops duplicate and overlapping pieces
    # (faster than union_all, which also dissolves)
    noded = shapely.node(shapely.geometrycollections(all_lines))
    polys, cuts, dangles, _invalid = shapely.polygonize_full(
        np.asarray(shapely.get_parts(noded), dtype=object)
    )
    faces = np.asarray(shapely.get_parts(polys), dtype=object)
    n_dangles = len(shapely.get_parts(dangles)) + len(shapely.get_parts(cuts))
    if area_geom is not None and len(faces):
        reps = shapely.point_on_surface(faces)
        shapely.prepare(area_geom)
        faces = faces[shapely.contains(area_geom, reps)]
    faces = faces[shapely.area(faces) > 0]

    merged = 0
    if min_area > 0 and len(faces) > 1:
        before = len(faces)
        faces, _ = merge_slivers(faces, min_area)
        merged = before - len(faces)

    reps = shapely.point_on_surface(faces)
    order = np.lexsort((np.round(shapely.get_x(reps), 3), -np.round(shapely.get_y(reps), 3)))
    faces = faces[order]
    out = gpd.GeoDataFrame(
        {
            "block_id": [f"b{i + 1}" for i in range(len(faces))],
            "area": shapely.area(faces),
        },
        geometry=gpd.GeoSeries(faces, crs=target),
        crs=target,
    )
    out.attrs["dangles"] = int(n_dangles)
    out.attrs["slivers_merged"] = int(merged)
    return out


def merge_slivers(
    faces: npt.NDArray[np.object_],
    min_area: float,
    eligible: npt.NDArray[np.bool_] | None = None,
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Merge faces under ``min_area`` into their longest-shared neighbour (vectorised).

    Each round, every small eligible face picks the neighbour it shares the longest boundary
    with (ties: the larger neighbour); the picks form a forest whose trees are dissolved.
    Rounds repeat while small faces with neighbours remain.

    Parameters
    ----------
    faces
        Polygons that tile a region (shared edges noded alike).
    min_area
        Faces smaller than this merge.
    eligible
        Which faces may count as small (default all); others only receive.

    Returns
    -------
    faces, labels
        The merged faces and, per input face, the index of the output face it ended in.
    """
    labels = np.arange(len(faces), dtype=np.int64)
    may = np.ones(len(faces), dtype=bool) if eligible is None else np.asarray(eligible, bool)
    for _ in range(_MAX_MERGE_ROUNDS):
        areas = shapely.area(faces)
        small = np.flatnonzero((areas < min_area) & may)
        if len(small) == 0:
            break
        tree = shapely.STRtree(faces)
        src, dst = tree.query(faces[small], predicate="intersects")
        src = small[src]
        keep = src != dst
        src, dst = src[keep], dst[keep]
        if len(src) == 0:
            break
        shared = shapely.length(
            shapely.intersection(shapely.boundary(faces[src]), shapely.boundary(faces[dst]))
        )
        ok = shared > 0
        src, dst, shared = src[ok], dst[ok], shared[ok]
        if len(src) == 0:
            break
        table = pd.DataFrame({"src": src, "dst": dst, "shared": shared, "area": areas[dst]})
        best = table.sort_values(["src", "shared", "area"], ascending=[True, False, False])
        best = best.drop_duplicates("src")
        n = len(faces)
        graph = sparse.coo_array(
            (np.ones(len(best)), (best["src"].to_numpy(), best["dst"].to_numpy())), shape=(n, n)
        )
        _, comp = sparse.csgraph.connected_components(graph, directed=False)
        counts = np.bincount(comp)
        if (counts > 1).sum() == 0:
            break
        multi = counts[comp] > 1
        singles = np.flatnonzero(~multi)
        grouped = pd.Series(np.flatnonzero(multi)).groupby(comp[multi])
        unions = [shapely.union_all(faces[idx.to_numpy()]) for _, idx in grouped]
        # New index: singles first (in order), then one per merged group.
        new_index = np.empty(n, dtype=np.int64)
        new_index[singles] = np.arange(len(singles))
        group_keys = np.asarray(list(grouped.groups.keys()), dtype=np.int64)
        group_pos = np.full(comp.max() + 1, -1, dtype=np.int64)
        group_pos[group_keys] = len(singles) + np.arange(len(group_keys))
        new_index[multi] = group_pos[comp[multi]]
        new_may = np.zeros(len(singles) + len(group_keys), dtype=bool)
        new_may[: len(singles)] = may[singles]
        # a merged face stays eligible only if all its members were
        all_may = pd.Series(may[multi]).groupby(comp[multi]).all()
        new_may[len(singles) :] = all_may.reindex(group_keys).to_numpy(dtype=bool)
        faces = np.concatenate([faces[singles], np.asarray(unions, dtype=object)])
        may = new_may
        labels = new_index[labels]
    return faces, labels
