"""Run a scenario: on a stored base plan (with the store's layers) or on files it names.

The command line (``gridplan scenario run``), ``POST /scenarios`` and the demo run scenarios
through :func:`run_stored_scenario`: the steps run in memory, the new plan is checked (its own
targets, the layers of its base) and stored with its findings in one transaction, its parent
the base plan. A failing step stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gridplan.data.layers import LayerKind
from gridplan.data.place import require_same_place
from gridplan.data.readers import read_layer_file
from gridplan.data.store.base import Store
from gridplan.errors import InputError
from gridplan.geo.plans import area_texts
from gridplan.geo.scenario import Scenario, ScenarioBase, ScenarioResult, run_scenario
from gridplan.ops.checks import jsonable
from gridplan.ops.codes import code_history
from gridplan.ops.layers import read_check_layers
from gridplan.plan import Level


@dataclass(frozen=True)
class StoredScenario:
    """A scenario's run and the plan it stored.

    Attributes
    ----------
    result
        What the steps did, before/after per community, what moved, the checks.
    plan_id
        The stored plan's id.
    """

    result: ScenarioResult
    plan_id: int

    def to_json(self) -> dict[str, Any]:
        """The scenario report (``gridplan scenario run --format json``, ``POST /scenarios``)."""
        return scenario_summary(self.result, self.plan_id)


def load_base(scenario: Scenario, store: Store) -> ScenarioBase:
    """The scenario's base: a stored plan with the store's units, roads and compounds, or
    the files the scenario names.

    Raises
    ------
    NotFoundError
        If the base plan is not stored.
    InputError
        If the base plan has no unit assignments (a drawn plan) or assigns units the store
        does not hold; or a base file is unreadable or lacks a named column.
    """
    spec = scenario.base
    if spec.plan is not None:
        plan = store.load_plan(None if spec.plan == "latest" else int(spec.plan))
        layers = read_check_layers(store)
        units = layers.units if layers.units is not None else store.read_layer(LayerKind.UNITS)
        if units.empty or plan.assignments.empty:
            raise InputError(
                f"plan {plan.plan_id} has no unit assignments (a drawn plan): run assign or "
                "partition first, or give the base as files"
            )
        assigned = plan.assignments.drop_duplicates("unit_id").set_index("unit_id")
        ids = units["unit_id"].astype(str)
        missing = sorted(set(assigned.index.astype(str)) - set(ids))
        if missing:
            raise InputError(
                f"plan {plan.plan_id} assigns {len(missing)} unit(s) the store does not hold "
                f"(e.g. {', '.join(missing[:3])})"
            )
        units = units[ids.isin(assigned.index.astype(str))].reset_index(drop=True)
        row = assigned.reindex(units["unit_id"].astype(str))
        areas = plan.areas_at(Level.COMMUNITY)
        grids = row["grid_id"].to_numpy(dtype=object)
        return ScenarioBase(
            units=units,
            communities=row["community_id"].to_numpy(dtype=object),
            grids=grids if pd.notna(grids).any() else None,
            roads=layers.roads,
            compounds=layers.compounds,
            parent_id=plan.plan_id,
            names=area_texts(areas, "name"),
            codes=area_texts(areas, "code"),
            checks=layers,
            plan=plan,
            history=code_history(store),
        )
    assert spec.units is not None and spec.community_field is not None
    fields: dict[str, str] = {}
    if spec.households_field:
        fields["households"] = spec.households_field
    if spec.residents_field:
        fields["residents"] = spec.residents_field
    units = read_layer_file(
        scenario.path(spec.units), LayerKind.UNITS, fields=fields, id_field=spec.unit_id_field
    )
    for col in (spec.community_field, spec.grid_field):
        if col is not None and col not in units.columns:
            raise InputError(f"base.units: no column {col!r} in {spec.units}")
    if spec.persons_per_household is not None and not spec.households_field:
        units["households"] = units["residents"].fillna(0.0) / spec.persons_per_household
    roads = read_layer_file(scenario.path(spec.roads), LayerKind.ROADS) if spec.roads else None
    compounds = (
        read_layer_file(
            scenario.path(spec.compounds), LayerKind.COMPOUNDS, id_field=spec.compound_id_field
        )
        if spec.compounds
        else None
    )
    return ScenarioBase(
        history=code_history(store),
        units=units,
        communities=units[spec.community_field].to_numpy(dtype=object),
        grids=units[spec.grid_field].to_numpy(dtype=object) if spec.grid_field else None,
        roads=roads,
        compounds=compounds,
    )


def run_stored_scenario(
    scenario: Scenario,
    store: Store,
    *,
    progress: Callable[[int, str], None] | None = None,
) -> StoredScenario:
    """Run ``scenario`` on its base and store the new plan with its findings.

    A base from files must lie where the store's layers lie (a store holds one place): files
    from another city are refused rather than stored beside it.

    Raises
    ------
    ScenarioError
        When a step fails; nothing is stored.
    InputError, NotFoundError
        As :func:`load_base`; or the base files lie far from the store's layers.
    """
    base = load_base(scenario, store)
    if scenario.base.plan is None:
        _require_same_place(store, base)
    result = run_scenario(scenario, base, progress=progress)
    plan_id = store.save_plan(result.plan, result.findings)
    return StoredScenario(result, plan_id)


def _require_same_place(store: Store, base: ScenarioBase) -> None:
    layers = {LayerKind.UNITS: base.units}
    if base.roads is not None:
        layers[LayerKind.ROADS] = base.roads
    require_same_place(store, layers, source="the scenario's base files")


def _row(table: pd.DataFrame, community: str) -> dict[str, Any] | None:
    hit = table[table["community"] == community]
    if hit.empty:
        return None
    r = hit.iloc[0]
    return {
        "households": float(r["households"]),
        "residents": float(r["residents"]),
        "units": int(r["units"]),
        "band": str(r["band"]),
        "road_share": None if pd.isna(r["road_share"]) else float(r["road_share"]),
        "parts": int(r["parts"]),
        "embedded": bool(r["embedded"]),
    }


def scenario_summary(result: ScenarioResult, plan_id: int | None) -> dict[str, Any]:
    """The JSON report of a scenario run: ``{"plan_id", "parent_id", "name", "steps",
    "communities": [{"community", "name", "before", "after"}], "moved", "compounds_moved",
    "checks": {"<level>": {"findings", "by_rule"}}}``."""
    names = {
        **dict(zip(result.before["community"], result.before["name"], strict=True)),
        **dict(zip(result.after["community"], result.after["name"], strict=True)),
    }
    communities = sorted(names)
    return jsonable(
        {
            "plan_id": plan_id,
            "parent_id": result.plan.parent_id,
            "name": result.plan.name,
            "steps": [
                {
                    "step": s.step,
                    "action": s.action,
                    "summary": s.summary,
                    "households_moved": s.households_moved,
                }
                for s in result.steps
            ],
            "communities": [
                {
                    "community": c,
                    "name": names[c],
                    "before": _row(result.before, c),
                    "after": _row(result.after, c),
                }
                for c in communities
            ],
            "moved": result.moved.to_dict(orient="records"),
            "compounds_moved": result.compounds_moved.to_dict(orient="records"),
            "checks": {
                level: {"findings": len(report.findings), "by_rule": report.by_rule()}
                for level, report in result.checks.items()
            },
        }
    )


__all__ = ["StoredScenario", "load_base", "run_stored_scenario", "scenario_summary"]
