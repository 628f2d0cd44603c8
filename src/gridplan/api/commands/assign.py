"""``gridplan assign``: assign compounds to communities (落实属地管理).

Contract (issue 4; on the store, issue 11)::

    gridplan assign --compounds FILE --areas FILE [--compound-id-field F] [--area-id-field F]
        [--households-field F] [--residents-field F] [--overrides CSV]
        [--coords [FILE=]FRAME] [--out-coords FRAME] --out FILE
    gridplan assign [--db S] [--plan ID] [--overrides CSV] [--out-coords C] [--out FILE]

``--coords`` names the frame of the input files' coordinates: ``wgs84`` (what their CRS says;
the default), ``gcj02`` or ``bd09``, for every file, or ``FILE=FRAME`` for one (``--coords
compounds=gcj02``: compounds from Gaode, communities in WGS84); GCJ-02 and BD-09 are converted
to WGS84 before any geometry is compared. ``--out`` (GeoPackage, GeoJSON, Shapefile,
GeoParquet or CSV, in the compounds' own CRS) is written in the frame the compounds came in
unless ``--out-coords`` says otherwise; it holds every compound, its columns under the user's
own names, with ``area_id``, ``method`` (overlap | contained | nearest | override),
``overlap_share``, ``flagged`` and ``note``.
On the store (no files) the store's compounds go to the communities of ``--plan`` (default
the latest); the plan itself does not change. JSON on stdout: ``{"compounds", "households",
"households_unknown", "areas": [{area_id, compounds, households, households_unknown}],
"methods", "flagged": [...], "overrides": [...], "out", "plan_id"}`` (households of
compounds without a count are unknown, never 0). Exit 2 with a one-line reason on bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridplan.api.console import (
    CoordsOption,
    DbOption,
    Encoding,
    FormatOption,
    OutputFormat,
    console,
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
from gridplan.geo.assign import assign_compounds, assignment_summary
from gridplan.ops.assign import assign_store
from gridplan.ops.files import area_layer, check_output, user_columns, write_layers

HELP = (
    "Assign compounds (小区) to communities by largest overlap (points: containment); "
    "compounds outside every community go to the one they border along the longest "
    "non-arterial stretch, else the nearest (flagged); named overrides always win."
)


def register(app: typer.Typer) -> None:
    """Add the ``assign`` command to ``app``."""
    app.command("assign", help=HELP)(assign_command)


@guarded
def assign_command(
    compounds: Annotated[
        Path | None,
        typer.Option(
            "--compounds", help="compound polygons or points (default: the store's compounds)"
        ),
    ] = None,
    areas: Annotated[
        Path | None,
        typer.Option("--areas", help="community polygons (default: the communities of --plan)"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="output file (.gpkg .geojson .shp .parquet .csv)"),
    ] = None,
    plan: Annotated[
        int | None,
        typer.Option("--plan", help="store: the plan whose communities (default: the latest)"),
    ] = None,
    compounds_layer: Annotated[
        str | None,
        typer.Option("--compounds-layer", help="layer of a multi-layer --compounds file"),
    ] = None,
    areas_layer: Annotated[
        str | None, typer.Option("--areas-layer", help="layer of a multi-layer --areas file")
    ] = None,
    compound_id_field: Annotated[
        str | None, typer.Option("--compound-id-field", help="column with the compound ids")
    ] = None,
    area_id_field: Annotated[
        str | None, typer.Option("--area-id-field", help="column with the community ids")
    ] = None,
    households_field: Annotated[
        str | None,
        typer.Option("--households-field", help="compounds column with households (kept by name)"),
    ] = None,
    residents_field: Annotated[
        str | None,
        typer.Option("--residents-field", help="compounds column with residents (kept by name)"),
    ] = None,
    overrides: Annotated[
        Path | None,
        typer.Option("--overrides", help="CSV of named assignments: compound,community"),
    ] = None,
    roads: Annotated[
        Path | None,
        typer.Option("--roads", help="road centrelines (arterials do not count as a border)"),
    ] = None,
    coords: list[str] | None = CoordsOption,
    out_coords: Annotated[
        Coords | None,
        typer.Option("--out-coords", help="frame of --out (default: the frame of --compounds)"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="threads for the geometry tests (default: cores, max 4)"
        ),
    ] = None,
    db: str | None = DbOption,
    output: OutputFormat = FormatOption,
    encoding: Encoding = None,
) -> None:
    """Assign every compound and write the result."""
    use_encoding(encoding)
    frames = frames_by_input(coords or [], ("compounds", "areas", "roads"))
    if out is not None:
        check_output(out, store=resolve_db(db))
    fields = {
        k: v for k, v in (("households", households_field), ("residents", residents_field)) if v
    }
    table = load_overrides(overrides) if overrides is not None else None
    if compounds is None and areas is None:
        if roads is not None or fields or compound_id_field or area_id_field:
            raise InputError(
                "--roads and the field options go with --compounds/--areas files; on the store "
                "its compounds, roads and the plan's communities are used"
            )
        if any(f is not Coords.WGS84 for f in frames.values()):
            raise InputError(
                "--coords names the frame of --compounds/--areas files; the store is WGS84 "
                "(use --out-coords to write --out in another frame)"
            )
        with open_store(resolve_db(db), create=False) as store:
            result, plan_id = assign_store(store, plan, overrides=table, workers=workers)
    elif compounds is None or areas is None:
        raise InputError("give both --compounds and --areas, or neither (the store's)")
    else:
        if plan is not None:
            raise InputError("--plan names a stored plan: use --db without --compounds/--areas")
        if out is None:
            raise InputError("--compounds/--areas files need --out FILE")
        comp = read_input(
            compounds,
            LayerKind.COMPOUNDS,
            fields=fields or None,
            id_field=compound_id_field,
            layer=compounds_layer,
            coords=frames["compounds"],
        )
        area = read_input(
            areas,
            LayerKind.AREAS,
            id_field=area_id_field,
            layer=areas_layer or area_layer(areas, "community"),
            coords=frames["areas"],
        )
        road_layer = read_input(roads, LayerKind.ROADS, coords=frames["roads"])
        result = assign_compounds(comp, area, overrides=table, roads=road_layer, workers=workers)
        plan_id = None
    summary = assignment_summary(result)
    names = {
        "compound_id": compound_id_field,
        "households": households_field,
        "residents": residents_field,
    }
    added = ("name", "households", "residents", "kind")  # schema columns the input may lack
    paths = (
        write_layers(
            {"compounds": user_columns(result, names, drop_empty=added)},
            out,
            input_crs=result.crs,
            coords=out_coords if out_coords is not None else frames["compounds"],
        )
        if out is not None
        else []
    )
    summary["out"] = str(paths[0]) if paths else None
    summary["plan_id"] = plan_id
    if output == OutputFormat.JSON:
        print_json(summary)
    else:
        _print(summary, out)


def _print(summary: dict, out: Path | None) -> None:
    from rich.table import Table  # only for the table output

    methods = ", ".join(f"{k} {v}" for k, v in summary["methods"].items())
    where = f"plan {summary['plan_id']}'s communities" if summary["plan_id"] else "communities"
    console.print(
        f"[bold]{summary['compounds']} compounds assigned[/bold] to {where} ({methods}); "
        f"{len(summary['flagged'])} flagged"
        + (f"; written to {summary['out']}" if summary["out"] else ""),
        highlight=False,
    )
    table = Table(title="households per community")
    table.add_column("community")
    table.add_column("compounds", justify="right")
    table.add_column("households", justify="right")
    for row in summary["areas"]:
        hh = "unknown" if row["households"] is None else f"{row['households']:,.0f}"
        if row["households"] is not None and row["households_unknown"]:
            hh += f" (+{row['households_unknown']} unknown)"
        table.add_row(str(row["area_id"]), str(row["compounds"]), hh)
    console.print(table)
    if summary["flagged"]:
        flagged = Table(title="flagged compounds")
        for col in ("compound", "community", "method", "share", "why"):
            flagged.add_column(col)
        for f in summary["flagged"]:
            flagged.add_row(
                str(f["compound_id"]),
                str(f["area_id"]),
                f["method"],
                f"{f['overlap_share']:.0%}",
                f["note"] or "",
            )
        console.print(flagged)
    applied = [o for o in summary["overrides"] if o["status"] == "applied"]
    if summary["overrides"]:
        console.print(
            f"overrides: {len(applied)} applied, {len(summary['overrides']) - len(applied)} "
            "not matched ("
            + "; ".join(
                f"{o['compound']}: {o['status']}"
                for o in summary["overrides"]
                if o["status"] != "applied"
            )
            + ")"
        )


__all__ = ["assign_command", "register"]
