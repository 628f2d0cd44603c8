"""``gridplan partition``: redistrict units into contiguous communities in a household band.

::

    gridplan partition --db S --band LO HI [--k N] [--plan ID] [--measure M] [--seed N]
        [--time-limit S] [--out FILE]
    gridplan partition --units FILE [--households-field F] --band LO HI [--k N]
        [--roads FILE] [--baseline-field F] [--seed N] [--time-limit S]
        [--coords [FILE=]FRAME] [--out-coords FRAME] --out FILE

On the store (``--db`` or the default store, no ``--units``) it partitions the store's units
(``gridplan units``) along the store's roads and stores the communities as a new plan (checked,
with its findings; ``--plan ID`` re-districts that plan with the fewest households moved and
becomes the parent), printing the plan id. From files it reads the units (and roads).

``--out`` writes the communities (layer ``communities``: ``area_id``, ``code``, ``name``,
``households``, ``residents``, band ``status``, ``findings``) and the units with their
``community_id`` and ``community_code`` (layer ``units``; the user's own columns under their
own names) — GeoPackage, GeoJSON, Shapefile, GeoParquet or CSV (single-layer formats write
the units beside: ``FILE-units.geojson``). The communities are a valid ``--areas`` input of
``grids``, ``check``, ``map`` and ``import --kind areas``.

``--coords`` names the frame of the input files: ``wgs84`` (what their CRS says; the
default), ``gcj02`` or ``bd09`` for every file, or ``FILE=FRAME`` for one (``units=gcj02``).
Both layers are written in the units' CRS (EPSG:4490 in, EPSG:4490 out; GeoJSON and CSV are
EPSG:4326) and in the units' frame (``--coords gcj02`` in, GCJ-02 out) unless
``--out-coords`` says otherwise.

JSON on stdout: ``{"valid", "reason", "plan_id", "areas": [{"district", "code",
"households", "units", "blocks", "road_boundary_share"}], "households_moved", "findings",
"seconds", "out"}``. When no valid plan exists the summary says why (``valid`` false), nothing is
written or stored and the exit status is 1.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridplan.api.console import (
    CoordsOption,
    DbOption,
    Encoding,
    FormatOption,
    OutputFormat,
    check_time_limit,
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
from gridplan.data.store.base import open_store
from gridplan.errors import InputError
from gridplan.geo.rules import CheckLayers
from gridplan.ops.checks import check_plan
from gridplan.ops.files import check_output, user_columns, write_layers
from gridplan.ops.partition import PartitionOutcome, PartitionSpec, partition_store, partition_units
from gridplan.ops.plans import area_table
from gridplan.plan import Level

HELP = (
    "Redistrict units into contiguous communities whose households lie in [LO, HI]: a fixed "
    "number (--k) or as many as the band allows. Cuts prefer roads (major roads first), short "
    "boundaries and, with --plan/--baseline-field, the fewest households moved. On the store "
    "(no --units) the result is stored as a new plan; --out writes communities and units. "
    "Says exactly why when no plan exists (exit status 1)."
)

#: Exit status when no valid plan exists.
EXIT_NO_PLAN = 1


def register(app: typer.Typer) -> None:
    """Add the ``partition`` command to ``app``."""
    app.command("partition", help=HELP)(partition_command)


@guarded
def partition_command(
    band: Annotated[tuple[float, float], typer.Option("--band", help="households per area: LO HI")],
    units: Annotated[
        Path | None,
        typer.Option("--units", help="unit polygons with households (default: the store's)"),
    ] = None,
    households_field: Annotated[
        str | None, typer.Option("--households-field", help="units column with households")
    ] = None,
    residents_field: Annotated[
        str | None, typer.Option("--residents-field", help="units column with residents")
    ] = None,
    measure: Annotated[
        str, typer.Option("--measure", help="what the band counts: households or residents")
    ] = "households",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="write communities and units (.gpkg .geojson .shp .parquet .csv)"
        ),
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", help="number of areas (default: as many as fit)")
    ] = None,
    roads: Annotated[
        Path | None, typer.Option("--roads", help="road centrelines (cuts prefer roads)")
    ] = None,
    baseline_field: Annotated[
        str | None,
        typer.Option("--baseline-field", help="units column with the current district"),
    ] = None,
    plan: Annotated[
        int | None,
        typer.Option("--plan", help="store: re-district this plan (fewest households moved)"),
    ] = None,
    unit_id_field: Annotated[
        str | None, typer.Option("--unit-id-field", help="units column with the unit ids")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="random seed (results repeat)")] = 0,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="seconds for the whole run")
    ] = None,
    no_join_islands: Annotated[
        bool,
        typer.Option("--no-join-islands", help="don't join island units to their nearest unit"),
    ] = False,
    coords: list[str] | None = CoordsOption,
    out_coords: Annotated[
        Coords | None,
        typer.Option("--out-coords", help="frame of --out (default: the frame of --units)"),
    ] = None,
    plan_name: Annotated[
        str | None, typer.Option("--plan-name", help="name of the stored plan")
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="refuse when a block alone exceeds the ceiling, instead of cutting it along "
            "its buildings (and making a building above the ceiling its own community)",
        ),
    ] = False,
    db: str | None = DbOption,
    output: OutputFormat = FormatOption,
    encoding: Encoding = None,
) -> None:
    """Partition the units; store the plan (store) or write it (files)."""
    use_encoding(encoding)
    frames = frames_by_input(coords or [], ("units", "roads"))
    t0 = time.perf_counter()
    if out is not None:
        check_output(out, store=resolve_db(db))
    check_time_limit(time_limit)
    spec = PartitionSpec(
        band=band,
        measure=measure,
        k=k,
        seed=seed,
        time_limit=time_limit,
        join_islands=not no_join_islands,
        strict=strict,
    )
    names: dict[str, str | None] = {
        "unit_id": unit_id_field,
        "households": households_field,
        "residents": residents_field,
    }
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("partitioning", total=None)
        if units is None:
            if roads is not None or baseline_field is not None:
                raise InputError(
                    "--roads and --baseline-field go with --units; on the store the store's "
                    "roads are used and --plan names the baseline"
                )
            if any(f is not Coords.WGS84 for f in frames.values()):
                raise InputError(
                    "--coords names the frame of --units/--roads files; the store is WGS84 "
                    "(use --out-coords to write --out in another frame)"
                )
            url = resolve_db(db)
            with open_store(url, create=False) as store:
                outcome = partition_store(store, spec, baseline_plan=plan, name=plan_name)
            source = url
        else:
            if plan is not None:
                raise InputError("--plan re-districts a stored plan: use --db without --units")
            if out is None:
                raise InputError("--units FILE needs --out FILE (or drop --units to use the store)")
            fields = {k: v for k, v in names.items() if v and k != "unit_id"}
            layer = read_input(
                units,
                LayerKind.UNITS,
                fields=fields,
                id_field=unit_id_field,
                coords=frames["units"],
            )
            if baseline_field is not None and baseline_field not in layer.columns:
                have = ", ".join(str(c) for c in layer.columns if c != "geometry")
                raise InputError(f"--baseline-field {baseline_field}: not in {units.name} ({have})")
            road_layer = read_input(roads, LayerKind.ROADS, coords=frames["roads"])
            bar.update(task, description=f"partitioning {len(layer)} units")
            outcome = partition_units(
                layer,
                spec,
                roads=road_layer,
                baseline=layer[baseline_field].to_numpy() if baseline_field else None,
                name=plan_name or f"{units.stem} communities",
                source=f"partition:{units.name}",
            )
            if outcome.plan is not None:
                checked = check_plan(outcome.plan, CheckLayers(roads=road_layer, units=layer))
                outcome = replace(outcome, check=checked)
            source = str(units)
        paths: list[Path] = []
        if out is not None and outcome.plan is not None:
            bar.update(task, description=f"writing {out}")
            findings = outcome.check.findings if outcome.check is not None else None
            communities = area_table(
                outcome.plan,
                Level.COMMUNITY,
                findings.drop(columns="geometry") if findings is not None else None,
            )
            paths = write_layers(
                {"communities": communities, "units": user_columns(outcome.units, names)},
                out,
                input_crs=outcome.units.crs,
                coords=out_coords if out_coords is not None else frames["units"],
            )
    data = outcome.to_json(time.perf_counter() - t0)
    data["out"] = [str(p) for p in paths]
    data["source"] = source
    if output == OutputFormat.JSON:
        print_json(data)
    else:
        _print(data, outcome, "" if units is not None or db is None else f" --db {db}")
    if not outcome.result.valid:
        if output != OutputFormat.JSON:
            err_console.print(f"error: {outcome.result.reason}", markup=False, highlight=False)
        raise typer.Exit(EXIT_NO_PLAN)


def _print(data: dict[str, Any], outcome: PartitionOutcome, at: str = "") -> None:
    if not data["valid"]:
        console.print(f"[bold red]no valid plan[/bold red]: {data['reason']}", highlight=False)
        return
    moved = (
        f"; {data['households_moved']:,.0f} households moved"
        if data["households_moved"] is not None
        else ""
    )
    where = []
    if data["plan_id"] is not None:
        where.append(f"stored as plan {data['plan_id']}")
    if data["out"]:
        where.append("written to " + ", ".join(data["out"]))
    console.print(
        f"[bold]{len(data['areas'])} communities[/bold], all contiguous and in band{moved}; "
        f"{data['seconds']:.2f} s" + ("; " + "; ".join(where) if where else ""),
        highlight=False,
    )
    for join in outcome.result.islands:
        console.print(
            f"island of {len(join.units)} unit(s) ({', '.join(join.units[:3])}) joined to "
            f"unit {join.joined_to} ({join.distance:,.0f} m away)"
        )
    for note in data["notes"]:
        console.print(f"note: {note}", highlight=False, markup=False)
    by_level = data["findings"]
    found = ", ".join(f"{r} {n}" for lv in by_level.values() for r, n in lv.items()) or "none"
    console.print(f"findings: {found}", highlight=False)
    table = Table(title="communities")
    for col in ("community", "code", "households", "units", "blocks", "road share"):
        table.add_column(col, justify="left" if col in ("community", "code") else "right")
    for a in data["areas"]:
        table.add_row(
            a["district"],
            a["code"] or "",
            "unknown" if a["households"] is None else f"{a['households']:,.0f}",
            str(a["units"]),
            str(a["blocks"]),
            f"{a['road_boundary_share']:.0%}",
        )
    console.print(table)
    if data["plan_id"] is not None:
        console.print(
            f"next: gridplan grids{at} --plan {data['plan_id']} --band 300 500 "
            "--codes COUNTY,SUBDISTRICT (e.g. 350582,001)",
            highlight=False,
        )


__all__ = ["partition_command", "register"]
