"""Assign compounds to communities (落实属地管理).

Each compound goes to one area (community):

``overlap``
    A polygon compound goes to the area holding the largest share of its area. Compounds
    with less than ``straddle_share`` of their area in that area are flagged (a boundary cuts
    them: rule ``compound.split``).
``contained``
    A point compound goes to the area that contains it.
``nearest``
    A compound outside every area goes to the area it borders (within ``tolerance`` metres)
    along the longest stretch that does not follow an arterial road; else to the nearest
    area. Always flagged.
``override``
    A named assignment (compound name → community name, e.g. from the policy text) always
    wins. It is flagged when it contradicts the geometry.

Names match after :func:`gridplan.data.reference.normalise_name` (NFKC: full-width →
half-width, whitespace removed, case folded). Overrides that match no compound or no area
are reported in ``result.attrs["overrides"]``.

The work is vectorised: one STRtree query for candidate pairs, a prepared ``covers`` test
that settles compounds lying inside one area, and array intersections for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from gridplan.data.crs import metric_crs, require_crs
from gridplan.data.layers import ARTERIAL_CLASSES
from gridplan.data.reference import normalise_name
from gridplan.errors import InputError

#: Result columns added to the compounds.
ASSIGN_COLUMNS: tuple[str, ...] = ("area_id", "method", "overlap_share", "flagged", "note")
#: Default share under which an overlap-assigned compound counts as straddling.
DEFAULT_STRADDLE_SHARE = 0.95


def assign_compounds(
    compounds: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    *,
    overrides: pd.DataFrame | None = None,
    arterial_classes: Iterable[str] = ARTERIAL_CLASSES,
    roads: gpd.GeoDataFrame | None = None,
    compound_id_field: str = "compound_id",
    area_id_field: str = "area_id",
    compound_name_field: str = "name",
    area_name_field: str = "name",
    tolerance: float = 15.0,
    straddle_share: float = DEFAULT_STRADDLE_SHARE,
) -> gpd.GeoDataFrame:
    """Assign every compound to one area.

    Parameters
    ----------
    compounds
        Compound polygons or points (any CRS).
    areas
        Community polygons (any CRS).
    overrides
        Named assignments: columns ``compound`` and ``community`` (names; the community may
        also be given by area id or ``code``), e.g. from
        :func:`gridplan.data.reference.load_overrides`.
    arterial_classes
        Road classes that do not count as a shared border for compounds outside every area.
    roads
        Road centrelines with ``road_class`` (only for compounds outside every area).
    compound_id_field, area_id_field
        Id columns (a missing compound id column falls back to the row number).
    compound_name_field, area_name_field
        Name columns used to match overrides.
    tolerance
        Metres within which a compound outside every area borders an area or follows a road.
    straddle_share
        Overlap-assigned compounds with a smaller share in their area are flagged.

    Returns
    -------
    geopandas.GeoDataFrame
        The compounds (same rows, CRS and columns) plus ``compound_id`` (str), ``area_id``
        (``None`` only when there are no areas), ``method``, ``overlap_share`` (share of the
        compound's area inside its assigned area; 1 for contained points, 0 outside),
        ``flagged`` and ``note`` (why it is flagged). ``attrs["overrides"]`` lists every
        override row with its ``status``: ``applied``, ``no such compound`` or ``no such
        area``.

    Raises
    ------
    InputError
        If an id field is missing, area ids repeat, or a geometry has the wrong type.

    Examples
    --------
    Compound K straddles A (70%) and B (30%); compound L lies outside both::

        +-------+-------+
        |   A  [K|K]  B |   [L]
        +-------+-------+

    >>> import geopandas as gpd
    >>> from shapely import box
    >>> areas = gpd.GeoDataFrame({"area_id": ["A", "B"]},
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=3857)
    >>> comps = gpd.GeoDataFrame({"compound_id": ["K", "L"]},
    ...     geometry=[box(30, 40, 130, 60), box(250, 40, 260, 60)], crs=3857)
    >>> out = assign_compounds(comps, areas)
    >>> out[["compound_id", "area_id", "method", "overlap_share", "flagged"]].values.tolist()
    [['K', 'A', 'overlap', 0.7, True], ['L', 'B', 'nearest', 0.0, True]]
    """
    require_crs(compounds, "compounds")
    require_crs(areas, "areas")
    if area_id_field not in areas.columns:
        have = ", ".join(str(c) for c in areas.columns if c != areas.geometry.name)
        raise InputError(f"areas: no id field {area_id_field!r} (fields: {have})")
    if compound_id_field not in compounds.columns and compound_id_field != "compound_id":
        have = ", ".join(str(c) for c in compounds.columns if c != compounds.geometry.name)
        raise InputError(f"compounds: no id field {compound_id_field!r} (fields: {have})")
    area_ids = areas[area_id_field].map(lambda v: None if pd.isna(v) else str(v))
    area_ids = area_ids.to_numpy(dtype=object)
    if pd.isna(area_ids).any():
        raise InputError(f"areas: a feature has no {area_id_field}")
    dup = pd.Series(area_ids).duplicated()
    if dup.any():
        raise InputError(f"areas: duplicate {area_id_field} {area_ids[dup.to_numpy()][0]!r}")

    target = metric_crs(areas, "areas") if len(areas) else metric_crs(compounds, "compounds")
    target = CRS.from_user_input(target)
    agoms = np.asarray(areas.to_crs(target).geometry.values, dtype=object)
    cgoms = np.asarray(compounds.to_crs(target).geometry.values, dtype=object)
    _check_types(agoms, "areas", area_ids, polygons_only=True)
    comp_ids = (
        compounds[compound_id_field].map(lambda v: None if pd.isna(v) else str(v))
        if compound_id_field in compounds.columns
        else pd.Series([f"row {i + 1}" for i in range(len(compounds))], index=compounds.index)
    ).to_numpy(dtype=object)
    _check_types(cgoms, "compounds", comp_ids, polygons_only=False)
    agoms = _repaired(agoms)
    cgoms = _repaired(cgoms)

    n = len(cgoms)
    best = np.full(n, -1, dtype=np.int64)
    share = np.zeros(n, dtype=float)
    method = np.full(n, "", dtype=object)
    note = np.full(n, "", dtype=object)
    is_point = shapely.get_type_id(cgoms) == 0
    if len(agoms):
        _overlap(cgoms, agoms, is_point, best, share, method)
        outside = np.flatnonzero(best < 0)
        if len(outside):
            _outside(
                cgoms, agoms, outside, best, method, roads, target, arterial_classes, tolerance
            )
            note[outside] = "outside every area"
    straddle = (method == "overlap") & (share < straddle_share)
    for i in np.flatnonzero(straddle):
        note[i] = f"straddles areas: {share[i]:.0%} in {area_ids[best[i]]}"

    report = pd.DataFrame(columns=["compound", "community", "status", "line"])
    if overrides is not None:
        report = _apply_overrides(
            overrides,
            compounds,
            areas,
            area_ids,
            compound_name_field,
            area_name_field,
            cgoms,
            agoms,
            best,
            share,
            method,
            note,
        )

    out = compounds.copy()
    out["compound_id"] = comp_ids
    out["area_id"] = pd.Series(
        [area_ids[b] if b >= 0 else None for b in best], index=out.index, dtype=object
    )
    out["method"] = pd.Series(method, index=out.index, dtype=object)
    out["overlap_share"] = np.round(share, 6)
    out["flagged"] = note != ""
    out["note"] = pd.Series([x if x else None for x in note], index=out.index, dtype=object)
    out.attrs["overrides"] = report.to_dict("records")
    return out


def _check_types(
    geoms: npt.NDArray[np.object_],
    layer: str,
    ids: npt.NDArray[np.object_],
    *,
    polygons_only: bool,
) -> None:
    missing = pd.isna(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise InputError(f"{layer} feature {ids[np.flatnonzero(missing)[0]]}: empty geometry")
    allowed = [3, 6] if polygons_only else [0, 3, 6]
    wrong = ~np.isin(shapely.get_type_id(geoms), allowed)
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        expected = "a polygon" if polygons_only else "a polygon or point"
        raise InputError(
            f"{layer} feature {ids[i]}: {geoms[i].geom_type} geometry, expected {expected}"
        )


def _repaired(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Repair invalid polygons (e.g. self-touching OSM rings); keep their polygonal part."""
    bad = np.flatnonzero(~shapely.is_valid(geoms))
    if len(bad) == 0:
        return geoms
    out = geoms.copy()
    for i in bad:
        fixed = shapely.make_valid(geoms[i])
        if fixed.geom_type == "GeometryCollection":
            parts = shapely.get_parts(fixed)
            fixed = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), [3, 6])])
        out[i] = fixed
    return out


def _overlap(
    cgoms: npt.NDArray[np.object_],
    agoms: npt.NDArray[np.object_],
    is_point: npt.NDArray[np.bool_],
    best: npt.NDArray[np.int64],
    share: npt.NDArray[np.float64],
    method: npt.NDArray[np.object_],
) -> None:
    """Largest-overlap (polygons) and containment (points), filling the arrays in place."""
    tree = shapely.STRtree(agoms)
    shapely.prepare(agoms)
    points = np.flatnonzero(is_point)
    if len(points):
        ci, ai = tree.query(cgoms[points], predicate="intersects")
        first = pd.DataFrame({"c": points[ci], "a": ai}).groupby("c")["a"].min()
        best[first.index.to_numpy()] = first.to_numpy()
        share[first.index.to_numpy()] = 1.0
        method[first.index.to_numpy()] = "contained"
    polys = np.flatnonzero(~is_point)
    if len(polys) == 0:
        return
    # Compounds whose bounding box meets no area boundary lie wholly inside (or outside)
    # each area: the representative point decides, exactly, with no polygon predicate.
    far = _away_from_boundaries(cgoms[polys], agoms)
    if far.any():
        idx = polys[far]
        rep = shapely.point_on_surface(cgoms[idx])
        pi, ai = tree.query(rep)
        x, y = shapely.get_x(rep), shapely.get_y(rep)
        inside = np.zeros(len(pi), dtype=bool)
        for k in np.unique(ai):
            m = ai == k
            inside[m] = shapely.contains_xy(agoms[k], x[pi[m]], y[pi[m]])
        hit = pd.DataFrame({"c": idx[pi[inside]], "a": ai[inside]}).groupby("c")["a"].min()
        best[hit.index.to_numpy()] = hit.to_numpy()
        share[hit.index.to_numpy()] = 1.0
        method[hit.index.to_numpy()] = "overlap"
        polys = polys[~far]
        if len(polys) == 0:
            return
    ci, ai = tree.query(cgoms[polys], predicate="intersects")
    ci = polys[ci]
    # Compounds covered by one area need no intersection.
    covered = shapely.covers(agoms[ai], cgoms[ci])
    cov = pd.DataFrame({"c": ci[covered], "a": ai[covered]}).groupby("c")["a"].min()
    best[cov.index.to_numpy()] = cov.to_numpy()
    share[cov.index.to_numpy()] = 1.0
    method[cov.index.to_numpy()] = "overlap"
    rest = ~np.isin(ci, cov.index.to_numpy())
    ci, ai = ci[rest], ai[rest]
    if len(ci) == 0:
        return
    inter = shapely.area(shapely.intersection(cgoms[ci], agoms[ai]))
    total = shapely.area(cgoms[ci])
    table = pd.DataFrame({"c": ci, "a": ai, "s": inter / np.where(total > 0, total, 1.0)})
    table = table[table["s"] > 0].sort_values(["c", "s", "a"], ascending=[True, False, True])
    top = table.drop_duplicates("c")
    best[top["c"].to_numpy()] = top["a"].to_numpy()
    share[top["c"].to_numpy()] = top["s"].to_numpy()
    method[top["c"].to_numpy()] = "overlap"


def _away_from_boundaries(
    cgoms: npt.NDArray[np.object_], agoms: npt.NDArray[np.object_]
) -> npt.NDArray[np.bool_]:
    """Whether each compound's bounding box meets no segment of any area boundary."""
    parts = shapely.get_parts(shapely.boundary(agoms))
    coords, owner = shapely.get_coordinates(parts, return_index=True)
    same = owner[1:] == owner[:-1]
    x0, y0 = coords[:-1, 0][same], coords[:-1, 1][same]
    x1, y1 = coords[1:, 0][same], coords[1:, 1][same]
    segments = shapely.box(
        np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1)
    )
    bounds = shapely.bounds(cgoms)
    hit, _ = shapely.STRtree(segments).query(shapely.box(*bounds.T))
    far = np.ones(len(cgoms), dtype=bool)
    far[hit] = False
    return far


def _outside(
    cgoms: npt.NDArray[np.object_],
    agoms: npt.NDArray[np.object_],
    outside: npt.NDArray[np.int64],
    best: npt.NDArray[np.int64],
    method: npt.NDArray[np.object_],
    roads: gpd.GeoDataFrame | None,
    target: CRS,
    arterial_classes: Iterable[str],
    tolerance: float,
) -> None:
    """Compounds outside every area: the longest non-arterial border, else the nearest."""
    tree = shapely.STRtree(agoms)
    ci, ai = tree.query(cgoms[outside], predicate="dwithin", distance=tolerance)
    ci = outside[ci]
    if len(ci):
        edge = shapely.boundary(cgoms[ci])
        is_point = shapely.get_type_id(cgoms[ci]) == 0
        edge = np.where(is_point, cgoms[ci], edge)
        border = shapely.intersection(edge, shapely.buffer(shapely.boundary(agoms[ai]), tolerance))
        arterial = _arterial_zone(
            roads, target, set(arterial_classes), tolerance, shapely.union_all(cgoms[outside])
        )
        if arterial is not None:
            border = shapely.difference(border, arterial)
        length = shapely.length(border)
        table = pd.DataFrame({"c": ci, "a": ai, "len": length})
        table = table[table["len"] > 0].sort_values(
            ["c", "len", "a"], ascending=[True, False, True]
        )
        top = table.drop_duplicates("c")
        best[top["c"].to_numpy()] = top["a"].to_numpy()
        method[top["c"].to_numpy()] = "nearest"
    left = outside[best[outside] < 0]
    if len(left):
        li, ai = tree.query_nearest(cgoms[left], all_matches=False)
        best[left[li]] = ai
        method[left[li]] = "nearest"


def _arterial_zone(
    roads: gpd.GeoDataFrame | None,
    target: CRS,
    arterial: set[str],
    tolerance: float,
    near: shapely.Geometry,
) -> shapely.Geometry | None:
    if roads is None or len(roads) == 0 or "road_class" not in roads.columns:
        return None
    mask = roads["road_class"].isin(arterial).to_numpy(dtype=bool)
    if not mask.any():
        return None
    geoms = np.asarray(roads[mask].to_crs(target).geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    hits = tree.query(near, predicate="dwithin", distance=2 * tolerance)
    if len(hits) == 0:
        return None
    return shapely.union_all(shapely.buffer(geoms[hits], tolerance))


def _apply_overrides(
    overrides: pd.DataFrame,
    compounds: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    area_ids: npt.NDArray[np.object_],
    compound_name_field: str,
    area_name_field: str,
    cgoms: npt.NDArray[np.object_],
    agoms: npt.NDArray[np.object_],
    best: npt.NDArray[np.int64],
    share: npt.NDArray[np.float64],
    method: npt.NDArray[np.object_],
    note: npt.NDArray[np.object_],
) -> pd.DataFrame:
    for col in ("compound", "community"):
        if col not in overrides.columns:
            raise InputError(f"overrides: missing column {col!r}")
    if compound_name_field not in compounds.columns:
        raise InputError(
            f"compounds: overrides match names, but there is no {compound_name_field!r} field"
        )
    names = compounds[compound_name_field].map(normalise_name).to_numpy(dtype=object)
    area_key: dict[str, int] = {}
    for col in ("code", area_name_field):
        if col in areas.columns:
            for i, v in enumerate(areas[col].map(normalise_name)):
                if v:
                    area_key.setdefault(v, i)
    for i, v in enumerate(area_ids):
        area_key.setdefault(normalise_name(v), i)
    rows = []
    for rec in overrides.to_dict("records"):
        key = normalise_name(rec["compound"])
        target = area_key.get(normalise_name(rec["community"]))
        hits = np.flatnonzero(names == key) if key else np.empty(0, dtype=np.int64)
        status = "applied"
        if len(hits) == 0:
            status = "no such compound"
        elif target is None:
            status = "no such area"
        else:
            for i in (int(h) for h in hits):
                geometric = int(best[i])
                if geometric >= 0 and geometric != target:
                    note[i] = (
                        f"override to {area_ids[target]} contradicts geometry "
                        f"({method[i]}: {area_ids[geometric]})"
                    )
                else:
                    note[i] = ""
                best[i] = target
                method[i] = "override"
                share[i] = _share_in(cgoms[i], agoms[target])
        rows.append(
            {
                "compound": rec["compound"],
                "community": rec["community"],
                "status": status,
                "line": rec.get("line"),
                "matched": len(hits),
            }
        )
    return pd.DataFrame(rows)


def _share_in(compound: shapely.Geometry, area: shapely.Geometry) -> float:
    if compound.geom_type == "Point":
        return 1.0 if area.intersects(compound) else 0.0
    total = compound.area
    return float(compound.intersection(area).area / total) if total > 0 else 0.0


def assignment_summary(assigned: gpd.GeoDataFrame, households_field: str = "households") -> dict:
    """Households per area and every flagged compound, as JSON-ready data.

    Parameters
    ----------
    assigned
        The result of :func:`assign_compounds`.
    households_field
        The compounds' households column (missing: counts of compounds only).

    Returns
    -------
    dict
        ``areas``: ``[{area_id, compounds, households}]``; ``flagged``: ``[{compound_id,
        area_id, method, overlap_share, note}]``; ``methods``: count per method;
        ``overrides``: the override report.
    """
    hh = (
        pd.to_numeric(assigned[households_field], errors="coerce").fillna(0.0)
        if households_field in assigned.columns
        else pd.Series(0.0, index=assigned.index)
    )
    frame = pd.DataFrame({"area_id": assigned["area_id"], "households": hh})
    per_area = (
        frame.groupby("area_id", dropna=False)
        .agg(compounds=("households", "size"), households=("households", "sum"))
        .reset_index()
    )
    flagged = assigned[assigned["flagged"]]
    return {
        "compounds": len(assigned),
        "households": float(hh.sum()),
        "areas": [
            {"area_id": r.area_id, "compounds": int(r.compounds), "households": float(r.households)}
            for r in per_area.itertuples(index=False)
        ],
        "methods": {str(k): int(v) for k, v in assigned["method"].value_counts().items()},
        "flagged": [
            {
                "compound_id": r["compound_id"],
                "area_id": r["area_id"],
                "method": r["method"],
                "overlap_share": float(r["overlap_share"]),
                "note": r["note"],
            }
            for r in flagged[["compound_id", "area_id", "method", "overlap_share", "note"]].to_dict(
                "records"
            )
        ],
        "overrides": list(assigned.attrs.get("overrides", [])),
    }
