"""Benchmark: gridplan's partition engine vs spopt ``MaxPHeuristic`` (same floor).

Instances: rook lattices of 400, 1,600 and 3,600 units (households uniform 20–80 per unit,
seeded) and Providence's 3,014 census blocks (households = TOTPOP / 2.5: the data has residents
only). Both tools get the same floor (1000); gridplan also honours the ceiling (3000), which
max-p cannot express, so the report counts spopt's areas above it.

Run: ``.venv/bin/python tests/benchmarks/bench_partition_spopt.py [--sizes 20 40 60]
[--no-providence]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from gridplan.geo.graph import UnitGraph
from gridplan.geo.partition import partition_graph
from gridplan.geo.partition.lattice import lattice_graph, random_households

FLOOR = 1000.0
CEILING = 3000.0
PROVIDENCE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "providence"
    / "providence_blocks.gpkg"
)


@dataclass(frozen=True)
class Instance:
    """One benchmark instance: our graph and spopt's inputs on the same units."""

    name: str
    graph: UnitGraph
    gdf: gpd.GeoDataFrame
    w: object


def lattice_instance(side: int, seed: int = 0) -> Instance:
    """A ``side × side`` lattice with 20–80 households per unit."""
    from libpysal.weights import lat2W

    hh = random_households(side * side, 20, 80, seed=seed)
    graph = lattice_graph(side, side, hh)
    x, y = graph.centroids[:, 0], graph.centroids[:, 1]
    boxes = shapely.box(x - 50, y - 50, x + 50, y + 50)
    gdf = gpd.GeoDataFrame({"households": hh}, geometry=boxes, crs=32650)
    return Instance(f"lattice {side * side}", graph, gdf, lat2W(side, side, rook=True))


def providence_instance(path: Path = PROVIDENCE) -> Instance:
    """Providence blocks; households = TOTPOP / 2.5."""
    from libpysal.weights import Rook

    from gridplan.geo.adjacency import build_unit_graph

    blocks = gpd.read_file(path)
    blocks["unit_id"] = blocks["GEOID10"]
    blocks["households"] = blocks["TOTPOP"] / 2.5
    blocks["residents"] = blocks["TOTPOP"]
    graph = build_unit_graph(blocks)
    w = Rook.from_dataframe(blocks, use_index=False, silence_warnings=True)
    return Instance("providence blocks", graph, blocks[["households", "geometry"]], w)


def run_gridplan(inst: Instance, seed: int = 0) -> dict[str, float]:
    """Our engine, as many areas as the band allows."""
    t = time.perf_counter()
    r = partition_graph(inst.graph, FLOOR, CEILING, seed=seed)
    seconds = time.perf_counter() - t
    out = int(((r.totals < FLOOR) | (r.totals > CEILING)).sum())
    return {"seconds": seconds, "areas": r.k, "valid": float(r.valid), "out_of_band": out}


def run_spopt(
    inst: Instance, seed: int = 0, construction: int = 99, annealing: int = 10
) -> dict[str, float]:
    """spopt MaxPHeuristic with the same floor (spopt's default iterations unless given)."""
    from spopt.region import MaxPHeuristic

    np.random.seed(seed)
    model = MaxPHeuristic(
        inst.gdf,
        inst.w,
        ["households"],
        "households",
        FLOOR,
        top_n=2,
        max_iterations_construction=construction,
        max_iterations_sa=annealing,
    )
    t = time.perf_counter()
    model.solve()
    seconds = time.perf_counter() - t
    labels = np.asarray(model.labels_)
    hh = inst.gdf["households"].to_numpy()
    totals = np.array([hh[labels == lab].sum() for lab in np.unique(labels)])
    return {
        "seconds": seconds,
        "areas": float(len(totals)),
        "over_ceiling": float((totals > CEILING).sum()),
        "under_floor": float((totals < FLOOR).sum()),
    }


def compare(
    inst: Instance, seed: int = 0, construction: int = 99, annealing: int = 10
) -> dict[str, float]:
    """Both tools on one instance; print one line and return the numbers."""
    ours = run_gridplan(inst, seed)
    peer = run_spopt(inst, seed, construction, annealing)
    ratio = peer["seconds"] / max(ours["seconds"], 1e-9)
    print(
        f"{inst.name:>20}: gridplan {ours['seconds']:7.2f} s, {ours['areas']:4.0f} areas, "
        f"{ours['out_of_band']:.0f} out of [{FLOOR:.0f}, {CEILING:.0f}] | spopt "
        f"{peer['seconds']:7.2f} s, {peer['areas']:4.0f} areas, {peer['over_ceiling']:.0f} above "
        f"{CEILING:.0f}, {peer['under_floor']:.0f} below {FLOOR:.0f} | speed-up {ratio:6.1f}x",
        flush=True,
    )
    return {
        **{f"ours_{k}": v for k, v in ours.items()},
        **{f"spopt_{k}": v for k, v in peer.items()},
        "ratio": ratio,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[20, 40, 60])
    parser.add_argument("--no-providence", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for side in args.sizes:
        compare(lattice_instance(side, args.seed), args.seed)
    if not args.no_providence:
        compare(providence_instance(), args.seed)


if __name__ == "__main__":
    main()
