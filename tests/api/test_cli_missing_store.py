"""Commands that only read a store refuse a missing GeoPackage instead of creating one."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.data.store import open_store
from gridplan.errors import NotFoundError

SCENARIO = """
name: read-only check
base: {plan: latest}
steps:
  - action: regrid
"""


@pytest.mark.parametrize(
    "args",
    [
        ["map", "--out", "{tmp}/map.html"],
        ["scenario", "run", "{tmp}/s.yaml"],
    ],
)
def test_missing_store_is_bad_input_and_is_not_created(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    missing = tmp_path / "typo.gpkg"
    argv = [a.format(tmp=tmp_path) for a in args] + ["--db", str(missing)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert "no such store" in result.output
    assert not missing.exists()


def test_open_store_creates_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "new.gpkg"
    with pytest.raises(NotFoundError, match="no such store"):
        open_store(path, create=False)
    assert not path.exists()
    with open_store(path) as store:
        assert store.list_plans() == []
    with open_store(path, create=False) as store:
        assert store.list_plans() == []
