"""Cold start of the ``gridplan`` command line: ``--help`` imports no command, every command in
the table still answers its own ``--help``, and ``--version``.

The command group lists its commands from :data:`gridplan.api.cli.COMMANDS` and imports a
command's module only when that command is resolved, so these run in fresh processes: the
pytest process has imported everything already.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import gridplan
from gridplan.api import cli
from gridplan.api.cli import COMMANDS, CommandEntry, app, load_command

#: Modules a help screen must not import (the 1.15 s of issue 11's cold start, and more).
HEAVY = (
    "folium",
    "fastapi",
    "gridplan.ops.demo",
    "gridplan.geo.scenario",
    "geopandas",
    "pandas",
    "gridplan.settings",
)

_PROBE = """\
import gc, json, sys
sys.argv = ["gridplan", *json.loads(sys.argv[1])]
from gridplan.api.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stderr.write("\\nMODULES " + json.dumps({
    "code": code, "modules": sorted(sys.modules),
    "gc": {"threshold": gc.get_threshold()[0], "frozen": gc.get_freeze_count()},
}))
"""


def _run_in_fresh_process(args: list[str]) -> tuple[int, str, set[str]]:
    """Run ``gridplan ARGS`` in a new interpreter: exit code, stdout, modules imported."""
    code, out, modules, _ = _run_with_gc(args)
    return code, out, modules


def _run_with_gc(args: list[str]) -> tuple[int, str, set[str], dict[str, int]]:
    """:func:`_run_in_fresh_process`, and the collector's threshold and frozen objects."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={"COLUMNS": "120", "PYTHONIOENCODING": "utf-8", **_base_env()},
        timeout=120,
        check=False,
    )
    assert "MODULES " in done.stderr, done.stderr
    report = json.loads(done.stderr.rsplit("MODULES ", 1)[1])
    return report["code"], done.stdout, set(report["modules"]), report["gc"]


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PYTHONIOENCODING")}


def _imported(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def test_help_imports_no_command_module() -> None:
    code, out, modules = _run_in_fresh_process(["--help"])
    assert code == 0
    assert [m for m in HEAVY if _imported(modules, m)] == []
    assert not [m for m in modules if m.startswith("gridplan.api.commands.")]
    # every command listed with its line from the table, in table order
    positions = [out.find(f" {entry.name} ") for entry in COMMANDS]
    assert -1 not in positions, out
    assert positions == sorted(positions), out
    for entry in COMMANDS:
        assert entry.help.split()[0] in out


def test_a_command_imports_only_its_own_module() -> None:
    code, out, modules = _run_in_fresh_process(["assign", "--help"])
    assert code == 0
    assert "Usage: gridplan assign" in out
    assert "gridplan.api.commands.assign" in modules
    others = {m for m in modules if m.startswith("gridplan.api.commands.")}
    assert others == {"gridplan.api.commands.assign"}
    assert not any(_imported(modules, m) for m in ("folium", "fastapi", "gridplan.ops.demo"))
    assert not _imported(modules, "gridplan.geo.scenario")


def test_a_command_parses_its_options_without_pydantic() -> None:
    # typer 0.29 builds a pydantic TypeAdapter per option: 0.1 s of every command's start
    code, _, modules = _run_in_fresh_process(["assign", "--compounds", "missing.gpkg"])
    assert code == 2
    assert not _imported(modules, "pydantic")


def test_a_command_process_freezes_its_imports_and_collects_less_often() -> None:
    code, _, _, collector = _run_with_gc(["assign", "--help"])
    assert code == 0
    assert collector["threshold"] == cli.GC_THRESHOLD
    assert collector["frozen"] > 10_000  # the modules geopandas and the command brought


def test_a_host_process_invoking_the_app_freezes_nothing() -> None:
    import gc

    before = gc.get_freeze_count()
    result = CliRunner().invoke(app, ["assign", "--help"])
    assert result.exit_code == 0
    assert gc.get_freeze_count() == before


def test_version_in_a_fresh_process() -> None:
    code, out, modules = _run_in_fresh_process(["--version"])
    assert code == 0
    assert out == f"gridplan {gridplan.__version__}\n"
    assert gridplan.__version__ == importlib.metadata.version("gridplan")
    assert not _imported(modules, "geopandas")


def test_the_table_names_each_command_once() -> None:
    names = [entry.name for entry in COMMANDS]
    assert len(names) == len(set(names))
    assert names.index("units") == names.index("import") + 1
    assert names.index("plans") == names.index("scenario") + 1
    assert all(entry.help and "\n" not in entry.help for entry in COMMANDS)


@pytest.mark.parametrize("entry", COMMANDS, ids=[entry.name for entry in COMMANDS])
def test_every_command_has_a_working_help(entry: CommandEntry) -> None:
    result = CliRunner().invoke(app, [entry.name, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert f"Usage: gridplan {entry.name}" in result.output


def test_root_help_in_process_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    for entry in COMMANDS:
        assert f" {entry.name} " in result.output


def test_unknown_command_suggests_the_nearest() -> None:
    result = CliRunner().invoke(app, ["asign"])
    assert result.exit_code == 2
    assert "No such command 'asign'" in result.output
    assert "Did you mean 'assign'" in result.output


def test_an_import_error_inside_a_command_module_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(name: str) -> None:
        raise ModuleNotFoundError("No module named 'folium'", name="folium")

    monkeypatch.setattr(cli.importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="folium"):
        load_command(CommandEntry("map", "map", "Draw."))


def test_a_module_that_registers_another_name_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="added no command 'mapx'"):
        load_command(CommandEntry("mapx", "map", "Draw."))
