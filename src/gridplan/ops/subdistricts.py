"""Put a stored plan's communities into subdistricts (街道): from subdistrict polygons (e.g. a
ward layer) or drawn by the partition engine on the community graph (a band per level), as
a child plan with ``subdistrict`` areas, 12-digit community and 15-digit grid codes, checked
and stored with its findings (``gridplan subdistricts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan.data.store.base import Store
from gridplan.errors import InputError
from gridplan.geo.adjacency import build_unit_graph
from gridplan.geo.codes import CodeScheme, infer_scheme
from gridplan.geo.hierarchy import subdistricts_by_location, with_subdistricts
from gridplan.geo.partition import partition_graph
from gridplan.ops.checks import PlanCheck, check_plan
from gridplan.ops.codes import coded_plan
from gridplan.ops.layers import read_check_layers
from gridplan.plan import Level, Plan


@dataclass(frozen=True)
class SubdistrictOutcome:
    """The child plan with subdistricts and its check.

    Attributes
    ----------
    plan
        The stored plan.
    plan_id
        Its id.
    check
        Its check (findings stored with it).
    """

    plan: Plan
    plan_id: int
    check: PlanCheck

    def to_json(self) -> dict[str, Any]:
        """``{"plan_id", "parent_id", "subdistricts": [{"code", "name", "communities",
        "households", "residents"}]}``."""
        subs = self.plan.areas_at(Level.SUBDISTRICT)
        comm = self.plan.areas_at(Level.COMMUNITY)
        count = comm.groupby("parent_id").size()
        return {
            "plan_id": self.plan_id,
            "parent_id": self.plan.parent_id,
            "subdistricts": [
                {
                    "code": str(r.code),
                    "name": str(r.name),
                    "communities": int(count.get(r.area_id, 0)),
                    "households": float(r.households),
                    "residents": None if pd.isna(r.residents) else float(r.residents),
                }
                for r in subs.itertuples(index=False)
            ],
            "findings": self.check.by_rule(),
        }


def subdistricts_by_band(
    communities: gpd.GeoDataFrame,
    band: tuple[float, float],
    *,
    measure: str = "households",
    k: int | None = None,
    seed: int = 0,
    roads: gpd.GeoDataFrame | None = None,
) -> dict[str, str]:
    """Group communities into contiguous subdistricts whose ``measure`` lies in ``band``, with
    the partition engine communities and grids are drawn with (cuts along roads preferred).

    Raises
    ------
    InputError
        When no such grouping exists (the engine's reason).
    """
    nodes = communities.rename(columns={"area_id": "unit_id"})[
        ["unit_id", "households", "residents", "geometry"]
    ].reset_index(drop=True)
    nodes["households"] = pd.to_numeric(nodes["households"], errors="coerce").fillna(0.0)
    nodes["residents"] = pd.to_numeric(nodes["residents"], errors="coerce").fillna(0.0)
    graph = build_unit_graph(nodes, roads)
    result = partition_graph(graph, band[0], band[1], measure=measure, k=k, seed=seed)
    if not result.valid:
        raise InputError(
            f"no subdistricts in [{band[0]:,.0f}, {band[1]:,.0f}] {measure}: {result.reason}"
        )
    labels = np.asarray(result.labels)
    ids = nodes["unit_id"].astype(str).to_numpy()
    return {str(ids[i]): f"S{int(labels[i]) + 1}" for i in range(len(ids)) if labels[i] >= 0}


def subdistricts_store(
    store: Store,
    *,
    plan_id: int | None = None,
    areas: gpd.GeoDataFrame | None = None,
    band: tuple[float, float] | None = None,
    measure: str = "households",
    k: int | None = None,
    seed: int = 0,
    county: str | None = None,
    name: str | None = None,
) -> SubdistrictOutcome:
    """Put the communities of a stored plan (default: the latest) into subdistricts and store
    the result as its child plan.

    Parameters
    ----------
    store
        An open store.
    plan_id
        The plan whose communities are grouped.
    areas
        Subdistrict polygons (a normalised ``areas`` layer: ``area_id``, ``name``, ``code``):
        each community goes to the one holding most of its area.
    band
        Or draw subdistricts: ``(lo, hi)`` of ``measure`` per subdistrict (``k`` of them, or
        as many as the band allows).
    county
        The 6-digit county code (default: the one the plan's codes start with, else
        ``000000``).
    name
        The new plan's name.

    Raises
    ------
    InputError
        With neither or both of ``areas`` and ``band``, a community in no subdistrict, or no
        grouping in the band.
    NotFoundError
        If the plan is not stored.
    """
    if (areas is None) == (band is None):
        raise InputError("give subdistrict polygons (--areas) or a band (--band), one of them")
    parent = store.load_plan(plan_id)
    communities = parent.areas_at(Level.COMMUNITY)
    if communities.empty:
        raise InputError(f"plan {parent.plan_id} has no communities to put in subdistricts")
    layers = read_check_layers(store)
    names: dict[str, str] = {}
    codes: dict[str, str] = {}
    if areas is not None:
        of = subdistricts_by_location(communities, areas)
        names = {
            str(a): str(n)
            for a, n in zip(areas["area_id"], areas["name"], strict=True)
            if n is not None and not pd.isna(n)
        }
        codes = {
            str(a): str(c)
            for a, c in zip(areas["area_id"], areas["code"], strict=True)
            if c is not None and not pd.isna(c) and str(c).isdigit()
        }
    else:
        assert band is not None
        of = subdistricts_by_band(
            communities, band, measure=measure, k=k, seed=seed, roads=layers.roads
        )
    scheme = infer_scheme(parent)
    county_code = county or (scheme.county if scheme is not None else None)
    plan = with_subdistricts(
        parent,
        of,
        names=names,
        codes=codes,
        scheme=CodeScheme(county_code, "001") if county_code else None,
    )
    targets = dict(parent.targets)
    if band is not None:
        targets[Level.SUBDISTRICT.value] = {measure: [float(band[0]), float(band[1])]}
    plan = Plan(
        name=name or f"{parent.name}: subdistricts",
        assignments=plan.assignments,
        areas=plan.areas,
        targets=targets,
        metrics=plan.metrics,
        parent_id=parent.plan_id,
        source="subdistricts",
    )
    plan = coded_plan(store, plan, parent=parent, keep_own=True)
    checked = check_plan(plan, layers)
    new_id = store.save_plan(plan, checked.findings)
    return SubdistrictOutcome(plan, new_id, checked)


__all__ = ["SubdistrictOutcome", "subdistricts_by_band", "subdistricts_store"]
