"""Cells: units below the road block, one per building (楼栋), the grain of grids.

A road block often holds more households than a grid (300–500), so grids made of whole
blocks miss their band. :func:`build_cells` divides every block unit into one cell per
building (or count point) that :func:`gridplan.geo.units.build_units` placed in it: the
Voronoi cells of the features' anchor points, clipped to the block, so every cell holds
exactly one feature's households and residents and the cells tile the block. Features
without households generate no cell (their ground joins the neighbouring cells), a block
with at most one counted feature stays one cell, and a compound unit (a carved 小区) stays
whole, so a compound keeps its identity. Totals are conserved exactly: the cells of a unit
hold what was placed on it.

Every cell keeps its block (``block_unit``), so community partitions can still use whole
blocks (cutting only along roads) while grids are made of cells.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.data.layers import feature_ids, valid_polygons
from gridplan.errors import InputError
from gridplan.geo.plans import dissolve_units

#: Columns of the cells layer (before ``geometry``).
CELL_COLUMNS: tuple[str, ...] = (
    "unit_id",
    "block_unit",
    "households",
    "residents",
    "kind",
    "features",
    "compound_id",
    "area",
)


def build_cells(
    units: gpd.GeoDataFrame,
    placements: pd.DataFrame,
    anchors: Mapping[str, gpd.GeoDataFrame],
    *,
    split_above: float | None = 500.0,
) -> gpd.GeoDataFrame:
    """Divide block units into one cell per counted feature placed on them.

    Parameters
    ----------
    units
        Units as :func:`~gridplan.geo.units.build_units` returns them (``unit_id``,
        ``households``, ``residents``, ``kind``, ``compound_id``, metric CRS).
    placements
        Its placements: ``source``, ``feature_id``, ``unit_id``, ``households``,
        ``residents``.
    anchors
        The placed features by source (``buildings``, ``compounds``, ``points``), with the
        id column of the source (``building_id``, ``compound_id``, ``point_id``) or ids by
        row; each feature's anchor is its point on surface.
    split_above
        A compound unit holding more households than this (the grid ceiling: a 小区 too big
        for one grid) is divided into one cell per building inside it, its households shared
        by the buildings' own estimates (else their footprints), so grids can follow its
        building lines; a smaller compound stays one cell. ``None`` keeps every compound
        whole.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`CELL_COLUMNS` and geometry, in the units' CRS: ``unit_id`` is the cell id
        (``<unit>.<n>``, or the unit's own id for a unit that stays whole), ``block_unit``
        the unit it divides, ``kind`` ``cell`` (or the unit's kind when whole), ``features``
        the ``;``-joined ids of the features it holds.

    Raises
    ------
    InputError
        If a placement names a feature that ``anchors`` lacks.

    Examples
    --------
    One block of 100 × 50 m with three buildings of 100, 200 and 0 households::

        +-----------------+
        |  [a]  [b]  [c]  |     a: 100, b: 200, c: 0 households
        +-----------------+

    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import box
    >>> units = gpd.GeoDataFrame({"unit_id": ["u1"], "households": [300.0],
    ...     "residents": [0.0], "kind": ["block"], "compound_id": [None]},
    ...     geometry=[box(0, 0, 100, 50)], crs=32650)
    >>> buildings = gpd.GeoDataFrame({"building_id": ["a", "b", "c"]},
    ...     geometry=[box(10, 20, 20, 30), box(45, 20, 55, 30), box(80, 20, 90, 30)],
    ...     crs=32650)
    >>> placed = pd.DataFrame({"source": "buildings", "feature_id": ["a", "b", "c"],
    ...     "unit_id": "u1", "households": [100.0, 200.0, 0.0], "residents": 0.0})
    >>> cells = build_cells(units, placed, {"buildings": buildings})
    >>> cells[["unit_id", "households", "features"]].values.tolist()
    [['u1.1', 100.0, 'a'], ['u1.2', 200.0, 'b']]
    >>> round(float(cells.area.sum()), 6)
    5000.0
    """
    crs = units.crs
    points = _anchor_points(placements, anchors, crs)
    place = placements.assign(_x=shapely.get_x(points), _y=shapely.get_y(points))
    counted = (
        place["households"].fillna(0.0).to_numpy() > 0 if len(place) else np.zeros(0, dtype=bool)
    ) | (place["residents"].fillna(0.0).to_numpy() > 0 if len(place) else np.zeros(0, bool))
    by_unit = {str(u): g for u, g in place[counted].groupby("unit_id", sort=False)}
    metric_buildings = anchors.get("buildings")
    if metric_buildings is not None and metric_buildings.crs != crs:
        metric_buildings = metric_buildings.to_crs(crs)
    rows: list[dict[str, object]] = []
    geoms: list[object] = []
    for unit in units.itertuples(index=False):
        uid = str(unit.unit_id)
        shape = unit.geometry
        mine = by_unit.get(uid)
        if str(unit.kind) == "compound":
            mine = _compound_buildings(unit, shape, metric_buildings, split_above)
        whole = mine is None or len(mine.drop_duplicates(["_x", "_y"])) < 2
        if whole:
            rows.append(_row(uid, uid, unit, mine, kind=str(unit.kind)))
            geoms.append(shape)
            continue
        assert mine is not None
        for k, (cell, group) in enumerate(_voronoi(shape, mine), start=1):
            rows.append(_row(f"{uid}.{k}", uid, unit, group, kind="cell"))
            geoms.append(cell)
    frame = pd.DataFrame(rows, columns=[c for c in CELL_COLUMNS if c != "area"])
    # a clipped cell can touch itself by a hair: repair it, keeping its area
    shapes = valid_polygons(_noded(np.asarray(geoms, dtype=object)))
    geoms = list(shapes)
    frame["area"] = shapely.area(shapes)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


def _compound_buildings(
    unit: object,
    shape: object,
    buildings: gpd.GeoDataFrame | None,
    split_above: float | None,
) -> pd.DataFrame | None:
    """The buildings of a compound too big for one grid, each with its share of the
    compound's households and residents (``None``: the compound stays whole)."""
    households = float(getattr(unit, "households", 0.0) or 0.0)
    if split_above is None or buildings is None or not households > split_above:
        return None
    layer = buildings
    points = shapely.point_on_surface(np.asarray(layer.geometry.values, dtype=object))
    inside = shapely.contains(shape, points)
    if inside.sum() < 2:
        return None
    chosen = layer[inside]
    weight = (
        pd.to_numeric(chosen["households"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        if "households" in chosen.columns
        else np.zeros(len(chosen))
    )
    if not weight.sum() > 0:  # no estimates: share by footprint
        weight = shapely.area(np.asarray(chosen.geometry.values, dtype=object))
    share = weight / weight.sum()
    residents = float(getattr(unit, "residents", 0.0) or 0.0)
    ids = (
        chosen["building_id"].astype(str).to_numpy()
        if "building_id" in chosen.columns
        else np.asarray([f"row {i + 1}" for i in np.flatnonzero(inside)], dtype=object)
    )
    group = pd.DataFrame(
        {
            "source": "buildings",
            "feature_id": ids,
            "households": households * share,
            "residents": residents * share if not np.isnan(residents) else np.nan,
            "_x": shapely.get_x(points[inside]),
            "_y": shapely.get_y(points[inside]),
        }
    )
    return group[share > 0] if (share > 0).sum() >= 2 else None


def _noded(shapes: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """The cells rebuilt from the faces of all their boundaries noded together.

    A cell edge that meets its block's edge adds a vertex there that the neighbouring
    block's cells lack; noding every boundary against every other gives each shared edge the
    same vertices on both sides, so cells (and the areas dissolved from them) meet exactly.
    Each face goes to the cell holding its representative point.
    """
    if len(shapes) < 2:
        return shapes
    lines = shapely.union_all(shapely.boundary(shapes))
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    if len(faces) == 0:
        return shapes
    tree = shapely.STRtree(shapes)
    points = shapely.point_on_surface(faces)
    face_idx, cell_idx = tree.query(points, predicate="within")
    owner = np.full(len(faces), -1, dtype=np.int64)
    owner[face_idx[::-1]] = cell_idx[::-1]
    out = shapes.copy()
    order = np.argsort(owner, kind="stable")
    starts = np.searchsorted(owner[order], np.arange(len(shapes)))
    ends = np.searchsorted(owner[order], np.arange(len(shapes)), side="right")
    for i in range(len(shapes)):
        mine = faces[order[starts[i] : ends[i]]]
        if len(mine):  # faces outside every cell (holes between blocks) stay out
            out[i] = shapely.union_all(mine)
    return out


def _row(
    cell_id: str, block: str, unit: object, group: pd.DataFrame | None, *, kind: str
) -> dict[str, object]:
    if group is None or group.empty:
        hh = float(getattr(unit, "households", 0.0) or 0.0)
        res = float(getattr(unit, "residents", 0.0) or 0.0)
        features = None
    else:
        hh = float(group["households"].fillna(0.0).sum())
        res = float(group["residents"].sum(min_count=1))
        features = ";".join(str(f) for f in group["feature_id"])
    if kind != "cell":  # a whole unit keeps exactly what was placed on it
        hh = float(getattr(unit, "households", hh))
        res = float(getattr(unit, "residents", res))
    return {
        "unit_id": cell_id,
        "block_unit": block,
        "households": hh,
        "residents": res,
        "kind": kind,
        "features": features,
        "compound_id": getattr(unit, "compound_id", None),
    }


def _anchor_points(
    placements: pd.DataFrame, anchors: Mapping[str, gpd.GeoDataFrame], crs: object
) -> npt.NDArray[np.object_]:
    """The anchor point of every placed feature, in the units' CRS."""
    out = np.full(len(placements), None, dtype=object)
    id_columns = {"buildings": "building_id", "compounds": "compound_id", "points": "point_id"}
    for source, rows in placements.groupby("source", sort=False).indices.items():
        layer = anchors.get(str(source))
        if layer is None:
            raise InputError(f"cells: no {source} layer to place the cells of")
        layer = layer.to_crs(crs) if layer.crs is not None and layer.crs != crs else layer
        column = id_columns.get(str(source), "")
        ids = (
            feature_ids(layer[column], column, str(source)).astype(str)
            if column in layer.columns
            else np.asarray([f"row {i + 1}" for i in range(len(layer))], dtype=object)
        )
        at = pd.Series(np.arange(len(layer)), index=ids)
        at = at[~at.index.duplicated()]
        wanted = placements["feature_id"].astype(str).to_numpy()[rows]
        found = at.reindex(wanted)
        if found.isna().any():
            missing = wanted[found.isna().to_numpy()][0]
            raise InputError(f"cells: {source} feature {missing} is not in the {source} layer")
        geoms = np.asarray(layer.geometry.values, dtype=object)[found.to_numpy(dtype=np.int64)]
        out[rows] = shapely.point_on_surface(geoms)
    return out


def _voronoi(shape: object, group: pd.DataFrame) -> list[tuple[object, pd.DataFrame]]:
    """Voronoi cells of the group's anchor points clipped to ``shape``, one per distinct
    point (features on the same point share a cell), each cell one polygon: a part cut off
    from its point joins the neighbouring cell it shares the longest edge with."""
    group = _inside(shape, group)
    keys = group[["_x", "_y"]].round(6)
    distinct = keys.drop_duplicates()
    pts = shapely.points(distinct["_x"].to_numpy(), distinct["_y"].to_numpy())
    regions = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=shape)
    cells_raw = np.asarray(shapely.get_parts(regions), dtype=object)
    tree = shapely.STRtree(cells_raw)
    hit_pt, hit_cell = tree.query(pts, predicate="intersects")
    region_of = np.full(len(pts), -1, dtype=np.int64)
    region_of[hit_pt[::-1]] = hit_cell[::-1]  # first hit wins
    clipped = shapely.intersection(cells_raw[np.clip(region_of, 0, None)], shape)
    parts: list[list[object]] = [[] for _ in pts]
    orphans: list[shapely.Polygon] = []
    for i, geom in enumerate(clipped):
        for part in shapely.get_parts(shapely.make_valid(geom)):
            if shapely.get_type_id(part) != 3 or part.area <= 0:
                continue
            if part.intersects(pts[i]):
                parts[i].append(part)
            else:
                orphans.append(part)
    cells = [shapely.union_all(p) if p else None for p in parts]
    for piece in sorted(orphans, key=lambda g: -g.area):
        best, length = -1, 0.0
        for j, cell in enumerate(cells):
            if cell is None:
                continue
            shared = shapely.length(
                shapely.intersection(shapely.boundary(cell), shapely.boundary(piece))
            )
            if shared > length:
                best, length = j, float(shared)
        if best >= 0:
            cells[best] = shapely.union_all([cells[best], piece])
    distinct_keys = list(map(tuple, distinct.to_numpy()))
    group_of = {k: group[(keys["_x"] == k[0]).to_numpy() & (keys["_y"] == k[1]).to_numpy()]
                for k in distinct_keys}  # fmt: skip
    kept = [i for i, c in enumerate(cells) if c is not None and not c.is_empty]
    if not kept:  # no point found its ground (a degenerate unit): the unit stays one cell
        return [(shape, group)]
    members = {i: [group_of[distinct_keys[i]]] for i in kept}
    for i in range(len(cells)):  # a point left without ground: its households go to the
        if i in members:  # nearest cell, so nothing is lost
            continue
        nearest = min(kept, key=lambda j: shapely.distance(cells[j], pts[i]))
        members[nearest].append(group_of[distinct_keys[i]])
    return [(cells[i], pd.concat(members[i])) for i in kept]


def _inside(shape: object, group: pd.DataFrame) -> pd.DataFrame:
    """Anchors outside the unit (features placed by overlap or snapped to the nearest unit)
    moved to the nearest point of the unit, so each generates ground inside it."""
    pts = shapely.points(group["_x"].to_numpy(), group["_y"].to_numpy())
    outside = ~shapely.intersects(shape, pts)
    if not outside.any():
        return group
    moved = shapely.shortest_line(shape, pts[outside])
    starts = shapely.get_point(moved, 0)
    group = group.copy()
    group.loc[group.index[outside], "_x"] = shapely.get_x(starts)
    group.loc[group.index[outside], "_y"] = shapely.get_y(starts)
    return group


def road_blocks(units: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, np.ndarray | None]:
    """The road blocks communities are made of: cells (units with a ``block_unit``, see
    :func:`gridplan.geo.cells.build_cells`) dissolved into their blocks, with households and
    residents summed (unknown when no cell of a block has a count); other units as they are.

    Returns the blocks (``unit_id`` = the block) and each unit's block (``None`` when the
    units are blocks already).
    """
    if "block_unit" not in units.columns or units["block_unit"].isna().all():
        return units, None
    block = units["block_unit"].where(units["block_unit"].notna(), units["unit_id"])
    block = block.astype(str).to_numpy(dtype=object)
    if len(set(block)) == len(units):
        return units.assign(unit_id=block), block
    blocks = dissolve_units(units, block)
    blocks = blocks.rename(columns={"area_id": "unit_id"})[
        ["unit_id", "households", "residents", "geometry"]
    ]
    # dissolve_units drops the vertices cells added along the block's edge, so the block
    # shares its neighbours' vertices again
    order = pd.Index(blocks["unit_id"]).get_indexer(pd.unique(block))
    return blocks.iloc[order].reset_index(drop=True), block


__all__ = ["CELL_COLUMNS", "build_cells", "road_blocks"]
