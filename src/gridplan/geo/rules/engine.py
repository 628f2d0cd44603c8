"""``check_areas``: run every registered rule on a set of community or grid polygons.

The rules are those of :data:`~gridplan.geo.rules.registry.REGISTRY`, run in report order on
one :class:`~gridplan.geo.rules.rule_context.RuleContext`; the engine knows none of them by
name.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan.data.layers import FINDING_COLUMNS
from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import build_context
from gridplan.geo.rules.finding import no_findings
from gridplan.geo.rules.metrics import area_metrics
from gridplan.geo.rules.registry import REGISTRY, RuleResult, RuleSpec, check_result
from gridplan.geo.rules.report import CheckReport
from gridplan.geo.rules.rule_context import RuleContext
from gridplan.plan import Level


def check_areas(
    areas: gpd.GeoDataFrame,
    *,
    level: Level | str = "community",
    roads: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    outline: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    config: CheckConfig | None = None,
    overrides: pd.DataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    paths: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
) -> CheckReport:
    """Check community (or grid) polygons against every registered rule.

    Parameters
    ----------
    areas
        The polygons, any CRS, as an ``areas`` layer (``area_id``, ``name``, ``households``,
        ``residents``; see :mod:`gridplan.data.layers`) or raw columns that
        :func:`~gridplan.data.layers.normalise` understands.
    level
        ``community`` or ``grid``: picks the size band and labels the findings.
    roads
        Road centrelines (``road_class`` used when ``config.road_classes`` is set). Without
        them the road rule is not run and ``road_boundary_share`` is ``NaN``.
    compounds
        Compound polygons or points with ``households`` / ``residents``.
    outline
        The subdistrict outline; default: the union of the areas with holes filled.
    units
        Units (polygons with ``households`` / ``residents``) to count households from.
    config
        Bands and tolerances (default :class:`CheckConfig()`).
    overrides
        Named assignments, compound name → community name (columns ``compound``,
        ``community``; e.g. :func:`gridplan.data.reference.load_overrides`): rule
        ``compound.override_violated``. Overrides naming a compound or community that is not
        in the data are listed in the report's notes.
    facilities, paths, buildings
        Service facilities (``kind``), walkable ways and buildings with households: rule
        ``reach.outside`` (walking reach of each community's service centre, on the paths,
        else the roads; households located at buildings, else compounds, else units).

    Returns
    -------
    CheckReport
        Per-area metrics and the findings (in the CRS of ``areas``).

    Notes
    -----
    Households (and residents) per area come from the areas' own column, else from the units
    inside them (by representative point), else from the compounds (polygons by the share of
    their area inside, points by containment). Everything is computed in
    :func:`gridplan.data.crs.metric_crs` of the areas.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> areas = gpd.GeoDataFrame(
    ...     {"area_id": ["a", "b"], "households": [800.0, 2000.0]},
    ...     geometry=[shapely.box(0, 0, 500, 500), shapely.box(500, 0, 1000, 500)],
    ...     crs=32650)
    >>> report = check_areas(areas)
    >>> report.by_rule()
    {'size.under': 1}
    """
    cfg = config if config is not None else CheckConfig()
    inputs = build_context(
        areas,
        level=level,
        roads=roads,
        compounds=compounds,
        outline=outline,
        units=units,
        config=cfg,
        facilities=facilities,
        paths=paths,
        buildings=buildings,
    )
    context = RuleContext(inputs, cfg, overrides)
    band = cfg.band(inputs.level) if context.measure_values is not None else None
    specs = REGISTRY.specs()
    results = [check_result(spec, spec.run(context, cfg)) for spec in specs]
    findings = _findings(context, specs, results)
    assert list(findings.columns[:-1]) == list(FINDING_COLUMNS)
    return CheckReport(
        level=inputs.level,
        measure=cfg.measure,
        band=band,
        areas=area_metrics(context),
        findings=findings,
        ignored_slivers={
            spec.id: result.ignored_slivers
            for spec, result in zip(specs, results, strict=True)
            if result.ignored_slivers is not None
        },
        notes=_notes(results),
    )


def _findings(
    context: RuleContext, specs: tuple[RuleSpec, ...], results: list[RuleResult]
) -> gpd.GeoDataFrame:
    """The rules' raw findings as one table in report order, in the areas' own CRS.

    Rules come in registry order; one rule's findings by area index, then value (stable).
    """
    inputs, cfg = context.inputs, context.config
    frames = [r.findings for r in results if len(r.findings)]
    table = pd.concat(frames, ignore_index=True) if frames else no_findings()
    order = {spec.id: k for k, spec in enumerate(specs)}
    table = (
        table.assign(_order=table["rule"].map(order))
        .sort_values(["_order", "area", "value"], kind="stable")
        .reset_index(drop=True)
    )
    area_idx = table["area"].to_numpy(dtype=np.int64)
    area_ids = np.where(area_idx >= 0, inputs.ids[np.clip(area_idx, 0, None)], None)
    severities = {spec.id: cfg.severities.get(spec.id, spec.severity) for spec in specs}
    findings = gpd.GeoDataFrame(
        {
            "rule": table["rule"].astype(object),
            "severity": table["rule"].map(severities).astype(object),
            "level": [inputs.level] * len(table),
            "area_id": pd.Series(area_ids, dtype=object),
            "value": table["value"].astype(float),
            "message": table["message"].astype(object),
        },
        geometry=gpd.GeoSeries(table["geometry"].to_numpy(dtype=object), crs=inputs.crs),
        crs=inputs.crs,
    )
    return findings.to_crs(inputs.source_crs)


def _notes(results: list[RuleResult]) -> tuple[str, ...]:
    """The rules' notes in rule order; a note an earlier rule gave already is not repeated
    (``size.under`` and ``size.over`` both note an unknown measure)."""
    notes: list[str] = []
    for result in results:
        seen = set(notes)
        notes.extend(n for n in result.notes if n not in seen)
    return tuple(notes)
