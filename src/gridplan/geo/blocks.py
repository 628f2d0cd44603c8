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
    >>> roads = gpd.GeoDataFrame(geometry=lines, crs=3857)
    >>> outline = gpd.GeoDataFrame(geometry=[box(0, 0, 30, 30)], crs=3857)
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
        # Only lines touching the outline matter; roads crossing its edge are cut at the
        # outline boundary by the noding below.
        tree = shapely.STRtree(all_lines)
        near = tree.query(area_geom, predicate="intersects")
        all_lines = all_lines[np.sort(near)]
    noded = shapely.union_all(all_lines)
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
        faces, merged = _merge_slivers(faces, min_area)

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


def _merge_slivers(
    faces: npt.NDArray[np.object_], min_area: float
) -> tuple[npt.NDArray[np.object_], int]:
    """Merge faces under ``min_area`` into their longest-shared neighbour (vectorised).

    Each round, every small face picks the neighbour it shares the longest boundary with;
    the picks form a forest whose components are dissolved. Rounds repeat while small faces
    with neighbours remain.
    """
    merged_total = 0
    for _ in range(_MAX_MERGE_ROUNDS):
        areas = shapely.area(faces)
        small = np.flatnonzero(areas < min_area)
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
        # Per small face, the neighbour with the longest shared boundary (ties: larger face).
        table = pd.DataFrame({"src": src, "dst": dst, "shared": shared, "area": areas[dst]})
        best = table.sort_values(["src", "shared", "area"], ascending=[True, False, False])
        best = best.drop_duplicates("src")
        n = len(faces)
        graph = sparse.coo_array(
            (np.ones(len(best)), (best["src"].to_numpy(), best["dst"].to_numpy())), shape=(n, n)
        )
        _, labels = sparse.csgraph.connected_components(graph, directed=False)
        counts = np.bincount(labels)
        if (counts > 1).sum() == 0:
            break
        multi = counts[labels] > 1
        single_faces = faces[~multi]
        grouped = pd.Series(np.flatnonzero(multi)).groupby(labels[multi])
        unions = [shapely.union_all(faces[idx.to_numpy()]) for _, idx in grouped]
        new_faces = np.concatenate([single_faces, np.asarray(unions, dtype=object)])
        merged_total += int(n - len(new_faces))
        faces = new_faces
    return faces, merged_total
