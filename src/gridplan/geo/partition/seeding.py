"""Seeding: recursive spanning-tree bisection into areas whose totals lie in ``[lo, hi]``.

A region of total ``T`` that must become ``m`` areas is cut at one edge of a random spanning
tree so that the two sides can become ``m1`` and ``m - m1`` areas (``m1·lo <= s <= m1·hi`` and
likewise for the rest). Every feasible tree edge is found at once from vectorised subtree sums;
the most balanced one wins, cheaper (road) cuts breaking ties. Both sides recurse; a side that
fails is retried with a new tree. In *flexible* mode (as many areas as the band allows) a
region that cannot be cut into ``m`` areas tries ``m - 1``.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from gridplan.geo.partition.trees import FloatArray, IntArray, Topology, Tree, random_tree

_EPS = 1e-9


class OutOfBudgetError(Exception):
    """The seeding attempt used up its spanning trees or its time."""


class RegionTrees:
    """Draws random spanning trees of regions of one topology."""

    def __init__(self, top: Topology, rng: np.random.Generator) -> None:
        self.top = top
        self.rng = rng
        self.local = np.full(top.n, -1, dtype=np.int64)

    def draw(self, nodes: IntArray) -> tuple[Tree | None, IntArray, IntArray, IntArray]:
        """A random spanning tree of ``nodes`` and the region's local edges ``a, b, e``."""
        self.local[nodes] = np.arange(len(nodes))
        try:
            a, b, e = self.top.region_edges(nodes, self.local)
        finally:
            self.local[nodes] = -1
        weights = self.rng.random(len(e)) + self.top.surcharge[e] + _EPS
        return random_tree(len(nodes), a, b, weights, self.rng), a, b, e


def _floor_div(x: FloatArray, d: float) -> FloatArray:
    if d <= 0:
        return np.full(np.shape(x), 1e18)
    return np.floor(x / d + _EPS)


def _ceil_div(x: FloatArray, d: float) -> FloatArray:
    if d == np.inf:
        return np.zeros(np.shape(x))
    return np.ceil(x / d - _EPS)


def cut_options(
    s: FloatArray, total: float, m: int, lo: float, hi: float
) -> tuple[FloatArray, FloatArray]:
    """For subtree totals ``s``, the range of ``m1`` (areas on the subtree side) that works."""
    rest = total - s
    m1_lo = np.maximum.reduce([_ceil_div(s, hi), m - _floor_div(rest, lo), np.ones_like(s)])
    m1_hi = np.minimum.reduce([_floor_div(s, lo), m - _ceil_div(rest, hi), np.full_like(s, m - 1)])
    return m1_lo, m1_hi


class Seeder:
    """Recursive bisection of regions (see the module docstring).

    Parameters
    ----------
    top
        The topology.
    weights
        Households (or residents) per node.
    lo, hi
        The band.
    rng
        Random generator (the engine's seed).
    budget
        Spanning trees this seeder may draw.
    deadline
        ``time.perf_counter()`` value after which it gives up.
    attempts
        Trees per bisection before the bisection fails.
    """

    def __init__(
        self,
        top: Topology,
        weights: FloatArray,
        lo: float,
        hi: float,
        rng: np.random.Generator,
        *,
        budget: int,
        deadline: float | None,
        attempts: int,
    ) -> None:
        self.top = top
        self.w = weights
        self.lo = lo
        self.hi = hi
        self.rng = rng
        self.trees = RegionTrees(top, rng)
        self.budget = budget
        self.deadline = deadline
        self.attempts = attempts
        self.draws = 0
        max_cut = float(top.cut_weight.max()) if len(top.cut_weight) else 1.0
        self.cost_scale = max_cut if max_cut > 0 else 1.0

    def split(self, nodes: IntArray, m: int, flexible: bool) -> list[IntArray] | None:
        """Split ``nodes`` (connected) into ``m`` areas, or fewer in flexible mode."""
        total = float(self.w[nodes].sum())
        if m <= 1:
            return [nodes] if self.lo - _EPS <= total <= self.hi + _EPS else None
        fewest = max(1, int(np.ceil(total / self.hi - _EPS))) if self.hi > 0 else 1
        while m >= 1:
            if m == 1:
                return self.split(nodes, 1, False)
            parts = self._split_m(nodes, m, total, flexible)
            if parts is not None or not flexible or m - 1 < fewest:
                return parts
            m -= 1
        return None

    def _split_m(
        self, nodes: IntArray, m: int, total: float, flexible: bool
    ) -> list[IntArray] | None:
        tries = self.attempts if not flexible else max(2, self.attempts // 3)
        if m <= 3:
            # Small regions are cheap to retry and decide whether an area is lost.
            tries *= 4
        for _ in range(tries):
            cut = self.bisect(nodes, m, total)
            if cut is None:
                continue
            side, m1 = cut
            left = self.split(nodes[side], m1, flexible)
            if left is None:
                continue
            right = self.split(nodes[~side], m - m1, flexible)
            if right is None:
                continue
            return left + right
        return None

    def bisect(
        self, nodes: IntArray, m: int, total: float
    ) -> tuple[npt.NDArray[np.bool_], int] | None:
        """One spanning-tree cut of ``nodes`` into ``m1`` and ``m - m1`` areas."""
        self.draws += 1
        if self.draws > self.budget:
            raise OutOfBudgetError("spanning-tree budget used up")
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise OutOfBudgetError("time limit reached")
        tree, a, b, e = self.trees.draw(nodes)
        if tree is None:
            return None
        sums = tree.subtree_sums(self.w[nodes][:, None])
        s = sums[:, 0]
        m1_lo, m1_hi = cut_options(s, total, m, self.lo, self.hi)
        ok = m1_lo <= m1_hi
        ok[tree.root] = False
        cand = np.flatnonzero(ok)
        if len(cand) == 0:
            return None
        sc = s[cand]
        m1 = np.clip(np.rint(m * sc / total), m1_lo[cand], m1_hi[cand])
        avg_p = sc / m1
        avg_q = (total - sc) / (m - m1)
        balance = np.abs(avg_p - avg_q) / (total / m)
        depth = np.abs(2 * m1 - m) / m
        cost = self._tree_edge_cost(tree, cand, a, b, e, len(nodes)) / self.cost_scale
        score = depth + balance + 0.3 * cost + 1e-6 * self.rng.random(len(cand))
        best = int(np.argmin(score))
        v = int(cand[best])
        return tree.in_subtree(v), int(m1[best])

    def _tree_edge_cost(
        self, tree: Tree, cand: IntArray, a: IntArray, b: IntArray, e: IntArray, m: int
    ) -> FloatArray:
        keys = np.minimum(a, b) * m + np.maximum(a, b)
        order = np.argsort(keys)
        par = tree.parent[cand]
        want = np.minimum(cand, par) * m + np.maximum(cand, par)
        idx = order[np.searchsorted(keys, want, sorter=order)]
        return self.top.cut_weight[e[idx]]
