"""Roll-ups of a plan over the district hierarchy: grid → community → subdistrict → district.

The base data grid staff collect rolls up community → subdistrict → district (the three-level
platform of the policy). :func:`rollup` counts, per area of each level: households,
residents, units, buildings, compounds, grids, staff (a roster), registered volunteers and
findings by rule, and the policy figures (:class:`RollupPolicy`, every number configurable):

- **staff (一格多员)**: needed = ``full_time_per_grid`` per grid + one per
  ``households_per_staff`` households (rounded up), against the roster's staff;
- **volunteers**: registered volunteers against ``volunteer_share`` of residents
  (``model_volunteer_share`` in model communities, 示范社区), the shortfall per community;
- **funding**: ``funding_per_household`` yuan per household per year, and
  ``funding_per_new_household`` yuan per year for each newly registered household.

Everything is counted on units (a building or compound belongs to the unit holding its
representative point; a unit to its grid and community; a community to its subdistrict), so
the sums of a level equal the level above exactly: households, residents, units, buildings,
compounds, grids, staff, volunteers and money are additive. A community short of
volunteers (given a service table) counts a ``service.volunteers_short`` finding, the rule
:mod:`gridplan.geo.rules.service` applies to area files. Findings are counted where they
are: a grid's row counts the grid findings, a community's its own findings and its grids',
a subdistrict's and the district's those of everything in them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan.errors import InputError
from gridplan.geo.diff import areas_holding
from gridplan.plan import Level, Plan

#: Levels of a roll-up, finest first.
ROLLUP_LEVELS: tuple[str, ...] = ("grid", "community", "subdistrict", "district")

#: Roster roles that count as a full-time grid worker (专职网格员), compared case-insensitively.
FULL_TIME_ROLES: tuple[str, ...] = ("full-time", "full_time", "fulltime", "专职", "专职网格员")

#: The rule id of a community's volunteer shortfall (:mod:`gridplan.geo.rules.service`).
SERVICE_RULE = "service.volunteers_short"

#: Columns of each roll-up table (plus ``findings_by_rule``, a dict per row).
ROLLUP_COLUMNS: tuple[str, ...] = (
    "level",
    "code",
    "name",
    "parent_code",
    "households",
    "residents",
    "residents_estimated",
    "units",
    "buildings",
    "compounds",
    "grids",
    "staff",
    "staff_full_time",
    "staff_needed",
    "staff_short",
    "volunteers",
    "volunteers_target",
    "volunteers_short",
    "model_communities",
    "new_households",
    "funding_yuan",
    "new_household_funding_yuan",
    "findings",
)

#: Columns that are not counts, and ``staff_short`` (a shortfall per area, not a sum).
_NOT_ADDITIVE = frozenset({"level", "code", "name", "parent_code", "staff_short", "findings"})

#: The additive columns (a level's sum equals the level above).
ADDITIVE: tuple[str, ...] = tuple(c for c in ROLLUP_COLUMNS if c not in _NOT_ADDITIVE)


@dataclass(frozen=True)
class StaffPolicy:
    """How many grid staff a grid needs (一格多员).

    Parameters
    ----------
    full_time_per_grid
        Full-time grid workers every grid needs.
    households_per_staff
        One more staff member per this many households (rounded up); ``0``: none.

    Examples
    --------
    >>> StaffPolicy().needed(420.0)
    2
    >>> StaffPolicy(households_per_staff=0).needed(420.0)
    1
    """

    full_time_per_grid: int = 1
    households_per_staff: float = 500.0

    def __post_init__(self) -> None:
        if self.full_time_per_grid < 0 or not (self.households_per_staff >= 0):
            raise InputError("staff ratios must be >= 0")

    def needed(self, households: float) -> int:
        """Staff one grid of ``households`` needs."""
        extra = 0
        if self.households_per_staff > 0 and households > 0:
            extra = math.ceil(households / self.households_per_staff - 1e-9)
        return self.full_time_per_grid + extra


@dataclass(frozen=True)
class ServicePolicy:
    """Per-community service figures of the policy (all configurable).

    Parameters
    ----------
    volunteer_share, model_volunteer_share
        Registered volunteers as a share of residents (8 %, 10 % in model communities).
    funding_per_household
        Service funding, yuan per household per year.
    funding_per_new_household
        Yuan per year for each newly registered household.
    persons_per_household
        Residents of a unit whose residents are unknown: its households times this (the
        ``residents_estimated`` column counts those units).

    Examples
    --------
    >>> ServicePolicy().volunteers_target(3000.0, model=False)
    240
    >>> ServicePolicy().volunteers_target(3000.0, model=True)
    300
    """

    volunteer_share: float = 0.08
    model_volunteer_share: float = 0.10
    funding_per_household: float = 10.0
    funding_per_new_household: float = 300.0
    persons_per_household: float = 2.5

    def __post_init__(self) -> None:
        for name in ("volunteer_share", "model_volunteer_share"):
            if not (0 <= getattr(self, name) <= 1):
                raise InputError(f"{name} must lie in [0, 1]")
        if not (self.funding_per_household >= 0 and self.funding_per_new_household >= 0):
            raise InputError("funding rates must be >= 0")

    def volunteers_target(self, residents: float, *, model: bool) -> int:
        """Registered volunteers a community of ``residents`` needs (rounded up)."""
        share = self.model_volunteer_share if model else self.volunteer_share
        return math.ceil(max(0.0, residents) * share - 1e-9)


@dataclass(frozen=True)
class RollupPolicy:
    """The staff and service policy of a roll-up."""

    staff: StaffPolicy = field(default_factory=StaffPolicy)
    service: ServicePolicy = field(default_factory=ServicePolicy)

    def to_json(self) -> dict[str, Any]:
        """The policy's numbers."""
        return {
            "full_time_per_grid": self.staff.full_time_per_grid,
            "households_per_staff": self.staff.households_per_staff,
            "volunteer_share": self.service.volunteer_share,
            "model_volunteer_share": self.service.model_volunteer_share,
            "funding_per_household": self.service.funding_per_household,
            "funding_per_new_household": self.service.funding_per_new_household,
            "persons_per_household": self.service.persons_per_household,
        }


@dataclass(frozen=True)
class Rollup:
    """A plan rolled up over the hierarchy.

    Attributes
    ----------
    tables
        One table per level of :data:`ROLLUP_LEVELS` (columns :data:`ROLLUP_COLUMNS` and
        ``findings_by_rule``), ordered by code.
    policy
        The policy the figures follow.
    plan_id
        The plan's id (``None`` for an unsaved plan).
    """

    tables: Mapping[str, pd.DataFrame]
    policy: RollupPolicy
    plan_id: int | None = None

    def level(self, level: str) -> pd.DataFrame:
        """The table of one level.

        Raises
        ------
        InputError
            If ``level`` is not one of :data:`ROLLUP_LEVELS`.
        """
        if level not in self.tables:
            raise InputError(f"level {level!r}: expected one of {', '.join(ROLLUP_LEVELS)}")
        return self.tables[level]

    def to_json(self, levels: tuple[str, ...] = ROLLUP_LEVELS) -> dict[str, Any]:
        """``{"plan_id", "policy", "levels": {"<level>": [row, …]}}``."""
        return {
            "plan_id": self.plan_id,
            "policy": self.policy.to_json(),
            "levels": {lv: _records(self.level(lv)) for lv in levels},
        }


def rollup(
    plan: Plan,
    *,
    units: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    findings: pd.DataFrame | None = None,
    staff: pd.DataFrame | None = None,
    service: pd.DataFrame | None = None,
    policy: RollupPolicy | None = None,
    district: tuple[str, str] | None = None,
) -> Rollup:
    """Roll a plan up over grid → community → subdistrict → district.

    Parameters
    ----------
    plan
        A plan with communities (and grids, and subdistricts: without them the plan is one
        subdistrict).
    units
        Units with ``unit_id``, ``households``, ``residents``. Without units (or for a drawn
        plan with no assignments) the finest areas stand in for units.
    buildings, compounds
        Counted where their representative point lies.
    findings
        The plan's findings (``level``, ``area_id``, ``rule``).
    staff
        The roster: ``name``, ``role``, ``grid_code``.
    service
        Per community (``code``): ``volunteers`` (registered), ``new_households`` (newly
        registered), ``model`` (a model community, 示范社区).
    policy
        The staff and service policy.
    district
        ``(code, name)`` of the district (default: the county code the codes start with).

    Returns
    -------
    Rollup
        The tables of the four levels.
    """
    policy = policy or RollupPolicy()
    base = _unit_frame(plan, units)
    unknown = base["residents"].isna().to_numpy()
    base["residents_estimated"] = unknown.astype(int)
    base["residents"] = base["residents"].where(
        ~unknown, base["households"] * policy.service.persons_per_household
    )
    base["buildings"] = _located(buildings, base)
    base["compounds"] = _located(compounds, base)
    comm = plan.areas_at(Level.COMMUNITY)
    grid = plan.areas_at(Level.GRID)
    subs = plan.areas_at(Level.SUBDISTRICT)
    comm_code = _codes(comm)
    grid_code = _codes(grid)
    sub_code = _codes(subs)
    comm_sub = {
        str(a): sub_code.get(str(p)) if p is not None and not pd.isna(p) else None
        for a, p in zip(comm["area_id"], comm["parent_id"], strict=True)
    }
    base["grid"] = base["grid_id"].map(lambda g: grid_code.get(str(g)) if _has(g) else None)
    base["community"] = base["community_id"].map(
        lambda c: comm_code.get(str(c), str(c)) if _has(c) else None
    )
    only_sub = _only_subdistrict(plan, comm_code)
    base["subdistrict"] = base["community_id"].map(
        lambda c: (comm_sub.get(str(c)) or only_sub[0]) if _has(c) else None
    )
    d_code, d_name = district or (_county(plan, sub_code, comm_code, grid_code), "district")
    base["district"] = d_code
    base = base[base["community"].notna()].reset_index(drop=True)
    # grid table
    g = _sums(base[base["grid"].notna()], "grid")
    g["grids"] = 1
    g["staff_needed"] = [policy.staff.needed(h) for h in g["households"]]
    roster = _roster(staff)
    g["staff"] = g["code"].map(roster["staff"]).fillna(0).astype(int)
    g["staff_full_time"] = g["code"].map(roster["full_time"]).fillna(0).astype(int)
    g["parent_code"] = g["code"].map(
        base.dropna(subset=["grid"]).drop_duplicates("grid").set_index("grid")["community"]
    )
    g_names = _names(grid, grid_code)
    g["name"] = g["code"].map(g_names)
    # community table: its units, plus staff and grids from its grid rows
    c = _sums(base, "community")
    by_parent = g.groupby("parent_code")
    for col in ("grids", "staff", "staff_full_time", "staff_needed"):
        c[col] = c["code"].map(by_parent[col].sum()).fillna(0).astype(int)
    svc = _service(service)
    c["volunteers"] = c["code"].map(svc["volunteers"]).fillna(0).astype(float)
    c["new_households"] = c["code"].map(svc["new_households"]).fillna(0).astype(float)
    model = c["code"].map(svc["model"]).eq(True)
    c["model_communities"] = model.astype(int)
    c["volunteers_target"] = [
        policy.service.volunteers_target(r, model=bool(m))
        for r, m in zip(c["residents"], model, strict=True)
    ]
    c["volunteers_short"] = np.maximum(0.0, c["volunteers_target"] - c["volunteers"])
    c["parent_code"] = c["code"].map(
        base.drop_duplicates("community").set_index("community")["subdistrict"]
    )
    c["name"] = c["code"].map(_names(comm, comm_code))
    # subdistricts and the district: sums of the communities
    s = _rollup_rows(c, "parent_code", "subdistrict")
    s["parent_code"] = d_code
    s["name"] = s["code"].map({only_sub[0]: only_sub[1], **_names(subs, sub_code)})
    d = _rollup_rows(s.assign(_d=d_code), "_d", "district")
    d["parent_code"] = None
    d["name"] = d_name
    # money, findings
    for t in (g, c, s, d):
        t["funding_yuan"] = t["households"] * policy.service.funding_per_household
        if "new_households" in t.columns:
            t["new_household_funding_yuan"] = (
                t["new_households"] * policy.service.funding_per_new_household
            )
    short = c.loc[
        c["code"].isin(list(svc["volunteers"].index)) & (c["volunteers_short"] > 0), "code"
    ]
    _findings(findings, g, c, s, d, grid_code, comm_code, list(short))
    tables: dict[str, pd.DataFrame] = {}
    for name, t in (("grid", g), ("community", c), ("subdistrict", s), ("district", d)):
        t = t.copy()
        t["level"] = name
        for col in ROLLUP_COLUMNS:
            if col not in t.columns:
                t[col] = np.nan
        t["staff_short"] = np.maximum(0, t["staff_needed"] - t["staff"])
        tables[name] = (
            t[[*ROLLUP_COLUMNS, "findings_by_rule"]]
            .sort_values("code", kind="stable")
            .reset_index(drop=True)
        )
    tables["grid"] = tables["grid"].assign(
        volunteers=np.nan,
        volunteers_target=np.nan,
        volunteers_short=np.nan,
        model_communities=np.nan,
        new_households=np.nan,
        new_household_funding_yuan=np.nan,
    )
    return Rollup(tables, policy, plan.plan_id)


def roster_check(
    staff: pd.DataFrame,
    plan: Plan,
    *,
    retired: frozenset[str] = frozenset(),
    households: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Check a staff roster against a plan's grids.

    Returns
    -------
    dict
        ``grids_without_full_time`` (codes), ``unknown`` (staff on no grid of the plan:
        ``name``, ``role``, ``grid_code``, ``why`` = ``retired`` when the store retired the
        code, else ``unknown``), ``workload`` (per staff member on a grid of the plan:
        ``name``, ``role``, ``grid_code``, ``households`` = the grid's households shared by
        its staff).
    """
    grid = plan.areas_at(Level.GRID)
    codes = set(_codes(grid).values())
    hh = dict(households or {})
    if not hh:
        hh = {
            str(c): float(h)
            for c, h in zip(grid["code"], grid["households"], strict=True)
            if _has(c) and not pd.isna(h)
        }
    frame = _normal_roster(staff)
    on = frame[frame["grid_code"].isin(codes)]
    off = frame[~frame["grid_code"].isin(codes)]
    full = on.loc[on["full_time"].astype(bool), "grid_code"]
    per_grid = on.groupby("grid_code").size()
    return {
        "grids_without_full_time": sorted(codes - set(full)),
        "unknown": [
            {
                "name": r.name,
                "role": r.role,
                "grid_code": r.grid_code,
                "why": "retired" if r.grid_code in retired else "unknown",
            }
            for r in off.itertuples(index=False)
        ],
        "workload": [
            {
                "name": r.name,
                "role": r.role,
                "grid_code": r.grid_code,
                "households": float(hh.get(str(r.grid_code), 0.0))
                / int(per_grid.get(str(r.grid_code), 1)),
            }
            for r in on.itertuples(index=False)
        ],
    }


def _normal_roster(staff: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["name", "role", "grid_code"]
    if staff is None or staff.empty:
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
        frame["full_time"] = pd.Series([], dtype=bool)
        return frame
    missing = [c for c in cols if c not in staff.columns]
    if missing:
        raise InputError(f"staff roster: no column(s) {', '.join(missing)} (name, role, grid_code)")
    frame = pd.DataFrame(
        {c: staff[c].map(lambda v: "" if not _has(v) else str(v).strip()) for c in cols}
    )
    frame["full_time"] = frame["role"].str.lower().isin([r.lower() for r in FULL_TIME_ROLES])
    return frame


def _roster(staff: pd.DataFrame | None) -> dict[str, pd.Series]:
    frame = _normal_roster(staff)
    return {
        "staff": frame.groupby("grid_code").size(),
        "full_time": frame.loc[frame["full_time"].astype(bool)].groupby("grid_code").size(),
    }


def _service(service: pd.DataFrame | None) -> dict[str, pd.Series]:
    empty = pd.Series(dtype=float)
    if service is None or service.empty:
        return {"volunteers": empty, "new_households": empty, "model": pd.Series(dtype=bool)}
    if "code" not in service.columns:
        raise InputError("service table: no 'code' column (the community code)")
    code = service["code"].map(lambda v: str(v).strip())
    if code.duplicated().any():
        raise InputError(f"service table: community code {code[code.duplicated()].iloc[0]} twice")

    def numbers(col: str) -> pd.Series:
        if col not in service.columns:
            return pd.Series(0.0, index=code.to_numpy())
        values = pd.to_numeric(service[col], errors="coerce")
        bad = values.isna() & service[col].notna()
        if bad.any() or (values < 0).any():
            raise InputError(f"service table: {col} must be numbers >= 0")
        return pd.Series(values.fillna(0.0).to_numpy(), index=code.to_numpy())

    model = (
        service["model"].map(lambda v: str(v).strip().lower() in ("1", "true", "yes", "y", "是"))
        if "model" in service.columns
        else pd.Series(False, index=service.index)
    )
    return {
        "volunteers": numbers("volunteers"),
        "new_households": numbers("new_households"),
        "model": pd.Series(model.to_numpy(), index=code.to_numpy()),
    }


def _unit_frame(plan: Plan, units: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """One row per unit: ``unit_id``, ``community_id``, ``grid_id``, counts, geometry."""
    if units is not None and len(units) and len(plan.assignments):
        a = plan.assignments.drop_duplicates("unit_id").set_index("unit_id")
        ids = units["unit_id"].astype(str)
        u = units[ids.isin(a.index.astype(str))].reset_index(drop=True)
        row = a.reindex(u["unit_id"].astype(str))
        return gpd.GeoDataFrame(
            {
                "unit_id": u["unit_id"].astype(str).to_numpy(),
                "community_id": row["community_id"].to_numpy(dtype=object),
                "grid_id": row["grid_id"].to_numpy(dtype=object),
                "households": pd.to_numeric(u["households"], errors="coerce").fillna(0).to_numpy(),
                "residents": pd.to_numeric(u["residents"], errors="coerce").to_numpy(),
                "units": 1,
            },
            geometry=u.geometry.values,
            crs=u.crs,
        )
    # a drawn plan: its finest areas stand in for units
    grid = plan.areas_at(Level.GRID)
    comm = plan.areas_at(Level.COMMUNITY)
    finest = grid if len(grid) else comm
    if finest.empty:
        raise InputError(f"plan {plan.plan_id}: no communities to roll up")
    is_grid = len(grid) > 0
    return gpd.GeoDataFrame(
        {
            "unit_id": finest["area_id"].astype(str).to_numpy(),
            "community_id": finest["parent_id"].to_numpy(dtype=object)
            if is_grid
            else finest["area_id"].to_numpy(dtype=object),
            "grid_id": finest["area_id"].to_numpy(dtype=object) if is_grid else None,
            "households": pd.to_numeric(finest["households"], errors="coerce").fillna(0).to_numpy(),
            "residents": pd.to_numeric(finest["residents"], errors="coerce").to_numpy(),
            "units": 0,
        },
        geometry=finest.geometry.values,
        crs=finest.crs,
    )


def _located(features: gpd.GeoDataFrame | None, base: gpd.GeoDataFrame) -> np.ndarray:
    """How many of ``features`` each base row (unit) holds."""
    out = np.zeros(len(base), dtype=int)
    if features is None or features.empty or base.empty:
        return out
    holder = areas_holding(
        features, base[["unit_id", "geometry"]].rename(columns={"unit_id": "area_id"})
    )
    counts = pd.Series(holder).dropna().value_counts()
    return base["unit_id"].map(counts).fillna(0).astype(int).to_numpy()


def _sums(base: pd.DataFrame, by: str) -> pd.DataFrame:
    cols = ["households", "residents", "residents_estimated", "units", "buildings", "compounds"]
    if base.empty:
        return pd.DataFrame({"code": [], **{c: [] for c in cols}})
    out = base.groupby(by)[cols].sum().reset_index().rename(columns={by: "code"})
    return out


def _rollup_rows(frame: pd.DataFrame, by: str, level: str) -> pd.DataFrame:
    cols = [c for c in ADDITIVE if c in frame.columns]
    out = frame.groupby(by)[cols].sum().reset_index().rename(columns={by: "code"})
    return out


def _findings(
    findings: pd.DataFrame | None,
    g: pd.DataFrame,
    c: pd.DataFrame,
    s: pd.DataFrame,
    d: pd.DataFrame,
    grid_code: Mapping[str, str],
    comm_code: Mapping[str, str],
    volunteers_short: list[str],
) -> None:
    """Fill ``findings`` and ``findings_by_rule`` of each table (in place); communities in
    ``volunteers_short`` (codes) count a ``service.volunteers_short`` finding."""
    rules: dict[tuple[str, str], dict[str, int]] = {}

    def add(table: str, code: object, rule: str) -> None:
        if not _has(code):
            return
        bucket = rules.setdefault((table, str(code)), {})
        bucket[rule] = bucket.get(rule, 0) + 1

    parent_of_grid = dict(zip(g["code"], g["parent_code"], strict=True))
    parent_of_comm = dict(zip(c["code"], c["parent_code"], strict=True))
    district = d["code"].iloc[0] if len(d) else None
    if findings is not None and len(findings):
        for level, area, rule in zip(
            findings["level"], findings["area_id"], findings["rule"], strict=True
        ):
            comm = None
            if level == Level.GRID.value:
                code = grid_code.get(str(area))
                add("grid", code, str(rule))
                comm = parent_of_grid.get(code) if code else None
            elif level == Level.COMMUNITY.value:
                comm = comm_code.get(str(area))
            if comm is None:
                if level in (Level.GRID.value, Level.COMMUNITY.value):
                    add("district", district, str(rule))
                continue
            add("community", comm, str(rule))
            add("subdistrict", parent_of_comm.get(comm), str(rule))
            add("district", district, str(rule))
    for comm in volunteers_short:
        add("community", comm, SERVICE_RULE)
        add("subdistrict", parent_of_comm.get(comm), SERVICE_RULE)
        add("district", district, SERVICE_RULE)
    for name, table in (("grid", g), ("community", c), ("subdistrict", s), ("district", d)):
        by_rule = [dict(sorted(rules.get((name, str(k)), {}).items())) for k in table["code"]]
        table["findings_by_rule"] = pd.Series(by_rule, index=table.index, dtype=object)
        table["findings"] = [sum(r.values()) for r in by_rule]


def _codes(areas: pd.DataFrame) -> dict[str, str]:
    """Code by area id (the id where an area has no code)."""
    return {
        str(a): str(c) if _has(c) and str(c) else str(a)
        for a, c in zip(areas["area_id"], areas["code"], strict=True)
    }


def _names(areas: pd.DataFrame, codes: Mapping[str, str]) -> dict[str, str]:
    return {
        codes[str(a)]: str(n) if _has(n) else str(a)
        for a, n in zip(areas["area_id"], areas["name"], strict=True)
    }


def _only_subdistrict(plan: Plan, comm_code: Mapping[str, str]) -> tuple[str, str]:
    """The code and name of the one subdistrict of a plan without subdistrict areas."""
    recorded = plan.metrics.get("code_scheme") if plan.metrics else None
    if isinstance(recorded, Mapping) and recorded.get("subdistrict"):
        return str(recorded["county"]) + str(recorded["subdistrict"]), "subdistrict"
    full = [c for c in comm_code.values() if len(c) == 12 and c.isdigit()]
    if full:
        return pd.Series([c[:9] for c in full]).value_counts().index[0], "subdistrict"
    return "subdistrict", "subdistrict"


def _county(
    plan: Plan,
    sub_code: Mapping[str, str],
    comm_code: Mapping[str, str],
    grid_code: Mapping[str, str],
) -> str:
    recorded = plan.metrics.get("code_scheme") if plan.metrics else None
    if isinstance(recorded, Mapping) and recorded.get("county"):
        return str(recorded["county"])
    if plan.metrics and plan.metrics.get("county"):
        return str(plan.metrics["county"])
    for codes, width in ((sub_code, 9), (comm_code, 12), (grid_code, 15)):
        full = [c for c in codes.values() if len(c) == width and c.isdigit()]
        if full:
            return str(pd.Series([c[:6] for c in full]).value_counts().index[0])
    return "district"


def _has(value: object) -> bool:
    if value is None or value is pd.NA:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for k, v in row.items():
            if isinstance(v, dict):
                clean[str(k)] = v
            elif isinstance(v, (np.integer,)):
                clean[str(k)] = int(v)
            elif isinstance(v, (float, np.floating)):
                clean[str(k)] = None if math.isnan(float(v)) else float(v)
            else:
                clean[str(k)] = None if v is None or v is pd.NA else v
        out.append(clean)
    return out


__all__ = [
    "ADDITIVE",
    "FULL_TIME_ROLES",
    "ROLLUP_COLUMNS",
    "ROLLUP_LEVELS",
    "Rollup",
    "RollupPolicy",
    "ServicePolicy",
    "StaffPolicy",
    "rollup",
    "roster_check",
]
