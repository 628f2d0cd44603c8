"""``gridplan plans``: list, show, compare and export stored plans.

::

    gridplan plans list [--db S]
    gridplan plans show [ID] [--db S] [--subdistrict CODE]   (default: the latest plan)
    gridplan plans diff A [B] [--db S]             (B default: the latest plan)
    gridplan plans export [ID] --out FILE [--level community|grid|units|subdistrict]
        [--crs EPSG:4490]
        [--encoding UTF-8|GBK] [--db S]

``export`` writes GeoPackage, Shapefile (``.cpg`` written), GeoJSON, GeoParquet or CSV with
codes, names, households, residents, band status and finding counts; the file re-imports with
``gridplan import FILE --kind areas``. Every subcommand prints a table, or JSON with
``--format json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gridplan.api.console import (
    DbOption,
    FormatOption,
    OutputFormat,
    console,
    guarded,
    print_json,
    resolve_db,
)
from gridplan.data.store.base import open_store
from gridplan.geo.hierarchy import within_subdistrict
from gridplan.ops.plans import (
    area_table,
    compare_plans,
    export_plan,
    info_summary,
    plan_findings,
    plan_summary,
)
from gridplan.plan import Level

HELP = "List, show, compare and export stored plans."

PlanArg = Annotated[
    int | None, typer.Argument(help="plan id (default: the latest plan)", min=1, show_default=False)
]


def register(app: typer.Typer) -> None:
    """Add the ``plans`` command group to ``app``."""
    group = typer.Typer(help=HELP, no_args_is_help=True)
    group.command("list", help="All stored plans, oldest first.")(list_command)
    group.command("show", help="A plan: header, targets, metrics, findings, communities.")(
        show_command
    )
    group.command(
        "diff",
        help="What changed from plan A to plan B: households per community before and "
        "after, units and compounds moved, codes changed.",
    )(diff_command)
    group.command(
        "export",
        help="Write a plan's communities, grids or units to a file (GeoPackage, Shapefile, "
        "GeoJSON, GeoParquet, CSV) with codes, households, band status and findings.",
    )(export_command)
    app.add_typer(group, name="plans")


@guarded
def list_command(db: str | None = DbOption, output: OutputFormat = FormatOption) -> None:
    """List the stored plans."""
    with open_store(resolve_db(db), create=False) as store:
        infos = [info_summary(i) for i in store.list_plans()]
    if output is OutputFormat.JSON:
        print_json({"plans": infos})
        return
    table = Table(title=f"{len(infos)} plan(s)")
    for col in ("id", "name", "parent", "source", "created"):
        table.add_column(col, justify="right" if col in ("id", "parent") else "left")
    for i in infos:
        table.add_row(
            str(i["plan_id"]),
            i["name"],
            "" if i["parent_id"] is None else str(i["parent_id"]),
            i["source"],
            i["created_at"][:19].replace("T", " "),
        )
    console.print(table)


@guarded
def show_command(
    plan: PlanArg = None,
    db: str | None = DbOption,
    subdistrict: Annotated[
        str | None, typer.Option("--subdistrict", help="only this subdistrict (code)")
    ] = None,
    output: OutputFormat = FormatOption,
) -> None:
    """Show one plan."""
    with open_store(resolve_db(db), create=False) as store:
        loaded = store.load_plan(plan)
        assert loaded.plan_id is not None
        findings = plan_findings(store, loaded)  # stored, else checked now
        if subdistrict is not None:
            loaded = within_subdistrict(loaded, subdistrict)
            ids = set(loaded.areas["area_id"].astype(str))
            findings = findings[findings["area_id"].astype(str).isin(ids)]
        data = plan_summary(loaded)
        counts = (findings["level"].astype(str) + " " + findings["rule"].astype(str)).value_counts()
        data["findings"] = {str(k): int(v) for k, v in counts.sort_index().items()}
        tables = {
            lv.value: area_table(loaded, lv, findings)
            for lv in (Level.SUBDISTRICT, Level.COMMUNITY, Level.GRID)
            if not loaded.areas_at(lv).empty
        }
    data["levels"] = {
        level: [
            {k: v for k, v in row.items() if k != "geometry"}
            for row in frame.drop(columns="geometry").to_dict(orient="records")
        ]
        for level, frame in tables.items()
    }
    if output is OutputFormat.JSON:
        print_json(data)
        return
    parent = f", parent {data['parent_id']}" if data["parent_id"] is not None else ""
    console.print(
        f"[bold]plan {data['plan_id']}[/bold]: {data['name']} ({data['source']}{parent}); "
        f"{data['communities']} communities, {data['grids']} grids, {data['units']} units",
        highlight=False,
    )
    console.print(f"targets: {data['targets']}", highlight=False, markup=False)
    by_rule = ", ".join(f"{k} {v}" for k, v in data["findings"].items()) or "none"
    console.print(f"findings: {by_rule}", highlight=False, markup=False)
    rows = data["levels"].get(Level.COMMUNITY.value, [])
    if rows:
        console.print(_area_rows("communities", rows))
    grids = data["levels"].get(Level.GRID.value, [])
    if grids:
        console.print(_area_rows(f"grids ({len(grids)})", grids[:40]))
        if len(grids) > 40:
            console.print(f"… and {len(grids) - 40} more grids (--format json lists all)")


def _area_rows(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for col in ("id", "code", "name", "households", "residents", "status", "findings"):
        table.add_column(
            col, justify="right" if col in ("households", "residents", "findings") else "left"
        )
    for r in rows:
        table.add_row(
            str(r["area_id"]),
            "" if r["code"] is None else str(r["code"]),
            "" if r["name"] is None else str(r["name"]),
            _num(r["households"]),
            _num(r["residents"]),
            r["status"] or "",
            str(r["findings"]),
        )
    return table


@guarded
def diff_command(
    plan_a: Annotated[int, typer.Argument(help="the plan before", min=1)],
    plan_b: PlanArg = None,
    db: str | None = DbOption,
    output: OutputFormat = FormatOption,
) -> None:
    """Compare two plans."""
    with open_store(resolve_db(db), create=False) as store:
        comparison = compare_plans(store, plan_a, plan_b)
    data = comparison.to_json()
    if output is OutputFormat.JSON:
        print_json(data)
        return
    moved = data["households_moved"]
    console.print(
        f"[bold]plan {data['from_plan']} → plan {data['to_plan']}[/bold]: "
        f"{data['units_moved']} units moved"
        + (f", {moved:,.0f} households" if moved is not None else "")
        + f"; {len(data['compounds_moved'])} compounds moved",
        highlight=False,
    )
    for level, lists in data.get("codes", {}).items():
        parts = []
        for status in ("kept", "changed", "new", "retired"):
            codes = lists[status]
            shown = ", ".join(codes[:6]) + (f" +{len(codes) - 6}" if len(codes) > 6 else "")
            parts.append(f"{len(codes)} {status}" + (f" ({shown})" if codes else ""))
        console.print(f"{level} codes: " + "; ".join(parts), highlight=False)
    table = Table(title="communities")
    for col in ("community", "code", "households", "change", "units in/out", "compounds in/out"):
        table.add_column(col, justify="left" if col in ("community", "code") else "right")
    for r in data["communities"]:
        label = (
            r["name"]
            if r["name"] in (None, r["community_id"])
            else f"{r['name']} ({r['community_id']})"
        )
        before, after = r["code_before"] or "—", r["code_after"] or "—"
        code = before if before == after else f"{before} → {after}"
        table.add_row(
            str(label or r["community_id"]),
            code,
            f"{_num(r['households_before']) if r['in_before'] else '—'} → "
            f"{_num(r['households_after']) if r['in_after'] else '—'}",
            r["status"],
            f"{r['units_in']}/{r['units_out']}",
            f"{r['compounds_in']}/{r['compounds_out']}",
        )
    console.print(table)
    if data["moves"]:
        moves = Table(title="what moved")
        for col in ("from", "to", "units", "households"):
            moves.add_column(col, justify="right" if col in ("units", "households") else "left")
        before = {r["community_id"]: r["code_before"] for r in data["communities"]}
        after = {r["community_id"]: r["code_after"] for r in data["communities"]}
        for m in data["moves"][:30]:
            moves.add_row(
                _with_code(m["from_community"], before.get(m["from_community"])),
                _with_code(m["to_community"], after.get(m["to_community"])),
                str(m["units"]),
                _num(m["households"]),
            )
        console.print(moves)


def _with_code(community: object, code: object) -> str:
    return str(community) if code is None else f"{community} ({code})"


@guarded
def export_command(
    out: Annotated[
        Path, typer.Option("--out", help="file to write (.gpkg .shp .geojson .parquet .csv)")
    ],
    plan: PlanArg = None,
    level: Annotated[
        str, typer.Option("--level", help="community, grid, units or subdistrict")
    ] = "community",
    crs: Annotated[
        str | None, typer.Option("--crs", help="output CRS, e.g. EPSG:4490 (default EPSG:4326)")
    ] = None,
    encoding: Annotated[
        str, typer.Option("--encoding", help="Shapefile text encoding: UTF-8 or GBK")
    ] = "UTF-8",
    db: str | None = DbOption,
    output: OutputFormat = FormatOption,
) -> None:
    """Export one level of a plan."""
    with open_store(resolve_db(db), create=False) as store:
        done = export_plan(store, plan, out, level=level, crs=crs, encoding=encoding)
    data = done.to_json()
    if output is OutputFormat.JSON:
        print_json(data)
        return
    console.print(
        f"plan {data['plan_id']}: {data['features']} {data['level']} feature(s), "
        f"{data['households']:,.1f} households, {data['crs']} → " + ", ".join(data["paths"]),
        highlight=False,
    )


def _num(value: object) -> str:
    if value is None:
        return ""
    number = float(value)  # type: ignore[arg-type]
    return "" if number != number else f"{number:,.0f}"


__all__ = ["register"]
