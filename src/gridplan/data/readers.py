"""Readers for a subdistrict's own files: GeoPackage, GeoJSON, Shapefile, GeoParquet and CSV.

:func:`read_layer_file` reads one layer and normalises it to the schema of a layer kind
(:mod:`gridplan.data.layers`), keeping the input's CRS (EPSG:4490 stays EPSG:4490; the store
reprojects to EPSG:4326). :func:`read_table` reads an attribute-only CSV (reference facts
such as division codes).

Field mapping
-------------
A schema column is taken, in order of preference, from the input column named in ``fields``,
from an input column of the same name, or from the first input column (matched without
regard to case) among these common names:

=========== ===================================================================================
column      input columns tried
=========== ===================================================================================
road_class  ``MTFCC`` (TIGER), ``highway`` (OSM), ``fclass`` (Geofabrik shapefiles), ``class``
path_class  ``highway`` (OSM: ``footway``, ``steps``, …, kept as is), ``fclass``, ``class``,
            ``type``
name        ``name``, ``FULLNAME`` (TIGER), ``NAME``, ``NAME10``, ``名称``, ``小区名称``,
            ``社区名称``, ``网格名称``
households  ``HU100`` (census housing units), ``HOUSEHOLDS``, ``户数``, ``总户数``
residents   ``POP100``, ``TOTPOP``, ``population``, ``人口``, ``常住人口``, ``实有人口``
levels      ``building:levels``, ``floors``, ``storeys``, ``stories``, ``层数``
use         ``building``, ``use``, ``type``, ``用途``
kind        ``kind``, ``amenity``, ``type``, ``类型``
code        ``code``, ``adcode``, ``gb``, ``GEOID``, ``GEOID10``, ``编码``, ``代码``
=========== ===================================================================================

``road_class`` values are converted with
:func:`gridplan.data.road_classes.road_class_from_values` (MTFCC codes and OSM highway values
become gridplan road classes; a road without any class is ``other``). The id column is
``id_field`` if given, else the schema's id column if present, else the first of ``id``,
``fid``, ``GEOID``, ``GEOID10``, ``osm_id``, ``code``, ``编码`` whose values are unique and
present, else the row number (1, 2, …).

CRS
---
A file without a CRS is rejected (:class:`~gridplan.errors.CRSError` naming the file) unless
``crs`` says what it is; ``crs`` that contradicts the file's own CRS is an error too. CSV
coordinates default to EPSG:4326. GCJ-02 and BD-09 coordinates (Chinese web maps: Gaode,
Tencent; Baidu) are converted to WGS84 only when asked (``coords="gcj02"`` or ``"bd09"``;
``gcj02=True`` is the older spelling of ``coords="gcj02"``; accuracy about
:data:`gridplan.data.crs.GCJ02_ACCURACY_M` metres); such a file without a CRS is taken as
longitude/latitude, and one in a projected CRS is refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from gridplan.data.crs import Coords, from_coords, parse_coords
from gridplan.data.layers import LayerKind, check_layer, normalise, schema
from gridplan.data.road_classes import road_class_from_values
from gridplan.errors import CRSError, InputError, InvalidFeaturesError

#: Input column names tried for each schema column (case-insensitive), in order.
FIELD_CANDIDATES: Mapping[str, tuple[str, ...]] = {
    "road_class": ("MTFCC", "highway", "fclass", "class"),
    "path_class": ("path_class", "highway", "fclass", "class", "type"),
    "name": ("name", "FULLNAME", "NAME10", "名称", "小区名称", "社区名称", "网格名称"),
    "households": ("households", "HU100", "户数", "总户数"),
    "residents": ("residents", "POP100", "TOTPOP", "population", "人口", "常住人口", "实有人口"),
    "levels": ("levels", "building:levels", "floors", "storeys", "stories", "层数"),
    "use": ("use", "building", "type", "用途"),
    "kind": ("kind", "amenity", "type", "类型"),
    "code": ("code", "adcode", "gb", "GEOID", "GEOID10", "编码", "代码"),
}
#: Input column names tried for the id column (the first with unique, present values wins).
ID_CANDIDATES: tuple[str, ...] = ("id", "fid", "GEOID", "GEOID10", "osm_id", "code", "编码")
#: Column names recognised as CSV coordinates (case-insensitive).
LON_NAMES: tuple[str, ...] = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_NAMES: tuple[str, ...] = ("lat", "latitude", "y", "纬度")
WKT_NAMES: tuple[str, ...] = ("wkt", "geometry", "geom", "the_geom", "shape")

#: Layer names picked from a multi-layer file for each kind, in order of preference (the
#: layers gridplan itself writes: ``communities``, ``grids``, ``units``).
LAYER_NAMES: Mapping[LayerKind, tuple[str, ...]] = {
    LayerKind.AREAS: ("areas", "communities", "grids"),
}
_CSV = {".csv", ".tsv", ".txt"}
_PARQUET = {".parquet", ".geoparquet"}
#: Extra (non-schema) columns ``fields`` may name, per kind.
_EXTRA_FIELDS: Mapping[LayerKind, tuple[str, ...]] = {LayerKind.AREAS: ("parent_id",)}
_ROW_ID = "__row__"


def read_layer_file(
    path: str | Path,
    kind: LayerKind | str,
    *,
    layer: str | None = None,
    fields: Mapping[str, str] | None = None,
    id_field: str | None = None,
    gcj02: bool = False,
    coords: Coords | str = Coords.WGS84,
    lon: str | None = None,
    lat: str | None = None,
    wkt: str | None = None,
    crs: str | int | CRS | None = None,
    encoding: str = "utf-8",
    checked: bool = False,
    note: Callable[[str], None] | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer of a file and normalise it to a layer kind.

    Parameters
    ----------
    path
        A GeoPackage, GeoJSON, Shapefile (or anything else GDAL reads), GeoParquet or CSV file.
    kind
        The layer kind to normalise to.
    layer
        The layer to read from a multi-layer file (needed when the file has several layers and
        none is named like ``kind``).
    fields
        Map from schema column to input column, e.g. ``{"households": "HU100"}``; overrides the
        automatic mapping (module docstring).
    id_field
        Input column holding the feature ids.
    gcj02
        Shorthand for ``coords="gcj02"``.
    coords
        The frame of the coordinates: ``wgs84`` (default: what the CRS says), ``gcj02`` or
        ``bd09`` (longitude/latitude of Chinese web maps: converted to WGS84).
    lon, lat, wkt
        CSV only: the coordinate columns, or the WKT geometry column (detected if omitted).
    crs
        The CRS of the input when the file has none (CSV default: EPSG:4326).
    encoding
        CSV only: the text encoding (default UTF-8, with or without a byte-order mark; Chinese
        spreadsheets often save ``gb18030``).
    checked
        Also repair and validate the features as ``gridplan import`` does
        (:func:`gridplan.data.layers.check_layer`): any invalid feature refuses the file.
    note
        With ``checked``: called with one line per repaired feature.

    Returns
    -------
    geopandas.GeoDataFrame
        The normalised layer, in the input's CRS (EPSG:4326 after a GCJ-02 or BD-09
        conversion).

    Raises
    ------
    InputError
        If the file is missing, unreadable, empty, has several layers and no ``layer`` was
        given, or lacks a named field or coordinates.
    CRSError
        If the input has no CRS and none was given, or ``crs`` contradicts the file.
    InvalidFeaturesError
        With ``checked``: if any feature is invalid, naming every one and why.

    Examples
    --------
    >>> roads = read_layer_file("tallahassee.gpkg", "roads")  # doctest: +SKIP
    >>> roads.columns[:3].tolist()  # doctest: +SKIP
    ['road_id', 'road_class', 'name']
    >>> points = read_layer_file("tallahassee.gpkg", "compounds", layer="block_points",
    ...                          fields={"residents": "POP100"})  # doctest: +SKIP
    """
    src = Path(path)
    sch = schema(kind)
    frame = _frame(coords, gcj02, src.name)
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    suffix = src.suffix.lower()
    if suffix in _CSV:
        gdf = _read_csv_points(src, lon=lon, lat=lat, wkt=wkt, crs=crs, encoding=encoding)
    else:
        if lon or lat or wkt:
            raise InputError(f"{src.name}: lon/lat/wkt columns apply to CSV files only")
        gdf = (
            _read_parquet(src)
            if suffix in _PARQUET
            else _read_vector(src, sch.kind, layer, encoding)
        )
        gdf = _apply_crs(gdf, crs, src.name, lonlat=frame is not Coords.WGS84)
    if gdf.empty:
        raise InputError(f"{src.name}: no features to read")
    if frame is not Coords.WGS84:
        try:
            gdf = from_coords(gdf, frame)
        except CRSError as exc:
            raise CRSError(f"{src.name}: {exc}") from exc
    if gdf.geometry.has_z.any():
        gdf = gdf.set_geometry(shapely.force_2d(np.asarray(gdf.geometry.values)), crs=gdf.crs)
    mapping = _field_mapping(gdf, sch.kind, fields, id_field, src.name)
    if sch.kind == LayerKind.ROADS:
        road_src = mapping.pop("road_class", None)
        values = gdf[road_src] if road_src else pd.Series([None] * len(gdf), index=gdf.index)
        gdf = gdf.copy()
        gdf["road_class"] = road_class_from_values(values)
    if mapping.get(sch.id_column) == _ROW_ID:
        gdf = gdf.copy()
        gdf[_ROW_ID] = [str(i + 1) for i in range(len(gdf))]
    extra = {k: mapping.pop(k) for k in _EXTRA_FIELDS.get(sch.kind, ()) if k in mapping}
    if extra:
        gdf = gdf.copy()
        for target, column in extra.items():
            gdf[target] = gdf[column]
    out = normalise(sch.kind, gdf, fields=mapping, source=src.name)
    out = out.drop(columns=[_ROW_ID], errors="ignore")
    if not checked:
        return out
    result = check_layer(sch.kind, out, source=src.name)
    if result.problems:
        raise InvalidFeaturesError(result.problems)
    for repaired in result.repaired:
        if note is not None:
            note(str(repaired))
    return result.layer


def read_table(path: str | Path, *, encoding: str = "utf-8") -> pd.DataFrame:
    """Read an attribute-only CSV (e.g. division codes) with every value as text.

    Values stay strings, so codes keep leading zeros; a UTF-8 byte-order mark is ignored.

    Raises
    ------
    InputError
        If the file is missing, not in ``encoding`` or not a CSV table.

    Examples
    --------
    >>> villages = read_table("jinjiang_villages_2023.csv")  # doctest: +SKIP
    >>> villages.loc[0, "name"]  # doctest: +SKIP
    '青新社区居委会'
    """
    src = Path(path)
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
    sep = "\t" if src.suffix.lower() == ".tsv" else ","
    try:
        return pd.read_csv(src, dtype=str, encoding=enc, sep=sep, keep_default_na=False)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{src.name}: not {encoding} text ({exc.reason} at byte {exc.start}); re-save it "
            "as UTF-8 or name its encoding with --encoding (e.g. --encoding gb18030)"
        ) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{src.name}: not a CSV table ({exc})") from exc


def _read_vector(
    src: Path, kind: LayerKind, layer: str | None, encoding: str = "utf-8"
) -> gpd.GeoDataFrame:
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(src)]
    except (DataSourceError, DataLayerError) as exc:
        raise InputError(f"{src.name}: cannot open ({exc})") from exc
    if layer is not None and layer not in layers:
        raise InputError(f"{src.name}: no layer {layer!r} (layers: {', '.join(layers)})")
    if layer is None and len(layers) > 1:
        lowered = {name.lower(): name for name in layers}
        named = [lowered[n] for n in LAYER_NAMES.get(kind, (kind.value,)) if n in lowered]
        if not named:
            raise InputError(
                f"{src.name} has {len(layers)} layers; choose one with --layer (assign: "
                f"--compounds-layer, --areas-layer) (layers: {', '.join(layers)})"
            )
        layer = named[0]
    chosen = layer or (layers[0] if layers else None)
    # NaN coordinates make GEOS warn while parsing; validation names the feature instead
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="invalid value encountered", category=RuntimeWarning
        )
        return _read_chosen(src, chosen, encoding)


def _read_chosen(src: Path, chosen: str | None, encoding: str) -> gpd.GeoDataFrame:
    if encoding.lower().replace("-", "") not in ("utf8", "utf8sig"):
        try:  # e.g. a GBK Shapefile without its .cpg: the encoding the user names
            return pyogrio.read_dataframe(src, layer=chosen, encoding=encoding)
        except (DataSourceError, DataLayerError, ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{src.name}: cannot read as {encoding} ({exc})") from exc
    try:
        return pyogrio.read_dataframe(src, layer=chosen, use_arrow=True)
    except (UnicodeDecodeError, ValueError) as exc:
        if "encod" not in str(exc).lower() and not isinstance(exc, UnicodeDecodeError):
            raise InputError(f"{src.name}: cannot read ({exc})") from exc
        raise InputError(
            f"{src.name}: its text is not UTF-8; name its encoding with --encoding "
            "(e.g. --encoding GBK)"
        ) from exc
    except (DataSourceError, DataLayerError, shapely.errors.GEOSException) as exc:
        if "not encoded in UTF-8" in str(exc):
            raise InputError(
                f"{src.name}: its text is not UTF-8; name its encoding with --encoding "
                "(e.g. --encoding GBK)"
            ) from exc
        raise InputError(f"{src.name}: cannot read ({exc})") from exc


def _read_parquet(src: Path) -> gpd.GeoDataFrame:
    try:
        return gpd.read_parquet(src)
    except (OSError, ValueError) as exc:
        raise InputError(f"{src.name}: cannot read GeoParquet ({exc})") from exc


def _frame(coords: Coords | str, gcj02: bool, source: str) -> Coords:
    try:
        frame = parse_coords(coords)
    except CRSError as exc:
        raise CRSError(f"{source}: {exc}") from exc
    if gcj02 and frame is Coords.BD09:
        raise InputError(f"{source}: --gcj02 and --coords bd09 contradict each other; give one")
    return Coords.GCJ02 if gcj02 else frame


def _apply_crs(
    gdf: gpd.GeoDataFrame, crs: str | int | CRS | None, source: str, *, lonlat: bool = False
) -> gpd.GeoDataFrame:
    given = _parse_crs(crs, source) if crs is not None else None
    if gdf.crs is None:
        if given is not None:
            return gdf.set_crs(given)
        if lonlat:  # GCJ-02 / BD-09: longitude/latitude by definition
            return gdf.set_crs(4326)
        raise CRSError(
            f"{source}: the file has no CRS; pass the CRS it is in (e.g. --crs EPSG:4326)"
        )
    if given is not None and not CRS.from_user_input(gdf.crs).equals(given):
        raise CRSError(
            f"{source}: the file says its CRS is {CRS.from_user_input(gdf.crs).to_string()} "
            f"but --crs says {given.to_string()}; reproject the file or drop --crs"
        )
    return gdf


def _parse_crs(crs: str | int | CRS, source: str) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except PyprojCRSError as exc:
        raise CRSError(f"{source}: unknown CRS {crs!r}") from exc


def _read_csv_points(
    src: Path,
    *,
    lon: str | None,
    lat: str | None,
    wkt: str | None,
    crs: str | int | CRS | None,
    encoding: str,
) -> gpd.GeoDataFrame:
    table = read_table(src, encoding=encoding)
    table = table.replace({"": None})
    columns = list(table.columns)
    target = _parse_crs(crs if crs is not None else 4326, src.name)
    if wkt is None and lon is None and lat is None:
        wkt = _find(columns, WKT_NAMES)
        if wkt is None:
            lon, lat = _find(columns, LON_NAMES), _find(columns, LAT_NAMES)
    if wkt is not None:
        _require(columns, [wkt], src.name)
        geoms = _parse_wkt(table[wkt], src.name)
        attrs = table.drop(columns=[wkt])
    else:
        if lon is None or lat is None:
            raise InputError(
                f"{src.name}: no coordinates: found no lon/lat columns "
                f"({'/'.join(LON_NAMES)}, {'/'.join(LAT_NAMES)}) and no WKT column "
                f"({'/'.join(WKT_NAMES)}) among {', '.join(columns)}; "
                "for a table without geometry use read_table"
            )
        _require(columns, [lon, lat], src.name)
        xs = _numbers(table[lon], lon, src.name)
        ys = _numbers(table[lat], lat, src.name)
        pts = shapely.points(np.column_stack([xs, ys]))
        pts[np.isnan(xs) | np.isnan(ys)] = None
        geoms = pts
        attrs = table.drop(columns=[lon, lat])
    gdf = gpd.GeoDataFrame(attrs, geometry=geoms, crs=target)
    xy = shapely.get_coordinates(np.asarray(gdf.geometry.values, dtype=object))
    xy = xy[np.isfinite(xy).all(axis=1)]
    if target.is_geographic and len(xy):
        minx, miny = xy.min(axis=0)
        maxx, maxy = xy.max(axis=0)
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            raise CRSError(
                f"{src.name}: coordinates ({minx:g}…{maxx:g}, {miny:g}…{maxy:g}) are not "
                f"longitude/latitude in {target.name}; pass the CRS they are in (--crs)"
            )
    return gdf


def _find(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lowered = {str(c).strip().lower(): c for c in reversed(columns)}
    for name in names:
        if name.lower() in lowered:
            return str(lowered[name.lower()])
    return None


def _require(columns: Sequence[str], wanted: Sequence[str], source: str) -> None:
    missing = [w for w in wanted if w not in columns]
    if missing:
        raise InputError(
            f"{source}: column(s) {', '.join(missing)} not found (columns: {', '.join(columns)})"
        )


def _numbers(values: pd.Series, column: str, source: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(numbers) & values.notna().to_numpy())
    if bad.size:
        rows = ", ".join(f"row {i + 1} ({values.iloc[i]!r})" for i in bad[:5])
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        raise InputError(f"{source}: {column} is not a number in {rows}{more}")
    return numbers


def _parse_wkt(values: pd.Series, source: str) -> np.ndarray:
    text = values.to_numpy(dtype=object)
    with warnings.catch_warnings():  # NaN coordinates: the validation names the feature
        warnings.simplefilter("ignore", RuntimeWarning)
        geoms = shapely.from_wkt(text, on_invalid="ignore")
    bad = np.flatnonzero(pd.isna(geoms) & values.notna().to_numpy())
    if bad.size:
        rows = ", ".join(f"row {i + 1}" for i in bad[:5])
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        raise InputError(f"{source}: unreadable WKT geometry in {rows}{more}")
    return np.asarray(geoms, dtype=object)


def _field_mapping(
    gdf: gpd.GeoDataFrame,
    kind: LayerKind,
    fields: Mapping[str, str] | None,
    id_field: str | None,
    source: str,
) -> dict[str, str]:
    sch = schema(kind)
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    mapping = dict(fields or {})
    allowed = [sch.id_column, *sch.columns, *_EXTRA_FIELDS.get(kind, ())]
    unknown = [k for k in mapping if k not in allowed]
    if unknown:
        raise InputError(
            f"{source}: {', '.join(unknown)} is not a {kind.value} column "
            f"(columns: {', '.join(allowed)})"
        )
    missing = [v for v in mapping.values() if v not in columns]
    if id_field is not None:
        if id_field not in columns:
            missing.append(id_field)
        mapping[sch.id_column] = id_field
    if missing:
        raise InputError(
            f"{source}: field(s) {', '.join(missing)} not found (fields: {', '.join(columns)})"
        )
    for column in sch.columns:
        if column in mapping or (column in columns and column != "road_class"):
            continue
        names = (column, *FIELD_CANDIDATES.get(column, ()))
        found = _find(columns, names)
        if found is not None:
            mapping[column] = found
    if sch.id_column not in mapping and sch.id_column not in columns:
        mapping[sch.id_column] = _choose_id(gdf, columns)
    return mapping


def _choose_id(gdf: gpd.GeoDataFrame, columns: Sequence[str]) -> str:
    for name in ID_CANDIDATES:
        found = _find(columns, [name])
        if found is not None:
            values = gdf[found]
            if values.notna().all() and values.is_unique:
                return found
    return _ROW_ID
