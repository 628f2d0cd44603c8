"""Gather what a map draws from a store (a stored plan) or from plain layers.

:func:`store_layers` loads a plan (default: the latest) and the store's roads, compounds,
facilities and units, with the plan's stored findings; when none are stored it runs the rule
engine (:func:`gridplan.geo.rules.check_areas`) on the plan's communities and grids.
:func:`checked_layers` does the same for layers read from files. The ``gridplan map``
command, the demo and the HTTP service all build their maps through these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import geopandas as gpd
import pandas as pd

from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.errors import InputError
from gridplan.geo.rules import CheckConfig, check_areas
from gridplan.maps.inputs import MapLayers, join_metrics
from gridplan.maps.style import Band
from gridplan.plan import Level


def config_bands(config: CheckConfig) -> dict[str, Band]:
    """The map bands of a check configuration (levels without a band in its measure are left
    out)."""
    out: dict[str, Band] = {}
    for level in (Level.COMMUNITY, Level.GRID):
        try:
            lo, hi = config.band(level)
        except InputError:
            continue
        out[level.value] = Band(lo, hi, config.measure)
    return out


def checked_layers(
    communities: gpd.GeoDataFrame,
    *,
    grids: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    findings: gpd.GeoDataFrame | None = None,
    config: CheckConfig | None = None,
    check: bool = True,
    title: str = "",
) -> MapLayers:
    """Map layers for plain layers, checked by the rule engine.

    Parameters
    ----------
    communities, grids, roads, compounds, facilities, units
        Layers in the schemas of :mod:`gridplan.data.layers` (grids are ``areas`` with a
        ``parent_id`` column where known).
    findings
        Findings already computed: used as they are, and the check is not run.
    config
        Bands and tolerances of the check and the map (default :class:`CheckConfig()`).
    check
        Run the rule engine when no findings are given.
    title
        Map title.
    """
    cfg = config if config is not None else CheckConfig()
    comm = communities
    grid_layer = grids
    if findings is None and check:
        report = check_areas(
            communities, level=Level.COMMUNITY, roads=roads, compounds=compounds, config=cfg
        )
        comm = join_metrics(communities, report.areas, Level.COMMUNITY)
        frames = [report.findings.to_crs("EPSG:4326")]
        if grids is not None and not grids.empty:
            grid_report = check_areas(grids, level=Level.GRID, roads=roads, config=cfg)
            grid_layer = join_metrics(grids, grid_report.areas, Level.GRID)
            frames.append(grid_report.findings.to_crs("EPSG:4326"))
        frames = [f for f in frames if not f.empty]
        findings = (
            gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
            if frames
            else None
        )
    return MapLayers(
        communities=comm,
        grids=grid_layer,
        roads=roads,
        compounds=compounds,
        facilities=facilities,
        units=units,
        findings=findings,
        bands=config_bands(cfg),
        title=title,
    )


def store_layers(
    store: Store,
    plan_id: int | None = None,
    *,
    config: CheckConfig | None = None,
    check: bool = True,
    include_units: bool = True,
    bands: Mapping[str, Band] | None = None,
    title: str | None = None,
) -> MapLayers:
    """Map layers of a stored plan (default: the latest).

    Parameters
    ----------
    store
        An open store.
    plan_id
        The plan to draw; ``None`` draws the latest.
    config
        Check configuration used when the plan has no stored findings (default: the plan's
        targets, else :class:`CheckConfig()`).
    check
        Run the rule engine when the plan has no stored findings.
    include_units
        Draw the store's units (hidden until switched on).
    bands
        Bands per level; default: the check configuration's, else the plan's targets.
    title
        Map title; default: the plan's name and id.

    Raises
    ------
    NotFoundError
        If there is no such plan (or no plan at all).
    """
    plan = store.load_plan(plan_id)
    layers = {
        kind: store.read_layer(kind)
        for kind in (LayerKind.ROADS, LayerKind.COMPOUNDS, LayerKind.FACILITIES, LayerKind.UNITS)
        if (kind != LayerKind.UNITS or include_units) and store.count(kind) > 0
    }
    if title is None:
        title = f"{plan.name} (plan {plan.plan_id})" if plan.plan_id is not None else plan.name
    stored = store.read_findings(plan.plan_id) if plan.plan_id is not None else None
    findings = stored if stored is not None and not stored.empty else None
    communities = plan.areas_at(Level.COMMUNITY)
    grids = plan.areas_at(Level.GRID)
    cfg = config if config is not None else _config_from_targets(plan.targets)
    result = checked_layers(
        communities,
        grids=grids if not grids.empty else None,
        roads=layers.get(LayerKind.ROADS),
        compounds=layers.get(LayerKind.COMPOUNDS),
        facilities=layers.get(LayerKind.FACILITIES),
        units=layers.get(LayerKind.UNITS),
        findings=findings,
        config=cfg,
        check=check and not communities.empty,
        title=title,
    )
    if bands is not None:
        return replace(result, bands=dict(bands))
    return result


def _config_from_targets(targets: Mapping[str, object]) -> CheckConfig:
    """One configuration for both levels: the communities' measure and band, and the grids'
    band when the grids are measured the same way."""
    cfg = CheckConfig.from_targets(targets, Level.COMMUNITY)
    grid = CheckConfig.from_targets(targets, Level.GRID)
    if grid.measure == cfg.measure:
        cfg = cfg.with_band(Level.GRID, *grid.bands[(Level.GRID.value, cfg.measure)])
    return cfg
