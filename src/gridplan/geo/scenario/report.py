"""Before/after metrics per community, and what moved between two assignments."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from gridplan.geo.graph import UnitGraph

#: Columns of :func:`community_table`.
COMMUNITY_COLUMNS: tuple[str, ...] = (
    "community",
    "name",
    "households",
    "residents",
    "units",
    "band",
    "road_share",
    "parts",
    "embedded",
)


def exterior_lengths(units_metric: gpd.GeoDataFrame, graph: UnitGraph) -> npt.NDArray[np.float64]:
    """Length of each unit's boundary shared with no other unit (the outer edge), metres."""
    perimeter = np.asarray(units_metric.geometry.length, dtype=float)
    u = graph.edges["u"].to_numpy(dtype=np.int64)
    v = graph.edges["v"].to_numpy(dtype=np.int64)
    length = graph.edges["length"].to_numpy(dtype=float)
    shared = np.bincount(u, weights=length, minlength=graph.n) + np.bincount(
        v, weights=length, minlength=graph.n
    )
    return np.maximum(perimeter - shared, 0.0)


def community_table(
    graph: UnitGraph,
    labels: npt.NDArray[np.object_],
    exterior: npt.NDArray[np.float64],
    band: tuple[str, float, float],
    names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Metrics of each community of an assignment.

    ``band`` is ``under`` / ``ok`` / ``over`` for the level's band; ``road_share`` the share of
    the boundary shared with other communities that runs along a road; ``parts`` the number of
    connected pieces (more than 1: an exclave); ``embedded`` whether the community touches only
    one other community and not the outer edge (an island inside it).
    """
    measure, lo, hi = band
    names = dict(names or {})
    lab = pd.Series(labels, dtype=object)
    present = lab.notna().to_numpy()
    codes, ids = pd.factorize(lab[present])
    k = len(ids)
    idx = np.full(graph.n, -1, dtype=np.int64)
    idx[present] = codes
    hh = np.bincount(codes, weights=graph.households[present], minlength=k)
    res = np.bincount(codes, weights=graph.residents[present], minlength=k)
    count = np.bincount(codes, minlength=k)
    value = hh if measure == "households" else res
    u = graph.edges["u"].to_numpy(dtype=np.int64)
    v = graph.edges["v"].to_numpy(dtype=np.int64)
    length = graph.edges["length"].to_numpy(dtype=float)
    road = graph.edges["road_class"].notna().to_numpy()
    la, lb = idx[u], idx[v]
    # Boundary between two different communities (unassigned units count as outside).
    cut = (la != lb) & (la >= 0) & (lb >= 0)
    both = np.concatenate([la[cut], lb[cut]])
    blen = np.concatenate([length[cut], length[cut]])
    total = np.bincount(both, weights=blen, minlength=k)
    along = np.bincount(both, weights=blen * np.concatenate([road[cut], road[cut]]), minlength=k)
    share = np.divide(along, total, out=np.full(k, np.nan), where=total > 0)
    # Parts: components of the same-community subgraph.
    from scipy import sparse
    from scipy.sparse import csgraph

    same = (la == lb) & (la >= 0)
    g = sparse.csr_array((np.ones(int(same.sum())), (u[same], v[same])), shape=(graph.n, graph.n))
    _, comp = csgraph.connected_components(g, directed=False)
    pairs = np.unique(np.stack([codes, comp[present]], axis=1), axis=0)
    parts = np.bincount(pairs[:, 0], minlength=k)
    # Embedded: one neighbouring community and no outer edge (unassigned neighbours count too).
    outer = np.bincount(codes, weights=exterior[present], minlength=k)
    edge_any = la != lb
    a_side = np.concatenate([la[edge_any], lb[edge_any]])
    b_side = np.concatenate([lb[edge_any], la[edge_any]])
    keep = a_side >= 0
    nb_pairs = np.unique(np.stack([a_side[keep], b_side[keep]], axis=1), axis=0)
    n_nb = np.bincount(nb_pairs[:, 0], minlength=k)
    embedded = (n_nb == 1) & (outer < 1.0)
    status = np.where(value < lo - 1e-9, "under", np.where(value > hi + 1e-9, "over", "ok"))
    table = pd.DataFrame(
        {
            "community": [str(x) for x in ids],
            "name": [names.get(str(x), str(x)) for x in ids],
            "households": hh,
            "residents": res,
            "units": count.astype(int),
            "band": status,
            "road_share": share,
            "parts": parts.astype(int),
            "embedded": embedded,
        },
        columns=list(COMMUNITY_COLUMNS),
    )
    return table.sort_values("community", kind="stable").reset_index(drop=True)


def moves_table(
    graph: UnitGraph, before: npt.NDArray[np.object_], after: npt.NDArray[np.object_]
) -> pd.DataFrame:
    """Households and units that changed community, per ``(from, to)`` pair."""
    b = pd.Series(before, dtype=object).where(pd.notna(before), None)
    a = pd.Series(after, dtype=object).where(pd.notna(after), None)
    changed = (b.astype(str) != a.astype(str)).to_numpy()
    frame = pd.DataFrame(
        {
            "from": b[changed].to_numpy(dtype=object),
            "to": a[changed].to_numpy(dtype=object),
            "households": graph.households[changed],
            "residents": graph.residents[changed],
            "units": 1,
        }
    )
    if frame.empty:
        return pd.DataFrame(columns=["from", "to", "households", "residents", "units"])
    frame["from"] = frame["from"].map(lambda x: "(none)" if x is None else str(x))
    frame["to"] = frame["to"].map(lambda x: "(none)" if x is None else str(x))
    out = frame.groupby(["from", "to"], sort=True, as_index=False)[
        ["households", "residents", "units"]
    ].sum()
    return out.sort_values("households", ascending=False, kind="stable").reset_index(drop=True)
