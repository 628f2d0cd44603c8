"""Benchmark: road polygonization and unit building on a city-size road network.

Instance: the real Tallahassee TIGER roads (567 segments) tiled ``--tiles``×``--tiles`` times
side by side (default 14 × 13 ≈ 103,000 segments), with the 254 census-block points tiled
the same way (households on units, conserved exactly).

What is compared
----------------
* gridplan :func:`gridplan.geo.blocks.polygonize_roads` (noding, dangles, outline clip,
  sliver merge, ids) and :func:`gridplan.geo.units.build_units` (blocks + households from
  the points), timed with peak memory (``tracemalloc`` for Python/numpy allocations and the
  process's peak RSS from ``resource.getrusage``);
* gridplan :func:`gridplan.geo.adjacency.build_unit_graph` on those units (rook adjacency
  with the road class along every shared edge), timed;
* the peer: geopandas ``GeoSeries.polygonize(node=True)`` (plain GEOS noding +
  polygonize, without sliver merging, clipping or ids) on the same lines.

Run: ``.venv/bin/python tests/benchmarks/bench_units.py [--tiles-x 14 --tiles-y 13]``.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.data.road_classes import road_class_from_mtfcc
from gridplan.geo.adjacency import build_unit_graph
from gridplan.geo.blocks import polygonize_roads
from gridplan.geo.units import build_units

TALLAHASSEE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "tallahassee"
    / "tallahassee.gpkg"
)


def tiled_inputs(tiles_x: int, tiles_y: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Roads and block points repeated on a ``tiles_x`` × ``tiles_y`` grid of copies."""
    roads = gpd.read_file(TALLAHASSEE, layer="roads")
    points = gpd.read_file(TALLAHASSEE, layer="block_points").to_crs(roads.crs)
    minx, miny, maxx, maxy = roads.total_bounds
    width, height = maxx - minx, maxy - miny
    rgeoms = np.asarray(roads.geometry.values, dtype=object)
    pgeoms = np.asarray(points.geometry.values, dtype=object)
    road_parts: list[np.ndarray] = []
    point_parts: list[np.ndarray] = []
    for i in range(tiles_x):
        for j in range(tiles_y):
            dx, dy = i * width, j * height
            road_parts.append(_shift(rgeoms, dx, dy))
            point_parts.append(_shift(pgeoms, dx, dy))
    n_tiles = tiles_x * tiles_y
    tiled_roads = gpd.GeoDataFrame(
        {"road_class": np.tile(road_class_from_mtfcc(roads["MTFCC"]).to_numpy(object), n_tiles)},
        geometry=np.concatenate(road_parts),
        crs=roads.crs,
    )
    tiled_points = gpd.GeoDataFrame(
        {
            "households": np.tile(points["HU100"].to_numpy(dtype=float), n_tiles),
            "residents": np.tile(points["POP100"].to_numpy(dtype=float), n_tiles),
        },
        geometry=np.concatenate(point_parts),
        crs=roads.crs,
    )
    return tiled_roads, tiled_points


def _shift(geoms: np.ndarray, dx: float, dy: float) -> np.ndarray:
    offset = np.array([dx, dy])
    return shapely.transform(geoms, lambda coords: coords + offset)


def measure(func: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds and tracemalloc peak (MB) of one call, and its result."""
    tracemalloc.start()
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 1e6, result


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of one call (no tracing overhead), and its result."""
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def run(roads: gpd.GeoDataFrame, points: gpd.GeoDataFrame) -> dict[str, float]:
    """Time gridplan (blocks; units with households) and the geopandas peer.

    Units are built inside the bounding box of the tiles (the outline closes the edge blocks,
    so every household is placed); polygonize is timed with and without the outline.
    """
    outline = gpd.GeoDataFrame(
        geometry=[shapely.box(*roads.total_bounds).buffer(1.0, join_style="mitre")],
        crs=roads.crs,
    )
    polygonize_roads(roads.iloc[:50])  # warm-up (first-call costs) for both tools
    roads.iloc[:50].geometry.polygonize(node=True)
    ours_s, blocks = timed(lambda: polygonize_roads(roads))
    peer_s, peer = timed(lambda: roads.geometry.polygonize(node=True))
    units_s, units = timed(lambda: build_units(roads, outline, points=points))
    _, units_peak_mb, _ = measure(lambda: build_units(roads, outline, points=points))
    graph_s, graph = timed(lambda: build_unit_graph(units.units, roads))
    placed = float(units.units["households"].sum())
    unplaced = float(units.unplaced["households"].sum()) if len(units.unplaced) else 0.0
    return {
        "segments": float(len(roads)),
        "points": float(len(points)),
        "blocks": float(len(blocks)),
        "peer_faces": float(len(peer)),
        "polygonize_s": ours_s,
        "peer_s": peer_s,
        "ratio": peer_s / ours_s if ours_s > 0 else float("inf"),
        "units_s": units_s,
        "units": float(len(units.units)),
        "units_peak_traced_mb": units_peak_mb,
        "graph_s": graph_s,
        "graph_edges": float(len(graph.edges)),
        "households_in": float(points["households"].sum()),
        "households_placed": placed,
        "households_unplaced": unplaced,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiles-x", type=int, default=14)
    parser.add_argument("--tiles-y", type=int, default=13)
    args = parser.parse_args()
    roads, points = tiled_inputs(args.tiles_x, args.tiles_y)
    r = run(roads, points)
    frame = pd.Series(r)
    print(
        f"Tallahassee roads tiled {args.tiles_x} x {args.tiles_y}: "
        f"{r['segments']:,.0f} segments, {r['points']:,.0f} block points"
    )
    print(
        f"  gridplan polygonize_roads:        {r['polygonize_s']:7.2f} s  "
        f"({r['blocks']:,.0f} blocks, slivers merged, ids)"
    )
    print(
        f"  geopandas polygonize(node=True):  {r['peer_s']:7.2f} s  "
        f"({r['peer_faces']:,.0f} raw faces)"
    )
    print(f"  ratio peer / gridplan:            {r['ratio']:7.2f}x")
    print(
        f"  gridplan build_units in the tiles' bbox (+households): {r['units_s']:5.2f} s  "
        f"({r['units']:,.0f} units; households {r['households_placed']:,.0f} placed + "
        f"{r['households_unplaced']:,.0f} unplaced = {r['households_in']:,.0f} in)"
    )
    print(f"  peak traced memory of build_units: {r['units_peak_traced_mb']:7.1f} MB")
    print(
        f"  gridplan build_unit_graph:        {r['graph_s']:7.2f} s  "
        f"({r['graph_edges']:,.0f} edges with road classes)"
    )
    print(f"  peak RSS of the process:           {r['peak_rss_mb']:7.1f} MB")
    print(frame.to_json())


if __name__ == "__main__":
    main()
