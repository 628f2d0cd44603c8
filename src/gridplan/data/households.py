"""Household estimation from buildings: floor area ÷ floor area per household.

Where no household counts exist (an OSM extract, a building footprint layer), gridplan
estimates them from buildings::

    floor_area             = footprint area (m², in the dataset's metric CRS) × levels
    residential_floor_area = floor_area × residential share of the building
    households             = residential_floor_area ÷ floor_area_per_household

* **levels** come from the building's ``levels`` (OSM ``building:levels``) when it is a
  positive number (``levels_source = "tagged"``), else from a default per building type
  (:data:`DEFAULT_LEVELS`, else ``fallback_levels``; ``levels_source = "default"``). The
  report lists every building that used a default.
* **floor area per household** defaults to 90 m² of gross floor area (a typical urban flat
  with its share of stairs, walls and corridors; Chinese statistics quote 90–100 m² of
  built area per urban household).

Residential share: which buildings hold households
--------------------------------------------------
A building whose use is **tagged** keeps the share its use gives: 1 for the residential uses
(:data:`RESIDENTIAL_USES`: ``house``, ``apartments``, ``residential``, …), 0 for every other
use (offices, schools, churches, sheds, …). Confidence ``high``.

A building of **unknown use** (OSM ``building=yes``, or no use at all: :data:`MIXED_USES`) is
in OSM as often a barn, garage, sauna, shop or workshop as a home, so it is judged by what is
known about it. The first rule that applies decides (rule id, residential share, confidence;
every number is a parameter of :class:`HouseholdParams`):

1. ``tag`` (0, medium): it carries a non-residential tag (``nonresidential_tags``:
   ``amenity``, ``shop``, ``office``, ``craft``, ``industrial``).
2. ``small`` (0, medium): its footprint is under ``min_footprint`` (35 m²): a shed, garage,
   sauna or kiosk.
3. ``narrow`` (0, medium): it is narrower than ``min_width`` (5 m, the short side of its
   minimum rotated rectangle): a carport, garage row or passage.
4. ``outbuilding`` (0, medium): its footprint is under ``outbuilding_footprint`` (100 m²)
   and it lies within ``outbuilding_distance`` (20 m) of a larger building tagged
   residential: that house's garage, sauna or barn.
5. ``hall`` (0, medium): its footprint is ``hall_footprint`` (1,500 m²) or more and it has at
   most ``hall_levels`` (1) tagged level, or no tagged levels and lies outside
   ``block_landuse`` (residential, commercial, retail, where such footprints are city blocks):
   a warehouse, factory or farm hall.
6. ``landuse:<value>`` (``landuse_shares[value]``): it lies in a landuse area listed in
   ``landuse_shares``: residential 0.5 (medium); commercial, retail and farmyard 0.25 (low:
   flats above shops, the farmhouse among the barns); industrial, farmland, allotments,
   garages, railway, military, cemetery, … 0 (medium).
7. ``no_landuse`` (``outside_share`` 0.25, low): it lies in no landuse area, or in one not
   listed in ``landuse_shares``.
8. ``untagged`` (``mixed_share`` 0.5, low): nothing is known of its landuse (the buildings
   have no ``landuse`` column). In a city centre such a building is most often a mixed block
   with shops below flats; set ``mixed_share`` to 0 to count only buildings tagged as housing.

The landuse of a building is its ``landuse`` column: :func:`gridplan.data.osm.read_osm` fills
it from the building's own ``landuse`` tag, else the smallest OSM landuse area containing the
building (:func:`landuse_of`); a buildings file may carry its own. Without the column the
landuse is unknown and the ``untagged`` rule applies, as before landuse was read.

Every building gets ``household_confidence`` (``given`` | ``high`` | ``medium`` | ``low``),
``household_rule`` (the rule id above, ``building`` for a tagged use, ``given`` / ``known``
for counts) and ``household_basis`` (the reason in words). The report counts buildings and
households per confidence level and per rule.

Calibration
-----------
A subdistrict that knows better keeps its figures exactly:

* **counts for some buildings** — a ``households`` value in the input (kept with
  ``keep_given``) or ``known`` (building id → households, e.g. from
  :func:`read_known_households`; it overrides the input) — are kept as they are;
* **a total** (``total``, e.g. the 户籍 or census count of the area): the households left
  after the known counts are spread over the other residential buildings in proportion to
  their residential floor area, so the buildings add up to the total exactly.

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
>>> est.buildings["household_confidence"].tolist()
['high', 'high']
>>> estimate_households(b, total=100).buildings["households"].round(2).tolist()
[93.75, 6.25]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

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

#: Tags (columns) that make a building of unknown use non-residential when they have a value.
NONRESIDENTIAL_TAGS: tuple[str, ...] = ("amenity", "shop", "office", "craft", "industrial")

#: Residential share of a building of unknown use by the landuse it lies in (OSM ``landuse``
#: values). Landuse values not listed count as no landuse (``outside_share``).
LANDUSE_SHARES: Mapping[str, float] = MappingProxyType(
    {
        "residential": 0.5,
        "commercial": 0.25,
        "retail": 0.25,
        "farmyard": 0.25,
        **dict.fromkeys(
            (
                "industrial",
                "farmland",
                "allotments",
                "garages",
                "railway",
                "military",
                "cemetery",
                "religious",
                "greenhouse_horticulture",
                "plant_nursery",
                "orchard",
                "vineyard",
                "meadow",
                "grass",
                "recreation_ground",
                "quarry",
                "landfill",
                "port",
                "depot",
                "construction",
                "brownfield",
                "education",
                "institutional",
                "aquaculture",
                "basin",
                "reservoir",
            ),
            0.0,
        ),
    }
)

#: Landuse in which a large footprint without levels is a city block, not a hall.
BLOCK_LANDUSE: frozenset[str] = frozenset({"residential", "commercial", "retail"})

#: Confidence levels of a building's estimate, surest first.
CONFIDENCE_LEVELS: tuple[str, ...] = ("given", "high", "medium", "low")


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
        Uses of unknown purpose (OSM ``yes``; ``""`` = no use given), judged by the rules of
        the module docstring.
    mixed_share
        Residential share of a building of unknown use whose landuse is not known, 0–1
        (default 0.5).
    nonresidential_tags
        Columns (OSM tags) that, when set, make a building of unknown use non-residential.
    min_footprint
        Footprint (m²) under which a building of unknown use holds no households (default 35).
    min_width
        Width (m, short side of the minimum rotated rectangle) under which a building of
        unknown use holds no households (default 5).
    outbuilding_footprint, outbuilding_distance
        A building of unknown use smaller than ``outbuilding_footprint`` m² (default 100)
        within ``outbuilding_distance`` m (default 20) of a larger building of a residential
        use is that house's outbuilding (no households).
    hall_footprint, hall_levels
        A building of unknown use with a footprint of ``hall_footprint`` m² (default 1500)
        or more and at most ``hall_levels`` tagged levels (default 1), or no tagged levels
        outside ``block_landuse``, is a hall (no households).
    block_landuse
        Landuse where large untagged footprints are city blocks (not halls).
    landuse_shares
        Residential share of a building of unknown use by the landuse it lies in.
    outside_share
        Residential share of a building of unknown use in no landuse area, or in one not in
        ``landuse_shares`` (default 0.25).
    """

    floor_area_per_household: float = 90.0
    default_levels: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_LEVELS))
    fallback_levels: float = 3.0
    residential_uses: frozenset[str] = RESIDENTIAL_USES
    mixed_uses: frozenset[str] = MIXED_USES
    mixed_share: float = 0.5
    nonresidential_tags: tuple[str, ...] = NONRESIDENTIAL_TAGS
    min_footprint: float = 35.0
    min_width: float = 5.0
    outbuilding_footprint: float = 100.0
    outbuilding_distance: float = 20.0
    hall_footprint: float = 1500.0
    hall_levels: float = 1.0
    block_landuse: frozenset[str] = BLOCK_LANDUSE
    landuse_shares: Mapping[str, float] = field(default_factory=lambda: dict(LANDUSE_SHARES))
    outside_share: float = 0.25

    def __post_init__(self) -> None:
        if not self.floor_area_per_household > 0:
            raise InputError(
                f"floor_area_per_household must be positive, got {self.floor_area_per_household}"
            )
        shares = {"mixed_share": self.mixed_share, "outside_share": self.outside_share}
        shares.update({f"landuse_shares[{k!r}]": v for k, v in self.landuse_shares.items()})
        for name, value in shares.items():
            if not 0.0 <= value <= 1.0:
                raise InputError(f"{name} must lie in 0–1, got {value}")
        bad = {k: v for k, v in self.default_levels.items() if not v > 0}
        if bad or not self.fallback_levels > 0:
            raise InputError(f"default levels must be positive, got {bad or self.fallback_levels}")
        sizes = {
            "min_footprint": self.min_footprint,
            "min_width": self.min_width,
            "outbuilding_footprint": self.outbuilding_footprint,
            "outbuilding_distance": self.outbuilding_distance,
            "hall_footprint": self.hall_footprint,
            "hall_levels": self.hall_levels,
        }
        negative = {k: v for k, v in sizes.items() if not v >= 0}
        if negative:
            raise InputError(f"sizes must not be negative, got {negative}")

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON-serialisable values."""
        data = asdict(self)
        data["default_levels"] = dict(self.default_levels)
        data["residential_uses"] = sorted(self.residential_uses)
        data["mixed_uses"] = sorted(self.mixed_uses)
        data["nonresidential_tags"] = list(self.nonresidential_tags)
        data["block_landuse"] = sorted(self.block_landuse)
        data["landuse_shares"] = dict(self.landuse_shares)
        return data


@dataclass(frozen=True)
class HouseholdReport:
    """What the estimate assumed, and its totals.

    Parameters
    ----------
    buildings
        Buildings considered.
    residential_buildings
        Buildings with households (a positive residential share, or a positive count given
        or known).
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
        Total households (fractional; the ``total`` when one was given).
    params
        The parameters used.
    confidence
        Per confidence level (:data:`CONFIDENCE_LEVELS`): ``buildings``,
        ``residential_buildings`` and ``households``.
    rules
        Per rule id (see the module docstring): ``buildings`` and ``households``.
    known
        Buildings whose count came from ``known``.
    estimated
        Households the rules estimated for the buildings without a count, before calibration.
    total
        The total calibrated to, if any.
    scale
        The factor the estimated buildings were scaled by to meet ``total`` (``None``
        without a total).
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
    confidence: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    rules: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    known: int = 0
    estimated: float = 0.0
    total: float | None = None
    scale: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-serialisable values."""
        data = asdict(self)
        data["default_level_ids"] = list(self.default_level_ids)
        data["params"] = self.params.to_dict()
        data["confidence"] = {k: dict(v) for k, v in self.confidence.items()}
        data["rules"] = {k: dict(v) for k, v in self.rules.items()}
        return data


@dataclass(frozen=True)
class HouseholdEstimate:
    """Buildings with estimated households, and the report.

    ``buildings`` is a copy of the input with ``households`` (fractional), ``levels_used``,
    ``levels_source`` (``"tagged"`` | ``"default"``), ``floor_area`` (m²),
    ``residential_floor_area`` (m²), ``household_confidence`` (``given`` | ``high`` |
    ``medium`` | ``low``), ``household_rule`` and ``household_basis`` (see the module
    docstring).
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
    total: float | None = None,
    known: Mapping[str, float] | None = None,
) -> HouseholdEstimate:
    """Estimate households per building from footprint, levels, use, tags and landuse.

    Parameters
    ----------
    buildings
        Building footprints (any CRS; areas are computed in the dataset's metric CRS) with
        optional ``levels``, ``use``, ``landuse`` and tag columns (``amenity``, ``shop``, …).
    params
        Estimation parameters (default :class:`HouseholdParams`).
    keep_given
        Keep a non-missing ``households`` value already in the input instead of estimating
        (default); ``False`` re-estimates every building.
    id_column
        Column naming buildings in the report and in ``known`` (row numbers if absent).
    source
        Name used in error messages.
    total
        Calibrate to this many households: the buildings with a given or known count keep
        it, the others share the rest in proportion to their residential floor area, so the
        buildings add up to ``total`` exactly.
    known
        Household counts for some buildings, by id (they override the input's
        ``households``).

    Returns
    -------
    HouseholdEstimate

    Raises
    ------
    CRSError
        If the buildings have no CRS.
    InputError
        If a building has no polygon footprint (missing, empty or not a polygon geometry:
        it would silently get 0 households); with ``keep_given``, a negative ``households``
        value; a ``known`` id that is no building, or a negative known count; a negative
        ``total``, one smaller than the known counts, or one that cannot be spread (no
        residential building without a count).
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
        geoms = np.asarray(
            buildings.to_crs(metric_crs(buildings, source)).geometry.values, dtype=object
        )
    else:
        geoms = np.zeros(0, dtype=object)
    area = np.nan_to_num(shapely.area(geoms).astype(float)) if n else np.zeros(0)
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
    judged = _judge(buildings, p, ids, uses, geoms, area, np.where(has_tag, tagged, np.nan))
    share = judged.share
    floor = area * levels
    res_floor = floor * share
    estimate = res_floor / p.floor_area_per_household
    households = estimate.copy()
    rule = judged.rule
    confidence = judged.confidence
    basis = judged.basis
    given = np.zeros(n, dtype=bool)
    if keep_given and "households" in buildings.columns:
        prior = pd.to_numeric(buildings["households"], errors="coerce").to_numpy(dtype=float)
        _refuse_negative(prior, ids, f"{source}: negative households in building(s)")
        given = np.isfinite(prior)
        households = np.where(given, prior, households)
        rule = np.where(given, "given", rule)
        confidence = np.where(given, "given", confidence)
        basis = np.where(given, "households given in the input", basis)
    known_mask = np.zeros(n, dtype=bool)
    if known:
        counts = _known_counts(known, ids, source)
        known_mask = np.isfinite(counts)
        households = np.where(known_mask, counts, households)
        rule = np.where(known_mask, "known", rule)
        confidence = np.where(known_mask, "given", confidence)
        basis = np.where(known_mask, "households known for this building", basis)
        given &= ~known_mask
    fixed = given | known_mask
    estimated = math.fsum(households[~fixed])
    scale = None
    if total is not None:
        households, scale = _calibrate(households, fixed, float(total), source)
        if scale is not None:
            note = f"; scaled ×{scale:.3g} to the total of {float(total):,.6g}"
            scaled = ~fixed & (estimate > 0)
            basis = np.where(scaled, np.char.add(basis.astype(str), note), basis)
    out = buildings.copy()
    out["households"] = households
    out["levels_used"] = levels
    out["levels_source"] = np.where(has_tag, "tagged", "default").astype(object)
    out["floor_area"] = floor
    out["residential_floor_area"] = res_floor
    out["household_confidence"] = np.asarray(confidence, dtype=object)
    out["household_rule"] = np.asarray(rule, dtype=object)
    out["household_basis"] = np.asarray(basis, dtype=object)
    housing = (share > 0) & ~fixed | fixed & (households > 0)
    report = HouseholdReport(
        buildings=n,
        residential_buildings=int(housing.sum()),
        default_levels=int((~has_tag).sum()),
        default_levels_residential=int((~has_tag & (share > 0)).sum()),
        default_level_ids=tuple(str(i) for i in ids[~has_tag]),
        given=int(given.sum()),
        floor_area=float(floor.sum()),
        residential_floor_area=float(res_floor.sum()),
        households=math.fsum(households),
        params=p,
        confidence=_summary(confidence, households, housing, CONFIDENCE_LEVELS),
        rules=_summary(rule, households, housing),
        known=int(known_mask.sum()),
        estimated=estimated,
        total=None if total is None else float(total),
        scale=scale,
    )
    return HouseholdEstimate(out, report)


def landuse_of(
    buildings: gpd.GeoDataFrame, landuse: gpd.GeoDataFrame, *, column: str = "landuse"
) -> pd.Series:
    """The landuse each building lies in: the smallest area containing its inner point.

    Parameters
    ----------
    buildings
        Building footprints.
    landuse
        Landuse polygons with a ``column`` of values (e.g. OSM ``landuse``), in any CRS.
    column
        The column of ``landuse`` holding the value.

    Returns
    -------
    pandas.Series
        One value per building (index of ``buildings``), ``None`` where no area contains it.

    Examples
    --------
    >>> from shapely import box
    >>> b = gpd.GeoDataFrame(geometry=[box(1, 1, 2, 2), box(8, 8, 9, 9), box(30, 0, 31, 1)],
    ...                      crs=32650)
    >>> lu = gpd.GeoDataFrame({"landuse": ["residential", "retail"]},
    ...                       geometry=[box(0, 0, 20, 20), box(5, 5, 10, 10)], crs=32650)
    >>> landuse_of(b, lu).tolist()
    ['residential', 'retail', None]
    """
    result = pd.Series([None] * len(buildings), index=buildings.index, dtype=object)
    polys = landuse[landuse.geom_type.isin(["Polygon", "MultiPolygon"]) & landuse[column].notna()]
    if not len(buildings) or not len(polys):
        return result
    if polys.crs is not None and buildings.crs is not None and polys.crs != buildings.crs:
        polys = polys.to_crs(buildings.crs)
    geoms = np.asarray(polys.geometry.values, dtype=object)
    points = shapely.point_on_surface(np.asarray(buildings.geometry.values, dtype=object))
    tree = shapely.STRtree(geoms)
    inside, which = tree.query(points, predicate="within")
    if not len(inside):
        return result
    size = shapely.area(geoms)[which]
    order = np.lexsort((size, inside))
    inside, which = inside[order], which[order]
    first = np.r_[True, inside[1:] != inside[:-1]]
    values = polys[column].astype(str).to_numpy(dtype=object)
    result.iloc[inside[first]] = values[which[first]]
    return result


def read_known_households(path: str | Path, *, id_column: str = "building_id") -> dict[str, float]:
    """Read known household counts per building from a CSV file (``building_id,households``).

    Parameters
    ----------
    path
        A CSV file with a header naming ``id_column`` and ``households``.
    id_column
        The column of building ids (default ``building_id``).

    Returns
    -------
    dict
        Building id → households.

    Raises
    ------
    InputError
        If the file is missing or lacks a column, an id repeats, or a count is missing, not
        a number or negative.
    """
    src = Path(path)
    if not src.is_file():
        raise InputError(f"{src}: no such file of known households")
    try:
        table = pd.read_csv(src, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, OSError) as exc:
        raise InputError(f"{src.name}: cannot read known households ({exc})") from exc
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in (id_column, "households") if c not in table.columns]
    if missing:
        raise InputError(
            f"{src.name}: known households need the columns {id_column} and households "
            f"(missing {', '.join(missing)}; found {', '.join(table.columns)})"
        )
    ids = table[id_column].str.strip()
    text = table["households"].str.strip()
    counts = pd.to_numeric(text, errors="coerce")
    problems = [
        f"{i} ({t or 'empty'})" for i, t, c in zip(ids, text, counts, strict=True) if not c >= 0
    ]
    if problems:
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise InputError(
            f"{src.name}: households must be non-negative numbers: {', '.join(problems[:3])}{more}"
        )
    repeated = sorted(set(ids[ids.duplicated()]))
    if repeated or (ids == "").any():
        raise InputError(f"{src.name}: building ids missing or repeated: {repeated[:3] or ['']}")
    return dict(zip(ids, counts.astype(float), strict=True))


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
    short = round(math.fsum(x)) - int(base.sum())
    if short > 0:
        order = np.argsort(-(x - base), kind="stable")
        base[order[:short]] += 1
    return base.astype(np.int64)


@dataclass(frozen=True)
class _Judgement:
    share: npt.NDArray[np.float64]
    rule: npt.NDArray[Any]
    confidence: npt.NDArray[Any]
    basis: npt.NDArray[Any]


def _judge(
    buildings: gpd.GeoDataFrame,
    p: HouseholdParams,
    ids: npt.NDArray[Any],
    uses: list[str],
    geoms: npt.NDArray[Any],
    area: npt.NDArray[np.float64],
    tagged_levels: npt.NDArray[np.float64],
) -> _Judgement:
    """Residential share, rule, confidence and reason of every building (module docstring)."""
    n = len(uses)
    share = np.zeros(n)
    rule = np.full(n, "building", dtype=object)
    confidence = np.full(n, "high", dtype=object)
    basis = np.empty(n, dtype=object)
    open_ = np.zeros(n, dtype=bool)  # unknown use, not decided yet
    for k, u in enumerate(uses):
        if u in p.residential_uses:
            share[k] = 1.0
            basis[k] = f"building={u}: housing"
        elif u in p.mixed_uses:
            open_[k] = True
        else:
            basis[k] = f"building={u}: not housing"

    def decide(mask: npt.NDArray[np.bool_], name: str, level: str, value: float = 0.0) -> None:
        rule[mask] = name
        confidence[mask] = level
        share[mask] = value
        open_[mask] = False

    for tag in p.nonresidential_tags:
        if tag not in buildings.columns or not open_.any():
            continue
        values = buildings[tag].to_numpy(dtype=object)
        hit = open_ & np.array([_text(v) != "" for v in values], dtype=bool)
        for i in np.flatnonzero(hit):
            basis[i] = f"untagged, {tag}={_text(values[i])}: not housing"
        decide(hit, "tag", "medium")
    small = open_ & (area < p.min_footprint)
    for i in np.flatnonzero(small):
        basis[i] = (
            f"untagged, footprint {area[i]:,.0f} m² < {p.min_footprint:g} m²: "
            "shed, garage, sauna or kiosk"
        )
    decide(small, "small", "medium")
    if open_.any() and p.min_width > 0:
        width = np.full(n, np.inf)
        width[open_] = _widths(geoms[open_])
        narrow = open_ & (width < p.min_width)
        for i in np.flatnonzero(narrow):
            basis[i] = (
                f"untagged, {width[i]:.1f} m wide < {p.min_width:g} m: carport, garage row "
                "or passage"
            )
        decide(narrow, "narrow", "medium")
    homes = np.flatnonzero(share >= 1.0)
    candidates = np.flatnonzero(open_ & (area < p.outbuilding_footprint))
    if len(homes) and len(candidates):
        tree = shapely.STRtree(geoms[homes])
        near, host = tree.query(
            geoms[candidates], predicate="dwithin", distance=p.outbuilding_distance
        )
        near, host = candidates[near], homes[host]
        larger = area[host] > area[near]
        seen: set[int] = set()
        for i, h in zip(near[larger], host[larger], strict=True):
            if i in seen:
                continue
            seen.add(int(i))
            basis[i] = (
                f"untagged, {area[i]:,.0f} m² within {p.outbuilding_distance:g} m of the larger "
                f"building={uses[h]} {ids[h]}: outbuilding"
            )
        out = np.zeros(n, dtype=bool)
        out[list(seen)] = True
        decide(out, "outbuilding", "medium")
    known_landuse = "landuse" in buildings.columns
    landuse = (
        np.array(
            [_text(v).split(";")[0].strip().lower() for v in buildings["landuse"]], dtype=object
        )
        if known_landuse
        else np.full(n, "", dtype=object)
    )
    block = np.isin(landuse, list(p.block_landuse))
    big = open_ & (area >= p.hall_footprint)
    low = np.isfinite(tagged_levels) & (tagged_levels <= p.hall_levels)
    hall = big & (low | (~np.isfinite(tagged_levels) & known_landuse & ~block))
    for i in np.flatnonzero(hall):
        how = (
            f"{tagged_levels[i]:g} level(s)"
            if np.isfinite(tagged_levels[i])
            else "no levels, " + (f"in landuse={landuse[i]}" if landuse[i] else "in no landuse")
        )
        basis[i] = f"untagged, {area[i]:,.0f} m² on {how}: warehouse, factory or hall"
    decide(hall, "hall", "medium")
    for i in np.flatnonzero(open_):
        v = landuse[i]
        if not known_landuse:
            share[i] = p.mixed_share
            rule[i] = "untagged"
            confidence[i] = "low"
            basis[i] = f"untagged, landuse not known: {p.mixed_share:.0%} housing"
        elif v in p.landuse_shares:
            s = float(p.landuse_shares[v])
            share[i] = s
            rule[i] = f"landuse:{v}"
            confidence[i] = "medium" if s in (0.0, 1.0) or v == "residential" else "low"
            basis[i] = f"untagged, in landuse={v}: {s:.0%} housing"
        else:
            share[i] = p.outside_share
            rule[i] = "no_landuse"
            confidence[i] = "low"
            where = f"in landuse={v} (not listed)" if v else "in no landuse area"
            basis[i] = f"untagged, {where}: {p.outside_share:.0%} housing"
    return _Judgement(share, rule, confidence, basis)


def _widths(geoms: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """The short side of each geometry's minimum rotated rectangle (m)."""
    if not len(geoms):
        return np.zeros(0)
    rects = shapely.minimum_rotated_rectangle(geoms)
    width = np.zeros(len(geoms))
    polygon = shapely.get_type_id(rects) == 3
    if polygon.any():
        xy, index = shapely.get_coordinates(
            shapely.get_exterior_ring(rects[polygon]), return_index=True
        )
        starts = np.searchsorted(index, np.arange(int(polygon.sum())))
        a = np.hypot(*(xy[starts + 1] - xy[starts]).T)
        b = np.hypot(*(xy[starts + 2] - xy[starts + 1]).T)
        width[polygon] = np.minimum(a, b)
    return width


def _calibrate(
    households: npt.NDArray[np.float64], fixed: npt.NDArray[np.bool_], total: float, source: str
) -> tuple[npt.NDArray[np.float64], float | None]:
    """Scale the estimated (not fixed) households so that all add up to ``total`` exactly."""
    if not (math.isfinite(total) and total >= 0):
        raise InputError(
            f"{source}: the households total must be a non-negative number, got {total}"
        )
    kept = math.fsum(households[fixed])
    rest = total - kept
    tolerance = 1e-9 * max(1.0, total)
    if rest < -tolerance:
        raise InputError(
            f"{source}: the buildings' known households add up to {kept:,.6g}, more than the "
            f"total of {total:,.6g}"
        )
    free = ~fixed
    estimated = math.fsum(households[free])
    out = households.copy()
    if estimated <= 0:
        if rest > tolerance:
            raise InputError(
                f"{source}: no residential building without a known count to spread the "
                f"{rest:,.6g} households left of the total {total:,.6g} over"
            )
        return out, None
    scale = max(rest, 0.0) / estimated
    out[free] = households[free] * scale
    # put the rounding error of the float sum on the largest estimated building
    residual = total - math.fsum(out)
    if residual and rest > 0:
        j = np.flatnonzero(free)[int(np.argmax(out[free]))]
        out[j] = max(out[j] + residual, 0.0)
    return out, scale


def _known_counts(
    known: Mapping[str, float], ids: npt.NDArray[Any], source: str
) -> npt.NDArray[np.float64]:
    position = {str(i): k for k, i in enumerate(ids)}
    missing = [str(k) for k in known if str(k) not in position]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise InputError(
            f"{source}: known households for {len(missing)} building(s) not in the buildings: "
            f"{', '.join(missing[:3])}{more}"
        )
    counts = np.full(len(ids), np.nan)
    for k, v in known.items():
        counts[position[str(k)]] = float(v)
    _refuse_negative(counts, ids, f"{source}: negative known households for building(s)")
    bad = [str(k) for k, v in known.items() if not math.isfinite(float(v))]
    if bad:
        raise InputError(
            f"{source}: known households must be numbers, not for {', '.join(bad[:3])}"
        )
    return counts


def _refuse_negative(values: npt.NDArray[np.float64], ids: npt.NDArray[Any], what: str) -> None:
    negative = np.flatnonzero(values < 0)
    if len(negative):
        listed = ", ".join(f"{ids[j]} ({values[j]:g})" for j in negative[:3])
        more = f" and {len(negative) - 3} more" if len(negative) > 3 else ""
        raise InputError(f"{what} {listed}{more}")


def _summary(
    keys: npt.NDArray[Any],
    households: npt.NDArray[np.float64],
    housing: npt.NDArray[np.bool_],
    order: tuple[str, ...] = (),
) -> dict[str, dict[str, float]]:
    names = [*order, *sorted(set(keys.tolist()) - set(order))]
    out: dict[str, dict[str, float]] = {}
    for name in names:
        mask = keys == name
        if not mask.any() and name not in order:
            continue
        out[str(name)] = {
            "buildings": int(mask.sum()),
            "residential_buildings": int((mask & housing).sum()),
            "households": math.fsum(households[mask]),
        }
    return out


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def _uses(buildings: gpd.GeoDataFrame) -> list[str]:
    if "use" not in buildings.columns:
        return [""] * len(buildings)
    return [_text(v).lower() for v in buildings["use"]]
