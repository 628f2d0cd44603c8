"""The inputs of a check, validated and projected once into the dataset's metric CRS."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from gridplan.data.crs import metric_crs, require_crs
from gridplan.data.layers import LayerKind, normalise, validate
from gridplan.errors import InputError, InvalidFeaturesError
from gridplan.geo.rules.config import CheckConfig
from gridplan.plan import Level

Geoms = npt.NDArray[np.object_]


@dataclass(frozen=True)
class CheckContext:
    """Everything the rules read, in the metric CRS.

    Parameters
    ----------
    level
        ``community`` or ``grid``.
    crs
        The metric CRS of the computation.
    source_crs
        The CRS of the areas as given (findings are returned in it).
    ids, names
        Area ids and names (``object`` arrays, ``names`` may hold ``None``).
    geoms
        Area geometries.
    households, residents
        The areas' own count columns (``NaN`` where missing), or ``None`` when absent.
    parts
        Polygon parts of the areas that are wider than the sliver width.
    part_area
        Area index of each part.
    sliver_parts
        Number of detached parts ignored as slivers.
    union
        Union of the areas.
    outline
        The subdistrict outline (given, else the union of the areas with its holes filled,
        and gaps narrower than the sliver width closed).
    outline_given
        Whether the outline came from the caller.
    roads, compounds, units
        The optional layers, normalised (``roads`` filtered to the configured classes).
    coverage_valid
        Whether the areas form an exact coverage (GEOS: no overlaps, matching edges).
    areas
        The areas layer, normalised: the schema's columns, then every other column the
        areas came with (a rule may read a count of its own, e.g. ``volunteers``).
    facilities, paths, buildings
        The optional layers of the walking reach, normalised (``None`` when not given).
    """

    level: str
    crs: CRS
    source_crs: CRS
    ids: Geoms
    names: Geoms
    geoms: Geoms
    households: npt.NDArray[np.float64] | None
    residents: npt.NDArray[np.float64] | None
    parts: Geoms
    part_area: npt.NDArray[np.int64]
    sliver_parts: int
    union: shapely.Geometry
    outline: shapely.Geometry
    outline_given: bool
    roads: gpd.GeoDataFrame | None
    compounds: gpd.GeoDataFrame | None
    units: gpd.GeoDataFrame | None
    coverage_valid: bool
    areas: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame | None = None
    paths: gpd.GeoDataFrame | None = None
    buildings: gpd.GeoDataFrame | None = None

    @property
    def n(self) -> int:
        """Number of areas."""
        return len(self.ids)


def build_context(
    areas: gpd.GeoDataFrame,
    *,
    level: Level | str,
    roads: gpd.GeoDataFrame | None,
    compounds: gpd.GeoDataFrame | None,
    outline: gpd.GeoDataFrame | None,
    units: gpd.GeoDataFrame | None,
    config: CheckConfig,
    facilities: gpd.GeoDataFrame | None = None,
    paths: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
) -> CheckContext:
    """Validate and project the inputs of a check.

    Raises
    ------
    InputError
        If there are no areas or a layer has the wrong content.
    CRSError
        If a layer has no CRS.
    InvalidFeaturesError
        If features are invalid (every problem listed).
    """
    lvl = _level(level)
    if areas is None or len(areas) == 0:
        raise InputError("areas: no features to check")
    source_crs = require_crs(areas, "areas")
    crs = metric_crs(areas, "areas")
    area_layer = _layer(LayerKind.AREAS, areas, "areas").to_crs(crs)
    geoms = np.asarray(area_layer.geometry.values, dtype=object)
    households = _column(area_layer, "households")
    residents = _column(area_layer, "residents")
    parts, part_area = shapely.get_parts(geoms, return_index=True)
    half = config.sliver_width / 2.0
    wide = ~shapely.is_empty(shapely.buffer(parts, -half))
    # An area made only of slivers keeps its largest piece so it is still checked.
    largest = pd.Series(shapely.area(parts)).groupby(part_area).idxmax().to_numpy()
    wide[largest] = True
    sliver_parts = int((~wide).sum())
    parts, part_area = parts[wide], part_area[wide].astype(np.int64)
    coverage_valid = _coverage_valid(geoms)
    union = shapely.coverage_union_all(geoms) if coverage_valid else shapely.union_all(geoms)
    if outline is not None and len(outline) > 0:
        out_layer = _layer(LayerKind.OUTLINE, outline, "outline").to_crs(crs)
        outline_geom = shapely.union_all(np.asarray(out_layer.geometry.values, dtype=object))
        outline_given = True
    else:
        # Close gaps narrower than the sliver width first, so neighbours drawn a little
        # apart stay neighbours instead of both lying on the outline.
        half_width = config.sliver_width / 2.0
        closed = shapely.buffer(
            shapely.buffer(union, half_width, join_style="mitre"), -half_width, join_style="mitre"
        )
        shells = shapely.polygons(shapely.get_exterior_ring(shapely.get_parts(closed)))
        outline_geom = shapely.union_all(shells)
        outline_given = False
    road_layer = None
    if roads is not None:
        road_layer = _layer(LayerKind.ROADS, roads, "roads").to_crs(crs)
        if config.road_classes is not None:
            keep = road_layer["road_class"].isin(sorted(config.road_classes))
            road_layer = road_layer[keep.to_numpy()].reset_index(drop=True)
    compound_layer = (
        _layer(LayerKind.COMPOUNDS, compounds, "compounds").to_crs(crs)
        if compounds is not None
        else None
    )
    unit_layer = _layer(LayerKind.UNITS, units, "units").to_crs(crs) if units is not None else None
    reach_layers = {
        name: _layer(kind, frame, name).to_crs(crs) if frame is not None else None
        for name, kind, frame in (
            ("facilities", LayerKind.FACILITIES, facilities),
            ("paths", LayerKind.PATHS, paths),
            ("buildings", LayerKind.BUILDINGS, buildings),
        )
    }
    return CheckContext(
        level=lvl,
        crs=crs,
        source_crs=source_crs,
        ids=area_layer["area_id"].to_numpy(dtype=object),
        names=area_layer["name"].to_numpy(dtype=object),
        geoms=geoms,
        households=households,
        residents=residents,
        parts=parts,
        part_area=part_area,
        sliver_parts=sliver_parts,
        union=union,
        outline=outline_geom,
        outline_given=outline_given,
        roads=road_layer,
        compounds=compound_layer,
        units=unit_layer,
        coverage_valid=coverage_valid,
        areas=area_layer,
        **reach_layers,
    )


def _level(level: Level | str) -> str:
    try:
        return Level(level).value
    except ValueError as exc:
        raise InputError(f"level must be community or grid, not {level!r}") from exc


#: ``attrs`` key marking a layer :func:`checked_layer` normalised and validated (its kind).
CHECKED = "gridplan_checked_layer"


def checked_layer(kind: LayerKind, gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """``gdf`` normalised to ``kind`` and validated, and marked so that checks given it (or a
    row subset of it: pandas keeps ``attrs``) skip doing both again — for a caller that
    checks the same layers many times, like the editor's live check.

    Raises
    ------
    InvalidFeaturesError
        If a feature is invalid.
    """
    layer = _layer(kind, gdf, source)
    layer.attrs[CHECKED] = kind.value
    return layer


def _layer(kind: LayerKind, gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    if gdf.attrs.get(CHECKED) == kind.value:
        return gdf
    require_crs(gdf, source)
    layer = normalise(kind, gdf, source=source)
    valid, problems = validate(kind, layer, source=source)
    if problems:
        raise InvalidFeaturesError(problems)
    return valid


def _column(layer: gpd.GeoDataFrame, name: str) -> npt.NDArray[np.float64] | None:
    values = layer[name].to_numpy(dtype=float)
    if np.isnan(values).all():
        return None
    return values


def _coverage_valid(geoms: Geoms) -> bool:
    """Whether the areas form an exact coverage (no overlaps, matching edges)."""
    is_valid = getattr(shapely, "coverage_is_valid", None)
    if is_valid is None:  # shapely < 2.1 / GEOS < 3.12
        return False
    try:
        return bool(is_valid(geoms))
    except shapely.errors.GEOSException:
        return False
