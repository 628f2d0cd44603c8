"""Household estimation from buildings: floor area ÷ floor area per household.

Where no household counts exist (an OSM extract, a building footprint layer), gridplan
estimates them from buildings::

    floor_area             = footprint area (m², in the dataset's metric CRS) × levels
    residential_floor_area = floor_area × residential share of the building's use
    households             = residential_floor_area ÷ floor_area_per_household

* **levels** come from the building's ``levels`` (OSM ``building:levels``) when it is a
  positive number (``levels_source = "tagged"``), else from a default per building type
  (:data:`DEFAULT_LEVELS`, else ``fallback_levels``; ``levels_source = "default"``). The
  report lists every building that used a default.
* **residential share**: 1 for the residential uses (:data:`RESIDENTIAL_USES`: ``house``,
  ``apartments``, ``residential``, …); ``mixed_share`` (default 0.5) for buildings whose use
  is unknown (OSM ``building=yes`` or no use at all), because in a city centre such a building
  is most often a mixed block with shops below flats — set it to 0 to count only buildings
  tagged as housing; 0 for every other use (offices, schools, churches, sheds, …).
* **floor area per household** defaults to 90 m² of gross floor area (a typical urban flat
  with its share of stairs, walls and corridors; Chinese statistics quote 90–100 m² of
  built area per urban household). Every figure is a parameter of :class:`HouseholdParams`.

Households are **fractional estimates** (a 300 m² house gives 3.33 households); sums over
blocks and communities are what matter. :func:`round_households` rounds to whole households
while keeping the rounded total.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> b = gpd.GeoDataFrame({"building_id": ["a", "b"], "use": ["apartments", "house"],
...                       "levels": [6.0, None]},
...                      geometry=[box(0, 0, 30, 15), box(100, 0, 110, 9)], crs=32650)
>>> est = estimate_households(b)
>>> est.buildings["households"].round(2).tolist()
[30.0, 2.0]
>>> est.report.default_level_ids
('b',)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from gridplan.data.crs import metric_crs, require_crs
from gridplan.errors import InputError

#: Default number of above-ground levels per building type (OSM ``building`` values).
DEFAULT_LEVELS: Mapping[str, float] = MappingProxyType(
    {
        "house": 2.0,
        "detached": 2.0,
        "semidetached_house": 2.0,
        "terrace": 2.0,
        "farm": 2.0,
        "bungalow": 1.0,
        "static_caravan": 1.0,
        "apartments": 5.0,
        "residential": 4.0,
        "dormitory": 4.0,
        "commercial": 3.0,
        "office": 4.0,
        "retail": 1.0,
        "industrial": 1.0,
        "warehouse": 1.0,
        "garage": 1.0,
        "garages": 1.0,
        "shed": 1.0,
        "hut": 1.0,
        "kiosk": 1.0,
        "roof": 1.0,
        "carport": 1.0,
    }
)

#: Building uses counted as wholly residential.
RESIDENTIAL_USES: frozenset[str] = frozenset(
    {
        "residential",
        "apartments",
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "bungalow",
        "dormitory",
        "farm",
        "static_caravan",
        "住宅",
    }
)

#: Uses treated as "unknown, possibly mixed" (the empty string stands for no use at all).
MIXED_USES: frozenset[str] = frozenset({"yes", ""})


@dataclass(frozen=True)
class HouseholdParams:
    """Parameters of the household estimate (every figure configurable).

    Parameters
    ----------
    floor_area_per_household
        Gross floor area of one household, m² (default 90).
    default_levels
        Levels assumed per building use when ``levels`` is missing or not positive.
    fallback_levels
        Levels assumed for a use not in ``default_levels`` (default 3).
    residential_uses
        Uses whose whole floor area is housing.
    mixed_uses
        Uses of unknown purpose (OSM ``yes``; ``""`` = no use given): ``mixed_share`` of their
        floor area is housing.
    mixed_share
        Residential share of a mixed/unknown building, 0–1 (default 0.5).
    """

    floor_area_per_household: float = 90.0
    default_levels: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_LEVELS))
    fallback_levels: float = 3.0
    residential_uses: frozenset[str] = RESIDENTIAL_USES
    mixed_uses: frozenset[str] = MIXED_USES
    mixed_share: float = 0.5

    def __post_init__(self) -> None:
        if not self.floor_area_per_household > 0:
            raise InputError(
                f"floor_area_per_household must be positive, got {self.floor_area_per_household}"
            )
        if not 0.0 <= self.mixed_share <= 1.0:
            raise InputError(f"mixed_share must lie in 0–1, got {self.mixed_share}")
        bad = {k: v for k, v in self.default_levels.items() if not v > 0}
        if bad or not self.fallback_levels > 0:
            raise InputError(f"default levels must be positive, got {bad or self.fallback_levels}")

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON-serialisable values."""
        data = asdict(self)
        data["default_levels"] = dict(self.default_levels)
        data["residential_uses"] = sorted(self.residential_uses)
        data["mixed_uses"] = sorted(self.mixed_uses)
        return data


@dataclass(frozen=True)
class HouseholdReport:
    """What the estimate assumed, and its totals.

    Parameters
    ----------
    buildings
        Buildings considered.
    residential_buildings
        Buildings with a positive residential share.
    default_levels
        Buildings whose levels came from a default.
    default_levels_residential
        Of those, buildings with a positive residential share (the ones whose default
        changes the household total).
    default_level_ids
        Ids of every building whose levels came from a default.
    given
        Buildings that kept a household count given in the input.
    floor_area
        Total gross floor area, m².
    residential_floor_area
        Total residential floor area, m².
    households
        Total households (fractional).
    params
        The parameters used.
    """

    buildings: int
    residential_buildings: int
    default_levels: int
    default_levels_residential: int
    default_level_ids: tuple[str, ...]
    given: int
    floor_area: float
    residential_floor_area: float
    households: float
    params: HouseholdParams

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-serialisable values."""
        data = asdict(self)
        data["default_level_ids"] = list(self.default_level_ids)
        data["params"] = self.params.to_dict()
        return data


@dataclass(frozen=True)
class HouseholdEstimate:
    """Buildings with estimated households, and the report.

    ``buildings`` is a copy of the input with ``households`` (fractional), ``levels_used``,
    ``levels_source`` (``"tagged"`` | ``"default"``), ``floor_area`` (m²) and
    ``residential_floor_area`` (m²).
    """

    buildings: gpd.GeoDataFrame
    report: HouseholdReport


def estimate_households(
    buildings: gpd.GeoDataFrame,
    params: HouseholdParams | None = None,
    *,
    keep_given: bool = True,
    id_column: str = "building_id",
    source: str = "buildings",
) -> HouseholdEstimate:
    """Estimate households per building from footprint, levels and use.

    Parameters
    ----------
    buildings
        Building footprints (any CRS; areas are computed in the dataset's metric CRS) with
        optional ``levels`` and ``use`` columns.
    params
        Estimation parameters (default :class:`HouseholdParams`).
    keep_given
        Keep a non-missing ``households`` value already in the input instead of estimating
        (default); ``False`` re-estimates every building.
    id_column
        Column naming buildings in the report (row numbers if absent).
    source
        Name used in error messages.

    Returns
    -------
    HouseholdEstimate

    Raises
    ------
    CRSError
        If the buildings have no CRS.
    InputError
        If a building has no polygon footprint (missing, empty or not a polygon geometry:
        it would silently get 0 households) or, with ``keep_given``, a negative
        ``households`` value.
    """
    p = params or HouseholdParams()
    require_crs(buildings, source)
    n = len(buildings)
    ids = (
        buildings[id_column].astype(str).to_numpy()
        if id_column in buildings.columns
        else np.array([f"row {i + 1}" for i in range(n)], dtype=object)
    )
    geom_types = buildings.geometry.geom_type.to_numpy(dtype=object)
    no_footprint = ~np.isin(geom_types, ["Polygon", "MultiPolygon"]) | np.asarray(
        buildings.geometry.is_empty, dtype=bool
    )
    if no_footprint.any():
        i = np.flatnonzero(no_footprint)
        listed = ", ".join(
            f"{ids[j]} ({geom_types[j] if isinstance(geom_types[j], str) else 'no geometry'})"
            for j in i[:3]
        )
        more = f" and {len(i) - 3} more" if len(i) > 3 else ""
        raise InputError(
            f"{source}: {len(i)} building(s) have no polygon footprint: {listed}{more}"
        )
    if n:
        area = buildings.to_crs(metric_crs(buildings, source)).geometry.area.to_numpy(float)
    else:
        area = np.zeros(0)
    area = np.nan_to_num(area)
    uses = _uses(buildings)
    if "levels" in buildings.columns:
        tagged = pd.to_numeric(buildings["levels"], errors="coerce").to_numpy(dtype=float)
    else:
        tagged = np.full(n, np.nan)
    has_tag = np.isfinite(tagged) & (tagged > 0)
    defaults = np.array(
        [float(p.default_levels.get(u, p.fallback_levels)) for u in uses], dtype=float
    )
    levels = np.where(has_tag, tagged, defaults)
    share = np.array(
        [
            1.0 if u in p.residential_uses else p.mixed_share if u in p.mixed_uses else 0.0
            for u in uses
        ],
        dtype=float,
    )
    floor = area * levels
    res_floor = floor * share
    households = res_floor / p.floor_area_per_household
    given = np.zeros(n, dtype=bool)
    if keep_given and "households" in buildings.columns:
        prior = pd.to_numeric(buildings["households"], errors="coerce").to_numpy(dtype=float)
        negative = np.flatnonzero(prior < 0)
        if len(negative):
            listed = ", ".join(f"{ids[j]} ({prior[j]:g})" for j in negative[:3])
            more = f" and {len(negative) - 3} more" if len(negative) > 3 else ""
            raise InputError(f"{source}: negative households in building(s) {listed}{more}")
        given = np.isfinite(prior)
        households = np.where(given, prior, households)
    out = buildings.copy()
    out["households"] = households
    out["levels_used"] = levels
    out["levels_source"] = np.where(has_tag, "tagged", "default").astype(object)
    out["floor_area"] = floor
    out["residential_floor_area"] = res_floor
    report = HouseholdReport(
        buildings=n,
        residential_buildings=int((share > 0).sum()),
        default_levels=int((~has_tag).sum()),
        default_levels_residential=int((~has_tag & (share > 0)).sum()),
        default_level_ids=tuple(str(i) for i in ids[~has_tag]),
        given=int(given.sum()),
        floor_area=float(floor.sum()),
        residential_floor_area=float(res_floor.sum()),
        households=float(households.sum()),
        params=p,
    )
    return HouseholdEstimate(out, report)


def round_households(values: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Round fractional households to whole ones, keeping the rounded total.

    Largest-remainder rounding: every value is floored, then the values with the largest
    fractional parts get one more until the sum equals the rounded total (ties go to the
    earlier value). Missing values count as 0.

    Examples
    --------
    >>> round_households([0.4, 0.4, 0.4, 1.8]).tolist()
    [1, 0, 0, 2]
    """
    x = np.nan_to_num(np.asarray(values, dtype=float))
    if (x < 0).any():
        raise InputError("households cannot be negative")
    base = np.floor(x)
    short = round(float(x.sum())) - int(base.sum())
    if short > 0:
        order = np.argsort(-(x - base), kind="stable")
        base[order[:short]] += 1
    return base.astype(np.int64)


def _uses(buildings: gpd.GeoDataFrame) -> list[str]:
    if "use" not in buildings.columns:
        return [""] * len(buildings)
    return [
        "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip().lower()
        for v in buildings["use"]
    ]
