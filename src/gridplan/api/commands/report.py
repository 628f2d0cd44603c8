"""``gridplan report``: a plan rolled up over grid → community → subdistrict → district.

::

    gridplan report [--db S] [--plan ID] [--level grid|community|subdistrict|district]
        [--subdistrict CODE] [--staff ROSTER.csv] [--service SERVICE.csv]
        [--staff-per-households N] [--full-time-per-grid N] [--volunteer-share S]
        [--model-volunteer-share S] [--funding-per-household Y] [--funding-per-new-household Y]
        [--format table|json|csv|xlsx] [--out FILE]

Per area: households, residents, units, buildings, compounds, grids, staff (needed by the
ratios, on the roster, short), registered volunteers (target, short), model communities,
funding, findings by rule. ``--format csv`` prints CSV (or writes ``--out``); ``xlsx`` needs
``--out FILE.xlsx`` (a sheet per level). ``--staff`` is a roster CSV (``name``, ``role``,
``grid_code``; role ``full-time``/``专职`` counts as a full-time grid worker); ``--service`` a
CSV per community ``code`` with ``volunteers``, ``new_households`` and ``model`` (1/yes/是).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gridplan.api.console import DbOption, console, guarded, print_json, resolve_db
from gridplan.data.store.base import open_store
from gridplan.errors import InputError
from gridplan.geo.rollup import RollupPolicy, ServicePolicy, StaffPolicy
from gridplan.ops.report import levels_of, read_csv_table, report_plan, write_report


class ReportFormat(StrEnum):
    """What ``gridplan report`` prints or writes."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app``."""
    app.command("report")(report_command)


_DEFAULT = RollupPolicy()


@guarded
def report_command(
    db: str | None = DbOption,
    plan: Annotated[
        int | None, typer.Option("--plan", help="plan id (default: the latest)", min=1)
    ] = None,
    level: Annotated[
        str | None,
        typer.Option("--level", help="grid, community, subdistrict or district (default: all)"),
    ] = None,
    subdistrict: Annotated[
        str | None, typer.Option("--subdistrict", help="only this subdistrict (code)")
    ] = None,
    staff: Annotated[
        Path | None, typer.Option("--staff", help="staff roster CSV: name, role, grid_code")
    ] = None,
    service: Annotated[
        Path | None,
        typer.Option("--service", help="CSV per community code: volunteers, new_households, model"),
    ] = None,
    full_time_per_grid: Annotated[
        int, typer.Option("--full-time-per-grid", min=0, help="full-time workers per grid")
    ] = _DEFAULT.staff.full_time_per_grid,
    staff_per_households: Annotated[
        float,
        typer.Option("--staff-per-households", min=0, help="one more staff per N households"),
    ] = _DEFAULT.staff.households_per_staff,
    volunteer_share: Annotated[
        float, typer.Option("--volunteer-share", min=0, max=1)
    ] = _DEFAULT.service.volunteer_share,
    model_volunteer_share: Annotated[
        float, typer.Option("--model-volunteer-share", min=0, max=1)
    ] = _DEFAULT.service.model_volunteer_share,
    funding_per_household: Annotated[
        float, typer.Option("--funding-per-household", min=0, help="yuan per household per year")
    ] = _DEFAULT.service.funding_per_household,
    funding_per_new_household: Annotated[
        float,
        typer.Option("--funding-per-new-household", min=0, help="yuan per new household per year"),
    ] = _DEFAULT.service.funding_per_new_household,
    output: Annotated[
        ReportFormat, typer.Option("--format", help="table, json, csv or xlsx")
    ] = ReportFormat.TABLE,
    out: Annotated[
        Path | None, typer.Option("--out", help="file to write (.csv .xlsx .json)")
    ] = None,
) -> None:
    """Roll a plan up: grid → community → subdistrict → district, with the policy figures."""
    levels = levels_of(level)
    if output is ReportFormat.XLSX and (out is None or out.suffix.lower() != ".xlsx"):
        raise InputError("--format xlsx needs --out FILE.xlsx")
    policy = RollupPolicy(
        StaffPolicy(full_time_per_grid, staff_per_households),
        ServicePolicy(
            volunteer_share,
            model_volunteer_share,
            funding_per_household,
            funding_per_new_household,
        ),
    )
    roster = read_csv_table(staff, "--staff", ("name", "role", "grid_code")) if staff else None
    figures = read_csv_table(service, "--service", ("code",)) if service else None
    with open_store(resolve_db(db), create=False) as store:
        report = report_plan(
            store, plan, subdistrict=subdistrict, staff=roster, service=figures, policy=policy
        )
    if out is not None:
        written = write_report(report, out, levels)
        if output is ReportFormat.TABLE or output is ReportFormat.XLSX:
            console.print(f"plan {report.rollup.plan_id}: report written to {written}")
            return
    if output is ReportFormat.JSON:
        print_json(report.to_json(levels))
        return
    if output is ReportFormat.CSV:
        if out is None:
            report.frame(levels).to_csv(sys.stdout, index=False)
        return
    _print_tables(report.to_json(levels))


def _print_tables(doc: dict[str, Any]) -> None:
    p = doc["policy"]
    console.print(
        f"[bold]plan {doc['plan_id']}[/bold]"
        + (f", subdistrict {doc['subdistrict']}" if doc["subdistrict"] else "")
        + f": staff {p['full_time_per_grid']} full-time per grid + 1 per "
        f"{p['households_per_staff']:g} households; volunteers ≥ {p['volunteer_share']:.0%} "
        f"of residents ({p['model_volunteer_share']:.0%} in model communities); "
        f"¥{p['funding_per_household']:g}/household/yr, "
        f"¥{p['funding_per_new_household']:g}/new household/yr",
        highlight=False,
    )
    for level, rows in doc["levels"].items():
        counts = _table(f"{level} ({len(rows)}): counts", _COUNTS)
        figures = _table(f"{level}: policy figures", _FIGURES)
        for r in rows:
            counts.add_row(*(_cell(r.get(k)) for k, _ in _COUNTS))
            figures.add_row(*(_cell(r.get(k)) for k, _ in _FIGURES))
        console.print(counts)
        console.print(figures)
        estimated = sum(int(r.get("residents_estimated") or 0) for r in rows)
        if estimated and level == "district":
            console.print(
                f"residents of {estimated} units estimated at "
                f"{p['persons_per_household']:g} per household (unknown in the units)",
                highlight=False,
            )
    roster = doc.get("roster")
    if roster:
        console.print(
            f"staff roster: {len(roster['grids_without_full_time'])} grid(s) without a "
            f"full-time worker; {len(roster['unknown'])} staff on unknown or retired codes",
            highlight=False,
        )
        for r in roster["unknown"][:20]:
            console.print(f"  {r['name']} ({r['role']}): {r['grid_code']} {r['why']}", markup=False)


_COUNTS: tuple[tuple[str, str], ...] = (
    ("code", "code"),
    ("name", "name"),
    ("households", "households"),
    ("residents", "residents"),
    ("units", "units"),
    ("buildings", "buildings"),
    ("compounds", "compounds"),
    ("grids", "grids"),
    ("findings", "findings"),
)
_FIGURES: tuple[tuple[str, str], ...] = (
    ("code", "code"),
    ("staff", "staff"),
    ("staff_needed", "needed"),
    ("staff_full_time", "full-time"),
    ("volunteers", "volunteers"),
    ("volunteers_target", "target"),
    ("volunteers_short", "short"),
    ("funding_yuan", "funding ¥/yr"),
    ("new_household_funding_yuan", "new hh ¥/yr"),
)


def _table(title: str, columns: tuple[tuple[str, str], ...]) -> Table:
    table = Table(title=title, pad_edge=False)
    for key, head in columns:
        table.add_column(
            head, justify="left" if key in ("code", "name") else "right", no_wrap=key == "code"
        )
    return table


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.0f}"
    return str(value)
