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

The work is vectorised: one prepared ``contains_properly`` query of the areas grown by
``cover_tolerance`` (1 mm) settles the compounds lying inside one area; array intersections
over STRtree candidate pairs handle the rest exactly. Invalid polygons are repaired.
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
from gridplan.data.layers import ARTERIAL_CLASSES, require_present, require_unique
from gridplan.data.reference import normalise_name
from gridplan.errors import InputError
from gridplan.geo.threads import balanced_groups, resolve_workers, spans, thread_map

#: Result columns added to the compounds.
ASSIGN_COLUMNS: tuple[str, ...] = ("area_id", "method", "overlap_share", "flagged", "note")
#: Default distance (m) within which a compound counts as wholly inside an area.
DEFAULT_COVER_TOLERANCE = 0.001
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
    cover_tolerance: float = DEFAULT_COVER_TOLERANCE,
    workers: int | None = None,
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
    cover_tolerance
        Metres: a compound lying inside an area grown by this distance counts as wholly
        inside it (share 1) without computing the intersection; the default 1 mm is far
        below what boundary planning resolves and makes the common case one fast prepared
        query. ``0`` tests exact coverage.
    workers
        Threads for the geometry tests (GEOS runs without the GIL; each thread prepares
        only its own areas). ``None``: the usable cores, at most 4; ``1``: the calling
        thread only. The result does not depend on it.

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
        If an id field is missing, a feature has no id, ids repeat, a geometry has the
        wrong type, or ``workers`` is below 1.

    Examples
    --------
    Compound K straddles A (70%) and B (30%); compound L lies outside both::

        +-------+-------+
        |   A  [K|K]  B |   [L]
        +-------+-------+

    >>> import geopandas as gpd
    >>> from shapely import box
    >>> areas = gpd.GeoDataFrame({"area_id": ["A", "B"]},
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=32650)
    >>> comps = gpd.GeoDataFrame({"compound_id": ["K", "L"]},
    ...     geometry=[box(30, 40, 130, 60), box(250, 40, 260, 60)], crs=32650)
    >>> out = assign_compounds(comps, areas)
    >>> out[["compound_id", "area_id", "method", "overlap_share", "flagged"]].values.tolist()
    [['K', 'A', 'overlap', 0.7, True], ['L', 'B', 'nearest', 0.0, True]]
    """
    require_crs(compounds, "compounds")
    require_crs(areas, "areas")
    threads = resolve_workers(workers)
    if area_id_field not in areas.columns:
        have = ", ".join(str(c) for c in areas.columns if c != areas.geometry.name)
        raise InputError(f"areas: no id field {area_id_field!r} (fields: {have})")
    if compound_id_field not in compounds.columns and compound_id_field != "compound_id":
        have = ", ".join(str(c) for c in compounds.columns if c != compounds.geometry.name)
        raise InputError(f"compounds: no id field {compound_id_field!r} (fields: {have})")
    area_ids = _id_strings(areas[area_id_field])
    require_present(area_ids, area_id_field, "areas")
    require_unique(area_ids, area_id_field, "areas")

    target = metric_crs(areas, "areas") if len(areas) else metric_crs(compounds, "compounds")
    target = CRS.from_user_input(target)
    agoms = _metric_geoms(areas, target)
    cgoms = _metric_geoms(compounds, target)
    _check_types(agoms, "areas", area_ids, polygons_only=True)
    if compound_id_field in compounds.columns:
        comp_ids = _id_strings(compounds[compound_id_field])
        require_present(comp_ids, compound_id_field, "compounds")
        require_unique(comp_ids, compound_id_field, "compounds")
    else:
        comp_ids = np.asarray([f"row {i + 1}" for i in range(len(compounds))], dtype=object)
    _check_types(cgoms, "compounds", comp_ids, polygons_only=False)
    agoms = _repaired(agoms)

    n = len(cgoms)
    best = np.full(n, -1, dtype=np.int64)
    share = np.zeros(n, dtype=float)
    method = np.full(n, "", dtype=object)
    note = np.full(n, "", dtype=object)
    is_point = shapely.get_type_id(cgoms) == 0
    if len(agoms):
        _overlap(cgoms, agoms, is_point, best, share, method, cover_tolerance, threads)
        outside = np.flatnonzero(best < 0)
        if len(outside):
            _outside(
                cgoms, agoms, outside, best, method, roads, target, arterial_classes, tolerance
            )
            note[outside] = "outside every area"
    straddle = (method == "overlap") & (share < straddle_share)
    for i in np.flatnonzero(straddle):
        note[i] = f"straddles areas: {share[i]:.0%} in {area_ids[best[i]]}"

    report: list[dict[str, object]] = []
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

    assigned = np.full(n, None, dtype=object)
    placed = best >= 0
    assigned[placed] = area_ids[best[placed]]
    flagged = note != ""
    notes = note.copy()
    notes[~flagged] = None
    added = pd.DataFrame(
        {
            "compound_id": _text_column(comp_ids, compounds.index),
            "area_id": _text_column(assigned, compounds.index),
            "method": _text_column(method, compounds.index),
            "overlap_share": np.round(share, 6),
            "flagged": flagged,
            "note": _text_column(notes, compounds.index),
        },
        index=compounds.index,
        copy=False,
    )
    clash = [c for c in added.columns if c in compounds.columns]
    kept = compounds.drop(columns=clash) if clash else compounds
    out = pd.concat([kept, added], axis=1)
    if not isinstance(out, gpd.GeoDataFrame):  # pandas keeps the GeoDataFrame type
        out = gpd.GeoDataFrame(out, geometry=compounds.geometry.name, crs=compounds.crs)
    out.attrs["overrides"] = report
    return out


def _text_column(values: npt.NDArray[np.object_], index: pd.Index) -> pd.Series:
    """An object column (``None`` stays ``None``; no conversion to pandas' string dtype)."""
    return pd.Series(values, index=index, dtype=object, copy=False)


def _id_strings(values: pd.Series) -> npt.NDArray[np.object_]:
    """Ids as strings (integral floats without ``.0``), ``None`` where missing."""
    if isinstance(values.dtype, pd.StringDtype):  # already text: no per-value conversion
        text = values.to_numpy(dtype=object)
        text[values.isna().to_numpy(dtype=bool)] = None
        return text
    raw = values.to_numpy(dtype=object)
    missing = np.asarray(pd.isna(raw), dtype=bool)
    if pd.api.types.is_float_dtype(values.dtype):
        text = np.asarray(
            [None if m else (str(int(v)) if float(v).is_integer() else str(v))
             for v, m in zip(raw, missing, strict=True)],
            dtype=object,
        )  # fmt: skip
    else:
        text = values.astype(str).to_numpy(dtype=object)
    text[missing] = None
    return text


def _metric_geoms(layer: gpd.GeoDataFrame, target: CRS) -> npt.NDArray[np.object_]:
    """The layer's geometries in ``target`` (no transform when already there)."""
    if CRS.from_user_input(layer.crs).equals(target):
        return np.asarray(layer.geometry.values, dtype=object).copy()
    return np.asarray(layer.to_crs(target).geometry.values, dtype=object)


def _first_per(
    keys: npt.NDArray[np.int64], values: npt.NDArray[np.int64], n_keys: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each key (in ``0..n_keys-1``) that occurs, the smallest value paired with it
    (keys and values as parallel arrays). Returns the keys ascending and their values."""
    unset = np.iinfo(np.int64).max
    first = np.full(n_keys, unset, dtype=np.int64)
    np.minimum.at(first, keys, values)
    k = np.flatnonzero(first != unset)
    return k, first[k]


def _top_per(
    keys: npt.NDArray[np.int64],
    values: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """For each distinct key, the value with the highest positive score (ties: the smallest
    value); pairs scoring 0 or less are ignored. Returns keys (ascending), values, scores."""
    keep = scores > 0
    k, v, s = keys[keep], values[keep], scores[keep]
    order = np.lexsort((v, -s, k))
    k, v, s = k[order], v[order], s[order]
    first = np.ones(len(k), dtype=bool)
    first[1:] = k[1:] != k[:-1]
    return k[first], v[first], s[first]


def _check_types(
    geoms: npt.NDArray[np.object_],
    layer: str,
    ids: npt.NDArray[np.object_],
    *,
    polygons_only: bool,
) -> None:
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
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
    cover_tolerance: float,
    workers: int,
) -> None:
    """Largest-overlap (polygons) and containment (points), filling the arrays in place."""
    tree = shapely.STRtree(agoms)
    points = np.flatnonzero(is_point)
    if len(points):
        ci, ai = tree.query(cgoms[points], predicate="intersects")
        in_c, in_a = _first_per(points[ci], ai, len(cgoms))
        best[in_c] = in_a
        share[in_c] = 1.0
        method[in_c] = "contained"
    polys = np.flatnonzero(~is_point)
    if len(polys) == 0:
        return
    # Compounds inside one area (to within cover_tolerance) need no intersection: a
    # prepared contains_properly test against the slightly grown area settles them.
    ai, cj = shapely.STRtree(cgoms[polys]).query(agoms)
    inside = _covered_pairs(agoms, cgoms[polys], ai, cj, cover_tolerance, workers)
    cov_c, cov_a = _first_per(polys[cj[inside]], ai[inside], len(cgoms))
    best[cov_c] = cov_a
    share[cov_c] = 1.0
    method[cov_c] = "overlap"
    covered = np.zeros(len(cgoms), dtype=bool)
    covered[cov_c] = True
    polys = polys[~covered[polys]]
    if len(polys) == 0:
        return
    ci, ai = tree.query(cgoms[polys], predicate="intersects")
    ci = polys[ci]
    if len(ci) == 0:
        return
    try:
        inter = _intersection_areas(cgoms[ci], agoms[ai], workers)
    except shapely.errors.GEOSException:  # an invalid compound: repair it and retry
        cgoms[ci] = _repaired(cgoms[ci])
        inter = _intersection_areas(cgoms[ci], agoms[ai], workers)
    total = shapely.area(cgoms[ci])
    top_c, top_a, top_s = _top_per(ci, ai, inter / np.where(total > 0, total, 1.0))
    best[top_c] = top_a
    share[top_c] = top_s
    method[top_c] = "overlap"


#: Fewer candidate pairs than this are tested on the calling thread only.
PARALLEL_MIN_PAIRS = 512


def _covered_pairs(
    agoms: npt.NDArray[np.object_],
    cgoms: npt.NDArray[np.object_],
    ai: npt.NDArray[np.int64],
    cj: npt.NDArray[np.int64],
    cover_tolerance: float,
    workers: int,
) -> npt.NDArray[np.bool_]:
    """For each candidate pair (area ``ai[k]``, compound ``cj[k]``): does the area, grown by
    ``cover_tolerance`` (exact ``covers`` when 0), hold the compound?

    The areas are split into groups of similar work (their vertices plus the vertices of
    the compounds they are tested against), one per thread; each thread grows, prepares and
    tests only its own areas, so no prepared geometry is shared between threads.
    """
    out = np.zeros(len(ai), dtype=bool)
    if len(ai) == 0:
        return out
    comp_vertices = shapely.get_num_coordinates(cgoms)
    weight = np.bincount(ai, weights=comp_vertices[cj], minlength=len(agoms))
    weight += np.where(weight > 0, shapely.get_num_coordinates(agoms), 0)
    groups = balanced_groups(weight, workers if len(ai) >= PARALLEL_MIN_PAIRS else 1)
    order = np.argsort(ai, kind="stable")
    starts = np.searchsorted(ai[order], np.arange(len(agoms) + 1))

    def test(group: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        if cover_tolerance > 0:
            mine = shapely.buffer(agoms[group], cover_tolerance, join_style="mitre")
        else:  # exact: copies of the areas (the caller's objects may repeat across groups)
            mine = shapely.transform(agoms[group], lambda xy: xy)
        shapely.prepare(mine)
        local = np.full(len(agoms), -1, dtype=np.int64)
        local[group] = np.arange(len(group))
        rows = np.concatenate([order[starts[a] : starts[a + 1]] for a in group])
        targets = mine[local[ai[rows]]]
        if cover_tolerance > 0:
            hit = shapely.contains_properly(targets, cgoms[cj[rows]])
        else:
            hit = shapely.covers(targets, cgoms[cj[rows]])
        return rows, np.asarray(hit, dtype=bool)

    for rows, hit in thread_map(test, groups, workers):
        out[rows] = hit
    return out


def _intersection_areas(
    a: npt.NDArray[np.object_], b: npt.NDArray[np.object_], workers: int
) -> npt.NDArray[np.float64]:
    """``area(intersection(a, b))`` element-wise, in contiguous chunks on up to ``workers``
    threads (nothing is prepared, so the inputs are only read)."""
    chunks = spans(len(a), workers if len(a) >= PARALLEL_MIN_PAIRS else 1)
    parts = thread_map(lambda c: shapely.area(shapely.intersection(a[c], b[c])), chunks, workers)
    return np.concatenate([np.asarray(p, dtype=float) for p in parts])


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
        top_c, top_a, _ = _top_per(ci, ai, length)
        best[top_c] = top_a
        method[top_c] = "nearest"
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
) -> list[dict[str, object]]:
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
    return rows


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
        ``households`` (of the compounds whose count is known; ``None`` when none is) and
        ``households_unknown`` (compounds without a count: never counted as 0);
        ``areas``: ``[{area_id, compounds, households, households_unknown}]``;
        ``flagged``: ``[{compound_id,
        area_id, method, overlap_share, note}]``; ``methods``: count per method;
        ``overrides``: the override report.
    """
    hh = (
        pd.to_numeric(assigned[households_field], errors="coerce")
        if households_field in assigned.columns
        else pd.Series(np.nan, index=assigned.index, dtype=float)
    )
    frame = pd.DataFrame(
        {"area_id": assigned["area_id"], "households": hh, "unknown": hh.isna().astype(int)}
    )
    frame["known"] = 1 - frame["unknown"]
    per_area = (
        frame.groupby("area_id", dropna=False)
        .agg(
            compounds=("households", "size"),
            households=("households", "sum"),
            known=("known", "sum"),
            unknown=("unknown", "sum"),
        )
        .reset_index()
    )
    per_area["households"] = per_area["households"].where(per_area["known"] > 0)
    flagged = assigned[assigned["flagged"]]
    known = hh.notna()
    return {
        "compounds": len(assigned),
        "households": float(hh[known].sum()) if known.any() else None,
        "households_unknown": int((~known).sum()),
        "areas": [
            {
                "area_id": area_id,
                "compounds": int(compounds),
                "households": None if pd.isna(households) else float(households),
                "households_unknown": int(unknown),
            }
            for area_id, compounds, households, unknown in zip(
                per_area["area_id"],
                per_area["compounds"],
                per_area["households"],
                per_area["unknown"],
                strict=True,
            )
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
