"""Benchmark: the live check of an edit (one unit moved) on a 10,000-unit plan, incremental
(only the touched communities and their neighbours rechecked) against a full recheck in the
same run, and the editor page of that plan opened in headless Chromium.

The plan is a lattice of 100 × 100 square units of 40 m (EPSG:32650, near Jinjiang), roads
along every 5th line, 100 communities of 10 × 10 units, 400 grids of 5 × 5 units and a
compound over every 4th block, so every rule has something to look at. Targets: a live check
≤ 100 ms server-side; the page open ≤ 3 s.

Run: ``python tests/benchmarks/bench_edit.py [--side 100] [--moves 20] [--browser]``.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gridplan.geo.edit import EditBase, Move
from gridplan.geo.plans import plan_from_units
from gridplan.geo.rules import CheckLayers, check_plan_levels
from gridplan.plan import Level, Plan

X0, Y0 = 654_000.0, 2_745_000.0
CELL = 40.0
CRS = "EPSG:32650"


@dataclass(frozen=True)
class Lattice:
    """A lattice plan and the layers it is checked against (EPSG:4326, as a store has them)."""

    units: gpd.GeoDataFrame
    plan: Plan
    layers: CheckLayers


def lattice(side: int = 100, community: int = 10, grid: int = 5) -> Lattice:
    """``side`` × ``side`` units; communities of ``community``², grids of ``grid``² units."""
    rng = np.random.default_rng(7)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    geoms = shapely.box(X0 + ii * CELL, Y0 + jj * CELL, X0 + (ii + 1) * CELL, Y0 + (jj + 1) * CELL)
    hh = rng.integers(5, 35, len(ii)).astype(float)
    units = gpd.GeoDataFrame(
        {"unit_id": [f"u{i}-{j}" for i, j in zip(ii, jj, strict=True)], "households": hh,
         "residents": hh * 2.8},
        geometry=geoms, crs=CRS,
    )  # fmt: skip
    per_row = side // community
    com = [
        f"C{(i // community) * per_row + j // community + 1:03d}"
        for i, j in zip(ii, jj, strict=True)
    ]
    gpr = side // grid
    grd = [f"G{(i // grid) * gpr + j // grid + 1:04d}" for i, j in zip(ii, jj, strict=True)]
    names = {c: f"社区{c[1:]}" for c in set(com)}
    codes = {c: c[1:] for c in set(com)}
    plan = plan_from_units(
        units.to_crs(4326), com, grd, name="lattice", parent_id=None,
        targets={"community": {"households": [1000, 3000]}, "grid": {"households": [300, 500]}},
        community_names=names, community_codes=codes,
    )  # fmt: skip
    lines = []
    for k in range(0, side + 1, grid):
        lines.append(shapely.LineString([(X0 + k * CELL, Y0), (X0 + k * CELL, Y0 + side * CELL)]))
        lines.append(shapely.LineString([(X0, Y0 + k * CELL), (X0 + side * CELL, Y0 + k * CELL)]))
    roads = gpd.GeoDataFrame(
        {"road_id": [f"r{k}" for k in range(len(lines))], "road_class": "secondary"},
        geometry=lines, crs=CRS,
    ).to_crs(4326)  # fmt: skip
    blocks = [
        shapely.box(X0 + (i + 1) * CELL, Y0 + (j + 1) * CELL,
                    X0 + (i + 3.5) * CELL, Y0 + (j + 3.5) * CELL)
        for i in range(0, side, 4 * grid) for j in range(0, side, 4 * grid)
    ]  # fmt: skip
    compounds = gpd.GeoDataFrame(
        {"compound_id": [f"k{k}" for k in range(len(blocks))],
         "name": [f"小区{k}" for k in range(len(blocks))], "households": 60.0},
        geometry=blocks, crs=CRS,
    ).to_crs(4326)  # fmt: skip
    units4326 = units.to_crs(4326)
    return Lattice(units4326, plan, CheckLayers(roads=roads, compounds=compounds, units=units4326))


def boundary_moves(base: EditBase, count: int, seed: int = 1) -> list[Move]:
    """``count`` single moves of a unit on a community boundary to the neighbour across."""
    rng = np.random.default_rng(seed)
    moves: list[Move] = []
    while len(moves) < count:
        i = int(rng.integers(len(base.unit_ids)))
        near = base.tree.query(base.metric[i], predicate="dwithin", distance=1.0)
        across = [int(j) for j in near if base.community[j] != base.community[i]]
        if across:
            moves.append(Move(str(base.unit_ids[i]), str(base.community[across[0]])))
    return moves


def measure(side: int = 100, moves: int = 20) -> dict[str, Any]:
    """Prepare the base once, then time each single-move preview both ways."""
    data = lattice(side)
    start = time.perf_counter()
    base = EditBase(data.plan, data.units, data.layers)
    prepare = time.perf_counter() - start
    sample = boundary_moves(base, moves)
    base.preview(sample[:1])  # warm-up
    inc, inc_cpu, full, check = [], [], [], []
    for move in sample:
        t, c = time.perf_counter(), time.process_time()
        a = base.preview([move])
        inc.append(time.perf_counter() - t)
        inc_cpu.append(time.process_time() - c)
        t = time.perf_counter()
        b = base.preview([move], incremental=False)
        full.append(time.perf_counter() - t)
        t = time.perf_counter()
        check_plan_levels(base.edited_plan(a), data.layers, levels=(Level.COMMUNITY,))
        check.append(time.perf_counter() - t)
        assert a.incremental, "the incremental check fell back to a full one"
        for level in a.checks:
            assert len(a.checks[level].findings) == len(b.checks[level].findings)
    return {
        "units": len(data.units),
        "communities": len(base.levels["community"].ids),
        "grids": len(set(base.grid)),
        "prepare_s": prepare,
        "incremental_ms": 1000 * statistics.median(inc),
        "incremental_max_ms": 1000 * max(inc),
        "incremental_cpu_ms": 1000 * statistics.median(inc_cpu),
        "full_ms": 1000 * statistics.median(full),
        "ratio": statistics.median(full) / statistics.median(inc),
        "plan_check_ms": 1000 * statistics.median(check),
        "plan_ratio": statistics.median(check) / statistics.median(inc),
    }


def lattice_store(path: Path, side: int = 100) -> int:
    """A GeoPackage store at ``path`` holding the lattice's layers and plan; its plan id."""
    from gridplan.data.layers import LayerKind
    from gridplan.data.store import open_store

    data = lattice(side)
    store = open_store(path)
    try:
        store.import_layers(
            {
                LayerKind.UNITS: data.units,
                LayerKind.ROADS: data.layers.roads,
                LayerKind.COMPOUNDS: data.layers.compounds,
            },
            source="bench_edit lattice",
        )
        return store.save_plan(data.plan)
    finally:
        store.close()


@contextlib.contextmanager
def served(db: Path, token: str = "bench-token") -> Iterator[str]:
    """``gridplan serve`` on ``db`` in a thread (uvicorn, a free loopback port); its URL."""
    import uvicorn

    from gridplan.api.app import create_app
    from gridplan.settings import Settings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(Settings(database_url=str(db), api_token=token))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    start = time.perf_counter()
    while not server.started:
        if time.perf_counter() - start > 30 or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def chromium(window: str = "1400,900") -> Any:
    """Headless Debian Chromium through Selenium (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        f"--window-size={window}",
        f"--user-data-dir={tempfile.mkdtemp(prefix='gridplan-bench-edit-')}",
    ):
        options.add_argument(arg)  # fmt: skip
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


#: True once the editor has drawn its units and shown the first live check.
EDITOR_READY = (
    "return !!(window.gridplanEditor && gridplanEditor.ready && gridplanEditor.checks > 0)"
)


def page_open_seconds(url: str, plan_id: int, repeat: int = 2, shot: Path | None = None) -> float:
    """Best-of-``repeat`` seconds from navigating to the editor to its units drawn and the
    first live check shown (the server's cache warm after the first)."""
    driver = chromium()
    best = float("inf")
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            driver.get(f"{url}/plans/{plan_id}/edit")
            while not driver.execute_script(EDITOR_READY):
                if time.perf_counter() - start > 120:
                    raise RuntimeError("the editor did not open within 120 s")
                time.sleep(0.02)
            best = min(best, time.perf_counter() - start)
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        if errors:
            raise RuntimeError(f"JavaScript errors: {errors[:3]}")
        if shot is not None:
            driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    return best


def measure_page(side: int = 100, shot: Path | None = None) -> dict[str, float]:
    """Store the lattice, serve it, and time the editor page in headless Chromium."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "lattice.gpkg"
        plan_id = lattice_store(db, side)
        with served(db) as url:
            first = page_open_seconds(url, plan_id, repeat=1)
            warm = page_open_seconds(url, plan_id, repeat=2, shot=shot)
    return {"first_open_s": first, "open_s": warm}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=100)
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--browser", action="store_true", help="also time the editor page")
    args = parser.parse_args(argv)
    r = measure(args.side, args.moves)
    print(
        f"{r['units']:,} units, {r['communities']} communities, {r['grids']} grids; "
        f"base prepared in {r['prepare_s']:.1f} s\n"
        f"live check after one move: incremental {r['incremental_ms']:.0f} ms (median, max "
        f"{r['incremental_max_ms']:.0f} ms; CPU {r['incremental_cpu_ms']:.0f} ms), "
        f"full recheck {r['full_ms']:.0f} ms: "
        f"{r['ratio']:.1f}x faster (target <= 100 ms)\n"
        f"the edited plan built and checked as `gridplan check` does (communities): "
        f"{r['plan_check_ms']:.0f} ms, {r['plan_ratio']:.1f}x the incremental check"
    )
    if args.browser:
        p = measure_page(args.side)
        print(
            f"editor page of {r['units']:,} units in headless Chromium: {p['open_s']:.2f} s "
            f"(first open, base prepared on the server: {p['first_open_s']:.2f} s; target <= 3 s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
