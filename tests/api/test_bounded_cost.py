"""Bounded cost (issue 16, item 4): one huge polygon cannot stall a command, and concurrent
cold requests for a plan's checks share one computation."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import gridplan.api.plans as plan_routes
from gridplan.api.app import create_app
from gridplan.api.cli import app as cli_app
from gridplan.api.service import SharedResults
from gridplan.data.layers import LayerKind, max_feature_vertices, validate
from gridplan.errors import InputError
from gridplan.geo.adjacency import shared_boundaries
from gridplan.plan import Plan
from gridplan.settings import Settings

_PARTITION = ("partition", "--units")


def _wavy(n: int, x: float = 0.01) -> shapely.Polygon:
    """A closed wavy ring of ``n`` vertices around (x, 0.005), about 900 m across."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = 0.004 * (1 + 0.05 * np.sin(t * 200))
    return shapely.Polygon(np.c_[x + r * np.cos(t), 0.005 + r * np.sin(t)])


def _units(huge: shapely.Polygon) -> gpd.GeoDataFrame:
    boxes = [shapely.box(0.02 + i * 0.002, 0, 0.022 + i * 0.002, 0.002) for i in range(4)]
    return gpd.GeoDataFrame(
        {"unit_id": ["巨大", "u0", "u1", "u2", "u3"], "households": [500.0] + [200.0] * 4},
        geometry=[huge, *boxes],
        crs=4326,
    )


def test_a_feature_over_the_vertex_limit_is_refused_by_name() -> None:
    ok, problems = validate("units", _units(_wavy(5000)), max_vertices=1000)
    assert len(ok) == 4
    assert [(p.feature, p.reason) for p in problems] == [
        (
            "巨大",
            "5,001 vertices, more than the limit of 1,000 "
            "(simplify it, or raise GRIDPLAN_MAX_FEATURE_VERTICES)",
        )
    ]


def test_the_vertex_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDPLAN_MAX_FEATURE_VERTICES", "2000")
    assert max_feature_vertices() == 2000
    monkeypatch.setenv("GRIDPLAN_MAX_FEATURE_VERTICES", "many")
    with pytest.raises(InputError, match="expected a whole number"):
        max_feature_vertices()
    monkeypatch.delenv("GRIDPLAN_MAX_FEATURE_VERTICES")
    assert max_feature_vertices() == 250_000


def test_partition_refuses_a_million_vertex_polygon_at_once(tmp_path: Path) -> None:
    """It used to keep ``partition --time-limit 20`` busy for more than ten minutes."""
    path = tmp_path / "units.gpkg"
    _units(_wavy(1_000_000)).to_file(path)
    start = time.monotonic()
    result = CliRunner().invoke(
        cli_app,
        [
            *_PARTITION,
            str(path),
            "--band",
            "300",
            "800",
            "--time-limit",
            "5",
            "--out",
            str(tmp_path / "o.gpkg"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "feature 巨大: 1,000,001 vertices, more than the limit of 250,000" in result.output
    assert "Traceback" not in result.output
    assert time.monotonic() - start < 60


def test_partition_of_a_large_polygon_stays_within_its_time_limit(tmp_path: Path) -> None:
    """200,000 vertices (under the limit): the unit graph no longer scans the whole polygon
    for each of its segments (88 s before, 4 s now)."""
    path = tmp_path / "units.gpkg"
    _units(_wavy(200_000)).to_file(path)
    out = tmp_path / "communities.gpkg"
    start = time.monotonic()
    result = CliRunner().invoke(
        cli_app,
        [*_PARTITION, str(path), "--band", "300", "800", "--time-limit", "5", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert time.monotonic() - start < 60
    assert len(gpd.read_file(out)) >= 2


def test_neighbours_with_different_vertices_share_their_whole_edge() -> None:
    """Two dense polygons side by side whose vertices on the shared edge never coincide: the
    shared length is exact (it used to cost one boundary copy per segment: 45 s at 40,000
    vertices each)."""
    n = 20_000
    ys = np.linspace(0, 1000, n)[1:-1]

    def dense(x0: float, x1: float, offset: float) -> shapely.Polygon:
        right = [(x1, y + offset) for y in ys]
        left = [(x0, y + offset) for y in ys[::-1]]
        return shapely.Polygon([(x0, 0), (x1, 0), *right, (x1, 1000), (x0, 1000), *left])

    units = gpd.GeoDataFrame(
        {"unit_id": ["a", "b"]},
        geometry=[dense(0, 1000, 0.0), dense(1000, 2000, 0.02)],
        crs=3857,
    )
    u, v, shared = shared_boundaries(units)
    assert (list(u), list(v)) == ([0], [1])
    assert shared[0].length == pytest.approx(1000.0, abs=1e-6)


def test_shared_results_compute_once_for_concurrent_callers() -> None:
    shared = SharedResults(max_entries=2)
    calls: list[int] = []
    gate = threading.Event()

    def slow() -> bytes:
        calls.append(1)
        gate.wait(5)
        return b"report"

    got: list[bytes] = []
    threads = [threading.Thread(target=lambda: got.append(shared.get("k", slow))) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert got == [b"report"] * 3 and calls == [1]


def test_shared_results_retry_after_a_failure_and_stay_bounded() -> None:
    shared = SharedResults(max_entries=2, max_bytes=10)
    with pytest.raises(ValueError, match="boom"):
        shared.get("k", lambda: (_ for _ in ()).throw(ValueError("boom")))
    assert shared.get("k", lambda: b"ok") == b"ok"
    shared.get("big1", lambda: b"x" * 8)
    shared.get("big2", lambda: b"y" * 8)  # over 10 bytes: the oldest go
    assert shared.get("big1", lambda: b"again") == b"again"


@pytest.mark.postgis
def test_concurrent_cold_checks_share_one_computation(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    units = gpd.GeoDataFrame(
        {"unit_id": ["u1", "u2"], "households": [5.0, 7.0]},
        geometry=[shapely.box(0, 0, 0.01, 0.01), shapely.box(0.01, 0, 0.02, 0.01)],
        crs=4326,
    )
    store.import_layers({LayerKind.UNITS: units})
    areas = gpd.GeoDataFrame(
        {"level": ["community"], "area_id": ["C"], "name": ["社区 C"], "households": [12.0]},
        geometry=[shapely.box(0, 0, 0.02, 0.01)],
        crs=4326,
    )
    assignments = pd.DataFrame(
        {"unit_id": ["u1", "u2"], "community_id": ["C", "C"], "grid_id": [None, None]}
    )
    plan_id = store.save_plan(Plan("p", assignments, areas))
    real = plan_routes.check_plan
    calls: list[int] = []

    def slow_check(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(plan_routes, "check_plan", slow_check)
    client = TestClient(create_app(Settings(), store=store))
    answers: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(client.get(f"/plans/{plan_id}/checks").status_code)
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers == [200, 200, 200]
    assert calls == [1]
