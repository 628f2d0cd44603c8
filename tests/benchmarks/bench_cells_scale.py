"""Benchmark: cells at city scale, beside momepy's enclosed tessellation on the same input.

Issue 12's speed target: cells + unit graph + grids for 100,000 buildings in under 60 s and
under 4 GB. The input is pyrosm's ``test.osm.pbf`` (a small Finnish town, 2,185 buildings)
*tiled*: copies of its roads and buildings side by side in its UTM zone (each shifted east by
the town's width plus 500 m), as many as reach ``--buildings``. Households are estimated once
on the town and copied with it. Timed in one process:

* gridplan: road blocks (:func:`gridplan.geo.units.build_units`) and cells
  (:func:`gridplan.geo.cells.build_cells`), the cells' unit graph
  (:func:`gridplan.geo.adjacency.build_unit_graph`), communities of whole blocks
  (:func:`gridplan.ops.partition.partition_units`) and grids of cells
  (:func:`gridplan.geo.grids.divide_into_grids`);
* the peer: ``momepy.enclosed_tessellation`` of the same buildings with the same blocks as
  enclosures (momepy's own cells), which is only the tessellation step.

Peak memory is the process's maximum resident set. Run:
``.venv/bin/python tests/benchmarks/bench_cells_scale.py [--buildings 100000]``.
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import shapely

from gridplan.data.crs import metric_crs
from gridplan.data.households import estimate_households
from gridplan.data.layers import LayerKind, validate
from gridplan.data.osm import read_osm
from gridplan.geo.adjacency import build_unit_graph
from gridplan.geo.cells import build_cells
from gridplan.geo.grids import GridParams, divide_into_grids
from gridplan.geo.units import build_units
from gridplan.ops.partition import PartitionSpec, partition_units


def tiled_town(buildings: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, int]:
    """Roads and buildings of ``test.osm.pbf`` tiled east until ``buildings`` are reached."""
    layers = read_osm(pyrosm.get_data("test_pbf"))
    roads, _ = validate(LayerKind.ROADS, layers[LayerKind.ROADS])
    build, _ = validate(LayerKind.BUILDINGS, layers[LayerKind.BUILDINGS])
    build = estimate_households(build).buildings
    crs = metric_crs(roads, "roads")
    roads, build = roads.to_crs(crs), build.to_crs(crs)
    x0, _, x1, _ = roads.total_bounds
    step = (x1 - x0) + 500.0
    copies = int(np.ceil(buildings / len(build)))
    out_roads, out_build = [], []
    for k in range(copies):
        r = roads.copy()
        r["road_id"] = r["road_id"].astype(str) + f"-{k}"
        r["geometry"] = shapely.transform(
            r.geometry.values, lambda xy, k=k: xy + np.array([k * step, 0.0])
        )
        b = build.copy()
        b["building_id"] = b["building_id"].astype(str) + f"-{k}"
        b["geometry"] = shapely.transform(
            b.geometry.values, lambda xy, k=k: xy + np.array([k * step, 0.0])
        )
        out_roads.append(r)
        out_build.append(b)
    all_roads = gpd.GeoDataFrame(pd.concat(out_roads, ignore_index=True), crs=crs)
    all_build = gpd.GeoDataFrame(pd.concat(out_build, ignore_index=True), crs=crs)
    return all_roads, all_build.iloc[:buildings].reset_index(drop=True), copies


def run(buildings: int, with_peer: bool = True) -> dict[str, Any]:
    roads, build, copies = tiled_town(buildings)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    units = build_units(roads, buildings=build)
    timings["blocks"] = time.perf_counter() - t
    t = time.perf_counter()
    cells = build_cells(units.units, units.placements, {"buildings": build})
    timings["cells"] = time.perf_counter() - t
    t = time.perf_counter()
    graph = build_unit_graph(cells, roads)
    timings["cell graph"] = time.perf_counter() - t
    t = time.perf_counter()
    part = partition_units(cells, PartitionSpec(band=(1000, 3000), seed=1, time_limit=30))
    timings["communities"] = time.perf_counter() - t
    t = time.perf_counter()
    grids = None
    if part.plan is not None:
        communities = part.plan.areas_at("community")
        with_area = cells.assign(area_id=part.units["community_id"].to_numpy(dtype=object))
        grids = divide_into_grids(
            with_area, communities, params=GridParams(300, 500, seed=1, time_limit=5), roads=roads
        )
    timings["grids"] = time.perf_counter() - t
    ours = sum(timings.values())
    peer = float("nan")
    if with_peer:
        import momepy

        t = time.perf_counter()
        momepy.enclosed_tessellation(build[["geometry"]], units.blocks[["geometry"]])
        peer = time.perf_counter() - t
    return {
        "buildings": len(build),
        "copies": copies,
        "cells": len(cells),
        "blocks": len(units.units),
        "edges": len(graph.edges) if hasattr(graph, "edges") else None,
        "communities": part.result.k if part.plan is not None else 0,
        "grids": len(grids.grids) if grids is not None else 0,
        "grids_in_band": float(grids.grids["in_band"].mean()) if grids is not None else 0.0,
        "households": float(cells["households"].sum()),
        "households_in": float(units.placements["households"].sum()),
        "timings": timings,
        "ours": ours,
        "tessellation_ours": timings["cells"],
        "tessellation_momepy": peer,
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--no-peer", action="store_true", help="skip momepy")
    args = parser.parse_args()
    r = run(args.buildings, with_peer=not args.no_peer)
    print(
        f"{r['buildings']:,} buildings (test.osm.pbf tiled {r['copies']}x): {r['blocks']:,} "
        f"block units -> {r['cells']:,} cells; {r['communities']} communities, {r['grids']} "
        f"grids ({r['grids_in_band']:.0%} in 300-500)"
    )
    for step, seconds in r["timings"].items():
        print(f"  {step:12} {seconds:7.1f} s")
    print(f"  {'total':12} {r['ours']:7.1f} s   (target < 60 s)   peak {r['peak_gb']:.2f} GB")
    print(
        f"  households placed {r['households_in']:,.1f}, on cells {r['households']:,.1f} "
        f"(difference {abs(r['households'] - r['households_in']):.2e})"
    )
    peer = r["tessellation_momepy"]
    print(
        f"  tessellation: gridplan cells {r['tessellation_ours']:.1f} s, momepy "
        f"enclosed_tessellation {peer:.1f} s, ratio momepy/gridplan "
        f"{peer / r['tessellation_ours']:.2f}x"
    )


if __name__ == "__main__":
    main()
