"""The district hierarchy of a plan: district (区/县) → subdistrict (街道) → community (社区)
→ grid (网格).

A plan's communities can belong to subdistricts: the plan then holds one ``subdistrict``
area per subdistrict (the union of its communities, households and residents summed) and
each community's ``parent_id`` names its subdistrict. Subdistrict codes are the 9-digit
NBS codes (6-digit county code of GB/T 2260 + 3 digits); the communities of a plan with
subdistricts carry 12-digit codes (subdistrict + 3 digits) so that they stay unique across
the district, and their grids the 15-digit codes.

:func:`subdistricts_by_location` puts each community in the subdistrict polygon (e.g. a ward
layer) holding most of its area; :func:`subdistricts_by_partition` draws subdistricts from the
communities with the same partition engine as communities and grids (a band per level);
:func:`with_subdistricts` writes either into a plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.data.crs import metric_crs
from gridplan.errors import InputError, NotFoundError
from gridplan.geo.codes import CodeScheme, reading_order
from gridplan.plan import AREA_COLUMNS, Level, Plan


def subdistricts_by_location(
    communities: gpd.GeoDataFrame, subdistricts: gpd.GeoDataFrame
) -> dict[str, str]:
    """The subdistrict of each community: the ``subdistricts`` polygon (``area_id``) sharing
    most of its area (a community outside every polygon is left out).

    Examples
    --------
    Two subdistricts side by side; community ``b`` straddles them, mostly in ``E``::

        +-------+-------+
        |  a  b | b  c  |    W: x 0..20, E: x 20..40
        +-------+-------+    a: 0..10, b: 10..35, c: 35..40

    >>> import geopandas as gpd
    >>> from shapely import box
    >>> comm = gpd.GeoDataFrame({"area_id": ["a", "b", "c"]},
    ...     geometry=[box(0, 0, 10, 10), box(10, 0, 35, 10), box(35, 0, 40, 10)], crs=32650)
    >>> subs = gpd.GeoDataFrame({"area_id": ["W", "E"]},
    ...     geometry=[box(0, 0, 20, 10), box(20, 0, 40, 10)], crs=32650)
    >>> subdistricts_by_location(comm, subs)
    {'a': 'W', 'b': 'E', 'c': 'E'}
    """
    if communities.empty or subdistricts.empty:
        return {}
    crs = metric_crs(communities, "communities")
    a = np.asarray(communities.to_crs(crs).geometry.values, dtype=object)
    b = np.asarray(subdistricts.to_crs(crs).geometry.values, dtype=object)
    i, j = shapely.STRtree(b).query(a, predicate="intersects")
    shared = shapely.area(shapely.intersection(a[i], b[j]))
    frame = pd.DataFrame({"i": i, "j": j, "w": shared}).sort_values(
        ["i", "w", "j"], ascending=[True, False, True]
    )
    best = frame[frame["w"] > 0].drop_duplicates("i")
    ids = communities["area_id"].astype(str).to_numpy()
    subs = subdistricts["area_id"].astype(str).to_numpy()
    return {str(ids[r.i]): str(subs[r.j]) for r in best.itertuples(index=False)}


def with_subdistricts(
    plan: Plan,
    subdistrict_of: Mapping[str, str],
    *,
    names: Mapping[str, str] | None = None,
    codes: Mapping[str, str] | None = None,
    scheme: CodeScheme | None = None,
) -> Plan:
    """``plan`` with subdistrict areas and each community's ``parent_id`` set.

    Parameters
    ----------
    plan
        A plan with communities.
    subdistrict_of
        Subdistrict id of each community id (every community needs one).
    names
        Subdistrict names by id (default: the id).
    codes
        Subdistrict codes by id: 9 digits (county + subdistrict), or the 3 subdistrict
        digits with ``scheme`` giving the county. Default: ``001``, ``002``, … west to east,
        then north to south, after the county of ``scheme`` (``000000`` without one).
    scheme
        The county (and digit widths).

    Returns
    -------
    Plan
        The subdistricts (unions of their communities, households and residents summed), the
        communities' ``parent_id``; community codes become 12 digits (the subdistrict's 9 +
        their own last 3) and grid codes and ids 15 digits (the community's 12 + their own
        sequence); a community whose 3 digits repeat in its subdistrict is left uncoded, for
        :func:`gridplan.geo.codes.code_plan` (``keep_own``) to give the next free one.
        ``metrics["county"]`` records the county code.

    Raises
    ------
    InputError
        If a community has no subdistrict or a code does not fit.
    """
    comm = plan.areas_at(Level.COMMUNITY)
    ids = comm["area_id"].astype(str)
    missing = [c for c in ids if c not in subdistrict_of]
    if missing:
        raise InputError(
            f"{len(missing)} communit(ies) in no subdistrict (e.g. {', '.join(missing[:3])})"
        )
    county = scheme.county if scheme is not None else "000000"
    frame = comm.assign(_sub=ids.map(dict(subdistrict_of)).to_numpy())
    dissolved = frame.dissolve(
        by="_sub", aggfunc={"households": "sum", "residents": "sum"}
    ).reset_index()
    # a subdistrict none of whose communities has a count has an unknown count, not 0
    counts = frame.groupby("_sub")[["households", "residents"]].sum(min_count=1)
    dissolved["households"] = dissolved["_sub"].map(counts["households"]).to_numpy()
    dissolved["residents"] = dissolved["_sub"].map(counts["residents"]).to_numpy()
    sub_ids = dissolved["_sub"].astype(str).tolist()
    given = dict(codes or {})
    full: dict[str, str] = {}
    for s in sub_ids:
        code = given.get(s)
        if code is None:
            continue
        text = str(code)
        full[s] = text if len(text) == len(county) + 3 else county + text.zfill(3)
    if len(full) < len(sub_ids):
        metric = dissolved.to_crs(metric_crs(dissolved, "subdistricts"))
        pts = np.column_stack([metric.geometry.centroid.x, metric.geometry.centroid.y])
        order = reading_order(pts, areas=metric.geometry.area.to_numpy())
        taken = {int(c[-3:]) for c in full.values() if c[-3:].isdigit()}
        seq = 0
        for k in order:
            s = sub_ids[int(k)]
            if s in full:
                continue
            seq += 1
            while seq in taken:
                seq += 1
            full[s] = f"{county}{seq:03d}"
    bad = [c for c in full.values() if not (c.isdigit() and len(c) == len(county) + 3)]
    if bad:
        raise InputError(f"subdistrict code(s) {', '.join(bad[:3])}: expected 9 digits")
    if len(set(full.values())) < len(full):
        raise InputError("two subdistricts share a code")
    subs = pd.DataFrame(
        {
            "level": Level.SUBDISTRICT.value,
            "area_id": sub_ids,
            "name": [str((names or {}).get(s, s)) for s in sub_ids],
            "code": [full[s] for s in sub_ids],
            "parent_id": None,
            "households": dissolved["households"].to_numpy(dtype=float),
            "residents": dissolved["residents"].to_numpy(dtype=float),
        },
        columns=list(AREA_COLUMNS),
    )
    sub_frame = gpd.GeoDataFrame(subs, geometry=dissolved.geometry.values, crs=dissolved.crs)
    areas = plan.areas[plan.areas["level"] != Level.SUBDISTRICT.value].copy()
    is_comm = (areas["level"] == Level.COMMUNITY.value).to_numpy()
    is_grid = (areas["level"] == Level.GRID.value).to_numpy()
    sub_of = dict(subdistrict_of)
    comm_ids = areas.loc[is_comm, "area_id"].astype(str)
    areas.loc[is_comm, "parent_id"] = comm_ids.map(sub_of).to_numpy()
    # community codes: the subdistrict's 9 digits + their own last 3 (kept), grids: the
    # community's 12 + their own sequence, so every code stays what it was below the level
    new_comm: dict[str, str | None] = {}
    for cid, code in zip(comm_ids, areas.loc[is_comm, "code"], strict=True):
        tail = _tail(code)
        new_comm[cid] = full[sub_of[cid]] + tail if tail else None
    seen: set[str] = set()
    for cid, code in list(new_comm.items()):
        if code is not None and code in seen:
            new_comm[cid] = None  # code_plan gives the next free one
        elif code is not None:
            seen.add(code)
    areas.loc[is_comm, "code"] = comm_ids.map(new_comm).to_numpy()
    grid_ids = areas.loc[is_grid, "area_id"].astype(str)
    renamed: dict[str, str] = {}
    for gid, code, parent in zip(
        grid_ids, areas.loc[is_grid, "code"], areas.loc[is_grid, "parent_id"], strict=True
    ):
        base = new_comm.get(str(parent))
        tail = _tail(code)
        if base is not None and tail:
            renamed[gid] = base + tail
    codes_now = grid_ids.map(renamed)
    areas.loc[is_grid, "code"] = codes_now.to_numpy()
    named = areas.loc[is_grid, "name"].astype(object)
    areas.loc[is_grid, "name"] = [
        renamed.get(g, n) if n == g else n for g, n in zip(grid_ids, named, strict=True)
    ]
    areas.loc[is_grid, "area_id"] = [renamed.get(g, g) for g in grid_ids]
    assignments = plan.assignments.copy()
    if len(assignments) and renamed:
        assignments["grid_id"] = pd.Series(
            [
                None if g is None or pd.isna(g) else renamed.get(str(g), g)
                for g in assignments["grid_id"]
            ],
            index=assignments.index,
            dtype=object,
        )
    out = gpd.GeoDataFrame(
        pd.concat([areas, sub_frame], ignore_index=True), geometry="geometry", crs=plan.areas.crs
    )
    metrics = {k: v for k, v in plan.metrics.items() if k != "code_scheme"}
    metrics["county"] = county
    return replace(plan, areas=out, assignments=assignments, metrics=metrics)


def _tail(code: object) -> str | None:
    """The last 3 digits of a code (``None`` for no code or one not ending in digits)."""
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return None
    text = str(code)
    tail = text[-3:]
    return tail.zfill(3) if tail.isdigit() else None


def subdistrict_codes(plan: Plan) -> dict[str, str]:
    """The subdistrict code of each community id: its subdistrict area's code, else the
    first 9 digits of a 12-digit community code, else the plan's recorded scheme."""
    subs = plan.areas_at(Level.SUBDISTRICT)
    sub_code = {
        str(a): str(c)
        for a, c in zip(subs["area_id"], subs["code"], strict=True)
        if c is not None and not pd.isna(c)
    }
    scheme = plan.metrics.get("code_scheme") if plan.metrics else None
    default = None
    if isinstance(scheme, Mapping) and scheme.get("county") and scheme.get("subdistrict"):
        default = str(scheme["county"]) + str(scheme["subdistrict"])
    out: dict[str, str] = {}
    comm = plan.areas_at(Level.COMMUNITY)
    for a, code, parent in zip(comm["area_id"], comm["code"], comm["parent_id"], strict=True):
        text = "" if code is None or pd.isna(code) else str(code)
        if parent is not None and not pd.isna(parent) and str(parent) in sub_code:
            out[str(a)] = sub_code[str(parent)]
        elif len(text) == 12 and text.isdigit():
            out[str(a)] = text[:9]
        elif default is not None:
            out[str(a)] = default
    return out


def within_subdistrict(plan: Plan, code: str) -> Plan:
    """The part of ``plan`` in one subdistrict: its communities, their grids and units.

    ``code`` is the subdistrict's 9-digit code, its last 3 digits, or its area id.

    Raises
    ------
    NotFoundError
        If no community of the plan lies in that subdistrict (the message lists those
        there are).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import box
    >>> areas = gpd.GeoDataFrame({"level": ["community", "community"], "area_id": ["a", "b"],
    ...     "name": ["a", "b"], "code": ["350582001004", "350582002001"], "parent_id": None,
    ...     "households": 1.0, "residents": 1.0},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=32650)
    >>> plan = Plan("p", pd.DataFrame({"unit_id": [], "community_id": [], "grid_id": []}), areas)
    >>> within_subdistrict(plan, "002").areas["area_id"].tolist()
    ['b']
    """
    of = subdistrict_codes(plan)
    subs = plan.areas_at(Level.SUBDISTRICT)
    ids = {
        str(c): str(a) for a, c in zip(subs["area_id"], subs["code"], strict=True) if c is not None
    }
    wanted = str(code).strip()
    chosen = {c for c in set(of.values()) if wanted in (c, c[-3:], ids.get(c))}
    keep = {a for a, c in of.items() if c in chosen}
    if not keep:
        have = ", ".join(sorted(set(of.values()))) or "none"
        raise NotFoundError(
            f"subdistrict {code}: no community of the plan in it (subdistricts: {have})"
        )
    areas = plan.areas
    level = areas["level"]
    parent = areas["parent_id"].map(lambda p: None if p is None or pd.isna(p) else str(p))
    mask = (
        ((level == Level.COMMUNITY.value) & areas["area_id"].astype(str).isin(keep))
        | ((level == Level.GRID.value) & parent.isin(keep))
        | ((level == Level.SUBDISTRICT.value) & areas["code"].astype(str).isin(chosen))
    )
    assignments = plan.assignments
    if len(assignments):
        assignments = assignments[assignments["community_id"].astype(str).isin(keep)]
    return replace(
        plan,
        areas=areas[mask.to_numpy()].reset_index(drop=True),
        assignments=assignments.reset_index(drop=True),
    )


def carry_subdistricts(
    plan: Plan, parent: Plan | None, households: Mapping[str, float] | None = None
) -> Plan:
    """``plan`` in its parent's subdistricts, when the parent has subdistricts and the plan
    none (a scenario or a regrid of a plan with subdistricts).

    Each community goes to the subdistrict of the parent community it holds most households
    of (by unit; for drawn plans, the parent subdistrict holding most of its area).
    """
    if parent is None or plan.areas_at(Level.COMMUNITY).empty:
        return plan
    old_subs = parent.areas_at(Level.SUBDISTRICT)
    if old_subs.empty or not plan.areas_at(Level.SUBDISTRICT).empty:
        return plan
    old_comm = parent.areas_at(Level.COMMUNITY)
    sub_of_old = {
        str(a): str(p)
        for a, p in zip(old_comm["area_id"], old_comm["parent_id"], strict=True)
        if p is not None and not pd.isna(p)
    }
    mapping: dict[str, str] = {}
    if len(plan.assignments) and len(parent.assignments):
        joined = plan.assignments[["unit_id", "community_id"]].merge(
            parent.assignments[["unit_id", "community_id"]].rename(columns={"community_id": "old"}),
            on="unit_id",
        )
        joined = joined.dropna(subset=["community_id", "old"])
        joined["sub"] = joined["old"].astype(str).map(sub_of_old)
        weights = dict(households or {})
        joined["w"] = [float(weights.get(str(u), 0.0)) + 1e-6 for u in joined["unit_id"]]
        best = (
            joined.dropna(subset=["sub"])
            .groupby(["community_id", "sub"])["w"]
            .sum()
            .reset_index()
            .sort_values(["community_id", "w", "sub"], ascending=[True, False, True])
            .drop_duplicates("community_id")
        )
        mapping = {str(c): str(s) for c, s in zip(best["community_id"], best["sub"], strict=True)}
    comm = plan.areas_at(Level.COMMUNITY)
    rest = comm[~comm["area_id"].astype(str).isin(mapping)]
    if len(rest):
        mapping.update(subdistricts_by_location(rest, old_subs))
    fallback = str(pd.Series(list(sub_of_old.values())).value_counts().index[0])
    for a in comm["area_id"].astype(str):
        mapping.setdefault(a, fallback)
    codes = {
        str(a): str(c)
        for a, c in zip(old_subs["area_id"], old_subs["code"], strict=True)
        if c is not None and not pd.isna(c)
    }
    names = {
        str(a): str(n)
        for a, n in zip(old_subs["area_id"], old_subs["name"], strict=True)
        if n is not None and not pd.isna(n)
    }
    some = next(iter(codes.values()), "")
    scheme = CodeScheme(some[:6], some[6:9]) if len(some) == 9 and some.isdigit() else None
    return with_subdistricts(plan, mapping, names=names, codes=codes, scheme=scheme)


__all__ = [
    "carry_subdistricts",
    "subdistrict_codes",
    "subdistricts_by_location",
    "with_subdistricts",
    "within_subdistrict",
]
