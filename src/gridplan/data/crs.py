"""Coordinate reference systems: storage CRS, per-dataset metric CRS, CGCS2000, GCJ-02, BD-09.

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

BD-09 (Baidu Maps) is GCJ-02 shifted once more by the publicly documented formula
(``x_pi = π·3000/180``; about 0.0065° east and 0.006° north, 600–800 m). gridplan converts
BD-09 → GCJ-02 by fixed-point iteration of that forward formula (not its usual one-step
approximate inverse, which is off by a few centimetres), so the BD-09 step round-trips to
better than 1 mm (``BD09_ROUNDTRIP_TOLERANCE_M``); then GCJ-02 → WGS84 as above. The public
formula has not been checked here against Baidu's own conversion service, so BD-09 input is
stated no more accurate than GCJ-02 input (``BD09_ACCURACY_M``, about 2 m). Like GCJ-02,
BD-09 is treated as WGS84 outside mainland China (the identity; Baidu's international maps
are WGS84).

:class:`Coords` names the three frames (``wgs84``, ``gcj02``, ``bd09``) as every entry point
takes them (``--coords``, ``coords=``); :func:`from_coords` and :func:`to_coords` convert a
layer from and to any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

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

#: How closely :func:`bd09_to_gcj02` inverts :func:`gcj02_to_bd09`, in metres.
BD09_ROUNDTRIP_TOLERANCE_M = 0.001
#: Stated absolute accuracy of BD-09 input after conversion, in metres (see the module
#: docstring: the BD-09 step adds no error of its own beyond the public formula's).
BD09_ACCURACY_M = GCJ02_ACCURACY_M


class Coords(StrEnum):
    """The coordinate frame of longitudes and latitudes as they come in or go out.

    ``wgs84`` means the coordinates are what their CRS says (EPSG:4326, EPSG:4490 or any
    other CRS, projected included); ``gcj02`` (Gaode/AMap, Tencent, Google China) and ``bd09``
    (Baidu) are the obfuscated frames of Chinese web maps, always longitude/latitude.

    Examples
    --------
    >>> Coords("bd09") is Coords.BD09
    True
    """

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


_A = 6378245.0
_X_PI = np.pi * 3000.0 / 180.0
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
    return from_coords(gdf, Coords.GCJ02)


def to_gcj02(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert a WGS84 layer to GCJ-02 (for drawing on Chinese web tiles)."""
    return to_coords(gdf, Coords.GCJ02)


def from_bd09(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert a layer whose coordinates are BD-09 (Baidu) longitude/latitude to WGS84.

    Like :func:`from_gcj02`: the input must be longitude/latitude (or have no CRS); the result
    is labelled EPSG:4326. Accuracy about ``BD09_ACCURACY_M`` metres.
    """
    return from_coords(gdf, Coords.BD09)


def to_bd09(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert a layer (any CRS) to BD-09 longitude/latitude, labelled EPSG:4326."""
    return to_coords(gdf, Coords.BD09)


def from_coords(gdf: gpd.GeoDataFrame, coords: Coords | str) -> gpd.GeoDataFrame:
    """Convert a layer from the frame ``coords`` to WGS84 (``wgs84``: unchanged, its own CRS).

    Raises
    ------
    CRSError
        If ``coords`` is not a known frame, or is GCJ-02/BD-09 and the layer is projected.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> gcj = gpd.GeoDataFrame(geometry=[Point(*wgs84_to_gcj02(118.58, 24.80))], crs=4326)
    >>> p = from_coords(gcj, "gcj02").geometry.iloc[0]
    >>> round(p.x, 7), round(p.y, 7)
    (118.58, 24.8)
    """
    frame = parse_coords(coords)
    if frame is Coords.WGS84:
        return gdf
    if gdf.crs is not None and not CRS.from_user_input(gdf.crs).is_geographic:
        label = "GCJ-02" if frame is Coords.GCJ02 else "BD-09"
        raise CRSError(f"{label} input must be longitude/latitude, not a projected CRS")
    to_wgs = _gcj_to_wgs_xy if frame is Coords.GCJ02 else _bd_to_wgs_xy
    out = gdf.copy()
    out.geometry = shapely.transform(np.asarray(gdf.geometry.values), to_wgs)
    return out.set_crs(STORAGE_CRS, allow_override=True)


def to_coords(gdf: gpd.GeoDataFrame, coords: Coords | str) -> gpd.GeoDataFrame:
    """Convert a layer to the frame ``coords`` (``wgs84``: unchanged, in its own CRS).

    GCJ-02 and BD-09 results are longitude/latitude labelled EPSG:4326, as such files
    usually are.
    """
    frame = parse_coords(coords)
    if frame is Coords.WGS84:
        return gdf
    from_wgs = _wgs_to_gcj_xy if frame is Coords.GCJ02 else _wgs_to_bd_xy
    out = to_storage(gdf).copy()
    out.geometry = shapely.transform(np.asarray(out.geometry.values), from_wgs)
    return out


def parse_coords(coords: Coords | str) -> Coords:
    """The :class:`Coords` named by ``coords`` (case and ``-`` ignored: ``GCJ-02`` works).

    Raises
    ------
    CRSError
        If it names none of ``wgs84``, ``gcj02``, ``bd09``.
    """
    if isinstance(coords, Coords):
        return coords
    text = str(coords).strip().lower().replace("-", "").replace("_", "")
    try:
        return Coords(text)
    except ValueError:
        names = ", ".join(c.value for c in Coords)
        raise CRSError(f"coordinate frame {coords!r}: expected one of {names}") from None


def frames_by_input(specs: Sequence[str], inputs: Sequence[str]) -> dict[str, Coords]:
    """The frame of each input file of a command, from its ``--coords`` values.

    Parameters
    ----------
    specs
        ``FRAME`` (every input file) or ``INPUT=FRAME`` (one of them, e.g.
        ``compounds=gcj02``), each given at most once; frames as :func:`parse_coords` reads
        them.
    inputs
        The names of the command's input files (its options without ``--``).

    Raises
    ------
    CRSError
        If a frame or an input is unknown, or one is given twice.

    Examples
    --------
    >>> frames_by_input(["wgs84", "compounds=gcj02"], ["compounds", "areas"])
    {'compounds': <Coords.GCJ02: 'gcj02'>, 'areas': <Coords.WGS84: 'wgs84'>}
    >>> frames_by_input(["bd09"], ["areas"])
    {'areas': <Coords.BD09: 'bd09'>}
    """
    every: Coords | None = None
    one: dict[str, Coords] = {}
    for spec in specs:
        name, sep, value = str(spec).partition("=")
        try:
            frame = parse_coords(value if sep else name)
        except CRSError as exc:
            raise CRSError(f"--coords {spec}: {exc}") from None
        if not sep:
            if every is not None:
                raise CRSError(f"--coords {spec}: the frame of every file is given twice")
            every = frame
            continue
        key = name.strip().lstrip("-").lower()
        if key not in inputs:
            raise CRSError(
                f"--coords {spec}: {name!r} is not an input of this command "
                f"(inputs: {', '.join(inputs)})"
            )
        if key in one:
            raise CRSError(f"--coords {spec}: the frame of {key} is given twice")
        one[key] = frame
    return {name: one.get(name, every or Coords.WGS84) for name in inputs}


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


def gcj02_to_bd09(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Apply the public BD-09 formula to GCJ-02 longitudes and latitudes (vectorised).

    Identity outside mainland China (as GCJ-02 itself).

    Examples
    --------
    >>> x, y = gcj02_to_bd09(116.404, 39.915)
    >>> round(float(x), 6), round(float(y), 6)
    (116.410369, 39.921337)
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    inside = _in_china(x, y)
    return (
        np.where(inside, z * np.cos(theta) + 0.0065, x),
        np.where(inside, z * np.sin(theta) + 0.006, y),
    )


def bd09_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, iterations: int = 30
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Invert :func:`gcj02_to_bd09` (vectorised): the public one-step inverse, refined by
    fixed-point iteration to better than ``BD09_ROUNDTRIP_TOLERANCE_M``.

    Examples
    --------
    >>> x, y = gcj02_to_bd09(118.58, 24.80)
    >>> gx, gy = bd09_to_gcj02(x, y)
    >>> round(float(gx), 9), round(float(gy), 9)
    (118.58, 24.8)
    """
    bx = np.asarray(lon, dtype=float)
    by = np.asarray(lat, dtype=float)
    x, y = bx - 0.0065, by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    inside = _in_china(bx, by)
    gx = np.where(inside, z * np.cos(theta), bx)
    gy = np.where(inside, z * np.sin(theta), by)
    for _ in range(iterations):
        fx, fy = gcj02_to_bd09(gx, gy)
        ex, ey = bx - fx, by - fy
        gx, gy = gx + ex, gy + ey
        if np.nanmax(np.abs(np.concatenate([np.ravel(ex), np.ravel(ey)])), initial=0.0) < 1e-10:
            break
    return gx, gy


def wgs84_to_bd09(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """WGS84 → GCJ-02 → BD-09 (vectorised)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """BD-09 → GCJ-02 → WGS84 (vectorised).

    Examples
    --------
    >>> x, y = wgs84_to_bd09(118.58, 24.80)
    >>> wx, wy = bd09_to_wgs84(x, y)
    >>> round(float(wx), 7), round(float(wy), 7)
    (118.58, 24.8)
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84_xy(
    lon: npt.ArrayLike, lat: npt.ArrayLike, coords: Coords | str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Longitudes and latitudes in the frame ``coords`` as WGS84 (vectorised)."""
    frame = parse_coords(coords)
    if frame is Coords.GCJ02:
        return gcj02_to_wgs84(lon, lat)
    if frame is Coords.BD09:
        return bd09_to_wgs84(lon, lat)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _bd_to_wgs_xy(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    x, y = bd09_to_wgs84(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def _wgs_to_bd_xy(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    x, y = wgs84_to_bd09(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


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
