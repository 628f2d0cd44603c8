"""Layer schemas, normalisation and validation.

Every layer gridplan works with is a GeoDataFrame with documented columns:

========== ============================ =====================================================
kind       geometry                     columns
========== ============================ =====================================================
roads      LineString/MultiLineString   ``road_id``, ``road_class``, ``name``
paths      LineString/MultiLineString   ``path_id``, ``path_class``, ``name`` (walkable ways:
                                        footways, paths, pedestrian streets, steps and the
                                        streets people walk along)
buildings  Polygon/MultiPolygon         ``building_id``, ``levels``, ``use``, ``name``,
                                        ``households`` (estimated)
compounds  Polygon/MultiPolygon/Point   ``compound_id``, ``name``, ``households``,
                                        ``residents``, ``kind``
facilities Point                        ``facility_id``, ``kind``, ``name``
outline    Polygon/MultiPolygon         ``outline_id``, ``name``, ``code``
areas      Polygon/MultiPolygon         ``area_id``, ``name``, ``code``, ``households``,
                                        ``residents``
units      Polygon/MultiPolygon         ``unit_id``, ``households``, ``residents``
========== ============================ =====================================================

Ids are strings. Extra columns of the input are kept. :func:`validate` lists every problem
(empty, invalid or wrong-typed geometry, negative or missing counts, duplicate ids) with the
feature's id, so an import can be all-or-nothing or skip exactly the listed features.
:func:`repair_geometries` runs before it on imports: it repairs the invalid polygons whose
repair is unambiguous (see :data:`REPAIR_TOLERANCE`) and reports each one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.errors import CRSError, FeatureProblem, InputError


class LayerKind(StrEnum):
    """The kinds of layer a store holds."""

    ROADS = "roads"
    PATHS = "paths"
    BUILDINGS = "buildings"
    COMPOUNDS = "compounds"
    FACILITIES = "facilities"
    OUTLINE = "outline"
    AREAS = "areas"
    UNITS = "units"


_POLY = frozenset({"Polygon", "MultiPolygon"})
_LINE = frozenset({"LineString", "MultiLineString"})


@dataclass(frozen=True)
class LayerSchema:
    """The columns and geometry types of one layer kind.

    Parameters
    ----------
    kind
        The layer kind.
    id_column
        Name of the string id column.
    geometry_types
        Accepted shapely geometry type names.
    columns
        Attribute columns and their dtype: ``"str"`` or ``"float"``.
    counts
        Columns that hold household / resident counts (never negative).
    """

    kind: LayerKind
    id_column: str
    geometry_types: frozenset[str]
    columns: Mapping[str, str] = field(default_factory=dict)
    counts: tuple[str, ...] = ()

    @property
    def all_columns(self) -> list[str]:
        """Id column, attribute columns, in order (geometry excluded)."""
        return [self.id_column, *self.columns]


SCHEMAS: dict[LayerKind, LayerSchema] = {
    LayerKind.ROADS: LayerSchema(
        LayerKind.ROADS, "road_id", _LINE, {"road_class": "str", "name": "str"}
    ),
    LayerKind.PATHS: LayerSchema(
        LayerKind.PATHS, "path_id", _LINE, {"path_class": "str", "name": "str"}
    ),
    LayerKind.BUILDINGS: LayerSchema(
        LayerKind.BUILDINGS,
        "building_id",
        _POLY,
        {"levels": "float", "use": "str", "name": "str", "households": "float"},
        counts=("households",),
    ),
    LayerKind.COMPOUNDS: LayerSchema(
        LayerKind.COMPOUNDS,
        "compound_id",
        _POLY | {"Point"},
        {"name": "str", "households": "float", "residents": "float", "kind": "str"},
        counts=("households", "residents"),
    ),
    LayerKind.FACILITIES: LayerSchema(
        LayerKind.FACILITIES, "facility_id", frozenset({"Point"}), {"kind": "str", "name": "str"}
    ),
    LayerKind.OUTLINE: LayerSchema(
        LayerKind.OUTLINE, "outline_id", _POLY, {"name": "str", "code": "str"}
    ),
    LayerKind.AREAS: LayerSchema(
        LayerKind.AREAS,
        "area_id",
        _POLY,
        {"name": "str", "code": "str", "households": "float", "residents": "float"},
        counts=("households", "residents"),
    ),
    LayerKind.UNITS: LayerSchema(
        LayerKind.UNITS,
        "unit_id",
        _POLY,
        {"households": "float", "residents": "float"},
        counts=("households", "residents"),
    ),
}

# Road classes from most to least important. The rank drives the cost of cutting along a
# road (partition) and the "arterial" test (assignment).
ROAD_CLASSES: tuple[str, ...] = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "local",
    "service",
    "path",
    "other",
)
ARTERIAL_CLASSES: frozenset[str] = frozenset({"motorway", "trunk", "primary", "secondary"})

# Findings as stored and served (see DESIGN.md "Rule ids").
FINDING_COLUMNS: tuple[str, ...] = (
    "rule",
    "severity",
    "level",
    "area_id",
    "value",
    "message",
)

#: How much the area may differ between the candidate repairs of an invalid polygon (and
#: between the repair and the original, where the original's area is defined) for the repair
#: to count as unambiguous: 1 % of the larger area.
REPAIR_TOLERANCE = 0.01

_ID_CANDIDATES = ("id", "ID", "Id", "fid", "FID", "GEOID", "GEOID10", "code", "name")


def schema(kind: LayerKind | str) -> LayerSchema:
    """Return the schema of a layer kind.

    Raises
    ------
    InputError
        If ``kind`` is not a layer kind.
    """
    try:
        return SCHEMAS[LayerKind(kind)]
    except ValueError as exc:
        known = ", ".join(k.value for k in LayerKind)
        raise InputError(f"unknown layer kind {kind!r} (expected one of {known})") from exc


def normalise(
    kind: LayerKind | str,
    gdf: gpd.GeoDataFrame,
    *,
    fields: Mapping[str, str] | None = None,
    source: str = "",
) -> gpd.GeoDataFrame:
    """Rename, add and coerce columns so ``gdf`` follows the schema of ``kind``.

    Parameters
    ----------
    kind
        Target layer kind.
    gdf
        Input features, in any CRS (the CRS is kept).
    fields
        Map from schema column to input column, e.g. ``{"households": "HU100"}``. A schema
        column whose input column is not named here is taken from a column of the same name;
        the id column falls back to a common id column, else the row number.
    source
        Name of the input, used in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with the schema's columns first (ids as ``str``, counts as ``float``, strings
        with missing values as ``None``), then the input's other columns.

    Raises
    ------
    InputError
        If a column named in ``fields`` is not in the input, or a count (households,
        residents) is text that is not a number (it would otherwise be lost silently).
    """
    sch = schema(kind)
    fields = dict(fields or {})
    where = f" in {source}" if source else ""
    missing = [src for src in fields.values() if src not in gdf.columns]
    if missing:
        have = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
        raise InputError(f"field(s) {', '.join(missing)} not found{where} (fields: {have})")
    out = gdf.copy()
    if out.geometry.name != "geometry":
        out = out.rename_geometry("geometry")
    data: dict[str, pd.Series] = {}
    id_src = fields.get(sch.id_column)
    if id_src is None:
        if sch.id_column in out.columns:
            id_src = sch.id_column
        else:
            id_src = next((c for c in _ID_CANDIDATES if c in out.columns), None)
    if id_src is None:
        ids = pd.Series([str(i + 1) for i in range(len(out))], index=out.index)
    else:
        ids = _id_texts(out[id_src])
    data[sch.id_column] = ids
    for col, dtype in sch.columns.items():
        src = fields.get(col, col)
        if src in out.columns:
            values = out[src]
        else:
            values = pd.Series([None] * len(out), index=out.index, dtype=object)
        data[col] = _coerce(values, dtype)
        if col in sch.counts:
            _check_numbers(values, data[col], ids, col, where)
    used = {id_src, *(fields.get(c, c) for c in sch.columns), "geometry"}
    extras = [c for c in out.columns if c not in used and c not in data]
    frame = pd.DataFrame(data, index=out.index)
    for c in extras:
        frame[c] = out[c].values
    result = gpd.GeoDataFrame(frame, geometry=out.geometry.values, crs=out.crs)
    return result.reset_index(drop=True)


#: The most vertices one feature may have when ``GRIDPLAN_MAX_FEATURE_VERTICES`` is unset: a
#: detailed district outline has tens of thousands; a feature with more would make every
#: geometric step (validation, noding, adjacency, checks) cost minutes, so it is refused.
DEFAULT_MAX_FEATURE_VERTICES = 250_000


def max_feature_vertices(value: int | None = None) -> int:
    """The most vertices one input feature may have.

    ``value`` if given, else ``GRIDPLAN_MAX_FEATURE_VERTICES`` from the environment, else
    :data:`DEFAULT_MAX_FEATURE_VERTICES`.

    Raises
    ------
    InputError
        If the value is not a whole number >= 4.

    Examples
    --------
    >>> max_feature_vertices(1000)
    1000
    """
    if value is None:
        raw = os.environ.get("GRIDPLAN_MAX_FEATURE_VERTICES", "").strip()
        if not raw:
            return DEFAULT_MAX_FEATURE_VERTICES
        try:
            value = int(raw)
        except ValueError:
            raise InputError(
                f"GRIDPLAN_MAX_FEATURE_VERTICES={raw!r}: expected a whole number of vertices"
            ) from None
    if value < 4:
        raise InputError(f"the vertex limit must be at least 4, not {value}")
    return int(value)


#: Geometry type names by shapely type id (index -1, the last: a missing geometry).
_TYPE_NAMES = np.array(
    [
        "Point",
        "LineString",
        "LinearRing",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
        "None",
    ],
    dtype=object,
)


def validate(
    kind: LayerKind | str,
    gdf: gpd.GeoDataFrame,
    *,
    required: Iterable[str] = (),
    source: str = "",
    max_vertices: int | None = None,
    valid: npt.NDArray[np.bool_] | None = None,
) -> tuple[gpd.GeoDataFrame, list[FeatureProblem]]:
    """Split a normalised layer into valid features and a list of problems.

    Parameters
    ----------
    kind
        The layer kind (``gdf`` must already be normalised to it).
    gdf
        The features.
    required
        Count columns that every feature must have (e.g. ``("households",)``).
    source
        Name used for the layer in problems; defaults to the kind.
    max_vertices
        The most vertices one feature may have (:func:`max_feature_vertices`); a feature with
        more is a problem, and its geometry is not examined further (so it costs nothing).
    valid
        Validity by row when the caller knows it already (:attr:`RepairResult.valid`); a row
        marked invalid is examined again.

    Returns
    -------
    valid, problems
        The valid features (index reset) and one :class:`FeatureProblem` per rejected
        feature, naming its id and every reason.

    Raises
    ------
    CRSError
        If the layer has no CRS, or every feature lies outside its CRS's area of use (no
        feature can be placed, so the whole layer is rejected; the message names the first
        feature and says when x and y look swapped).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Polygon
    >>> bow = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    >>> gdf = gpd.GeoDataFrame({"unit_id": ["a"], "households": [-1.0], "residents": [None]},
    ...                        geometry=[bow], crs=32650)
    >>> ok, problems = validate("units", gdf)
    >>> len(ok), problems[0].reason
    (0, 'invalid geometry (Self-intersection[0.5 0.5]); negative households (-1)')
    """
    sch = schema(kind)
    layer = source or sch.kind.value
    if gdf.crs is None:
        raise CRSError(f"{layer}: the layer has no CRS; set one (e.g. EPSG:4326) and retry")
    reasons: list[list[str]] = [[] for _ in range(len(gdf))]
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)  # -1 for a missing geometry
    missing = types < 0
    empty = missing | shapely.is_empty(geoms)
    type_names = _TYPE_NAMES[types]
    limit = max_feature_vertices(max_vertices)
    vertices = shapely.get_num_coordinates(geoms)
    huge = vertices > limit
    valid_geom = np.ones(len(geoms), dtype=bool)
    examine = ~huge if valid is None else ~huge & ~np.asarray(valid, dtype=bool)
    valid_geom[examine] = shapely.is_valid(geoms[examine])
    for i in np.flatnonzero(huge):
        reasons[i].append(
            f"{int(vertices[i]):,} vertices, more than the limit of {limit:,} "
            "(simplify it, or raise GRIDPLAN_MAX_FEATURE_VERTICES)"
        )
    for i in np.flatnonzero(empty):
        reasons[i].append("empty geometry" if not missing[i] else "missing geometry")
    allowed = " or ".join(sorted(sch.geometry_types))
    for i in np.flatnonzero(~empty & ~np.isin(type_names, list(sch.geometry_types))):
        reasons[i].append(f"wrong geometry type {type_names[i]} (expected {allowed})")
    bad = np.flatnonzero(~empty & ~valid_geom & (types >= 0))
    for i in bad:
        reasons[i].append(f"invalid geometry ({shapely.is_valid_reason(geoms[i])})")
    required = set(required)
    for col in sch.counts:
        if col not in gdf.columns:
            continue
        values = pd.to_numeric(gdf[col], errors="coerce").to_numpy(dtype=float)
        for i in np.flatnonzero(values < 0):
            reasons[i].append(f"negative {col} ({_fmt(values[i])})")
        for i in np.flatnonzero(np.isposinf(values)):
            reasons[i].append(f"infinite {col}")
        if col in required:
            for i in np.flatnonzero(np.isnan(values)):
                reasons[i].append(f"missing {col}")
    present = ~pd.isna(geoms)
    coords, owner = shapely.get_coordinates(geoms[present], return_index=True)
    bad_rows = np.bincount(
        owner, weights=~np.isfinite(coords).all(axis=1), minlength=int(present.sum())
    )
    finite = np.zeros(len(geoms), dtype=bool)
    finite[present] = bad_rows == 0
    placed = ~empty & finite & ~huge
    outside = _outside_area_of_use(gdf.crs, geoms, placed)
    if outside and len(outside) == int(placed.sum()):  # the whole layer: its CRS is wrong
        first = min(outside)
        fid = gdf[sch.id_column].iloc[first]
        label = str(fid).replace("\x00", "\\0") if not pd.isna(fid) else f"row {first + 1}"
        raise CRSError(
            f"{layer}: no feature lies in the CRS's area of use, e.g. feature {label}: "
            f"{outside[first]}"
        )
    for row_at, why_outside in outside.items():
        reasons[row_at].append(why_outside)
    ids = gdf[sch.id_column].astype(object).to_numpy()
    for i in np.flatnonzero(pd.isna(ids)):
        reasons[i].append(f"missing {sch.id_column}")
    for i in np.flatnonzero([isinstance(v, str) and "\x00" in v for v in ids]):
        reasons[i].append(f"NUL byte in {sch.id_column}")
    dup = pd.Series(ids).duplicated(keep=False).to_numpy() & ~pd.isna(ids)
    for i in np.flatnonzero(dup):
        reasons[i].append(f"duplicate {sch.id_column} {ids[i]!r}")
    problems: list[FeatureProblem] = []
    keep = np.ones(len(gdf), dtype=bool)
    for row, why in enumerate(reasons):
        if why:
            keep[row] = False
            fid = ids[row] if not pd.isna(ids[row]) else f"row {row + 1}"
            label = str(fid).replace("\x00", "\\0")
            problems.append(FeatureProblem(layer, label, "; ".join(why)))
    return gdf[keep].reset_index(drop=True), problems


#: Degrees a geographic layer may stray outside its CRS's area of use (a border district
#: drawn a little beyond the published extent), and a projected one (after reprojection).
AREA_OF_USE_MARGIN = 0.5
AREA_OF_USE_MARGIN_PROJECTED = 5.0
_GLOBE = (-180.0, -90.0, 180.0, 90.0)


def _outside_area_of_use(
    crs: object, geoms: npt.NDArray[np.object_], placed: npt.NDArray[np.bool_]
) -> dict[int, str]:
    """Why each placed feature lies outside the area of use of ``crs``, by row.

    A geographic CRS's coordinates are longitude/latitude and must lie within its area of use
    (within :data:`AREA_OF_USE_MARGIN` degrees; never off the globe). A projected CRS's are
    reprojected to longitude/latitude first (a coordinate the projection cannot invert is
    outside). When every placed feature is outside but would be inside with x and y swapped,
    each reason says the axes look swapped.
    """
    from pyproj import CRS, Transformer

    rows = np.flatnonzero(placed)
    if not rows.size:
        return {}
    try:
        ref = CRS.from_user_input(crs)
    except Exception:  # an unusual CRS: nothing to check against
        return {}
    bounds = np.asarray(shapely.bounds(geoms[rows]), dtype=float)
    aou = ref.area_of_use
    area = (aou.west, aou.south, aou.east, aou.north) if aou is not None else _GLOBE
    if area[0] > area[2]:  # crosses the antimeridian: only the globe is checked
        area = _GLOBE
    if ref.is_geographic:
        lonlat = bounds
        margin = AREA_OF_USE_MARGIN
    elif ref.is_projected:
        to_geo = Transformer.from_crs(ref, ref.geodetic_crs or 4326, always_xy=True)
        xs = bounds[:, [0, 2, 0, 2]]
        ys = bounds[:, [1, 1, 3, 3]]
        with np.errstate(all="ignore"):
            lon, lat = to_geo.transform(xs, ys, errcheck=False)
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        with np.errstate(all="ignore"):
            lonlat = np.column_stack(
                [lon.min(axis=1), lat.min(axis=1), lon.max(axis=1), lat.max(axis=1)]
            )
        margin = AREA_OF_USE_MARGIN_PROJECTED
    else:
        return {}

    def outside(b: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        with np.errstate(all="ignore"):
            out = (
                ~np.isfinite(b).all(axis=1)
                | (b[:, 0] < max(area[0] - margin, -180.0))
                | (b[:, 1] < max(area[1] - margin, -90.0))
                | (b[:, 2] > min(area[2] + margin, 180.0))
                | (b[:, 3] > min(area[3] + margin, 90.0))
            )
        return np.asarray(out, dtype=bool)

    off = outside(lonlat)
    if not off.any():
        return {}
    swapped = False
    if ref.is_geographic and off.all():
        swapped = not outside(bounds[:, [1, 0, 3, 2]]).any()
    name = ref.to_string()
    where = f"{name} ({ref.name})" if ref.name and ref.name not in name else name
    hint = (
        "; x and y look swapped (latitude given as x, longitude as y): swap the columns or axes"
        if swapped
        else "; pass the CRS the coordinates are in (--crs) or reproject the file"
    )
    reasons: dict[int, str] = {}
    for k in np.flatnonzero(off):
        minx, miny, maxx, maxy = bounds[k]
        span = f"x {minx:.10g}…{maxx:.10g}, y {miny:.10g}…{maxy:.10g}"
        reasons[int(rows[k])] = f"coordinates outside the area of use of {where} ({span}){hint}"
    return reasons


@dataclass(frozen=True)
class RepairResult:
    """What :func:`repair_geometries` did to a layer.

    Parameters
    ----------
    layer
        The layer, with every repaired geometry replaced (same rows, same order).
    repaired
        One record per repaired feature: its id and what was repaired.
    unrepaired
        Why an invalid polygon was left as it is, by feature label (its id, else ``row N``,
        as in :func:`validate`'s problems).
    valid
        Whether each geometry of ``layer`` is valid, by row, when the repair had to find out
        (``None`` otherwise): :func:`check_layer` hands it to :func:`validate`, so validity is
        computed once.
    """

    layer: gpd.GeoDataFrame
    repaired: list[FeatureProblem]
    unrepaired: dict[str, str]
    valid: npt.NDArray[np.bool_] | None = None


def repair_geometries(
    kind: LayerKind | str,
    gdf: gpd.GeoDataFrame,
    *,
    source: str = "",
    exclude: Iterable[str] = (),
    tolerance: float = REPAIR_TOLERANCE,
) -> RepairResult:
    r"""Repair the invalid polygons whose repair is unambiguous; leave the rest to :func:`validate`.

    An invalid Polygon or MultiPolygon (of a layer whose schema takes polygons) is replaced by
    ``shapely.make_valid`` when all of these hold:

    * the repair is still polygonal and not empty (a ring that collapsed to a line or a point
      is not repaired: there is no area left to keep); lines left over from a spike are
      dropped;
    * GEOS's two repair rules agree: ``linework`` (the areas the rings enclose, odd-even) and
      ``structure`` (shells merged, holes subtracted) differ by at most ``tolerance`` of the
      larger area. They agree on bow-ties (two triangles), spikes, rings that touch
      themselves (an inverted hole) and holes that split a polygon; they disagree on rings
      that wind over the same area twice;
    * where every ring of the original is simple on its own (so its area, shells less holes,
      is well defined: overlapping parts, a hole outside its shell), the repair's area differs
      from it by at most ``tolerance``. Two parts of a MultiPolygon overlapping by a sliver are
      merged; a "hole" lying outside its shell is not turned into a second polygon.

    Parameters
    ----------
    kind
        The layer kind (``gdf`` normalised to it).
    gdf
        The features.
    source
        Name used for the layer in the records; defaults to the kind.
    exclude
        Feature ids not to repair (e.g. OSM features cut at the extract's edge, whose repair
        would be a guess at a shape that is not in the file).
    tolerance
        The share of area two candidate repairs may differ by.

    Returns
    -------
    RepairResult

    Examples
    --------
    A bow-tie (its ring crosses itself at (1, 1))::

        (0,2) +   + (2,2)
              |\ /|
              | X |
              |/ \|
        (0,0) +   + (2,0)

    >>> import geopandas as gpd
    >>> from shapely import Polygon
    >>> bow = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> gdf = gpd.GeoDataFrame({"unit_id": ["a"]}, geometry=[bow], crs=32650)
    >>> fixed = repair_geometries("units", gdf)
    >>> fixed.layer.geometry[0].geom_type, fixed.layer.geometry[0].area
    ('MultiPolygon', 2.0)
    >>> print(fixed.repaired[0].reason)
    repaired invalid geometry (Self-intersection at 1, 1): now 2 polygons
    """
    sch = schema(kind)
    layer = source or sch.kind.value
    out = gdf.copy()
    if not len(gdf) or not (sch.geometry_types & _POLY):
        return RepairResult(out, [], {})
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    # a feature over the vertex limit is not examined: validate names it
    present = np.array([g is not None for g in geoms], dtype=bool) & (
        shapely.get_num_coordinates(geoms) <= max_feature_vertices()
    )
    valid = np.ones(len(geoms), dtype=bool)
    valid[present] = shapely.is_valid(geoms[present])
    candidates = np.zeros(len(geoms), dtype=bool)
    candidates[present] = ~valid[present] & np.isin(
        shapely.get_type_id(geoms[present]), [3, 6]
    )
    ids = gdf[sch.id_column].astype(object).to_numpy()
    skip = {str(v) for v in exclude}
    repaired: list[FeatureProblem] = []
    unrepaired: dict[str, str] = {}
    new = geoms.copy()
    for i in np.flatnonzero(candidates):
        fid = str(ids[i]) if not pd.isna(ids[i]) else f"row {i + 1}"
        if fid in skip:
            continue
        if not np.isfinite(shapely.get_coordinates(geoms[i])).all():
            continue  # NaN or infinite coordinates: not repairable, validate names them
        fixed, why = _repair(geoms[i], tolerance)
        if fixed is None:
            unrepaired[fid] = why
            continue
        new[i] = fixed
        valid[i] = bool(shapely.is_valid(fixed))
        repaired.append(FeatureProblem(layer, fid, why))
    out = out.set_geometry(gpd.GeoSeries(new, index=out.index, crs=out.crs))
    # rows not examined (missing, or over the vertex limit) are left to validate
    return RepairResult(out, repaired, unrepaired, np.where(present, valid, False))


@dataclass(frozen=True)
class CheckedLayer:
    """What :func:`check_layer` found in a layer.

    Parameters
    ----------
    layer
        The valid features, repaired ones included (index reset).
    problems
        One record per rejected feature: its id and every reason (with why an invalid polygon
        was not repaired).
    repaired
        One record per repaired feature: its id and what was repaired.
    """

    layer: gpd.GeoDataFrame
    problems: list[FeatureProblem]
    repaired: list[FeatureProblem]


def check_layer(
    kind: LayerKind | str,
    gdf: gpd.GeoDataFrame,
    *,
    source: str = "",
    exclude: Iterable[str] = (),
) -> CheckedLayer:
    """Repair (:func:`repair_geometries`) then validate (:func:`validate`) a normalised layer.

    The one check every file goes through, whatever reads it (``import``, ``assign``,
    ``check``, ``partition``, ``grids``, ``map``). ``exclude`` names features not to repair.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Polygon
    >>> bow = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> gdf = gpd.GeoDataFrame({"unit_id": ["a", "b"], "households": [1.0, -5.0]},
    ...                        geometry=[bow, Polygon([(0, 0), (1, 0), (1, 1)])], crs=32650)
    >>> checked = check_layer("units", gdf)
    >>> len(checked.layer), [str(p) for p in checked.problems]
    (1, ['units feature b: negative households (-5)'])
    """
    layer = source or schema(kind).kind.value
    fixed = repair_geometries(kind, gdf, source=layer, exclude=exclude)
    ok, bad = validate(kind, fixed.layer, source=layer, valid=fixed.valid)
    why = fixed.unrepaired
    problems = [
        FeatureProblem(p.layer, p.feature, f"{p.reason}; not repaired: {why[p.feature]}")
        if p.feature in why
        else p
        for p in bad
    ]
    return CheckedLayer(ok, problems, fixed.repaired)


def _repair(geom: shapely.Geometry, tolerance: float) -> tuple[shapely.Geometry | None, str]:
    """The unambiguous repair of an invalid polygon and what was done, else ``None`` and why."""
    reason = _where(shapely.is_valid_reason(geom))
    linework = _polygonal(shapely.make_valid(geom, method="linework"))
    if linework is None:
        return None, "its repair has no area left (the polygon collapses to a line or a point)"
    structure = _polygonal(shapely.make_valid(geom, method="structure", keep_collapsed=False))
    larger = max(linework.area, structure.area if structure is not None else 0.0)
    differ = (
        shapely.symmetric_difference(linework, structure).area
        if structure is not None
        else linework.area
    )
    if differ > tolerance * larger:
        return None, (
            f"its repair is ambiguous (the two ways of repairing it differ by "
            f"{differ / larger:.0%} of its area)"
        )
    original: float | None = None
    rings = shapely.get_rings(shapely.get_parts(geom))
    if len(rings) and bool(np.all(shapely.is_simple(rings))):
        original = float(geom.area)
        if abs(linework.area - original) > tolerance * max(linework.area, original):
            change = abs(linework.area - original) / max(linework.area, original)
            return None, f"its repair would change its area by {change:.0%}"
    parts = shapely.get_num_geometries(linework)
    shape = "a polygon" if parts == 1 else f"{parts} polygons"
    if original is not None:
        change = abs(linework.area - original) / max(linework.area, original)
        shape += f", area within {change:.1%} of the original"
    return linework, f"repaired invalid geometry ({reason}): now {shape}"


def valid_polygons(geoms: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """``geoms`` with every invalid polygon repaired to its polygonal part.

    For geometry gridplan computed itself (dissolved areas, clipped cells, reprojected units)
    that touches or crosses itself by a hair: ``shapely.make_valid``, keeping the polygons
    (an empty MultiPolygon when nothing polygonal is left). Valid geometries and nulls are
    returned as they are. User input goes through :func:`repair_geometries` instead, which
    repairs only what is unambiguous and reports it.

    Examples
    --------
    >>> import shapely
    >>> bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> fixed = valid_polygons([bowtie, shapely.box(0, 0, 1, 1), None])
    >>> fixed[0].geom_type, bool(shapely.is_valid(fixed[0])), round(fixed[0].area, 6), fixed[2]
    ('MultiPolygon', True, 2.0, None)
    """
    out = np.array(geoms, dtype=object)
    present = ~pd.isna(out)
    invalid = np.zeros(len(out), dtype=bool)
    invalid[present] = ~shapely.is_valid(out[present])
    for i in np.flatnonzero(invalid):
        polys = [p for p in shapely.get_parts(shapely.make_valid(out[i])) if p.geom_type in _POLY]
        out[i] = shapely.union_all(polys) if polys else shapely.MultiPolygon()
    return out


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry | None:
    """The polygon parts of a repair, as a Polygon or MultiPolygon; ``None`` if it has none."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in _POLY and not p.is_empty]
    if not parts:
        return None
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _where(reason: str) -> str:
    """``"Self-intersection[1 1]"`` as ``"Self-intersection at 1, 1"``."""
    text, _, at = reason.partition("[")
    coords = at.rstrip("]").split()
    return f"{text} at {', '.join(f'{float(c):.7g}' for c in coords)}" if coords else text


def empty_layer(kind: LayerKind | str, crs: object = "EPSG:4326") -> gpd.GeoDataFrame:
    """Return an empty GeoDataFrame with the schema of ``kind``."""
    sch = schema(kind)
    frame = {
        c: pd.Series([], dtype=object if t == "str" else float)
        for c, t in [(sch.id_column, "str"), *sch.columns.items()]
    }
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _id_texts(values: pd.Series) -> pd.Series:
    """:func:`_id_text` of every value (text and integer columns without a per-row call)."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "string":
        return values.astype(object).where(values.notna(), None)
    if kind == "integer" and not values.isna().any():
        return values.astype("int64").astype(str).astype(object)
    return values.map(_id_text)


def _id_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _coerce(values: pd.Series, dtype: str) -> pd.Series:
    if dtype == "float":
        return pd.to_numeric(values, errors="coerce").astype(float)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):  # text (or nothing) already: missing values as None
        return values.astype(object).where(values.notna(), None)
    return values.map(
        lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
    ).astype(object)


def feature_ids(values: pd.Series, column: str, source: str) -> npt.NDArray[np.object_]:
    """The ids of a layer as text, checked: every feature has one and no two share one.

    Parameters
    ----------
    values
        The id column, one value per feature in layer order.
    column
        Its name (for messages).
    source
        The layer (``units``, ``compounds``, ...; for messages).

    Returns
    -------
    numpy.ndarray
        The ids as strings, in layer order.

    Raises
    ------
    InputError
        Naming the first feature (row, 1-based) without an id, or the first id that repeats
        with the rows holding it (and how many other ids repeat).

    Examples
    --------
    >>> import pandas as pd
    >>> feature_ids(pd.Series(["a", "b"]), "unit_id", "units").tolist()
    ['a', 'b']
    >>> feature_ids(pd.Series(["a", "b", "a"]), "unit_id", "units")
    Traceback (most recent call last):
    ...
    gridplan.errors.InputError: units: duplicate unit_id 'a' (rows 1 and 3)
    """
    require_present(values.to_numpy(dtype=object), column, source)
    ids = values.astype(str).to_numpy(dtype=object)
    require_unique(ids, column, source)
    return ids


def require_present(ids: npt.ArrayLike, column: str, source: str) -> None:
    """Refuse features without an id (``None``, ``NaN``).

    Raises
    ------
    InputError
        Naming the first feature (row, 1-based) without an id and how many more lack one.

    Examples
    --------
    >>> require_present(["a", None, None], "unit_id", "units")
    Traceback (most recent call last):
    ...
    gridplan.errors.InputError: units: feature at row 2 has no unit_id (and 1 more)
    """
    missing = np.flatnonzero(np.asarray(pd.isna(np.asarray(ids, dtype=object)), dtype=bool))
    if len(missing):
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InputError(f"{source}: feature at row {missing[0] + 1} has no {column}{more}")


def require_unique(ids: npt.NDArray[np.object_], column: str, source: str) -> None:
    """Refuse ids that repeat.

    Parameters
    ----------
    ids
        One id (text) per feature, in layer order.
    column, source
        The id column and the layer, for messages.

    Raises
    ------
    InputError
        Naming the first id that repeats with the rows (1-based) holding it, and how many
        other ids repeat.

    Examples
    --------
    >>> import numpy as np
    >>> require_unique(np.array(["a", "b", "a"], dtype=object), "compound_id", "compounds")
    Traceback (most recent call last):
    ...
    gridplan.errors.InputError: compounds: duplicate compound_id 'a' (rows 1 and 3)
    """
    if len(set(ids)) == len(ids):
        return
    ids = np.asarray(ids, dtype=object)
    repeated = pd.Series(ids).duplicated(keep=False).to_numpy(dtype=bool)
    first = ids[np.flatnonzero(repeated)[0]]
    rows = [str(r) for r in np.flatnonzero(ids == first) + 1]
    listed = (
        ", ".join(rows[:-1]) + f" and {rows[-1]}"
        if len(rows) <= 5
        else ", ".join(rows[:5]) + f" and {len(rows) - 5} more"
    )
    others = len(set(ids[repeated])) - 1
    more = f"; {others} more id(s) repeat" if others else ""
    raise InputError(f"{source}: duplicate {column} {first!r} (rows {listed}){more}")


def parse_counts(
    raw: pd.Series,
    column: str,
    *,
    ids: pd.Series | npt.ArrayLike | None = None,
    source: str = "",
) -> npt.NDArray[np.float64]:
    """Read a household or resident count column, refusing what would be lost silently.

    Parameters
    ----------
    raw
        The column as read (numbers, numeric text, blanks).
    column
        Its name, for messages.
    ids
        Feature ids in the same order (default: ``row N``).
    source
        The layer or file, for messages.

    Returns
    -------
    numpy.ndarray
        Floats; blanks and missing values are ``NaN``.

    Raises
    ------
    InputError
        If a value is text that is not a number, or negative, naming the feature(s).

    Examples
    --------
    >>> parse_counts(pd.Series(["12", None, 3.5]), "households").tolist()
    [12.0, nan, 3.5]
    >>> parse_counts(pd.Series([1, -2]), "households", ids=["a", "b"], source="units")
    Traceback (most recent call last):
    ...
    gridplan.errors.InputError: negative households in units for feature(s) b (-2)
    """
    labels = (
        pd.Series(np.asarray(ids, dtype=object), index=raw.index)
        if ids is not None
        else pd.Series([f"row {i + 1}" for i in range(len(raw))], index=raw.index, dtype=object)
    )
    where = f" in {source}" if source else ""
    numbers = pd.to_numeric(raw, errors="coerce").astype(float)
    _check_numbers(raw, numbers, labels, column, where)
    values = np.asarray(numbers, dtype=np.float64)
    negative = np.flatnonzero(values < 0)
    if len(negative):
        listed = ", ".join(f"{labels.iloc[i]} ({_fmt(values[i])})" for i in negative[:3])
        more = f" and {len(negative) - 3} more" if len(negative) > 3 else ""
        raise InputError(f"negative {column}{where} for feature(s) {listed}{more}")
    return values


def _check_numbers(
    raw: pd.Series, numbers: pd.Series, ids: pd.Series, column: str, where: str
) -> None:
    if pd.api.types.is_numeric_dtype(raw):  # numbers already: nothing can be unreadable
        return
    bad = numbers.isna().to_numpy() & raw.notna().to_numpy()
    if bad.any():  # only the values that did not read as numbers: blanks are no value
        rows = np.flatnonzero(bad)
        blank = raw.iloc[rows].map(lambda v: isinstance(v, str) and not v.strip()).to_numpy()
        bad[rows[blank]] = False
    if bad.any():
        rows = np.flatnonzero(bad)
        listed = ", ".join(
            f"{ids.iloc[i] if ids.iloc[i] is not None else f'row {i + 1}'} ({raw.iloc[i]!r})"
            for i in rows[:3]
        )
        more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
        raise InputError(f"{column} is not a number{where} for feature(s) {listed}{more}")


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
