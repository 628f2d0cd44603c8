"""What a plan's map draws: a stored plan with the store's layers, or polygons from files.

``gridplan map``, ``GET /plans/{id}/map`` and the demo gather their layers here. The findings
drawn are the plan's stored findings; a plan stored without findings, and polygons from files,
are checked by :func:`gridplan.ops.checks.check_plan` (the check every adapter shares), and
the check's per-area metrics (road share, parts, compactness) go into the popups.
"""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import pandas as pd

from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.geo.plans import dissolve_units
from gridplan.geo.rules import CheckConfig, CheckLayers
from gridplan.maps.inputs import MapLayers, join_metrics
from gridplan.maps.sources import config_bands
from gridplan.ops.checks import PlanCheck, check_drawn, check_plan
from gridplan.ops.layers import read_layers
from gridplan.ops.reach import map_reach
from gridplan.plan import Level, Plan


def stored_map_layers(
    store: Store,
    plan_id: int | None = None,
    *,
    config: CheckConfig | None = None,
    check: bool = True,
    include_units: bool = True,
    title: str | None = None,
) -> MapLayers:
    """Map layers of a stored plan (default: the latest) with the store's roads, compounds,
    facilities and units.

    Parameters
    ----------
    store
        An open store.
    plan_id
        The plan; ``None`` draws the latest.
    config
        Bands and tolerances to check and colour by, instead of the plan's targets; the plan
        is then re-checked with them.
    check
        Check the plan when it has no stored findings (or ``config`` is given).
    include_units
        Draw the store's units (hidden until switched on).
    title
        Map title; default: the plan's name and id.

    Raises
    ------
    NotFoundError
        If there is no such plan.
    """
    plan = _with_communities(store.load_plan(plan_id))
    kinds = [LayerKind.ROADS, LayerKind.COMPOUNDS, LayerKind.FACILITIES, LayerKind.OUTLINE]
    if include_units:
        kinds.append(LayerKind.UNITS)
    got = read_layers(store, kinds)
    stored = store.read_findings(plan.plan_id) if plan.plan_id is not None else None
    findings = stored if stored is not None and len(stored) else None
    result: PlanCheck | None = None
    if check and (findings is None or config is not None):
        units = got.get(LayerKind.UNITS)
        if units is None and not include_units:
            units = read_layers(store, (LayerKind.UNITS,))[LayerKind.UNITS]
        reach = read_layers(store, (LayerKind.PATHS, LayerKind.BUILDINGS))
        layers = CheckLayers(
            roads=got[LayerKind.ROADS],
            compounds=got[LayerKind.COMPOUNDS],
            outline=got[LayerKind.OUTLINE],
            units=units,
            facilities=got[LayerKind.FACILITIES],
            paths=reach[LayerKind.PATHS],
            buildings=reach[LayerKind.BUILDINGS],
        )
        result = check_plan(plan, layers, config=config)
        findings = result.findings if len(result.findings) else None
    layers_out = MapLayers.from_plan(
        plan,
        metrics=_metrics(result, Level.COMMUNITY),
        grid_metrics=_metrics(result, Level.GRID),
        findings=findings,
        compounds=got[LayerKind.COMPOUNDS],
        roads=got[LayerKind.ROADS],
        facilities=got[LayerKind.FACILITIES],
        units=got.get(LayerKind.UNITS),
        title=title,
    )
    # walking reach along the network (replaces the facilities' Euclidean circles)
    cfg = config if config is not None else CheckConfig()
    isochrones, unreached = map_reach(store, plan, metres=cfg.reach_metres)
    layers_out = replace(layers_out, isochrones=isochrones, unreached=unreached)
    if config is not None:
        return replace(layers_out, bands=config_bands(config))
    return layers_out


def file_map_layers(
    communities: gpd.GeoDataFrame,
    *,
    grids: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    config: CheckConfig | None = None,
    check: bool = True,
    title: str = "",
) -> MapLayers:
    """Map layers of community (and grid) polygons read from files, checked as drawn plans
    (:func:`gridplan.ops.checks.check_drawn`) unless ``check`` is false."""
    cfg = config if config is not None else CheckConfig()
    comm = communities
    grid_layer = grids
    frames: list[gpd.GeoDataFrame] = []
    if check:
        layers = CheckLayers(roads=roads, compounds=compounds, units=units)
        done = check_drawn(communities, level=Level.COMMUNITY, layers=layers, config=cfg)
        comm = join_metrics(communities, done.report(Level.COMMUNITY).areas, Level.COMMUNITY)
        frames.append(done.findings)
        if grids is not None and not grids.empty:
            done_g = check_drawn(
                grids, level=Level.GRID, layers=CheckLayers(roads=roads, units=units), config=cfg
            )
            grid_layer = join_metrics(grids, done_g.report(Level.GRID).areas, Level.GRID)
            frames.append(done_g.findings)
    frames = [f for f in frames if len(f)]
    findings = (
        gpd.GeoDataFrame(
            pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs
        )
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


def _with_communities(plan: Plan) -> Plan:
    """A plan of grids alone (a grid file imported) drawn with its communities: the grids
    dissolved by the community each names (``parent_id``), else the grids themselves."""
    if not plan.areas_at(Level.COMMUNITY).empty:
        return plan
    grids = plan.areas_at(Level.GRID)
    if grids.empty:
        return plan
    parent = grids["parent_id"]
    if parent.isna().any():
        derived = grids.assign(level=Level.COMMUNITY.value, parent_id=None)
    else:
        dissolved = dissolve_units(grids, parent.astype(str).to_numpy(dtype=object))
        derived = gpd.GeoDataFrame(
            {
                "level": Level.COMMUNITY.value,
                "area_id": dissolved["area_id"],
                "name": dissolved["area_id"],
                "code": None,
                "parent_id": None,
                "households": dissolved["households"],
                "residents": dissolved["residents"],
            },
            geometry=dissolved.geometry.values,
            crs=dissolved.crs,
        )
    areas = gpd.GeoDataFrame(
        pd.concat([derived.to_crs(plan.areas.crs), plan.areas], ignore_index=True),
        geometry="geometry",
        crs=plan.areas.crs,
    )
    return replace(plan, areas=areas)


def _metrics(result: PlanCheck | None, level: Level) -> gpd.GeoDataFrame | None:
    if result is None or level.value not in result.reports:
        return None
    return result.reports[level.value].areas


__all__ = ["file_map_layers", "stored_map_layers"]
