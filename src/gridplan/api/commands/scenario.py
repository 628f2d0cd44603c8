"""``gridplan scenario run FILE.yaml``: run a scripted redistricting scenario.

The scenario's steps run in memory on the base plan (a stored plan, or files named in the
scenario); only when every step succeeded is the new plan checked against the rules (its own
targets; the store's roads, compounds, outline and units for a stored base, the scenario's
files otherwise) and stored with its findings in one transaction (its parent the base plan).
A failing step stores nothing and exits 2 with ``error: step N (action): reason``.

JSON on stdout: ``{"plan_id", "parent_id", "name", "steps": [{"step", "action", "summary",
"households_moved"}], "communities": [{"community", "name", "before", "after"}], "moved":
[{"from", "to", "households", "residents", "units"}], "compounds_moved": [{"compound",
"from", "to", "households"}], "checks": {"<level>": {"findings", "by_rule"}}}``; ``before`` /
``after`` hold ``households``, ``residents``, ``units``, ``band`` (under | ok | over),
``road_share``, ``parts``, ``embedded`` (or null).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

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
from gridplan.data.layers import LayerKind
from gridplan.data.readers import read_layer_file
from gridplan.data.store.base import Store, open_store
from gridplan.errors import InputError
from gridplan.geo.rules import CheckLayers
from gridplan.geo.rules.finding import plural
from gridplan.geo.scenario import (
    Scenario,
    ScenarioBase,
    ScenarioResult,
    load_scenario,
    run_scenario,
)
from gridplan.geo.scenario.schema import scenario_help
from gridplan.plan import Level

HELP = (
    "Run scripted redistricting scenarios (YAML) and store the resulting plan.\n\n"
    + scenario_help()
)

RUN_HELP = (
    "Run FILE.yaml on its base plan (a stored plan or files), check the new plan against the "
    "rules, store it with its findings (parent = the base) and print before/after per "
    "community and what moved. A failing step stores nothing and names the step (numbered "
    "from 1) and the reason.\n\n" + scenario_help()
)


def register(app: typer.Typer) -> None:
    """Add the ``scenario`` command group (``scenario run``) to ``app``."""
    group = typer.Typer(help=HELP, no_args_is_help=True)
    group.command("run", help=RUN_HELP)(run_command)
    app.add_typer(group, name="scenario")


@guarded
def run_command(
    file: Annotated[Path, typer.Argument(help="scenario YAML file")],
    db: str | None = DbOption,
    output: OutputFormat = FormatOption,
) -> None:
    """Run a scenario and store its plan."""
    scenario = load_scenario(file)
    # a base taken from files may start a new store; a stored base plan needs an existing one
    with open_store(resolve_db(db), create=scenario.base.plan is None) as store:
        base = load_base(scenario, store)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("scenario", total=len(scenario.steps))

            def step(number: int, action: str) -> None:
                bar.update(task, completed=number - 1, description=f"step {number}: {action}")

            result = run_scenario(scenario, base, progress=step)
            bar.update(task, completed=len(scenario.steps))
        plan_id = store.save_plan(result.plan, result.findings)
    data = summary(result, plan_id)
    if output == OutputFormat.JSON:
        print_json(data)
    else:
        _print(data)


def load_base(scenario: Scenario, store: Store) -> ScenarioBase:
    """The scenario's base: a stored plan with the store's units, roads and compounds, or
    the files the scenario names."""
    spec = scenario.base
    if spec.plan is not None:
        plan = store.load_plan(None if spec.plan == "latest" else int(spec.plan))
        layers = read_check_layers(store)
        units = layers.units if layers.units is not None else store.read_layer(LayerKind.UNITS)
        if units.empty or plan.assignments.empty:
            raise InputError(
                f"plan {plan.plan_id} has no unit assignments (a drawn plan): run assign or "
                "partition first, or give the base as files"
            )
        assigned = plan.assignments.drop_duplicates("unit_id").set_index("unit_id")
        ids = units["unit_id"].astype(str)
        missing = sorted(set(assigned.index.astype(str)) - set(ids))
        if missing:
            raise InputError(
                f"plan {plan.plan_id} assigns {len(missing)} unit(s) the store does not hold "
                f"(e.g. {', '.join(missing[:3])})"
            )
        units = units[ids.isin(assigned.index.astype(str))].reset_index(drop=True)
        row = assigned.reindex(units["unit_id"].astype(str))
        areas = plan.areas_at(Level.COMMUNITY)
        grids = row["grid_id"].to_numpy(dtype=object)
        return ScenarioBase(
            units=units,
            communities=row["community_id"].to_numpy(dtype=object),
            grids=grids if pd.notna(grids).any() else None,
            roads=layers.roads,
            compounds=layers.compounds,
            parent_id=plan.plan_id,
            names=_mapping(areas, "name"),
            codes=_mapping(areas, "code"),
            checks=layers,
        )
    assert spec.units is not None and spec.community_field is not None
    fields: dict[str, str] = {}
    if spec.households_field:
        fields["households"] = spec.households_field
    if spec.residents_field:
        fields["residents"] = spec.residents_field
    units = read_layer_file(
        scenario.path(spec.units), LayerKind.UNITS, fields=fields, id_field=spec.unit_id_field
    )
    for col in (spec.community_field, spec.grid_field):
        if col is not None and col not in units.columns:
            raise InputError(f"base.units: no column {col!r} in {spec.units}")
    if spec.persons_per_household is not None and not spec.households_field:
        units["households"] = units["residents"].fillna(0.0) / spec.persons_per_household
    roads = read_layer_file(scenario.path(spec.roads), LayerKind.ROADS) if spec.roads else None
    compounds = (
        read_layer_file(
            scenario.path(spec.compounds), LayerKind.COMPOUNDS, id_field=spec.compound_id_field
        )
        if spec.compounds
        else None
    )
    return ScenarioBase(
        units=units,
        communities=units[spec.community_field].to_numpy(dtype=object),
        grids=units[spec.grid_field].to_numpy(dtype=object) if spec.grid_field else None,
        roads=roads,
        compounds=compounds,
    )


def read_check_layers(store: Store) -> CheckLayers:
    """The store's roads, compounds, outline and units (``None`` for an empty layer): what a
    stored plan is checked against, by ``GET /plans/{id}/checks`` and before a scenario's plan
    is stored."""

    def layer(kind: LayerKind) -> gpd.GeoDataFrame | None:
        return store.read_layer(kind) if store.count(kind) else None

    return CheckLayers(
        roads=layer(LayerKind.ROADS),
        compounds=layer(LayerKind.COMPOUNDS),
        outline=layer(LayerKind.OUTLINE),
        units=layer(LayerKind.UNITS),
    )


def _mapping(areas: pd.DataFrame, column: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for area_id, value in zip(areas["area_id"], areas[column], strict=True):
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            out[str(area_id)] = str(value)
    return out


def _row(table: pd.DataFrame, community: str) -> dict[str, Any] | None:
    hit = table[table["community"] == community]
    if hit.empty:
        return None
    r = hit.iloc[0]
    return {
        "households": float(r["households"]),
        "residents": float(r["residents"]),
        "units": int(r["units"]),
        "band": str(r["band"]),
        "road_share": None if pd.isna(r["road_share"]) else float(r["road_share"]),
        "parts": int(r["parts"]),
        "embedded": bool(r["embedded"]),
    }


def summary(result: ScenarioResult, plan_id: int | None) -> dict[str, Any]:
    """The JSON report of a scenario run."""
    names = {
        **dict(zip(result.before["community"], result.before["name"], strict=True)),
        **dict(zip(result.after["community"], result.after["name"], strict=True)),
    }
    communities = sorted(names)
    return {
        "plan_id": plan_id,
        "parent_id": result.plan.parent_id,
        "name": result.plan.name,
        "steps": [
            {
                "step": s.step,
                "action": s.action,
                "summary": s.summary,
                "households_moved": s.households_moved,
            }
            for s in result.steps
        ],
        "communities": [
            {
                "community": c,
                "name": names[c],
                "before": _row(result.before, c),
                "after": _row(result.after, c),
            }
            for c in communities
        ],
        "moved": result.moved.to_dict(orient="records"),
        "compounds_moved": result.compounds_moved.to_dict(orient="records"),
        "checks": {
            level: {"findings": len(report.findings), "by_rule": report.by_rule()}
            for level, report in result.checks.items()
        },
    }


def _fmt_side(side: dict[str, Any] | None) -> tuple[str, str, str, str]:
    if side is None:
        return "—", "—", "—", "—"
    share = "—" if side["road_share"] is None else f"{side['road_share']:.0%}"
    enclave = []
    if side["parts"] > 1:
        enclave.append(f"{side['parts']} parts")
    if side["embedded"]:
        enclave.append("embedded")
    return f"{side['households']:,.0f}", side["band"], share, ", ".join(enclave) or "none"


def _print(data: dict[str, Any]) -> None:
    parent = f" (parent {data['parent_id']})" if data["parent_id"] is not None else ""
    console.print(f"[bold]scenario {data['name']}[/bold]: stored as plan {data['plan_id']}{parent}")
    for level, check in data["checks"].items():
        by_rule = ", ".join(f"{r} {n}" for r, n in check["by_rule"].items()) or "none"
        console.print(f"findings ({plural(level)}): {check['findings']} ({by_rule})")
    steps = Table(title="steps")
    for col in ("#", "action", "what", "households moved"):
        steps.add_column(col, justify="right" if col in ("#", "households moved") else "left")
    for s in data["steps"]:
        steps.add_row(str(s["step"]), s["action"], s["summary"], f"{s['households_moved']:,.0f}")
    console.print(steps)
    table = Table(title="communities: before → after")
    for col in ("community", "households", "band", "road share", "enclaves"):
        table.add_column(col, justify="right" if col == "households" else "left")
    for c in data["communities"]:
        b = _fmt_side(c["before"])
        a = _fmt_side(c["after"])
        label = c["name"] if c["name"] == c["community"] else f"{c['name']} ({c['community']})"
        table.add_row(label, *(f"{x} → {y}" for x, y in zip(b, a, strict=True)))
    console.print(table)
    if data["moved"]:
        moved = Table(title="what moved")
        for col in ("from", "to", "households", "units"):
            moved.add_column(col, justify="right" if col in ("households", "units") else "left")
        for m in data["moved"][:30]:
            moved.add_row(m["from"], m["to"], f"{m['households']:,.0f}", str(m["units"]))
        console.print(moved)
    if data["compounds_moved"]:
        comp = Table(title="compounds moved")
        for col in ("compound", "from", "to", "households"):
            comp.add_column(col, justify="right" if col == "households" else "left")
        for m in data["compounds_moved"]:
            comp.add_row(m["compound"], str(m["from"]), str(m["to"]), f"{m['households']:,.0f}")
        console.print(comp)


__all__ = ["load_base", "read_check_layers", "register", "run_command", "summary"]
