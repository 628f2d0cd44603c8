"""``gridplan subdistricts``: put a stored plan's communities into subdistricts (街道).

::

    gridplan subdistricts --db S [--plan ID] --areas WARDS.gpkg [--id-field F]
        [--name-field F] [--code-field F] [--county 350582] [--format table|json]
    gridplan subdistricts --db S [--plan ID] --band LO HI [--measure households|residents]
        [--k N] [--seed N] [--county 350582] [--format table|json]

With ``--areas`` each community goes to the subdistrict polygon holding most of its area;
with ``--band`` the partition engine groups the communities into contiguous subdistricts in
the band. The result is stored as the plan's child, with 9-digit subdistrict, 12-digit
community and 15-digit grid codes (each keeping its own last three digits).
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
    guarded,
    print_json,
    read_input,
    resolve_db,
)
from gridplan.data.layers import LayerKind
from gridplan.data.store.base import open_store
from gridplan.ops.subdistricts import subdistricts_store


def register(app: typer.Typer) -> None:
    """Add ``subdistricts`` to ``app``."""
    app.command("subdistricts")(subdistricts_command)


@guarded
def subdistricts_command(
    db: str | None = DbOption,
    plan: Annotated[
        int | None, typer.Option("--plan", help="plan id (default: the latest)", min=1)
    ] = None,
    areas: Annotated[
        Path | None, typer.Option("--areas", help="subdistrict polygons (e.g. wards)")
    ] = None,
    id_field: Annotated[str | None, typer.Option("--id-field")] = None,
    name_field: Annotated[str | None, typer.Option("--name-field")] = None,
    code_field: Annotated[
        str | None, typer.Option("--code-field", help="9-digit (or 3-digit) subdistrict codes")
    ] = None,
    band: Annotated[
        tuple[float, float] | None,
        typer.Option("--band", help="LO HI per subdistrict (draw them instead)"),
    ] = None,
    measure: Annotated[str, typer.Option("--measure")] = "households",
    k: Annotated[int | None, typer.Option("--k", min=1, help="number of subdistricts")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    county: Annotated[
        str | None, typer.Option("--county", help="6-digit county code (GB/T 2260)")
    ] = None,
    output: OutputFormat = FormatOption,
) -> None:
    """Put a plan's communities into subdistricts: from polygons, or in a band."""
    layer = None
    if areas is not None:
        fields = {k_: v for k_, v in (("name", name_field), ("code", code_field)) if v}
        layer = read_input(areas, LayerKind.AREAS, id_field=id_field, fields=fields or None)
    with open_store(resolve_db(db), create=False) as store:
        outcome = subdistricts_store(
            store,
            plan_id=plan,
            areas=layer,
            band=band,
            measure=measure,
            k=k,
            seed=seed,
            county=county,
        )
    doc = outcome.to_json()
    if output is OutputFormat.JSON:
        print_json(doc)
        return
    table = Table(title=f"plan {doc['plan_id']} (parent {doc['parent_id']}): subdistricts")
    for col in ("code", "name", "communities", "households", "residents"):
        table.add_column(col, justify="left" if col in ("code", "name") else "right")
    for r in doc["subdistricts"]:
        res = r["residents"]
        table.add_row(
            r["code"],
            r["name"],
            str(r["communities"]),
            f"{r['households']:,.0f}",
            "—" if res is None else f"{res:,.0f}",
        )
    console.print(table)
