"""``gridplan grids``: divide communities into coded grids (一网多格).

::

    gridplan grids --db S [--plan ID] [--band LO HI] [--codes county,subdistrict] [--out FILE]
    gridplan grids --areas FILE --units FILE [--households-field F] [--band LO HI]
        [--codes county,subdistrict] [--roads FILE] [--coords [FILE=]FRAME]
        [--out-coords FRAME] --out FILE

On the store (no ``--areas``) it divides the communities of ``--plan`` (default: the latest
plan) into grids of the store's units and stores the result as a child plan (parent = that
plan; communities, names and codes kept; checked and stored with its findings), printing its
id. From files it reads community polygons and units.

``--out`` writes the grids (layer ``grids``: ``area_id`` = the grid code, ``code``,
``parent_id`` = the community, ``parent_code``, ``households``, ``residents``, band
``status``, ``findings``) and the communities (layer ``communities``), a valid input of
``map --grids``, ``check --level grid`` and ``import --kind areas --level grid``.

``--coords`` names the frame of the input files: ``wgs84`` (what their CRS says; the
default), ``gcj02`` or ``bd09`` for every file, or ``FILE=FRAME`` for one (``areas=gcj02``).
Both layers are written in the CRS of the ``--areas`` file (EPSG:4490 in, EPSG:4490 out;
GeoJSON and CSV are EPSG:4326) and in its frame (``--coords gcj02`` in, GCJ-02 out) unless
``--out-coords`` says otherwise.

JSON on stdout: ``{"band", "grids", "in_band", "communities": [{area_id, code, households,
grids, valid, explanation}], "grid_list": [{grid_code, area_id, households, in_band, note}],
"unplaced_units", "plan_id", "parent_id", "findings", "out"}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
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
from gridplan.geo.codes import CodeScheme
from gridplan.geo.grids import GridParams
from gridplan.geo.rules import CheckLayers
from gridplan.ops.checks import check_plan
from gridplan.ops.codes import code_drawn
from gridplan.ops.files import area_layer as area_layer_of
from gridplan.ops.files import check_output, write_layers
from gridplan.ops.grids import GridOutcome, grid_areas, grid_store
from gridplan.ops.plans import area_table
from gridplan.plan import Level

HELP = (
    "Divide each community into contiguous grids in a household band (default 300–500), "
    "cutting along roads and compound edges; code them county+subdistrict+community+sequence, "
    "numbered west to east, then north to south. On the store (no --areas) the grids of "
    "--plan (default: the latest) are stored as its child plan."
)


def register(app: typer.Typer) -> None:
    """Add the ``grids`` command to ``app``."""
    app.command("grids", help=HELP)(grids_command)


@guarded
def grids_command(
    areas: Annotated[
        Path | None, typer.Option("--areas", help="community polygons (default: the store's plan)")
    ] = None,
    units: Annotated[
        Path | None, typer.Option("--units", help="unit polygons with households (with --areas)")
    ] = None,
    households_field: Annotated[
        str | None, typer.Option("--households-field", help="units column with households")
    ] = None,
    residents_field: Annotated[
        str | None, typer.Option("--residents-field", help="units column with residents")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="write grids and communities (.gpkg .geojson .shp .parquet .csv)"
        ),
    ] = None,
    plan: Annotated[
        int | None, typer.Option("--plan", help="store: the community plan (default: the latest)")
    ] = None,
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
    compounds: Annotated[
        Path | None,
        typer.Option(
            "--compounds", help="compound polygons: one under the ceiling stays in one grid"
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="random seed (results repeat)")] = 0,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="seconds per community for the engine")
    ] = 10.0,
    output: OutputFormat = FormatOption,
    db: str | None = DbOption,
    store: Annotated[
        bool,
        typer.Option("--store", help="files: also store communities and grids as a plan (--db)"),
    ] = False,
    coords: list[str] | None = CoordsOption,
    out_coords: Annotated[
        Coords | None,
        typer.Option("--out-coords", help="frame of --out (default: the frame of --areas)"),
    ] = None,
    plan_name: Annotated[
        str | None, typer.Option("--plan-name", help="name of the stored plan")
    ] = None,
    encoding: Encoding = None,
) -> None:
    """Divide the communities into grids."""
    use_encoding(encoding)
    frames = frames_by_input(coords or [], ("areas", "units", "roads", "compounds"))
    if out is not None:
        check_output(out, store=resolve_db(db))
    check_time_limit(time_limit)
    scheme = CodeScheme.parse(codes) if codes else None
    params = GridParams(lo=band[0], hi=band[1], seed=seed, time_limit=time_limit)
    if areas is None:
        if units is not None or roads is not None or compounds is not None:
            raise InputError(
                "--units, --roads and --compounds go with --areas; on the store its layers are used"
            )
        if any(f is not Coords.WGS84 for f in frames.values()):
            raise InputError(
                "--coords names the frame of --areas/--units files; the store is WGS84 "
                "(use --out-coords to write --out in another frame)"
            )
        input_crs = None
        url = resolve_db(db)
        with open_store(url, create=False) as st:
            parent = st.load_plan(plan)
            total = len(parent.areas_at(Level.COMMUNITY))
            with _CommunityBar(total) as step:
                outcome = grid_store(
                    st, params, plan_id=parent.plan_id, scheme=scheme, name=plan_name, progress=step
                )
    else:
        if plan is not None:
            raise InputError("--plan names a stored plan: use --db without --areas")
        if units is None:
            raise InputError("--areas FILE needs --units FILE (or drop --areas to use the store)")
        if out is None and not store:
            raise InputError("--areas FILE needs --out FILE (or --store)")
        area_layer = read_input(
            areas,
            LayerKind.AREAS,
            id_field=area_id_field,
            layer=area_layer_of(areas, "community"),
            coords=frames["areas"],
        )
        input_crs = area_layer.crs
        fields = {
            k: v for k, v in (("households", households_field), ("residents", residents_field)) if v
        } or None
        unit_layer = read_input(
            units, LayerKind.UNITS, fields=fields, id_field=unit_id_field, coords=frames["units"]
        )
        road_layer = read_input(roads, LayerKind.ROADS, coords=frames["roads"])
        compound_layer = read_input(compounds, LayerKind.COMPOUNDS, coords=frames["compounds"])
        with _CommunityBar(len(area_layer)) as step:
            outcome = grid_areas(
                unit_layer,
                area_layer,
                params,
                scheme=scheme,
                roads=road_layer,
                name=plan_name or f"grids {units.stem}",
                progress=step,
                compounds=compound_layer,
            )
        checked = check_plan(
            outcome.plan, CheckLayers(roads=road_layer, units=unit_layer, compounds=compound_layer)
        )
        plan_id = None
        if store:
            with open_store(resolve_db(db)) as st:
                plan_id = st.save_plan(code_drawn(st, outcome.plan), checked.findings)
        outcome = GridOutcome(outcome.result, outcome.plan, checked, plan_id)
    paths: list[Path] = []
    if out is not None:
        findings = outcome.check.findings.drop(columns="geometry") if outcome.check else None
        paths = write_layers(
            {
                "grids": area_table(outcome.plan, Level.GRID, findings),
                "communities": area_table(outcome.plan, Level.COMMUNITY, findings),
            },
            out,
            input_crs=input_crs,
            coords=out_coords if out_coords is not None else frames["areas"],
        )
    data = outcome.to_json()
    data["out"] = [str(p) for p in paths]
    if output == OutputFormat.JSON:
        print_json(data)
    else:
        _print(data)


class _CommunityBar:
    """A progress bar over communities; entering gives the per-community callback."""

    def __init__(self, total: int) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
        )
        self.total = total

    def __enter__(self) -> Any:
        self.progress.__enter__()
        task = self.progress.add_task("dividing communities", total=self.total)

        def step(area_id: str) -> None:
            self.progress.update(task, advance=1, description=f"community {area_id}")

        return step

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]


def _print(data: dict[str, Any]) -> None:
    lo, hi = data["band"]
    where = []
    if data["plan_id"] is not None:
        parent = f" (parent {data['parent_id']})" if data["parent_id"] is not None else ""
        where.append(f"stored as plan {data['plan_id']}{parent}")
    if data["out"]:
        where.append("written to " + ", ".join(data["out"]))
    console.print(
        f"[bold]{data['grids']} grids[/bold] in {len(data['communities'])} communities, "
        f"{data['in_band']} in band {lo:g}–{hi:g} households"
        + ("; " + "; ".join(where) if where else ""),
        highlight=False,
    )
    found = ", ".join(f"{r} {n}" for lv in data["findings"].values() for r, n in lv.items())
    console.print(f"findings: {found or 'none'}", highlight=False)
    table = Table(title="communities")
    for col in ("community", "code", "households", "grids", "valid", "explanation"):
        table.add_column(col, justify="right" if col in ("households", "grids") else "left")
    for c in data["communities"]:
        table.add_row(
            str(c["area_id"]),
            c["code"] or "",
            f"{c['households']:,.0f}",
            str(c["grids"]),
            "yes" if c["valid"] else "no",
            c["explanation"] or "",
        )
    console.print(table)
    if data["unplaced_units"]:
        console.print(
            f"{len(data['unplaced_units'])} unit(s) lie in no community: "
            + ", ".join(data["unplaced_units"][:10]),
            highlight=False,
        )


__all__ = ["grids_command", "register"]
