"""Smoke test of bench_reach.py on one and two tiles (so the benchmark can't rot)."""

from __future__ import annotations

import pytest
from bench_reach import helsinki, run_distances, run_siting, tiled_city


@pytest.mark.slow
@pytest.mark.realdata
def test_bench_reach_runs_on_two_tiles() -> None:
    layers = helsinki()
    city = tiled_city(2, layers)
    assert len(city.facilities) == 4 * 6 and len(city.homes) == 4 * 319
    r = run_distances(city, limit=500.0, repeat=1)
    assert r["nodes"] > 4 * 5000 and r["pairs_within"] > 0
    # the same answers as both peers, to the centimetre
    assert r["pandana_max_diff_m"] < 0.1 and r["networkx_max_diff_m"] < 1e-6
    assert r["networkx_nearest_max_diff_m"] < 1e-6
    # pandana snaps facilities (POIs) to a node, dropping their access walk
    assert r["pandana_nearest_max_diff_m"] <= r["max_facility_access_m"] + 0.1
    assert r["gridplan_s"] > 0 and r["pandana_s"] > 0 and r["networkx_s"] > 0
    s = run_siting(tiled_city(1, layers), sites=2)
    assert s["gridplan_exact_optimal"]
    assert s["gridplan_exact_covered"] == pytest.approx(s["spopt_covered"])
    assert s["gridplan_greedy_covered"] <= s["gridplan_exact_covered"] + 1e-6
