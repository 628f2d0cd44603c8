"""Vectorised spanning-tree machinery: regions, random spanning trees, subtree sums.

A region is a set of nodes of the unit graph. A random spanning tree of a region is the
minimum spanning tree (:func:`scipy.sparse.csgraph.minimum_spanning_tree`) under random edge
weights plus a road surcharge; cutting one tree edge splits the region into two connected
parts. Subtree sums of any per-node quantity come from a depth-first order and a level-by-level
``np.add.at`` (no per-node Python).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Topology:
    """The unit graph as flat arrays for the engine.

    Parameters
    ----------
    n
        Number of nodes.
    u, v
        Edge end points (``u < v``).
    cut_weight
        Cost of cutting each edge (road-weighted length).
    surcharge
        Spanning-tree surcharge of each edge (higher along more important roads).
    on_road
        Whether each edge runs along a road.
    length
        Shared boundary length of each edge.
    indptr, nbr, eid
        Incidence in CSR form: node ``x``'s neighbours are ``nbr[indptr[x]:indptr[x+1]]``
        through edges ``eid[...]``.
    """

    n: int
    u: IntArray
    v: IntArray
    cut_weight: FloatArray
    surcharge: FloatArray
    on_road: npt.NDArray[np.bool_]
    length: FloatArray
    indptr: IntArray
    nbr: IntArray
    eid: IntArray

    @classmethod
    def build(
        cls,
        n: int,
        u: IntArray,
        v: IntArray,
        cut_weight: FloatArray,
        surcharge: FloatArray,
        on_road: npt.NDArray[np.bool_],
        length: FloatArray,
    ) -> Topology:
        """Build the incidence arrays from an edge list."""
        src = np.concatenate([u, v])
        dst = np.concatenate([v, u])
        ids = np.concatenate([np.arange(len(u)), np.arange(len(u))])
        order = np.lexsort((dst, src))
        counts = np.bincount(src, minlength=n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(
            n,
            u,
            v,
            cut_weight,
            surcharge,
            on_road,
            length,
            indptr,
            dst[order].astype(np.int64),
            ids[order].astype(np.int64),
        )

    def region_edges(self, nodes: IntArray, local: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        """Edges inside a region.

        Parameters
        ----------
        nodes
            The region's nodes.
        local
            Work array of length ``n`` holding ``-1`` outside the region and the local index
            ``0..len(nodes)-1`` inside (the caller sets and resets it).

        Returns
        -------
        a, b, e
            Local end points and global edge ids of the region's edges.
        """
        starts = self.indptr[nodes]
        counts = self.indptr[nodes + 1] - starts
        total = int(counts.sum())
        offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        entries = np.repeat(starts, counts) + offsets
        src = np.repeat(nodes, counts)
        dst = self.nbr[entries]
        keep = (local[dst] >= 0) & (src < dst)
        return local[src[keep]], local[dst[keep]], self.eid[entries[keep]]


@dataclass(frozen=True)
class Tree:
    """A rooted spanning tree of a region (local indices).

    Parameters
    ----------
    order
        Depth-first preorder of the nodes.
    parent
        Parent of each node (the root is its own parent).
    pos
        Position of each node in ``order``.
    end
        For each node, the preorder position just past its subtree: the subtree of ``x`` is
        ``order[pos[x]:end[x]]``.
    """

    order: IntArray
    parent: IntArray
    pos: IntArray
    end: IntArray

    @property
    def root(self) -> int:
        return int(self.order[0])

    def subtree_sums(self, values: FloatArray) -> FloatArray:
        """Sum of ``values`` (shape ``(n,)`` or ``(n, c)``) over each node's subtree."""
        vals = np.asarray(values, dtype=np.float64)
        pre = vals[self.order]
        prefix = np.zeros((len(pre) + 1, *pre.shape[1:]))
        np.cumsum(pre, axis=0, out=prefix[1:])
        return prefix[self.end] - prefix[self.pos]

    def in_subtree(self, node: int) -> npt.NDArray[np.bool_]:
        """Mask of the nodes in ``node``'s subtree."""
        return (self.pos >= self.pos[node]) & (self.pos < self.end[node])


def random_tree(
    m: int,
    a: IntArray,
    b: IntArray,
    weights: FloatArray,
    rng: np.random.Generator,
) -> Tree | None:
    """Minimum spanning tree under ``weights`` of a region with ``m`` nodes.

    Returns ``None`` when the region is not connected.
    """
    if m == 1:
        zero = np.zeros(1, dtype=np.int64)
        return Tree(zero, zero.copy(), zero.copy(), np.ones(1, dtype=np.int64))
    mst = csgraph.minimum_spanning_tree(_csr(m, a, b, weights), overwrite=True)
    counts = np.diff(mst.indptr)
    rows = np.repeat(np.arange(m), counts)
    cols = mst.indices.astype(np.int64)
    sym = _csr(m, np.concatenate([rows, cols]), np.concatenate([cols, rows]), None)
    root = int(rng.integers(m))
    order, pred = csgraph.depth_first_order(sym, root, directed=True, return_predecessors=True)
    if len(order) < m:
        return None
    order = np.asarray(order, dtype=np.int64)
    parent = np.asarray(pred, dtype=np.int64)
    parent[root] = root
    pos = np.empty(m, dtype=np.int64)
    pos[order] = np.arange(m)
    end_pre = _subtree_ends(_depths(parent)[order])
    return Tree(order, parent, pos, end_pre[pos])


def _csr(m: int, rows: IntArray, cols: IntArray, data: FloatArray | None) -> sparse.csr_matrix:
    """A CSR matrix from coordinates, built directly (no COO round trip)."""
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(m + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
    values = np.ones(len(rows)) if data is None else np.asarray(data, dtype=np.float64)[order]
    return sparse.csr_matrix(
        (values, cols[order].astype(np.int32), indptr), shape=(m, m), copy=False
    )


def _subtree_ends(depth_pre: IntArray) -> IntArray:
    """For each preorder position ``i``, the first later position whose depth is not greater
    (the end of ``i``'s subtree), by binary lifting over a sparse table of range minima."""
    n = len(depth_pre)
    levels = max(1, int(np.ceil(np.log2(n + 1))))
    table = [np.concatenate([depth_pre, [-1]])]
    for j in range(1, levels + 1):
        prev = table[-1]
        shift = 1 << (j - 1)
        table.append(np.minimum(prev, np.concatenate([prev[shift:], np.full(shift, -1)])))
    cur = np.arange(1, n + 1)
    for j in range(levels, -1, -1):
        step = 1 << j
        ok = table[j][np.minimum(cur, n)] > depth_pre
        cur = np.where(ok, cur + step, cur)
    return np.minimum(cur, n)


def _depths(parent: IntArray) -> IntArray:
    """Depth of every node by pointer jumping (O(n log depth), vectorised)."""
    n = len(parent)
    anc = parent.copy()
    dist = (anc != np.arange(n)).astype(np.int64)
    while True:
        nxt = anc[anc]
        if np.array_equal(nxt, anc):
            return dist
        dist = dist + dist[anc]
        anc = nxt
