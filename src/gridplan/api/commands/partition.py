"""``gridplan partition``: redistrict units into contiguous areas in a household band.

Contract (issue 5)::

    gridplan partition --units FILE --households-field F --band LO HI [--k N] [--roads FILE]
        [--baseline-field F] [--seed N] [--time-limit S] --out FILE [--format table|json]

``--out`` (GeoPackage or GeoJSON, EPSG:4326) holds the units with a ``district`` column. JSON
on stdout: ``{"valid", "reason", "areas": [{"district", "households", "units",
"road_boundary_share"}], "households_moved", "seconds"}``. When no valid plan exists the
summary says why (``valid`` false), nothing is written and the exit status is 1.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridplan.api.commands.assign import write_layer
from gridplan.api.console import (
    FormatOption,
    OutputFormat,
    check_time_limit,
    console,
    err_console,
    guarded,
    print_json,
)
from gridplan.data.layers import LayerKind
from gridplan.data.readers import read_layer_file
from gridplan.errors import InputError
from gridplan.geo.adjacency import build_unit_graph
from gridplan.geo.partition import PartitionResult, partition_graph

HELP = (
    "Redistrict units into contiguous areas whose households lie in [LO, HI]: a fixed number "
    "(--k) or as many as the band allows. Cuts prefer roads (major roads first), short "
    "boundaries and, with --baseline-field, the fewest households moved. Writes the units "
    "with a district column; says exactly why when no plan exists (exit status 1)."
)

_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}

#: Exit status when no valid plan exists.
EXIT_NO_PLAN = 1


def register(app: typer.Typer) -> None:
    """Add the ``partition`` command to ``app``."""
    app.command("partition", help=HELP)(partition_command)


@guarded
def partition_command(
    units: Annotated[Path, typer.Option("--units", help="unit polygons with households")],
    households_field: Annotated[
        str, typer.Option("--households-field", help="units column with households")
    ],
    band: Annotated[tuple[float, float], typer.Option("--band", help="households per area: LO HI")],
    out: Annotated[Path, typer.Option("--out", help="output file (.gpkg or .geojson)")],
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
    output: OutputFormat = FormatOption,
) -> None:
    """Partition the units and write them with a ``district`` column."""
    t0 = time.perf_counter()
    driver = _DRIVERS.get(out.suffix.lower())
    if driver is None:
        raise InputError(f"--out {out.name}: use a .gpkg or .geojson file")
    lo, hi = band
    if not (0 <= lo <= hi and hi > 0):  # written so that NaN fails too
        raise InputError(f"--band {lo:g} {hi:g}: need 0 <= LO <= HI and HI > 0")
    if k is not None and k < 1:
        raise InputError(f"--k {k}: need at least 1 area")
    check_time_limit(time_limit)
    layer = read_layer_file(
        units, LayerKind.UNITS, fields={"households": households_field}, id_field=unit_id_field
    )
    if baseline_field is not None and baseline_field not in layer.columns:
        have = ", ".join(str(c) for c in layer.columns if c != "geometry")
        raise InputError(f"--baseline-field {baseline_field}: not in {units.name} ({have})")
    dupes = layer["unit_id"][layer["unit_id"].duplicated()]
    if len(dupes):
        raise InputError(f"{units.name}: duplicate unit id(s) {', '.join(dupes.astype(str)[:5])}")
    road_layer = read_layer_file(roads, LayerKind.ROADS) if roads is not None else None
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"building the graph of {len(layer)} units", total=None)
        graph = build_unit_graph(layer, road_layer)
        bar.update(task, description="partitioning")
        baseline = layer[baseline_field].to_numpy() if baseline_field is not None else None
        result = partition_graph(
            graph,
            lo,
            hi,
            k=k,
            seed=seed,
            time_limit=time_limit,
            baseline=baseline,
            join_islands=not no_join_islands,
        )
    if result.valid:
        frame = layer.copy()
        frame["district"] = result.district_of()
        write_layer(frame, out, driver)
    data = summary(result, time.perf_counter() - t0)
    if output == OutputFormat.JSON:
        print_json(data)
    else:
        _print(data, result, out)
    if not result.valid:
        if output != OutputFormat.JSON:
            err_console.print(f"error: {result.reason}", markup=False, highlight=False)
        raise typer.Exit(EXIT_NO_PLAN)


def summary(result: PartitionResult, seconds: float) -> dict[str, Any]:
    """The JSON summary of a partition run (the CLI contract)."""
    return {
        "valid": bool(result.valid),
        "reason": result.reason,
        "areas": [
            {
                "district": name,
                "households": float(result.totals[i]),
                "units": int(result.units[i]),
                "road_boundary_share": float(result.road_share[i]),
            }
            for i, name in enumerate(result.names)
        ],
        "households_moved": (
            None if result.households_moved is None else float(result.households_moved)
        ),
        "seconds": round(seconds, 3),
    }


def _print(data: dict[str, Any], result: PartitionResult, out: Path) -> None:
    if not data["valid"]:
        console.print(f"[bold red]no valid plan[/bold red]: {data['reason']}", highlight=False)
        return
    moved = (
        f"; {data['households_moved']:,.0f} households moved"
        if data["households_moved"] is not None
        else ""
    )
    console.print(
        f"[bold]{len(data['areas'])} areas[/bold], all contiguous and in band{moved}; "
        f"{data['seconds']:.2f} s; written to {out}"
    )
    for join in result.islands:
        console.print(
            f"island of {len(join.units)} unit(s) ({', '.join(join.units[:3])}) joined to "
            f"unit {join.joined_to} ({join.distance:,.0f} m away)"
        )
    table = Table(title="areas")
    for col in ("district", "households", "units", "road share"):
        table.add_column(col, justify="left" if col == "district" else "right")
    for a in data["areas"]:
        table.add_row(
            a["district"],
            f"{a['households']:,.0f}",
            str(a["units"]),
            f"{a['road_boundary_share']:.0%}",
        )
    console.print(table)


__all__ = ["partition_command", "register", "summary"]
