"""``gridplan map``: draw a plan as one self-contained HTML map.

::

    gridplan map [--db URL_OR_PATH] [--plan ID] [--diff-from ID]
    gridplan map --areas FILE [--grids FILE] [--roads FILE] [--compounds FILE]
        [--facilities FILE] [--units FILE] [--id-field F] [--name-field F] [--code-field F]
        [--households-field F] [--residents-field F] [--coords [FILE=]FRAME]
    common: [--tiles none|osm|gaode] [--band LO HI] [--grid-band LO HI] [--measure M]
        [--walk-speed M_PER_MIN] [--walk-minutes MIN ...] [--no-check] [--title T]
        --out map.html [--format table|json]

From a store (``--db``, default the embedded GeoPackage) it draws ``--plan`` (default: the
latest plan) with the store's roads, compounds, facilities and units and the plan's stored
findings; without stored findings it runs the checks. From files it reads the layers and
runs the checks (``--no-check`` skips them). ``--diff-from ID`` draws instead what changed from
plan ID to the plan (areas that changed, territory and compounds that moved, households before
and after; see :mod:`gridplan.maps.diff`). ``--tiles none`` (the default) writes a page that
makes no network request at all; ``gaode`` draws everything in GCJ-02 to match Gaode tiles.
``--coords gcj02|bd09`` says the files' coordinates are GCJ-02 or BD-09 (``compounds=gcj02``:
one file's): they are converted to WGS84 on reading (and drawn in GCJ-02 again on Gaode tiles).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, TypedDict

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
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
from gridplan.data.store.base import Store, open_store
from gridplan.errors import InputError
from gridplan.geo.rules import CheckConfig
from gridplan.maps.diff import render_diff_map
from gridplan.maps.inputs import MapLayers
from gridplan.maps.render import WALK_MINUTES, WALK_SPEED_M_PER_MIN, render_plan_map, save_map
from gridplan.maps.tiles import Tiles
from gridplan.ops.files import area_layer as layer_of
from gridplan.ops.files import written_band
from gridplan.ops.maps import file_map_layers, stored_map_layers
from gridplan.ops.plans import compare_plans
from gridplan.plan import Level

HELP = (
    "Draw a plan as one self-contained HTML map: communities by size band, grids with their "
    "codes, compounds, roads, findings, facilities with walking circles. Reads the store "
    "(--db, --plan; default the latest plan) or files (--areas …)."
)


def register(app: typer.Typer) -> None:
    """Add the ``map`` command to ``app``."""
    app.command("map", help=HELP)(map_command)


@guarded
def map_command(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write")],
    db: str | None = DbOption,
    plan: Annotated[
        int | None, typer.Option("--plan", help="stored plan id (default: the latest)")
    ] = None,
    diff_from: Annotated[
        int | None,
        typer.Option("--diff-from", help="draw what changed from this stored plan to --plan"),
    ] = None,
    areas: Annotated[
        Path | None, typer.Option("--areas", help="community polygons (instead of the store)")
    ] = None,
    grids: Annotated[
        Path | None, typer.Option("--grids", help="grid polygons (with --areas)")
    ] = None,
    roads: Annotated[Path | None, typer.Option("--roads", help="road centrelines")] = None,
    compounds: Annotated[
        Path | None, typer.Option("--compounds", help="compounds (polygons or points)")
    ] = None,
    facilities: Annotated[
        Path | None, typer.Option("--facilities", help="service facilities (points)")
    ] = None,
    units: Annotated[Path | None, typer.Option("--units", help="units (polygons)")] = None,
    id_field: Annotated[
        str | None, typer.Option("--id-field", help="column with the area ids")
    ] = None,
    name_field: Annotated[
        str | None, typer.Option("--name-field", help="column with the area names")
    ] = None,
    code_field: Annotated[
        str | None, typer.Option("--code-field", help="column with the area codes")
    ] = None,
    households_field: Annotated[
        str | None, typer.Option("--households-field", help="column with households")
    ] = None,
    residents_field: Annotated[
        str | None, typer.Option("--residents-field", help="column with residents")
    ] = None,
    tiles: Annotated[
        Tiles,
        typer.Option("--tiles", help="none (offline, no request at all), osm, gaode (GCJ-02)"),
    ] = Tiles.NONE,
    band: Annotated[
        tuple[float, float] | None,
        typer.Option("--band", help="community size band LO HI (default 1000 3000 households)"),
    ] = None,
    grid_band: Annotated[
        tuple[float, float] | None,
        typer.Option("--grid-band", help="grid size band LO HI (default 300 500 households)"),
    ] = None,
    measure: Annotated[
        str | None,
        typer.Option(
            "--measure",
            help="households or residents (default: residents when only --residents-field "
            "is given, else households)",
        ),
    ] = None,
    walk_speed: Annotated[
        float, typer.Option("--walk-speed", help="walking speed for service circles, m/min")
    ] = WALK_SPEED_M_PER_MIN,
    walk_minutes: Annotated[
        list[float] | None,
        typer.Option("--walk-minutes", help="walking times drawn around facilities (repeatable)"),
    ] = None,
    no_check: Annotated[
        bool, typer.Option("--no-check", help="do not run the checks (draw stored findings only)")
    ] = False,
    coords: list[str] | None = CoordsOption,
    title: Annotated[str | None, typer.Option("--title", help="map title")] = None,
    output: OutputFormat = FormatOption,
    encoding: Encoding = None,
) -> None:
    """Render the map and report what it holds."""
    use_encoding(encoding)
    frames = frames_by_input(
        coords or [], ("areas", "grids", "roads", "compounds", "facilities", "units")
    )
    if areas is None and any(p is not None for p in (grids, roads, compounds, facilities, units)):
        raise InputError("--grids, --roads, --compounds, --facilities and --units need --areas")
    if areas is None and any(f is not Coords.WGS84 for f in frames.values()):
        raise InputError(
            "--coords names the frame of --areas and the other files; the store is WGS84"
        )
    if areas is not None and (plan is not None or diff_from is not None):
        raise InputError("--plan and --diff-from draw stored plans: use --db, not --areas")
    chosen = measure or ("residents" if residents_field and not households_field else "households")
    if chosen not in ("households", "residents"):
        raise InputError(f"--measure {chosen!r}: expected households or residents")
    minutes = tuple(walk_minutes) if walk_minutes else WALK_MINUTES
    if not all(math.isfinite(v) and v > 0 for v in (walk_speed, *minutes)):
        raise InputError("--walk-speed and --walk-minutes must be positive numbers")
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("reading", total=None)
        source: str
        if diff_from is not None:
            url = resolve_db(db)
            with open_store(url, create=False) as store:
                summary_diff = _draw_diff(store, diff_from, plan, out, tiles, title)
            if output == OutputFormat.JSON:
                print_json({**summary_diff, "source": url})
            else:
                progress.stop()
                console.print(
                    f"diff map written: {summary_diff['out']} "
                    f"(plan {diff_from} → plan {summary_diff['plan_id']}): "
                    + ", ".join(f"{k} {v}" for k, v in summary_diff["changes"].items())
                    + f"; households moved {summary_diff['households_moved']:,.0f}"
                )
            return
        if areas is not None:
            config = _config(chosen, band, grid_band)
            fields = {
                k: v
                for k, v in (
                    ("name", name_field),
                    ("code", code_field),
                    ("households", households_field),
                    ("residents", residents_field),
                )
                if v
            }
            area_layer = read_input(
                areas,
                LayerKind.AREAS,
                fields=fields,
                id_field=id_field,
                layer=layer_of(areas, "community"),
                coords=frames["areas"],
            )
            grid_layer = _read_grids(grids, frames["grids"]) if grids else None
            if measure is None:  # files gridplan wrote are drawn in the bands they were made in
                for lv, frame, given in (
                    (Level.COMMUNITY, area_layer, band),
                    (Level.GRID, grid_layer, grid_band),
                ):
                    written = written_band(frame, lv.value) if frame is not None else None
                    if given is None and written is not None:
                        (lo, hi) = next(iter(written[lv.value].values()))  # type: ignore[attr-defined]
                        config = config.with_band(lv, lo, hi)
            progress.update(task, description="checking" if not no_check else "drawing")
            layers = file_map_layers(
                area_layer,
                grids=grid_layer,
                roads=read_input(roads, LayerKind.ROADS, coords=frames["roads"]),
                compounds=read_input(compounds, LayerKind.COMPOUNDS, coords=frames["compounds"]),
                facilities=read_input(
                    facilities, LayerKind.FACILITIES, coords=frames["facilities"]
                ),
                units=read_input(units, LayerKind.UNITS, coords=frames["units"]),
                config=config,
                check=not no_check,
                title=title if title is not None else areas.stem,
            )
            source = str(areas)
            plan_id = None
        else:
            url = resolve_db(db)
            explicit = band is not None or grid_band is not None or measure is not None
            config = _config(chosen, band, grid_band)
            with open_store(url, create=False) as store:
                progress.update(task, description="reading the store and checking")
                layers = stored_map_layers(
                    store,
                    plan,
                    config=config if explicit else None,
                    check=not no_check,
                    title=title,
                )
                plan_id = plan if plan is not None else store.latest_plan_id()
            source = url
        progress.update(task, description="drawing")
        fmap = render_plan_map(
            layers, tiles=tiles, walk_speed_m_per_min=walk_speed, walk_minutes=minutes
        )
        progress.update(task, description="writing")
        path = save_map(fmap, out)
    summary = _summary(layers, path, tiles, source, plan_id)
    if output == OutputFormat.JSON:
        print_json(summary)
        return
    table = Table(title=f"map written: {path}", show_header=True)
    table.add_column("layer")
    table.add_column("features", justify="right")
    for name, count in summary["layers"].items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    by_rule = ", ".join(f"{r} {n}" for r, n in summary["findings"].items()) or "none"
    console.print(
        f"{summary['bytes'] / 1e6:.2f} MB, tiles {tiles.value}"
        + (f", plan {plan_id}" if plan_id is not None else "")
        + f"; findings: {by_rule}"
    )


def _draw_diff(
    store: Store,
    before_id: int,
    after_id: int | None,
    out: Path,
    tiles: Tiles,
    title: str | None,
) -> dict[str, Any]:
    comparison = compare_plans(store, before_id, after_id)
    diff, before, after = comparison.diff, comparison.before, comparison.after
    fmap = render_diff_map(before, after, tiles=tiles, title=title, diff=diff)
    path = save_map(fmap, out)
    counts = diff.areas["change"].value_counts()
    return {
        "out": str(path),
        "bytes": path.stat().st_size,
        "tiles": tiles.value,
        "plan_id": after.plan_id,
        "diff_from": before.plan_id,
        "changes": {k: int(counts.get(k, 0)) for k in ("changed", "new", "removed", "unchanged")},
        "moved_pieces": len(diff.moved),
        "compounds_moved": len(diff.compounds),
        "households_moved": diff.households_moved,
    }


def _read_grids(path: Path, coords: Coords) -> Any:
    """Grid polygons: the ``grids`` layer of a file gridplan wrote, else its only layer."""
    return read_input(path, LayerKind.AREAS, layer=layer_of(path, "grid"), coords=coords)


def _config(
    measure: str,
    band: tuple[float, float] | None,
    grid_band: tuple[float, float] | None,
) -> CheckConfig:
    config = CheckConfig(measure=measure)
    if band is not None:
        config = config.with_band(Level.COMMUNITY, band[0], band[1])
    if grid_band is not None:
        config = config.with_band(Level.GRID, grid_band[0], grid_band[1])
    return config


class _Summary(TypedDict):
    out: str
    bytes: int
    tiles: str
    source: str
    plan_id: int | None
    layers: dict[str, int]
    findings: dict[str, int]
    bands: dict[str, list[float | str]]


def _summary(
    layers: MapLayers, path: Path, tiles: Tiles, source: str, plan_id: int | None
) -> _Summary:
    counts = {
        name: len(frame)
        for name, frame in (
            ("communities", layers.communities),
            ("grids", layers.grids),
            ("compounds", layers.compounds),
            ("roads", layers.roads),
            ("findings", layers.findings),
            ("facilities", layers.facilities),
            ("units", layers.units),
        )
        if frame is not None
    }
    findings: dict[str, int] = {}
    if layers.findings is not None and not layers.findings.empty:
        findings = {str(k): int(v) for k, v in layers.findings["rule"].value_counts().items()}
    return {
        "out": str(path),
        "bytes": path.stat().st_size,
        "tiles": tiles.value,
        "source": source,
        "plan_id": plan_id,
        "layers": counts,
        "findings": findings,
        "bands": {k: [b.lo, b.hi, b.field] for k, b in layers.bands.items()},
    }


__all__ = ["map_command", "register"]
