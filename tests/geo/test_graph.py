"""UnitGraph: the contract shared by units, partition, grids and scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridplan.geo.graph import UnitGraph


def _path_graph() -> UnitGraph:
    """a — b — c — d, edge lengths 1, 2, 3; the middle edge runs along a local road."""
    return UnitGraph(
        unit_ids=np.array(["a", "b", "c", "d"], dtype=object),
        households=np.array([10.0, 20.0, 30.0, 40.0]),
        residents=np.array([1.0, 2.0, 3.0, 4.0]),
        edges=pd.DataFrame(
            {
                "u": [0, 1, 2],
                "v": [1, 2, 3],
                "length": [1.0, 2.0, 3.0],
                "road_class": pd.Series([None, "local", None], dtype=object),
            }
        ),
        centroids=np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]),
        areas=np.ones(4),
    )


def test_subgraph_renumbers_in_the_given_order_and_keeps_u_below_v() -> None:
    sub = _path_graph().subgraph(np.array([3, 2, 1]))  # d, c, b: reversed order
    assert list(sub.unit_ids) == ["d", "c", "b"]
    assert sub.households.tolist() == [40.0, 30.0, 20.0]
    edges = sub.edges.sort_values("length").reset_index(drop=True)
    # b—c (length 2) becomes 1—2, c—d (length 3) becomes 0—1; a—b is gone
    assert edges[["u", "v"]].values.tolist() == [[1, 2], [0, 1]]
    assert (sub.edges["u"] < sub.edges["v"]).all()
    assert edges["road_class"].tolist() == ["local", None]
    assert sub.centroids.tolist() == [[3.0, 0.0], [2.0, 0.0], [1.0, 0.0]]


def test_subgraph_of_disconnected_nodes_has_no_edges() -> None:
    sub = _path_graph().subgraph([0, 2])
    assert sub.n == 2 and sub.edges.empty
    assert sub.components().tolist() == [0, 1]
