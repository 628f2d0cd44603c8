"""Hierarchical grid codes (网格编码).

A grid code is the 6-digit county code (GB/T 2260) + the 3-digit subdistrict (街道) code + the
3-digit community (社区) code + the 3-digit grid sequence: 15 digits, e.g. ``350582001004007``
is grid 7 of 青新社区 (``004``) in 青阳街道 (``001``), Jinjiang (``350582``). The digit widths are
configurable per jurisdiction (:class:`CodeScheme`).

Grids are numbered west to east, then north to south, like reading a page: grids are put in
rows from north to south, and numbered west to east within each row. A grid starts a new row
when its centroid lies more than ``row_tolerance`` metres south of the centroid of the first
(northernmost) grid of the current row. The default tolerance is half the square root of the
median grid area (half a typical grid's side), so grids whose centres differ by less than half
a grid in latitude share a row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.errors import InputError
from gridplan.plan import Level, Plan

_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True)
class CodeScheme:
    """How grid codes are built in one jurisdiction.

    Parameters
    ----------
    county
        County-level division code (GB/T 2260), ``county_digits`` digits.
    subdistrict
        Subdistrict code within the county, ``subdistrict_digits`` digits.
    county_digits, subdistrict_digits, community_digits, sequence_digits
        Widths of the four parts (defaults 6 + 3 + 3 + 3).
    row_tolerance
        Metres; ``None`` uses half the square root of the median grid area.

    Examples
    --------
    >>> s = CodeScheme("350582", "001")
    >>> s.code("004", 7)
    '350582001004007'
    """

    county: str
    subdistrict: str
    county_digits: int = 6
    subdistrict_digits: int = 3
    community_digits: int = 3
    sequence_digits: int = 3
    row_tolerance: float | None = None

    def __post_init__(self) -> None:
        _check("county", self.county, self.county_digits)
        _check("subdistrict", self.subdistrict, self.subdistrict_digits)
        for name in ("community_digits", "sequence_digits"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1")

    @property
    def prefix(self) -> str:
        """County + subdistrict digits."""
        return self.county + self.subdistrict

    @classmethod
    def parse(cls, text: str) -> CodeScheme:
        """Parse ``"county,subdistrict"`` (the ``--codes`` option), e.g. ``"350582,001"``.

        A 9-digit subdistrict code that starts with the county code is accepted too
        (``"350582,350582001"``).
        """
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or not all(parts):
            raise InputError(f"--codes expects county,subdistrict (e.g. 350582,001), got {text!r}")
        county, sub = parts
        if len(sub) == len(county) + 3 and sub.startswith(county):
            sub = sub[len(county) :]
        return cls(county, sub)

    def community_code(self, code: object, fallback: int) -> str:
        """The community part: from an area's ``code`` (full 12-digit or just the community
        digits), else ``fallback`` (the community's position, 1-based).

        Raises
        ------
        InputError
            If a full code does not start with this scheme's county and subdistrict.
        """
        text = "" if code is None else str(code).strip()
        if text.endswith(".0") and _DIGITS.match(text[:-2]):
            text = text[:-2]
        full = len(self.prefix) + self.community_digits
        if _DIGITS.match(text) and len(text) == full:
            if not text.startswith(self.prefix):
                raise InputError(
                    f"community code {text} is not in county {self.county} "
                    f"subdistrict {self.subdistrict}"
                )
            return text[len(self.prefix) :]
        if _DIGITS.match(text) and len(text) <= self.community_digits:
            return text.zfill(self.community_digits)
        return self._fit(fallback, self.community_digits, "community")

    def code(self, community: str, sequence: int) -> str:
        """The full grid code."""
        _check("community", community, self.community_digits)
        return self.prefix + community + self._fit(sequence, self.sequence_digits, "grid")

    @staticmethod
    def _fit(number: int, digits: int, what: str) -> str:
        if number < 1 or number >= 10**digits:
            raise InputError(f"{what} number {number} does not fit in {digits} digits")
        return str(number).zfill(digits)


def _check(name: str, value: str, digits: int) -> None:
    if not _DIGITS.match(value or "") or len(value) != digits:
        raise InputError(f"{name} code must be {digits} digits, got {value!r}")


def reading_order(
    centroids: npt.NDArray[np.float64],
    row_tolerance: float | None = None,
    areas: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.int64]:
    """Order points west to east, then north to south (rows banded by ``row_tolerance``).

    Parameters
    ----------
    centroids
        ``(n, 2)`` x (east), y (north) in a metric CRS.
    row_tolerance
        Metres; ``None``: half the square root of the median of ``areas`` (or 0 without).
    areas
        Grid areas (m²), for the default tolerance.

    Returns
    -------
    numpy.ndarray
        Indices into ``centroids`` in numbering order.

    Examples
    --------
    Two rows: (0, 100) and (50, 95) share the top row; (10, 0) is alone below::

    >>> import numpy as np
    >>> reading_order(np.array([[10.0, 0.0], [50.0, 95.0], [0.0, 100.0]]), 10.0).tolist()
    [2, 1, 0]
    """
    pts = np.asarray(centroids, dtype=float).reshape(-1, 2)
    n = len(pts)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if row_tolerance is None:
        row_tolerance = (
            0.5 * float(np.sqrt(np.median(areas))) if areas is not None and len(areas) else 0.0
        )
    by_y = np.lexsort((pts[:, 0], -pts[:, 1]))
    row = np.empty(n, dtype=np.int64)
    current, top = 0, pts[by_y[0], 1]
    for i in by_y:
        if top - pts[i, 1] > row_tolerance:
            current += 1
            top = pts[i, 1]
        row[i] = current
    return np.lexsort((pts[:, 0], row)).astype(np.int64)


# -- codes that last --------------------------------------------------------------------------
#
# A child plan keeps the codes of its parent (the rule of :func:`keep_codes`): other systems
# (case dispatch, population records, staff rosters) store grid and community codes as keys,
# so a code must name the same households after a redistricting, and a retired code must
# never come back naming other ones.

#: Share of households above which a new area "is" an old one (see :func:`keep_codes`).
KEEP_SHARE = 0.5

#: Weight of a unit without households in the overlaps (so empty areas still match).
_UNIT_WEIGHT = 1e-6


@dataclass(frozen=True)
class CodeHistory:
    """The codes a store has given, per level (``community``, ``grid``).

    Attributes
    ----------
    used
        Every code any stored plan gave at the level: a new area never takes one of them
        (the next sequence is after the largest ever used).
    members
        The unit set of each coded area of the stored plans (the latest plan's wins), so that
        an area drawn again with exactly the same units (a rerun, a sibling proposal) gets the
        same code back, unless that code was retired.
    retired
        Codes a stored plan dropped from its parent (a code is retired once a child plan
        stops using it): never given again, not even to the same units.

    Examples
    --------
    >>> h = CodeHistory.empty()
    >>> h.used_at("grid")
    frozenset()
    """

    used: Mapping[str, frozenset[str]]
    members: Mapping[str, Mapping[frozenset[str], str]]
    retired: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> CodeHistory:
        """No codes given yet."""
        return cls({}, {}, {})

    @classmethod
    def from_plans(cls, plans: Iterable[Plan]) -> CodeHistory:
        """The history of ``plans``, oldest first (a plan's parent is found by its
        ``plan_id``; unsaved plans count as children of their ``parent_id`` too)."""
        plans = list(plans)
        used: dict[str, set[str]] = {}
        members: dict[str, dict[frozenset[str], str]] = {}
        retired: dict[str, set[str]] = {}
        codes_of: dict[int, dict[str, set[str]]] = {}
        for plan in plans:
            mine_codes: dict[str, set[str]] = {}
            for level in (Level.COMMUNITY, Level.GRID):
                codes = _code_map(plan.areas_at(level))
                mine_codes[level.value] = set(codes.values())
                used.setdefault(level.value, set()).update(codes.values())
                if len(plan.assignments):
                    sets = _unit_sets(plan.assignments, _ID_COLUMN[level])
                    mine = members.setdefault(level.value, {})
                    for area, units in sets.items():
                        if area in codes:
                            mine[units] = codes[area]
            if plan.plan_id is not None:
                codes_of[plan.plan_id] = mine_codes
        for plan in plans:
            parent = codes_of.get(plan.parent_id) if plan.parent_id is not None else None
            if parent is None:
                continue
            stored = codes_of.get(plan.plan_id) if plan.plan_id is not None else None
            mine_codes = (
                stored
                if stored is not None
                else {
                    lv.value: set(_code_map(plan.areas_at(lv)).values())
                    for lv in (Level.COMMUNITY, Level.GRID)
                }
            )
            for name, before in parent.items():
                retired.setdefault(name, set()).update(before - mine_codes.get(name, set()))
        return cls(
            {k: frozenset(v) for k, v in used.items()},
            {k: dict(v) for k, v in members.items()},
            {k: frozenset(v) for k, v in retired.items()},
        )

    def used_at(self, level: str) -> frozenset[str]:
        """Every code given at ``level``."""
        return self.used.get(level, frozenset())

    def retired_at(self, level: str) -> frozenset[str]:
        """Every code retired at ``level``."""
        return self.retired.get(level, frozenset())


def keep_codes(
    areas: pd.DataFrame,
    overlap: pd.DataFrame,
    *,
    old_totals: Mapping[str, float],
    used: Iterable[str] = (),
    same_as: Mapping[str, str] | None = None,
    fixed: Mapping[str, str] | None = None,
    digits: int = 3,
    row_tolerance: float | None = None,
) -> dict[str, str]:
    """Code the areas of one level of a child plan from the codes of its parent.

    The rule, in order:

    1. ``fixed`` codes (given by the user) are kept as given.
    2. **Continuity.** A new area takes an old area's code when the two share most of their
       households: the overlap is at least half of the old area's households (the new area
       keeps most of it) or at least half of the new area's (it is mostly made of it). Among
       the candidate pairs the largest overlap wins first, greedily, so each old code goes
       to at most one new area and each new area gets at most one code: a split community's
       code goes to the part keeping most of its households, a merged community keeps the
       code of the part with most households, and an area whose units did not change keeps
       its code (its overlap is all of it). Ties go to the west-/northmost area, then the
       smallest code. Why households: a code is a key to people (case records, rosters), so
       it follows the people, not the area in square metres.
    3. An area with exactly the units of an earlier coded area (``same_as``: a rerun, or a
       sibling plan) takes that code back, when it fits its parent, is still free and was
       not retired (the caller leaves retired codes out of ``same_as``).
    4. The rest take the next unused sequences within their parent (after the largest ever
       used there), numbered west to east, then north to south: a code in ``used`` (any
       code a stored plan ever gave) is never given again.

    An old code is only kept under the same parent: its text without the last ``digits``
    characters must equal the area's ``parent`` key.

    Parameters
    ----------
    areas
        ``area_id``, ``parent`` (the code prefix the area's code starts with: ``""`` for
        communities numbered on their own, the full community code for grids), ``x``, ``y``
        (centroid, metres), ``weight`` (households).
    overlap
        ``area_id``, ``old_code``, ``weight``: households shared by each new area and each
        coded old area.
    old_totals
        Households of each old code.
    used
        Every code already given at this level (never reused for other households).
    same_as
        Code of an earlier area with exactly the same units, by area id.
    fixed
        Codes given by the user, by area id.
    digits
        Width of the sequence at the end of a code.
    row_tolerance
        Rows of the numbering (:func:`reading_order`); ``None``: from the areas' sizes.

    Returns
    -------
    dict
        Code by area id, for every area.

    Raises
    ------
    InputError
        When a parent has no free sequence left.

    Examples
    --------
    Community ``001`` (300 households) is split into a (200) and b (100); ``002`` is
    untouched (c); ``003`` was retired by an earlier plan::

        before  | 001 | 002 |        after  | a | b | c |

    >>> import pandas as pd
    >>> areas = pd.DataFrame({"area_id": ["a", "b", "c"], "parent": "",
    ...     "x": [0.0, 10.0, 20.0], "y": 0.0, "weight": [200.0, 100.0, 50.0]})
    >>> overlap = pd.DataFrame({"area_id": ["a", "b", "c"], "old_code": ["001", "001", "002"],
    ...     "weight": [200.0, 100.0, 50.0]})
    >>> keep_codes(areas, overlap, old_totals={"001": 300.0, "002": 50.0},
    ...            used={"001", "002", "003"}, row_tolerance=5.0)
    {'a': '001', 'b': '004', 'c': '002'}
    """
    ids = areas["area_id"].astype(str).tolist()
    parent = dict(zip(ids, areas["parent"].astype(str), strict=True))
    totals = dict(zip(ids, pd.to_numeric(areas["weight"]).astype(float), strict=True))
    pts = areas[["x", "y"]].to_numpy(dtype=float)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[reading_order(pts, row_tolerance if row_tolerance is not None else 0.0)] = np.arange(
        len(ids)
    )
    rank_of = dict(zip(ids, rank.tolist(), strict=True))
    result: dict[str, str] = {}
    taken: set[str] = set()
    for area, code in (fixed or {}).items():
        if area in parent and code not in taken:
            result[area] = code
            taken.add(code)
    pairs = []
    for area, old, weight in zip(
        overlap["area_id"].astype(str),
        overlap["old_code"].astype(str),
        pd.to_numeric(overlap["weight"]).astype(float),
        strict=True,
    ):
        if area not in parent or _parent_key(old, digits) != parent[area]:
            continue
        eps = 1e-9 * max(1.0, weight)
        if weight + eps >= KEEP_SHARE * float(old_totals.get(old, weight)) or (
            weight + eps >= KEEP_SHARE * totals[area]
        ):
            pairs.append((-weight, rank_of[area], old, area))
    for _, _, old, area in sorted(pairs):
        if area in result or old in taken:
            continue
        result[area] = old
        taken.add(old)
    for area, code in (same_as or {}).items():
        if (
            area in parent
            and area not in result
            and code not in taken
            and _parent_key(code, digits) == parent[area]
        ):
            result[area] = code
            taken.add(code)
    ever = set(used) | taken
    fresh = [a for a in sorted(ids, key=lambda a: rank_of[a]) if a not in result]
    last: dict[str, int] = {}
    for code in ever:
        key, seq = _parent_key(code, digits), _sequence(code, digits)
        if seq is not None:
            last[key] = max(last.get(key, 0), seq)
    for area in fresh:
        key = parent[area]
        seq = last.get(key, 0) + 1
        if seq >= 10**digits:  # past the last sequence: the smallest never given
            seq = next((s for s in range(1, 10**digits) if f"{key}{s:0{digits}d}" not in ever), 0)
            if not seq:
                raise InputError(f"no free {digits}-digit code left under {key or 'the level'}")
        code = f"{key}{seq:0{digits}d}"
        last[key] = max(last.get(key, 0), seq)
        result[area] = code
        ever.add(code)
    return {a: result[a] for a in sorted(result, key=lambda a: rank_of[a])}


def infer_scheme(plan: Plan | None) -> CodeScheme | None:
    """The code scheme a plan's grids were coded with: recorded in its metrics
    (``code_scheme``), else read off 15-digit grid codes that end with their community's
    code and a sequence; ``None`` when the plan has no such grids."""
    if plan is None:
        return None
    recorded = plan.metrics.get("code_scheme") if plan.metrics else None
    if isinstance(recorded, Mapping):
        try:
            return CodeScheme(str(recorded["county"]), str(recorded["subdistrict"]))
        except (KeyError, InputError):
            pass
    grids = plan.areas_at(Level.GRID)
    if grids.empty:
        return None
    codes = _code_map(plan.areas_at(Level.COMMUNITY))
    for code, parent in zip(grids["code"], grids["parent_id"], strict=True):
        text = "" if code is None or pd.isna(code) else str(code)
        community = codes.get(str(parent), "")
        if len(text) == 15 and _DIGITS.match(text) and text[9:12] == community.zfill(3)[-3:]:
            try:
                return CodeScheme(text[:6], text[6:9])
            except InputError:
                return None
    return None


def code_plan(
    plan: Plan,
    parent: Plan | None = None,
    *,
    history: CodeHistory | None = None,
    households: Mapping[str, float] | None = None,
    scheme: CodeScheme | None = None,
    fixed: Mapping[str, str] | None = None,
    keep_own: bool = False,
) -> Plan:
    """Code every community and grid of ``plan``, keeping its parent's codes (:func:`keep_codes`).

    Communities are numbered ``001``, ``002``, … (or after the prefix their parent's codes
    share; in a plan with subdistricts, after their subdistrict's 9-digit code); grids get
    their community's full code plus a sequence: the 15-digit code of ``scheme`` (default:
    the scheme the parent was coded with, :func:`infer_scheme`), else
    ``<community code>-<sequence>``. Grid ids become their codes (in the areas and the
    assignments), so a grid is found by its code everywhere.

    Parameters
    ----------
    plan
        The new plan (not yet stored).
    parent
        The plan it was derived from (``None``: nothing to keep).
    history
        Every code the store has given (:meth:`CodeHistory.from_plans`): never reused.
    households
        Households by unit id, to weigh the overlaps (default: every unit weighs the same).
        Drawn plans (no assignments) are compared by overlapping area instead.
    scheme
        The grid code scheme (default: inferred from the parent or the plan).
    fixed
        Community codes given by the user, by area id (kept as given).
    keep_own
        Keep the codes the plan already carries (a drawn plan's own codes), filling in the
        missing ones, and its grid ids.

    A plan derived from one with subdistricts, but without its own, is put in its parent's
    subdistricts first (:func:`gridplan.geo.hierarchy.carry_subdistricts`).

    Returns
    -------
    Plan
        The plan with every area coded, ``metrics["codes"]`` counting per level the codes
        ``kept`` from the parent and the ``new`` ones, and ``metrics["code_scheme"]`` when a
        scheme is known.
    """
    from gridplan.geo.hierarchy import carry_subdistricts  # hierarchy builds on codes

    history = history or CodeHistory.empty()
    plan = carry_subdistricts(plan, parent, households)
    scheme = scheme or infer_scheme(parent) or infer_scheme(plan)
    areas = plan.areas.copy()
    assignments = plan.assignments.copy()
    counts: dict[str, dict[str, int]] = {}
    comm = areas[areas["level"] == Level.COMMUNITY.value]
    old_comm = parent.areas_at(Level.COMMUNITY) if parent is not None else None
    own = _code_map(comm) if keep_own else {}
    prefix = _common_prefix(old_comm, 3) if old_comm is not None else ""
    if not prefix and own:
        prefix = _common_prefix(comm, 3)
    sub_codes = _code_map(areas[areas["level"] == Level.SUBDISTRICT.value])
    comm_parent = {
        str(a): sub_codes.get(str(p), prefix) if sub_codes else prefix
        for a, p in zip(comm["area_id"], comm["parent_id"], strict=True)
    }
    comm_codes = _level_codes(
        plan,
        parent,
        Level.COMMUNITY,
        comm_parent,
        history,
        households,
        {**own, **dict(fixed or {})},
    )
    areas.loc[comm.index, "code"] = comm["area_id"].astype(str).map(comm_codes).to_numpy()
    counts[Level.COMMUNITY.value] = _counted(comm_codes, old_comm)
    grids = areas[areas["level"] == Level.GRID.value]
    if len(grids):

        def key(community: object) -> str:
            # a drawn grid layer without its communities: the parent as given
            missing = community is None or (isinstance(community, float) and np.isnan(community))
            given = "" if missing else str(community)
            code = comm_codes.get(given, given)
            if scheme is not None and len(code) == scheme.community_digits:
                return scheme.prefix + code
            if scheme is not None and len(code) == len(scheme.prefix) + scheme.community_digits:
                return code
            if len(code) == 12 and code.isdigit():  # a full community code: 15-digit grids
                return code
            return f"{code}-"

        parents = {
            str(g): key(c) for g, c in zip(grids["area_id"], grids["parent_id"], strict=True)
        }
        own_grids = _code_map(grids) if keep_own else {}
        grid_codes = _level_codes(plan, parent, Level.GRID, parents, history, households, own_grids)
        old_ids = grids["area_id"].astype(str)
        new_ids = old_ids.map(grid_codes)
        areas.loc[grids.index, "code"] = new_ids.to_numpy()
        if not keep_own:  # grids gridplan drew are named by their codes; drawn ones keep ids
            names = grids["name"].astype(object)
            renamed = [
                n if isinstance(n, str) and n and n != i else c
                for n, i, c in zip(names, old_ids, new_ids, strict=True)
            ]
            areas.loc[grids.index, "name"] = renamed
            areas.loc[grids.index, "area_id"] = new_ids.to_numpy()
            if len(assignments):
                assignments["grid_id"] = pd.Series(
                    [
                        None if g is None or pd.isna(g) else grid_codes.get(str(g), str(g))
                        for g in assignments["grid_id"]
                    ],
                    index=assignments.index,
                    dtype=object,
                )
        old_grids = parent.areas_at(Level.GRID) if parent is not None else None
        counts[Level.GRID.value] = _counted(grid_codes, old_grids)
    metrics: dict[str, object] = {**dict(plan.metrics), "codes": counts}
    if scheme is not None:
        metrics["code_scheme"] = {"county": scheme.county, "subdistrict": scheme.subdistrict}
    return replace(plan, areas=areas, assignments=assignments, metrics=metrics)


_ID_COLUMN = {Level.COMMUNITY: "community_id", Level.GRID: "grid_id"}


def _level_codes(
    plan: Plan,
    parent: Plan | None,
    level: Level,
    parents: Mapping[str, str],
    history: CodeHistory,
    households: Mapping[str, float] | None,
    fixed: Mapping[str, str],
) -> dict[str, str]:
    new = plan.areas_at(level)
    ids = new["area_id"].astype(str)
    metric = _metric(new)
    cent = metric.geometry.centroid if len(metric) else gpd.GeoSeries([])
    old = parent.areas_at(level) if parent is not None else new.iloc[0:0]
    old_codes = _code_map(old)
    by_units = len(plan.assignments) > 0 and (parent is None or len(parent.assignments) > 0)
    if by_units:
        column = _ID_COLUMN[level]
        weights = _unit_weights(plan.assignments, households)
        new_of = plan.assignments[["unit_id", column]].rename(columns={column: "area_id"})
        new_of = new_of.assign(
            unit_id=new_of["unit_id"].astype(str), w=new_of["unit_id"].astype(str).map(weights)
        )
        totals = (
            new_of.dropna(subset=["area_id"])
            .groupby(new_of["area_id"].dropna().astype(str))["w"]
            .sum()
        )
        if parent is not None and old_codes:
            old_of = parent.assignments[["unit_id", column]].rename(columns={column: "old"})
            old_of = old_of.dropna(subset=["old"])
            old_of = old_of.assign(
                unit_id=old_of["unit_id"].astype(str),
                old_code=old_of["old"].astype(str).map(old_codes),
            ).dropna(subset=["old_code"])
            both = new_of.dropna(subset=["area_id"]).merge(old_of, on="unit_id")
            both["area_id"] = both["area_id"].astype(str)
            overlap = pd.DataFrame(
                both.groupby(["area_id", "old_code"], as_index=False).agg(weight=("w", "sum"))
            )
            old_w = old_of.assign(w=old_of["unit_id"].map(weights)).groupby("old_code")["w"].sum()
            old_totals = {str(k): float(v) for k, v in old_w.items()}
        else:
            overlap = pd.DataFrame({"area_id": [], "old_code": [], "weight": []})
            old_totals = {}
        sets = _unit_sets(plan.assignments, column)
        earlier = history.members.get(level.value, {})
        gone = history.retired_at(level.value)
        same_as = {
            a: earlier[s] for a, s in sets.items() if s in earlier and earlier[s] not in gone
        }
    else:
        totals = (
            pd.Series(metric.geometry.area.to_numpy(), index=ids.to_numpy())
            if len(metric)
            else pd.Series(dtype=float)
        )
        overlap, old_totals = _area_overlap(metric, old, old_codes)
        same_as = {}
    frame = pd.DataFrame(
        {
            "area_id": ids.to_numpy(),
            "parent": [parents.get(a, "") for a in ids],
            "x": cent.x.to_numpy() if len(metric) else [],
            "y": cent.y.to_numpy() if len(metric) else [],
            "weight": [float(totals.get(a, 0.0)) for a in ids],
        }
    )
    areas_m2 = metric.geometry.area.to_numpy() if len(metric) else np.empty(0)
    tolerance = 0.5 * float(np.sqrt(np.median(areas_m2))) if len(areas_m2) else 0.0
    own_fixed = {a: c for a, c in fixed.items() if a in set(ids)}
    return keep_codes(
        frame,
        overlap,
        old_totals=old_totals,
        used=history.used_at(level.value) | set(old_codes.values()),
        same_as=same_as,
        fixed=own_fixed,
        row_tolerance=tolerance,
    )


def _unit_weights(
    assignments: pd.DataFrame, households: Mapping[str, float] | None
) -> dict[str, float]:
    units = assignments["unit_id"].astype(str)
    if households is None:
        return dict.fromkeys(units, 1.0)
    return {
        u: float(households.get(u, 0.0) or 0.0) + _UNIT_WEIGHT
        if not pd.isna(households.get(u, 0.0))
        else _UNIT_WEIGHT
        for u in units
    }


def _area_overlap(
    new: gpd.GeoDataFrame, old: gpd.GeoDataFrame, old_codes: Mapping[str, str]
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Shared area (m²) of each new area and each coded old area (drawn plans)."""
    empty = pd.DataFrame({"area_id": [], "old_code": [], "weight": []})
    old = old[old["area_id"].astype(str).isin(list(old_codes))]
    if new.empty or old.empty:
        return empty, {}
    old_m = old.to_crs(new.crs)
    a = np.asarray(new.geometry.values, dtype=object)
    b = np.asarray(old_m.geometry.values, dtype=object)
    tree = shapely.STRtree(b)
    i, j = tree.query(a, predicate="intersects")
    shared = shapely.area(shapely.intersection(a[i], b[j]))
    old_ids = old_m["area_id"].astype(str).to_numpy()
    frame = pd.DataFrame(
        {
            "area_id": new["area_id"].astype(str).to_numpy()[i],
            "old_code": [old_codes[x] for x in old_ids[j]],
            "weight": shared,
        }
    )
    frame = pd.DataFrame(
        frame.groupby(["area_id", "old_code"], as_index=False).agg(weight=("weight", "sum"))
    )
    totals = {old_codes[x]: float(s) for x, s in zip(old_ids, shapely.area(b), strict=True)}
    return frame, totals


def _metric(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if areas.empty or areas.crs is None:
        return areas
    from gridplan.data.crs import metric_crs

    return areas.to_crs(metric_crs(areas, "areas"))


def _code_map(areas: pd.DataFrame) -> dict[str, str]:
    """Code by area id, areas without a code left out."""
    out = {}
    for a, c in zip(areas["area_id"], areas["code"], strict=True):
        if c is None or (isinstance(c, float) and np.isnan(c)) or c is pd.NA or str(c) == "":
            continue
        out[str(a)] = str(c)
    return out


def _unit_sets(assignments: pd.DataFrame, column: str) -> dict[str, frozenset[str]]:
    frame = assignments[["unit_id", column]].dropna(subset=[column])
    return {
        str(a): frozenset(g.astype(str))
        for a, g in frame.groupby(frame[column].astype(str))["unit_id"]
    }


def _common_prefix(areas: pd.DataFrame, digits: int) -> str:
    """The prefix most of the areas' codes share before their last ``digits`` characters."""
    keys = [_parent_key(c, digits) for c in _code_map(areas).values()]
    if not keys:
        return ""
    return str(pd.Series(keys).value_counts().index[0])


def _parent_key(code: str, digits: int) -> str:
    return code[:-digits] if len(code) > digits else ""


def _sequence(code: str, digits: int) -> int | None:
    tail = code[-digits:]
    return int(tail) if len(tail) == digits and _DIGITS.match(tail) else None


def _counted(codes: Mapping[str, str], old: pd.DataFrame | None) -> dict[str, int]:
    before = set(_code_map(old).values()) if old is not None else set()
    now = set(codes.values())
    return {"kept": len(now & before), "new": len(now - before), "retired": len(before - now)}
