"""Divide a plan's communities into coded grids: from files, or a stored plan's child.

The one grids use case behind ``gridplan grids`` (files or ``--db``) and the demo. On the
store, the grids of a community plan make a child plan (parent = the community plan) that
keeps the communities, their names and codes, adds the grid band to the targets, and is
checked against the store's layers and stored with its findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np

from gridplan.data.store.base import Store
from gridplan.errors import InputError
from gridplan.geo.codes import CodeScheme
from gridplan.geo.grids import GridParams, GridsResult, divide_into_grids, grid_ways
from gridplan.geo.plans import area_texts, plan_from_units
from gridplan.ops.checks import PlanCheck, check_plan
from gridplan.ops.codes import coded_plan
from gridplan.ops.files import written_band
from gridplan.ops.layers import read_check_layers
from gridplan.plan import Level, Plan


@dataclass(frozen=True)
class GridOutcome:
    """Grids of every community and the plan holding them.

    Attributes
    ----------
    result
        The grids, assignments and per-community validity
        (:class:`~gridplan.geo.grids.GridsResult`).
    plan
        Communities and grids as one plan.
    check
        The plan's check (store runs; file runs check when asked).
    plan_id
        The stored plan's id (store runs only).
    """

    result: GridsResult
    plan: Plan
    check: PlanCheck | None = None
    plan_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"band", "grids", "in_band", "communities": [{area_id, code, households, grids,
        valid, explanation}], "grid_list": [{grid_code, area_id, households, in_band, note}],
        "unplaced_units", "plan_id", "parent_id", "findings"}``."""
        result = self.result
        grids = result.grids
        communities = result.communities
        codes = self.plan.areas_at(Level.COMMUNITY).set_index("area_id")["code"]
        return {
            "band": list(result.band),
            "grids": len(grids),
            "in_band": int(grids["in_band"].sum()),
            "communities": [
                {
                    "area_id": area_id,
                    "code": _text(codes.get(area_id)),
                    "households": float(households),
                    "grids": int(n_grids),
                    "valid": bool(valid),
                    "explanation": _text(explanation),
                }
                for area_id, households, n_grids, valid, explanation in zip(
                    communities["area_id"],
                    communities["households"],
                    communities["grids"],
                    communities["valid"],
                    communities["explanation"],
                    strict=True,
                )
            ],
            "grid_list": [
                {
                    "grid_code": r.grid_code,
                    "area_id": r.area_id,
                    "households": float(r.households),
                    "in_band": bool(r.in_band),
                    "note": _text(r.note),
                }
                for r in grids.itertuples(index=False)
            ],
            "unplaced_units": result.unplaced_units,
            "plan_id": self.plan_id,
            "parent_id": self.plan.parent_id,
            "findings": self.check.by_rule() if self.check is not None else {},
        }


def grid_areas(
    units: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    params: GridParams,
    *,
    scheme: CodeScheme | None = None,
    roads: gpd.GeoDataFrame | None = None,
    name: str = "grids",
    source: str = "grids",
    progress: Callable[[str], None] | None = None,
    compounds: gpd.GeoDataFrame | None = None,
) -> GridOutcome:
    """Divide community polygons (a normalised ``areas`` layer) into grids of units; a
    compound under the grid ceiling stays in one grid."""
    result = divide_into_grids(
        units,
        communities,
        params=params,
        scheme=scheme,
        roads=roads,
        progress=progress,
        compounds=compounds,
    )
    plan = result.to_plan(communities, name=name, source=source)
    band = written_band(communities, Level.COMMUNITY)
    if band is not None:  # communities gridplan wrote carry the band they were planned in
        plan = replace(plan, targets={**dict(plan.targets), **band})
    return GridOutcome(result, plan)


def grid_store(
    store: Store,
    params: GridParams,
    *,
    plan_id: int | None = None,
    scheme: CodeScheme | None = None,
    name: str | None = None,
    progress: Callable[[str], None] | None = None,
    follow_paths: bool = True,
) -> GridOutcome:
    """Divide the communities of a stored plan (default: the latest) into grids and store the
    result as its child plan, with its findings.

    Grid cuts prefer roads, then (``follow_paths``) the store's lanes, service ways and
    footways (:func:`gridplan.geo.grids.grid_ways`), then compound edges.

    Raises
    ------
    NotFoundError
        If there is no such plan.
    InputError
        If the plan has no communities or the store holds no units.
    """
    parent = store.load_plan(plan_id)
    communities = parent.areas_at(Level.COMMUNITY)
    if communities.empty:
        raise InputError(f"plan {parent.plan_id} has no communities to divide into grids")
    layers = read_check_layers(store)
    units = layers.units
    if units is None:
        raise InputError(
            f"{store.url}: the store holds no units; build them first (gridplan units)"
        )
    if len(parent.assignments):
        of = dict(
            zip(
                parent.assignments["unit_id"].astype(str),
                parent.assignments["community_id"],
                strict=True,
            )
        )
        units = units.assign(
            area_id=np.asarray([of.get(u) for u in units["unit_id"].astype(str)], dtype=object)
        )
    ways = grid_ways(layers.roads, layers.paths if follow_paths else None)
    result = divide_into_grids(
        units,
        communities,
        params=params,
        scheme=scheme,
        roads=ways,
        progress=progress,
        compounds=layers.compounds,
    )
    title = name or f"{parent.name}: grids {params.lo:g}–{params.hi:g}"
    targets = {
        **dict(parent.targets),
        Level.GRID.value: {"households": [float(params.lo), float(params.hi)]},
    }
    metrics = {
        "grids": len(result.grids),
        "grids_in_band": int(result.grids["in_band"].sum()),
        "communities_valid": int(result.communities["valid"].sum()),
        "seed": params.seed,
    }
    if len(parent.assignments):
        grid_of = dict(
            zip(result.assignments["unit_id"], result.assignments["grid_id"], strict=True)
        )
        ids = units["unit_id"].astype(str)
        community_of = units["area_id"].to_numpy(dtype=object)
        areas = parent.areas_at(Level.COMMUNITY)
        plan = plan_from_units(
            units,
            community_of,
            [grid_of.get(u) for u in ids],
            name=title,
            targets=targets,
            metrics=metrics,
            source="grids",
            parent_id=parent.plan_id,
            community_names=area_texts(areas, "name"),
            community_codes=area_texts(areas, "code"),
            grid_codes={g: g for g in result.grids["grid_code"]},
        )
    else:
        plan = result.to_plan(communities, name=title, source="grids", parent_id=parent.plan_id)
        plan = Plan(
            name=plan.name,
            assignments=plan.assignments,
            areas=plan.areas,
            targets=targets,
            metrics=metrics,
            parent_id=parent.plan_id,
            source="grids",
        )
    plan = coded_plan(store, plan, parent=parent, scheme=scheme)
    checked = check_plan(plan, layers)
    new_id = store.save_plan(plan, checked.findings)
    return GridOutcome(_recoded(result, plan), plan, checked, new_id)


def _recoded(result: GridsResult, plan: Plan) -> GridsResult:
    """``result`` with the grid codes the plan was given (:func:`~gridplan.ops.codes.coded_plan`
    keeps a parent's code where the engine numbered a grid afresh)."""
    if result.assignments.empty or plan.assignments.empty:
        return result
    final = dict(
        zip(plan.assignments["unit_id"].astype(str), plan.assignments["grid_id"], strict=True)
    )
    code_of: dict[str, str] = {}
    for unit, grid in zip(
        result.assignments["unit_id"].astype(str), result.assignments["grid_id"], strict=True
    ):
        if grid is not None and final.get(unit) is not None:
            code_of.setdefault(str(grid), str(final[unit]))
    grids = result.grids.copy()
    grids["grid_code"] = [code_of.get(str(g), str(g)) for g in grids["grid_code"]]
    assignments = result.assignments.copy()
    assignments["grid_id"] = [
        None if g is None else code_of.get(str(g), str(g)) for g in assignments["grid_id"]
    ]
    return replace(result, grids=grids, assignments=assignments)


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


__all__ = ["GridOutcome", "grid_areas", "grid_store"]
