"""Benchmark: gridplan merge-split steps vs GerryChain ReCom, and time to a first valid plan.

Instances (both tools on the same graph, same run): a 50×50 grid graph (1 resident per node)
with k = 10, and Providence's 3,014 census blocks (TOTPOP residents) with k = 39. Balance:
every district within 5 % of the ideal population.

* Steps per second: GerryChain's ``MarkovChain`` with the ``recom`` proposal, the contiguity
  constraint and 5 % balance, always accepting; ours: merge-split steps that accept any in-band
  re-cut (the same ReCom move: merge two adjacent districts, draw a random spanning tree, cut
  it into two balanced parts). A GerryChain step redraws trees until a balanced cut exists, so
  we count only completed moves, retries included in the time. We also report our
  optimising steps (accepting only non-worsening cuts, the engine's local search).
* First valid plan: GerryChain's ``recursive_tree_part`` vs ``partition_graph`` with
  ``improve_steps=0``. Both chains then start from our first plan (GerryChain's
  ``recursive_tree_part`` gives up on Providence at 5 %).

Run: ``.venv/bin/python tests/benchmarks/bench_partition_gerrychain.py [--steps 300]
[--no-providence]``.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import networkx as nx
import numpy as np

from gridplan.geo.graph import UnitGraph
from gridplan.geo.partition import PartitionConfig, partition_graph
from gridplan.geo.partition.costs import topology
from gridplan.geo.partition.lattice import lattice_graph
from gridplan.geo.partition.search import Search

EPSILON = 0.05
PROVIDENCE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "providence"
    / "providence_blocks.gpkg"
)


def grid_instance(side: int = 50) -> UnitGraph:
    """A ``side × side`` grid with 1 resident per node (households = residents)."""
    g = lattice_graph(side, side)
    return UnitGraph(g.unit_ids, g.households, g.households.copy(), g.edges, g.centroids, g.areas)


def providence_instance(path: Path = PROVIDENCE) -> UnitGraph:
    """Providence blocks with TOTPOP residents."""
    import geopandas as gpd

    from gridplan.geo.adjacency import build_unit_graph

    blocks = gpd.read_file(path)
    blocks["unit_id"] = blocks["GEOID10"]
    blocks["households"] = blocks["TOTPOP"] / 2.5
    blocks["residents"] = blocks["TOTPOP"]
    return build_unit_graph(blocks)


def _band(graph: UnitGraph, k: int) -> tuple[float, float, float]:
    ideal = float(graph.residents.sum()) / k
    return ideal, ideal * (1 - EPSILON), ideal * (1 + EPSILON)


def _gc_graph(graph: UnitGraph) -> object:
    from gerrychain import Graph

    nxg = nx.Graph()
    nxg.add_nodes_from((i, {"population": float(p)}) for i, p in enumerate(graph.residents))
    nxg.add_edges_from(zip(graph.edges["u"].tolist(), graph.edges["v"].tolist(), strict=True))
    return Graph.from_networkx(nxg)


def gerrychain_first_plan(
    graph: UnitGraph, k: int, seed: int = 0
) -> tuple[float, dict[int, int] | None]:
    """Seconds for ``recursive_tree_part`` and its assignment (``None`` when it gives up:
    GerryChain raises after 100,000 spanning trees without a balanced cut)."""
    import random

    from gerrychain.partition import recursive_tree_part

    gcg = _gc_graph(graph)
    ideal, _, _ = _band(graph, k)
    random.seed(seed)
    t = time.perf_counter()
    try:
        assignment = recursive_tree_part(gcg, range(k), ideal, "population", EPSILON)
    except RuntimeError:
        return time.perf_counter() - t, None
    return time.perf_counter() - t, dict(assignment)


def gerrychain_steps(
    graph: UnitGraph, k: int, steps: int, initial: dict[int, int], seed: int = 0
) -> float:
    """ReCom steps per second (recom proposal, contiguity, 5 % balance, always accept),
    starting from ``initial`` (the same plan our chain starts from)."""
    import random

    from gerrychain import MarkovChain, Partition
    from gerrychain.accept import always_accept
    from gerrychain.constraints import contiguous, within_percent_of_ideal_population
    from gerrychain.proposals import recom
    from gerrychain.updaters import Tally, cut_edges

    gcg = _gc_graph(graph)
    ideal, _, _ = _band(graph, k)
    random.seed(seed)
    start = Partition(
        gcg,
        initial,
        updaters={"population": Tally("population", alias="population"), "cut_edges": cut_edges},
    )
    proposal = partial(recom, pop_col="population", pop_target=ideal, epsilon=EPSILON)
    chain = MarkovChain(
        proposal,
        constraints=[contiguous, within_percent_of_ideal_population(start, EPSILON)],
        acceptance_fn=always_accept,
        initial_partition=start,
        total_steps=steps,
    )
    t = time.perf_counter()
    for _ in chain:
        pass
    return steps / (time.perf_counter() - t)


def gridplan_first_plan(
    graph: UnitGraph, k: int, seed: int = 0
) -> tuple[float, bool, dict[int, int]]:
    """Seconds for our first valid plan (no local search), its validity and assignment."""
    _, lo, hi = _band(graph, k)
    t = time.perf_counter()
    r = partition_graph(
        graph,
        lo,
        hi,
        measure="residents",
        k=k,
        seed=seed,
        config=PartitionConfig(improve_steps=0, flip_rounds=0),
    )
    return time.perf_counter() - t, r.valid, {i: int(d) for i, d in enumerate(r.labels)}


def gridplan_steps(
    graph: UnitGraph, k: int, steps: int, seed: int = 0, optimise: bool = False
) -> tuple[float, float]:
    """Our merge-split moves per second, and the share of attempts that completed.

    ``optimise=False``: ReCom sampling (any in-band re-cut is a completed move; a tree with
    no balanced cut is redrawn, as GerryChain does). ``optimise=True``: local-search steps
    (each proposal counts, accepted or not).
    """
    _, lo, hi = _band(graph, k)
    first = partition_graph(
        graph,
        lo,
        hi,
        measure="residents",
        k=k,
        seed=seed,
        config=PartitionConfig(improve_steps=0, flip_rounds=0),
    )
    if not first.valid:
        raise RuntimeError(f"no first plan: {first.reason}")
    top = topology(graph.n, graph.edges, PartitionConfig(), (np.zeros(0), np.zeros(0)))
    search = Search(top, graph.residents, first.labels, lo, hi, np.random.default_rng(seed))
    done = 0
    attempts = 0
    t = time.perf_counter()
    while done < steps:
        attempts += 1
        moved = search.step(accept_any=not optimise)
        done += 1 if (moved or optimise) else 0
    seconds = time.perf_counter() - t
    assert search.valid()
    return done / seconds, done / attempts


def compare(name: str, graph: UnitGraph, k: int, steps: int, seed: int = 0) -> dict[str, float]:
    """Both tools on one instance; print and return the numbers."""
    gc_first, gc_plan = gerrychain_first_plan(graph, k, seed)
    our_first, valid, ours = gridplan_first_plan(graph, k, seed)
    gc_rate = gerrychain_steps(graph, k, steps, ours, seed)
    our_rate, completed = gridplan_steps(graph, k, steps, seed)
    opt_rate, _ = gridplan_steps(graph, k, steps, seed, optimise=True)
    print(
        f"{name:>22} k={k}: ReCom steps/s gridplan {our_rate:8.1f} "
        f"({completed:.0%} of attempts completed) vs GerryChain {gc_rate:6.1f} "
        f"-> {our_rate / gc_rate:5.1f}x | optimising steps/s {opt_rate:8.1f} | first valid plan "
        f"gridplan {our_first:6.3f} s (valid={valid}) vs recursive_tree_part {gc_first:6.3f} s "
        + (
            f"-> {gc_first / our_first:5.1f}x"
            if gc_plan is not None
            else "(gave up: no balanced cut after 100,000 trees)"
        ),
        flush=True,
    )
    return {
        "ours_rate": our_rate,
        "gc_rate": gc_rate,
        "opt_rate": opt_rate,
        "ours_first": our_first,
        "gc_first": gc_first,
        "gc_first_found": float(gc_plan is not None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--side", type=int, default=50)
    parser.add_argument("--no-providence", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    compare(f"grid {args.side}x{args.side}", grid_instance(args.side), 10, args.steps, args.seed)
    if not args.no_providence:
        compare("providence blocks", providence_instance(), 39, args.steps, args.seed)


if __name__ == "__main__":
    main()
