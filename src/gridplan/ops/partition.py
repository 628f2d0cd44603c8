"""Partition units into a community plan: from files, or on the store as a new plan.

The one partition use case behind ``gridplan partition`` (files or ``--db``) and the demo.
Communities are numbered ``001``, ``002``, … west to east, then north to south (the order of
:func:`gridplan.geo.codes.reading_order`), and a plan made on the store is checked against the
store's layers and stored with its findings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan.data.crs import metric_crs
from gridplan.data.store.base import Store
from gridplan.errors import InputError
from gridplan.geo.adjacency import build_unit_graph
from gridplan.geo.cells import road_blocks
from gridplan.geo.codes import reading_order
from gridplan.geo.partition import PartitionResult, partition_graph
from gridplan.geo.plans import plan_from_units
from gridplan.ops.checks import PlanCheck, check_plan
from gridplan.ops.codes import coded_plan
from gridplan.ops.layers import read_check_layers
from gridplan.plan import Level, Plan


@dataclass(frozen=True)
class PartitionSpec:
    """What to partition into.

    Parameters
    ----------
    band
        ``(lo, hi)`` of the measure per community (inclusive).
    measure
        ``households`` or ``residents``.
    k
        Number of communities; ``None`` makes as many as the band allows.
    seed
        Seed of the engine (results repeat).
    time_limit
        Seconds for the whole run (``None``: no limit).
    join_islands
        Join island units to their nearest unit.
    strict
        Refuse (no plan) when a block alone exceeds the ceiling, instead of cutting it along
        its cells (buildings) and making a building above the ceiling its own community.
    """

    band: tuple[float, float]
    measure: str = "households"
    k: int | None = None
    seed: int = 0
    time_limit: float | None = None
    join_islands: bool = True
    strict: bool = False

    def __post_init__(self) -> None:
        lo, hi = self.band
        if not (0 <= lo <= hi and hi > 0):  # written so that NaN fails too
            raise InputError(f"--band {lo:g} {hi:g}: need 0 <= LO <= HI and HI > 0")
        if self.k is not None and self.k < 1:
            raise InputError(f"--k {self.k}: need at least 1 area")
        if self.measure not in ("households", "residents"):
            raise InputError(f"--measure {self.measure!r}: expected households or residents")


@dataclass(frozen=True)
class PartitionOutcome:
    """A partition run and the community plan it made.

    Attributes
    ----------
    result
        The engine's result (valid or not, with the reason).
    units
        The units, in order, with ``community_id`` and ``community_code`` columns.
    plan
        The community plan (``None`` when no valid plan exists).
    check
        The plan's check (``None`` without a plan).
    plan_id
        The stored plan's id (store runs only).
    notes
        Blocks above the ceiling cut along their cells, and buildings above it made
        communities of their own (each explained).
    """

    result: PartitionResult
    units: gpd.GeoDataFrame
    plan: Plan | None
    check: PlanCheck | None
    plan_id: int | None = None
    notes: tuple[str, ...] = ()

    def to_json(self, seconds: float) -> dict[str, Any]:
        """``{"valid", "reason", "plan_id", "areas": [{"district", "code", "households",
        "residents", "measure" (the partitioned measure's total), "units", "blocks" (the
        partition's nodes: road blocks, or cells of a block cut), "road_boundary_share"}],
        "households_moved", "findings", "seconds"}``; counts unknown for every unit of a
        community are ``None``."""
        r = self.result
        codes = self.codes()
        per_unit = (
            self.units["community_id"].astype(str).value_counts().to_dict()
            if "community_id" in self.units.columns
            else {}
        )
        counts: dict[str, tuple[float | None, float | None]] = {}
        if self.plan is not None:
            areas = self.plan.areas_at(Level.COMMUNITY)
            for a, h, p in zip(
                areas["area_id"], areas["households"], areas["residents"], strict=True
            ):
                counts[str(a)] = (
                    None if pd.isna(h) else float(h),
                    None if pd.isna(p) else float(p),
                )
        return {
            "valid": bool(r.valid),
            "reason": r.reason,
            "plan_id": self.plan_id,
            "areas": [
                {
                    "district": name,
                    "code": codes.get(name),
                    "households": counts.get(name, (float(r.totals[i]), None))[0],
                    "residents": counts.get(name, (None, None))[1],
                    "measure": float(r.totals[i]),
                    "units": int(per_unit.get(str(name), r.units[i])),
                    "blocks": int(r.units[i]),
                    "road_boundary_share": float(r.road_share[i]),
                }
                for i, name in enumerate(r.names)
            ],
            "households_moved": None if r.households_moved is None else float(r.households_moved),
            "findings": self.check.by_rule() if self.check is not None else {},
            "notes": list(self.notes),
            "seconds": round(seconds, 3),
        }

    def codes(self) -> dict[str, str]:
        """Community code by community id."""
        if self.plan is None:
            return {}
        areas = self.plan.areas_at(Level.COMMUNITY)
        return dict(zip(areas["area_id"].astype(str), areas["code"].astype(str), strict=True))


def partition_units(
    units: gpd.GeoDataFrame,
    spec: PartitionSpec,
    *,
    roads: gpd.GeoDataFrame | None = None,
    baseline: np.ndarray | None = None,
    name: str = "communities",
    source: str = "partition",
    parent_id: int | None = None,
    names: dict[str, str] | None = None,
) -> PartitionOutcome:
    """Partition units (a normalised ``units`` layer) into communities in ``spec.band``.

    Returns an outcome with a plan (communities coded ``001``… in reading order, named by
    ``names`` where a baseline community survives, else ``C`` + the code; targets the band)
    when the engine found a valid partition; otherwise the outcome says why (no plan).
    """
    dupes = units["unit_id"][units["unit_id"].duplicated()]
    if len(dupes):
        raise InputError(f"units: duplicate unit id(s) {', '.join(dupes.astype(str)[:5])}")
    blocks, block_of = road_blocks(units)
    nodes, node_of, notes = _nodes(units, blocks, block_of, spec)
    if baseline is not None and node_of is not None:
        first = pd.Series(np.asarray(baseline, dtype=object)).groupby(node_of).first()
        baseline = first.reindex(nodes["unit_id"].to_numpy()).to_numpy(dtype=object)
    values = pd.to_numeric(nodes[spec.measure], errors="coerce").fillna(0.0).to_numpy()
    alone = (
        values > spec.band[1] if not spec.strict else np.zeros(len(nodes), dtype=bool)
    )  # a building (or a block that has no cells) above the ceiling: its own community
    rest = nodes[~alone].reset_index(drop=True)
    graph = build_unit_graph(rest, roads)
    result = partition_graph(
        graph,
        spec.band[0],
        spec.band[1],
        measure=spec.measure,
        k=None if spec.k is None else max(1, spec.k - int(alone.sum())),
        seed=spec.seed,
        time_limit=spec.time_limit,
        baseline=baseline[~alone] if baseline is not None else None,
        join_islands=spec.join_islands,
    )
    node_labels = np.full(len(nodes), None, dtype=object)
    node_labels[~alone] = result.district_of()
    if alone.any():
        result, extra, extra_notes = _with_alone(result, nodes[alone], spec)
        node_labels[alone] = extra
        notes = [*notes, *extra_notes]
    if node_of is not None:  # every unit in its node's community
        by_node = dict(zip(nodes["unit_id"].astype(str).to_numpy(), node_labels, strict=True))
        labels = np.asarray([by_node.get(b) for b in node_of], dtype=object)
    else:
        labels = node_labels
    out = units.copy()
    out["community_id"] = labels
    if not result.valid:
        out["community_code"] = None
        return PartitionOutcome(result, out, None, None, notes=tuple(notes))
    targets = {Level.COMMUNITY.value: {spec.measure: [float(spec.band[0]), float(spec.band[1])]}}
    plan = plan_from_units(
        units,
        labels,
        name=name,
        targets=targets,
        metrics={
            "communities": result.k,
            "seed": spec.seed,
            "partition_seconds": round(result.seconds, 3),
            "households_moved": result.households_moved,
        },
        source=source,
        parent_id=parent_id,
    )
    codes = community_codes(plan.areas_at(Level.COMMUNITY))
    areas = plan.areas.copy()
    ids = areas["area_id"].astype(str)
    areas["code"] = ids.map(codes).astype(object)
    known = dict(names or {})
    areas["name"] = [known.get(i, f"C{codes.get(i, i)}") for i in ids]
    plan = replace(plan, areas=areas)
    out["community_code"] = [None if c is None else codes.get(str(c)) for c in labels]
    return PartitionOutcome(result, out, plan, None, notes=tuple(notes))


def partition_store(
    store: Store,
    spec: PartitionSpec,
    *,
    baseline_plan: int | None = None,
    name: str | None = None,
) -> PartitionOutcome:
    """Partition the store's units into a community plan and store it with its findings.

    Parameters
    ----------
    store
        An open store holding units (``gridplan units``).
    spec
        Band, measure, number, seed, time limit.
    baseline_plan
        Re-district this stored plan with the fewest households moved; the new plan's parent.
    name
        The plan's name (default names the band).

    Raises
    ------
    InputError
        If the store holds no units.
    NotFoundError
        If ``baseline_plan`` is not stored.
    """
    layers = read_check_layers(store)
    units = layers.units
    if units is None:
        raise InputError(
            f"{store.url}: the store holds no units; build them first (gridplan units)"
        )
    baseline = None
    parent_id = None
    names: dict[str, str] = {}
    if baseline_plan is not None:
        base = store.load_plan(baseline_plan)
        if base.assignments.empty:
            raise InputError(
                f"plan {base.plan_id} has no unit assignments (a drawn plan): it cannot be the "
                "baseline of a partition"
            )
        of = dict(
            zip(
                base.assignments["unit_id"].astype(str),
                base.assignments["community_id"],
                strict=True,
            )
        )
        baseline = np.asarray([of.get(u) for u in units["unit_id"].astype(str)], dtype=object)
        parent_id = base.plan_id
        prior = base.areas_at(Level.COMMUNITY)
        names = {
            str(a): str(n)
            for a, n in zip(prior["area_id"], prior["name"], strict=True)
            if isinstance(n, str) and n
        }
    lo, hi = spec.band
    outcome = partition_units(
        units,
        spec,
        roads=layers.roads,
        baseline=baseline,
        name=name or f"communities {lo:g}–{hi:g} {spec.measure}",
        source="partition",
        parent_id=parent_id,
        names=names,
    )
    if outcome.plan is None:
        return outcome
    plan = coded_plan(store, outcome.plan)  # the baseline's codes kept, retired ones not reused
    codes = _codes_by_id(plan)
    out = outcome.units.copy()
    out["community_code"] = [
        None if c is None else codes.get(str(c)) for c in out["community_id"].to_numpy()
    ]
    checked = check_plan(plan, layers)
    plan_id = store.save_plan(plan, checked.findings)
    return PartitionOutcome(outcome.result, out, plan, checked, plan_id, outcome.notes)


def _codes_by_id(plan: Plan) -> dict[str, str]:
    areas = plan.areas_at(Level.COMMUNITY)
    return {str(a): str(c) for a, c in zip(areas["area_id"], areas["code"], strict=True) if c}


def _nodes(
    units: gpd.GeoDataFrame,
    blocks: gpd.GeoDataFrame,
    block_of: np.ndarray | None,
    spec: PartitionSpec,
) -> tuple[gpd.GeoDataFrame, np.ndarray | None, list[str]]:
    """What the partition engine runs on: whole blocks, except blocks above the ceiling,
    which are cut into their cells (unless ``spec.strict``). Returns the nodes (``unit_id``
    = a block or a cell), each unit's node, and a note per cut block."""
    if block_of is None or spec.strict:
        return blocks, block_of, []
    values = pd.to_numeric(blocks[spec.measure], errors="coerce").fillna(0.0)
    big = blocks["unit_id"][values.to_numpy() > spec.band[1]].astype(str)
    if big.empty:
        return blocks, block_of, []
    cut = np.isin(block_of, big.to_numpy())
    kept = blocks[~blocks["unit_id"].astype(str).isin(big)]
    cells = units[cut][["unit_id", "households", "residents", "geometry"]].to_crs(blocks.crs)
    nodes = gpd.GeoDataFrame(
        pd.concat([kept, cells], ignore_index=True), geometry="geometry", crs=blocks.crs
    )
    node_of = np.where(cut, units["unit_id"].astype(str).to_numpy(dtype=object), block_of)
    notes = []
    for b in big:
        n_cells = int((block_of[cut] == b).sum())
        total = float(values[blocks["unit_id"].astype(str) == b].iloc[0])
        notes.append(
            f"block {b} holds {total:,.0f} {spec.measure}, above the ceiling "
            f"{spec.band[1]:,.0f}: cut along its {n_cells} cells (buildings), not along roads"
        )
    return nodes, node_of, notes


def _with_alone(
    result: PartitionResult, alone: gpd.GeoDataFrame, spec: PartitionSpec
) -> tuple[PartitionResult, list[str], list[str]]:
    """The engine's result with each node above the ceiling as a community of its own."""
    values = pd.to_numeric(alone[spec.measure], errors="coerce").fillna(0.0).to_numpy()
    names = [f"X{i + 1}" for i in range(len(alone))]
    notes = [
        f"{u} alone holds {v:,.0f} {spec.measure}, above the ceiling {spec.band[1]:,.0f}, "
        f"and cannot be cut: community {n} of its own"
        for u, v, n in zip(alone["unit_id"].astype(str), values, names, strict=True)
    ]
    combined = replace(
        result,
        names=(*result.names, *names),
        totals=np.concatenate([result.totals, values]),
        units=np.concatenate([result.units, np.ones(len(alone), dtype=np.int64)]),
        road_share=np.concatenate([result.road_share, np.full(len(alone), np.nan)]),
    )
    return combined, names, notes


def community_codes(communities: gpd.GeoDataFrame, digits: int = 3) -> dict[str, str]:
    """Sequence codes ``001``, ``002``, … by area id, west to east then north to south.

    Examples
    --------
    Three communities: two in the north row, one south::

        +---+---+
        | b | a |
        +---+---+
        |   c   |
        +-------+

    >>> import geopandas as gpd
    >>> from shapely import box
    >>> areas = gpd.GeoDataFrame({"area_id": ["a", "b", "c"]},
    ...     geometry=[box(10, 10, 20, 20), box(0, 10, 10, 20), box(0, 0, 20, 10)], crs=32650)
    >>> community_codes(areas)
    {'b': '001', 'a': '002', 'c': '003'}
    """
    if communities.empty:
        return {}
    metric = communities.to_crs(metric_crs(communities, "communities"))
    centroids = np.column_stack([metric.geometry.centroid.x, metric.geometry.centroid.y])
    order = reading_order(centroids, areas=metric.geometry.area.to_numpy())
    ids = communities["area_id"].astype(str).to_numpy()
    return {str(ids[i]): f"{rank + 1:0{digits}d}" for rank, i in enumerate(order)}


__all__ = [
    "PartitionOutcome",
    "PartitionSpec",
    "community_codes",
    "partition_store",
    "partition_units",
    "road_blocks",
]
