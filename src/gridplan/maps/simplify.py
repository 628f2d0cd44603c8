"""Simplify geometry for display; the store keeps full precision.

A city-scale map embeds every drawn vertex in the HTML, so each layer is simplified in a
metric CRS (default tolerance 1 m, well below what a planner sees at street zoom) and its
longitude/latitude rounded (default 6 decimals, about 0.1 m). Polygon coverages
(communities, grids, units) are simplified with :func:`shapely.coverage_simplify`, which moves
each shared edge once, so neighbours still meet without slivers or overlaps on the map.
Only the copy drawn on the map is simplified: nothing here writes back to a store.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from gridplan.data.crs import metric_crs, to_storage

#: Default simplification tolerance, in metres.
DISPLAY_TOLERANCE_M = 1.0
#: Default number of decimals kept in longitude/latitude (6 ≈ 0.1 m).
DISPLAY_DECIMALS = 6


def simplify_for_display(
    gdf: gpd.GeoDataFrame,
    *,
    tolerance_m: float = DISPLAY_TOLERANCE_M,
    decimals: int = DISPLAY_DECIMALS,
    coverage: bool = False,
    source: str = "layer",
) -> gpd.GeoDataFrame:
    """Return a display copy of a layer: simplified, in EPSG:4326, coordinates rounded.

    Parameters
    ----------
    gdf
        Any layer with a CRS.
    tolerance_m
        Simplification tolerance in metres; ``0`` only reprojects and rounds.
    decimals
        Decimals kept in longitude and latitude.
    coverage
        The polygons form a coverage (no overlaps): simplify shared edges together. Falls back
        to per-feature simplification when the polygons are not a valid coverage.
    source
        Layer name for error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows and columns, geometry in EPSG:4326. A feature that simplification would empty
        keeps its unsimplified geometry.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> line = LineString([(0, 0), (50, 0.2), (100, 0)])
    >>> out = simplify_for_display(gpd.GeoDataFrame(geometry=[line], crs=32635))
    >>> len(out.geometry.iloc[0].coords)
    2
    """
    if gdf.empty:
        return to_storage(gdf, source).copy()
    out = gdf.copy()
    if tolerance_m > 0:
        crs = metric_crs(gdf, source)
        metric = np.asarray(gdf.to_crs(crs).geometry.values, dtype=object)
        simple = _simplify(metric, tolerance_m, coverage)
        emptied = shapely.is_empty(simple) | shapely.is_missing(simple)
        simple = np.where(emptied, metric, simple)
        out = gpd.GeoDataFrame(out.drop(columns=out.geometry.name), geometry=simple, crs=crs)
    out = to_storage(out, source)
    out.geometry = round_coordinates(np.asarray(out.geometry.values, dtype=object), decimals)
    return out


def round_coordinates(
    geoms: npt.NDArray[np.object_], decimals: int = DISPLAY_DECIMALS
) -> npt.NDArray[np.object_]:
    """Round every coordinate of ``geoms`` to ``decimals`` decimals (vectorised)."""
    return np.asarray(
        shapely.transform(geoms, lambda xy: np.round(xy, decimals)),
        dtype=object,
    )


def _simplify(
    geoms: npt.NDArray[np.object_], tolerance: float, coverage: bool
) -> npt.NDArray[np.object_]:
    if coverage:
        polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
        if polygonal.all() and bool(shapely.coverage_is_valid(geoms)):
            return np.asarray(shapely.coverage_simplify(geoms, tolerance), dtype=object)
    return np.asarray(shapely.simplify(geoms, tolerance, preserve_topology=True), dtype=object)
