"""``gridplan grids``: divide communities into coded grids (一网多格).

Contract (issue 4)::

    gridplan grids --areas FILE --units FILE --households-field F [--band LO HI]
        [--codes county,subdistrict] --out FILE [--format table|json]

``--out`` (GeoPackage or GeoJSON, EPSG:4326) holds the grid polygons with ``grid_code``,
``area_id``, ``households`` (and ``residents``, ``units``, ``in_band``, ``note``). JSON on
stdout: ``{"band", "grids", "in_band", "communities": [{area_id, households, grids, valid,
explanation}], "grid_list": [{grid_code, area_id, households, in_band, note}], "unplaced_units",
"out", "plan_id"}``. ``--store`` saves communities and grids as a plan (``--db``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from gridplan.api.commands.assign import write_layer
from gridplan.api.console import (
    DbOption,
    FormatOption,
    OutputFormat,
    check_time_limit,
    console,
    err_console,
    guarded,
    print_json,
    resolve_db,
)
from gridplan.data.layers import LayerKind
from gridplan.data.readers import read_layer_file
from gridplan.data.store.base import open_store
from gridplan.errors import InputError
from gridplan.geo.codes import CodeScheme
from gridplan.geo.grids import GridParams, GridsResult, divide_into_grids

HELP = (
    "Divide each community into contiguous grids in a household band (default 300–500), "
    "cutting along roads and compound edges; code them county+subdistrict+community+sequence, "
    "numbered west to east, then north to south."
)

_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}


def register(app: typer.Typer) -> None:
    """Add the ``grids`` command to ``app``."""
    app.command("grids", help=HELP)(grids_command)


@guarded
def grids_command(
    areas: Annotated[Path, typer.Option("--areas", help="community polygons")],
    units: Annotated[Path, typer.Option("--units", help="unit polygons with households")],
    households_field: Annotated[
        str, typer.Option("--households-field", help="units column with households")
    ],
    out: Annotated[Path, typer.Option("--out", help="output file (.gpkg or .geojson)")],
    band: Annotated[
        tuple[float, float], typer.Option("--band", help="households per grid: LO HI")
    ] = (300.0, 500.0),
    codes: Annotated[
        str | None,
        typer.Option("--codes", help="county,subdistrict codes, e.g. 350582,001"),
    ] = None,
    area_id_field: Annotated[
        str | None, typer.Option("--area-id-field", help="column with the community ids")
    ] = None,
    unit_id_field: Annotated[
        str | None, typer.Option("--unit-id-field", help="column with the unit ids")
    ] = None,
    roads: Annotated[
        Path | None, typer.Option("--roads", help="road centrelines (cuts prefer roads)")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="random seed (results repeat)")] = 0,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="seconds per community for the engine")
    ] = 10.0,
    output: OutputFormat = FormatOption,
    db: str | None = DbOption,
    store: Annotated[
        bool, typer.Option("--store", help="save communities and grids as a plan (--db)")
    ] = False,
    plan_name: Annotated[
        str | None, typer.Option("--plan-name", help="name of the stored plan")
    ] = None,
) -> None:
    """Divide the communities and write the grids."""
    driver = _DRIVERS.get(out.suffix.lower())
    if driver is None:
        raise InputError(f"--out {out.name}: use a .gpkg or .geojson file")
    check_time_limit(time_limit)
    scheme = CodeScheme.parse(codes) if codes else None
    params = GridParams(lo=band[0], hi=band[1], seed=seed, time_limit=time_limit)
    area_layer = read_layer_file(areas, LayerKind.AREAS, id_field=area_id_field)
    unit_layer = read_layer_file(
        units, LayerKind.UNITS, fields={"households": households_field}, id_field=unit_id_field
    )
    road_layer = read_layer_file(roads, LayerKind.ROADS) if roads is not None else None
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("dividing communities", total=len(area_layer))

        def step(area_id: str) -> None:
            bar.update(task, advance=1, description=f"community {area_id}")

        result = divide_into_grids(
            unit_layer, area_layer, params=params, scheme=scheme, roads=road_layer, progress=step
        )
    write_layer(result.grids, out, driver)
    plan_id = None
    if store:
        plan = result.to_plan(area_layer, name=plan_name or f"grids {units.stem}", source="grids")
        with open_store(resolve_db(db)) as st:
            plan_id = st.save_plan(plan)
    data = _summary(result, out, plan_id)
    if output == OutputFormat.JSON:
        print_json(data)
    else:
        _print(data)


def _summary(result: GridsResult, out: Path, plan_id: int | None) -> dict:
    grids = result.grids
    communities = result.communities
    return {
        "band": list(result.band),
        "grids": len(grids),
        "in_band": int(grids["in_band"].sum()),
        "communities": [
            {
                "area_id": area_id,
                "households": float(households),
                "grids": int(n_grids),
                "valid": bool(valid),
                "explanation": explanation,
            }
            for area_id, households, n_grids, valid, explanation in zip(
                communities["area_id"],
                communities["households"],
                communities["grids"],
                communities["valid"],
                communities["explanation"],
                strict=True,
            )
        ],
        "grid_list": [
            {
                "grid_code": r.grid_code,
                "area_id": r.area_id,
                "households": float(r.households),
                "in_band": bool(r.in_band),
                "note": r.note,
            }
            for r in grids.itertuples(index=False)
        ],
        "unplaced_units": result.unplaced_units,
        "out": str(out),
        "plan_id": plan_id,
    }


def _print(data: dict) -> None:
    lo, hi = data["band"]
    console.print(
        f"[bold]{data['grids']} grids[/bold] in {len(data['communities'])} communities, "
        f"{data['in_band']} in band {lo:g}–{hi:g} households; written to {data['out']}"
        + (f"; stored as plan {data['plan_id']}" if data["plan_id"] is not None else "")
    )
    table = Table(title="communities")
    for col in ("community", "households", "grids", "valid", "explanation"):
        table.add_column(col, justify="right" if col in ("households", "grids") else "left")
    for c in data["communities"]:
        table.add_row(
            str(c["area_id"]),
            f"{c['households']:,.0f}",
            str(c["grids"]),
            "yes" if c["valid"] else "no",
            c["explanation"] or "",
        )
    console.print(table)
    if data["unplaced_units"]:
        console.print(
            f"{len(data['unplaced_units'])} unit(s) lie in no community: "
            + ", ".join(data["unplaced_units"][:10])
        )


__all__ = ["grids_command", "register"]
