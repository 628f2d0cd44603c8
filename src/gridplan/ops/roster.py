"""The staff roster (一格多员) and the per-community service figures of a store: import them
from CSV (each import replaces the previous one, in one transaction) and check the roster
against a plan's grids (``gridplan roster``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gridplan.data.store.base import Store
from gridplan.geo.rollup import roster_check
from gridplan.ops.codes import code_history
from gridplan.ops.report import read_csv_table
from gridplan.plan import Level


def import_staff(store: Store, path: Path) -> int:
    """Replace the store's roster with the CSV ``path`` (``name``, ``role``, ``grid_code``).

    Raises
    ------
    InputError
        If the file is unreadable, a column is missing or a row lacks a name or grid code;
        nothing changes.
    """
    return store.save_staff(read_csv_table(path, "staff roster", ("name", "role", "grid_code")))


def import_service(store: Store, path: Path) -> int:
    """Replace the store's service figures with the CSV ``path`` (``code``, ``volunteers``,
    ``new_households``, ``model``).

    Raises
    ------
    InputError
        If the file is unreadable, a code repeats or a count is not a number >= 0.
    """
    return store.save_service(read_csv_table(path, "service table", ("code",)))


def check_roster(store: Store, plan_id: int | None = None) -> dict[str, Any]:
    """The stored roster against a stored plan's grids (default: the latest plan):
    ``{"plan_id", "staff", "grids", "grids_without_full_time", "unknown", "workload"}``
    (:func:`gridplan.geo.rollup.roster_check`; a code the store retired is named so).

    Raises
    ------
    NotFoundError
        If the plan is not stored.
    """
    plan = store.load_plan(plan_id)
    staff = store.read_staff()
    retired = code_history(store).retired_at(Level.GRID.value)
    found = roster_check(staff, plan, retired=retired)
    return {
        "plan_id": plan.plan_id,
        "staff": len(staff),
        "grids": len(plan.areas_at(Level.GRID)),
        **found,
    }


__all__ = ["check_roster", "import_service", "import_staff"]
