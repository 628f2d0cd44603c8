"""Derive a plan's community and grid polygons by dissolving its units.

A plan built from units (a partition, a scenario, grids) stores its assignment unit →
community → grid; its area polygons are the union of the units of each area, with the
households and residents summed. Because units are road-bounded blocks, the polygons follow
roads by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.errors import InputError
from gridplan.plan import AREA_COLUMNS, ASSIGNMENT_COLUMNS, Level, Plan


def dissolve_units(
    units: gpd.GeoDataFrame,
    labels: Sequence[object] | np.ndarray | pd.Series,
    *,
    households_column: str = "households",
    residents_column: str = "residents",
) -> gpd.GeoDataFrame:
    """Union the units of each label into one polygon per label.

    Parameters
    ----------
    units
        Unit polygons (any CRS) with household and resident counts (a missing count adds
        nothing; an area none of whose units has a count gets ``NaN``, unknown, not 0).
    labels
        The area of each unit, in the order of ``units``; ``None`` leaves a unit out.
    households_column, residents_column
        Count columns.

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id`` (``str`` of the label), ``households``, ``residents``, ``units`` (count)
        and the dissolved geometry, in the CRS of ``units``, ordered by ``area_id``.

    Examples
    --------
    Three unit squares in a row, the first two in area ``a``::

        +---+---+---+
        | a | a | b |
        +---+---+---+

    >>> import geopandas as gpd
    >>> from shapely import box
    >>> units = gpd.GeoDataFrame({"households": [10.0, 20.0, 5.0]},
    ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
    ...                          crs=32650)
    >>> areas = dissolve_units(units, ["a", "a", "b"])
    >>> areas[["area_id", "households", "units"]].values.tolist()
    [['a', 30.0, 2], ['b', 5.0, 1]]
    >>> round(areas.geometry.iloc[0].area, 6)
    2.0
    """
    lab = pd.Series(np.asarray(labels, dtype=object), index=units.index, dtype=object)
    if len(lab) != len(units):
        raise InputError(f"{len(lab)} labels for {len(units)} units")
    frame = gpd.GeoDataFrame(
        {
            "area_id": lab.map(lambda v: None if v is None or v is pd.NA else str(v)),
            "households": _counts(units, households_column),
            "residents": _counts(units, residents_column),
            "_hh_known": _known(units, households_column),
            "_res_known": _known(units, residents_column),
            "units": 1,
        },
        geometry=units.geometry.values,
        crs=units.crs,
    )
    frame = frame[frame["area_id"].notna()]
    if frame.empty:
        return gpd.GeoDataFrame(
            {"area_id": [], "households": [], "residents": [], "units": []},
            geometry=gpd.GeoSeries([], crs=units.crs),
            crs=units.crs,
        )
    out = frame.dissolve(
        by="area_id",
        aggfunc={
            "households": "sum",
            "residents": "sum",
            "_hh_known": "sum",
            "_res_known": "sum",
            "units": "sum",
        },
    ).reset_index()
    # an area none of whose units has a count has an unknown count, not 0
    out["households"] = out["households"].where(out.pop("_hh_known") > 0)
    out["residents"] = out["residents"].where(out.pop("_res_known") > 0)
    out["geometry"] = _clean(out.geometry.make_valid())
    return out.sort_values("area_id", kind="stable").reset_index(drop=True)


def area_texts(areas: pd.DataFrame, column: str) -> dict[str, str]:
    """``column`` of each area by ``area_id``, as text, areas without a value left out (the
    names and codes a child plan keeps).

    Examples
    --------
    >>> import pandas as pd
    >>> area_texts(pd.DataFrame({"area_id": ["a", "b"], "code": ["004", None]}), "code")
    {'a': '004'}
    """
    return {
        str(a): str(v)
        for a, v in zip(areas["area_id"], areas[column], strict=True)
        if v is not None and not (isinstance(v, float) and np.isnan(v)) and v is not pd.NA
    }


def plan_from_units(
    units: gpd.GeoDataFrame,
    communities: Sequence[object] | np.ndarray | pd.Series,
    grids: Sequence[object] | np.ndarray | pd.Series | None = None,
    *,
    name: str,
    targets: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    source: str = "",
    parent_id: int | None = None,
    community_names: Mapping[str, str] | None = None,
    community_codes: Mapping[str, str] | None = None,
    grid_codes: Mapping[str, str] | None = None,
    unit_id_column: str = "unit_id",
) -> Plan:
    """Build a :class:`~gridplan.plan.Plan` from a unit → community (→ grid) assignment.

    Parameters
    ----------
    units
        Unit polygons with ids and counts.
    communities
        The community of each unit (``None``: unassigned).
    grids
        The grid of each unit (grid ids unique across the plan), or ``None``.
    name, targets, metrics, source, parent_id
        The plan's header.
    community_names, community_codes, grid_codes
        Optional names and codes by area id (default: the id).
    unit_id_column
        Id column of ``units``.

    Returns
    -------
    Plan
        Assignments for every unit and dissolved community (and grid) polygons.

    Raises
    ------
    InputError
        If a grid spans two communities or the lengths disagree.
    """
    if unit_id_column not in units.columns:
        raise InputError(f"units have no {unit_id_column!r} column")
    comm = np.asarray(communities, dtype=object)
    grid = np.asarray(grids, dtype=object) if grids is not None else np.full(len(units), None)
    if len(comm) != len(units) or len(grid) != len(units):
        raise InputError("one community (and grid) per unit is needed")
    assignments = pd.DataFrame(
        {
            "unit_id": units[unit_id_column].astype(str).to_numpy(dtype=object),
            # object dtype: pandas 3 would infer a string dtype and turn None into NaN
            "community_id": pd.Series([None if c is None else str(c) for c in comm], dtype=object),
            "grid_id": pd.Series([None if g is None else str(g) for g in grid], dtype=object),
        },
        columns=list(ASSIGNMENT_COLUMNS),
    )
    names = dict(community_names or {})
    codes = dict(community_codes or {})
    com = dissolve_units(units, assignments["community_id"].to_numpy(dtype=object))
    com_layer = _areas(com, Level.COMMUNITY, names, codes, parents=None)
    layers = [com_layer]
    if grids is not None:
        parent_of = (
            assignments.dropna(subset=["grid_id"])
            .groupby("grid_id")["community_id"]
            .agg(lambda s: sorted({str(v) for v in s if v is not None}))
        )
        spanning = [g for g, cs in parent_of.items() if len(cs) > 1]
        if spanning:
            raise InputError(f"grid(s) {', '.join(map(str, spanning[:5]))} span two communities")
        parents = {str(g): (cs[0] if cs else None) for g, cs in parent_of.items()}
        gri = dissolve_units(units, assignments["grid_id"].to_numpy(dtype=object))
        gcodes = dict(grid_codes or {})
        layers.append(_areas(gri, Level.GRID, gcodes, gcodes, parents=parents))
    areas = gpd.GeoDataFrame(
        pd.concat(layers, ignore_index=True), geometry="geometry", crs=units.crs
    )
    return Plan(
        name=name,
        assignments=assignments,
        areas=areas,
        targets=dict(targets or {}),
        metrics=dict(metrics or {}),
        parent_id=parent_id,
        source=source,
    )


def _areas(
    dissolved: gpd.GeoDataFrame,
    level: Level,
    names: Mapping[str, str],
    codes: Mapping[str, str],
    parents: Mapping[str, str | None] | None,
) -> gpd.GeoDataFrame:
    ids = dissolved["area_id"].astype(str)
    frame = pd.DataFrame(
        {
            "level": level.value,
            "area_id": ids.to_numpy(dtype=object),
            "name": [names.get(i, i) for i in ids],
            "code": [codes.get(i) for i in ids],
            "parent_id": [parents.get(i) if parents else None for i in ids],
            "households": dissolved["households"].to_numpy(dtype=float),
            "residents": dissolved["residents"].to_numpy(dtype=float),
        },
        columns=list(AREA_COLUMNS),
    )
    return gpd.GeoDataFrame(frame, geometry=dissolved.geometry.values, crs=dissolved.crs)


def _clean(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Dissolved polygons without the vertices their parts added along a straight edge.

    Cells (:mod:`gridplan.geo.cells`) add a vertex wherever a cell edge meets their block's
    edge; once dissolved, those lie on the block's edge to well under a millimetre, and
    dropping them (with the micro slivers between blocks they leave) gives the area the
    block's own vertices, so it meets its neighbours, the roads and the outline exactly.
    """
    if geoms.crs is None or len(geoms) == 0:
        return geoms
    geographic = geoms.crs.is_geographic
    tolerance = 1e-9 if geographic else 1e-4  # ~0.1 mm either way
    min_hole = 1e-12 if geographic else 1e-2  # ~0.01 m²: a sliver, not a courtyard
    simple = geoms.simplify(tolerance).make_valid()
    return gpd.GeoSeries(
        [_without_slivers(g, min_hole) for g in simple.values], index=geoms.index, crs=geoms.crs
    )


def _without_slivers(geom: object, min_hole: float) -> object:
    if geom is None or shapely.get_type_id(geom) not in (3, 6):
        return geom
    parts = []
    for part in shapely.get_parts(geom):
        holes = [r for r in part.interiors if shapely.Polygon(r).area >= min_hole]
        parts.append(shapely.Polygon(part.exterior, holes))
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _known(units: gpd.GeoDataFrame, column: str) -> np.ndarray:
    if column not in units.columns:
        return np.zeros(len(units), dtype=int)
    return pd.to_numeric(units[column], errors="coerce").notna().to_numpy(dtype=int)


def _counts(units: gpd.GeoDataFrame, column: str) -> np.ndarray:
    if column not in units.columns:
        return np.zeros(len(units))
    return pd.to_numeric(units[column], errors="coerce").fillna(0.0).to_numpy(dtype=float)
