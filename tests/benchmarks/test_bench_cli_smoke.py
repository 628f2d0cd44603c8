"""Smoke test of bench_cli.py: one round of each comparison, 3,500 blocks (two tiles, so the
tiling is exercised), so the benchmark can't rot."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_cli import compare_assign, compare_help, tiled_blocks


@pytest.mark.slow
@pytest.mark.realdata
def test_bench_cli_tiles_providence(shared_data: Path) -> None:
    blocks = tiled_blocks(3500)
    assert len(blocks) == 3500
    assert blocks["GEOID10"].is_unique
    assert blocks["TRACTCE10"].str.endswith("-1").sum() == 3500 - 3014
    assert not blocks.iloc[:3014].union_all().intersects(blocks.iloc[3014:].union_all())


@pytest.mark.slow
def test_bench_cli_help_runs() -> None:
    result = compare_help(repeat=1)
    assert result["help_s"] > 0 and result["version_s"] > 0 and result["python_s"] > 0


@pytest.mark.slow
@pytest.mark.realdata
def test_bench_cli_assign_runs(shared_data: Path) -> None:
    result = compare_assign(3500, repeat=1)
    assert result["blocks"] == 3500
    assert result["copies"] == 2
    assert result["tracts"] > 39  # Providence's 39, and those the second copy's blocks start
    assert result["gridplan_agree"] == 1.0
    assert result["gridplan_1_agree"] == 1.0
    assert result["maup_agree"] == 1.0
    assert result["gridplan_s"] > 0 and result["gridplan_1_s"] > 0 and result["maup_s"] > 0
