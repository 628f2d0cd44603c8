"""Run a scenario's steps on a base assignment and build the new plan (pure: no store).

Each step changes the community (and grid) of units; a step that cannot be carried out raises
:class:`~gridplan.errors.ScenarioError` naming the step, its action and the reason, before
anything is stored. Communities are named in steps by id or by name. The new plan is then
checked against the rules with its own targets
(:func:`gridplan.geo.rules.check_plan_levels`), so the caller stores it with its findings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely
from pyproj import CRS

from gridplan.data.crs import metric_crs
from gridplan.errors import GridplanError, InputError, ScenarioError
from gridplan.geo.adjacency import build_unit_graph
from gridplan.geo.cells import road_blocks
from gridplan.geo.codes import CodeHistory, code_plan
from gridplan.geo.graph import UnitGraph
from gridplan.geo.partition import PartitionConfig, partition_graph
from gridplan.geo.plans import plan_from_units
from gridplan.geo.rules import CheckReport
from gridplan.geo.rules.levels import CheckLayers, check_plan_levels, plan_findings
from gridplan.geo.scenario.model import (
    AssignCompound,
    Create,
    Merge,
    MoveUnits,
    Redistrict,
    Regrid,
    Scenario,
    Split,
)
from gridplan.geo.scenario.report import community_table, exterior_lengths, moves_table
from gridplan.plan import Plan

ObjArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class ScenarioBase:
    """The plan a scenario starts from.

    Parameters
    ----------
    units
        Unit polygons with ``unit_id``, ``households``, ``residents`` (any CRS).
    communities
        Community id of each unit (``None``: unassigned).
    grids
        Grid id of each unit, or ``None`` for a plan without grids.
    roads
        Road centrelines with ``road_class`` (optional: cuts prefer roads).
    compounds
        Compounds with ``compound_id`` and ``name`` (optional: needed to name compounds).
    parent_id
        The stored plan this base is (the new plan's parent).
    names, codes
        Community names and codes by id.
    checks
        The layers the new plan is checked against; ``None``: the base's own ``units``,
        ``roads`` and ``compounds``. A stored base passes the store's layers, the ones
        ``GET /plans/{id}/checks`` uses.
    plan
        The stored base plan: the new plan keeps its codes (:func:`~gridplan.geo.codes.code_plan`);
        ``None``: the base's ``codes`` are kept for the communities whose id survives.
    history
        Every code the store gave (never reused for other households).
    """

    units: gpd.GeoDataFrame
    communities: ObjArray
    grids: ObjArray | None = None
    roads: gpd.GeoDataFrame | None = None
    compounds: gpd.GeoDataFrame | None = None
    parent_id: int | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    codes: Mapping[str, str] = field(default_factory=dict)
    checks: CheckLayers | None = None
    plan: Plan | None = None
    history: CodeHistory | None = None

    def check_layers(self) -> CheckLayers:
        """The layers the new plan is checked against (see ``checks``)."""
        if self.checks is not None:
            return self.checks
        return CheckLayers(roads=self.roads, compounds=self.compounds, units=self.units)


@dataclass(frozen=True)
class StepLog:
    """What one step did."""

    step: int
    action: str
    summary: str
    households_moved: float


@dataclass(frozen=True)
class ScenarioResult:
    """A scenario's outcome: the new plan (not yet stored) and the report.

    Attributes
    ----------
    plan
        The new plan (``parent_id`` = the base's).
    before, after
        Per-community metrics (:data:`~gridplan.geo.scenario.report.COMMUNITY_COLUMNS`).
    moved
        Households and units per ``(from, to)`` community pair.
    compounds_moved
        Compounds whose community changed: ``compound``, ``from``, ``to``, ``households``.
    steps
        One log entry per step.
    checks
        The check report of each level of the new plan (its own targets).
    findings
        The findings of every level, as stored (:func:`plan_findings`): store them with the
        plan, ``store.save_plan(result.plan, result.findings)``.
    """

    plan: Plan
    before: pd.DataFrame
    after: pd.DataFrame
    moved: pd.DataFrame
    compounds_moved: pd.DataFrame
    steps: tuple[StepLog, ...]
    checks: Mapping[str, CheckReport]
    findings: gpd.GeoDataFrame


class _StepFailedError(Exception):
    """A step's reason for failing (turned into a ScenarioError with the step number)."""


def run_scenario(
    scenario: Scenario,
    base: ScenarioBase,
    *,
    progress: Callable[[int, str], None] | None = None,
) -> ScenarioResult:
    """Apply the scenario's steps in order and build the new plan.

    Parameters
    ----------
    scenario
        The parsed scenario (:func:`~gridplan.geo.scenario.model.load_scenario`).
    base
        The base plan's units and assignment.
    progress
        Called with ``(step number, action)`` before each step.

    Raises
    ------
    ScenarioError
        When a step fails (unknown compound or community, no plan in the band, ...).
    InputError
        When the check of the new plan cannot run (e.g. a check layer is malformed).
    """
    return _Runner(scenario, base).run(progress)


class _Runner:
    def __init__(self, scenario: Scenario, base: ScenarioBase) -> None:
        if len(base.communities) != len(base.units):
            raise InputError("the base assignment needs one community per unit")
        self.sc = scenario
        self.base = base
        crs: CRS = metric_crs(base.units, "units")
        self.units = base.units.to_crs(crs).reset_index(drop=True)
        self.graph: UnitGraph = build_unit_graph(self.units, base.roads, crs=crs)
        self.exterior = exterior_lengths(self.units, self.graph)
        # units that are cells (one per building) re-district as whole road blocks, so the
        # communities a scenario draws follow roads like those partition draws
        blocks, block_of = road_blocks(self.units)
        self.block_of: npt.NDArray[np.int64] | None = None
        if block_of is not None:
            index = {str(b): i for i, b in enumerate(blocks["unit_id"])}
            self.block_of = np.asarray([index[str(b)] for b in block_of], dtype=np.int64)
            self.block_graph = build_unit_graph(blocks, base.roads, crs=crs)
        self.community: ObjArray = _texts(base.communities)
        self.grid: ObjArray = (
            _texts(base.grids)
            if base.grids is not None
            else np.full(len(self.units), None, dtype=object)
        )
        self.has_grids = base.grids is not None
        self.names: dict[str, str] = {str(k): str(v) for k, v in base.names.items()}
        self.codes: dict[str, str] = {str(k): str(v) for k, v in base.codes.items()}
        self.unit_index = {str(u): i for i, u in enumerate(self.units["unit_id"])}
        self.compounds = (
            base.compounds.to_crs(crs).reset_index(drop=True)
            if base.compounds is not None and len(base.compounds)
            else None
        )
        self.reps = shapely.point_on_surface(np.asarray(self.units.geometry.values))
        self.tree = shapely.STRtree(np.asarray(self.units.geometry.values))
        self.regridded: set[str] = set()
        self.fixed_codes: dict[str, str] = {}

    # -- names -----------------------------------------------------------------------
    def ids(self) -> set[str]:
        return {c for c in self.community if c is not None}

    def resolve(self, ref: str) -> str:
        """A community id from an id or a name."""
        ids = self.ids()
        if ref in ids:
            return ref
        by_name = sorted(c for c in ids if self.names.get(c) == ref)
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1:
            raise _StepFailedError(
                f"community name {ref!r} is ambiguous (ids {', '.join(by_name)})"
            )
        known = ", ".join(sorted(self.names.get(c, c) for c in ids)[:12])
        raise _StepFailedError(f"no community {ref!r} (communities: {known})")

    def resolve_or_new(self, ref: str) -> str:
        try:
            return self.resolve(ref)
        except _StepFailedError:
            return ref

    # -- run -------------------------------------------------------------------------
    def run(self, progress: Callable[[int, str], None] | None) -> ScenarioResult:
        band = self.sc.band("community")
        start = self.community.copy()
        names_before = dict(self.names)
        before = community_table(self.graph, start, self.exterior, band, names_before)
        logs: list[StepLog] = []
        for number, step in enumerate(self.sc.steps, start=1):
            if progress is not None:
                progress(number, step.action)
            prior = self.community.copy()
            try:
                summary = self.apply(step)
            except _StepFailedError as exc:
                raise ScenarioError(number, step.action, str(exc)) from exc
            except ScenarioError:
                raise
            except GridplanError as exc:
                raise ScenarioError(number, step.action, str(exc)) from exc
            step_moved = float(self.graph.households[_changed(prior, self.community)].sum())
            logs.append(StepLog(number, step.action, summary, step_moved))
        self._clear_broken_grids()
        after = community_table(self.graph, self.community, self.exterior, band, self.names)
        moved = moves_table(self.graph, start, self.community)
        compounds = self._compounds_moved(start)
        metrics = {
            "communities": len(after),
            "in_band": int((after["band"] == "ok").sum()),
            "households_moved": float(self.graph.households[_changed(start, self.community)].sum()),
            "steps": [s.summary for s in logs],
        }
        plan = plan_from_units(
            self.units,
            self.community,
            self.grid if (self.has_grids or self.regridded) else None,
            name=self.sc.name,
            targets=self.sc.targets.model_dump(mode="json", exclude_none=True),
            metrics=metrics,
            source=f"scenario:{self.sc.name}",
            parent_id=self.base.parent_id,
            community_names={c: self.names.get(c, c) for c in self.ids()},
            community_codes={c: self.codes[c] for c in self.ids() if c in self.codes},
        )
        plan = self._coded(plan, start)
        checks = check_plan_levels(plan, self.base.check_layers())
        return ScenarioResult(
            plan, before, after, moved, compounds, tuple(logs), checks, plan_findings(checks)
        )

    def _coded(self, plan: Plan, start: ObjArray) -> Plan:
        """The plan with its base's codes kept (:func:`~gridplan.geo.codes.code_plan`) and
        ``households_moved`` counting only households whose community code changed (a
        community only renamed moves nobody)."""
        households = dict(
            zip(self.units["unit_id"].astype(str), self.graph.households.tolist(), strict=True)
        )
        base_plan = self.base.plan
        if base_plan is None:  # a base from files: its codes by community id
            base_plan = plan_from_units(
                self.units,
                start,
                name="base",
                community_codes={str(k): str(v) for k, v in self.base.codes.items()},
            )
        coded = code_plan(
            plan,
            base_plan,
            history=self.base.history,
            households=households,
            fixed=self.fixed_codes,
        )
        before = {str(k): str(v) for k, v in self.base.codes.items()}
        if self.base.plan is not None:
            before = _codes_of(self.base.plan)
        after = _codes_of(coded)
        was = np.array([before.get(str(c), f"id:{c}") if c else None for c in start], dtype=object)
        now = np.array(
            [after.get(str(c), f"id:{c}") if c else None for c in self.community], dtype=object
        )
        moved = float(self.graph.households[_changed(was, now)].sum())
        return replace(coded, metrics={**dict(coded.metrics), "households_moved": moved})

    def apply(self, step: object) -> str:
        if isinstance(step, AssignCompound):
            return self._assign(step)
        if isinstance(step, MoveUnits):
            return self._move(step)
        if isinstance(step, Merge):
            return self._merge(step)
        if isinstance(step, Split):
            return self._split(step)
        if isinstance(step, Create):
            return self._create(step)
        if isinstance(step, Redistrict):
            return self._redistrict(step)
        if isinstance(step, Regrid):
            return self._regrid(step)
        raise _StepFailedError(f"unknown step {step!r}")

    # -- steps -----------------------------------------------------------------------
    def _assign(self, step: AssignCompound) -> str:
        target = self.resolve(step.community)
        nodes = np.unique(np.concatenate([self._compound_units(n) for n in step.names()]))
        self.community[nodes] = target
        return f"{', '.join(step.names())} → {self.names.get(target, target)} ({len(nodes)} units)"

    def _move(self, step: MoveUnits) -> str:
        target = self.resolve(step.community)
        missing = [u for u in step.units if u not in self.unit_index]
        if missing:
            raise _StepFailedError(f"no unit(s) {', '.join(missing[:5])}")
        nodes = np.array([self.unit_index[u] for u in step.units], dtype=np.int64)
        self.community[nodes] = target
        return f"{len(nodes)} units → {self.names.get(target, target)}"

    def _merge(self, step: Merge) -> str:
        ids = [self.resolve(c) for c in step.communities]
        into = self.resolve_or_new(step.into) if step.into else ids[0]
        if into not in ids and into in self.ids():
            raise _StepFailedError(f"merge target {step.into!r} is another existing community")
        mask = np.isin(self.community, ids)
        self.community[mask] = into
        if step.into and into not in self.names:
            self.names[into] = step.into
        return f"{', '.join(self.names.get(i, i) for i in ids)} → {self.names.get(into, into)}"

    def _split(self, step: Split) -> str:
        cid = self.resolve(step.community)
        parts = step.parts or (len(step.into) if step.into else 2)
        new = list(step.into or [])
        if len(new) not in (0, parts):
            raise _StepFailedError(f"into names {len(new)} communities but parts is {parts}")
        nodes = np.flatnonzero(self.community == cid)
        measure, lo, hi = self.sc.band("community")
        on_blocks = self._blocks_of(nodes, hi, measure)
        graph = on_blocks[0] if on_blocks is not None else self.graph.subgraph(nodes)
        result = partition_graph(graph, lo, hi, measure=measure, k=parts, seed=self.sc.seed)
        if not result.valid:
            raise _StepFailedError(
                f"cannot split {self.names.get(cid, cid)} into {parts}: {result.reason}"
            )
        part_of = np.asarray(result.labels)
        if on_blocks is not None:
            part_of = np.asarray(self._on_blocks(nodes, on_blocks[1], part_of.astype(object)))
        # The part with the most units' households keeps the id unless names are given.
        order = np.argsort(-result.totals, kind="stable")
        labels = new if new else [cid] + [self._fresh(f"{cid}-{i}") for i in range(2, parts + 1)]
        for rank, d in enumerate(order):
            self.community[nodes[part_of == d]] = labels[rank]
        for name in labels:
            self.names.setdefault(name, name)
        return f"{self.names.get(cid, cid)} → {', '.join(labels)}"

    def _create(self, step: Create) -> str:
        if step.name in self.ids() or step.name in self.names.values():
            raise _StepFailedError(f"community {step.name!r} already exists")
        picked: list[npt.NDArray[np.int64]] = []
        if step.area is not None:
            picked.append(self._area_units(step))
        for name in step.compounds or []:
            picked.append(self._compound_units(name))
        if step.units:
            missing = [u for u in step.units if u not in self.unit_index]
            if missing:
                raise _StepFailedError(f"no unit(s) {', '.join(missing[:5])}")
            picked.append(np.array([self.unit_index[u] for u in step.units], dtype=np.int64))
        nodes = np.unique(np.concatenate(picked))
        if len(nodes) == 0:
            raise _StepFailedError("the area holds no units")
        self.community[nodes] = step.name
        self.names[step.name] = step.name
        if step.code:
            self.codes[step.name] = step.code
            self.fixed_codes[step.name] = step.code
        hh = float(self.graph.households[nodes].sum())
        return f"new community {step.name}: {len(nodes)} units, {hh:,.0f} households"

    def _blocks_of(
        self, nodes: npt.NDArray[np.int64], hi: float, measure: str
    ) -> tuple[UnitGraph, npt.NDArray[np.int64]] | None:
        """The block subgraph for ``nodes`` (cells) when they are whole blocks, none of them
        above ``hi``; ``None``: work on the cells themselves."""
        if self.block_of is None:
            return None
        blocks = np.unique(self.block_of[nodes])
        whole = np.isin(self.block_of, blocks)
        if whole.sum() != len(nodes):  # a block only partly in scope
            return None
        sub = self.block_graph.subgraph(blocks)
        values = sub.households if measure == "households" else sub.residents
        if (np.asarray(values) > hi).any():
            return None
        return sub, blocks

    def _on_blocks(
        self, nodes: npt.NDArray[np.int64], blocks: npt.NDArray[np.int64], labels: ObjArray
    ) -> ObjArray:
        """Block labels spread to the cells in ``nodes``."""
        position = {int(b): i for i, b in enumerate(blocks)}
        assert self.block_of is not None
        return np.asarray([labels[position[int(self.block_of[n])]] for n in nodes], dtype=object)

    def _block_baseline(
        self, nodes: npt.NDArray[np.int64], blocks: npt.NDArray[np.int64]
    ) -> ObjArray:
        """Each block's community: the one holding most of its cells' households."""
        assert self.block_of is not None
        out = np.full(len(blocks), None, dtype=object)
        for i, b in enumerate(blocks):
            mine = nodes[self.block_of[nodes] == b]
            out[i] = _majority(self.community[mine], self.graph.households[mine])
        return out

    def _redistrict(self, step: Redistrict) -> str:
        scope = (
            sorted(self.ids())
            if step.communities == "all"
            else [self.resolve(c) for c in step.communities]
        )
        nodes = np.flatnonzero(np.isin(self.community, scope))
        if len(nodes) == 0:
            raise _StepFailedError("no units in the communities to redistrict")
        measure, lo, hi = self.sc.band("community")
        use_base = step.keep_names or step.minimal_change
        config = PartitionConfig() if step.minimal_change else PartitionConfig(moved_weight=0.0)
        on_blocks = self._blocks_of(nodes, hi, measure)
        graph, baseline = self.graph.subgraph(nodes), self.community[nodes]
        if on_blocks is not None:
            graph, blocks = on_blocks
            baseline = self._block_baseline(nodes, blocks)
        result = partition_graph(
            graph,
            lo,
            hi,
            measure=measure,
            k=step.k,
            seed=self.sc.seed,
            time_limit=step.time_limit,
            baseline=baseline if use_base else None,
            config=config,
        )
        if not result.valid:
            raise _StepFailedError(f"no plan in [{lo:,.0f}, {hi:,.0f}] {measure}: {result.reason}")
        names = list(result.names)
        if not use_base:
            names = [self._fresh(f"C{n}") for n in names]
        else:
            names = [n if not n.startswith("new-") else self._fresh(n) for n in names]
        labels: ObjArray = np.asarray(result.labels, dtype=object)
        if on_blocks is not None:
            labels = self._on_blocks(nodes, on_blocks[1], labels)
        for i, nm in enumerate(names):
            self.community[nodes[labels == i]] = nm
            self.names.setdefault(nm, nm)
        moved = result.households_moved
        extra = f", {moved:,.0f} households moved" if moved is not None else ""
        return f"{len(scope)} communities → {result.k} in band{extra}"

    def _regrid(self, step: Regrid) -> str:
        """Grids by :func:`gridplan.geo.grids.divide_into_grids` (nothing forced: a unit above
        the ceiling becomes a grid of its own, and the summary says which communities have
        grids out of band and why; compounds under the ceiling stay whole, as in
        ``gridplan grids``).

        A community whose units did not change and whose base grids all lie inside it and in
        the grid band keeps them (minimal change: its grids, and so their codes, last)."""
        from gridplan.geo.grids import GridParams, divide_into_grids
        from gridplan.geo.plans import dissolve_units

        scope = (
            sorted(self.ids())
            if step.communities == "all"
            else [self.resolve(c) for c in step.communities]
        )
        measure, lo, hi = self.sc.band("grid")
        kept = [c for c in scope if self._grids_last(c, measure, lo, hi)]
        scope_new = [c for c in scope if c not in kept]
        self.regridded.update(kept)
        if not scope_new:
            if not kept:
                raise _StepFailedError("no units in the communities to grid")
            return f"{len(scope)} communities: all {len(kept)} unchanged keep their grids"
        nodes = np.flatnonzero(np.isin(self.community, scope_new))
        if len(nodes) == 0:
            raise _StepFailedError("no units in the communities to grid")
        sub = self.units.iloc[nodes].assign(area_id=self.community[nodes])
        areas = dissolve_units(sub, self.community[nodes])
        if step.time_limit is not None:
            params = GridParams(lo, hi, seed=self.sc.seed, time_limit=step.time_limit)
        else:
            params = GridParams(lo, hi, seed=self.sc.seed)
        result = divide_into_grids(
            sub,
            areas,
            params=params,
            roads=self.base.roads,
            households_column=measure,
            compounds=self.base.compounds,
        )
        grid_of = dict(
            zip(
                result.assignments["unit_id"].astype(str),
                result.assignments["grid_id"].astype(str),
                strict=True,
            )
        )
        ids = self.units["unit_id"].astype(str).to_numpy(dtype=object)
        self.grid[nodes] = np.array([grid_of.get(u) for u in ids[nodes]], dtype=object)
        self.regridded.update(scope_new)
        bad = result.communities[~result.communities["valid"].astype(bool)]
        out = f"{len(scope_new)} communities → {len(result.grids)} grids"
        if kept:
            out += f"; {len(kept)} unchanged keep their grids"
        if len(bad):
            why = "; ".join(
                f"{self.names.get(str(a), str(a))}: {e}"
                for a, e in zip(bad["area_id"], bad["explanation"], strict=True)
            )
            out += f" ({len(bad)} with grids out of band — {why})"
        return out

    def _grids_last(self, community: str, measure: str, lo: float, hi: float) -> bool:
        """Whether ``community`` holds exactly the units of one base community and keeps its
        base grids: every unit gridded, every grid inside it and in ``[lo, hi]``."""
        if self.base.grids is None:
            return False
        nodes = np.flatnonzero(self.community == community)
        start = _texts(self.base.communities)
        grids = _texts(self.base.grids)
        owners = {start[i] for i in nodes}
        if len(nodes) == 0 or len(owners) != 1 or None in owners:
            return False
        owner = owners.pop()
        if set(np.flatnonzero(start == owner).tolist()) != set(nodes.tolist()):
            return False
        mine = grids[nodes]
        if any(g is None for g in mine):
            return False
        inside = np.isin(grids, np.unique(mine.astype(str)))
        if set(np.flatnonzero(inside).tolist()) != set(nodes.tolist()):
            return False  # a grid reaches outside the community
        values = self.graph.households if measure == "households" else self.graph.residents
        totals = pd.Series(np.asarray(values)[nodes]).groupby(mine).sum()
        eps = 1e-9 * max(1.0, hi)
        if ((totals < lo - eps) | (totals > hi + eps)).any():
            return False
        self.grid[nodes] = mine
        return True

    # -- helpers ---------------------------------------------------------------------
    def _fresh(self, name: str) -> str:
        taken = self.ids() | set(self.names.values())
        if name not in taken:
            return name
        i = 2
        while f"{name}-{i}" in taken:
            i += 1
        return f"{name}-{i}"

    def _compound_units(self, ref: str) -> npt.NDArray[np.int64]:
        if self.compounds is None:
            raise _StepFailedError(f"compound {ref!r}: the base has no compounds layer")
        comp = self.compounds
        hit = np.array(comp["compound_id"].astype(str) == ref, dtype=bool)
        if "name" in comp.columns:
            hit = hit | np.array(comp["name"].astype(str) == ref, dtype=bool)
        if not hit.any():
            raise _StepFailedError(f"no compound {ref!r} (by id or name)")
        nodes: list[int] = []
        for geom in comp.geometry.values[hit]:
            inside = self.tree.query(geom, predicate="intersects")
            if shapely.get_type_id(geom) in (3, 6):
                inside = inside[shapely.contains(geom, self.reps[inside])]
            anchor = shapely.point_on_surface(geom)
            holder = self.tree.query(anchor, predicate="intersects")
            nodes.extend(int(x) for x in inside)
            nodes.extend(int(x) for x in holder)
        if not nodes:
            raise _StepFailedError(f"compound {ref!r} lies in no unit")
        return np.unique(np.array(nodes, dtype=np.int64))

    def _area_units(self, step: Create) -> npt.NDArray[np.int64]:
        spec = step.area
        assert spec is not None
        if spec.bbox is not None:
            geom = shapely.box(*spec.bbox)
        else:
            try:
                geom = shapely.from_wkt(spec.wkt)
            except shapely.errors.GEOSException as exc:
                raise _StepFailedError(f"area wkt is not valid WKT ({exc})") from exc
        try:
            crs = pyproj.CRS.from_user_input(spec.crs)
        except pyproj.exceptions.CRSError as exc:
            raise _StepFailedError(f"area crs {spec.crs!r} is not a known CRS ({exc})") from exc
        try:
            area = gpd.GeoSeries([geom], crs=crs).to_crs(self.units.crs).iloc[0]
        except pyproj.exceptions.ProjError as exc:
            raise _StepFailedError(f"the area cannot be placed from {spec.crs} ({exc})") from exc
        if area is None or area.is_empty or not np.isfinite(shapely.get_coordinates(area)).all():
            raise _StepFailedError(f"the area lies outside where {spec.crs} can be placed")
        cand = self.tree.query(area, predicate="intersects")
        return np.asarray(cand[shapely.contains(area, self.reps[cand])], dtype=np.int64)

    def _clear_broken_grids(self) -> None:
        """Units whose grid now spans communities lose it (unless regridded)."""
        frame = pd.DataFrame(
            {
                "grid": pd.Series(self.grid, dtype=object),
                "community": pd.Series(self.community, dtype=object).fillna("\0none"),
            }
        )
        frame = frame[frame["grid"].notna()]
        if frame.empty:
            return
        major = frame.groupby("grid")["community"].agg(lambda s: str(s.value_counts().index[0]))
        bad = frame["community"].to_numpy() != major.reindex(frame["grid"]).to_numpy()
        clear: ObjArray = self.grid.copy()
        clear[frame.index.to_numpy()[bad]] = None
        self.grid = clear

    def _compounds_moved(self, start: ObjArray) -> pd.DataFrame:
        cols = ["compound", "from", "to", "households"]
        if self.compounds is None:
            return pd.DataFrame(columns=cols)
        rows = []
        comp = self.compounds
        for i in range(len(comp)):
            ref = str(comp["compound_id"].iloc[i])
            try:
                nodes = self._compound_units(ref)
            except _StepFailedError:
                continue
            a = _majority(start[nodes], self.graph.households[nodes])
            b = _majority(self.community[nodes], self.graph.households[nodes])
            if a != b:
                hh = comp["households"].iloc[i] if "households" in comp.columns else None
                if hh is None or pd.isna(hh):
                    hh = float(self.graph.households[nodes].sum())
                name = comp["name"].iloc[i] if "name" in comp.columns else None
                rows.append([str(name) if name else ref, a, b, float(hh)])
        return pd.DataFrame(rows, columns=cols)


def _codes_of(plan: Plan) -> dict[str, str]:
    areas = plan.areas_at("community")
    return {
        str(a): str(c)
        for a, c in zip(areas["area_id"], areas["code"], strict=True)
        if c is not None and not pd.isna(c)
    }


def _texts(values: npt.ArrayLike) -> ObjArray:
    """Values as strings, missing ones as ``None`` (object array)."""
    out = [None if pd.isna(v) else str(v) for v in np.asarray(values, dtype=object).tolist()]
    return np.array(out, dtype=object)


def _majority(labels: ObjArray, weights: npt.NDArray[np.float64]) -> str | None:
    frame = pd.DataFrame({"l": labels, "w": weights + 1e-9}).dropna()
    if frame.empty:
        return None
    return str(frame.groupby("l")["w"].sum().idxmax())


def _changed(a: ObjArray, b: ObjArray) -> npt.NDArray[np.bool_]:
    return np.array([x != y for x, y in zip(a, b, strict=True)], dtype=bool)
