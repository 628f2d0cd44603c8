"""The unit graph: units are nodes; an edge joins two units that share a boundary.

Each edge carries the shared boundary length (metres, in the dataset's metric CRS) and the
class of the road the shared boundary runs along (``None`` when it follows no road).
Contiguity, enclaves, partitioning and "cut along roads" all work on this graph.

:class:`UnitGraph` is the contract between unit building (:mod:`gridplan.geo.units`), the
partition engine (:mod:`gridplan.geo.partition`), grids and the rules: plain numpy arrays
indexed ``0..n-1`` in the order of the units table, plus conversions to scipy, networkx and
rustworkx.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import rustworkx as rx
from scipy import sparse

#: Columns of :attr:`UnitGraph.edges`.
EDGE_COLUMNS: tuple[str, ...] = ("u", "v", "length", "road_class")


@dataclass(frozen=True)
class UnitGraph:
    """Rook adjacency of units.

    Parameters
    ----------
    unit_ids
        Unit ids (strings), node ``i`` is ``unit_ids[i]``.
    households, residents
        Counts per node (``float``; zeros where unknown).
    edges
        One row per adjacent pair ``u < v`` (node indices): ``length`` of the shared boundary
        in metres and the ``road_class`` along it (``None`` where no road runs).
    centroids
        ``(n, 2)`` representative points in the metric CRS (for compactness and ordering).
    areas
        Unit areas in square metres.
    crs
        The metric CRS the lengths and coordinates are in (a pyproj-compatible value).
    """

    unit_ids: npt.NDArray[np.object_]
    households: npt.NDArray[np.float64]
    residents: npt.NDArray[np.float64]
    edges: pd.DataFrame
    centroids: npt.NDArray[np.float64]
    areas: npt.NDArray[np.float64]
    crs: object = None

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.unit_ids)

    def index_of(self) -> dict[str, int]:
        """Map unit id → node index."""
        return {str(u): i for i, u in enumerate(self.unit_ids)}

    def adjacency(self, weight: str | None = None) -> sparse.csr_array:
        """Symmetric sparse adjacency (``weight`` column as values, else 1)."""
        u = self.edges["u"].to_numpy(dtype=np.int64)
        v = self.edges["v"].to_numpy(dtype=np.int64)
        w = (
            self.edges[weight].to_numpy(dtype=float)
            if weight is not None
            else np.ones(len(u), dtype=float)
        )
        rows = np.concatenate([u, v])
        cols = np.concatenate([v, u])
        return sparse.csr_array((np.concatenate([w, w]), (rows, cols)), shape=(self.n, self.n))

    def to_networkx(self) -> nx.Graph:
        """A networkx graph with node attributes ``unit_id``, ``households``, ``residents``
        and edge attributes ``length``, ``road_class``."""
        g = nx.Graph()
        for i in range(self.n):
            g.add_node(
                i,
                unit_id=str(self.unit_ids[i]),
                households=float(self.households[i]),
                residents=float(self.residents[i]),
            )
        for u, v, length, road in self.edges[list(EDGE_COLUMNS)].itertuples(index=False):
            g.add_edge(int(u), int(v), length=float(length), road_class=road)
        return g

    def to_rustworkx(self) -> rx.PyGraph:
        """A rustworkx graph; node payload ``i``, edge payload ``(length, road_class)``."""
        g = rx.PyGraph(multigraph=False)
        g.add_nodes_from(range(self.n))
        g.add_edges_from(
            [
                (int(u), int(v), (float(length), road))
                for u, v, length, road in self.edges[list(EDGE_COLUMNS)].itertuples(index=False)
            ]
        )
        return g

    def subgraph(self, nodes: npt.ArrayLike) -> UnitGraph:
        """The graph induced on ``nodes``, renumbered ``0..len(nodes)-1`` in the given order.

        Edges keep ``u < v`` in the new numbering, whatever the order of ``nodes``.

        Examples
        --------
        >>> g = UnitGraph(
        ...     unit_ids=np.array(["a", "b", "c"], dtype=object),
        ...     households=np.array([1.0, 2.0, 3.0]),
        ...     residents=np.zeros(3),
        ...     edges=pd.DataFrame({"u": [0, 1], "v": [1, 2], "length": [5.0, 7.0],
        ...                         "road_class": [None, "local"]}),
        ...     centroids=np.zeros((3, 2)),
        ...     areas=np.ones(3),
        ... )
        >>> sub = g.subgraph([2, 1])
        >>> list(sub.unit_ids), sub.edges[["u", "v", "length"]].values.tolist()
        (['c', 'b'], [[0.0, 1.0, 7.0]])
        """
        idx = np.asarray(nodes, dtype=np.int64)
        new = np.full(self.n, -1, dtype=np.int64)
        new[idx] = np.arange(len(idx))
        u = new[self.edges["u"].to_numpy(dtype=np.int64)]
        v = new[self.edges["v"].to_numpy(dtype=np.int64)]
        keep = (u >= 0) & (v >= 0)
        edges = pd.DataFrame(
            {
                "u": np.minimum(u[keep], v[keep]),
                "v": np.maximum(u[keep], v[keep]),
                "length": self.edges["length"].to_numpy(dtype=float)[keep],
                "road_class": pd.Series(
                    self.edges["road_class"].to_numpy(dtype=object)[keep], dtype=object
                ),
            }
        )
        return UnitGraph(
            unit_ids=self.unit_ids[idx],
            households=self.households[idx],
            residents=self.residents[idx],
            edges=edges,
            centroids=self.centroids[idx],
            areas=self.areas[idx],
            crs=self.crs,
        )

    def components(self) -> npt.NDArray[np.int64]:
        """Connected-component label of each node."""
        _, labels = sparse.csgraph.connected_components(self.adjacency(), directed=False)
        return np.asarray(labels, dtype=np.int64)

    def edge_table(self) -> pd.DataFrame:
        """The edges with unit ids instead of node indices (``unit_a``, ``unit_b``, ...)."""
        ids = np.asarray(self.unit_ids, dtype=object)
        return pd.DataFrame(
            {
                "unit_a": ids[self.edges["u"].to_numpy(dtype=np.int64)],
                "unit_b": ids[self.edges["v"].to_numpy(dtype=np.int64)],
                "length": self.edges["length"].to_numpy(dtype=float),
                "road_class": pd.Series(
                    self.edges["road_class"].to_numpy(dtype=object), dtype=object
                ),
            }
        )
