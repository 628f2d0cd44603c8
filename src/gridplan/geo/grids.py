"""Divide communities into grids (一网多格): contiguous groups of units in a household band.

Each community's units form a unit graph (:func:`gridplan.geo.adjacency.build_unit_graph`);
a partition engine splits it into contiguous grids whose households lie in ``[lo, hi]``
(default 300–500, the urban grid size of local standards; 1000–3000 works the same way).
Cuts fall along roads first (the engine's cut cost is lowest on roads, major roads first) and
along compound edges next: for the engine, a boundary of a compound unit that follows no road
counts as the least important road class (``other``), so it is cheaper to cut than an
arbitrary boundary inside a block.

The engine is anything that follows :class:`PartitionEngine`; the default is the
redistricting engine :func:`gridplan.geo.partition.partition_graph`. Nothing is forced:

- a unit with more households than the ceiling cannot be split, so it becomes a grid of its
  own and the community's explanation says so;
- a community (or what is left of it) under the floor becomes one grid, explained;
- when the engine finds no valid plan, its reason is reported and each connected part of the
  community becomes one grid, so the grids still cover the community.

Grids are coded by :class:`gridplan.geo.codes.CodeScheme` and numbered west to east, then
north to south (:func:`gridplan.geo.codes.reading_order`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from gridplan.data.crs import metric_crs
from gridplan.data.layers import feature_ids, parse_counts
from gridplan.data.road_classes import road_class_from_values
from gridplan.errors import InputError
from gridplan.geo.adjacency import DEFAULT_TOLERANCE, build_unit_graph
from gridplan.geo.assign import assign_compounds
from gridplan.geo.codes import CodeScheme, reading_order
from gridplan.geo.graph import UnitGraph
from gridplan.plan import AREA_COLUMNS, Level, Plan

#: Columns of :attr:`GridsResult.grids` (plus geometry).
GRID_COLUMNS: tuple[str, ...] = (
    "grid_code",
    "area_id",
    "households",
    "residents",
    "units",
    "in_band",
    "note",
)


#: Relative tolerance of the band test (household sums of fractional estimates).
_BAND_EPS = 1e-9


class EngineResult(Protocol):
    """What a partition engine returns (``labels``: area index per node, -1 if none)."""

    @property
    def labels(self) -> npt.NDArray[np.int64]: ...

    @property
    def valid(self) -> bool: ...

    @property
    def reason(self) -> str | None: ...


class PartitionEngine(Protocol):
    """A partition engine: split a unit graph into contiguous areas in ``[lo, hi]``."""

    def __call__(
        self, graph: UnitGraph, lo: float, hi: float, *, seed: int, time_limit: float | None
    ) -> EngineResult: ...


def default_engine(
    graph: UnitGraph, lo: float, hi: float, *, seed: int, time_limit: float | None
) -> EngineResult:
    """The redistricting engine (:func:`gridplan.geo.partition.partition_graph`)."""
    from gridplan.geo.partition import partition_graph

    return partition_graph(graph, lo, hi, seed=seed, time_limit=time_limit)


@dataclass(frozen=True)
class SimpleResult:
    """Result of :func:`greedy_engine` (the :class:`EngineResult` protocol)."""

    labels: npt.NDArray[np.int64]
    valid: bool
    reason: str | None


def greedy_engine(
    graph: UnitGraph, lo: float, hi: float, *, seed: int = 0, time_limit: float | None = None
) -> SimpleResult:
    """A simple, deterministic engine: grow grids unit by unit in reading order.

    Starting from the north-western unassigned unit, a grid takes adjacent unassigned units
    (the earliest in reading order first) while it stays under ``hi``, and stops once it
    reaches the middle of the band. Grids left under ``lo`` then merge into the adjacent grid
    with the fewest households when the merge stays under ``hi``. Grids are contiguous by
    construction; ``valid`` says whether every grid is in band. ``seed`` and ``time_limit``
    are accepted for the protocol and unused (the result does not depend on them).
    """
    n = graph.n
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return SimpleResult(labels, True, None)
    hh = graph.households
    rank = np.empty(n, dtype=np.int64)
    rank[reading_order(graph.centroids, None, graph.areas)] = np.arange(n)
    adj = graph.adjacency().tocsr()
    target = (lo + hi) / 2.0
    order = np.argsort(rank)
    k = 0
    for start in order:
        if labels[start] >= 0:
            continue
        labels[start] = k
        total = float(hh[start])
        frontier: set[int] = set(
            int(j) for j in adj.indices[adj.indptr[start] : adj.indptr[start + 1]]
        )
        while total < target:
            options = [j for j in frontier if labels[j] < 0 and total + hh[j] <= hi]
            if not options:
                break
            j = min(options, key=lambda x: rank[x])
            labels[j] = k
            total += float(hh[j])
            frontier.update(int(x) for x in adj.indices[adj.indptr[j] : adj.indptr[j + 1]])
        k += 1
    totals = np.bincount(labels, weights=hh, minlength=k)
    for small in np.argsort(totals):
        if totals[small] >= lo:
            continue
        members = np.flatnonzero(labels == small)
        if len(members) == 0:
            continue
        neighbours = np.unique(labels[adj[members].indices])
        neighbours = neighbours[(neighbours != small) & (neighbours >= 0)]
        fits = [g for g in neighbours if totals[g] + totals[small] <= hi]
        if fits:
            g = min(fits, key=lambda x: totals[x])
            labels[members] = g
            totals[g] += totals[small]
            totals[small] = 0.0
    _, labels = np.unique(labels, return_inverse=True)
    totals = np.bincount(labels, weights=hh)
    eps = _BAND_EPS * max(1.0, hi)
    bad = int(((totals < lo - eps) | (totals > hi + eps)).sum())
    if bad:
        return SimpleResult(
            labels.astype(np.int64), False, f"{bad} of {len(totals)} greedy grids out of band"
        )
    return SimpleResult(labels.astype(np.int64), True, None)


@dataclass(frozen=True)
class GridParams:
    """How grids are drawn.

    Parameters
    ----------
    lo, hi
        Household band per grid (inclusive).
    seed
        Seed for the engine (results repeat for a seed).
    time_limit
        Seconds per community for the engine, a positive finite number (``None``: the
        engine's own default).
    tolerance
        Metres within which a unit boundary follows a road.

    Raises
    ------
    InputError
        If the band is not ``0 <= lo <= hi`` with ``hi > 0``, or ``time_limit`` is zero,
        negative, NaN or infinite.
    """

    lo: float = 300.0
    hi: float = 500.0
    seed: int = 0
    time_limit: float | None = 10.0
    tolerance: float = DEFAULT_TOLERANCE

    def __post_init__(self) -> None:
        if not (0 <= self.lo <= self.hi) or self.hi <= 0:
            raise InputError(f"band must satisfy 0 <= lo <= hi, hi > 0 (got {self.lo}, {self.hi})")
        if self.time_limit is not None and not (
            math.isfinite(self.time_limit) and self.time_limit > 0
        ):
            raise InputError(
                f"time_limit must be a positive number of seconds (got {self.time_limit})"
            )


@dataclass(frozen=True)
class GridsResult:
    """Grids of every community.

    Attributes
    ----------
    grids
        ``grid_code``, ``area_id`` (the community), ``households``, ``residents``, ``units``
        (count), ``in_band``, ``note`` (why a grid is out of band), geometry (metric CRS).
    assignments
        ``unit_id``, ``community_id``, ``grid_id`` (the grid code) for every placed unit.
    communities
        Per community: ``area_id``, ``households``, ``grids``, ``valid`` (all grids in band),
        ``explanation`` (``None`` when valid).
    unplaced_units
        Units that lie in no community (ids).
    band
        ``(lo, hi)``.
    """

    grids: gpd.GeoDataFrame
    assignments: pd.DataFrame
    communities: pd.DataFrame
    unplaced_units: list[str]
    band: tuple[float, float]

    def to_plan(
        self,
        areas: gpd.GeoDataFrame,
        *,
        name: str = "grids",
        area_id_column: str = "area_id",
        source: str = "grids",
        parent_id: int | None = None,
    ) -> Plan:
        """A :class:`~gridplan.plan.Plan` holding the communities and their grids.

        Community polygons are the input areas; grid polygons are dissolved units.
        """
        crs = self.grids.crs
        comm = areas.to_crs(crs) if areas.crs is not None and crs is not None else areas
        per = self.grids.groupby("area_id")[["households", "residents"]].sum()
        ids = comm[area_id_column].astype(str)
        community = gpd.GeoDataFrame(
            {
                "level": Level.COMMUNITY.value,
                "area_id": ids.to_numpy(dtype=object),
                "name": _column(comm, "name"),
                "code": _column(comm, "code"),
                "parent_id": None,
                "households": per["households"].reindex(ids).fillna(0.0).to_numpy(),
                "residents": per["residents"].reindex(ids).fillna(0.0).to_numpy(),
            },
            geometry=comm.geometry.values,
            crs=crs,
        )
        grid = gpd.GeoDataFrame(
            {
                "level": Level.GRID.value,
                "area_id": self.grids["grid_code"].to_numpy(dtype=object),
                "name": self.grids["grid_code"].to_numpy(dtype=object),
                "code": self.grids["grid_code"].to_numpy(dtype=object),
                "parent_id": self.grids["area_id"].to_numpy(dtype=object),
                "households": self.grids["households"].to_numpy(dtype=float),
                "residents": self.grids["residents"].to_numpy(dtype=float),
            },
            geometry=self.grids.geometry.values,
            crs=crs,
        )
        both = pd.concat([community, grid], ignore_index=True)
        both_gdf = gpd.GeoDataFrame(both[[*AREA_COLUMNS, "geometry"]], geometry="geometry", crs=crs)
        return Plan(
            name=name,
            assignments=self.assignments.copy(),
            areas=both_gdf,
            targets={"grid": {"households": [self.band[0], self.band[1]]}},
            metrics={
                "grids": len(self.grids),
                "grids_in_band": int(self.grids["in_band"].sum()),
                "communities_valid": int(self.communities["valid"].sum()),
            },
            parent_id=parent_id,
            source=source,
        )


def divide_into_grids(
    units: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    *,
    params: GridParams | None = None,
    scheme: CodeScheme | None = None,
    roads: gpd.GeoDataFrame | None = None,
    unit_id_column: str = "unit_id",
    area_id_column: str = "area_id",
    households_column: str = "households",
    residents_column: str = "residents",
    engine: PartitionEngine | None = None,
    progress: Callable[[str], None] | None = None,
    compounds: gpd.GeoDataFrame | None = None,
) -> GridsResult:
    """Divide every community into contiguous grids in a household band.

    Parameters
    ----------
    units
        Unit polygons with ids and household counts. When they carry ``area_id_column`` it
        says which community each unit is in; otherwise units go to the community they
        overlap most (units outside every community are reported, not placed).
    areas
        Community polygons with ``area_id_column`` (and optional ``code``, ``name``).
    params
        Band, seed, time limit (:class:`GridParams`).
    scheme
        Grid code scheme; without one a grid code is ``<area_id>-<sequence>``.
    roads
        Road centrelines with ``road_class`` (cuts prefer them).
    unit_id_column, area_id_column, households_column, residents_column
        Column names.
    engine
        Partition engine (default :func:`default_engine`).
    progress
        Called with each community's id before it is divided.
    compounds
        Compound polygons (小区, residential landuse): the units inside one that holds at most
        the ceiling stay in one grid (:func:`compound_groups`); a larger one is divided along
        its buildings.

    Returns
    -------
    GridsResult

    Raises
    ------
    InputError
        If a column is missing, counts are negative, a unit or community has no id, or two
        units (or two communities) share an id.

    Examples
    --------
    Six units of 100 households in a row, one community, grids of 200–300 households::

        +---+---+---+---+---+---+
        | 1 | 2 | 3 | 4 | 5 | 6 |
        +---+---+---+---+---+---+

    >>> import geopandas as gpd
    >>> from shapely import box
    >>> units = gpd.GeoDataFrame({"unit_id": [str(i) for i in range(1, 7)],
    ...     "households": [100.0] * 6},
    ...     geometry=[box(i * 10, 0, i * 10 + 10, 10) for i in range(6)], crs=32650)
    >>> areas = gpd.GeoDataFrame({"area_id": ["A"]}, geometry=[box(0, 0, 60, 10)], crs=32650)
    >>> r = divide_into_grids(units, areas, params=GridParams(200, 300))
    >>> r.grids["households"].tolist(), bool(r.communities["valid"].all())
    ([200.0, 200.0, 200.0], True)
    """
    p = params or GridParams()
    run = engine or default_engine
    for col, frame, what in (
        (unit_id_column, units, "units"),
        (households_column, units, "units"),
        (area_id_column, areas, "areas"),
    ):
        if col not in frame.columns:
            have = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
            raise InputError(f"{what}: no field {col!r} (fields: {have})")
    unit_ids = feature_ids(units[unit_id_column], unit_id_column, "units")
    area_ids = feature_ids(areas[area_id_column], area_id_column, "areas")
    target = CRS.from_user_input(metric_crs(units, "units"))
    geoms = np.asarray(units.geometry.values, dtype=object)
    not_polygon = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    not_polygon |= ~np.isin(shapely.get_type_id(geoms), [3, 6])
    if not_polygon.any():
        i = int(np.flatnonzero(not_polygon)[0])
        if shapely.is_missing(geoms[i]) or shapely.is_empty(geoms[i]):
            what = "empty geometry"
        else:
            what = f"{geoms[i].geom_type} geometry, expected a polygon"
        raise InputError(f"units feature {unit_ids[i]}: {what}")
    metric = units.to_crs(target)
    hh = np.nan_to_num(
        parse_counts(
            metric[households_column],
            households_column,
            ids=unit_ids,
            source="units",
        ),
        nan=0.0,
    )
    metric = metric.assign(
        _hh=hh,
        _res=(
            np.nan_to_num(
                parse_counts(
                    metric[residents_column], residents_column, ids=unit_ids, source="units"
                ),
                nan=0.0,
            )
            if residents_column in metric.columns
            else np.zeros(len(metric))
        ),
        _uid=unit_ids,
    )
    if area_id_column in units.columns:
        community = metric[area_id_column].map(lambda v: None if pd.isna(v) else str(v))
        community = community.to_numpy(dtype=object)
        placed = np.asarray([c in set(area_ids) for c in community], dtype=bool)
    else:
        assigned = assign_compounds(
            metric[["_uid", "geometry"]].rename(columns={"_uid": "compound_id"}),
            areas.assign(**{area_id_column: area_ids}),
            area_id_field=area_id_column,
        )
        community = assigned["area_id"].to_numpy(dtype=object)
        placed = (assigned["method"] == "overlap").to_numpy(dtype=bool)
    unplaced = [str(u) for u in metric.loc[~placed, "_uid"]]
    metric = metric[placed].assign(_area=community[placed]).reset_index(drop=True)

    compound_polys = _compound_polygons(compounds, target)
    grid_rows: list[dict[str, object]] = []
    assign_rows: list[pd.DataFrame] = []
    comm_rows: list[dict[str, object]] = []
    area_pos = _community_positions(areas, area_ids, target)
    codes = _column(areas, "code")
    for a_idx, area_id in enumerate(area_ids):
        sub = metric[metric["_area"] == area_id].reset_index(drop=True)
        if progress is not None:
            progress(str(area_id))
        if len(sub) == 0:
            comm_rows.append(
                {
                    "area_id": area_id,
                    "households": 0.0,
                    "grids": 0,
                    "valid": False,
                    "explanation": "no units lie in this community",
                }
            )
            continue
        labels, notes, explanation = _divide_keeping_compounds(
            sub, compound_polys, roads, p, run, target
        )
        community_code = (
            scheme.community_code(codes[a_idx], area_pos[a_idx] + 1)
            if scheme is not None
            else (None if pd.isna(codes[a_idx]) else str(codes[a_idx]))
        )
        rows = _grid_rows(sub, labels, notes, p, area_id, community_code, scheme)
        grid_rows.extend(rows)
        code_of = {_as_int(r["_label"]): str(r["grid_code"]) for r in rows}
        assign_rows.append(
            pd.DataFrame(
                {
                    "unit_id": sub["_uid"].to_numpy(dtype=object),
                    "community_id": area_id,
                    "grid_id": [code_of[int(x)] for x in labels],
                }
            )
        )
        in_band = all(bool(r["in_band"]) for r in rows)
        comm_rows.append(
            {
                "area_id": area_id,
                "households": float(sub["_hh"].sum()),
                "grids": len(rows),
                "valid": in_band,
                "explanation": explanation,
            }
        )
    grids = gpd.GeoDataFrame(
        pd.DataFrame(grid_rows, columns=[*GRID_COLUMNS, "_label", "geometry"]).drop(
            columns="_label"
        ),
        geometry="geometry",
        crs=target,
    )
    assignments = (
        pd.concat(assign_rows, ignore_index=True)
        if assign_rows
        else pd.DataFrame({"unit_id": [], "community_id": [], "grid_id": []}, dtype=object)
    )
    return GridsResult(
        grids=grids,
        assignments=assignments,
        communities=pd.DataFrame(
            comm_rows, columns=["area_id", "households", "grids", "valid", "explanation"]
        ),
        unplaced_units=unplaced,
        band=(p.lo, p.hi),
    )


def grid_ways(
    roads: gpd.GeoDataFrame | None, paths: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame | None:
    """The ways a grid boundary may follow: the roads, and the walkable ways inside blocks
    (lanes, service ways, footways, pedestrian streets) with their ``path_class`` read as a
    road class (``service``, ``path``; a street in both layers keeps its road's class).

    Grid cuts then prefer roads, then lanes and footways, then compound edges, then edges
    along nothing: the order the engine's cut cost follows (:func:`class_rank`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> roads = gpd.GeoDataFrame({"road_class": ["local"]},
    ...     geometry=[LineString([(0, 0), (1, 0)])], crs=32650)
    >>> paths = gpd.GeoDataFrame({"path_class": ["footway", "service"]},
    ...     geometry=[LineString([(0, 1), (1, 1)]), LineString([(0, 2), (1, 2)])], crs=32650)
    >>> grid_ways(roads, paths)["road_class"].tolist()
    ['local', 'path', 'service']
    """
    if paths is None or paths.empty:
        return roads
    if "path_class" in paths.columns:
        classes = road_class_from_values(paths["path_class"].fillna("path"))
    else:
        classes = pd.Series("path", index=paths.index, dtype=object)
    ways = gpd.GeoDataFrame(
        {"road_class": classes.to_numpy(dtype=object)},
        geometry=paths.geometry.to_numpy(),
        crs=paths.crs,
    )
    if roads is None or roads.empty:
        return ways
    own = gpd.GeoDataFrame(
        {"road_class": roads["road_class"].to_numpy(dtype=object)},
        geometry=roads.geometry.to_numpy(),
        crs=roads.crs,
    )
    return gpd.GeoDataFrame(pd.concat([own, ways.to_crs(roads.crs)], ignore_index=True))


def _compound_polygons(
    compounds: gpd.GeoDataFrame | None, crs: CRS
) -> npt.NDArray[np.object_] | None:
    """The compound polygons in the metric CRS, smallest first (``None`` without any)."""
    if compounds is None or compounds.empty:
        return None
    geoms = np.asarray(compounds.to_crs(crs).geometry.values, dtype=object)
    geoms = geoms[np.isin(shapely.get_type_id(geoms), [3, 6])]
    if not len(geoms):
        return None
    return geoms[np.argsort(shapely.area(geoms), kind="stable")]


def compound_groups(
    sub: gpd.GeoDataFrame, compounds: npt.NDArray[np.object_] | None, ceiling: float
) -> npt.NDArray[np.int64]:
    """Which compound each unit of one community belongs to, for the grid division: ``-1`` for
    none; units sharing a group are one node, so a compound under the grid ceiling is never
    cut between grids.

    A unit (a building's cell) belongs to the smallest compound polygon holding its
    representative point. A compound whose units hold more than ``ceiling`` households is no
    group (it is divided along its buildings); so is a compound of one unit.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import numpy as np
    >>> from shapely import box
    >>> sub = gpd.GeoDataFrame({"_hh": [100.0, 100.0, 400.0]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs=32650)
    >>> compound_groups(sub, np.array([box(0, 0, 2, 1)], dtype=object), 500).tolist()
    [0, 0, -1]
    """
    out = np.full(len(sub), -1, dtype=np.int64)
    if compounds is None or not len(sub):
        return out
    points = shapely.point_on_surface(np.asarray(sub.geometry.values, dtype=object))
    ci, ui = shapely.STRtree(points).query(compounds, predicate="contains")
    if not len(ci):
        return out
    order = np.lexsort((ci, ui))  # per unit, the smallest compound (compounds come smallest first)
    ci, ui = ci[order], ui[order]
    first = np.ones(len(ui), dtype=bool)
    first[1:] = ui[1:] != ui[:-1]
    out[ui[first]] = ci[first]
    hh = sub["_hh"].to_numpy(dtype=float)
    held = out >= 0
    totals = pd.Series(hh[held]).groupby(out[held]).agg(["sum", "size"])
    keep = set(totals.index[(totals["sum"] <= ceiling) & (totals["size"] > 1)].tolist())
    out[~np.isin(out, list(keep))] = -1
    return out


def _divide_keeping_compounds(
    sub: gpd.GeoDataFrame,
    compounds: npt.NDArray[np.object_] | None,
    roads: gpd.GeoDataFrame | None,
    p: GridParams,
    run: PartitionEngine,
    crs: CRS,
) -> tuple[npt.NDArray[np.int64], dict[int, str], str | None]:
    """:func:`_divide` with the units of each compound under the ceiling merged into one."""
    groups = compound_groups(sub, compounds, p.hi)
    if (groups < 0).all():
        return _divide(sub, roads, p, run, crs)
    key = np.where(groups >= 0, -1 - groups, np.arange(len(sub)))  # one key per node
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    merged = sub.iloc[first].copy()
    merged["_hh"] = np.bincount(inverse, weights=sub["_hh"].to_numpy(dtype=float))
    merged["_res"] = np.bincount(inverse, weights=sub["_res"].to_numpy(dtype=float))
    geoms = np.asarray(sub.geometry.values, dtype=object)
    merged_geoms = np.asarray(merged.geometry.values, dtype=object).copy()
    for node in np.unique(inverse[groups >= 0]):
        merged_geoms[node] = shapely.union_all(geoms[inverse == node])
    merged = merged.set_geometry(gpd.GeoSeries(merged_geoms, index=merged.index, crs=sub.crs))
    if "kind" in merged.columns:
        is_group = np.bincount(inverse, weights=(groups >= 0).astype(float)) > 0
        merged["kind"] = np.where(is_group, "compound", merged["kind"].to_numpy(dtype=object))
    labels, notes, explanation = _divide(merged.reset_index(drop=True), roads, p, run, crs)
    return labels[inverse], notes, explanation


def _divide(
    sub: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None,
    p: GridParams,
    run: PartitionEngine,
    crs: CRS,
) -> tuple[npt.NDArray[np.int64], dict[int, str], str | None]:
    """Grid label per unit of one community, notes per label, and an explanation."""
    graph = build_unit_graph(
        sub.assign(unit_id=sub["_uid"], households=sub["_hh"], residents=sub["_res"])[
            ["unit_id", "households", "residents", "geometry"]
        ],
        roads,
        tolerance=p.tolerance,
        crs=crs,
    )
    graph = _prefer_compound_edges(graph, sub)
    n = graph.n
    labels = np.full(n, -1, dtype=np.int64)
    notes: dict[int, str] = {}
    problems: list[str] = []
    hh = graph.households
    big = np.flatnonzero(hh > p.hi)
    next_label = 0
    for i in big:
        labels[i] = next_label
        notes[next_label] = (
            f"unit {graph.unit_ids[i]} alone holds {hh[i]:g} households, above the ceiling "
            f"{p.hi:g}; a unit cannot be split"
        )
        problems.append(notes[next_label])
        next_label += 1
    rest = np.flatnonzero(labels < 0)
    if len(rest):
        subgraph = graph.subgraph(rest)
        total = float(subgraph.households.sum())
        if total < p.lo:
            comp = subgraph.components()
            for c in np.unique(comp):
                labels[rest[comp == c]] = next_label
                notes[next_label] = (
                    f"{'the rest of ' if len(big) else ''}the community holds {total:g} "
                    f"households, below the floor {p.lo:g}: one grid"
                )
                next_label += 1
            problems.append(notes[next_label - 1])
        else:
            result = run(subgraph, p.lo, p.hi, seed=p.seed, time_limit=p.time_limit)
            got = np.asarray(result.labels, dtype=np.int64)
            if result.valid and len(got) == len(rest) and (got >= 0).all():
                labels[rest] = got + next_label
            else:
                reason = result.reason or "the engine found no valid plan"
                fallback = greedy_engine(subgraph, p.lo, p.hi, seed=p.seed, time_limit=p.time_limit)
                got = fallback.labels
                for k in np.unique(got):
                    total_k = float(subgraph.households[got == k].sum())
                    if not (p.lo - _BAND_EPS * p.hi <= total_k <= p.hi + _BAND_EPS * p.hi):
                        notes[int(k) + next_label] = (
                            f"the engine found no plan in band ({reason}); "
                            "this grid comes from the greedy fallback"
                        )
                labels[rest] = got + next_label
                if fallback.valid:
                    problems.append(f"the engine found no plan ({reason}); the greedy fallback did")
                else:
                    problems.append(
                        f"no grids in band: {reason}; greedy fallback: {fallback.reason}"
                    )
    return labels, notes, ("; ".join(problems) if problems else None)


def _prefer_compound_edges(graph: UnitGraph, sub: gpd.GeoDataFrame) -> UnitGraph:
    """Mark off-road edges that bound a compound unit as class ``other`` for the engine."""
    if "kind" not in sub.columns or len(graph.edges) == 0:
        return graph
    is_comp = (sub["kind"] == "compound").to_numpy(dtype=bool)
    edges = graph.edges.copy()
    touches = is_comp[edges["u"].to_numpy()] | is_comp[edges["v"].to_numpy()]
    none = edges["road_class"].isna().to_numpy(dtype=bool)
    rc = edges["road_class"].to_numpy(dtype=object).copy()
    rc[touches & none] = "other"
    edges["road_class"] = pd.Series(rc, dtype=object, index=edges.index)
    return replace(graph, edges=edges)


def _grid_rows(
    sub: gpd.GeoDataFrame,
    labels: npt.NDArray[np.int64],
    notes: dict[int, str],
    p: GridParams,
    area_id: str,
    community_code: str | None,
    scheme: CodeScheme | None,
) -> list[dict[str, object]]:
    geoms = np.asarray(sub.geometry.values, dtype=object)
    uniq = np.unique(labels)
    polys = [shapely.union_all(geoms[labels == k]) for k in uniq]
    hh = np.bincount(np.searchsorted(uniq, labels), weights=sub["_hh"].to_numpy(dtype=float))
    res = np.bincount(np.searchsorted(uniq, labels), weights=sub["_res"].to_numpy(dtype=float))
    count = np.bincount(np.searchsorted(uniq, labels))
    arr = np.asarray(polys, dtype=object)
    cent = shapely.centroid(arr)
    order = reading_order(
        np.column_stack([shapely.get_x(cent), shapely.get_y(cent)]),
        scheme.row_tolerance if scheme is not None else None,
        shapely.area(arr),
    )
    rows: list[dict[str, object]] = []
    for seq, j in enumerate(order, start=1):
        if scheme is not None and community_code is not None:
            code = scheme.code(community_code, seq)
        else:  # no scheme: the community's own code (else its id), then the sequence
            code = f"{community_code or area_id}-{seq:03d}"
        eps = _BAND_EPS * max(1.0, p.hi)
        in_band = bool(p.lo - eps <= hh[j] <= p.hi + eps)
        rows.append(
            {
                "grid_code": code,
                "area_id": area_id,
                "households": float(hh[j]),
                "residents": float(res[j]),
                "units": int(count[j]),
                "in_band": in_band,
                "note": notes.get(int(uniq[j])) if not in_band else None,
                "_label": int(uniq[j]),
                "geometry": polys[j],
            }
        )
    return rows


def _community_positions(
    areas: gpd.GeoDataFrame, area_ids: npt.NDArray[np.object_], crs: CRS
) -> npt.NDArray[np.int64]:
    """Position of each community in reading order (for communities without a code)."""
    if len(areas) == 0:
        return np.empty(0, dtype=np.int64)
    geoms = np.asarray(areas.to_crs(crs).geometry.values, dtype=object)
    pts = shapely.point_on_surface(geoms)
    order = reading_order(
        np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]), None, shapely.area(geoms)
    )
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(len(order))
    return pos


def _column(frame: pd.DataFrame, name: str) -> npt.NDArray[np.object_]:
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return frame[name].map(lambda v: None if pd.isna(v) else str(v)).to_numpy(dtype=object)


def _as_int(value: object) -> int:
    if isinstance(value, int | np.integer):
        return int(value)
    raise TypeError(f"not an integer label: {value!r}")
