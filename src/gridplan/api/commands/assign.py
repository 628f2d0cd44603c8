"""``gridplan assign``: assign compounds to communities (落实属地管理).

Contract (issue 4)::

    gridplan assign --compounds FILE --areas FILE [--compound-id-field F] [--area-id-field F]
        [--overrides CSV] --out FILE [--format table|json]

``--out`` (GeoPackage or GeoJSON, EPSG:4326) holds every compound with ``area_id``,
``method`` (overlap | contained | nearest | override), ``overlap_share``, ``flagged`` and
``note``. JSON on stdout: ``{"compounds", "households", "areas": [{area_id, compounds,
households}], "methods", "flagged": [...], "overrides": [...], "out"}``. Exit 2 with a
one-line reason on bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridplan.api.console import FormatOption, OutputFormat, console, guarded, print_json
from gridplan.data.layers import LayerKind
from gridplan.data.readers import read_layer_file
from gridplan.data.reference import load_overrides
from gridplan.geo.assign import assign_compounds, assignment_summary
from gridplan.ops.files import check_output, user_columns, write_layers

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
        Path, typer.Option("--compounds", help="compound polygons or points (any vector file)")
    ],
    areas: Annotated[Path, typer.Option("--areas", help="community polygons")],
    out: Annotated[Path, typer.Option("--out", help="output file (.gpkg or .geojson)")],
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
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="threads for the geometry tests (default: cores, max 4)"
        ),
    ] = None,
    output: OutputFormat = FormatOption,
) -> None:
    """Assign every compound and write the result."""
    check_output(out)
    fields = {
        k: v for k, v in (("households", households_field), ("residents", residents_field)) if v
    }
    comp = read_layer_file(
        compounds, LayerKind.COMPOUNDS, fields=fields or None, id_field=compound_id_field
    )
    area = read_layer_file(areas, LayerKind.AREAS, id_field=area_id_field)
    table = load_overrides(overrides) if overrides is not None else None
    road_layer = read_layer_file(roads, LayerKind.ROADS) if roads is not None else None
    result = assign_compounds(comp, area, overrides=table, roads=road_layer, workers=workers)
    summary = assignment_summary(result)
    names = {
        "compound_id": compound_id_field,
        "households": households_field,
        "residents": residents_field,
    }
    added = ("name", "households", "residents", "kind")  # schema columns the input may lack
    paths = write_layers({"compounds": user_columns(result, names, drop_empty=added)}, out)
    summary["out"] = str(paths[0])
    if output == OutputFormat.JSON:
        print_json(summary)
    else:
        _print(summary, out)


def _print(summary: dict, out: Path) -> None:
    from rich.table import Table  # only for the table output

    methods = ", ".join(f"{k} {v}" for k, v in summary["methods"].items())
    console.print(
        f"[bold]{summary['compounds']} compounds assigned[/bold] ({methods}); "
        f"{len(summary['flagged'])} flagged; written to {out}"
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
