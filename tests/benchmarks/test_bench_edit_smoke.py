"""Smoke test of bench_edit.py on a small lattice, so the benchmark cannot rot."""

from __future__ import annotations

import pytest
from bench_edit import measure, measure_page


@pytest.mark.slow
def test_bench_edit_measures_both_ways_on_a_small_lattice() -> None:
    r = measure(side=30, moves=3)
    assert r["units"] == 900 and r["communities"] == 9
    assert r["incremental_ms"] > 0 and r["full_ms"] > 0 and r["plan_check_ms"] > 0


@pytest.mark.slow
@pytest.mark.browser
def test_bench_edit_opens_the_editor_page() -> None:
    p = measure_page(side=20)
    assert 0 < p["open_s"] < 30 and p["first_open_s"] > 0
