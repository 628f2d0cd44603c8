"""``gridplan scenario --help`` and ``gridplan scenario run --help`` document the scenario file:
every step type with every field, generated from the scenario model."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.geo.scenario.model import STEP_TYPES, BaseSpec, Scenario
from gridplan.geo.scenario.schema import scenario_help

runner = CliRunner()


@pytest.mark.parametrize("args", [["scenario", "--help"], ["scenario", "run", "--help"]])
def test_help_lists_every_step_type_with_its_fields(args: list[str]) -> None:
    res = runner.invoke(app, args, env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert res.exit_code == 0, res.output
    lines = [line.strip() for line in res.output.splitlines()]
    for model in STEP_TYPES:
        action = model.model_fields["action"].annotation.__args__[0]  # type: ignore[union-attr]
        start = next(i for i, line in enumerate(lines) if line.startswith(f"{action}: "))
        block = lines[start + 1 : start + len(model.model_fields)]
        fields = [line.split()[0] for line in block]
        assert fields == [f for f in model.model_fields if f != "action"], (action, block)
    for name in [*Scenario.model_fields, *BaseSpec.model_fields]:
        if name != "folder":
            assert any(line.startswith(f"{name}  ") for line in lines), name
    assert "folder" not in res.output


def test_help_text_has_no_rich_markup() -> None:
    """Square brackets would be read as Rich markup (and vanish from the help)."""
    text = scenario_help()
    assert "[" not in text and "]" not in text
    assert "list of text" in text and "required" in text and ">= 2" in text
