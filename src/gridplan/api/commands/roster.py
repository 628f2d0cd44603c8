"""``gridplan roster``: the grid staff roster (一格多员) and per-community service figures.

::

    gridplan roster staff ROSTER.csv [--db S]       (name, role, grid_code; replaces the roster)
    gridplan roster service SERVICE.csv [--db S]    (code, volunteers, new_households, model)
    gridplan roster check [--plan ID] [--db S] [--format table|json]

``check`` lists the grids without a full-time worker (role ``full-time`` or ``专职…``), the
staff on codes the plan does not have (``retired`` when a stored plan retired the code) and
each member's workload in households (the grid's households shared by its staff). The
stored roster and figures feed ``gridplan report`` and ``GET /plans/{id}/rollup``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gridplan.api.console import (
    DbOption,
    FormatOption,
    OutputFormat,
    console,
    guarded,
    print_json,
    resolve_db,
)
from gridplan.data.store.base import open_store
from gridplan.ops.roster import check_roster, import_service, import_staff

HELP = "The grid staff roster and per-community service figures: import, check."


def register(app: typer.Typer) -> None:
    """Add the ``roster`` command group to ``app``."""
    group = typer.Typer(help=HELP, no_args_is_help=True)
    group.command("staff", help="Replace the staff roster with a CSV (name, role, grid_code).")(
        staff_command
    )
    group.command(
        "service",
        help="Replace the service figures with a CSV (code, volunteers, new_households, model).",
    )(service_command)
    group.command("check", help="Check the roster against a plan's grids.")(check_command)
    app.add_typer(group, name="roster")


@guarded
def staff_command(
    file: Annotated[Path, typer.Argument(help="roster CSV")],
    db: str | None = DbOption,
    output: OutputFormat = FormatOption,
) -> None:
    """Replace the staff roster."""
    with open_store(resolve_db(db), create=False) as store:
        n = import_staff(store, file)
    if output is OutputFormat.JSON:
        print_json({"staff": n})
        return
    console.print(f"{n} staff stored (the roster was replaced)")


@guarded
def service_command(
    file: Annotated[Path, typer.Argument(help="service CSV")],
    db: str | None = DbOption,
    output: OutputFormat = FormatOption,
) -> None:
    """Replace the service figures."""
    with open_store(resolve_db(db), create=False) as store:
        n = import_service(store, file)
    if output is OutputFormat.JSON:
        print_json({"communities": n})
        return
    console.print(f"service figures of {n} communities stored (replaced)")


@guarded
def check_command(
    plan: Annotated[
        int | None, typer.Option("--plan", help="plan id (default: the latest)", min=1)
    ] = None,
    db: str | None = DbOption,
    output: OutputFormat = FormatOption,
) -> None:
    """Check the roster against a plan's grids."""
    with open_store(resolve_db(db), create=False) as store:
        doc = check_roster(store, plan)
    if output is OutputFormat.JSON:
        print_json(doc)
        return
    missing = doc["grids_without_full_time"]
    console.print(
        f"plan {doc['plan_id']}: {doc['staff']} staff on {doc['grids']} grids; "
        f"{len(missing)} grid(s) without a full-time worker"
        + (f" ({', '.join(missing[:8])}{' …' if len(missing) > 8 else ''})" if missing else ""),
        highlight=False,
    )
    if doc["unknown"]:
        table = Table(title="staff on unknown or retired codes")
        for col in ("name", "role", "grid code", "why"):
            table.add_column(col)
        for r in doc["unknown"]:
            table.add_row(r["name"], r["role"], r["grid_code"], r["why"])
        console.print(table)
    if doc["workload"]:
        table = Table(title="workload")
        for col in ("name", "role", "grid code", "households"):
            table.add_column(col, justify="right" if col == "households" else "left")
        for r in doc["workload"]:
            table.add_row(r["name"], r["role"], r["grid_code"], f"{r['households']:,.0f}")
        console.print(table)
