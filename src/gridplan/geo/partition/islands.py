"""Islands: components of the unit graph cut off from the rest.

Real unit layers have a few blocks cut off by a river or a digitising gap. By default each
island is joined to its nearest unit outside it (by centroid distance) with a zero-length
edge, and the join is reported.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from gridplan.geo.partition.config import IslandJoin


def components(n: int, u: npt.NDArray[np.int64], v: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Connected-component label of each node."""
    graph = sparse.csr_array((np.ones(len(u)), (u, v)), shape=(n, n))
    _, labels = csgraph.connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def join_islands(
    unit_ids: npt.NDArray[np.object_],
    centroids: npt.NDArray[np.float64],
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], tuple[IslandJoin, ...]]:
    """Join every component but the largest to the nearest unit outside it.

    Returns
    -------
    extra_u, extra_v
        The joining edges (node indices, ``extra_u < extra_v``).
    joins
        One record per joined island, smallest islands first.

    Examples
    --------
    >>> import numpy as np
    >>> ids = np.array(["a", "b", "c"], dtype=object)
    >>> xy = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]])
    >>> eu, ev, joins = join_islands(ids, xy, np.array([0]), np.array([1]))
    >>> joins[0].units, joins[0].joined_to
    (('c',), 'b')
    """
    n = len(unit_ids)
    comp = components(n, u, v)
    counts = np.bincount(comp)
    if len(counts) <= 1:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, ()
    xy = np.nan_to_num(np.asarray(centroids, dtype=float))
    tree = cKDTree(xy)
    main = int(np.argmax(counts))
    extra_u: list[int] = []
    extra_v: list[int] = []
    joins: list[IslandJoin] = []
    # Union-find over components so an island joined to another island counts as one.
    root = np.arange(len(counts))

    def find(c: int) -> int:
        while root[c] != c:
            root[c] = root[root[c]]
            c = int(root[c])
        return c

    for c in np.argsort(counts, kind="stable"):
        c = int(c)
        if c == main:
            continue
        members = np.flatnonzero(comp == c)
        best: tuple[float, int, int] | None = None
        k = min(n, 8)
        while best is None:
            dist, idx = tree.query(xy[members], k=k)
            dist = np.atleast_2d(np.asarray(dist).reshape(len(members), -1))
            idx = np.atleast_2d(np.asarray(idx).reshape(len(members), -1))
            # outside the island *and* whatever it is already joined to: two islands joined
            # to each other would otherwise stay cut off from the rest
            roots = np.fromiter((find(x) for x in range(len(counts))), np.int64, len(counts))
            outside = roots[comp[np.minimum(idx, n - 1)]] != find(c)
            outside &= idx < n
            if outside.any():
                d = np.where(outside, dist, np.inf)
                r, col = np.unravel_index(int(np.argmin(d)), d.shape)
                best = (float(d[r, col]), int(members[r]), int(idx[r, col]))
            elif k >= n:
                break
            else:
                k = min(n, k * 4)
        if best is None:
            continue
        dist_b, a, b = best
        extra_u.append(min(a, b))
        extra_v.append(max(a, b))
        joins.append(IslandJoin(tuple(str(x) for x in unit_ids[members]), str(unit_ids[b]), dist_b))
        root[find(c)] = find(int(comp[b]))
    return (
        np.asarray(extra_u, dtype=np.int64),
        np.asarray(extra_v, dtype=np.int64),
        tuple(joins),
    )
