"""Smoke test of bench_http: both servers, every phase, tiny counts (so the benchmark can't
rot)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgis, pytest.mark.realdata]


def _bench() -> ModuleType:
    path = Path(__file__).with_name("bench_http.py")
    spec = importlib.util.spec_from_file_location("bench_http", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_http"] = module
    spec.loader.exec_module(module)
    return module


def test_bench_http_runs_on_tiny_counts(shared_data: Path) -> None:
    bench = _bench()
    results = bench.run(
        seconds=1, concurrency=2, count=20, batch=500, batches=1, wrk=False, workers=(1, 2)
    )
    assert sorted(results["by_workers"]) == [1, 2]
    for n, figures in results["by_workers"].items():
        assert figures["page_features"] == (39, 39), n
        assert figures["locate"]["errors"] == 0 and figures["tipg_bbox"]["errors"] == 0, n
    for phase in ("locate", "tipg_bbox", "communities_page", "tipg_communities_page"):
        assert results[phase]["requests"] >= 2, phase
        assert results[phase]["errors"] == 0, phase
        assert results[phase]["rps"] > 0 and results[phase]["p99_ms"] >= results[phase]["p50_ms"]
    assert results["page_features"] == (39, 39)
    assert results["batch"]["points"] == 500 and results["batch"]["located"] == 500
    assert results["batch"]["points_per_second"] > 0
    assert results["locate_ratio"] > 0 and results["page_ratio"] > 0


def test_wrk_durations_are_read_in_milliseconds() -> None:
    bench = _bench()
    assert bench._ms("512.00us") == pytest.approx(0.512)
    assert bench._ms("3.25ms") == pytest.approx(3.25)
    assert bench._ms("1.50s") == pytest.approx(1500.0)


def test_wrk_percentiles_are_read_from_the_distribution() -> None:
    bench = _bench()
    out = """Running 10s test @ http://127.0.0.1:1
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.01ms    9.50ms  70.12ms   94.50%
    Req/Sec     3.40k   290.00     3.90k    72.50%
  Latency Distribution
     50%    4.48ms
     75%    5.10ms
     90%    7.00ms
     99%   58.39ms
  33932 requests in 10.02s, 12.34MB read
"""
    assert bench._percentile_line(out, 50) == "4.48ms"
    assert bench._percentile_line(out, 99) == "58.39ms"
