"""Smoke test of bench_assign.py on a small Providence subset (so the benchmark can't rot)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_assign import compare, load_inputs


@pytest.mark.slow
@pytest.mark.realdata
def test_bench_assign_runs_on_a_subset(shared_data: Path) -> None:
    blocks, tracts = load_inputs(limit=300)
    result = compare(blocks, tracts, repeat=1)
    assert result["blocks"] == 300
    assert result["gridplan_agree"] == 1.0
    assert result["gridplan_1_agree"] == 1.0
    assert result["maup_agree"] == 1.0
    assert result["gridplan_s"] > 0 and result["gridplan_1_s"] > 0 and result["maup_s"] > 0
