"""Command-line plumbing shared by every command: errors, output format, store option.

Every command prints a readable Rich table by default and JSON with ``--format json``, and
exits non-zero with a one-line reason on bad input (any :class:`~gridplan.errors.GridplanError`).

The tables work on any terminal: where stdout cannot hold a character (Chinese names on an
ASCII or latin-1 terminal, ``LANG=C``, ``PYTHONIOENCODING=ascii``) it is written as a
backslash escape (``\\u9752``) instead of ending in a traceback. ``--format json`` always writes
UTF-8 bytes.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import (
    IO,
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    ParamSpec,
    TypeVar,
    cast,
    overload,
)

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from gridplan import DEFAULT_STORE
from gridplan.errors import GridplanError, InputError, InvalidFeaturesError

if TYPE_CHECKING:
    from pathlib import Path

    import geopandas as gpd

    from gridplan.data.layers import LayerKind
    from gridplan.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

#: Exit status for bad input.
EXIT_BAD_INPUT = 2


class _EscapingStream:
    """``sys.stdout`` or ``sys.stderr`` as it is at each write, never failing on a character
    its encoding cannot hold.

    Such a character reaching the stream (Rich's truncation ellipsis, a Text built without
    :meth:`_EscapingConsole.render_str`) is laid out already, so it is written as one ``?``
    per terminal column it takes: the table borders stay in line. The stream is looked up on
    every call, so one swapped in later (a test runner's, Rich's progress redirection) is used,
    as Rich does for a console without a file.
    """

    def __init__(self, name: Literal["stdout", "stderr"]) -> None:
        self._name = name

    def _stream(self) -> IO[str] | None:
        stream = getattr(sys, self._name)
        return cast("IO[str] | None", getattr(stream, "rich_proxied_file", stream))

    @property
    def encoding(self) -> str:
        """The encoding of the current stream (``utf-8`` when it names none)."""
        return _encoding_of(self._stream())

    def write(self, text: str) -> int:
        """Write ``text``, each character the stream cannot hold as ``?`` per column."""
        stream = self._stream()
        if stream is None:  # no console at all (pythonw)
            return len(text)
        return stream.write(_replace_unencodable(text, _encoding_of(stream)))

    def flush(self) -> None:
        """Flush the current stream."""
        stream = self._stream()
        if stream is not None:
            stream.flush()

    def isatty(self) -> bool:
        """Whether the current stream is a terminal."""
        stream = self._stream()
        return stream is not None and stream.isatty()


class _EscapingConsole(Console):
    """A Rich console whose strings are escaped for its stream's encoding before layout.

    Escaping in :meth:`render_str` (which Rich calls for every string it prints or puts in a
    table cell, title or header) lets the table widths count the escapes; the stream replaces
    whatever else Rich writes that it cannot hold (an ellipsis, a Text built elsewhere).
    """

    def render_str(self, text: str, **kwargs: Any) -> Text:
        """Convert ``text`` to a Text as Rich does, after escaping what the stream can't hold."""
        return super().render_str(escape_unencodable(text, self.encoding), **kwargs)


def escape_unencodable(text: str, encoding: str) -> str:
    r"""``text`` with each character ``encoding`` cannot hold written as a backslash escape.

    Examples
    --------
    >>> escape_unencodable("青新社区 A", "ascii")
    '\\u9752\\u65b0\\u793e\\u533a A'
    >>> escape_unencodable("青新社区", "utf-8")
    '青新社区'
    """
    if _holds(text, encoding):
        return text
    return text.encode(encoding, "backslashreplace").decode(encoding)


def _replace_unencodable(text: str, encoding: str) -> str:
    if _holds(text, encoding):
        return text
    return "".join(c if _holds(c, encoding) else "?" * cell_len(c) for c in text)


def _holds(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    except LookupError:  # an encoding Python does not know: leave the text to the stream
        return True
    return True


def _encoding_of(stream: IO[str] | None) -> str:
    return (getattr(stream, "encoding", None) or "utf-8").lower()


#: Standard output for tables and messages; never fails on an unencodable character.
console = _EscapingConsole(file=cast("IO[str]", _EscapingStream("stdout")))
#: Standard error for errors, notes and progress; never fails on an unencodable character.
err_console = _EscapingConsole(file=cast("IO[str]", _EscapingStream("stderr")), stderr=True)


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


CoordsOption = typer.Option(
    None,
    "--coords",
    metavar="[FILE=]FRAME",
    help="frame of the input files' coordinates: wgs84 (what their CRS says; default), gcj02 "
    "(Gaode, Tencent) or bd09 (Baidu); FILE=FRAME for one file, e.g. compounds=gcj02 "
    "(repeatable)",
)


#: The ``--encoding`` option of every command that reads files (``read_input`` uses it).
Encoding = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="text encoding of CSV inputs and of Shapefiles without .cpg (e.g. GBK, gb18030; "
        "default UTF-8)",
    ),
]

_input_encoding: list[str] = []


def use_encoding(encoding: str | None) -> None:
    """Read this command's input files in ``encoding`` (``None``: UTF-8).

    Raises
    ------
    InputError
        If Python knows no such encoding.
    """
    import codecs

    _input_encoding.clear()
    if encoding is None:
        return
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise InputError(f"--encoding {encoding!r}: not a known text encoding") from exc
    _input_encoding.append(encoding)


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


def check_time_limit(seconds: float | None) -> None:
    """Refuse a ``--time-limit`` that is zero, negative, NaN or infinite (``None``: none given).

    Raises
    ------
    InputError
        Naming the option and the value.
    """
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise InputError(f"--time-limit {seconds:g}: must be a positive number of seconds")


def resolve_db(db: str | None, settings: Settings | None = None) -> str:
    """The store to use: ``--db``, else ``GRIDPLAN_DATABASE_URL``, else ``./gridplan.gpkg``."""
    if db:
        return db
    if settings is not None:
        return settings.database_url
    # the one setting a command needs, read as Settings reads it (GRIDPLAN_ prefix, any case)
    # without importing pydantic-settings on every start
    for key, value in os.environ.items():
        if key.upper() == "GRIDPLAN_DATABASE_URL" and value:
            return value
    return DEFAULT_STORE


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


def note(text: str) -> None:
    """Report what a command did to its input (a repaired feature) on stderr, one line."""
    err_console.print(f"note: {text}", markup=False, highlight=False, soft_wrap=True)


@overload
def read_input(path: Path, kind: LayerKind, **options: Any) -> gpd.GeoDataFrame: ...
@overload
def read_input(path: Path | None, kind: LayerKind, **options: Any) -> gpd.GeoDataFrame | None: ...
def read_input(path: Path | None, kind: LayerKind, **options: Any) -> gpd.GeoDataFrame | None:
    """Read an input file as every command reads one: normalised to ``kind``, repaired and
    validated with the checks ``import`` makes (each repair noted on stderr), ``None`` when
    the option was not given. ``options`` go to
    :func:`~gridplan.data.readers.read_layer_file` (``coords``, ``fields``, ``layer``, …).
    """
    if path is None:
        return None
    from gridplan.data.readers import read_layer_file  # geopandas: not for every --help

    if _input_encoding and "encoding" not in options:
        options["encoding"] = _input_encoding[0]
    return read_layer_file(path, kind, checked=True, note=note, **options)
