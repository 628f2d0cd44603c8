"""Stored plans: list, show, compare and export.

``gridplan plans list|show|diff|export`` and the HTTP plan routes read plans through these
functions. :func:`export_plan` writes what a subdistrict hands the civil-affairs bureau: one
row per community (or grid, or unit) with its code, name, households, residents, band status
and finding counts, in GeoPackage, Shapefile, GeoJSON, GeoParquet or CSV, in EPSG:4326 or a
CRS asked for (CGCS2000, EPSG:4490, for Chinese surveying).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan.data.crs import to_storage
from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.errors import InputError
from gridplan.geo.diff import PlanDiff, plan_diff
from gridplan.geo.rules import CheckConfig
from gridplan.ops.checks import check_plan, jsonable
from gridplan.ops.files import check_output, write_layers
from gridplan.ops.layers import read_check_layers
from gridplan.plan import Level, Plan, PlanInfo

#: What ``plans export --level`` can write.
EXPORT_LEVELS: tuple[str, ...] = ("community", "grid", "units", "subdistrict")


def plan_summary(plan: Plan) -> dict[str, Any]:
    """A plan's header and counts: ``plan_id``, ``name``, ``parent_id``, ``created_at``,
    ``source``, ``targets``, ``metrics``, ``communities``, ``grids``, ``units``."""
    return jsonable(
        {
            "plan_id": plan.plan_id,
            "name": plan.name,
            "parent_id": plan.parent_id,
            "created_at": plan.created_at.isoformat() if plan.created_at else None,
            "source": plan.source,
            "targets": dict(plan.targets),
            "metrics": dict(plan.metrics),
            "communities": int((plan.areas["level"] == Level.COMMUNITY.value).sum()),
            "grids": int((plan.areas["level"] == Level.GRID.value).sum()),
            "units": len(plan.assignments),
        }
    )


def info_summary(info: PlanInfo) -> dict[str, Any]:
    """A plan header without its rows (``plans list``)."""
    return jsonable(
        {
            "plan_id": info.plan_id,
            "name": info.name,
            "parent_id": info.parent_id,
            "created_at": info.created_at.isoformat(),
            "source": info.source,
            "targets": dict(info.targets),
        }
    )


def area_table(plan: Plan, level: Level, findings: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """The areas of one level with their band status and finding counts.

    Columns: ``level``, ``area_id``, ``code``, ``name``, ``parent_id``, ``parent_code`` (a
    grid's community code), ``households``, ``residents``, ``measure``, ``band_lo``,
    ``band_hi``, ``status`` (``under`` | ``in band`` | ``over``, or ``None`` when the
    measure is unknown), ``findings`` (count), ``rules`` (``rule:n; …``), geometry
    (EPSG:4326), from ``findings`` (the plan's findings: :func:`plan_findings`).
    """
    areas = plan.areas_at(level).copy()
    cfg = CheckConfig.from_targets(plan.targets, level)
    try:
        lo, hi = cfg.band(level)
    except InputError:
        lo = hi = np.nan
    values = pd.to_numeric(areas[cfg.measure], errors="coerce").to_numpy(dtype=float)
    status = np.full(len(areas), None, dtype=object)
    if not np.isnan(lo):
        known = ~np.isnan(values)
        status[known] = np.where(
            values[known] < lo, "under", np.where(values[known] > hi, "over", "in band")
        )
    if findings is None:
        findings = pd.DataFrame({"level": [], "area_id": [], "rule": []}, dtype=object)
    mine = findings[findings["level"] == level.value]
    counts = mine.groupby("area_id").size()
    rules = mine.groupby("area_id")["rule"].agg(
        lambda s: "; ".join(f"{r}:{n}" for r, n in s.value_counts().sort_index().items())
    )
    ids = areas["area_id"].astype(str)
    community_codes = dict(
        zip(
            plan.areas_at(Level.COMMUNITY)["area_id"].astype(str),
            plan.areas_at(Level.COMMUNITY)["code"],
            strict=True,
        )
    )
    areas["parent_code"] = [
        None if p is None or (isinstance(p, float) and np.isnan(p)) else community_codes.get(str(p))
        for p in areas["parent_id"]
    ]
    areas["measure"] = cfg.measure
    areas["band_lo"] = lo
    areas["band_hi"] = hi
    areas["status"] = pd.Series(status, index=areas.index, dtype=object)
    areas["findings"] = ids.map(counts).fillna(0).astype(int).to_numpy()
    areas["rules"] = ids.map(rules).where(ids.isin(rules.index), None).to_numpy(dtype=object)
    cols = [
        "level",
        "area_id",
        "code",
        "name",
        "parent_id",
        "parent_code",
        "households",
        "residents",
        "measure",
        "band_lo",
        "band_hi",
        "status",
        "findings",
        "rules",
    ]
    table = gpd.GeoDataFrame(areas[cols], geometry=areas.geometry.values, crs=areas.crs)
    return to_storage(table, f"{level.value} areas") if table.crs is not None else table


def unit_table(store: Store, plan: Plan) -> gpd.GeoDataFrame:
    """The store's units with the plan's community and grid (ids and codes) beside their own
    columns.

    Raises
    ------
    InputError
        If the plan has no unit assignments (a drawn plan).
    """
    if plan.assignments.empty:
        raise InputError(
            f"plan {plan.plan_id} has no unit assignments (a drawn plan): export --level "
            "community or grid"
        )
    units = store.read_layer(LayerKind.UNITS)
    a = plan.assignments.drop_duplicates("unit_id").set_index("unit_id")
    ids = units["unit_id"].astype(str)
    units = units[ids.isin(a.index.astype(str))].reset_index(drop=True)
    row = a.reindex(units["unit_id"].astype(str))
    code = {
        str(k): v
        for k, v in zip(plan.areas["area_id"], plan.areas["code"], strict=True)
        if v is not None
    }
    units["community_id"] = row["community_id"].to_numpy(dtype=object)
    units["community_code"] = [code.get(str(c)) for c in units["community_id"]]
    units["grid_id"] = row["grid_id"].to_numpy(dtype=object)
    units["grid_code"] = [None if g is None else code.get(str(g), g) for g in units["grid_id"]]
    return units


@dataclass(frozen=True)
class Exported:
    """What :func:`export_plan` wrote."""

    plan_id: int
    level: str
    paths: tuple[Path, ...]
    features: int
    households: float
    residents: float
    crs: str

    def to_json(self) -> dict[str, Any]:
        """``{"plan_id", "level", "paths", "features", "households", "residents", "crs"}``."""
        return {
            "plan_id": self.plan_id,
            "level": self.level,
            "paths": [str(p) for p in self.paths],
            "features": self.features,
            "households": self.households,
            "residents": self.residents,
            "crs": self.crs,
        }


def export_plan(
    store: Store,
    plan_id: int | None,
    out: Path,
    *,
    level: str = "community",
    crs: str | None = None,
    encoding: str = "UTF-8",
) -> Exported:
    """Write one level of a stored plan (default: the latest) to a file.

    The file re-imports as it is: ``gridplan import FILE --kind areas`` (``--level grid`` for
    grids) stores it as a drawn plan with the same codes, names and households.

    Raises
    ------
    InputError
        If ``level`` is unknown, the plan has no areas at it, or the file cannot be written.
    NotFoundError
        If the plan is not stored.
    """
    if level not in EXPORT_LEVELS:
        raise InputError(f"--level {level}: expected one of {', '.join(EXPORT_LEVELS)}")
    check_output(out, store=store.url)
    plan = store.load_plan(plan_id)
    assert plan.plan_id is not None
    if level == "units":
        frame = unit_table(store, plan)
        name = "units"
    else:
        lv = Level(level)
        frame = area_table(plan, lv, plan_findings(store, plan))
        if frame.empty:
            raise InputError(f"plan {plan.plan_id} has no {level} areas to export")
        name = {Level.COMMUNITY: "communities", Level.GRID: "grids"}.get(lv, "subdistricts")
    paths = write_layers({name: frame}, out, crs=crs, encoding=encoding)
    return Exported(
        plan.plan_id,
        level,
        tuple(paths),
        len(frame),
        float(pd.to_numeric(frame["households"], errors="coerce").fillna(0).sum()),
        float(pd.to_numeric(frame["residents"], errors="coerce").fillna(0).sum()),
        crs or "EPSG:4326",
    )


@dataclass(frozen=True)
class PlanComparison:
    """Two stored plans compared (``plans diff``).

    Attributes
    ----------
    diff
        The comparison of their communities (:func:`gridplan.geo.diff.plan_diff`).
    codes
        Per community id in either plan: ``code_before``, ``code_after``.
    before, after
        The two plans, as loaded.
    """

    diff: PlanDiff
    codes: pd.DataFrame
    before: Plan
    after: Plan

    def rows(self) -> list[dict[str, Any]]:
        """Per community: households before/after, units and compounds moved in and out,
        codes before/after."""
        doc = self.diff.to_json()
        moves = self.diff.unit_moves
        comp = self.diff.compounds
        code = self.codes.set_index("area_id")
        out = []
        for c in doc["communities"]:
            cid = c["community_id"]
            units_out = int(moves.loc[moves["from_id"] == cid, "units"].sum()) if len(moves) else 0
            units_in = int(moves.loc[moves["to_id"] == cid, "units"].sum()) if len(moves) else 0
            comp_out = int((comp["from_id"] == cid).sum()) if len(comp) else 0
            comp_in = int((comp["to_id"] == cid).sum()) if len(comp) else 0
            before = code.at[cid, "code_before"] if cid in code.index else None
            after = code.at[cid, "code_after"] if cid in code.index else None
            out.append(
                {
                    **c,
                    "units_in": units_in,
                    "units_out": units_out,
                    "compounds_in": comp_in,
                    "compounds_out": comp_out,
                    "code_before": before,
                    "code_after": after,
                    "code_changed": bool(c["in_before"] and c["in_after"])
                    and str(before) != str(after),
                }
            )
        return jsonable(out)

    def to_json(self) -> dict[str, Any]:
        """The diff document (:meth:`PlanDiff.to_json`) with per-community rows."""
        doc = jsonable(self.diff.to_json())
        doc["communities"] = self.rows()
        return doc


def compare_plans(store: Store, before_id: int, after_id: int | None = None) -> PlanComparison:
    """Compare two stored plans (``after_id`` ``None``: the latest) with the store's units and
    compounds.

    Raises
    ------
    NotFoundError
        If a plan is not stored.
    """
    before = store.load_plan(before_id)
    after = store.load_plan(after_id)
    units = store.read_layer(LayerKind.UNITS) if store.count(LayerKind.UNITS) else None
    compounds = store.read_layer(LayerKind.COMPOUNDS) if store.count(LayerKind.COMPOUNDS) else None
    diff = plan_diff(before, after, units=units, compounds=compounds)
    cb = before.areas_at(Level.COMMUNITY)
    ca = after.areas_at(Level.COMMUNITY)
    codes = pd.DataFrame(
        {"area_id": sorted(set(cb["area_id"].astype(str)) | set(ca["area_id"].astype(str)))}
    )
    codes["code_before"] = codes["area_id"].map(
        dict(zip(cb["area_id"].astype(str), cb["code"], strict=True))
    )
    codes["code_after"] = codes["area_id"].map(
        dict(zip(ca["area_id"].astype(str), ca["code"], strict=True))
    )
    return PlanComparison(diff, codes, before, after)


def plan_findings(store: Store, plan: Plan) -> pd.DataFrame:
    """A stored plan's findings (without geometry); a plan stored without any is checked
    against the store's layers."""
    assert plan.plan_id is not None
    stored = store.read_findings(plan.plan_id)
    if len(stored):
        return pd.DataFrame(stored.drop(columns=stored.geometry.name))
    checked = check_plan(plan, read_check_layers(store)).findings
    return pd.DataFrame(checked.drop(columns=checked.geometry.name))


__all__ = [
    "EXPORT_LEVELS",
    "Exported",
    "PlanComparison",
    "area_table",
    "compare_plans",
    "export_plan",
    "info_summary",
    "plan_findings",
    "plan_summary",
    "unit_table",
]
