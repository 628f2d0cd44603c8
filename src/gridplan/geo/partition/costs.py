"""Edge cut costs from road classes, and per-district boundary metrics.

Cutting the unit graph along a shared boundary costs ``length × factor``: the factor rises with
the road class's rank in :data:`gridplan.data.layers.ROAD_CLASSES` (a motorway is the cheapest
place to cut) and is highest where no road runs at all.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from gridplan.data.layers import ROAD_CLASSES
from gridplan.geo.partition.config import PartitionConfig
from gridplan.geo.partition.trees import Topology

_RANK = {name: i for i, name in enumerate(ROAD_CLASSES)}


def road_rank(road_class: pd.Series) -> npt.NDArray[np.float64]:
    """Rank of each edge's road class (0 = most important), ``NaN`` where no road runs.

    Unknown class names rank as ``other``.
    """
    values = road_class.to_numpy(dtype=object)
    out = np.full(len(values), np.nan)
    for i, name in enumerate(values):
        if name is None or (isinstance(name, float) and np.isnan(name)) or name == "":
            continue
        out[i] = _RANK.get(str(name), len(ROAD_CLASSES) - 1)
    return out


def topology(
    n: int, edges: pd.DataFrame, config: PartitionConfig, extra: tuple[np.ndarray, np.ndarray]
) -> Topology:
    """The engine's view of a unit graph's edges (plus ``extra`` island-joining edges).

    Island-joining edges carry no boundary: they cost nothing to cut and count as off-road
    in no metric (their length is zero).
    """
    u = np.concatenate([edges["u"].to_numpy(dtype=np.int64), extra[0].astype(np.int64)])
    v = np.concatenate([edges["v"].to_numpy(dtype=np.int64), extra[1].astype(np.int64)])
    length = np.concatenate([edges["length"].to_numpy(dtype=float), np.zeros(len(extra[0]))])
    length = np.where(np.isfinite(length) & (length > 0), length, 0.0)
    rank = np.concatenate([road_rank(edges["road_class"]), np.full(len(extra[0]), np.nan)])
    on_road = ~np.isnan(rank)
    top = max(len(ROAD_CLASSES) - 1, 1)
    frac = np.where(on_road, np.nan_to_num(rank) / top, 1.0)
    factor = np.where(
        on_road,
        config.road_cost_min + (config.road_cost_max - config.road_cost_min) * frac,
        config.off_road_cost,
    )
    # A graph without lengths (a lattice) counts each edge as one unit of boundary.
    base = length if length.sum() > 0 else np.ones(len(u))
    if len(extra[0]):
        base[-len(extra[0]) :] = 0.0
    cut_weight = base * (factor + config.compactness)
    surcharge = np.where(on_road, config.road_surcharge * (1.0 - 0.7 * frac), 0.0)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    return Topology.build(n, lo, hi, cut_weight, surcharge, on_road, length)


def district_metrics(
    top: Topology, labels: npt.NDArray[np.int64], k: int
) -> tuple[npt.NDArray[np.float64], float]:
    """Road share of each district's shared boundary, and the total cut cost.

    A district with no shared boundary (the only one) has share 1.0.
    """
    la, lb = labels[top.u], labels[top.v]
    cut = la != lb
    length = top.length[cut]
    road = top.on_road[cut]
    both = np.concatenate([la[cut], lb[cut]])
    total = np.bincount(both, weights=np.concatenate([length, length]), minlength=k)
    along = np.bincount(both, weights=np.concatenate([length * road, length * road]), minlength=k)
    share = np.divide(along, total, out=np.ones(k), where=total > 0)
    return share, float(top.cut_weight[cut].sum())


def district_parts(top: Topology, labels: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.int64]:
    """Number of connected parts of each district."""
    same = labels[top.u] == labels[top.v]
    graph = sparse.csr_array(
        (np.ones(int(same.sum())), (top.u[same], top.v[same])), shape=(top.n, top.n)
    )
    _, comp = csgraph.connected_components(graph, directed=False)
    pairs = np.unique(np.stack([labels, comp], axis=1), axis=0)
    return np.bincount(pairs[:, 0], minlength=k).astype(np.int64)
