"""Command-line plumbing shared by every command: errors, output format, store option.

Every command prints a readable Rich table by default and JSON with ``--format json``, and
exits non-zero with a one-line reason on bad input (any :class:`~gridplan.errors.GridplanError`).
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from gridplan.errors import GridplanError, InvalidFeaturesError
from gridplan.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

#: Exit status for bad input.
EXIT_BAD_INPUT = 2

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    """``--format`` choices."""

    TABLE = "table"
    JSON = "json"


FormatOption = typer.Option(OutputFormat.TABLE, "--format", help="table (readable) or json")
DbOption = typer.Option(
    None,
    "--db",
    help="PostgreSQL URL or .gpkg path (default: $GRIDPLAN_DATABASE_URL, else ./gridplan.gpkg)",
)


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Turn gridplan errors into a one-line reason on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except InvalidFeaturesError as exc:
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            for problem in exc.problems[3:50]:
                err_console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from exc
        except GridplanError as exc:
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from exc

    return wrapper


def resolve_db(db: str | None, settings: Settings | None = None) -> str:
    """The store to use: ``--db``, else ``GRIDPLAN_DATABASE_URL``, else ``./gridplan.gpkg``."""
    if db:
        return db
    return (settings or Settings()).database_url


def print_json(data: Any) -> None:
    """Write ``data`` as JSON (UTF-8, no ASCII escaping, NaN as null) to stdout.

    The bytes are UTF-8 whatever the terminal's or ``PYTHONIOENCODING``'s encoding (a
    latin-1 or cp1252 stdout can't hold Chinese names and used to end in a traceback).
    """
    text = json.dumps(_clean(data), ensure_ascii=False, indent=2) + "\n"
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a text-only stream (e.g. io.StringIO)
        stream.write(text)
        stream.flush()
        return
    stream.flush()  # keep anything already written in order
    buffer.write(text.encode("utf-8"))
    buffer.flush()


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value
