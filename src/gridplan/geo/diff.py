"""Compare two plans: which communities changed, what territory, units and compounds moved.

One comparison behind ``gridplan plans diff``, ``GET /plans/{a}/diff/{b}``, ``gridplan map
--diff-from`` and the demo's scenario map (:func:`plan_diff`), and one answer to "which
community holds this compound" (:func:`areas_holding`), used by the diff, the maps and the
scenario report alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.data.crs import metric_crs, to_storage
from gridplan.plan import Level, Plan

#: What a side of a comparison can be: a plan, or its community polygons.
Side: TypeAlias = Plan | gpd.GeoDataFrame


def areas_holding(
    features: gpd.GeoSeries | gpd.GeoDataFrame, areas: gpd.GeoDataFrame
) -> np.ndarray:
    """The ``area_id`` of the area holding each feature (``None`` outside every area).

    A feature is held by the area that contains its representative point (a point on its
    surface; the point itself for a point); on a shared boundary, by the first such area in
    the order of ``areas``. Both may be in any CRS.

    Examples
    --------
    Two areas side by side and three compounds, the last outside both::

        +-----+-----+
        | a . | b . |   .
        +-----+-----+

    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> areas = gpd.GeoDataFrame({"area_id": ["a", "b"]},
    ...     geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=32650)
    >>> pts = gpd.GeoSeries([Point(5, 5), Point(15, 5), Point(25, 5)], crs=32650)
    >>> areas_holding(pts, areas).tolist()
    ['a', 'b', None]
    """
    geoms = features.geometry if isinstance(features, gpd.GeoDataFrame) else features
    out = np.full(len(geoms), None, dtype=object)
    if len(geoms) == 0 or len(areas) == 0:
        return out
    polys = to_storage(areas[["area_id", areas.geometry.name]], "areas")
    points = to_storage(gpd.GeoDataFrame(geometry=geoms.values, crs=geoms.crs), "features")
    pts = shapely.point_on_surface(np.asarray(points.geometry.values, dtype=object))
    shapes = np.asarray(polys.geometry.values, dtype=object)
    tree = shapely.STRtree(shapes)
    p_idx, a_idx = tree.query(pts, predicate="intersects")
    first = np.full(len(pts), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, p_idx, a_idx)
    hit = first < len(shapes)
    ids = polys["area_id"].astype(str).to_numpy(dtype=object)
    out[hit] = ids[first[hit]]
    return out


@dataclass(frozen=True)
class PlanDiff:
    """What changed between the communities of two plans.

    Attributes
    ----------
    areas
        One row per community id in either plan: ``area_id``, ``name``, ``change``
        (``unchanged`` | ``changed`` | ``new`` | ``removed``), ``households_before``,
        ``households_after`` (NaN where absent), ``delta``, ``area_changed_m2``.
    moved
        Territory that changed community: ``from_id``, ``to_id``, ``area_m2``,
        ``households`` (NaN unless computed from units) and geometry (EPSG:4326).
    compounds
        Compounds whose community changed: ``compound_id``, ``name``, ``households``,
        ``from_id``, ``to_id`` and geometry (EPSG:4326).
    unit_moves
        Units that changed community, per pair: ``from_id``, ``to_id``, ``units``,
        ``households`` (NaN without unit counts).
    unit_basis
        How units were placed in each plan: ``assignments``, ``located`` (a drawn plan: by
        representative point) or ``none``; ``a/b`` when the plans differ.
    units_known
        Whether unit households were known.
    before_id, after_id
        The plans' ids (``None`` for polygons or unsaved plans).
    codes
        Per level and code in either plan (:func:`code_changes`): ``level``, ``code``,
        ``status`` (``kept`` | ``changed`` | ``new`` | ``retired``), ``area_before``,
        ``area_after``, ``households_before``, ``households_after``. When both plans code
        their communities, a unit moved only if its community *code* changed: a community
        that is only renamed (a new id, the same code) moves nobody.
    """

    areas: pd.DataFrame
    moved: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    unit_moves: pd.DataFrame
    unit_basis: str = "none"
    units_known: bool = False
    before_id: int | None = None
    after_id: int | None = None
    codes: pd.DataFrame | None = None

    @property
    def units_moved(self) -> int:
        """Units whose community changed."""
        return int(self.unit_moves["units"].sum()) if len(self.unit_moves) else 0

    @property
    def households_moved(self) -> float:
        """Households that changed community: those of the moved units when unit counts are
        known, else of the moved territory, else of the moved compounds."""
        if self.units_known:
            return float(self.unit_moves["households"].fillna(0.0).sum())
        if not self.moved.empty and self.moved["households"].notna().any():
            return float(self.moved["households"].sum())
        if not self.compounds.empty:
            return float(pd.to_numeric(self.compounds["households"], errors="coerce").sum())
        return 0.0

    def to_json(self) -> dict[str, Any]:
        """The ``GET /plans/{a}/diff/{b}`` and ``gridplan plans diff --format json`` document.

        ``{"from_plan", "to_plan", "unit_basis", "units_moved", "households_moved" (null
        when unit households are unknown), "moves": [{"from_community", "to_community",
        "units", "households"}], "compounds_moved": [{"compound_id", "name", "households",
        "from_community", "to_community"}], "communities": [{"community_id", "name",
        "in_before", "in_after", "households_before", "households_after", "change",
        "status"}], "codes": {"<level>": {"kept", "changed", "new", "retired"}}}`` (lists
        of codes); communities ordered by id.
        """
        moves = [
            {
                "from_community": _text(r["from_id"]),
                "to_community": _text(r["to_id"]),
                "units": int(r["units"]),
                "households": _number(r["households"]) if self.units_known else None,
            }
            for r in _records(self.unit_moves)
        ]
        compounds = [
            {
                "compound_id": _text(r["compound_id"]),
                "name": _text(r["name"]),
                "households": _number(r["households"]),
                "from_community": _text(r["from_id"]),
                "to_community": _text(r["to_id"]),
            }
            for r in _records(self.compounds)
        ]
        communities = []
        for r in _records(self.areas.sort_values("area_id", kind="stable")):
            hb = _number(r["households_before"]) or 0.0
            ha = _number(r["households_after"]) or 0.0
            communities.append(
                {
                    "community_id": str(r["area_id"]),
                    "name": _text(r["name"]),
                    "in_before": r["change"] != "new",
                    "in_after": r["change"] != "removed",
                    "households_before": hb,
                    "households_after": ha,
                    "change": ha - hb,
                    "status": r["change"],
                }
            )
        return {
            "from_plan": self.before_id,
            "to_plan": self.after_id,
            "codes": _code_lists(self.codes),
            "unit_basis": self.unit_basis,
            "units_moved": self.units_moved,
            "households_moved": self.households_moved if self.units_known else None,
            "moves": moves,
            "compounds_moved": compounds,
            "communities": communities,
        }


def plan_diff(
    before: Side,
    after: Side,
    *,
    compounds: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    min_area_m2: float = 1.0,
) -> PlanDiff:
    """Compare the communities of two plans.

    Parameters
    ----------
    before, after
        The plans (or their community polygons, with ``area_id``, optional ``name`` and
        ``households``). Communities are matched by ``area_id``.
    compounds
        Compounds to follow (their community in each plan: :func:`areas_holding`).
    units
        Units with ``unit_id`` and ``households``: a plan's units are its assignments, or
        for a drawn plan the units its polygons hold (:func:`areas_holding`); moved units
        carry exact households. When both plans have assignments the moved territory is the
        moved units; otherwise it is the overlay of the polygons.
    min_area_m2
        Geometry changes smaller than this (in square metres) are digitising noise.

    Examples
    --------
    Two communities A | B; in the after plan the right half of A moves to B::

        before  +---+---+---+---+      after  +---+---+---+---+
                | A   A | B   B |             | A | B   B   B |
                +---+---+---+---+             +---+---+---+---+

    >>> import geopandas as gpd
    >>> from shapely import box
    >>> def areas(cut, hh):
    ...     return gpd.GeoDataFrame({"area_id": ["A", "B"], "households": hh},
    ...         geometry=[box(0, 0, cut, 1000), box(cut, 0, 4000, 1000)], crs=32650)
    >>> d = plan_diff(areas(2000, [2000.0, 2000.0]), areas(1000, [1000.0, 3000.0]))
    >>> d.areas.set_index("area_id")["change"].to_dict()
    {'A': 'changed', 'B': 'changed'}
    >>> d.moved[["from_id", "to_id"]].values.tolist(), round(float(d.moved.area_m2.sum()))
    ([['A', 'B']], 1000000)
    """
    old = _communities(before)
    new = _communities(after)
    crs = metric_crs(_raw_communities(after), "after communities")
    areas = _area_changes(old.to_crs(crs), new.to_crs(crs), min_area_m2)
    codes = None
    by_code: tuple[dict[str, str], dict[str, str]] | None = None
    if isinstance(before, Plan) and isinstance(after, Plan):
        codes = code_changes(before, after, units)
        code_a, code_b = _community_codes(before), _community_codes(after)
        if code_a and code_b:  # both coded: only a change of code moves households
            by_code = (code_a, code_b)
    moved = _unit_moves(before, after, units, by_code)
    if moved is None:
        moved = _territory_moves(old.to_crs(crs), new.to_crs(crs), min_area_m2)
    known = units is not None and not units.empty
    a, basis_a = _membership(before, old, units)
    b, basis_b = _membership(after, new, units)
    unit_moves = _unit_table(a, b, units if known else None, by_code)
    return PlanDiff(
        codes=codes,
        areas=areas,
        moved=moved,
        compounds=_compound_moves(compounds, old, new),
        unit_moves=unit_moves,
        unit_basis=basis_a if basis_a == basis_b else f"{basis_a}/{basis_b}",
        units_known=known,
        before_id=before.plan_id if isinstance(before, Plan) else None,
        after_id=after.plan_id if isinstance(after, Plan) else None,
    )


def code_changes(before: Plan, after: Plan, units: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """What happened to each code from ``before`` to ``after``, per level.

    A code in both plans is ``kept`` when its area holds the same units (for drawn plans:
    the same polygon, to a square metre) and ``changed`` otherwise; a code only in ``after``
    is ``new``, one only in ``before`` ``retired``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import box
    >>> def plan(ids, codes, assign):
    ...     areas = gpd.GeoDataFrame({"level": "community", "area_id": ids, "name": ids,
    ...         "code": codes, "parent_id": None, "households": 1.0, "residents": 1.0},
    ...         geometry=[box(i, 0, i + 1, 1) for i in range(len(ids))], crs=32650)
    ...     rows = pd.DataFrame({"unit_id": ["u1", "u2", "u3"], "community_id": assign,
    ...         "grid_id": None})
    ...     return Plan("p", rows, areas)
    >>> a = plan(["A", "B"], ["001", "002"], ["A", "A", "B"])
    >>> b = plan(["X", "B"], ["001", "003"], ["X", "X", "B"])  # A renamed X; B recoded
    >>> code_changes(a, b).set_index("code")["status"].to_dict()
    {'001': 'kept', '002': 'retired', '003': 'new'}
    """
    rows = []
    hh = _unit_households(units)
    for level in (Level.COMMUNITY, Level.GRID):
        old, new = before.areas_at(level), after.areas_at(level)
        old_c, new_c = _codes(old), _codes(new)
        if not old_c and not new_c:
            continue
        column = "community_id" if level is Level.COMMUNITY else "grid_id"
        sets_a = _sets(before, column)
        sets_b = _sets(after, column)
        by_code_a = {c: a for a, c in old_c.items()}
        by_code_b = {c: a for a, c in new_c.items()}
        geom_a = dict(zip(old["area_id"].astype(str), old.geometry.values, strict=True))
        geom_b = dict(zip(new["area_id"].astype(str), new.geometry.values, strict=True))
        for code in sorted(set(by_code_a) | set(by_code_b)):
            area_a, area_b = by_code_a.get(code), by_code_b.get(code)
            if area_a is None:
                status = "new"
            elif area_b is None:
                status = "retired"
            elif sets_a and sets_b:
                status = "kept" if sets_a.get(area_a) == sets_b.get(area_b) else "changed"
            else:
                status = "kept" if _same_shape(geom_a[area_a], geom_b[area_b]) else "changed"
            rows.append(
                {
                    "level": level.value,
                    "code": code,
                    "status": status,
                    "area_before": area_a,
                    "area_after": area_b,
                    "households_before": _total(sets_a.get(area_a or ""), hh),
                    "households_after": _total(sets_b.get(area_b or ""), hh),
                }
            )
    cols = [
        "level",
        "code",
        "status",
        "area_before",
        "area_after",
        "households_before",
        "households_after",
    ]
    return pd.DataFrame(rows, columns=cols)


def _codes(areas: pd.DataFrame) -> dict[str, str]:
    return {
        str(a): str(c)
        for a, c in zip(areas["area_id"], areas["code"], strict=True)
        if _text(c) is not None and str(c) != ""
    }


def _community_codes(plan: Plan) -> dict[str, str]:
    return _codes(plan.areas_at(Level.COMMUNITY))


def _sets(plan: Plan, column: str) -> dict[str, frozenset[str]]:
    if plan.assignments.empty:
        return {}
    frame = plan.assignments[["unit_id", column]].dropna(subset=[column])
    return {
        str(a): frozenset(g.astype(str))
        for a, g in frame.groupby(frame[column].astype(str))["unit_id"]
    }


def _unit_households(units: gpd.GeoDataFrame | None) -> dict[str, float] | None:
    if units is None or units.empty:
        return None
    values = pd.to_numeric(units["households"], errors="coerce").fillna(0.0)
    return dict(zip(units["unit_id"].astype(str), values.astype(float), strict=True))


def _total(units: frozenset[str] | None, hh: dict[str, float] | None) -> float | None:
    if units is None or hh is None:
        return None
    return float(sum(hh.get(u, 0.0) for u in units))


def _same_shape(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    return bool(shapely.equals_exact(a, b, 1e-9) or shapely.symmetric_difference(a, b).area < 1e-12)


def _code_differs(
    was: pd.Series, now: pd.Series, by_code: tuple[dict[str, str], dict[str, str]]
) -> np.ndarray:
    """Whether each unit's community code changed (ids without a code compare as ids)."""
    before, after = by_code
    a = [before.get(str(x), f"id:{x}") if _text(x) is not None else None for x in was]
    b = [after.get(str(x), f"id:{x}") if _text(x) is not None else None for x in now]
    return np.array([x != y for x, y in zip(a, b, strict=True)], dtype=bool)


def _code_lists(codes: pd.DataFrame | None) -> dict[str, dict[str, list[str]]]:
    if codes is None:
        return {}
    out: dict[str, dict[str, list[str]]] = {}
    for level, rows in codes.groupby("level", sort=False):
        out[str(level)] = {
            status: sorted(rows.loc[rows["status"] == status, "code"].astype(str))
            for status in ("kept", "changed", "new", "retired")
        }
    return out


def _raw_communities(side: Side) -> gpd.GeoDataFrame:
    return side.areas_at(Level.COMMUNITY) if isinstance(side, Plan) else side


def _communities(side: Side) -> gpd.GeoDataFrame:
    out = to_storage(_raw_communities(side), "communities").copy()
    out["area_id"] = out["area_id"].astype(str)
    return out


def _membership(
    side: Side, communities: gpd.GeoDataFrame, units: gpd.GeoDataFrame | None
) -> tuple[pd.DataFrame, str]:
    """Each unit's community: the plan's assignments, else the community holding the unit."""
    if isinstance(side, Plan) and len(side.assignments):
        frame = side.assignments[["unit_id", "community_id"]].copy()
        return frame.astype({"unit_id": str}), "assignments"
    if units is None or units.empty:
        return pd.DataFrame({"unit_id": [], "community_id": []}, dtype=object), "none"
    located = areas_holding(units, communities)
    return (
        pd.DataFrame({"unit_id": units["unit_id"].astype(str).to_numpy(), "community_id": located}),
        "located",
    )


def _unit_table(
    a: pd.DataFrame,
    b: pd.DataFrame,
    units: gpd.GeoDataFrame | None,
    by_code: tuple[dict[str, str], dict[str, str]] | None = None,
) -> pd.DataFrame:
    cols = ["from_id", "to_id", "units", "households"]
    joined = a.rename(columns={"community_id": "from_id"}).merge(
        b.rename(columns={"community_id": "to_id"}), on="unit_id", how="outer"
    )
    if by_code is not None:
        differs = _code_differs(joined["from_id"], joined["to_id"], by_code)
    else:
        differs = joined["from_id"].astype(object).ne(joined["to_id"].astype(object)).to_numpy()
    moved = joined[differs].copy()
    moved = moved[~(moved["from_id"].isna() & moved["to_id"].isna())]
    if moved.empty:
        return pd.DataFrame({c: [] for c in cols})
    if units is not None:
        per_unit = pd.Series(
            pd.to_numeric(units["households"], errors="coerce").to_numpy(dtype=float),
            index=units["unit_id"].astype(str),
        )
        per_unit = per_unit[~per_unit.index.duplicated()]
        moved["households"] = moved["unit_id"].map(per_unit).astype(float)
    else:
        moved["households"] = np.nan
    grouped = (
        moved.fillna({"from_id": "", "to_id": ""})
        .groupby(["from_id", "to_id"], sort=True)
        .agg(units=("unit_id", "size"), households=("households", "sum"))
        .reset_index()
    )
    grouped["from_id"] = grouped["from_id"].replace("", None)
    grouped["to_id"] = grouped["to_id"].replace("", None)
    if units is None:
        grouped["households"] = np.nan
    return grouped[cols]


def _area_changes(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, min_area: float) -> pd.DataFrame:
    ids = list(dict.fromkeys([*old["area_id"], *new["area_id"]]))
    o = old.drop_duplicates("area_id").set_index("area_id")
    n = new.drop_duplicates("area_id").set_index("area_id")
    rows = []
    for area in ids:
        in_old, in_new = area in o.index, area in n.index
        hb = _households(o, area) if in_old else np.nan
        ha = _households(n, area) if in_new else np.nan
        if in_old and in_new:
            moved_area = float(
                shapely.symmetric_difference(o.geometry[area], n.geometry[area]).area
            )
            same_hh = (np.isnan(hb) and np.isnan(ha)) or bool(np.isclose(hb, ha))
            change = "unchanged" if moved_area < min_area and same_hh else "changed"
        else:
            moved_area = float((o if in_old else n).geometry[area].area)
            change = "removed" if in_old else "new"
        source = n if in_new else o
        name = source["name"][area] if "name" in source.columns else None
        rows.append(
            {
                "area_id": area,
                "name": None if name is None or pd.isna(name) else str(name),
                "change": change,
                "households_before": hb,
                "households_after": ha,
                "delta": (0.0 if np.isnan(hb) else -hb) + (0.0 if np.isnan(ha) else ha),
                "area_changed_m2": moved_area,
            }
        )
    return pd.DataFrame(rows)


def _households(frame: pd.DataFrame, area: str) -> float:
    if "households" not in frame.columns:
        return float("nan")
    value = pd.to_numeric(pd.Series([frame["households"][area]]), errors="coerce").iloc[0]
    return float(value)


def _territory_moves(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, min_area: float
) -> gpd.GeoDataFrame:
    left = old[["area_id", "geometry"]].rename(columns={"area_id": "from_id"})
    right = new[["area_id", "geometry"]].rename(columns={"area_id": "to_id"})
    pieces = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    pieces = pieces[pieces["from_id"] != pieces["to_id"]]
    pieces = pieces.dissolve(["from_id", "to_id"], as_index=False) if not pieces.empty else pieces
    pieces = pieces.assign(area_m2=pieces.geometry.area)
    pieces = pieces[pieces["area_m2"] >= min_area]
    pieces = pieces.assign(households=np.nan)
    cols = ["from_id", "to_id", "area_m2", "households", "geometry"]
    return to_storage(gpd.GeoDataFrame(pieces[cols], geometry="geometry", crs=new.crs))


def _unit_moves(
    before: Side,
    after: Side,
    units: gpd.GeoDataFrame | None,
    by_code: tuple[dict[str, str], dict[str, str]] | None = None,
) -> gpd.GeoDataFrame | None:
    if units is None or not (isinstance(before, Plan) and isinstance(after, Plan)):
        return None
    if before.assignments.empty or after.assignments.empty:
        return None
    a = before.assignments[["unit_id", "community_id"]].rename(columns={"community_id": "from_id"})
    b = after.assignments[["unit_id", "community_id"]].rename(columns={"community_id": "to_id"})
    both = a.merge(b, on="unit_id", how="inner")
    if by_code is not None:
        both = both[_code_differs(both["from_id"], both["to_id"], by_code)]
    else:
        both = both[both["from_id"].astype(str) != both["to_id"].astype(str)]
    u = to_storage(units, "units")[["unit_id", "households", "geometry"]].copy()
    u["unit_id"] = u["unit_id"].astype(str)
    both = both.assign(unit_id=both["unit_id"].astype(str))
    moved = u.merge(both, on="unit_id", how="inner")
    cols = ["from_id", "to_id", "area_m2", "households", "geometry"]
    if moved.empty:
        return gpd.GeoDataFrame({c: [] for c in cols[:-1]}, geometry=[], crs=u.crs)
    moved["from_id"] = moved["from_id"].astype(str)
    moved["to_id"] = moved["to_id"].astype(str)
    pieces = gpd.GeoDataFrame(moved, geometry="geometry", crs=u.crs).dissolve(
        ["from_id", "to_id"], as_index=False, aggfunc={"households": "sum"}
    )
    pieces["area_m2"] = pieces.to_crs(metric_crs(pieces)).geometry.area
    return pieces[cols]


def _compound_moves(
    compounds: gpd.GeoDataFrame | None, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    cols = ["compound_id", "name", "households", "from_id", "to_id"]
    if compounds is None or compounds.empty:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs="EPSG:4326")
    comp = to_storage(compounds, "compounds")
    was = areas_holding(comp, old)
    now = areas_holding(comp, new)
    frame = gpd.GeoDataFrame(
        {
            "compound_id": comp["compound_id"].astype(str).to_numpy(),
            "name": comp["name"].to_numpy() if "name" in comp.columns else None,
            "households": pd.to_numeric(comp["households"], errors="coerce").to_numpy()
            if "households" in comp.columns
            else np.nan,
            "from_id": was,
            "to_id": now,
        },
        geometry=comp.geometry.to_numpy(),
        crs=comp.crs,
    )
    moved = frame["from_id"].fillna("\0").ne(frame["to_id"].fillna("\0"))
    return frame[moved.to_numpy()].reset_index(drop=True)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): v for k, v in r.items()} for r in pd.DataFrame(frame).to_dict(orient="records")
    ]


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return str(value)


def _number(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


__all__ = ["PlanDiff", "Side", "areas_holding", "code_changes", "plan_diff"]
