"""``gridplan check``: audit community or grid polygons against the boundary rules.

Other tools depend on this contract (issue 3)::

    gridplan check --areas FILE [--id-field F] [--name-field F] [--roads FILE]
        [--compounds FILE] [--outline FILE] [--level community|grid]
        [--households-field F] [--residents-field F] [--band LO HI]
        [--road-tolerance METRES] [--format table|json]

plus ``--units FILE``, ``--measure households|residents``, ``--road-class C`` (repeatable),
``--overrides CSV`` (named assignments compound → community, rule
``compound.override_violated``; unmatched rows are printed as notes on stderr),
``--db URL_OR_PATH --store [--plan-name N]``.

JSON on stdout: ``{"level", "summary": {"areas", "findings", "by_rule", "ignored_slivers"},
"areas": [...], "findings": [...]}`` (see :meth:`gridplan.geo.rules.CheckReport.to_json`).
Exit 0 when the check ran, whatever it found; exit 2 with a one-line reason on bad input.
``--store`` also saves the areas as a drawn plan with its findings in the store (``--db``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import geopandas as gpd
import numpy as np
import pandas as pd
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from gridplan.api.console import (
    DbOption,
    FormatOption,
    OutputFormat,
    console,
    err_console,
    guarded,
    print_json,
    resolve_db,
)
from gridplan.data.crs import to_storage
from gridplan.data.layers import LayerKind
from gridplan.data.readers import read_layer_file
from gridplan.data.reference import load_overrides
from gridplan.data.store.base import open_store
from gridplan.errors import InputError
from gridplan.geo.rules import CheckConfig, CheckReport, check_areas
from gridplan.geo.rules.finding import plural
from gridplan.plan import AREA_COLUMNS, Level, Plan, empty_assignments

HELP = (
    "Check community (or grid) polygons against the boundary rules: size band "
    "(households or residents), enclaves (飞地), boundaries along roads (以路为界), gaps and "
    "overlaps, split and unassigned compounds, named assignments not honoured (--overrides). "
    "Exit 0 whatever it finds; 2 on bad input."
)


def register(app: typer.Typer) -> None:
    """Add the ``check`` command to ``app``."""
    app.command("check", help=HELP)(check_command)


@guarded
def check_command(
    areas: Annotated[
        Path, typer.Option("--areas", help="community or grid polygons (any vector file)")
    ],
    id_field: Annotated[
        str | None, typer.Option("--id-field", help="column with the area ids")
    ] = None,
    name_field: Annotated[
        str | None, typer.Option("--name-field", help="column with the area names")
    ] = None,
    roads: Annotated[Path | None, typer.Option("--roads", help="road centrelines (lines)")] = None,
    compounds: Annotated[
        Path | None,
        typer.Option("--compounds", help="compounds (polygons or points) with households"),
    ] = None,
    outline: Annotated[
        Path | None, typer.Option("--outline", help="the subdistrict outline (polygon)")
    ] = None,
    units: Annotated[
        Path | None,
        typer.Option("--units", help="units (polygons) to sum households from"),
    ] = None,
    level: Annotated[
        Level, typer.Option("--level", help="community or grid (picks the size band)")
    ] = Level.COMMUNITY,
    households_field: Annotated[
        str | None, typer.Option("--households-field", help="column with households")
    ] = None,
    residents_field: Annotated[
        str | None, typer.Option("--residents-field", help="column with residents")
    ] = None,
    band: Annotated[
        tuple[float, float] | None,
        typer.Option("--band", help="size band LO HI (default: by level and measure)"),
    ] = None,
    measure: Annotated[
        str | None,
        typer.Option(
            "--measure",
            help="households or residents (default: residents when only --residents-field "
            "is given, else households)",
        ),
    ] = None,
    road_tolerance: Annotated[
        float,
        typer.Option("--road-tolerance", help="metres from a road centreline that count as on it"),
    ] = 15.0,
    road_class: Annotated[
        list[str] | None,
        typer.Option("--road-class", help="only roads of this class count (repeatable)"),
    ] = None,
    overrides: Annotated[
        Path | None,
        typer.Option(
            "--overrides",
            help="named assignments: UTF-8 CSV with columns compound, community (compound "
            "names matched in --compounds, community names or ids in --areas)",
        ),
    ] = None,
    output: OutputFormat = FormatOption,
    db: str | None = DbOption,
    store: Annotated[
        bool,
        typer.Option("--store", help="save the areas as a drawn plan with its findings (--db)"),
    ] = False,
    plan_name: Annotated[
        str | None, typer.Option("--plan-name", help="name of the stored plan")
    ] = None,
) -> None:
    """Run the checks and print the report."""
    fields = {
        k: v
        for k, v in (("name", name_field), ("households", households_field),
                     ("residents", residents_field))
        if v
    }  # fmt: skip
    chosen = measure or ("residents" if residents_field and not households_field else "households")
    config = CheckConfig(
        measure=chosen,
        road_tolerance=road_tolerance,
        road_classes=frozenset(road_class) if road_class else None,
    )
    if band is not None:
        config = config.with_band(level, band[0], band[1])
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=err_console, transient=True
    ) as progress:
        task = progress.add_task("reading areas", total=None)
        area_layer = read_layer_file(areas, LayerKind.AREAS, fields=fields, id_field=id_field)
        progress.update(task, description="reading roads, compounds, outline, units")
        road_layer = read_layer_file(roads, LayerKind.ROADS) if roads else None
        compound_layer = read_layer_file(compounds, LayerKind.COMPOUNDS) if compounds else None
        outline_layer = read_layer_file(outline, LayerKind.OUTLINE) if outline else None
        unit_layer = read_layer_file(units, LayerKind.UNITS) if units else None
        override_table = load_overrides(overrides) if overrides else None
        progress.update(task, description=f"checking {len(area_layer)} {plural(level.value)}")
        report = check_areas(
            area_layer,
            level=level,
            roads=road_layer,
            compounds=compound_layer,
            outline=outline_layer,
            units=unit_layer,
            config=config,
            overrides=override_table,
        )
    plan_id = None
    if store:
        plan_id = store_report(
            resolve_db(db), area_layer, report, name=plan_name or areas.stem, source=areas.name
        )
    if output == OutputFormat.JSON:
        print_json(report.to_json())
    else:
        _print_tables(report)
        if plan_id is not None:
            console.print(f"stored as plan {plan_id}")
    for note in report.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)


def report_plan(
    areas: gpd.GeoDataFrame, report: CheckReport, *, name: str, source: str = ""
) -> Plan:
    """A drawn plan of the checked areas: the areas at the report's level, no assignments.

    Households and residents are the ones the check used (column, units or compounds).
    """
    if len(areas) != len(report.areas):
        raise InputError("the report does not belong to these areas")
    frame = pd.DataFrame(
        {
            "level": report.level,
            "area_id": report.areas["id"].to_numpy(dtype=object),
            "name": report.areas["name"].to_numpy(dtype=object),
            "code": areas["code"].to_numpy(dtype=object)
            if "code" in areas
            else np.full(len(areas), None, dtype=object),
            "parent_id": np.full(len(areas), None, dtype=object),
            "households": report.areas["households"].to_numpy(dtype=float),
            "residents": report.areas["residents"].to_numpy(dtype=float),
        }
    )
    plan_areas = to_storage(
        gpd.GeoDataFrame(frame[list(AREA_COLUMNS)], geometry=areas.geometry.values, crs=areas.crs),
        "areas",
    )
    targets = {report.level: {report.measure: list(report.band)}} if report.band else {}
    return Plan(
        name=name,
        assignments=empty_assignments(),
        areas=plan_areas,
        targets=targets,
        metrics={"check": report.to_json()["summary"]},
        source=f"import:{source}" if source else "check",
    )


def store_report(
    url: str, areas: gpd.GeoDataFrame, report: CheckReport, *, name: str, source: str = ""
) -> int:
    """Save the checked areas as a new drawn plan with its findings; return the plan id."""
    plan = report_plan(areas, report, name=name, source=source)
    with open_store(url) as st:
        return st.save_plan(plan, report.findings_for_store())


def _print_tables(report: CheckReport) -> None:
    band = f", band {report.band[0]:g}–{report.band[1]:g} {report.measure}" if report.band else ""
    by_rule = ", ".join(f"{r} {n}" for r, n in report.by_rule().items()) or "none"
    console.print(
        f"[bold]{len(report.areas)} {plural(report.level)} checked{band}[/bold]: "
        f"{len(report.findings)} findings ({by_rule})"
    )
    ignored = {k: v for k, v in report.ignored_slivers.items() if v}
    if ignored:
        console.print(
            "slivers ignored (narrower than the width tolerance): "
            + ", ".join(f"{k} {v}" for k, v in ignored.items())
        )
    areas = Table(title=plural(report.level))
    for col in ("id", "name", "households", "residents", "road share", "parts", "Polsby–Popper"):
        areas.add_column(col, justify="left" if col in ("id", "name") else "right")
    for row in report.areas.itertuples(index=False):
        areas.add_row(
            str(row.id),
            "" if row.name is None else str(row.name),
            _num(row.households, "{:,.0f}"),
            _num(row.residents, "{:,.0f}"),
            _num(row.road_boundary_share, "{:.0%}"),
            str(row.parts),
            _num(row.polsby_popper, "{:.2f}"),
        )
    console.print(areas)
    if len(report.findings):
        table = Table(title="findings")
        for col in ("rule", "severity", "area", "value", "message"):
            table.add_column(col, justify="right" if col == "value" else "left")
        for f in report.findings.itertuples(index=False):
            table.add_row(
                f.rule,
                f.severity,
                "" if f.area_id is None else str(f.area_id),
                _num(f.value, "{:,.2f}"),
                f.message,
            )
        console.print(table)


def _num(value: object, pattern: str) -> str:
    if value is None:
        return ""
    number = float(value)  # type: ignore[arg-type]
    return "" if np.isnan(number) else pattern.format(number)


__all__ = ["check_command", "register", "report_plan", "store_report"]
