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
from gridplan.data.store.base import open_store
from gridplan.geo.rules.finding import plural
from gridplan.geo.scenario import load_scenario
from gridplan.geo.scenario.schema import scenario_help
from gridplan.ops.scenario import run_stored_scenario

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
    with (
        open_store(resolve_db(db), create=scenario.base.plan is None) as store,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("scenario", total=len(scenario.steps))

        def step(number: int, action: str) -> None:
            bar.update(task, completed=number - 1, description=f"step {number}: {action}")

        stored = run_stored_scenario(scenario, store, progress=step)
        bar.update(task, completed=len(scenario.steps))
    data = stored.to_json()
    if output == OutputFormat.JSON:
        print_json(data)
    else:
        _print(data)


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


__all__ = ["register", "run_command"]
