"""Service reach on the walking network: how far households walk to their facilities.

The walking network is built from the ``paths`` layer (walkable ways), else from the roads:

* the lines are noded (:func:`shapely.node`) so that ways crossing at grade meet, except the
  ways that are grade-separated (a ``bridge`` or ``tunnel`` tag other than ``no`` and
  ``building_passage``, or a ``layer`` other than ``0``), which join the others only where
  they share a vertex (an OSM bridge meets the street at its ends, not where it passes over);
* every piece between two consecutive vertices is an edge weighted by its length in metres
  (the dataset's metric CRS, :func:`gridplan.data.crs.metric_crs`); vertices closer than
  :data:`SNAP` metres are one node;
* a facility or a household location (the representative point of a building, compound or
  unit) is attached to the nearest edge of the network (:class:`shapely.STRtree`), at the
  point of that edge nearest to it: the straight *access* distance to the edge is counted,
  then the walk along the edge to either of its nodes. Tiny pieces of network that join
  nothing (fewer than ``min_component`` nodes, e.g. a footway cut at an extract's edge) are
  not attached to, unless they are all there is.

Distances are shortest paths on that graph (:func:`scipy.sparse.csgraph.dijkstra`, many
sources at once, stopped at the largest threshold with ``limit=``).

Service centres
---------------
A community's own service centre is, in this order:

1. the facilities named in the area's ``service_centre`` column (facility ids, separated by
   ``,`` or ``;``), when the areas have that column and the value is not empty;
2. else the facilities of a service-centre kind (:data:`SERVICE_CENTRE_KINDS`, compared by
   :func:`facility_kind`) that lie inside the community.

A community with neither has no service centre: none of its households is within reach of it.

Thresholds
----------
The defaults are the walking distances of GB 50180-2018's 5-, 10- and 15-minute life circles,
300, 500 and 1,000 m (:data:`DEFAULT_THRESHOLDS`). Minutes become metres at a walking speed
(:data:`WALKING_SPEED`, 50 m/min: the standard's 10-minute circle is 500 m).

Examples
--------
Two streets either side of a river, joined by one bridge at its west end. The compound C
is 320 m from the centre F as the crow flies, 1,720 m on foot::

    (0,300) ======================== (700,300)   north street        C (700,310)
       ||  bridge
       ||             r i v e r
    (0,0)   ======================== (700,0)     south street        F (700,-10)

>>> import geopandas as gpd
>>> from shapely import LineString, Point
>>> lines = gpd.GeoDataFrame(geometry=[
...     LineString([(0, 0), (700, 0)]), LineString([(0, 300), (700, 300)]),
...     LineString([(0, 0), (0, 300)])], crs=32650)
>>> net = walking_network(lines)
>>> net.n, net.m
(4, 3)
>>> src = attach(net, [Point(700, -10)])
>>> dst = attach(net, [Point(700, 310)])
>>> network_distances(net, src, dst, limit=5000.0)
array([[1720.]])
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from gridplan.data.crs import metric_crs, require_crs
from gridplan.errors import InputError

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Geoms = npt.NDArray[np.object_]

#: Walking distances of the 5-, 10- and 15-minute life circles (GB 50180-2018), metres.
DEFAULT_THRESHOLDS: tuple[float, ...] = (300.0, 500.0, 1000.0)
#: Walking speed, metres per minute: 10 minutes are GB 50180-2018's 500 m.
WALKING_SPEED = 50.0
#: Vertices closer than this (metres) are one node of the network.
SNAP = 0.01
#: Facility kinds that are a community's service centre (compared by :func:`facility_kind`):
#: OSM's ``amenity=community_centre`` and the names Chinese data gives them.
SERVICE_CENTRE_KINDS: tuple[str, ...] = (
    "community_centre",
    "service_centre",
    "community_service_centre",
    "社区服务中心",
    "社区党群服务中心",
    "党群服务中心",
    "社区综合服务站",
    "社区服务站",
)
#: Half-width (metres) of the band drawn along the reached ways of an isochrone.
ISOCHRONE_WIDTH = 25.0
_SEPARATED_NO = frozenset({"", "no", "0", "false", "none", "nan", "building_passage"})
_SPLIT = re.compile(r"[;,]")
_CHUNK_CELLS = 20_000_000
#: Networks larger than this search per source only the disc a walk can reach.
LOCAL_MIN_NODES = 2_000


def facility_kind(value: object) -> str:
    """A facility kind as compared: trimmed, case-folded, spaces and hyphens as ``_``.

    Examples
    --------
    >>> facility_kind(" Community Centre"), facility_kind("health-station"), facility_kind(None)
    ('community_centre', 'health_station', '')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return re.sub(r"[\s\-]+", "_", str(value).strip().casefold())


def threshold_metres(
    metres: float | None = None, minutes: float | None = None, speed: float = WALKING_SPEED
) -> float:
    """One threshold in metres, given in metres or in minutes at ``speed`` (m/min).

    Raises
    ------
    InputError
        If both or neither are given, or a value is not a positive finite number.

    Examples
    --------
    >>> threshold_metres(minutes=10), threshold_metres(metres=300)
    (500.0, 300.0)
    """
    if (metres is None) == (minutes is None):
        raise InputError("give the threshold either in metres or in minutes, not both")
    if not (math.isfinite(speed) and speed > 0):
        raise InputError(f"walking speed must be a positive number of m/min, not {speed}")
    value = metres if metres is not None else float(minutes) * speed  # type: ignore[arg-type]
    if not (math.isfinite(value) and value > 0):
        what = f"{metres} m" if metres is not None else f"{minutes} minutes"
        raise InputError(f"the walking threshold must be positive and finite, not {what}")
    return float(value)


# --------------------------------------------------------------------------- network


@dataclass(frozen=True, eq=False)
class WalkingNetwork:
    """An undirected walking graph in a metric CRS.

    Parameters
    ----------
    crs
        The metric CRS of the coordinates.
    xy
        Node coordinates, shape ``(n, 2)``.
    u, v
        Nodes of each edge (a straight piece between two vertices), shape ``(m,)``.
    length
        Edge lengths in metres.
    attachable
        Edges a point may be attached to (in a component of at least ``min_component``
        nodes, or in the largest one).
    """

    crs: CRS
    xy: Floats
    u: Ints
    v: Ints
    length: Floats
    attachable: npt.NDArray[np.bool_]

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.xy)

    @property
    def m(self) -> int:
        """Number of edges."""
        return len(self.u)

    @cached_property
    def graph(self) -> csr_matrix:
        """The symmetric ``n × n`` sparse matrix of edge lengths."""
        rows = np.concatenate([self.u, self.v])
        cols = np.concatenate([self.v, self.u])
        data = np.concatenate([self.length, self.length])
        return csr_matrix((data, (rows, cols)), shape=(self.n, self.n))

    @cached_property
    def segments(self) -> Geoms:
        """Every edge as a two-point LineString."""
        if not self.m:
            return np.empty(0, dtype=object)
        pairs = np.stack([self.xy[self.u], self.xy[self.v]], axis=1)
        return np.asarray(shapely.linestrings(pairs), dtype=object)

    @cached_property
    def _kdtree(self) -> cKDTree:
        return cKDTree(self.xy)

    @cached_property
    def _tree(self) -> tuple[shapely.STRtree, Ints]:
        which = np.flatnonzero(self.attachable).astype(np.int64)
        return shapely.STRtree(self.segments[which]), which

    def to_networkx(self) -> object:
        """The graph as a :class:`networkx.Graph` (nodes ``0..n-1``, edge attribute
        ``length``): for checking the distances against networkx."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        g.add_weighted_edges_from(
            zip(self.u.tolist(), self.v.tolist(), self.length.tolist(), strict=True),
            weight="length",
        )
        return g


def grade_separated(lines: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Which lines pass over or under others (``bridge``, ``tunnel`` or ``layer`` columns).

    Examples
    --------
    >>> grade_separated(pd.DataFrame({"bridge": ["yes", None, "no"], "layer": [None, "1", "0"]}))
    array([ True,  True, False])
    """
    out = np.zeros(len(lines), dtype=bool)
    for column in ("bridge", "tunnel"):
        if column in lines.columns:
            text = lines[column].map(lambda v: facility_kind(v)).to_numpy(dtype=object)
            out |= ~np.isin(text, list(_SEPARATED_NO))
    if "layer" in lines.columns:
        layer = pd.to_numeric(lines["layer"], errors="coerce").to_numpy(dtype=float)
        out |= np.nan_to_num(layer, nan=0.0) != 0
    return out


def walking_network(
    lines: gpd.GeoDataFrame,
    *,
    crs: CRS | None = None,
    min_component: int = 10,
) -> WalkingNetwork:
    """Build the walking graph of a line layer (``paths``, or ``roads``).

    Parameters
    ----------
    lines
        LineStrings/MultiLineStrings in any CRS; ``bridge``, ``tunnel`` and ``layer``
        columns mark grade-separated ways (see :func:`grade_separated`).
    crs
        The metric CRS to compute in (default: :func:`~gridplan.data.crs.metric_crs`).
    min_component
        Points are attached only to components of at least this many nodes (or to the
        largest component).

    Returns
    -------
    WalkingNetwork

    Raises
    ------
    InputError
        If ``lines`` holds no line.
    """
    require_crs(lines, "walking network")
    target = crs if crs is not None else metric_crs(lines, "walking network")
    layer = lines.to_crs(target)
    geoms = np.asarray(layer.geometry.values, dtype=object)
    parts, index = shapely.get_parts(geoms, return_index=True)
    is_line = shapely.get_type_id(parts) == 1
    parts, index = shapely.force_2d(parts[is_line]), index[is_line]
    if not len(parts):
        raise InputError("walking network: no lines to walk along (paths or roads)")
    separated = grade_separated(pd.DataFrame(layer.drop(columns=layer.geometry.name)))[index]
    ground = parts[~separated]
    noded = (
        shapely.get_parts(shapely.node(shapely.multilinestrings(ground)))
        if len(ground)
        else np.empty(0, dtype=object)
    )
    every = np.concatenate([np.asarray(noded, dtype=object), parts[separated]])
    coords, which = shapely.get_coordinates(every, return_index=True)
    same = which[1:] == which[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    ends = np.vstack([a, b])
    keys = np.round(ends / SNAP).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    xy = ends[first]
    m = len(a)
    u, v = inverse[:m].astype(np.int64), inverse[m:].astype(np.int64)
    length = np.hypot(*(xy[v] - xy[u]).T)
    keep = u != v
    u, v, length = u[keep], v[keep], length[keep]
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((length, hi, lo))
    lo, hi, length = lo[order], hi[order], length[order]
    fresh = np.ones(len(lo), dtype=bool)
    fresh[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, length = lo[fresh], hi[fresh], length[fresh]
    n = len(xy)
    graph = coo_matrix((np.ones(len(lo)), (lo, hi)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    big = (sizes >= min_component) | (sizes == sizes.max())
    return WalkingNetwork(
        crs=target,
        xy=xy,
        u=lo,
        v=hi,
        length=length,
        attachable=big[labels[lo]],
    )


# --------------------------------------------------------------------------- attachment


@dataclass(frozen=True)
class Attachment:
    """Where points join the network.

    Parameters
    ----------
    edge
        The edge each point is attached to.
    offset
        Metres along the edge from its node ``u`` to the attachment point.
    access
        Straight metres from the point to the attachment point.
    """

    edge: Ints
    offset: Floats
    access: Floats

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, rows: npt.ArrayLike) -> Attachment:
        """The attachments of ``rows`` only."""
        idx = np.asarray(rows, dtype=np.int64)
        return Attachment(self.edge[idx], self.offset[idx], self.access[idx])


def attach(network: WalkingNetwork, points: Sequence[shapely.Geometry] | Geoms) -> Attachment:
    """Attach points (in the network's CRS) to their nearest attachable edge.

    Raises
    ------
    InputError
        If a point is empty or missing, or the network has no edge.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> net = walking_network(gpd.GeoDataFrame(geometry=[LineString([(0, 0), (100, 0)])],
    ...                                        crs=32650))
    >>> a = attach(net, [Point(30, 40)])
    >>> float(a.offset[0]), float(a.access[0])
    (30.0, 40.0)
    """
    pts = np.asarray(points, dtype=object)
    if not network.m:
        raise InputError("walking network: no edges to attach to")
    if len(pts) == 0:
        return Attachment(np.empty(0, np.int64), np.empty(0), np.empty(0))
    if pd.isna(pts).any() or shapely.is_empty(pts).any():
        raise InputError("cannot attach an empty location to the walking network")
    tree, which = network._tree
    found = tree.query_nearest(pts, all_matches=False)
    edge = np.full(len(pts), -1, dtype=np.int64)
    edge[found[0]] = which[found[1]]
    segments = network.segments[edge]
    return Attachment(
        edge=edge,
        offset=np.asarray(shapely.line_locate_point(segments, pts), dtype=float),
        access=np.asarray(shapely.distance(segments, pts), dtype=float),
    )


# --------------------------------------------------------------------------- distances


def _source_graph(network: WalkingNetwork, sources: Attachment) -> tuple[csr_matrix, Ints]:
    """The network with one extra node per source, joined *from* it to its edge's two nodes
    (a walk never passes through another source's access). The extra rows are appended to
    the network's CSR arrays as they are: no sort, no copy of the index structure beyond one
    concatenation."""
    return _with_sources(
        network.graph,
        network.u[sources.edge],
        network.v[sources.edge],
        sources.access + sources.offset,
        sources.access + network.length[sources.edge] - sources.offset,
    )


def _with_sources(
    graph: csr_matrix, u: Ints, v: Ints, to_u: Floats, to_v: Floats
) -> tuple[csr_matrix, Ints]:
    """``graph`` (``n × n`` CSR) grown by one row and column per source ``i``, whose only
    edges go to ``u[i]`` and ``v[i]`` (weights ``to_u``, ``to_v``)."""
    n, k = graph.shape[0], len(u)
    # csgraph ignores explicit zeros: a source exactly on a node gets a nanometre
    pairs = np.stack([np.maximum(to_u, 1e-9), np.maximum(to_v, 1e-9)], axis=1).reshape(-1)
    ends = np.stack([u, v], axis=1).reshape(-1)
    data = np.concatenate([graph.data, pairs])
    indices = np.concatenate([graph.indices.astype(np.int64), ends])
    indptr = np.concatenate(
        [graph.indptr.astype(np.int64), graph.nnz + 2 * np.arange(1, k + 1, dtype=np.int64)]
    )
    grown = csr_matrix((data, indices, indptr), shape=(n + k, n + k))
    return grown, np.arange(n, n + k, dtype=np.int64)


def node_distances(network: WalkingNetwork, sources: Attachment, *, limit: float) -> Floats:
    """Walking distance from each source to every node, ``inf`` beyond ``limit``.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(sources), network.n)``.
    """
    graph, extra = _source_graph(network, sources)
    if not len(extra):
        return np.empty((0, network.n))
    d = dijkstra(graph, directed=True, indices=extra, limit=limit)
    return np.asarray(d[:, : network.n], dtype=float)


def network_distances(
    network: WalkingNetwork,
    sources: Attachment,
    targets: Attachment,
    *,
    limit: float,
    min_only: bool = False,
) -> Floats:
    """Walking distance from each source to each target (access distances included).

    Parameters
    ----------
    network
        The walking graph.
    sources, targets
        Attached points (:func:`attach`).
    limit
        Metres: distances beyond are ``inf`` (the search stops there).
    min_only
        Return only the distance from the nearest source to each target (one
        multi-source search instead of one per source).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(sources), len(targets))``, or ``(len(targets),)`` with ``min_only``.
    """
    if not (limit > 0):
        raise InputError(f"the distance limit must be positive, not {limit}")
    k, t = len(sources), len(targets)
    if k == 0 or t == 0:
        return np.full(t, np.inf) if min_only else np.full((k, t), np.inf)
    graph, extra = (
        _source_graph(network, sources)
        if min_only or network.n <= LOCAL_MIN_NODES
        else (network.graph, np.empty(0, dtype=np.int64))
    )
    tu, tv = network.u[targets.edge], network.v[targets.edge]
    t_off = targets.offset
    t_rest = network.length[targets.edge] - t_off

    def to_targets(d: Floats) -> Floats:
        return np.minimum(d[..., tu] + t_off, d[..., tv] + t_rest) + targets.access

    pairs = _same_edge_pairs(sources.edge, targets.edge)
    direct = (
        sources.access[pairs[0]] + np.abs(sources.offset[pairs[0]] - t_off[pairs[1]])
    ) + targets.access[pairs[1]]
    if min_only:
        d = dijkstra(graph, directed=True, indices=extra, limit=limit, min_only=True)
        out = to_targets(np.asarray(d, dtype=float))
        np.minimum.at(out, pairs[1], direct)
    elif network.n > LOCAL_MIN_NODES:
        out = _local_distances(network, sources, targets, limit)
        np.minimum.at(out, (pairs[0], pairs[1]), direct)
    else:
        out = np.empty((k, t))
        step = max(1, _CHUNK_CELLS // max(network.n + k, 1))
        for start in range(0, k, step):
            rows = extra[start : start + step]
            d = dijkstra(graph, directed=True, indices=rows, limit=limit)
            out[start : start + step] = to_targets(np.asarray(d, dtype=float))
        np.minimum.at(out, (pairs[0], pairs[1]), direct)
    out[out > limit] = np.inf
    return out


def _local_distances(
    network: WalkingNetwork, sources: Attachment, targets: Attachment, limit: float
) -> Floats:
    """Per-source distances on the part of a large network a walk of ``limit`` can reach.

    A node within ``limit`` on foot of a source is within ``limit`` of its attachment point
    as the crow flies, so each search runs on the nodes of a disc around it (picked from a
    grid of cells ``limit / 1.5`` wide) instead of the whole city, and only the targets within
    reach as the crow flies (:class:`scipy.spatial.cKDTree`) are looked at: sources close
    together (in one cell) share one square and one multi-source search. Same answers as
    the whole-graph search.
    """
    k, t = len(sources), len(targets)
    out = np.full((k, t), np.inf)
    foot = _foot_points(network, sources)
    target_tree = cKDTree(_foot_points(network, targets))
    cell = limit / 1.5
    # the nodes sorted by grid cell (column, then row): a square of cells is a few slices
    origin = network.xy.min(axis=0)
    ncell = np.floor((network.xy - origin) / cell).astype(np.int64)
    span = int(ncell[:, 1].max()) + 1
    keys = ncell[:, 0] * span + ncell[:, 1]
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    position = np.full(network.n, -1, dtype=np.int64)
    graph_rows = network.graph
    cells = np.floor((foot - origin) / cell).astype(np.int64)
    _, group = np.unique(cells, axis=0, return_inverse=True)
    group = group.reshape(-1)
    for g in range(int(group.max()) + 1):
        mine = np.flatnonzero(group == g)
        centre = foot[mine].mean(axis=0)
        radius = limit + float(np.hypot(*(foot[mine] - centre).T).max()) + SNAP
        near = np.asarray(target_tree.query_ball_point(centre, radius), dtype=np.int64)
        if not len(near):
            continue
        lo = np.floor((centre - radius - origin) / cell).astype(np.int64)
        hi = np.floor((centre + radius - origin) / cell).astype(np.int64)
        row_lo, row_hi = max(int(lo[1]), 0), min(int(hi[1]), span - 1)
        columns = np.arange(max(int(lo[0]), 0), int(hi[0]) + 1, dtype=np.int64)
        starts = np.searchsorted(keys, columns * span + row_lo, side="left")
        stops = np.searchsorted(keys, columns * span + row_hi, side="right")
        nodes = np.concatenate([order[a:b] for a, b in zip(starts, stops, strict=True)])
        offsets = network.xy[nodes] - centre
        nodes = np.sort(nodes[np.einsum("ij,ij->i", offsets, offsets) <= radius * radius])
        # the square's rows, their columns renumbered (edges leaving the square dropped)
        position[nodes] = np.arange(len(nodes))
        rows = graph_rows[nodes]
        cols = position[rows.indices]
        keep = cols >= 0
        row_of = np.repeat(np.arange(len(nodes)), np.diff(rows.indptr))
        counts = np.bincount(row_of[keep], minlength=len(nodes))
        sub = csr_matrix(
            (rows.data[keep], cols[keep], np.concatenate([[0], np.cumsum(counts)])),
            shape=(len(nodes), len(nodes)),
        )
        position[nodes] = -1
        edges = sources.edge[mine]
        graph, extra = _with_sources(
            sub,
            np.searchsorted(nodes, network.u[edges]),
            np.searchsorted(nodes, network.v[edges]),
            sources.access[mine] + sources.offset[mine],
            sources.access[mine] + network.length[edges] - sources.offset[mine],
        )
        d = np.asarray(dijkstra(graph, directed=True, indices=extra, limit=limit), dtype=float)
        te = targets.edge[near]
        # an edge end outside the disc is farther than ``limit`` from every source: inf
        du = _gather(d, nodes, network.u[te])
        dv = _gather(d, nodes, network.v[te])
        off = targets.offset[near]
        out[np.ix_(mine, near)] = (
            np.minimum(du + off, dv + (network.length[te] - off)) + targets.access[near]
        )
    return out


def _gather(d: Floats, nodes: Ints, wanted: Ints) -> Floats:
    """Columns ``wanted`` (network node ids) of ``d`` (columns ``nodes``), ``inf`` for a node
    outside ``nodes``."""
    m = len(nodes)
    pos = np.searchsorted(nodes, wanted)
    ok = (pos < m) & (nodes[np.minimum(pos, m - 1)] == wanted)
    cols = d[:, np.where(ok, pos, 0)]
    cols[:, ~ok] = np.inf
    return cols


def _foot_points(network: WalkingNetwork, at: Attachment) -> Floats:
    """Where points join their edges."""
    a, b = network.xy[network.u[at.edge]], network.xy[network.v[at.edge]]
    return a + (b - a) * (at.offset / network.length[at.edge])[:, None]


def _same_edge_pairs(a: Ints, b: Ints) -> tuple[Ints, Ints]:
    """Index pairs ``(i, j)`` with ``a[i] == b[j]``."""
    left = pd.DataFrame({"edge": a, "i": np.arange(len(a))})
    right = pd.DataFrame({"edge": b, "j": np.arange(len(b))})
    both = left.merge(right, on="edge")
    return both["i"].to_numpy(dtype=np.int64), both["j"].to_numpy(dtype=np.int64)


# --------------------------------------------------------------------------- isochrones


def isochrone_lines(
    network: WalkingNetwork,
    source: Attachment,
    distances: Floats,
    threshold: float,
    point: shapely.Geometry | None = None,
) -> shapely.Geometry:
    """The parts of the network one source reaches within ``threshold`` metres.

    Parameters
    ----------
    network
        The walking graph.
    source
        One attached source (``len(source) == 1``).
    distances
        Its node distances (one row of :func:`node_distances`).
    threshold
        Metres.
    point
        The source itself: its access line is drawn too.

    Returns
    -------
    shapely.MultiLineString
        The reached (parts of) edges, empty when nothing is reached.
    """
    reach_u = threshold - distances[network.u]
    reach_v = threshold - distances[network.v]
    length = network.length
    ru = np.clip(np.nan_to_num(reach_u, neginf=-1.0), -1.0, None)
    rv = np.clip(np.nan_to_num(reach_v, neginf=-1.0), -1.0, None)
    whole = (ru >= 0) & (rv >= 0) & (ru + rv >= length)
    starts: list[Floats] = []
    ends: list[Floats] = []
    edges: list[Ints] = []
    idx = np.flatnonzero(whole)
    edges.append(idx)
    starts.append(np.zeros(len(idx)))
    ends.append(length[idx])
    idx = np.flatnonzero(~whole & (ru > 0))
    edges.append(idx)
    starts.append(np.zeros(len(idx)))
    ends.append(np.minimum(ru[idx], length[idx]))
    idx = np.flatnonzero(~whole & (rv > 0))
    edges.append(idx)
    starts.append(length[idx] - np.minimum(rv[idx], length[idx]))
    ends.append(length[idx])
    left = threshold - float(source.access[0])
    if left > 0:
        e = int(source.edge[0])
        off = float(source.offset[0])
        edges.append(np.array([e], dtype=np.int64))
        starts.append(np.array([max(0.0, off - left)]))
        ends.append(np.array([min(float(length[e]), off + left)]))
    edge = np.concatenate(edges)
    s, t = np.concatenate(starts), np.concatenate(ends)
    a, b = network.xy[network.u[edge]], network.xy[network.v[edge]]
    frac = length[edge][:, None]
    p = a + (b - a) * (s[:, None] / frac)
    q = a + (b - a) * (t[:, None] / frac)
    lines = list(shapely.linestrings(np.stack([p, q], axis=1))) if len(edge) else []
    if point is not None and left > 0:
        foot = shapely.line_interpolate_point(
            network.segments[int(source.edge[0])], float(source.offset[0])
        )
        if float(source.access[0]) > 0:
            lines.append(shapely.LineString([point, foot]))
    return shapely.multilinestrings(lines)


def isochrone(
    network: WalkingNetwork,
    source: Attachment,
    distances: Floats,
    threshold: float,
    *,
    point: shapely.Geometry | None = None,
    width: float = ISOCHRONE_WIDTH,
) -> shapely.Geometry:
    """The area one source reaches within ``threshold`` metres: the reached ways, buffered
    by ``width`` metres (not a circle: a river or a fence without a crossing bounds it)."""
    lines = isochrone_lines(network, source, distances, threshold, point)
    if lines.is_empty:
        return shapely.Polygon()
    # buffering each piece and uniting the small polygons is far faster than buffering the
    # whole (overlapping) MultiLineString at once
    pieces = shapely.buffer(shapely.get_parts(lines), width, quad_segs=2)
    return shapely.union_all(pieces)


# --------------------------------------------------------------------------- households


def household_locations(
    *,
    buildings: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Where households live: the finest layer given that holds households.

    Buildings with households, else compounds with households, else units with households
    (each normalised to its layer schema). Locations without households are left out.

    Returns
    -------
    geopandas.GeoDataFrame
        ``location_id``, ``layer`` (``buildings``, ``compounds`` or ``units``), ``name``,
        ``households`` and the location's own geometry, in the layer's CRS; empty when no
        layer holds households.
    """
    for layer, frame, id_column in (
        ("buildings", buildings, "building_id"),
        ("compounds", compounds, "compound_id"),
        ("units", units, "unit_id"),
    ):
        if frame is None or not len(frame) or "households" not in frame.columns:
            continue
        households = pd.to_numeric(frame["households"], errors="coerce").fillna(0.0)
        keep = (households > 0).to_numpy()
        if not keep.any():
            continue
        sub = frame[keep]
        names = sub["name"] if "name" in sub.columns else pd.Series(None, index=sub.index)
        return gpd.GeoDataFrame(
            {
                "location_id": sub[id_column].astype(str).to_numpy(dtype=object),
                "layer": [layer] * len(sub),
                "name": names.to_numpy(dtype=object),
                "households": households[keep].to_numpy(dtype=float),
            },
            geometry=sub.geometry.to_numpy(),
            crs=sub.crs,
        )
    return gpd.GeoDataFrame(
        {
            "location_id": pd.Series([], dtype=object),
            "layer": pd.Series([], dtype=object),
            "name": pd.Series([], dtype=object),
            "households": pd.Series([], dtype=float),
        },
        geometry=gpd.GeoSeries([], crs=4326),
        crs=4326,
    )


def service_centres(
    areas: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    centre_kinds: Iterable[str] = SERVICE_CENTRE_KINDS,
) -> list[Ints]:
    """Each area's service-centre facilities (row positions in ``facilities``).

    ``areas`` and ``facilities`` must be in one CRS. See the module docstring for the rule.

    Raises
    ------
    InputError
        If a ``service_centre`` value names a facility that does not exist.
    """
    fac_ids = facilities["facility_id"].astype(str).to_numpy(dtype=object)
    where = {fid: k for k, fid in enumerate(fac_ids)}
    kinds = {facility_kind(k) for k in centre_kinds}
    is_centre = np.array([facility_kind(k) in kinds for k in facilities["kind"]], dtype=bool)
    geoms = np.asarray(areas.geometry.values, dtype=object)
    points = np.asarray(facilities.geometry.values, dtype=object)
    marked = areas["service_centre"] if "service_centre" in areas.columns else None
    out: list[Ints] = []
    inside = (
        shapely.STRtree(points).query(geoms, predicate="contains")
        if len(points)
        else np.empty((2, 0), dtype=np.int64)
    )
    for i in range(len(areas)):
        value = marked.iloc[i] if marked is not None else None
        named = [s.strip() for s in _SPLIT.split(str(value))] if not pd.isna(value) else []
        named = [s for s in named if s]
        if named:
            missing = [s for s in named if s not in where]
            if missing:
                area = areas["area_id"].iloc[i] if "area_id" in areas.columns else i
                raise InputError(
                    f"area {area}: service_centre names unknown facility id(s) "
                    f"{', '.join(missing)} (not in the facilities layer)"
                )
            out.append(np.array([where[s] for s in named], dtype=np.int64))
            continue
        mine = inside[1][inside[0] == i]
        out.append(np.sort(mine[is_centre[mine]]).astype(np.int64))
    return out


# --------------------------------------------------------------------------- reach


@dataclass(frozen=True, eq=False)
class ReachResult:
    """Walking reach from facilities to households, per community (all in ``crs``).

    Parameters
    ----------
    crs
        The metric CRS of every geometry.
    thresholds
        The thresholds, metres, ascending.
    kind
        The facility kind "any facility" means (``None``: every facility).
    communities
        One row per community and threshold: ``community``, ``name``, ``threshold``,
        ``households``, ``centres`` (facility ids of its service centre, ``;``-separated),
        ``households_within`` / ``share`` (of its own service centre; ``NaN`` share without
        households) and ``households_within_any`` / ``share_any`` (of any facility of
        ``kind``).
    locations
        One row per household location: ``location_id``, ``layer``, ``name``,
        ``households``, ``community`` (``None`` outside every community), ``access``
        (metres to the network), ``distance_centre`` (to its community's own service centre)
        and ``distance_any`` (to the nearest facility of ``kind``), ``inf`` beyond the largest
        threshold; the location's own geometry.
    facilities
        ``facility_id``, ``kind``, ``name``, ``community`` (whose centre it is, else
        ``None``), ``selected`` (of ``kind``) and the point.
    distances
        Facility × location walking distances, ``inf`` beyond the largest threshold.
    network
        The walking graph.
    notes
        What could not be computed and why.
    """

    crs: CRS
    thresholds: tuple[float, ...]
    kind: str | None
    communities: pd.DataFrame
    locations: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    distances: Floats
    network: WalkingNetwork | None
    attachment: Attachment | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    def at(self, threshold: float) -> pd.DataFrame:
        """The community rows at one threshold (the nearest configured one)."""
        chosen = min(self.thresholds, key=lambda t: abs(t - threshold))
        rows = self.communities[self.communities["threshold"] == chosen]
        return rows.reset_index(drop=True)

    def unreached(self, threshold: float, *, of: str = "centre") -> gpd.GeoDataFrame:
        """The household locations of a community beyond ``threshold`` metres of its own
        service centre (``of="centre"``) or of any facility of the kind (``of="any"``)."""
        column = "distance_centre" if of == "centre" else "distance_any"
        loc = self.locations
        beyond = loc["community"].notna().to_numpy() & ~(loc[column].to_numpy() <= threshold)
        return loc[beyond].reset_index(drop=True)

    def isochrones(
        self, thresholds: Sequence[float] | None = None, *, width: float = ISOCHRONE_WIDTH
    ) -> gpd.GeoDataFrame:
        """Per facility (of ``kind``, and every service centre) and threshold, the area
        reached along the network (:func:`isochrone`).

        Returns
        -------
        geopandas.GeoDataFrame
            ``facility_id``, ``kind``, ``name``, ``threshold`` and the polygon, largest
            threshold first within each facility.
        """
        wanted = sorted(thresholds if thresholds is not None else self.thresholds, reverse=True)
        rows: list[dict[str, object]] = []
        fac = self.facilities
        show = (fac["selected"] | fac["community"].notna()).to_numpy()
        if self.network is None or self.attachment is None or not show.any() or not wanted:
            return _empty_isochrones(self.crs)
        which = np.flatnonzero(show)
        sources = self.attachment.take(which)
        dist = node_distances(self.network, sources, limit=max(wanted))
        points = np.asarray(fac.geometry.values, dtype=object)
        for row, f in enumerate(which):
            for t in wanted:
                rows.append(
                    {
                        "facility_id": fac["facility_id"].iloc[f],
                        "kind": fac["kind"].iloc[f],
                        "name": fac["name"].iloc[f],
                        "threshold": float(t),
                        "geometry": isochrone(
                            self.network,
                            sources.take([row]),
                            dist[row],
                            float(t),
                            point=points[f],
                            width=width,
                        ),
                    }
                )
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=self.crs)


def _empty_isochrones(crs: CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "facility_id": pd.Series([], dtype=object),
            "kind": pd.Series([], dtype=object),
            "name": pd.Series([], dtype=object),
            "threshold": pd.Series([], dtype=float),
        },
        geometry=gpd.GeoSeries([], crs=crs),
        crs=crs,
    )


def service_reach(
    areas: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    locations: gpd.GeoDataFrame,
    network_lines: gpd.GeoDataFrame | None,
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    kind: str | None = None,
    centre_kinds: Iterable[str] = SERVICE_CENTRE_KINDS,
    network: WalkingNetwork | None = None,
) -> ReachResult:
    """Walking reach from facilities to the households of each community.

    Parameters
    ----------
    areas
        Communities: ``area_id``, ``name``, polygons; an optional ``service_centre`` column
        names each one's centre (facility ids).
    facilities
        ``facility_id``, ``kind``, ``name``, points.
    locations
        Household locations (:func:`household_locations`).
    network_lines
        The walkable ways (``paths``, else ``roads``); ignored when ``network`` is given.
    thresholds
        Metres (default 300 / 500 / 1,000).
    kind
        The facility kind "any facility" counts (``None``: every facility).
    centre_kinds
        Facility kinds that are a service centre.
    network
        A walking graph built already (:func:`walking_network`), in its own CRS.

    Returns
    -------
    ReachResult

    Raises
    ------
    InputError
        If a threshold is not positive, or a ``service_centre`` names an unknown facility.
    """
    ts = tuple(sorted({float(t) for t in thresholds}))
    if not ts or not all(math.isfinite(t) and t > 0 for t in ts):
        raise InputError(f"thresholds must be positive metres, not {list(thresholds)}")
    require_crs(areas, "areas")
    notes: list[str] = []
    if network is not None:
        crs = network.crs
    elif network_lines is not None and len(network_lines):
        crs = metric_crs(network_lines, "walking network")
    else:
        crs = metric_crs(areas, "areas")
    area = areas.to_crs(crs).reset_index(drop=True)
    fac = _facilities(facilities, crs)
    loc = locations.to_crs(crs).reset_index(drop=True)
    if network is None and network_lines is not None and len(network_lines):
        network = walking_network(network_lines, crs=crs)
    if network is None:
        notes.append("reach not computed: no walking network (paths or roads)")
    if not len(fac):
        notes.append("reach not computed: no facilities")
    centres = service_centres(area, fac, centre_kinds=centre_kinds) if len(area) else []
    fac_community = np.full(len(fac), None, dtype=object)
    for i, mine in enumerate(centres):
        fac_community[mine] = area["area_id"].iloc[i]
    fac["community"] = fac_community
    wanted = facility_kind(kind) if kind else None
    fac["selected"] = (
        np.array([facility_kind(k) == wanted for k in fac["kind"]], dtype=bool)
        if wanted
        else np.ones(len(fac), dtype=bool)
    )
    if wanted and not fac["selected"].any():
        notes.append(f"no facility of kind {kind!r}")
    points = np.asarray(loc.geometry.representative_point().values, dtype=object)
    community_of = _community_of(area, points)
    loc["community"] = pd.Series(
        [area["area_id"].iloc[c] if c >= 0 else None for c in community_of], dtype=object
    )
    n_fac, n_loc = len(fac), len(loc)
    distances = np.full((n_fac, n_loc), np.inf)
    access = np.full(n_loc, np.nan)
    attachment = None
    if network is not None and n_fac and n_loc:
        attachment = attach(network, np.asarray(fac.geometry.values, dtype=object))
        targets = attach(network, points)
        access = targets.access
        distances = network_distances(network, attachment, targets, limit=ts[-1])
    elif network is not None and n_fac:
        attachment = attach(network, np.asarray(fac.geometry.values, dtype=object))
    own = np.full(n_loc, np.inf)
    for i, mine in enumerate(centres):
        rows = np.flatnonzero(community_of == i)
        if len(mine) and len(rows):
            own[rows] = distances[np.ix_(mine, rows)].min(axis=0)
    selected = fac["selected"].to_numpy(dtype=bool)
    anyd = distances[selected].min(axis=0) if selected.any() else np.full(n_loc, np.inf)
    loc["access"] = access
    loc["distance_centre"] = own
    loc["distance_any"] = anyd
    communities = _community_table(area, fac, centres, loc, community_of, ts)
    cols = ["location_id", "layer", "name", "households", "community", "access"]
    loc = loc[[*cols, "distance_centre", "distance_any", loc.geometry.name]]
    return ReachResult(
        crs=crs,
        thresholds=ts,
        kind=kind,
        communities=communities,
        locations=gpd.GeoDataFrame(loc, geometry=loc.geometry.name, crs=crs),
        facilities=fac,
        distances=distances,
        network=network,
        attachment=attachment,
        notes=tuple(notes),
    )


def _facilities(facilities: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    if facilities is None or not len(facilities):
        return gpd.GeoDataFrame(
            {
                "facility_id": pd.Series([], dtype=object),
                "kind": pd.Series([], dtype=object),
                "name": pd.Series([], dtype=object),
            },
            geometry=gpd.GeoSeries([], crs=crs),
            crs=crs,
        )
    fac = facilities.to_crs(crs).reset_index(drop=True)
    geoms = np.asarray(fac.geometry.values, dtype=object)
    points = np.where(
        shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms)
    ).astype(object)
    return gpd.GeoDataFrame(
        {
            "facility_id": fac["facility_id"].astype(str).to_numpy(dtype=object),
            "kind": fac["kind"].to_numpy(dtype=object)
            if "kind" in fac.columns
            else np.full(len(fac), None, dtype=object),
            "name": fac["name"].to_numpy(dtype=object)
            if "name" in fac.columns
            else np.full(len(fac), None, dtype=object),
        },
        geometry=points,
        crs=crs,
    )


def _community_of(area: gpd.GeoDataFrame, points: Geoms) -> Ints:
    """The area holding each point (``-1``: none; the first one when areas overlap)."""
    out = np.full(len(points), -1, dtype=np.int64)
    if not len(area) or not len(points):
        return out
    tree = shapely.STRtree(np.asarray(area.geometry.values, dtype=object))
    pt, ar = tree.query(points, predicate="within")
    order = np.lexsort((ar, pt))
    pt, ar = pt[order], ar[order]
    first = np.ones(len(pt), dtype=bool)
    first[1:] = pt[1:] != pt[:-1]
    out[pt[first]] = ar[first]
    return out


def _community_table(
    area: gpd.GeoDataFrame,
    fac: gpd.GeoDataFrame,
    centres: list[Ints],
    loc: gpd.GeoDataFrame,
    community_of: Ints,
    thresholds: tuple[float, ...],
) -> pd.DataFrame:
    weights = loc["households"].to_numpy(dtype=float)
    own = loc["distance_centre"].to_numpy(dtype=float)
    anyd = loc["distance_any"].to_numpy(dtype=float)
    n = len(area)
    inside = community_of >= 0
    total = np.bincount(community_of[inside], weights=weights[inside], minlength=n)
    names = area["name"] if "name" in area.columns else pd.Series(None, index=area.index)
    fac_ids = fac["facility_id"].to_numpy(dtype=object)
    rows: list[dict[str, object]] = []
    for t in thresholds:
        near_own = inside & (own <= t)
        near_any = inside & (anyd <= t)
        w_own = np.bincount(community_of[near_own], weights=weights[near_own], minlength=n)
        w_any = np.bincount(community_of[near_any], weights=weights[near_any], minlength=n)
        for i in range(n):
            hh = float(total[i])
            rows.append(
                {
                    "community": area["area_id"].iloc[i],
                    "name": names.iloc[i],
                    "threshold": t,
                    "households": hh,
                    "centres": ";".join(str(f) for f in fac_ids[centres[i]]),
                    "households_within": float(w_own[i]),
                    "share": float(w_own[i]) / hh if hh > 0 else float("nan"),
                    "households_within_any": float(w_any[i]),
                    "share_any": float(w_any[i]) / hh if hh > 0 else float("nan"),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "community",
            "name",
            "threshold",
            "households",
            "centres",
            "households_within",
            "share",
            "households_within_any",
            "share_any",
        ],
    )


def reach_summary(result: ReachResult) -> Mapping[str, object]:
    """A JSON-ready summary of a reach result: per threshold, the community rows."""
    return {
        "thresholds": list(result.thresholds),
        "kind": result.kind,
        "communities": {
            str(t): result.at(t).replace({np.nan: None}).to_dict(orient="records")
            for t in result.thresholds
        },
        "notes": list(result.notes),
    }


__all__ = [
    "DEFAULT_THRESHOLDS",
    "ISOCHRONE_WIDTH",
    "SERVICE_CENTRE_KINDS",
    "WALKING_SPEED",
    "Attachment",
    "ReachResult",
    "WalkingNetwork",
    "attach",
    "facility_kind",
    "grade_separated",
    "household_locations",
    "isochrone",
    "isochrone_lines",
    "network_distances",
    "node_distances",
    "reach_summary",
    "service_centres",
    "service_reach",
    "threshold_metres",
    "walking_network",
]
