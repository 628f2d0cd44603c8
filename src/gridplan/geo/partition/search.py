"""Local search: merge-split (ReCom-like) steps and single-unit boundary flips.

A merge-split step merges two adjacent districts, draws a random spanning tree of the union
and re-cuts it at the tree edge that minimises band violation and then the objective
(road-weighted cut cost plus, with a baseline, moved households). All candidate cuts are scored
at once from subtree sums and a vectorised edge-crossing matrix. A boundary flip moves one unit
to a neighbouring district when both stay in band, the donor stays connected and the objective
improves.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph

from gridplan.geo.partition.seeding import RegionTrees
from gridplan.geo.partition.trees import FloatArray, IntArray, Topology

#: Candidate cuts scored exactly per step.
_CANDIDATES = 24


class Search:
    """Mutable search state over one labelling.

    Parameters
    ----------
    top
        The topology.
    weights
        Households (or residents) per node.
    labels
        District of each node, ``0..k-1`` (copied).
    lo, hi
        The band.
    rng
        Random generator.
    base
        Baseline code per node (``-1`` where none), or ``None`` without a baseline.
    code_of
        Baseline code each district stands for (``-1``: a new district).
    moved_weight
        Weight of a moved household (see :class:`PartitionConfig`).
    """

    def __init__(
        self,
        top: Topology,
        weights: FloatArray,
        labels: IntArray,
        lo: float,
        hi: float,
        rng: np.random.Generator,
        *,
        base: IntArray | None = None,
        code_of: IntArray | None = None,
        moved_weight: float = 10.0,
    ) -> None:
        self.top = top
        self.w = weights
        self.labels = labels.copy()
        self.k = int(labels.max()) + 1 if len(labels) else 0
        self.lo = lo
        self.hi = hi
        self.rng = rng
        self.trees = RegionTrees(top, rng)
        self.base = base
        self.code_of = code_of if code_of is not None else np.full(self.k, -1, dtype=np.int64)
        self.totals: FloatArray = np.bincount(
            self.labels, weights=weights, minlength=self.k
        ).astype(np.float64)
        cw = top.cut_weight[top.cut_weight > 0]
        self.cut_unit = float(cw.mean()) if len(cw) else 1.0
        wpos = weights[weights > 0]
        self.w_unit = float(wpos.mean()) if len(wpos) else 1.0
        self.moved_weight = moved_weight if base is not None else 0.0
        self.steps = 0
        order = np.argsort(self.labels, kind="stable")
        bounds = np.searchsorted(self.labels[order], np.arange(self.k + 1))
        self.members: list[IntArray] = [order[bounds[d] : bounds[d + 1]] for d in range(self.k)]

    # -- objective pieces -------------------------------------------------------------
    def violation(self, totals: npt.ArrayLike) -> FloatArray:
        """Band violation of totals (0 inside the band)."""
        t = np.asarray(totals, dtype=np.float64)
        return np.maximum(self.lo - t, 0) + np.maximum(t - self.hi, 0)

    def moved(self) -> float:
        """Households whose district's baseline code differs from their own."""
        if self.base is None:
            return 0.0
        return float(self.w[self.code_of[self.labels] != self.base].sum())

    def valid(self) -> bool:
        """All districts inside the band (contiguity is kept by construction)."""
        return bool(np.all(self.violation(self.totals) <= 1e-9))

    # -- merge-split -------------------------------------------------------------------
    def step(self, accept_any: bool = False) -> bool:
        """One merge-split step; returns whether it changed the plan.

        ``accept_any`` accepts any in-band re-cut (ReCom sampling) instead of only
        non-worsening ones.
        """
        top = self.top
        lab = self.labels
        self.steps += 1
        n_edges = len(top.u)
        if n_edges == 0 or self.k < 2:
            return False
        # A uniformly random cut edge: rejection sampling, then a full scan if unlucky.
        for e0 in self.rng.integers(n_edges, size=64):
            da, db = int(lab[top.u[e0]]), int(lab[top.v[e0]])
            if da != db:
                return self.recut(da, db, accept_any)
        cut_edges = np.flatnonzero(lab[top.u] != lab[top.v])
        if len(cut_edges) == 0:
            return False
        e1 = int(cut_edges[self.rng.integers(len(cut_edges))])
        return self.recut(int(lab[top.u[e1]]), int(lab[top.v[e1]]), accept_any)

    def recut(self, da: int, db: int, accept_any: bool = False) -> bool:
        """Merge districts ``da`` and ``db`` and re-cut them along a random spanning tree."""
        lab = self.labels
        nodes = np.concatenate([self.members[da], self.members[db]])
        tree, a, b, e = self.trees.draw(nodes)
        if tree is None:
            return False
        w = self.w[nodes]
        cols = [w, np.ones(len(nodes)), (lab[nodes] == da).astype(float)]
        has_base = self.base is not None
        if has_base:
            assert self.base is not None
            bn = self.base[nodes]
            cols += [w * (bn == self.code_of[da]), w * (bn == self.code_of[db])]
        sums = tree.subtree_sums(np.stack(cols, axis=1))
        total = sums[tree.root, 0]
        s = sums[:, 0]
        viol = self.violation(s) + self.violation(total - s)
        viol[tree.root] = np.inf
        old_viol = float(self.violation(self.totals[[da, db]]).sum())
        best_viol = float(viol.min())
        if best_viol > old_viol + 1e-9 or (accept_any and best_viol > 1e-9):
            return False
        cand = np.flatnonzero(viol <= best_viol + 1e-9)
        if len(cand) > _CANDIDATES:
            cand = self.rng.choice(cand, _CANDIDATES, replace=False)
        size = sums[cand, 1]
        # Orientation: the subtree side takes da (True) or db (False).
        if has_base:
            wa_sub, wb_sub = sums[cand, 3], sums[cand, 4]
            wa_all, wb_all = sums[tree.root, 3], sums[tree.root, 4]
            s_c = s[cand]
            moved_a = (s_c - wa_sub) + ((total - s_c) - (wb_all - wb_sub))
            moved_b = (s_c - wb_sub) + ((total - s_c) - (wa_all - wa_sub))
            orient = moved_a <= moved_b
            moved_new = np.where(orient, moved_a, moved_b)
            in_a = lab[nodes] == da
            moved_old = float(
                (w * np.where(in_a, bn != self.code_of[da], bn != self.code_of[db])).sum()
            )
        else:
            stay_a = (
                sums[cand, 2] + (sums[tree.root, 1] - size) - (sums[tree.root, 2] - sums[cand, 2])
            )
            orient = stay_a >= len(nodes) / 2
            moved_new = np.zeros(len(cand))
            moved_old = 0.0
        # Exact cut cost of each candidate: edges whose ends fall on different sides.
        pos = tree.pos
        start = pos[cand]
        end = start + np.rint(size).astype(np.int64)
        pa, pb = pos[a][:, None], pos[b][:, None]
        side_a = (pa >= start) & (pa < end)
        side_b = (pb >= start) & (pb < end)
        cw = self.top.cut_weight[e]
        cost_new = cw @ (side_a != side_b)
        cost_old = float(cw[lab[nodes[a]] != lab[nodes[b]]].sum())
        score = cost_new / self.cut_unit + self.moved_weight * moved_new / self.w_unit
        best = int(np.argmin(score))
        old_score = cost_old / self.cut_unit + self.moved_weight * moved_old / self.w_unit
        if not accept_any and best_viol >= old_viol - 1e-9 and score[best] > old_score + 1e-9:
            return False
        v = int(cand[best])
        sub = tree.in_subtree(v)
        first, second = (da, db) if orient[best] else (db, da)
        lab[nodes[sub]] = first
        lab[nodes[~sub]] = second
        self.members[first] = nodes[sub]
        self.members[second] = nodes[~sub]
        self.totals[first] = float(w[sub].sum())
        self.totals[second] = float(w[~sub].sum())
        return True

    # -- boundary flips ----------------------------------------------------------------
    def flip_round(self, max_checks: int = 2000) -> int:
        """Try moving single boundary units to a neighbouring district; return moves made."""
        top = self.top
        lab = self.labels
        la, lb = lab[top.u], lab[top.v]
        cut = la != lb
        if not cut.any():
            return 0
        # Candidate (node, target) pairs from both directions of every cut edge.
        nodes = np.concatenate([top.u[cut], top.v[cut]])
        target = np.concatenate([lb[cut], la[cut]])
        pairs = np.unique(np.stack([nodes, target], axis=1), axis=0)
        x, t = pairs[:, 0], pairs[:, 1]
        src = lab[x]
        wx = self.w[x]
        ok = (self.totals[src] - wx >= self.lo - 1e-9) & (self.totals[t] + wx <= self.hi + 1e-9)
        x, t, src, wx = x[ok], t[ok], src[ok], wx[ok]
        if len(x) == 0:
            return 0
        gain = self._flip_gain(x, t, src)
        good = np.flatnonzero(gain > 1e-9)
        good = good[np.argsort(-gain[good], kind="stable")][:max_checks]
        moved = 0
        touched: set[int] = set()
        for i in good:
            node, to, frm = int(x[i]), int(t[i]), int(src[i])
            if frm in touched or to in touched or lab[node] != frm:
                continue
            if self.totals[frm] - self.w[node] < self.lo - 1e-9:
                continue
            if self.totals[to] + self.w[node] > self.hi + 1e-9:
                continue
            if not self._stays_connected(frm, node):
                continue
            lab[node] = to
            self.members[frm] = self.members[frm][self.members[frm] != node]
            self.members[to] = np.append(self.members[to], node)
            self.totals[frm] -= self.w[node]
            self.totals[to] += self.w[node]
            touched.update((frm, to))
            moved += 1
        self.steps += 1
        return moved

    def _flip_gain(self, x: IntArray, t: IntArray, src: IntArray) -> FloatArray:
        top = self.top
        lab = self.labels
        starts = top.indptr[x]
        counts = top.indptr[x + 1] - starts
        total = int(counts.sum())
        offs = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        ent = np.repeat(starts, counts) + offs
        row = np.repeat(np.arange(len(x)), counts)
        nl = lab[top.nbr[ent]]
        cw = top.cut_weight[top.eid[ent]]
        to_src = np.bincount(row, weights=cw * (nl == src[row]), minlength=len(x))
        to_t = np.bincount(row, weights=cw * (nl == t[row]), minlength=len(x))
        gain = (to_t - to_src) / self.cut_unit
        if self.base is not None:
            bx = self.base[x]
            before = (self.code_of[src] != bx).astype(float)
            after = (self.code_of[t] != bx).astype(float)
            gain += self.moved_weight * self.w[x] * (before - after) / self.w_unit
        return np.asarray(gain, dtype=np.float64)

    def _stays_connected(self, district: int, node: int) -> bool:
        members = self.members[district]
        rest = members[members != node]
        if len(rest) == 0:
            return False
        local = self.trees.local
        local[rest] = np.arange(len(rest))
        try:
            a, b, _ = self.top.region_edges(rest, local)
        finally:
            local[rest] = -1
        graph = sparse.csr_array((np.ones(len(a)), (a, b)), shape=(len(rest), len(rest)))
        ncomp, _ = csgraph.connected_components(graph, directed=False)
        return bool(ncomp == 1)


def relabel_to_baseline(
    labels: IntArray, weights: FloatArray, base: IntArray, n_codes: int
) -> tuple[IntArray, npt.NDArray[np.int64]]:
    """Match districts to baseline codes maximising households kept (Hungarian method).

    Returns the labels renumbered so matched districts come first in code order is not
    required; instead returns ``code_of`` per district (``-1`` where unmatched).
    """
    from scipy.optimize import linear_sum_assignment

    k = int(labels.max()) + 1
    has = base >= 0
    overlap = np.zeros((k, max(n_codes, 1)))
    np.add.at(overlap, (labels[has], base[has]), weights[has])
    rows, cols = linear_sum_assignment(-overlap)
    code_of = np.full(k, -1, dtype=np.int64)
    keep = overlap[rows, cols] > 0
    code_of[rows[keep]] = cols[keep]
    return labels, code_of
