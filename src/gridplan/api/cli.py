"""The ``gridplan`` command line (Typer + Rich).

Each command lives in its own module under :mod:`gridplan.api.commands` and registers itself
through ``register(app)``.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="gridplan",
    help="Community (社区) and grid (网格) boundary planning: import, check, assign, "
    "partition, grids, scenarios, maps, HTTP service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Keep ``gridplan <command>`` a command group even while only one command is registered."""


#: Command modules, in help order.
COMMANDS: tuple[str, ...] = (
    "demo",
    "import_",
    "check",
    "assign",
    "grids",
    "partition",
    "scenario",
    "serve",
    "map",
)

for _name in COMMANDS:
    importlib.import_module(f"gridplan.api.commands.{_name}").register(app)


def main() -> None:
    """Entry point of the ``gridplan`` console script."""
    app()
