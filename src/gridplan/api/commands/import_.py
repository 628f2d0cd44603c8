"""``gridplan import FILE``: load a file into the store, all or nothing."""

from __future__ import annotations

import codecs
import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gridplan import DEFAULT_STORE
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
from gridplan.data.crs import Coords
from gridplan.data.households import HouseholdParams
from gridplan.data.importer import (
    FileImportResult,
    ImportKind,
    infer_kind,
    prepare_import,
    store_prepared,
)
from gridplan.data.store.base import open_store
from gridplan.errors import InputError
from gridplan.ops.codes import code_drawn
from gridplan.ops.files import area_layer
from gridplan.plan import Level

HELP = (
    "Import FILE into the store in one transaction: everything valid loads, or nothing.\n\n"
    "Invalid features (empty, self-intersecting or wrong-typed geometry, negative households, "
    "duplicate ids) stop the import and are listed; with --skip-invalid the rest loads and "
    "every skipped feature is listed with its reason. Buildings (and OSM extracts) get "
    "households estimated from floor area (fractional estimates): buildings of unknown use "
    "(OSM building=yes) are judged by their tags, footprint, shape and landuse, and each "
    "estimate says its confidence (high, medium, low). --households-total and "
    "--households-known calibrate the estimate to the counts the subdistrict has."
)


def register(app: typer.Typer) -> None:
    """Add the ``import`` command to ``app``."""
    app.command("import", help=HELP)(import_command)


@guarded
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="GeoPackage, GeoJSON, Shapefile, GeoParquet, CSV (lon/lat or WKT) or OSM .pbf file"
        ),
    ],
    kind: Annotated[
        ImportKind | None,
        typer.Option("--kind", help="what the file holds (default: osm for .pbf files)"),
    ] = None,
    layer: Annotated[
        str | None, typer.Option("--layer", help="layer of a multi-layer file")
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            help="map a gridplan column to an input column, e.g. --field households=HU100 "
            "(repeatable)",
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help="load the valid features and list the invalid ones"),
    ] = False,
    gcj02: Annotated[
        bool,
        typer.Option("--gcj02", help="shorthand for --coords gcj02"),
    ] = False,
    coords: Annotated[
        Coords,
        typer.Option(
            "--coords",
            help="frame of the coordinates: wgs84 (what the CRS says), gcj02 (Gaode, Tencent) "
            "or bd09 (Baidu): converted to WGS84",
        ),
    ] = Coords.WGS84,
    crs: Annotated[
        str | None,
        typer.Option("--crs", help="CRS of a file that has none (CSV default EPSG:4326)"),
    ] = None,
    encoding: Annotated[
        str,
        typer.Option(
            "--encoding", help="text encoding of a CSV, or of a Shapefile without .cpg (e.g. GBK)"
        ),
    ] = "utf-8",
    replace: Annotated[
        bool, typer.Option("--replace", help="replace the layer's stored features")
    ] = False,
    level: Annotated[
        Level, typer.Option("--level", help="areas only: community or grid polygons")
    ] = Level.COMMUNITY,
    floor_area: Annotated[
        float | None,
        typer.Option(
            "--floor-area-per-household",
            help="m² of gross floor area per household for the household estimate (default 90)",
        ),
    ] = None,
    bbox: Annotated[
        str | None,
        typer.Option(
            "--bbox",
            help="OSM only: read just minx,miny,maxx,maxy (longitude/latitude), e.g. the "
            "subdistrict's box out of a city extract",
        ),
    ] = None,
    households_total: Annotated[
        float | None,
        typer.Option(
            "--households-total",
            min=0,
            help="buildings and OSM: the area's known household count (e.g. 户籍 or census); "
            "it is spread over the residential buildings by floor area, so the total is exact",
        ),
    ] = None,
    households_known: Annotated[
        Path | None,
        typer.Option(
            "--households-known",
            help="buildings and OSM: CSV of building_id,households counts known for some "
            "buildings, kept exactly (the rest are estimated, or scaled to "
            "--households-total)",
        ),
    ] = None,
    db: str | None = DbOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Import FILE into the store in one transaction (see ``HELP``)."""
    chosen = infer_kind(file, kind)
    fields = _parse_fields(field or [])
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise InputError(f"--encoding {encoding!r}: not a known text encoding") from exc
    params = HouseholdParams(floor_area_per_household=floor_area) if floor_area else None
    url = resolve_db(db)
    status = (
        err_console.status(f"importing {file.name} …")
        if fmt is OutputFormat.TABLE
        else contextlib.nullcontext()
    )
    with status:
        if layer is None and chosen is ImportKind.AREAS:
            layer = area_layer(file, level.value)
        prepared = prepare_import(
            file,
            chosen,
            layer=layer,
            fields=fields or None,
            gcj02=gcj02,
            coords=coords,
            crs=crs,
            encoding=encoding,
            household_params=params,
            bbox=_parse_bbox(bbox) if bbox else None,
            households_total=households_total,
            households_known=households_known,
        )
        prepared.require_valid(skip_invalid)
        with open_store(url) as store:
            result = store_prepared(
                store,
                prepared,
                skip_invalid=skip_invalid,
                replace=replace,
                level=level,
                code=code_drawn,
            )
    if fmt is OutputFormat.JSON:
        data = result.to_dict()
        data["db"] = url
        print_json(data)
        return
    _print_table(result, url)


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError as exc:
        raise InputError(f"--bbox {text!r}: expected minx,miny,maxx,maxy (four numbers)") from exc
    return minx, miny, maxx, maxy


def _parse_fields(items: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in items:
        target, sep, column = item.partition("=")
        if not sep or not target.strip() or not column.strip():
            raise InputError(f"--field {item!r}: expected gridplan_column=input_column")
        fields[target.strip()] = column.strip()
    return fields


def _print_table(result: FileImportResult, url: str) -> None:
    console.print(
        f"Imported {result.source} ({result.kind.value}) into {url}", markup=False, highlight=False
    )
    table = Table()
    table.add_column("layer")
    table.add_column("loaded", justify="right")
    table.add_column("skipped", justify="right")
    for name, count in result.loaded.items():
        n_skipped = sum(1 for p in result.skipped if p.layer == name)
        table.add_row(name, str(count), str(n_skipped))
    console.print(table)
    if result.plan_id is not None:
        console.print(f"stored as plan {result.plan_id} (a drawn plan: areas, no units yet)")
    if result.households is not None:
        h = result.households
        console.print(
            f"households (estimated from floor area, fractional): {h.households:,.1f} in "
            f"{h.residential_buildings} residential building(s); residential floor area "
            f"{h.residential_floor_area:,.0f} m²; {h.default_levels} building(s) used default "
            f"levels ({h.default_levels_residential} of them residential)",
            markup=False,
            highlight=False,
        )
        if h.total is not None:
            scale = f" (estimates scaled ×{h.scale:.3g})" if h.scale is not None else ""
            console.print(
                f"calibrated to the total of {h.total:,.6g} households{scale}; "
                f"{h.given + h.known} building(s) kept a given or known count",
                markup=False,
                highlight=False,
            )
        elif h.known:
            console.print(
                f"{h.known} building(s) kept a known count", markup=False, highlight=False
            )
        confidence = Table(title="Household estimate by confidence")
        confidence.add_column("confidence")
        confidence.add_column("buildings", justify="right")
        confidence.add_column("with households", justify="right")
        confidence.add_column("households", justify="right")
        for level, row in h.confidence.items():
            if not row["buildings"]:
                continue
            confidence.add_row(
                level,
                str(int(row["buildings"])),
                str(int(row["residential_buildings"])),
                f"{row['households']:,.1f}",
            )
        console.print(confidence)
    if result.repaired:
        repaired = Table(title=f"Repaired {len(result.repaired)} feature(s)")
        repaired.add_column("layer")
        repaired.add_column("feature")
        repaired.add_column("repair")
        for p in result.repaired:
            repaired.add_row(p.layer, p.feature, p.reason)
        console.print(repaired)
    if result.skipped:
        skipped = Table(title=f"Skipped {len(result.skipped)} invalid feature(s)")
        skipped.add_column("layer")
        skipped.add_column("feature")
        skipped.add_column("reason")
        for p in result.skipped:
            skipped.add_row(p.layer, p.feature, p.reason)
        console.print(skipped)
    at = "" if url == DEFAULT_STORE else f" --db {url}"
    if result.plan_id is not None:
        console.print(
            f"next: gridplan check{at} --plan {result.plan_id}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    elif result.loaded.get("roads"):
        console.print(f"next: gridplan units{at}", highlight=False, markup=False, soft_wrap=True)
