"""Tests of the partition engine on hand-drawn graphs with known answers, and on real data."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from gridplan.geo.graph import UnitGraph
from gridplan.geo.partition import PartitionConfig, partition_graph
from gridplan.geo.partition.lattice import lattice_graph, random_households


def _graph(
    ids: str,
    households: list[float],
    edges: list[tuple[int, int, str | None]],
    xy: list[tuple[float, float]],
) -> UnitGraph:
    return UnitGraph(
        unit_ids=np.array(list(ids), dtype=object),
        households=np.asarray(households, dtype=float),
        residents=np.asarray(households, dtype=float) * 2.5,
        edges=pd.DataFrame(
            {
                "u": [e[0] for e in edges],
                "v": [e[1] for e in edges],
                "length": [100.0] * len(edges),
                "road_class": pd.Series([e[2] for e in edges], dtype=object),
            }
        ),
        centroids=np.asarray(xy, dtype=float),
        areas=np.full(len(ids), 1e4),
    )


def _check_plan(graph: UnitGraph, labels: np.ndarray, lo: float, hi: float) -> None:
    """Independent check with networkx: every district connected and inside the band."""
    g = graph.to_networkx()
    for d in np.unique(labels):
        members = np.flatnonzero(labels == d).tolist()
        assert nx.is_connected(g.subgraph(members)), f"district {d} not contiguous"
        total = graph.households[members].sum()
        assert lo - 1e-9 <= total <= hi + 1e-9, f"district {d} holds {total}"


def test_path_splits_in_two() -> None:
    """
    a - b - c - d      10 households each, band [15, 25] -> {a,b} {c,d}
    """
    g = _graph(
        "abcd", [10] * 4, [(0, 1, None), (1, 2, None), (2, 3, None)], [(i, 0) for i in range(4)]
    )
    r = partition_graph(g, 15, 25)
    assert r.valid and r.reason is None
    assert r.k == 2
    assert r.labels[0] == r.labels[1] != r.labels[2] == r.labels[3]
    assert r.totals.tolist() == [20.0, 20.0]
    assert r.units.tolist() == [2, 2]


def test_cut_follows_the_road() -> None:
    """Two rows of four units; a primary road runs between the rows, nothing else is a road.

        a   b   c   d
       ===============  primary (4 edges)
        e   f   g   h

    k = 2 with 4 households each: cutting across the middle (2 off-road edges) is shorter,
    but the road is cheaper to cut along, so the rows become the areas.
    """
    edges: list[tuple[int, int, str | None]] = [(i, i + 1, None) for i in (0, 1, 2, 4, 5, 6)]
    edges += [(i, i + 4, "primary") for i in range(4)]
    xy = [(x, 1) for x in range(4)] + [(x, 0) for x in range(4)]
    g = _graph("abcdefgh", [1] * 8, edges, xy)
    for seed in range(5):
        r = partition_graph(g, 4, 4, k=2, seed=seed)
        assert r.valid
        assert len(set(r.labels[:4])) == 1 and len(set(r.labels[4:])) == 1
        assert r.labels[0] != r.labels[4]
        assert r.road_share.tolist() == [1.0, 1.0]


def test_unit_above_ceiling_is_named() -> None:
    """
    a - b - c     b holds 50 households, the ceiling is 40
    """
    g = _graph("abc", [10, 50, 10], [(0, 1, None), (1, 2, None)], [(0, 0), (1, 0), (2, 0)])
    r = partition_graph(g, 10, 40)
    assert not r.valid
    assert r.reason is not None and "unit b holds 50" in r.reason and "ceiling of 40" in r.reason
    assert (r.labels == -1).all()


def test_island_joined_or_reported() -> None:
    """
    a - b - c        d           d is an island (a river) with 5 households; floor 10
    """
    g = _graph(
        "abcd",
        [10, 10, 10, 5],
        [(0, 1, None), (1, 2, None)],
        [(0, 0), (1, 0), (2, 0), (4, 0)],
    )
    r = partition_graph(g, 10, 20)
    assert r.valid
    assert len(r.islands) == 1
    assert r.islands[0].units == ("d",) and r.islands[0].joined_to == "c"
    assert r.labels[3] == r.labels[2]
    off = partition_graph(g, 10, 20, join_islands=False)
    assert not off.valid
    assert off.reason is not None
    assert "e.g. unit d" in off.reason and "5 households, below the floor of 10" in off.reason


def test_k_that_cannot_hold_the_total() -> None:
    """Six units of 10 households on a path; 4 areas of 20-30 need at least 80."""
    g = _graph("abcdef", [10] * 6, [(i, i + 1, None) for i in range(5)], [(i, 0) for i in range(6)])
    r = partition_graph(g, 20, 30, k=4)
    assert not r.valid
    assert r.reason is not None
    assert "k = 4 areas can't hold 60 households" in r.reason
    assert "between 2 and 3 areas" in r.reason
    ok = partition_graph(g, 20, 30, k=3)
    assert ok.valid and ok.totals.tolist() == [20.0, 20.0, 20.0]


def test_no_whole_number_of_areas() -> None:
    """Total 35 with band [20, 30]: one area is too big, two are too small."""
    g = _graph("abc", [10, 15, 10], [(0, 1, None), (1, 2, None)], [(0, 0), (1, 0), (2, 0)])
    r = partition_graph(g, 20, 30)
    assert not r.valid and r.reason is not None and "no whole number of areas" in r.reason


def test_deterministic_for_a_seed() -> None:
    g = lattice_graph(20, 20, random_households(400, seed=3))
    a = partition_graph(g, 1000, 3000, seed=7)
    b = partition_graph(g, 1000, 3000, seed=7)
    assert a.valid and np.array_equal(a.labels, b.labels)


@pytest.mark.parametrize("k", [None, 20])
def test_lattice_valid_and_independently_checked(k: int | None) -> None:
    g = lattice_graph(30, 30, random_households(900, seed=1))
    r = partition_graph(g, 1000, 3000, k=k, seed=1)
    assert r.valid, r.reason
    if k is not None:
        assert r.k == k
    else:
        assert r.k >= 0.75 * g.households.sum() // 1000
    _check_plan(g, r.labels, 1000, 3000)


def test_baseline_kept_when_already_valid() -> None:
    """A 4×4 lattice, 1 household per unit, baseline = left and right halves, band [6, 10]."""
    g = lattice_graph(4, 4)
    base = np.where(np.arange(16) % 4 < 2, "west", "east")
    r = partition_graph(g, 6, 10, baseline=base, seed=2)
    assert r.valid and r.households_moved == 0
    assert list(r.district_of()) == list(base)


def test_baseline_repair_moves_few() -> None:
    """Baseline: column 0 alone ('thin', 4 households) and the rest ('big', 12), band [6, 10].

    At least 2 households must move into 'thin'; the plan keeps both names.
    """
    g = lattice_graph(4, 4)
    base = np.where(np.arange(16) % 4 == 0, "thin", "big")
    r = partition_graph(g, 6, 10, baseline=base, seed=0)
    assert r.valid
    assert set(r.names) == {"thin", "big"}
    assert r.households_moved is not None and 2 <= r.households_moved <= 4
    _check_plan(g, r.labels, 6, 10)


def test_bad_weights_are_input_errors() -> None:
    from gridplan.errors import InputError

    g = _graph("ab", [1, float("nan")], [(0, 1, None)], [(0, 0), (1, 0)])
    with pytest.raises(InputError, match="unit b"):
        partition_graph(g, 1, 2)


@pytest.mark.parametrize(("lo", "hi"), [(-5, 15), (float("nan"), 15), (5, float("inf"))])
def test_bad_band_is_an_input_error(lo: float, hi: float) -> None:
    """A negative, NaN or infinite band used to loop forever in the seeding."""
    from gridplan.errors import InputError

    g = _graph("ab", [10, 10], [(0, 1, None)], [(0, 0), (1, 0)])
    with pytest.raises(InputError, match="band"):
        partition_graph(g, lo, hi)


@pytest.mark.parametrize("time_limit", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_time_limit_is_an_input_error(time_limit: float) -> None:
    """A zero, negative, NaN or infinite time limit used to be accepted (NaN: a deadline
    that never passes; zero or negative: no local search at all, silently)."""
    from gridplan.errors import InputError

    g = _graph("ab", [10, 10], [(0, 1, None)], [(0, 0), (1, 0)])
    with pytest.raises(InputError, match=r"time_limit must be a positive number of seconds"):
        partition_graph(g, 5, 15, time_limit=time_limit)


def test_zero_floor_gives_one_area_per_unit() -> None:
    """
    a - b      10 households each, band [0, 15]: as many areas as allowed -> {a} {b}
    (a floor of 0 used to ask the seeding for a billion areas and never return)
    """
    g = _graph("ab", [10, 10], [(0, 1, None)], [(0, 0), (1, 0)])
    r = partition_graph(g, 0, 15, time_limit=30)
    assert r.valid
    assert r.k == 2
    assert r.labels[0] != r.labels[1]


def test_first_valid_plan_without_search() -> None:
    g = lattice_graph(20, 20, random_households(400, seed=5))
    r = partition_graph(g, 1000, 3000, k=10, config=PartitionConfig(improve_steps=0, flip_rounds=0))
    assert r.valid and r.iterations == 0


@pytest.mark.realdata
def test_providence_blocks(shared_data: Path) -> None:
    """Providence's 3,014 census blocks (households = TOTPOP / 2.5) into 1000–3000."""
    import geopandas as gpd

    from gridplan.geo.adjacency import build_unit_graph

    blocks = gpd.read_file(shared_data / "providence" / "providence_blocks.gpkg")
    blocks["unit_id"] = blocks["GEOID10"]
    blocks["households"] = blocks["TOTPOP"] / 2.5
    blocks["residents"] = blocks["TOTPOP"]
    g = build_unit_graph(blocks)
    for k in (None, 39):
        r = partition_graph(g, 1000, 3000, k=k, seed=0)
        assert r.valid, r.reason
        _check_plan(g, r.labels, 1000, 3000)
    assert r.k == 39
    tracts = blocks["TRACTCE10"].to_numpy()
    rb = partition_graph(g, 1000, 3000, seed=0, baseline=tracts)
    assert rb.valid and rb.households_moved is not None
    # Most tracts already fit the band: far fewer than all households move.
    assert rb.households_moved < 0.1 * g.households.sum()


def test_baseline_with_unassigned_units() -> None:
    """Units 0 and 5 have no baseline community; they join the plan and count as moved."""
    g = lattice_graph(4, 4)
    base = np.where(np.arange(16) % 4 < 2, "west", "east").astype(object)
    base[[0, 5]] = None
    r = partition_graph(g, 6, 10, baseline=base, seed=2)
    assert r.valid and set(r.names) == {"west", "east"}
    assert r.households_moved == 2
    assert r.district_of()[0] == r.district_of()[5] == "west"
