"""``gridplan units``: build units (road blocks) from the store's layers and store them.

::

    gridplan units [--db URL_OR_PATH] [--outline FILE] [--grain cell|block]
        [--compound-mode carve|merge|none] [--format table|json]

The blocks tile the subdistrict outline: ``--outline FILE`` (stored as the store's outline),
else the store's outline, else the convex hull of the roads (derived again on every run).
Households and residents come from the buildings (estimated at import for OSM) and from the
compounds that carry counts; totals are conserved and what could not be placed is listed.
With ``--grain cell`` (the default) each block is divided into one unit per building or count
point (:mod:`gridplan.geo.cells`), each knowing its block: communities are made of whole
blocks, grids of cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gridplan.api.console import (
    DbOption,
    FormatOption,
    OutputFormat,
    console,
    err_console,
    guarded,
    print_json,
    read_input,
    resolve_db,
)
from gridplan.data.layers import LayerKind
from gridplan.data.store.base import open_store
from gridplan.errors import InputError
from gridplan.geo.units import UnitParams
from gridplan.ops.units import build_store_units

HELP = (
    "Build units from the store's roads, buildings and compounds (road-bounded blocks inside "
    "the outline, households on them) and store them; the next step is gridplan partition."
)


def register(app: typer.Typer) -> None:
    """Add the ``units`` command to ``app``."""
    app.command("units", help=HELP)(units_command)


@guarded
def units_command(
    db: str | None = DbOption,
    outline: Annotated[
        Path | None,
        typer.Option("--outline", help="subdistrict outline (polygon file); stored with the units"),
    ] = None,
    compound_mode: Annotated[
        str,
        typer.Option(
            "--compound-mode",
            help="carve: compounds with counts become units of their own; merge: blocks a "
            "compound spans merge across minor roads; none: units are the blocks",
        ),
    ] = "carve",
    grain: Annotated[
        str,
        typer.Option(
            "--grain",
            help="cell: one unit per building inside each road block (grids meet their "
            "band; communities still use whole blocks); block: the road blocks",
        ),
    ] = "cell",
    output: OutputFormat = FormatOption,
) -> None:
    """Build and store the units."""
    if compound_mode not in ("carve", "merge", "none"):
        raise InputError(f"--compound-mode {compound_mode}: expected carve, merge or none")
    outline_layer = read_input(outline, LayerKind.OUTLINE)
    url = resolve_db(db)
    with open_store(url, create=False) as store, err_console.status("building units"):
        built = build_store_units(
            store,
            outline=outline_layer,
            params=UnitParams(compound_mode=compound_mode),  # type: ignore[arg-type]
            grain=grain,
        )
    if output is OutputFormat.JSON:
        print_json({**built.to_json(), "db": url})
        return
    cells = f" ({built.grain}s)" if built.grain == "cell" else ""
    console.print(
        f"[bold]{len(built.units)} units{cells}[/bold] from {len(built.result.blocks)} road blocks "
        f"({built.outline_source} outline); {built.households:,.1f} households placed, "
        f"{built.unplaced_households:,.1f} in {len(built.result.unplaced)} unplaced feature(s); "
        f"stored in {url}",
        highlight=False,
    )
    table = Table(title="households by source")
    for col in ("source", "input", "placed", "unplaced"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for row in built.result.totals.to_dict(orient="records"):
        table.add_row(
            str(row.get("source")),
            f"{float(row.get('households_input', 0) or 0):,.1f}",
            f"{float(row.get('households_placed', 0) or 0):,.1f}",
            f"{float(row.get('households_unplaced', 0) or 0):,.1f}",
        )
    console.print(table)
    at = f" --db {url}" if db else ""
    console.print(f"next: gridplan partition{at} --band 1000 3000", highlight=False)


__all__ = ["register", "units_command"]
