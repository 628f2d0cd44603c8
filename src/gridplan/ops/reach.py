"""Service reach use cases: one implementation behind ``gridplan reach``, ``GET
/plans/{id}/reach`` and the map.

* :func:`plan_reach` — per community of a stored plan, the households within each walking
  threshold of its own service centre and of any facility (of a kind), with the isochrones and
  the unreached household locations (:mod:`gridplan.geo.reach`).
* :func:`site_centres` — where to put new service centre(s) in one community so that the most
  of its households are within the threshold (:mod:`gridplan.geo.siting`).

The store's layers used: ``paths`` (else ``roads``) as the walking network, ``facilities``,
and the household locations: ``buildings`` with households, else ``compounds``, else
``units``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.data.crs import STORAGE_CRS
from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.errors import InputError, NotFoundError
from gridplan.geo.reach import (
    DEFAULT_THRESHOLDS,
    WALKING_SPEED,
    ReachResult,
    attach,
    household_locations,
    network_distances,
    service_reach,
    threshold_metres,
)
from gridplan.geo.siting import SitingResult, site_mclp
from gridplan.ops.checks import jsonable
from gridplan.ops.layers import read_layers
from gridplan.plan import Level, Plan

#: Coordinates of GeoJSON output are rounded to this many decimals (about 1 cm).
_DECIMALS = 7


def thresholds_of(
    metres: Sequence[float] | None = None,
    minutes: Sequence[float] | None = None,
    speed: float = WALKING_SPEED,
) -> tuple[float, ...]:
    """Thresholds in metres: ``metres``, else ``minutes × speed``, else the defaults.

    Raises
    ------
    InputError
        If both are given, or a value is not positive.

    Examples
    --------
    >>> thresholds_of(minutes=[10, 15]), thresholds_of()
    ((500.0, 750.0), (300.0, 500.0, 1000.0))
    """
    if metres and minutes:
        raise InputError("give thresholds in metres or in minutes, not both")
    if metres:
        return tuple(sorted({threshold_metres(metres=m, speed=speed) for m in metres}))
    if minutes:
        return tuple(sorted({threshold_metres(minutes=m, speed=speed) for m in minutes}))
    return DEFAULT_THRESHOLDS


@dataclass(frozen=True)
class ReachInputs:
    """What the reach of a plan is computed from (read once from the store)."""

    plan: Plan
    communities: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame | None
    lines: gpd.GeoDataFrame | None
    network_layer: str
    locations: gpd.GeoDataFrame


def read_reach_inputs(
    store: Store, plan_id: int | None = None, *, plan: Plan | None = None
) -> ReachInputs:
    """The plan's communities and the store's facilities, walking network and households
    (``plan`` given: that plan instead of loading ``plan_id``).

    Raises
    ------
    NotFoundError
        If there is no such plan.
    InputError
        If the plan has no communities.
    """
    if plan is None:
        plan = store.load_plan(plan_id)
    communities = plan.areas_at(Level.COMMUNITY)
    if communities.empty:
        raise InputError(f"plan {plan.plan_id} has no communities to measure reach in")
    got = read_layers(
        store,
        (
            LayerKind.PATHS,
            LayerKind.ROADS,
            LayerKind.FACILITIES,
            LayerKind.BUILDINGS,
            LayerKind.COMPOUNDS,
            LayerKind.UNITS,
        ),
    )
    lines, layer = got[LayerKind.PATHS], "paths"
    if lines is None:
        lines, layer = got[LayerKind.ROADS], "roads"
    locations = household_locations(
        buildings=got[LayerKind.BUILDINGS],
        compounds=got[LayerKind.COMPOUNDS],
        units=got[LayerKind.UNITS],
    )
    return ReachInputs(
        plan=plan,
        communities=communities,
        facilities=got[LayerKind.FACILITIES],
        lines=lines,
        network_layer=layer if lines is not None else "",
        locations=locations,
    )


@dataclass(frozen=True)
class PlanReach:
    """The reach of a plan's communities (:func:`plan_reach`).

    Attributes
    ----------
    plan_id
        The plan.
    result
        The computation (:class:`~gridplan.geo.reach.ReachResult`, metric CRS).
    network_layer
        ``paths`` or ``roads``: what was walked on.
    minutes
        The thresholds in minutes when they were asked for in minutes, else ``None``.
    speed
        Walking speed, metres per minute.
    """

    plan_id: int | None
    result: ReachResult
    network_layer: str
    minutes: tuple[float, ...] | None = None
    speed: float = WALKING_SPEED
    _isochrones: dict[str, gpd.GeoDataFrame] = field(default_factory=dict, repr=False)

    def rows(self, threshold: float | None = None) -> list[dict[str, Any]]:
        """Per community and threshold: ``community``, ``name``, ``threshold``,
        ``households``, ``centres``, ``households_within``, ``share``,
        ``households_within_any``, ``share_any``."""
        frame = self.result.communities if threshold is None else self.result.at(float(threshold))
        return [jsonable(r) for r in frame.to_dict(orient="records")]

    def isochrones(self) -> gpd.GeoDataFrame:
        """Isochrones per facility and threshold, EPSG:4326 (computed once)."""
        if "iso" not in self._isochrones:
            iso = self.result.isochrones()
            self._isochrones["iso"] = _wgs84(iso)
        return self._isochrones["iso"]

    def unreached(self, threshold: float | None = None) -> gpd.GeoDataFrame:
        """The household locations beyond ``threshold`` (default: the largest) of their
        community's service centre, EPSG:4326."""
        t = max(self.result.thresholds) if threshold is None else float(threshold)
        return _wgs84(self.result.unreached(t))

    def to_json(self, *, geometry: bool = True) -> dict[str, Any]:
        """The ``GET /plans/{id}/reach`` document.

        ``{"plan_id", "network", "speed_m_per_min", "thresholds": [{"metres", "minutes",
        "communities": [{"community", "name", "households", "households_within", "share",
        "centres", "any": {"kind", "households_within", "share"}}]}], "notes",
        "isochrones": FeatureCollection, "unreached": FeatureCollection}`` (the last two
        only with ``geometry``; ``unreached`` at the smallest threshold).
        """
        levels = []
        for k, t in enumerate(self.result.thresholds):
            communities = [
                {
                    "community": r["community"],
                    "name": r["name"],
                    "households": r["households"],
                    "households_within": r["households_within"],
                    "share": r["share"],
                    "centres": [c for c in str(r["centres"] or "").split(";") if c],
                    "any": {
                        "kind": self.result.kind,
                        "households_within": r["households_within_any"],
                        "share": r["share_any"],
                    },
                }
                for r in self.rows(t)
            ]
            levels.append(
                {
                    "metres": t,
                    "minutes": self.minutes[k] if self.minutes else t / self.speed,
                    "communities": communities,
                }
            )
        doc: dict[str, Any] = {
            "plan_id": self.plan_id,
            "network": self.network_layer,
            "speed_m_per_min": self.speed,
            "kind": self.result.kind,
            "thresholds": levels,
            "notes": list(self.result.notes),
        }
        if geometry:
            doc["isochrones"] = feature_collection(self.isochrones())
            columns = ["location_id", "layer", "name", "households", "community"]
            unreached = self.unreached(min(self.result.thresholds))
            doc["unreached"] = feature_collection(
                unreached[[*columns, "distance_centre", "geometry"]]
            )
        return jsonable(doc)


def plan_reach(
    store: Store,
    plan_id: int | None = None,
    *,
    metres: Sequence[float] | None = None,
    minutes: Sequence[float] | None = None,
    speed: float = WALKING_SPEED,
    kind: str | None = None,
    plan: Plan | None = None,
) -> PlanReach:
    """Walking reach of a stored plan's communities (default: the latest plan).

    Parameters
    ----------
    store
        An open store.
    plan_id
        The plan (default: the latest).
    metres, minutes
        The thresholds (default 300 / 500 / 1,000 m); minutes are walked at ``speed``.
    speed
        Metres per minute.
    kind
        The facility kind "any facility" counts (default: every facility).
    plan
        A plan to measure instead of loading ``plan_id`` (e.g. one whose communities were
        dissolved from its grids).

    Raises
    ------
    NotFoundError
        If there is no such plan.
    InputError
        If a threshold is bad or the plan has no communities.
    """
    ts = thresholds_of(metres, minutes, speed)
    inputs = read_reach_inputs(store, plan_id, plan=plan)
    facilities = inputs.facilities if inputs.facilities is not None else _no_facilities()
    result = service_reach(
        inputs.communities,
        facilities,
        inputs.locations,
        inputs.lines,
        thresholds=ts,
        kind=kind,
    )
    mins = tuple(t / speed for t in ts) if minutes else None
    return PlanReach(inputs.plan.plan_id, result, inputs.network_layer, mins, speed)


def map_reach(
    store: Store, plan: Plan, *, metres: float, thresholds: Sequence[float] = DEFAULT_THRESHOLDS
) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    """What the map draws of a plan's reach: the isochrones at ``thresholds`` and the
    household locations beyond ``metres`` of their service centre (EPSG:4326), or
    ``(None, None)`` when the store has no facilities or no walking network."""
    if plan.areas_at(Level.COMMUNITY).empty:
        return None, None
    if not store.count(LayerKind.FACILITIES) or not (
        store.count(LayerKind.PATHS) or store.count(LayerKind.ROADS)
    ):
        return None, None
    reach = plan_reach(store, metres=[*thresholds, metres], plan=plan)
    return reach.isochrones(), reach.unreached(metres)


@dataclass(frozen=True)
class SiteSuggestion:
    """Suggested service-centre sites in one community (:func:`site_centres`).

    Attributes
    ----------
    plan_id, community, name
        The plan and community.
    metres
        The walking threshold.
    candidates
        The candidate sites considered, EPSG:4326: ``candidate_id``, ``households_covered``
        (each alone, beyond the existing coverage), ``chosen``.
    siting
        The solution (indices into ``candidates``), households covered before and after.
    centres
        The community's existing service centres (facility ids).
    """

    plan_id: int | None
    community: str
    name: str | None
    metres: float
    candidates: gpd.GeoDataFrame
    siting: SitingResult
    centres: tuple[str, ...]

    def chosen(self) -> gpd.GeoDataFrame:
        """The chosen sites, in the order of :attr:`SitingResult.chosen`, with the
        households each adds."""
        rows = self.candidates.iloc[list(self.siting.chosen)].copy()
        rows["households_gained"] = list(self.siting.gains)
        return rows.reset_index(drop=True)

    def to_json(self) -> dict[str, Any]:
        """A JSON document of the suggestion (sites as ``[lon, lat]``)."""
        s = self.siting
        sites = [
            {
                "candidate_id": r["candidate_id"],
                "lon": round(float(r.geometry.x), _DECIMALS),
                "lat": round(float(r.geometry.y), _DECIMALS),
                "households_gained": r["households_gained"],
            }
            for _, r in self.chosen().iterrows()
        ]
        return jsonable(
            {
                "plan_id": self.plan_id,
                "community": self.community,
                "name": self.name,
                "metres": self.metres,
                "centres": list(self.centres),
                "households": s.total,
                "households_within_before": s.baseline,
                "households_within_after": s.covered,
                "households_gained": s.gained,
                "share_before": s.baseline / s.total if s.total else None,
                "share_after": s.covered / s.total if s.total else None,
                "method": s.method,
                "optimal": s.optimal,
                "candidates": len(self.candidates),
                "sites": sites,
            }
        )


def site_centres(
    store: Store,
    community: str,
    *,
    plan_id: int | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    metres: float | None = None,
    minutes: float | None = None,
    speed: float = WALKING_SPEED,
    count: int = 1,
    method: str = "exact",
    keep_existing: bool = True,
) -> SiteSuggestion:
    """Suggest where to put ``count`` service centre(s) in one community.

    Parameters
    ----------
    store
        An open store.
    community
        The community's id, name or code in the plan.
    plan_id
        The plan (default: the latest).
    candidates
        Candidate sites (any geometry: their representative points; an id column
        ``candidate_id``, ``id`` or ``facility_id``, else the row number); default: the
        household locations (buildings) of the community.
    metres, minutes
        The walking threshold (default 10 minutes at ``speed``).
    count
        How many sites to choose.
    method
        ``exact`` (MILP) or ``greedy``.
    keep_existing
        Count the households already within reach of the existing centre(s) as covered,
        so the sites go where they add most (``False``: site from scratch).

    Raises
    ------
    NotFoundError
        If the plan or community does not exist.
    InputError
        If there are no candidates, no walking network or no households in the community.
    """
    if metres is None and minutes is None:
        minutes = 10.0
    limit = threshold_metres(metres=metres, minutes=minutes, speed=speed)
    inputs = read_reach_inputs(store, plan_id)
    areas = inputs.communities
    row = _community_row(areas, community)
    if inputs.lines is None:
        raise InputError("no walking network: import paths (or roads) first")
    facilities = inputs.facilities if inputs.facilities is not None else _no_facilities()
    result = service_reach(
        areas.iloc[[row]], facilities, inputs.locations, inputs.lines, thresholds=(limit,)
    )
    loc = result.locations[result.locations["community"].notna()].reset_index(drop=True)
    if not len(loc):
        raise InputError(f"community {community}: no household locations inside it")
    network = result.network
    assert network is not None
    points = np.asarray(loc.geometry.representative_point().values, dtype=object)
    if candidates is None:
        cand = gpd.GeoDataFrame(
            {"candidate_id": loc["location_id"].to_numpy(dtype=object)},
            geometry=points,
            crs=result.crs,
        )
    else:
        cand = _candidates(candidates, result.crs)
    if not len(cand):
        raise InputError("no candidate sites")
    cand_points = np.asarray(cand.geometry.values, dtype=object)
    dist = network_distances(
        network, attach(network, cand_points), attach(network, points), limit=limit
    )
    cover = dist <= limit
    weights = loc["households"].to_numpy(dtype=float)
    covered = (
        loc["distance_centre"].to_numpy(dtype=float) <= limit
        if keep_existing
        else np.zeros(len(loc), dtype=bool)
    )
    siting = site_mclp(cover, weights, min(count, len(cand)), covered=covered, method=method)
    alone = (cover & ~covered[None, :]) @ weights
    cand = cand.assign(households_covered=alone, chosen=False)
    cand.loc[list(siting.chosen), "chosen"] = True
    centres = str(result.communities["centres"].iloc[0] or "")
    return SiteSuggestion(
        plan_id=inputs.plan.plan_id,
        community=str(areas["area_id"].iloc[row]),
        name=None if pd.isna(areas["name"].iloc[row]) else str(areas["name"].iloc[row]),
        metres=limit,
        candidates=_wgs84(cand),
        siting=siting,
        centres=tuple(c for c in centres.split(";") if c),
    )


def _community_row(areas: gpd.GeoDataFrame, community: str) -> int:
    wanted = str(community).strip()
    for column in ("area_id", "name", "code"):
        if column in areas.columns:
            hits = np.flatnonzero(areas[column].astype(str).to_numpy() == wanted)
            if len(hits):
                return int(hits[0])
    known = ", ".join(areas["area_id"].astype(str).head(10))
    raise NotFoundError(f"no community {community!r} in the plan (communities: {known}, …)")


def _candidates(candidates: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    if candidates.crs is None:
        raise InputError("candidates: the layer has no CRS")
    frame = candidates.to_crs(crs).reset_index(drop=True)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    ok = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    frame, geoms = frame[ok].reset_index(drop=True), geoms[ok]
    column = next((c for c in ("candidate_id", "id", "facility_id", "name") if c in frame), None)
    ids = (
        frame[column].astype(str).to_numpy(dtype=object)
        if column is not None
        else np.array([str(i + 1) for i in range(len(frame))], dtype=object)
    )
    points = shapely.point_on_surface(geoms)
    return gpd.GeoDataFrame({"candidate_id": ids}, geometry=points, crs=crs)


def _no_facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"facility_id": pd.Series([], dtype=object), "kind": pd.Series([], dtype=object)},
        geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    )


def _wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame.to_crs(STORAGE_CRS)
    geoms = shapely.set_precision(np.asarray(out.geometry.values, dtype=object), 10**-_DECIMALS)
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=STORAGE_CRS))


def feature_collection(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (RFC 7946) of an EPSG:4326 frame, non-finite numbers as
    ``null``."""
    data = frame.copy()
    for column in data.columns:
        if column != data.geometry.name and data[column].dtype.kind == "f":
            values = data[column].to_numpy(dtype=float)
            data[column] = pd.Series(
                [v if math.isfinite(v) else None for v in values], index=data.index, dtype=object
            )
    return jsonable(data.to_geo_dict(drop_id=True))


__all__ = [
    "PlanReach",
    "ReachInputs",
    "SiteSuggestion",
    "feature_collection",
    "map_reach",
    "plan_reach",
    "read_reach_inputs",
    "site_centres",
    "thresholds_of",
]
