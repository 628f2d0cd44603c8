"""Coordinate reference systems: storage CRS, per-dataset metric CRS, CGCS2000 and GCJ-02.

gridplan stores geometry in WGS84 (EPSG:4326) and computes lengths and areas in a metric CRS
chosen per dataset: the input's own projected CRS when it has one in metres, else the UTM zone
of the data's centre.

CGCS2000 (EPSG:4490) is accepted as any other geographic CRS. PROJ has no published
transformation between CGCS2000 and WGS84 and uses a null (ballpark) one: the two frames
agree to a few centimetres, far below what boundary planning resolves.

GCJ-02 ("Mars coordinates", the obfuscated frame of Chinese web maps: Gaode/AMap, Tencent,
Google China) has no EPSG code. :func:`gcj02_to_wgs84` inverts the publicly documented
forward formula by fixed-point iteration; the inversion reproduces the forward formula to
better than 1 mm (``GCJ02_ROUNDTRIP_TOLERANCE_M``). The forward formula itself is a
reconstruction that agrees with the official offsets to within about 1–2 m, so GCJ-02 input is
accurate to about 2 m after conversion. Outside mainland China GCJ-02 equals WGS84 and the
conversion is the identity.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from gridplan.errors import CRSError

STORAGE_CRS = CRS.from_epsg(4326)
CGCS2000 = CRS.from_epsg(4490)
#: How closely :func:`gcj02_to_wgs84` inverts :func:`wgs84_to_gcj02`, in metres.
GCJ02_ROUNDTRIP_TOLERANCE_M = 0.001
#: Stated absolute accuracy of GCJ-02 input after conversion, in metres.
GCJ02_ACCURACY_M = 2.0

_A = 6378245.0
_EE = 0.00669342162296594323


def require_crs(gdf: gpd.GeoDataFrame, source: str) -> CRS:
    """Return the CRS of ``gdf`` or raise naming ``source``.

    Raises
    ------
    CRSError
        If the layer has no CRS.
    """
    if gdf.crs is None:
        raise CRSError(f"{source}: no CRS; set one (e.g. EPSG:4326) and retry")
    return CRS.from_user_input(gdf.crs)


def metric_crs(gdf: gpd.GeoDataFrame, source: str = "layer") -> CRS:
    """Choose the metric CRS to compute in for a dataset.

    Parameters
    ----------
    gdf
        Any layer of the dataset.
    source
        Name used in error messages.

    Returns
    -------
    pyproj.CRS
        The input CRS if it is projected with metre units, else the UTM zone of the centre of
        the data (WGS84 datum). Web Mercator (EPSG:3857 and its aliases) counts as not
        metric: its "metres" are stretched by 1/cos(latitude), so areas would be inflated by
        about 4x in Helsinki and 1.2x in Fujian.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> metric_crs(gpd.GeoDataFrame(geometry=[Point(24.94, 60.17)], crs=4326)).to_epsg()
    32635
    """
    crs = require_crs(gdf, source)
    if crs.is_projected and _in_metres(crs) and not _is_web_mercator(crs):
        return crs
    if gdf.empty or gdf.geometry.is_empty.all():
        raise CRSError(f"{source}: cannot choose a metric CRS for an empty layer")
    wgs = gdf.to_crs(STORAGE_CRS) if not crs.equals(STORAGE_CRS) else gdf
    minx, miny, maxx, maxy = wgs.total_bounds
    lon, lat = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise CRSError(f"{source}: coordinates are outside the globe in its CRS {crs.name}")
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + min(zone, 60))


def to_storage(gdf: gpd.GeoDataFrame, source: str = "layer") -> gpd.GeoDataFrame:
    """Reproject a layer to the storage CRS (EPSG:4326)."""
    crs = require_crs(gdf, source)
    if crs.equals(STORAGE_CRS):
        return gdf.set_crs(STORAGE_CRS, allow_override=True)
    return gdf.to_crs(STORAGE_CRS)


def to_metric(
    gdf: gpd.GeoDataFrame, crs: CRS | None = None, source: str = "layer"
) -> gpd.GeoDataFrame:
    """Reproject a layer to ``crs`` (default: its :func:`metric_crs`)."""
    target = crs if crs is not None else metric_crs(gdf, source)
    require_crs(gdf, source)
    return gdf.to_crs(target)


def from_gcj02(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert a layer whose coordinates are GCJ-02 longitude/latitude to WGS84.

    GCJ-02 data usually arrives labelled EPSG:4326 (or with no CRS). The result is labelled
    EPSG:4326. Accuracy: see the module docstring (about ``GCJ02_ACCURACY_M`` metres).
    """
    if gdf.crs is not None and not CRS.from_user_input(gdf.crs).is_geographic:
        raise CRSError("GCJ-02 input must be longitude/latitude, not a projected CRS")
    out = gdf.copy()
    out.geometry = shapely.transform(np.asarray(gdf.geometry.values), _gcj_to_wgs_xy)
    return out.set_crs(STORAGE_CRS, allow_override=True)


def to_gcj02(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert a WGS84 layer to GCJ-02 (for drawing on Chinese web tiles)."""
    wgs = to_storage(gdf)
    out = wgs.copy()
    out.geometry = shapely.transform(np.asarray(wgs.geometry.values), _wgs_to_gcj_xy)
    return out


def wgs84_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Apply the GCJ-02 forward offset to WGS84 longitudes and latitudes (vectorised)."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    dlon, dlat = _offset(x, y)
    inside = _in_china(x, y)
    return np.where(inside, x + dlon, x), np.where(inside, y + dlat, y)


def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, iterations: int = 30
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration (vectorised).

    Converges to better than ``GCJ02_ROUNDTRIP_TOLERANCE_M`` in a handful of iterations.

    Examples
    --------
    >>> x, y = wgs84_to_gcj02(118.58, 24.80)
    >>> bx, by = gcj02_to_wgs84(x, y)
    >>> round(float(bx), 7), round(float(by), 7)
    (118.58, 24.8)
    """
    gx = np.asarray(lon, dtype=float)
    gy = np.asarray(lat, dtype=float)
    wx, wy = gx.copy(), gy.copy()
    for _ in range(iterations):
        fx, fy = wgs84_to_gcj02(wx, wy)
        ex, ey = gx - fx, gy - fy
        wx, wy = wx + ex, wy + ey
        if np.nanmax(np.abs(np.concatenate([np.ravel(ex), np.ravel(ey)])), initial=0.0) < 1e-10:
            break
    return wx, wy


def _gcj_to_wgs_xy(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    x, y = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def _wgs_to_gcj_xy(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    x, y = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def _in_china(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _offset(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x, y = lon - 105.0, lat - 35.0
    pi = np.pi
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad = lat / 180.0 * pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sq = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sq) * pi)
    dlon = (dlon * 180.0) / (_A / sq * np.cos(rad) * pi)
    return dlon, dlat


_WEB_MERCATOR_CODES = frozenset({3857, 900913, 3785, 102100, 102113})


def _is_web_mercator(crs: CRS) -> bool:
    code = crs.to_epsg()
    if code in _WEB_MERCATOR_CODES:
        return True
    return "pseudo-mercator" in crs.name.lower() or "web mercator" in crs.name.lower()


def _in_metres(crs: CRS) -> bool:
    try:
        return all(
            (a.unit_name or "").lower() in {"metre", "meter", "m"} for a in crs.axis_info[:2]
        )
    except (AttributeError, IndexError):
        return False
