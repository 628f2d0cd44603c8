"""``gridplan reach``: walking reach of service facilities, and where to put a new centre.

::

    gridplan reach summary [--db S] [--plan ID] [--metres M ... | --minutes T ...]
        [--speed 50] [--kind K] [--isochrones FILE] [--unreached FILE] [--format table|json]
    gridplan reach site --community C [--db S] [--plan ID] [--candidates FILE|buildings]
        [--minutes 10 | --metres M] [--count K] [--method exact|greedy] [--from-scratch]

``summary`` prints, per community and threshold, the households within walking reach of its
own service centre and of any facility (of ``--kind``); ``--isochrones`` writes the areas
reached along the network (one polygon per facility and threshold) to a file. ``site``
suggests the candidate site(s) covering the most households of a community that its
existing centre does not reach (a maximal covering location problem) and the coverage gained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import geopandas as gpd
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
from gridplan.errors import InputError
from gridplan.geo.reach import WALKING_SPEED
from gridplan.ops.reach import plan_reach, site_centres

HELP = (
    "Walking reach of service facilities on the walking network (paths, else roads), per "
    "community; suggest sites for new service centres."
)

PlanOption = typer.Option(None, "--plan", min=1, help="the plan (default: the latest)")
SpeedOption = typer.Option(WALKING_SPEED, "--speed", help="walking speed, metres per minute")


def register(app: typer.Typer) -> None:
    """Add the ``reach`` command group to ``app``."""
    group = typer.Typer(help=HELP, no_args_is_help=True)
    group.command(
        "summary",
        help="Per community: households within each walking threshold of its own service "
        "centre and of any facility (of --kind).",
    )(summary_command)
    group.command(
        "site",
        help="Suggest where to put service centre(s) in a community so that the most "
        "households are within the walking threshold (maximal covering location problem).",
    )(site_command)
    app.add_typer(group, name="reach")


def _pct(value: object) -> str:
    return "" if value is None else f"{100 * float(value):.1f}%"  # type: ignore[arg-type]


def _num(value: object) -> str:
    return "" if value is None else f"{float(value):,.0f}"  # type: ignore[arg-type]


def _write(frame: gpd.GeoDataFrame, path: Path) -> None:
    try:
        frame.to_file(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot write {path}: {exc}") from exc


@guarded
def summary_command(
    db: str | None = DbOption,
    plan: int | None = PlanOption,
    metres: Annotated[
        list[float] | None,
        typer.Option("--metres", help="threshold in metres (repeatable; default 300 500 1000)"),
    ] = None,
    minutes: Annotated[
        list[float] | None,
        typer.Option("--minutes", help="threshold in minutes of walk at --speed (repeatable)"),
    ] = None,
    speed: float = SpeedOption,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="facility kind 'any facility' counts (default: every one)"),
    ] = None,
    isochrones: Annotated[
        Path | None,
        typer.Option(
            "--isochrones",
            help="write the isochrones (per facility and threshold) to this file "
            "(.gpkg, .geojson, …)",
        ),
    ] = None,
    unreached: Annotated[
        Path | None,
        typer.Option(
            "--unreached",
            help="write the household locations beyond the smallest threshold of their "
            "service centre (buildings or compounds, with households and distance) to a file",
        ),
    ] = None,
    output: OutputFormat = FormatOption,
) -> None:
    """Print the walking reach of a stored plan's communities."""
    with open_store(resolve_db(db), create=False) as store:
        result = plan_reach(store, plan, metres=metres, minutes=minutes, speed=speed, kind=kind)
        doc = result.to_json(geometry=False)
        if isochrones is not None:
            _write(result.isochrones(), isochrones)
        if unreached is not None:
            _write(result.unreached(min(result.result.thresholds)), unreached)
    if output is OutputFormat.JSON:
        print_json(doc)
        return
    any_label = f"any {kind}" if kind else "any facility"
    table = Table(title=f"Walking reach, plan {doc['plan_id']} (on {doc['network']})")
    for col in ("community", "walk", "households", "centre", "within", "share"):
        table.add_column(col, justify="left" if col in ("community", "centre") else "right")
    table.add_column(f"{any_label}: within", justify="right")
    table.add_column("share ", justify="right")
    for level in doc["thresholds"]:
        walk = f"{level['metres']:,.0f} m"
        for c in level["communities"]:
            name = c["name"] or ""
            table.add_row(
                f"{c['community']} {name}".strip(),
                walk,
                _num(c["households"]),
                ", ".join(c["centres"]) or "none",
                _num(c["households_within"]),
                _pct(c["share"]),
                _num(c["any"]["households_within"]),
                _pct(c["any"]["share"]),
            )
    console.print(table)
    for text in doc["notes"]:
        console.print(f"note: {text}", markup=False, highlight=False)
    for what, path in (("isochrones", isochrones), ("unreached households", unreached)):
        if path is not None:
            console.print(f"{what} written to {path}", markup=False, highlight=False)


@guarded
def site_command(
    community: Annotated[str, typer.Option("--community", help="the community (id, name or code)")],
    db: str | None = DbOption,
    plan: int | None = PlanOption,
    candidates: Annotated[
        str,
        typer.Option(
            "--candidates",
            help="candidate sites: a point file (ids from facility_id/id), or 'buildings' "
            "(the community's buildings with households)",
        ),
    ] = "buildings",
    minutes: Annotated[
        float | None, typer.Option("--minutes", help="walking minutes (default 10)")
    ] = None,
    metres: Annotated[
        float | None, typer.Option("--metres", help="walking distance instead of minutes")
    ] = None,
    speed: float = SpeedOption,
    count: Annotated[int, typer.Option("--count", min=1, help="how many sites")] = 1,
    method: Annotated[str, typer.Option("--method", help="exact (MILP) or greedy")] = "exact",
    from_scratch: Annotated[
        bool,
        typer.Option(
            "--from-scratch",
            help="ignore the households the existing centre(s) reach already",
        ),
    ] = False,
    output: OutputFormat = FormatOption,
) -> None:
    """Suggest service-centre sites for one community."""
    sites = (
        None
        if candidates.strip().lower() == "buildings"
        else read_input(Path(candidates), LayerKind.FACILITIES)
    )
    with open_store(resolve_db(db), create=False) as store:
        found = site_centres(
            store,
            community,
            plan_id=plan,
            candidates=sites,
            metres=metres,
            minutes=minutes,
            speed=speed,
            count=count,
            method=method,
            keep_existing=not from_scratch,
        )
    doc = found.to_json()
    if output is OutputFormat.JSON:
        print_json(doc)
        return
    title = (
        f"Sites for community {doc['community']} {doc['name'] or ''}: "
        f"{doc['metres']:,.0f} m walk, {doc['candidates']} candidates ({doc['method']}"
        f"{', optimal' if doc['optimal'] else ''})"
    )
    table = Table(title=title)
    for col in ("site", "lon", "lat", "households gained"):
        table.add_column(col, justify="left" if col == "site" else "right")
    for s in doc["sites"]:
        table.add_row(
            s["candidate_id"], f"{s['lon']:.6f}", f"{s['lat']:.6f}", _num(s["households_gained"])
        )
    console.print(table)
    console.print(
        f"households within reach: {_num(doc['households_within_before'])} → "
        f"{_num(doc['households_within_after'])} of {_num(doc['households'])} "
        f"({_pct(doc['share_before'])} → {_pct(doc['share_after'])}); existing centre(s): "
        f"{', '.join(doc['centres']) or 'none'}",
        markup=False,
        highlight=False,
    )
