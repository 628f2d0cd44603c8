"""Check a plan at each of its levels against its own targets (pure: no store).

A scenario's new plan is checked before it is stored, and its findings are stored with it;
``GET /plans/{id}/checks`` runs this same check on a stored plan with the store's layers. A
scenario on a stored base is checked with those same layers, so the findings stored with its
plan are the ones the endpoint serves (as long as no import changed the layers since).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely

from gridplan.data.crs import STORAGE_CRS, to_storage
from gridplan.data.layers import FINDING_COLUMNS, valid_polygons
from gridplan.data.store.records import to_multipolygons
from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.engine import check_areas
from gridplan.geo.rules.report import CheckReport
from gridplan.plan import Level, Plan


@dataclass(frozen=True)
class CheckLayers:
    """The layers a plan is checked against; each is optional (``None`` or empty: not used).

    Parameters
    ----------
    roads
        Road centrelines (the road rule runs only with them).
    compounds
        Compounds with households (split and unassigned compounds).
    outline
        The subdistrict outline (gaps); default: the union of the plan's areas.
    units
        Units with households (households of detached parts).
    facilities, paths, buildings
        Service facilities, walkable ways and buildings with households: the walking reach
        of each community's service centre (rule ``reach.outside``).
    """

    roads: gpd.GeoDataFrame | None = None
    compounds: gpd.GeoDataFrame | None = None
    outline: gpd.GeoDataFrame | None = None
    units: gpd.GeoDataFrame | None = None
    facilities: gpd.GeoDataFrame | None = None
    paths: gpd.GeoDataFrame | None = None
    buildings: gpd.GeoDataFrame | None = None


def check_plan_levels(
    plan: Plan,
    layers: CheckLayers | None = None,
    *,
    config: CheckConfig | None = None,
    overrides: pd.DataFrame | None = None,
    levels: tuple[Level, ...] = (Level.COMMUNITY, Level.GRID),
) -> dict[str, CheckReport]:
    """Run the rules on each level the plan has areas at, with the plan's own targets.

    Each level is checked with :meth:`CheckConfig.from_targets` of ``plan.targets`` (a level
    without targets uses the default band), its areas as a store keeps them (EPSG:4326,
    MultiPolygons): a plan gives the same findings before it is stored and once loaded.

    Parameters
    ----------
    plan
        The plan (stored or not).
    layers
        What to check it against (default: nothing but the plan's own areas).
    config
        One configuration for every level, instead of the plan's targets (the command line's
        ``--band``, ``--road-tolerance``, …).
    overrides
        Named assignments (rule ``compound.override_violated``), checked at the community
        level (or at the one level asked for).
    levels
        The levels to check (those the plan has no areas at are skipped).

    Returns
    -------
    dict
        One :class:`~gridplan.geo.rules.report.CheckReport` per level with areas, by level name,
        ``community`` before ``grid``.

    Raises
    ------
    InputError
        If a target band of the plan is malformed.

    Examples
    --------
    A plan of one community of 800 households, its band 1000–3000, has one finding::

        +--------+
        |   a    |   800 households
        +--------+

    ``check_plan_levels(plan)["community"].by_rule() == {"size.under": 1}``.
    """
    given = layers if layers is not None else CheckLayers()
    context = {
        "roads": _nonempty(given.roads),
        "compounds": _nonempty(given.compounds),
        "outline": _nonempty(given.outline),
        "units": _nonempty(given.units),
        "facilities": _nonempty(given.facilities),
        "paths": _nonempty(given.paths),
        "buildings": _nonempty(given.buildings),
    }
    reports: dict[str, CheckReport] = {}
    for level in levels:
        areas = plan.areas_at(level)
        if areas.empty:
            continue
        areas = stored_areas(areas, f"plan {plan.name!r} {level.value} areas")
        reports[level.value] = check_areas(
            areas,
            level=level,
            config=config if config is not None else CheckConfig.from_targets(plan.targets, level),
            overrides=overrides if level is Level.COMMUNITY or len(levels) == 1 else None,
            **context,
        )
    return reports


def stored_areas(areas: gpd.GeoDataFrame, source: str = "areas") -> gpd.GeoDataFrame:
    """Areas as a store keeps them and a check sees them: EPSG:4326, repaired, one-part
    MultiPolygons as Polygons (what :func:`check_plan_levels` checks; an incremental check of
    an edit prepares its areas with it too, so both see the same geometry)."""
    areas = to_storage(areas, source)
    return areas.set_geometry(
        gpd.GeoSeries(_single_parts(areas.geometry.values), index=areas.index, crs=STORAGE_CRS)
    )


def plan_findings(reports: Mapping[str, CheckReport]) -> gpd.GeoDataFrame:
    """The findings of every level, as stored: the columns of
    :data:`~gridplan.data.layers.FINDING_COLUMNS` (text as objects, ``value`` as floats) and
    a geometry in EPSG:4326, levels in the order given, each in its report's order."""
    frames = [r.findings_for_store().to_crs(STORAGE_CRS) for r in reports.values()]
    if frames:
        found = gpd.GeoDataFrame(
            pd.concat(frames, ignore_index=True), geometry="geometry", crs=STORAGE_CRS
        )
    else:
        found = gpd.GeoDataFrame(
            {c: pd.Series([], dtype=object) for c in FINDING_COLUMNS},
            geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
        )
    return found.astype({c: float if c == "value" else object for c in FINDING_COLUMNS})


def _single_parts(geoms: object) -> object:
    """Areas as a store gives them back, one-part MultiPolygons as Polygons: a plan is checked
    the same before it is stored and once loaded, and its findings draw single polygons."""
    # a dissolved area reprojected can cross itself by a hair: repair it
    multi = to_multipolygons(valid_polygons(geoms))  # type: ignore[arg-type]
    single = shapely.get_num_geometries(multi) == 1
    out = multi.copy()
    out[single] = shapely.get_geometry(multi[single], 0)
    return out


def _nonempty(frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    return frame if frame is not None and len(frame) else None


__all__ = ["CheckLayers", "check_plan_levels", "plan_findings", "stored_areas"]
