"""Check a plan: one implementation behind ``gridplan check``, ``GET /plans/{id}/checks``, the
map and the demo.

A plan is checked at each of its levels with its own targets (or one configuration given by
the caller) against the layers it belongs with: a stored plan against the store's roads,
compounds, outline and units (:func:`~gridplan.ops.layers.read_check_layers`); polygons drawn
in a file are first made a drawn plan (:func:`gridplan.data.importer.areas_plan`, the same
function ``gridplan import --kind areas`` stores) and then checked the same way. So the same
plan gives the same findings whichever adapter asks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan.data.importer import areas_plan
from gridplan.data.layers import LayerKind, validate
from gridplan.data.store.base import Store
from gridplan.errors import InputError, InvalidFeaturesError
from gridplan.geo.hierarchy import within_subdistrict
from gridplan.geo.rules import CheckConfig, CheckLayers, CheckReport, check_plan_levels
from gridplan.geo.rules import plan_findings as _plan_findings
from gridplan.ops.layers import read_check_layers
from gridplan.plan import Level, Plan


@dataclass(frozen=True)
class PlanCheck:
    """The check of one plan: a report per level it has areas at.

    Attributes
    ----------
    plan
        The plan checked (stored or not).
    reports
        One :class:`~gridplan.geo.rules.CheckReport` per level, ``community`` first.
    """

    plan: Plan
    reports: Mapping[str, CheckReport]

    @property
    def findings(self) -> gpd.GeoDataFrame:
        """Every level's findings as a store keeps them (EPSG:4326)."""
        return _plan_findings(self.reports)

    def report(self, level: Level | str) -> CheckReport:
        """The report of one level.

        Raises
        ------
        InputError
            If the plan has no areas at that level.
        """
        name = Level(level).value
        if name not in self.reports:
            present = [lv.value for lv in Level if not self.plan.areas_at(lv).empty]
            have = ", ".join(present) or "none"
            raise InputError(
                f"plan {self.plan.plan_id or self.plan.name!r} has no {name} areas (levels: {have})"
            )
        return self.reports[name]

    def by_rule(self) -> dict[str, dict[str, int]]:
        """Findings per rule id, per level."""
        return {level: report.by_rule() for level, report in self.reports.items()}

    def to_json(self) -> dict[str, Any]:
        """The ``GET /plans/{id}/checks`` document: ``{"plan_id", "levels": {"community":
        <CheckReport.to_json()> + measure, band, notes, "grid": ...}}``."""
        levels: dict[str, Any] = {}
        for level, report in self.reports.items():
            doc = report.to_json()
            doc["measure"] = report.measure
            doc["band"] = list(report.band) if report.band is not None else None
            doc["notes"] = list(report.notes)
            levels[level] = doc
        return jsonable({"plan_id": self.plan.plan_id, "levels": levels})


def check_plan(
    plan: Plan,
    layers: CheckLayers | None = None,
    *,
    config: CheckConfig | None = None,
    overrides: pd.DataFrame | None = None,
    levels: tuple[Level, ...] = (Level.COMMUNITY, Level.GRID),
) -> PlanCheck:
    """Check a plan at each of its levels.

    Parameters
    ----------
    plan
        The plan (stored or not).
    layers
        What it is checked against (default: nothing but its own areas).
    config
        One configuration for every level instead of the plan's own targets.
    overrides
        Named assignments compound → community (rule ``compound.override_violated``).
    levels
        The levels to check.

    Returns
    -------
    PlanCheck

    Examples
    --------
    One community of 800 households in the default band 1000–3000::

        +--------+
        |   a    |   800 households
        +--------+

    >>> import geopandas as gpd, shapely
    >>> from gridplan.data.importer import areas_plan
    >>> from gridplan.data.layers import normalise
    >>> drawn = normalise("areas", gpd.GeoDataFrame(
    ...     {"area_id": ["a"], "households": [800.0]},
    ...     geometry=[shapely.box(120.0, 30.0, 120.01, 30.01)], crs=4326))
    >>> check_plan(areas_plan(drawn, name="drawn")).by_rule()
    {'community': {'size.under': 1}}
    """
    reports = check_plan_levels(plan, layers, config=config, overrides=overrides, levels=levels)
    return PlanCheck(plan, reports)


def check_stored_plan(
    store: Store,
    plan_id: int | None = None,
    *,
    level: Level | None = None,
    config: CheckConfig | None = None,
    overrides: pd.DataFrame | None = None,
    save: bool = False,
    subdistrict: str | None = None,
) -> PlanCheck:
    """Check a stored plan (default: the latest) against the store's layers.

    Parameters
    ----------
    store
        An open store.
    plan_id
        The plan; ``None`` checks the latest.
    level
        Only this level (default: every level the plan has).
    config, overrides
        As :func:`check_plan`.
    save
        Replace the plan's stored findings with these (findings are derived; the plan itself
        never changes).
    subdistrict
        Only the part of the plan in this subdistrict
        (:func:`gridplan.geo.hierarchy.within_subdistrict`); not with ``save``.

    Raises
    ------
    NotFoundError
        If there is no such plan.
    InputError
        If ``level`` is given and the plan has no areas at it.
    """
    plan = store.load_plan(plan_id)
    layers = read_check_layers(store)
    if subdistrict is not None:
        if save:
            raise InputError("the findings of one subdistrict are not the plan's: no save")
        plan, layers = in_subdistrict(plan, layers, subdistrict)
    levels = (level,) if level is not None else (Level.COMMUNITY, Level.GRID)
    result = check_plan(plan, layers, config=config, overrides=overrides, levels=levels)
    if level is not None:
        result.report(level)  # the plan must have areas at the level asked for
    if save and plan.plan_id is not None:
        store.save_findings(plan.plan_id, result.findings)
    return result


def in_subdistrict(plan: Plan, layers: CheckLayers, subdistrict: str) -> tuple[Plan, CheckLayers]:
    """The part of ``plan`` in one subdistrict and the layers to check it against (what
    ``gridplan check --subdistrict`` and ``GET /plans/{id}/checks?subdistrict=`` check).

    Raises
    ------
    NotFoundError
        If no community of the plan lies in that subdistrict.
    """
    part = within_subdistrict(plan, subdistrict)
    return part, layers_within(layers, part)


def layers_within(layers: CheckLayers, plan: Plan) -> CheckLayers:
    """The check layers cut to a part of a district's plan (one subdistrict): its units, the
    compounds, buildings and facilities whose representative point lies in its communities,
    and no outline (the district's would make the other subdistricts a gap), so the check of
    one subdistrict reports nothing of the others."""
    from dataclasses import replace

    import shapely

    communities = plan.areas_at(Level.COMMUNITY)
    if communities.empty:
        return replace(layers, outline=None)
    union = shapely.union_all(np.asarray(communities.to_crs(4326).geometry.values, dtype=object))

    def inside(layer: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
        if layer is None or not len(layer):
            return layer
        points = shapely.point_on_surface(
            np.asarray(layer.to_crs(4326).geometry.values, dtype=object)
        )
        return layer[shapely.contains(union, points)].reset_index(drop=True)

    units = layers.units
    if units is not None and len(plan.assignments):
        mine = set(plan.assignments["unit_id"].astype(str))
        units = units[units["unit_id"].astype(str).isin(mine)].reset_index(drop=True)
    return replace(
        layers,
        outline=None,
        units=units,
        compounds=inside(layers.compounds),
        buildings=inside(layers.buildings),
        facilities=inside(layers.facilities),
    )


def check_drawn(
    areas: gpd.GeoDataFrame,
    *,
    level: Level,
    layers: CheckLayers | None = None,
    config: CheckConfig | None = None,
    overrides: pd.DataFrame | None = None,
    name: str = "drawn",
    source: str = "",
) -> PlanCheck:
    """Check polygons drawn in a file: they become a drawn plan at ``level``, checked as any
    plan is. The plan carries the households the check used and the band it was checked
    against, ready to be stored (:meth:`Store.save_plan` with :attr:`PlanCheck.findings`).

    Parameters
    ----------
    areas
        Normalised ``areas`` polygons (any CRS).
    level
        Community or grid polygons.
    layers, config, overrides
        As :func:`check_plan`.
    name, source
        The drawn plan's name and where it came from.

    Raises
    ------
    InvalidFeaturesError
        If a polygon is invalid (the checks ``gridplan import`` makes), listing every one.
    """
    _, problems = validate(LayerKind.AREAS, areas, source=source or name)
    if problems:
        raise InvalidFeaturesError(problems)
    drawn = areas_plan(areas, name=name, level=level, source=source)
    first = check_plan(drawn, layers, config=config, overrides=overrides, levels=(level,))
    report = first.report(level)
    plan_areas = drawn.areas.copy()
    plan_areas["households"] = report.areas["households"].to_numpy(dtype=float)
    plan_areas["residents"] = report.areas["residents"].to_numpy(dtype=float)
    targets = {report.level: {report.measure: list(report.band)}} if report.band else {}
    plan = Plan(
        name=drawn.name,
        assignments=drawn.assignments,
        areas=plan_areas,
        targets=targets,
        metrics={**drawn.metrics, "check": report.to_json()["summary"]},
        source=drawn.source,
    )
    return PlanCheck(plan, first.reports)


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and non-finite floats as ``None``."""
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


__all__ = ["PlanCheck", "check_drawn", "check_plan", "check_stored_plan", "jsonable"]
