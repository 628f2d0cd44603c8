"""Benchmark: time to a valid plan at scale (10,000 and 100,000 units).

Synthetic rook lattices (households uniform 20–80 per unit, seeded), band [1000, 3000]:

* gridplan, as many areas as the band allows, to the first valid plan (no local search) and
  with the default local search;
* gridplan with a fixed k = total / 2000 (1,000–3,000 households, k areas), first valid plan;
* peer: GerryChain ``recursive_tree_part`` on the same lattice with the same k and a 50 %
  balance tolerance (its only way to express the 1000–3000 band around the 2000 ideal), on
  the 10,000-unit lattice (``--peer-all`` also runs it on the largest, which takes minutes).

Targets: 10,000 units to a valid plan in under 10 s; 100,000 in under 2 minutes.

Run: ``.venv/bin/python tests/benchmarks/bench_partition_scale.py [--sides 100 317]``.
"""

from __future__ import annotations

import argparse
import random
import time

import networkx as nx

from gridplan.geo.graph import UnitGraph
from gridplan.geo.partition import PartitionConfig, partition_graph
from gridplan.geo.partition.lattice import lattice_graph, random_households

LO, HI = 1000.0, 3000.0


def instance(side: int, seed: int = 0) -> UnitGraph:
    """A ``side × side`` lattice with 20–80 households per unit."""
    return lattice_graph(side, side, random_households(side * side, 20, 80, seed=seed))


def run_gridplan(graph: UnitGraph, k: int | None, improve: bool, seed: int = 0) -> dict[str, float]:
    """Seconds, areas and validity of one run."""
    config = PartitionConfig() if improve else PartitionConfig(improve_steps=0, flip_rounds=0)
    t = time.perf_counter()
    r = partition_graph(graph, LO, HI, k=k, seed=seed, config=config)
    return {"seconds": time.perf_counter() - t, "areas": float(r.k), "valid": float(r.valid)}


def run_gerrychain(graph: UnitGraph, k: int, seed: int = 0) -> dict[str, float]:
    """GerryChain ``recursive_tree_part`` with the same k (ideal ± 50 %)."""
    from gerrychain import Graph
    from gerrychain.partition import recursive_tree_part

    nxg = nx.Graph()
    nxg.add_nodes_from((i, {"hh": float(h)}) for i, h in enumerate(graph.households))
    nxg.add_edges_from(zip(graph.edges["u"].tolist(), graph.edges["v"].tolist(), strict=True))
    gcg = Graph.from_networkx(nxg)
    ideal = float(graph.households.sum()) / k
    random.seed(seed)
    t = time.perf_counter()
    assignment = recursive_tree_part(gcg, range(k), ideal, "hh", 0.5)
    seconds = time.perf_counter() - t
    totals: dict[int, float] = {}
    for node, d in assignment.items():
        totals[d] = totals.get(d, 0.0) + float(graph.households[node])
    valid = all(LO <= v <= HI for v in totals.values())
    return {"seconds": seconds, "areas": float(len(totals)), "valid": float(valid)}


def report(side: int, peer: bool, seed: int = 0) -> dict[str, float]:
    """All runs on one lattice; print them and return the numbers."""
    graph = instance(side, seed)
    k = int(graph.households.sum() // 2000)
    first = run_gridplan(graph, None, improve=False, seed=seed)
    full = run_gridplan(graph, None, improve=True, seed=seed)
    fixed = run_gridplan(graph, k, improve=False, seed=seed)
    line = (
        f"{graph.n:>7} units: max-areas first valid plan {first['seconds']:6.2f} s "
        f"({first['areas']:.0f} areas, valid={bool(first['valid'])}); with local search "
        f"{full['seconds']:6.2f} s (valid={bool(full['valid'])}); fixed k={k} first valid plan "
        f"{fixed['seconds']:6.2f} s (valid={bool(fixed['valid'])})"
    )
    out = {"first": first["seconds"], "full": full["seconds"], "fixed": fixed["seconds"]}
    if peer:
        gc = run_gerrychain(graph, k, seed)
        line += (
            f" | GerryChain recursive_tree_part k={k}: {gc['seconds']:6.2f} s "
            f"(valid={bool(gc['valid'])}) -> {gc['seconds'] / fixed['seconds']:5.1f}x"
        )
        out["peer"] = gc["seconds"]
    print(line, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sides", type=int, nargs="*", default=[100, 317])
    parser.add_argument("--peer-all", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for i, side in enumerate(args.sides):
        report(side, peer=args.peer_all or i == 0, seed=args.seed)


if __name__ == "__main__":
    main()
