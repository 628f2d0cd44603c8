"""Units: the atomic pieces plans are made of, with households and residents on them.

Units start as road-bounded blocks (:func:`gridplan.geo.blocks.polygonize_roads`). Compounds
(residential developments, 小区) then shape them, as configured by
:attr:`UnitParams.compound_mode`:

``"carve"`` (default)
    Every compound polygon becomes a unit of its own, cut out of the blocks it covers; the
    rest of each block stays a unit (one unit per part). A compound that spans a road stays
    whole: its unit crosses the road. Remainder slivers under ``min_area`` merge into the
    neighbour they share the longest boundary with.
``"merge"``
    Blocks that one compound spans (each holding at least ``span_share`` of its area) merge
    into one unit where the boundary between them follows a minor road (``merge_classes``)
    or no road; across other roads they stay apart (the compound is reported as split).
``"none"``
    Units are the blocks.

Households and residents are placed from compounds, buildings (their ``households`` column,
e.g. estimated by :mod:`gridplan.data.households`) and points (e.g. census block points).
Each feature goes whole to one unit: the unit containing its anchor (a point, or a point on
the surface of a polygon), else the unit it overlaps most, else the nearest unit within
``snap_distance``; anything still unplaced is reported. A building or point inside a compound
that carries its own count is skipped (the compound's count wins) and reported. Totals are
conserved exactly: placed + unplaced + skipped equals the input, per source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse

from gridplan.data.crs import metric_crs
from gridplan.data.layers import (
    ARTERIAL_CLASSES,
    ROAD_CLASSES,
    feature_ids,
    parse_counts,
    valid_polygons,
)
from gridplan.errors import InputError
from gridplan.geo.adjacency import DEFAULT_TOLERANCE, build_unit_graph
from gridplan.geo.blocks import DEFAULT_MIN_AREA, merge_slivers, polygonize_roads

CompoundMode = Literal["carve", "merge", "none"]

#: Columns of :attr:`UnitsResult.placements` and :attr:`UnitsResult.unplaced`.
PLACEMENT_COLUMNS: tuple[str, ...] = (
    "source",
    "feature_id",
    "unit_id",
    "method",
    "households",
    "residents",
)
UNPLACED_COLUMNS: tuple[str, ...] = ("source", "feature_id", "households", "residents", "reason")

_EPS_AREA = 1e-6


@dataclass(frozen=True)
class UnitParams:
    """How units are built.

    Parameters
    ----------
    min_area
        Sliver tolerance (m²) for blocks and block remainders.
    classes
        Road classes that bound blocks (``None``: all).
    compound_mode
        ``"carve"``, ``"merge"`` or ``"none"`` (see the module docstring).
    merge_classes
        Road classes a compound may span in ``"merge"`` mode (boundaries on no road too).
    span_share
        In ``"merge"`` mode, a compound spans a block holding at least this share of its area.
    snap_distance
        Features outside every unit go to the nearest unit within this distance (m);
        ``0`` disables snapping.
    tolerance
        Distance (m) within which a block boundary follows a road (``"merge"`` mode).
    households_column, residents_column
        Count columns of the compounds, buildings and points.
    """

    min_area: float = DEFAULT_MIN_AREA
    classes: tuple[str, ...] | None = None
    compound_mode: CompoundMode = "carve"
    merge_classes: frozenset[str] = field(
        default_factory=lambda: frozenset(c for c in ROAD_CLASSES if c not in ARTERIAL_CLASSES)
    )
    span_share: float = 0.1
    snap_distance: float = 50.0
    tolerance: float = DEFAULT_TOLERANCE
    households_column: str = "households"
    residents_column: str = "residents"


@dataclass(frozen=True)
class UnitsResult:
    """Units with counts, and where every input feature went.

    Attributes
    ----------
    units
        ``unit_id``, ``households``, ``residents``, ``kind`` (``block`` | ``compound``),
        ``block_id`` (the block a block unit came from), ``compound_id`` (``;``-joined ids of
        the compounds a compound unit holds), ``area`` (m²), geometry; metric CRS.
    blocks
        The road-bounded blocks the units were built from.
    placements
        One row per placed feature: ``source`` (compounds | buildings | points),
        ``feature_id``, ``unit_id``, ``method`` (carved | contained | overlap | nearest),
        ``households``, ``residents``.
    unplaced
        Features that could not be placed, or were skipped, with the reason.
    split_compounds
        Ids of compounds that lie in more than one unit (``"merge"`` / ``"none"`` modes).
    totals
        Per source: input, placed and unplaced households and residents.
    """

    units: gpd.GeoDataFrame
    blocks: gpd.GeoDataFrame
    placements: pd.DataFrame
    unplaced: pd.DataFrame
    split_compounds: list[str]
    totals: pd.DataFrame


def build_units(
    roads: gpd.GeoDataFrame,
    outline: gpd.GeoDataFrame | None = None,
    *,
    compounds: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    points: gpd.GeoDataFrame | None = None,
    params: UnitParams | None = None,
    crs: CRS | None = None,
) -> UnitsResult:
    """Build units from roads (inside an outline) and put households and residents on them.

    Parameters
    ----------
    roads
        Road centrelines (``road_class`` used for the class filter and ``"merge"`` mode).
    outline
        Optional outline polygon(s); the blocks then tile it.
    compounds
        Compound polygons (or points) with ``compound_id`` and optional counts. Without a
        ``compound_id`` column a compound is named by its row (``row 3``); with one, every
        compound needs its own id.
    buildings
        Building polygons with ``building_id`` (unique, like ``compound_id``) and a
        households count.
    points
        Count points (e.g. census block points) with households / residents columns (and
        an optional unique ``point_id``).
    params
        Building parameters (defaults: :class:`UnitParams`).
    crs
        Metric CRS (default: :func:`~gridplan.data.crs.metric_crs` of the roads).

    Returns
    -------
    UnitsResult

    Raises
    ------
    InputError
        If ``compound_mode`` is unknown; or a compound, building or point has no geometry,
        is neither a polygon nor a point, has a negative or unreadable count, lacks its id
        (when the layer has an id column) or shares its id with another feature of its layer.
    CRSError
        If a layer has no CRS.

    Examples
    --------
    Two blocks split by a road; a compound of 30 households sits in the west block and a
    point with 5 households in the east block::

        +-------+-------+
        | [c]   |    .  |    road at x=100, outline 0..200 x 0..100
        +-------+-------+

    >>> import geopandas as gpd
    >>> from shapely import LineString, Point, box
    >>> roads = gpd.GeoDataFrame(geometry=[LineString([(100, -10), (100, 110)])], crs=32650)
    >>> outline = gpd.GeoDataFrame(geometry=[box(0, 0, 200, 100)], crs=32650)
    >>> compounds = gpd.GeoDataFrame({"compound_id": ["c"], "households": [30.0]},
    ...                              geometry=[box(10, 10, 40, 40)], crs=32650)
    >>> points = gpd.GeoDataFrame({"households": [5.0]}, geometry=[Point(150, 50)], crs=32650)
    >>> r = build_units(roads, outline, compounds=compounds, points=points)
    >>> r.units[["kind", "households"]].values.tolist()
    [['block', 0.0], ['block', 5.0], ['compound', 30.0]]
    """
    p = params or UnitParams()
    if p.compound_mode not in ("carve", "merge", "none"):
        raise InputError(f"compound_mode must be carve, merge or none (got {p.compound_mode!r})")
    blocks = polygonize_roads(roads, outline, classes=p.classes, min_area=p.min_area, crs=crs)
    target = CRS.from_user_input(blocks.crs)
    comp = _prepare(compounds, "compounds", "compound_id", target, p)
    build = _prepare(buildings, "buildings", "building_id", target, p)
    pts = _prepare(points, "points", "point_id", target, p)

    carved: npt.NDArray[np.int64] | None = None
    if p.compound_mode == "carve" and comp is not None:
        units, carved = _carve(blocks, comp, p.min_area)
    elif p.compound_mode == "merge" and comp is not None:
        units = _merge(blocks, comp, roads, p)
    else:
        units = _from_blocks(blocks)

    geoms = np.asarray(units.geometry.values, dtype=object)
    unit_ids = units["unit_id"].to_numpy(dtype=object)
    tree = shapely.STRtree(geoms)
    placements: list[pd.DataFrame] = []
    unplaced: list[pd.DataFrame] = []
    split: list[str] = []
    counted_compounds: gpd.GeoDataFrame | None = None
    if comp is not None:
        if carved is not None:
            target_unit = carved.copy()
            method = np.where(carved >= 0, "carved", "").astype(object)
            todo = carved < 0
            if todo.any():
                extra_unit, extra_method = _locate(comp[todo], geoms, tree, p.snap_distance)
                target_unit[todo] = extra_unit
                method[todo] = extra_method
        else:
            target_unit, method = _locate(comp, geoms, tree, p.snap_distance)
            split = _split_compounds(comp, geoms, tree)
        placed, missed = _tables("compounds", comp, target_unit, method, unit_ids)
        placements.append(placed)
        unplaced.append(missed)
        has_count = comp["households"].notna() | comp["residents"].notna()
        poly = np.isin(shapely.get_type_id(np.asarray(comp.geometry.values)), [3, 6])
        counted_compounds = comp[has_count.to_numpy() & poly]
    for source, layer in (("buildings", build), ("points", pts)):
        if layer is None:
            continue
        skipped = _inside_counted(layer, counted_compounds)
        if skipped.any():
            unplaced.append(_skipped_table(source, layer[skipped], counted_compounds))
            layer = layer[~skipped]
        target_unit, method = _locate(layer, geoms, tree, p.snap_distance)
        placed, missed = _tables(source, layer, target_unit, method, unit_ids)
        placements.append(placed)
        unplaced.append(missed)

    place = (
        pd.concat(placements, ignore_index=True)
        if placements
        else pd.DataFrame({c: [] for c in PLACEMENT_COLUMNS})
    )
    miss = (
        pd.concat(unplaced, ignore_index=True)
        if unplaced
        else pd.DataFrame({c: [] for c in UNPLACED_COLUMNS})
    )
    index = {str(u): i for i, u in enumerate(unit_ids)}
    idx = place["unit_id"].map(index).to_numpy(dtype=np.int64)
    n = len(units)
    units["households"] = np.bincount(
        idx, weights=place["households"].to_numpy(dtype=float), minlength=n
    )
    units["residents"] = np.bincount(
        idx, weights=place["residents"].to_numpy(dtype=float), minlength=n
    )
    units = units[
        [
            "unit_id",
            "households",
            "residents",
            "kind",
            "block_id",
            "compound_id",
            "area",
            "geometry",
        ]
    ]
    return UnitsResult(
        units=units,
        blocks=blocks,
        placements=place,
        unplaced=miss,
        split_compounds=split,
        totals=_totals(place, miss),
    )


def _prepare(
    layer: gpd.GeoDataFrame | None,
    source: str,
    id_column: str,
    target: CRS,
    p: UnitParams,
) -> gpd.GeoDataFrame | None:
    """Metric copy with ``feature_id``, ``households``, ``residents`` (NaN when unknown)."""
    if layer is None or len(layer) == 0:
        return None
    if layer.crs is None:
        metric_crs(layer, source)  # raises CRSError naming the layer
    geoms = np.asarray(layer.geometry.values, dtype=object)
    bad = pd.isna(geoms) | shapely.is_empty(geoms)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(f"{source}: feature at row {first + 1} has no geometry")
    kinds = shapely.get_type_id(geoms)
    if not np.isin(kinds, [0, 3, 4, 6]).all():
        first = int(np.flatnonzero(~np.isin(kinds, [0, 3, 4, 6]))[0])
        raise InputError(
            f"{source}: feature at row {first + 1} is a {geoms[first].geom_type}, "
            "expected a polygon or point"
        )
    polys = np.isin(kinds, [3, 6])
    invalid = polys & ~shapely.is_valid(geoms)
    metric_geoms = np.asarray(layer.to_crs(target).geometry.values, dtype=object)
    if invalid.any():  # e.g. self-touching OSM footprints: repair, keep the polygonal part
        metric_geoms = valid_polygons(metric_geoms)
    out = gpd.GeoDataFrame(
        {
            "feature_id": (
                feature_ids(layer[id_column], id_column, source)
                if id_column in layer.columns
                else np.asarray([f"row {i + 1}" for i in range(len(layer))], dtype=object)
            ),
            "households": _count(layer, p.households_column, source),
            "residents": _count(layer, p.residents_column, source),
        },
        geometry=metric_geoms,
        crs=target,
    )
    out.attrs["repaired"] = int(invalid.sum())
    return out


def _count(layer: gpd.GeoDataFrame, column: str, source: str) -> npt.NDArray[np.float64]:
    if column not in layer.columns:
        return np.full(len(layer), np.nan)
    return parse_counts(layer[column], column, source=source)


def _from_blocks(blocks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return _finish(
        np.asarray(blocks.geometry.values, dtype=object),
        np.full(len(blocks), "block", dtype=object),
        blocks["block_id"].to_numpy(dtype=object),
        np.full(len(blocks), None, dtype=object),
        blocks.crs,
    )[0]


def _finish(
    geoms: npt.NDArray[np.object_],
    kind: npt.NDArray[np.object_],
    block_id: npt.NDArray[np.object_],
    compound_id: npt.NDArray[np.object_],
    crs: object,
) -> tuple[gpd.GeoDataFrame, npt.NDArray[np.int64]]:
    """Order units north to south, west to east; number them ``u1``, ``u2``, ...

    Returns the units and the new position of each input row.
    """
    reps = shapely.point_on_surface(geoms)
    order = np.lexsort((np.round(shapely.get_x(reps), 3), -np.round(shapely.get_y(reps), 3)))
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    units = gpd.GeoDataFrame(
        {
            "unit_id": np.asarray([f"u{i + 1}" for i in range(len(order))], dtype=object),
            "kind": pd.Series(kind[order], dtype=object),
            "block_id": pd.Series(block_id[order], dtype=object),
            "compound_id": pd.Series(compound_id[order], dtype=object),
            "area": shapely.area(geoms[order]),
        },
        geometry=gpd.GeoSeries(geoms[order], crs=crs),
        crs=crs,
    )
    return units, position


def _carve(
    blocks: gpd.GeoDataFrame, comp: gpd.GeoDataFrame, min_area: float
) -> tuple[gpd.GeoDataFrame, npt.NDArray[np.int64]]:
    """Cut compound polygons out of the blocks; return units and each compound's unit (-1:
    not carved: a point, or outside every block)."""
    bgeoms = np.asarray(blocks.geometry.values, dtype=object)
    cgeoms = np.asarray(comp.geometry.values, dtype=object)
    is_poly = np.isin(shapely.get_type_id(cgeoms), [3, 6])
    cgeoms = np.where(is_poly, shapely.make_valid(cgeoms), cgeoms)
    # Overlapping compounds: the earlier one keeps the overlap.
    poly_idx = np.flatnonzero(is_poly)
    if len(poly_idx) > 1:
        tree = shapely.STRtree(cgeoms[poly_idx])
        a, b = tree.query(cgeoms[poly_idx], predicate="intersects")
        keep = a > b  # a later than b
        if keep.any():
            later = poly_idx[a[keep]]
            earlier = poly_idx[b[keep]]
            for j, group in pd.Series(earlier).groupby(later):
                cgeoms[j] = shapely.difference(
                    cgeoms[j], shapely.union_all(cgeoms[group.to_numpy()])
                )
    btree = shapely.STRtree(bgeoms)
    ci, bi = btree.query(cgeoms[poly_idx], predicate="intersects")
    ci = poly_idx[ci]
    pieces = shapely.intersection(bgeoms[bi], cgeoms[ci])
    area = shapely.area(pieces)
    ok = area > _EPS_AREA
    ci, bi, pieces = ci[ok], bi[ok], pieces[ok]
    # Compound units: union of their pieces.
    comp_units: list[shapely.Geometry] = []
    comp_of_unit: list[int] = []
    for c, group in pd.Series(np.arange(len(ci))).groupby(ci):
        comp_units.append(shapely.union_all(pieces[group.to_numpy()]))
        comp_of_unit.append(int(c))
    # Block remainders.
    rest = bgeoms.copy()
    touched = np.unique(bi)
    for b, group in pd.Series(ci).groupby(bi):
        rest[b] = shapely.difference(bgeoms[b], shapely.union_all(cgeoms[group.to_numpy()]))
    parts, owner = shapely.get_parts(rest, return_index=True)
    polys = np.isin(shapely.get_type_id(parts), [3])
    parts, owner = parts[polys], owner[polys]
    keep_part = shapely.area(parts) > _EPS_AREA
    parts, owner = parts[keep_part], owner[keep_part]
    n_rest = len(parts)
    faces = np.concatenate([parts, np.asarray(comp_units, dtype=object)])
    eligible = np.zeros(len(faces), dtype=bool)
    eligible[:n_rest] = np.isin(owner, touched)  # only remainders of cut blocks are slivers
    merged, labels = merge_slivers(faces, min_area, eligible)
    m = len(merged)
    kind = np.full(m, "block", dtype=object)
    block_id = np.full(m, None, dtype=object)
    compound_id = np.full(m, None, dtype=object)
    bids = blocks["block_id"].to_numpy(dtype=object)
    for i in range(n_rest):
        if block_id[labels[i]] is None:
            block_id[labels[i]] = bids[owner[i]]
    fids = comp["feature_id"].to_numpy(dtype=object)
    ids_per_unit: dict[int, list[str]] = {}
    for k, c in enumerate(comp_of_unit):
        ids_per_unit.setdefault(int(labels[n_rest + k]), []).append(str(fids[c]))
    for u, ids in ids_per_unit.items():
        kind[u] = "compound"
        compound_id[u] = ";".join(ids)
        block_id[u] = None
    units, position = _finish(merged, kind, block_id, compound_id, blocks.crs)
    carved = np.full(len(comp), -1, dtype=np.int64)
    for k, c in enumerate(comp_of_unit):
        carved[c] = position[labels[n_rest + k]]
    return units, carved


def _merge(
    blocks: gpd.GeoDataFrame, comp: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, p: UnitParams
) -> gpd.GeoDataFrame:
    """Merge blocks that one compound spans across minor roads (or no road)."""
    bgeoms = np.asarray(blocks.geometry.values, dtype=object)
    cgeoms = np.asarray(comp.geometry.values, dtype=object)
    poly_idx = np.flatnonzero(np.isin(shapely.get_type_id(cgeoms), [3, 6]))
    btree = shapely.STRtree(bgeoms)
    ci, bi = btree.query(cgeoms[poly_idx], predicate="intersects")
    ci = poly_idx[ci]
    share = shapely.area(shapely.intersection(bgeoms[bi], cgeoms[ci])) / np.maximum(
        shapely.area(cgeoms[ci]), _EPS_AREA
    )
    spans = pd.DataFrame({"c": ci, "b": bi})[share >= p.span_share]
    n = len(blocks)
    links_u: list[int] = []
    links_v: list[int] = []
    multi = spans.groupby("c")["b"].transform("size") > 1
    if multi.any():
        graph = build_unit_graph(
            blocks.rename(columns={"block_id": "unit_id"}),
            roads if roads is not None and len(roads) else None,
            tolerance=p.tolerance,
            crs=CRS.from_user_input(blocks.crs),
        )
        edges = graph.edges
        allowed = edges["road_class"].map(lambda c: c is None or c in p.merge_classes)
        edges = edges[allowed.to_numpy(dtype=bool)]
        edge_set = set(zip(edges["u"].to_numpy(), edges["v"].to_numpy(), strict=True))
        for _, group in spans[multi].groupby("c"):
            members = sorted(group["b"].tolist())
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    if (a, b) in edge_set:
                        links_u.append(a)
                        links_v.append(b)
    adj = sparse.coo_array((np.ones(len(links_u)), (links_u, links_v)), shape=(n, n))
    _, comp_label = sparse.csgraph.connected_components(adj, directed=False)
    bids = blocks["block_id"].to_numpy(dtype=object)
    geoms: list[shapely.Geometry] = []
    block_id: list[str] = []
    for _, group in pd.Series(np.arange(n)).groupby(comp_label):
        idx = group.to_numpy()
        geoms.append(bgeoms[idx[0]] if len(idx) == 1 else shapely.union_all(bgeoms[idx]))
        block_id.append(";".join(str(b) for b in bids[idx]))
    m = len(geoms)
    return _finish(
        np.asarray(geoms, dtype=object),
        np.full(m, "block", dtype=object),
        np.asarray(block_id, dtype=object),
        np.full(m, None, dtype=object),
        blocks.crs,
    )[0]


def _locate(
    layer: gpd.GeoDataFrame,
    geoms: npt.NDArray[np.object_],
    tree: shapely.STRtree,
    snap_distance: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Unit index (-1: unplaced) and method per feature."""
    fgeoms = np.asarray(layer.geometry.values, dtype=object)
    n = len(fgeoms)
    unit = np.full(n, -1, dtype=np.int64)
    method = np.full(n, "", dtype=object)
    if n == 0 or len(geoms) == 0:
        return unit, method
    is_poly = np.isin(shapely.get_type_id(fgeoms), [3, 6])
    anchors = np.where(is_poly, shapely.point_on_surface(fgeoms), fgeoms)
    fi, ui = tree.query(anchors, predicate="intersects")
    if len(fi):
        first = pd.DataFrame({"f": fi, "u": ui}).groupby("f")["u"].min()
        unit[first.index.to_numpy()] = first.to_numpy()
        method[first.index.to_numpy()] = "contained"
    todo = np.flatnonzero((unit < 0) & is_poly)
    if len(todo):
        fi, ui = tree.query(fgeoms[todo], predicate="intersects")
        if len(fi):
            area = shapely.area(shapely.intersection(fgeoms[todo][fi], geoms[ui]))
            table = pd.DataFrame({"f": todo[fi], "u": ui, "a": area})
            table = table[table["a"] > 0].sort_values(
                ["f", "a", "u"], ascending=[True, False, True]
            )
            best = table.drop_duplicates("f")
            unit[best["f"].to_numpy()] = best["u"].to_numpy()
            method[best["f"].to_numpy()] = "overlap"
    todo = np.flatnonzero(unit < 0)
    if len(todo) and snap_distance > 0:
        fi, ui = tree.query_nearest(fgeoms[todo], max_distance=snap_distance, all_matches=False)
        unit[todo[fi]] = ui
        method[todo[fi]] = "nearest"
    return unit, method


def _split_compounds(
    comp: gpd.GeoDataFrame, geoms: npt.NDArray[np.object_], tree: shapely.STRtree
) -> list[str]:
    """Ids of polygon compounds overlapping more than one unit (by positive area)."""
    cgeoms = np.asarray(comp.geometry.values, dtype=object)
    poly = np.flatnonzero(np.isin(shapely.get_type_id(cgeoms), [3, 6]))
    ci, ui = tree.query(cgeoms[poly], predicate="intersects")
    if len(ci) == 0:
        return []
    area = shapely.area(shapely.intersection(cgeoms[poly][ci], geoms[ui]))
    counts = pd.Series(ci[area > 1.0]).value_counts()
    fids = comp["feature_id"].to_numpy(dtype=object)
    return sorted(str(fids[poly[c]]) for c in counts[counts > 1].index)


def _inside_counted(
    layer: gpd.GeoDataFrame, counted: gpd.GeoDataFrame | None
) -> npt.NDArray[np.bool_]:
    if counted is None or len(counted) == 0:
        return np.zeros(len(layer), dtype=bool)
    geoms = np.asarray(layer.geometry.values, dtype=object)
    is_poly = np.isin(shapely.get_type_id(geoms), [3, 6])
    anchors = np.where(is_poly, shapely.point_on_surface(geoms), geoms)
    tree = shapely.STRtree(np.asarray(counted.geometry.values, dtype=object))
    fi, _ = tree.query(anchors, predicate="intersects")
    inside = np.zeros(len(layer), dtype=bool)
    inside[fi] = True
    return inside


def _skipped_table(
    source: str, layer: gpd.GeoDataFrame, counted: gpd.GeoDataFrame | None
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": source,
            "feature_id": layer["feature_id"].to_numpy(dtype=object),
            "households": layer["households"].to_numpy(dtype=float),
            "residents": layer["residents"].to_numpy(dtype=float),
            "reason": "inside a compound that carries its own count (the compound's count wins)",
        }
    )


def _tables(
    source: str,
    layer: gpd.GeoDataFrame,
    unit: npt.NDArray[np.int64],
    method: npt.NDArray[np.object_],
    unit_ids: npt.NDArray[np.object_],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    ok = unit >= 0
    hh = np.nan_to_num(layer["households"].to_numpy(dtype=float), nan=0.0)
    res = np.nan_to_num(layer["residents"].to_numpy(dtype=float), nan=0.0)
    fids = layer["feature_id"].to_numpy(dtype=object)
    placed = pd.DataFrame(
        {
            "source": source,
            "feature_id": fids[ok],
            "unit_id": unit_ids[unit[ok]],
            "method": method[ok],
            "households": hh[ok],
            "residents": res[ok],
        }
    )
    missed = pd.DataFrame(
        {
            "source": source,
            "feature_id": fids[~ok],
            "households": hh[~ok],
            "residents": res[~ok],
            "reason": "outside every unit and farther than snap_distance from any",
        }
    )
    return placed, missed


def _totals(place: pd.DataFrame, miss: pd.DataFrame) -> pd.DataFrame:
    placed = place.groupby("source")[["households", "residents"]].sum()
    missed = miss.groupby("source")[["households", "residents"]].sum()
    sources = sorted(set(placed.index) | set(missed.index))
    placed = placed.reindex(sources, fill_value=0.0)
    missed = missed.reindex(sources, fill_value=0.0)
    out = pd.DataFrame(
        {
            "households_placed": placed["households"],
            "households_unplaced": missed["households"],
            "residents_placed": placed["residents"],
            "residents_unplaced": missed["residents"],
        },
        index=pd.Index(sources, name="source"),
    )
    out["households_input"] = out["households_placed"] + out["households_unplaced"]
    out["residents_input"] = out["residents_placed"] + out["residents_unplaced"]
    return out.reset_index()
