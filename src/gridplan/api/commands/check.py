"""``gridplan check``: audit community or grid polygons against the boundary rules.

Other tools depend on this contract (issue 3)::

    gridplan check --areas FILE [--id-field F] [--name-field F] [--roads FILE]
        [--compounds FILE] [--outline FILE] [--level community|grid]
        [--households-field F] [--residents-field F] [--band LO HI]
        [--road-tolerance METRES] [--format table|json]

plus ``--units FILE``, ``--measure households|residents``, ``--road-class C`` (repeatable),
``--overrides CSV`` (named assignments compound → community, rule
``compound.override_violated``; unmatched rows are printed as notes on stderr),
``--db URL_OR_PATH --store [--plan-name N]``, ``--coords [FILE=]FRAME`` (``wgs84``, ``gcj02``
or ``bd09``: the frame of every file's coordinates, or with ``compounds=gcj02`` of one file;
GCJ-02 and BD-09 are converted to WGS84 before checking; findings are reported in WGS84).

JSON on stdout: ``{"level", "summary": {"areas", "findings", "by_rule", "ignored_slivers"},
"areas": [...], "findings": [...]}`` (see :meth:`gridplan.geo.rules.CheckReport.to_json`).
Exit 0 when the check ran, whatever it found; exit 2 with a one-line reason on bad input.
``--store`` also saves the areas as a drawn plan with its findings in the store (``--db``).

Without ``--areas`` it checks a stored plan (``--db``; ``--plan ID``, default the latest)
against the store's roads, compounds, outline and units, at every level the plan has (or
``--level``), with the plan's own targets unless ``--band``/``--measure``/road options are
given: the same check ``GET /plans/{id}/checks``, the map and the demo run. JSON is then
``{"plan_id", "levels": {"community": <the document above> + measure, band, notes, …}}``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from gridplan.api.console import (
    CoordsOption,
    DbOption,
    Encoding,
    FormatOption,
    OutputFormat,
    console,
    err_console,
    guarded,
    print_json,
    read_input,
    resolve_db,
    use_encoding,
)
from gridplan.data.crs import Coords, frames_by_input
from gridplan.data.layers import LayerKind
from gridplan.data.reference import load_overrides
from gridplan.data.store.base import open_store
from gridplan.errors import InputError
from gridplan.geo.rules import CheckConfig, CheckLayers, CheckReport
from gridplan.geo.rules.finding import plural
from gridplan.ops.checks import check_drawn, check_stored_plan
from gridplan.ops.codes import code_drawn
from gridplan.ops.files import area_layer as area_layer_of
from gridplan.ops.files import written_band
from gridplan.plan import Level

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
        Path | None,
        typer.Option(
            "--areas", help="community or grid polygons (any vector file; default: a stored plan)"
        ),
    ] = None,
    plan: Annotated[
        int | None, typer.Option("--plan", help="store: the plan to check (default: the latest)")
    ] = None,
    subdistrict: Annotated[
        str | None,
        typer.Option("--subdistrict", help="store: only this subdistrict of the plan (code)"),
    ] = None,
    layer_name: Annotated[
        str | None,
        typer.Option("--layer", help="layer of a multi-layer --areas file (default: by --level)"),
    ] = None,
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
    facilities: Annotated[
        Path | None,
        typer.Option(
            "--facilities",
            help="service facilities (points with kind): rule reach.outside",
        ),
    ] = None,
    paths: Annotated[
        Path | None,
        typer.Option("--paths", help="walkable ways (lines; default: --roads) for reach"),
    ] = None,
    buildings: Annotated[
        Path | None,
        typer.Option("--buildings", help="buildings with households: where reach is measured to"),
    ] = None,
    reach_minutes: Annotated[
        float,
        typer.Option(
            "--reach-minutes",
            min=0.1,
            help="walking minutes to the community's service centre (rule reach.outside)",
        ),
    ] = 10.0,
    reach_target: Annotated[
        float,
        typer.Option(
            "--reach-target",
            min=0.0,
            max=1.0,
            help="share of households that must be within --reach-minutes",
        ),
    ] = 1.0,
    level: Annotated[
        Level | None,
        typer.Option(
            "--level",
            help="community or grid (picks the size band; files default community, a stored "
            "plan every level it has)",
        ),
    ] = None,
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
    coords: list[str] | None = CoordsOption,
    plan_name: Annotated[
        str | None, typer.Option("--plan-name", help="name of the stored plan")
    ] = None,
    encoding: Encoding = None,
) -> None:
    """Run the checks and print the report."""
    use_encoding(encoding)
    frames = frames_by_input(
        coords or [],
        ("areas", "roads", "compounds", "outline", "units", "facilities", "paths", "buildings"),
    )
    fields = {
        k: v
        for k, v in (("name", name_field), ("households", households_field),
                     ("residents", residents_field))
        if v
    }  # fmt: skip
    chosen = measure or ("residents" if residents_field and not households_field else "households")
    explicit = (
        band is not None
        or measure is not None
        or road_class
        or road_tolerance != 15.0
        or reach_minutes != 10.0
        or reach_target != 1.0
    )
    config = CheckConfig(
        measure=chosen,
        road_tolerance=road_tolerance,
        road_classes=frozenset(road_class) if road_class else None,
        reach_minutes=reach_minutes,
        reach_target_share=reach_target,
    )
    if band is not None:
        config = config.with_band(level or Level.COMMUNITY, band[0], band[1])
    override_table = load_overrides(overrides) if overrides else None
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=err_console, transient=True
    ) as progress:
        task = progress.add_task("reading", total=None)
        if areas is None:
            if (
                any(
                    p is not None
                    for p in (roads, compounds, outline, units, facilities, paths, buildings)
                )
                or fields
                or store
                or any(f is not Coords.WGS84 for f in frames.values())
            ):
                raise InputError(
                    "--roads, --compounds, --outline, --units, --facilities, --paths, "
                    "--buildings, the field options, --coords and --store go with --areas "
                    "FILE; a stored plan is checked against the store's "
                    "layers"
                )
            url = resolve_db(db)
            with open_store(url, create=False) as st:
                progress.update(task, description="checking the stored plan")
                result = check_stored_plan(
                    st,
                    plan,
                    level=level,
                    config=config if explicit else None,
                    overrides=override_table,
                    subdistrict=subdistrict,
                )
            reports = list(result.reports.values())
            document = result.to_json()
            plan_id = result.plan.plan_id
            stored_note = f"plan {plan_id} ({result.plan.name})"
        else:
            if plan is not None:
                raise InputError("--plan names a stored plan: use --db without --areas")
            lv = level or Level.COMMUNITY
            area_layer = read_input(
                areas,
                LayerKind.AREAS,
                fields=fields,
                id_field=id_field,
                layer=layer_name or area_layer_of(areas, lv.value),
                coords=frames["areas"],
            )
            progress.update(task, description="reading roads, compounds, outline, units")
            layers = CheckLayers(
                roads=read_input(roads, LayerKind.ROADS, coords=frames["roads"]),
                compounds=read_input(compounds, LayerKind.COMPOUNDS, coords=frames["compounds"]),
                outline=read_input(outline, LayerKind.OUTLINE, coords=frames["outline"]),
                units=read_input(units, LayerKind.UNITS, coords=frames["units"]),
                facilities=read_input(
                    facilities, LayerKind.FACILITIES, coords=frames["facilities"]
                ),
                paths=read_input(paths, LayerKind.PATHS, coords=frames["paths"]),
                buildings=read_input(buildings, LayerKind.BUILDINGS, coords=frames["buildings"]),
            )
            written = written_band(area_layer, lv.value) if band is None and not measure else None
            if written is not None:  # a file gridplan wrote: judged by the band it was planned in
                from_file = CheckConfig.from_targets(written, lv)
                config = replace(
                    config, measure=from_file.measure, bands={**config.bands, **from_file.bands}
                )
            progress.update(task, description=f"checking {len(area_layer)} {plural(lv.value)}")
            result = check_drawn(
                area_layer,
                level=lv,
                layers=layers,
                config=config,
                overrides=override_table,
                name=plan_name or areas.stem,
                source=areas.name,
            )
            report = result.report(lv)
            reports = [report]
            document = report.to_json()
            plan_id = None
            if store:
                with open_store(resolve_db(db)) as st:
                    plan_id = st.save_plan(code_drawn(st, result.plan), result.findings)
            stored_note = ""
    if output == OutputFormat.JSON:
        print_json(document)
    else:
        if stored_note:
            console.print(f"[bold]{stored_note}[/bold]", highlight=False)
        for report in reports:
            _print_tables(report)
        if plan_id is not None and areas is not None:
            console.print(f"stored as plan {plan_id}")
    for report in reports:
        for note in report.notes:
            err_console.print(f"note: {note}", markup=False, highlight=False)


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


__all__ = ["check_command", "register"]
