"""Roll-ups of a stored plan over grid → community → subdistrict → district (``gridplan
report``, ``GET /plans/{id}/rollup``), with the staff (一格多员) and service figures of the
policy (:mod:`gridplan.geo.rollup`), and a staff roster checked against the plan's grids.

Writers for the report: a table per level, JSON, CSV (one row per area, every level) and
XLSX (one sheet per level, with openpyxl).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.errors import InputError
from gridplan.geo.hierarchy import within_subdistrict
from gridplan.geo.rollup import ROLLUP_LEVELS, Rollup, RollupPolicy, rollup, roster_check
from gridplan.ops.codes import code_history
from gridplan.ops.plans import plan_findings
from gridplan.plan import Level

#: Formats ``gridplan report`` writes.
REPORT_FORMATS: tuple[str, ...] = ("table", "json", "csv", "xlsx")


@dataclass(frozen=True)
class PlanReport:
    """A stored plan's roll-up and, when a roster is known, its staff check.

    Attributes
    ----------
    rollup
        The four levels (:class:`~gridplan.geo.rollup.Rollup`).
    roster
        :func:`~gridplan.geo.rollup.roster_check` of the staff roster (``None`` without one).
    subdistrict
        The subdistrict the report is scoped to (``None``: the whole district).
    """

    rollup: Rollup
    roster: dict[str, Any] | None = None
    subdistrict: str | None = None

    def to_json(self, levels: tuple[str, ...] = ROLLUP_LEVELS) -> dict[str, Any]:
        """``{"plan_id", "subdistrict", "policy", "levels": {…}, "roster"}``."""
        doc = self.rollup.to_json(levels)
        doc["subdistrict"] = self.subdistrict
        doc["roster"] = self.roster
        return doc

    def frame(self, levels: tuple[str, ...] = ROLLUP_LEVELS) -> pd.DataFrame:
        """Every asked level in one table (``findings_by_rule`` as ``rule:n; …`` text)."""
        parts = [self.rollup.level(lv) for lv in levels]
        out = pd.concat(parts, ignore_index=True)
        out["findings_by_rule"] = [
            "; ".join(f"{k}:{v}" for k, v in (r or {}).items()) for r in out["findings_by_rule"]
        ]
        return out


def levels_of(level: str | None) -> tuple[str, ...]:
    """The levels ``--level`` names (``None``: all four).

    Raises
    ------
    InputError
        For an unknown level.
    """
    if level is None:
        return ROLLUP_LEVELS
    if level not in ROLLUP_LEVELS:
        raise InputError(f"level {level!r}: expected one of {', '.join(ROLLUP_LEVELS)}")
    return (level,)


def report_plan(
    store: Store,
    plan_id: int | None = None,
    *,
    subdistrict: str | None = None,
    staff: pd.DataFrame | None = None,
    service: pd.DataFrame | None = None,
    policy: RollupPolicy | None = None,
) -> PlanReport:
    """Roll a stored plan (default: the latest) up with the store's units, buildings,
    compounds and the plan's findings.

    Parameters
    ----------
    store
        An open store.
    plan_id
        The plan (``None``: the latest).
    subdistrict
        Only this subdistrict (9-digit code, its last 3 digits or its id).
    staff
        A staff roster (``name``, ``role``, ``grid_code``); ``None``: the store's roster.
    service
        Per community ``code``: ``volunteers``, ``new_households``, ``model``; ``None``: the
        store's service table.
    policy
        Staff ratios and service figures.

    Raises
    ------
    NotFoundError
        If the plan is not stored.
    InputError
        If the plan has no communities (in the subdistrict), or a table is malformed.
    """
    plan = store.load_plan(plan_id)
    if plan.areas_at(Level.COMMUNITY).empty:
        raise InputError(f"plan {plan.plan_id} has no communities to report on")
    findings = plan_findings(store, plan)
    if subdistrict is not None:
        plan = within_subdistrict(plan, subdistrict)
    if staff is None:
        staff = _nonempty(store.read_staff())
    if service is None:
        service = _nonempty(store.read_service())

    def layer(kind: LayerKind) -> Any:
        return store.read_layer(kind) if store.count(kind) else None

    result = rollup(
        plan,
        units=layer(LayerKind.UNITS),
        buildings=layer(LayerKind.BUILDINGS),
        compounds=layer(LayerKind.COMPOUNDS),
        findings=findings,
        staff=staff,
        service=service,
        policy=policy,
    )
    roster = None
    if staff is not None and len(staff):
        retired = code_history(store).retired_at(Level.GRID.value)
        roster = roster_check(staff, plan, retired=retired)
    return PlanReport(result, roster, subdistrict)


def write_report(report: PlanReport, out: Path, levels: tuple[str, ...] = ROLLUP_LEVELS) -> Path:
    """Write the report to ``out``: ``.csv`` (one table), ``.xlsx`` (a sheet per level, and
    the roster check), ``.json``.

    Raises
    ------
    InputError
        For another suffix, or ``.xlsx`` without openpyxl installed.
    """
    suffix = out.suffix.lower()
    if suffix == ".csv":
        report.frame(levels).to_csv(out, index=False, encoding="utf-8")
    elif suffix == ".json":
        out.write_text(json.dumps(report.to_json(levels), ensure_ascii=False, indent=1), "utf-8")
    elif suffix == ".xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:  # pragma: no cover - a dependency
            raise InputError("writing .xlsx needs openpyxl (pip install openpyxl)") from exc
        with pd.ExcelWriter(out, engine="openpyxl") as writer:
            for lv in levels:
                report.frame((lv,)).to_excel(writer, sheet_name=lv, index=False)
            if report.roster is not None:
                pd.DataFrame(report.roster["workload"]).to_excel(
                    writer, sheet_name="staff workload", index=False
                )
                pd.DataFrame(report.roster["unknown"]).to_excel(
                    writer, sheet_name="staff on unknown codes", index=False
                )
    else:
        raise InputError(f"--out {out}: expected .csv, .xlsx or .json")
    return out


def read_csv_table(path: Path, what: str, required: tuple[str, ...]) -> pd.DataFrame:
    """A CSV table (UTF-8, with or without BOM, or GBK) with the ``required`` columns, every
    value as text.

    Raises
    ------
    InputError
        If the file cannot be read or lacks a column (all named in one line).
    """
    if not path.is_file():
        raise InputError(f"{what} {path}: no such file")
    frame = None
    for encoding in ("utf-8-sig", "gbk"):
        try:
            frame = pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"{what} {path}: not a readable CSV ({exc})") from exc
    if frame is None:
        raise InputError(f"{what} {path}: neither UTF-8 nor GBK text")
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} {path}: no column(s) {', '.join(missing)} "
            f"(has {', '.join(frame.columns) or 'none'})"
        )
    return frame


def _nonempty(frame: pd.DataFrame) -> pd.DataFrame | None:
    return frame if len(frame) else None


__all__ = [
    "REPORT_FORMATS",
    "PlanReport",
    "levels_of",
    "read_csv_table",
    "report_plan",
    "write_report",
]
