"""What a planner map draws: :class:`MapLayers`, built from plain GeoDataFrames or a Plan.

The renderer needs nothing but GeoDataFrames in the layer schemas of
:mod:`gridplan.data.layers` (any CRS): communities (``areas``), and optionally grids,
compounds, roads, findings (:data:`~gridplan.data.layers.FINDING_COLUMNS` + geometry),
facilities and units, with the size band of each level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import pandas as pd

from gridplan.errors import CRSError, InputError
from gridplan.maps.style import Band
from gridplan.plan import Level, Plan

#: Default bands per level (DESIGN.md): 1000–3000 households per community, 300–500 per grid.
DEFAULT_BANDS: Mapping[str, Band] = MappingProxyType(
    {
        Level.COMMUNITY.value: Band(1000.0, 3000.0, "households"),
        Level.GRID.value: Band(300.0, 500.0, "households"),
    }
)

_REQUIRED: dict[str, tuple[str, ...]] = {
    "communities": ("area_id",),
    "grids": ("area_id",),
    "compounds": ("compound_id",),
    "roads": ("road_id",),
    "findings": ("rule",),
    "facilities": (),
    "units": ("unit_id",),
    "isochrones": ("threshold",),
    "unreached": ("location_id",),
}


@dataclass(frozen=True)
class MapLayers:
    """The layers of one planner map.

    Parameters
    ----------
    communities
        Community polygons: ``area_id`` and, where known, ``name``, ``code``, ``households``,
        ``residents``; optional metric columns (``road_boundary_share``, ``parts``, …) show in
        popups.
    grids
        Grid polygons: ``area_id``, ``code``, ``name``, ``parent_id``, ``households``, …
    compounds
        Compounds (polygons or points): ``compound_id``, ``name``, ``households``; an optional
        ``community_id`` column says which community holds each, else it is found spatially.
    roads
        Road centrelines: ``road_id``, ``road_class``, ``name``.
    findings
        Check findings: ``rule``, ``severity``, ``level``, ``area_id``, ``value``,
        ``message`` and a geometry.
    facilities
        Service facilities (points): ``name``, ``kind``. Each gets walking circles.
    units
        The plan's building blocks (drawn thin, hidden until switched on).
    isochrones
        Walking isochrones along the network per facility and threshold
        (:meth:`gridplan.geo.reach.ReachResult.isochrones`); when given they replace the
        facilities' walking circles (:mod:`gridplan.maps.reach`).
    unreached
        Household locations beyond reach of their community's service centre.
    bands
        The size band per level (``community``, ``grid``).
    title
        Shown at the top of the map.
    """

    communities: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame | None = None
    compounds: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    findings: gpd.GeoDataFrame | None = None
    facilities: gpd.GeoDataFrame | None = None
    units: gpd.GeoDataFrame | None = None
    isochrones: gpd.GeoDataFrame | None = None
    unreached: gpd.GeoDataFrame | None = None
    bands: Mapping[str, Band] = field(default_factory=lambda: dict(DEFAULT_BANDS))
    title: str = ""

    def __post_init__(self) -> None:
        for name, required in _REQUIRED.items():
            layer = getattr(self, name)
            if layer is None:
                if name == "communities":
                    raise InputError("a map needs communities")
                continue
            if not isinstance(layer, gpd.GeoDataFrame):
                raise InputError(f"map layer {name} must be a GeoDataFrame")
            if layer.crs is None and not layer.empty:
                raise CRSError(f"map layer {name}: no CRS; set one (e.g. EPSG:4326)")
            missing = [c for c in required if c not in layer.columns]
            if missing:
                raise InputError(
                    f"map layer {name}: missing column(s) {', '.join(missing)} "
                    f"(columns: {', '.join(map(str, layer.columns))})"
                )
            # rows are addressed by position when drawing: drop any (duplicate) index
            object.__setattr__(self, name, layer.reset_index(drop=True))
        if self.communities.empty:
            raise InputError("map layer communities is empty: nothing to draw")

    def band(self, level: Level | str) -> Band | None:
        """The band of ``level``, if any."""
        return self.bands.get(Level(level).value)

    @classmethod
    def from_plan(
        cls,
        plan: Plan,
        *,
        metrics: pd.DataFrame | None = None,
        grid_metrics: pd.DataFrame | None = None,
        findings: gpd.GeoDataFrame | None = None,
        compounds: gpd.GeoDataFrame | None = None,
        roads: gpd.GeoDataFrame | None = None,
        facilities: gpd.GeoDataFrame | None = None,
        units: gpd.GeoDataFrame | None = None,
        bands: Mapping[str, Band] | None = None,
        title: str | None = None,
    ) -> MapLayers:
        """Build the layers of a plan.

        Parameters
        ----------
        plan
            The plan: its community and grid areas are drawn.
        metrics
            Per-area metrics (e.g. the rule engine's ``CheckReport.areas``), joined onto the
            communities for popups (see :func:`join_metrics`).
        grid_metrics
            The same for grids.
        findings, compounds, roads, facilities, units
            Other layers, as in :class:`MapLayers`.
        bands
            Bands per level; default: the plan's targets, else :data:`DEFAULT_BANDS`.
        title
            Map title; default: the plan's name and id.
        """
        communities = join_metrics(plan.areas_at(Level.COMMUNITY), metrics, Level.COMMUNITY)
        grids = plan.areas_at(Level.GRID)
        grid_layer = join_metrics(grids, grid_metrics, Level.GRID) if not grids.empty else None
        if title is None:
            title = plan.name + (f" (plan {plan.plan_id})" if plan.plan_id is not None else "")
        return cls(
            communities=communities,
            grids=grid_layer,
            compounds=compounds,
            roads=roads,
            findings=findings,
            facilities=facilities,
            units=units,
            bands=dict(bands) if bands is not None else bands_from_targets(plan.targets),
            title=title,
        )


def bands_from_targets(targets: Mapping[str, Any]) -> dict[str, Band]:
    """Read bands from a plan's targets, falling back to :data:`DEFAULT_BANDS` per level.

    Parameters
    ----------
    targets
        E.g. ``{"community": {"households": [1000, 3000]}, "grid": {"households": [300, 500]}}``.
        When a level names both measures, households wins.

    Examples
    --------
    >>> bands_from_targets({"community": {"residents": [3000, 5000]}})["community"]
    Band(lo=3000.0, hi=5000.0, field='residents')
    """
    out = dict(DEFAULT_BANDS)
    for level in (Level.COMMUNITY.value, Level.GRID.value):
        spec = targets.get(level) if isinstance(targets, Mapping) else None
        if not isinstance(spec, Mapping):
            continue
        for measure in ("households", "residents"):
            value = spec.get(measure)
            if value is not None and len(value) == 2:
                out[level] = Band(float(value[0]), float(value[1]), measure)
                break
    return out


def join_metrics(
    areas: gpd.GeoDataFrame, metrics: pd.DataFrame | None, level: Level | str
) -> gpd.GeoDataFrame:
    """Add per-area metric columns (e.g. ``road_boundary_share``) to areas, by id.

    Parameters
    ----------
    areas
        Areas with ``area_id``.
    metrics
        One row per area with ``area_id`` (or ``id``, as in ``CheckReport.areas``) and
        optionally ``level`` (rows of other levels are ignored). Only columns the areas do not
        already have are added.
    level
        The level of ``areas``.
    """
    if metrics is None or metrics.empty:
        return areas
    if "area_id" not in metrics.columns and "id" in metrics.columns:
        metrics = metrics.rename(columns={"id": "area_id"})
    if "area_id" not in metrics.columns:
        return areas
    level = Level(level)
    rows = metrics
    if "level" in rows.columns:
        rows = rows[rows["level"].astype(str) == level.value]
    skip = ("level", "geometry")
    extra = [c for c in rows.columns if c not in areas.columns and c not in skip]
    if not extra:
        return areas
    joined = rows[["area_id", *extra]].drop_duplicates("area_id").copy()
    joined["area_id"] = joined["area_id"].astype(str)
    out = areas.copy()
    out["area_id"] = out["area_id"].astype(str)
    merged = out.merge(joined, on="area_id", how="left")
    return gpd.GeoDataFrame(merged, geometry=out.geometry.name, crs=areas.crs)
