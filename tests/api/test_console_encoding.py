"""Rich tables on a terminal that cannot hold Chinese (``LC_ALL=C``, ascii or latin-1 stdout).

The commands used to end in a ``UnicodeEncodeError`` traceback (exit 1) at the first Chinese
name or en dash; they now print the table with such characters escaped (``\\u9752``) and exit
as they would on a UTF-8 terminal. The CLI runs in a subprocess so that the stdout is a real
one whose encoding comes from the environment.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from rich.table import Table

from gridplan.api.console import console, escape_unencodable

X0, Y0 = 660_000.0, 2_744_000.0
CRS = 32650
ENCODINGS = ("ascii", "latin-1")


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Two communities with Chinese names, a compound straddling them, a named one in A::

    +----------+----------+
    | A 青新社区 | B 锦青社区 |     K: 30..130 (70 % A), 福隆广场: in A,
    |  [K K K K|K]        |        named as belonging to B in overrides.csv
    | [福]      |          |
    +----------+----------+
    0         100        200
    """
    areas = gpd.GeoDataFrame(
        {"cid": ["A", "B"], "name": ["青新社区", "锦青社区"], "households": [900.0, 2000.0]},
        geometry=[_box(0, 0, 100, 100), _box(100, 0, 200, 100)],
        crs=CRS,
    )
    compounds = gpd.GeoDataFrame(
        {"cid": ["K", "M"], "name": ["straddle", "福隆广场"], "households": [100.0, 40.0]},
        geometry=[_box(30, 40, 130, 60), _box(10, 10, 30, 30)],
        crs=CRS,
    )
    out = {"areas": tmp_path / "areas.gpkg", "compounds": tmp_path / "compounds.gpkg"}
    areas.to_file(out["areas"])
    compounds.to_file(out["compounds"])
    out["overrides"] = tmp_path / "overrides.csv"
    out["overrides"].write_text("compound,community\n福隆广场,锦青社区\n", encoding="utf-8")
    out["assigned"] = tmp_path / "assigned.gpkg"
    return out


def _run(args: list[str], encoding: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUTF8", "LANG", "LC_CTYPE")}
    env.update(PYTHONIOENCODING=encoding, LC_ALL="C", LANG="C", COLUMNS="100")
    code = "from gridplan.api.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, timeout=120, check=False
    )


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("|", "+"))]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_check_table_on_a_terminal_without_chinese(files: dict[str, Path], encoding: str) -> None:
    result = _run(
        ["check", "--areas", str(files["areas"]), "--id-field", "cid", "--name-field", "name",
         "--households-field", "households", "--compounds", str(files["compounds"])],
        encoding,
    )  # fmt: skip
    stderr = result.stderr.decode(encoding, "replace")
    assert result.returncode == 0, stderr
    assert "Traceback" not in stderr
    stdout = result.stdout.decode(encoding)  # strict: every byte is in the terminal's encoding
    assert "2 communities checked, band 1000\\u20133000 households" in stdout
    assert "\\u9752\\u65b0\\u793e\\u533a" in stdout  # 青新社区, in the finding's message
    assert "compound.split" in stdout
    lines = _table_lines(stdout)
    assert lines, stdout
    widths = {len(line) for line in lines}
    assert len(widths) == 1, f"table borders out of line:\n{stdout}"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_assign_table_on_a_terminal_without_chinese(files: dict[str, Path], encoding: str) -> None:
    result = _run(
        ["assign", "--compounds", str(files["compounds"]), "--areas", str(files["areas"]),
         "--compound-id-field", "name", "--area-id-field", "cid",
         "--overrides", str(files["overrides"]), "--out", str(files["assigned"])],
        encoding,
    )  # fmt: skip
    stderr = result.stderr.decode(encoding, "replace")
    assert result.returncode == 0, stderr
    assert "Traceback" not in stderr
    stdout = result.stdout.decode(encoding)
    assert "2 compounds assigned" in stdout
    assert "\\u798f\\u9686\\u5e7f\\u573a" in stdout  # 福隆广场, in the overrides line
    assert len(gpd.read_file(files["assigned"])) == 2


def test_bad_input_keeps_exit_status_2_and_one_line(files: dict[str, Path]) -> None:
    """The error names the Chinese-named field escaped; the exit status is still 2."""
    result = _run(["check", "--areas", str(files["areas"]), "--id-field", "编号"], "ascii")
    assert result.returncode == 2
    stderr = result.stderr.decode("ascii")
    assert "Traceback" not in stderr
    assert "\\u7f16\\u53f7" in stderr and len(stderr.strip().splitlines()) == 1


def test_escape_keeps_what_the_encoding_holds() -> None:
    assert escape_unencodable("Zürich 青", "latin-1") == "Zürich \\u9752"
    assert escape_unencodable("Zürich 青", "ascii") == "Z\\xfcrich \\u9752"
    assert escape_unencodable("Zürich 青", "utf-8") == "Zürich 青"
    assert escape_unencodable("青", "no-such-codec") == "青"


def test_table_borders_stay_in_line_when_rich_truncates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich's own ellipsis (U+2026, not in ascii) is written as one ``?`` per column."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdout", stream)
    table = Table()
    table.add_column("name", no_wrap=True)
    table.add_row("青新社区青新社区青新社区")
    table.add_row("short")
    console.print(table, width=30)
    text = raw.getvalue().decode("ascii")
    assert "?" in text and "\\u9752" in text
    assert len({len(line) for line in text.splitlines()}) == 1, text
