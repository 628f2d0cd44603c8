"""Write what a command made so that the next command (or another tool) can read it.

Every file gridplan writes is a valid input of the next command: GeoPackage (several layers
in one file, each named for what it holds, e.g. ``communities`` and ``units``), GeoJSON
(RFC 7946, EPSG:4326), Shapefile (with a ``.cpg`` naming its text encoding: UTF-8, or GBK
for older Chinese GIS software), GeoParquet, or CSV (a WKT ``geometry`` column). Single-layer
formats write the first layer to the path given and each further layer beside it
(``plan-units.geojson``). Columns a user named keep the user's names
(:func:`user_columns`); gridplan's columns are added beside them.

Answers go out in the frame the inputs came in: given ``input_crs`` (the CRS the command's
input files were in), every layer is written in it, so EPSG:4490 in is EPSG:4490 out, areas
made by gridplan included (GeoJSON and CSV excepted: they are EPSG:4326, which EPSG:4490
agrees with to a few centimetres). Given ``coords`` (``gcj02`` or ``bd09``), every layer is
written as longitude/latitude in that frame, labelled EPSG:4326 as such files usually are.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

from gridplan.data.crs import STORAGE_CRS, Coords, parse_coords, to_coords, to_storage
from gridplan.errors import InputError

#: Output formats by file suffix: GDAL driver (``None`` for GeoParquet and CSV).
FORMATS: Mapping[str, str | None] = {
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "ESRI Shapefile",
    ".parquet": None,
    ".geoparquet": None,
    ".csv": None,
}
#: Shapefile field names hold 10 characters: gridplan's longer columns get these names.
SHAPEFILE_NAMES: Mapping[str, str] = {
    "parent_code": "parent_cd",
    "community_id": "comm_id",
    "community_code": "comm_code",
    "overlap_share": "overlap",
}
#: Text encodings a Shapefile can be written in (``.cpg``).
SHAPEFILE_ENCODINGS: tuple[str, ...] = ("UTF-8", "GBK")


def check_output(out: Path, option: str = "--out", *, store: str | None = None) -> str:
    """The format of ``out`` by its suffix, once it is clear the file can be written: called
    before any work is stored, so a command that cannot write its file stores nothing.

    Parameters
    ----------
    out
        The file to write.
    option
        The option that named it, for messages.
    store
        The store the command works on (a ``.gpkg`` path or a URL): ``out`` may not be it.

    Raises
    ------
    InputError
        If the suffix is not a format gridplan writes, ``out`` is the store itself, a folder,
        or in a folder that cannot be written.
    """
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        kinds = ", ".join(sorted(FORMATS))
        raise InputError(f"{option} {out.name}: use one of {kinds}")
    local = store is not None and not store.startswith(("postgresql", "postgres:"))
    if local and Path(str(store)).resolve() == out.resolve():
        raise InputError(f"{option} {out}: that is the store itself; write to another file")
    if out.is_dir():
        raise InputError(f"{option} {out}: cannot write (it is a folder; name a file)")
    try:  # a probe file in the folder: the one test that also holds for root and /proc
        out.resolve().parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.resolve().parent, prefix=".gridplan-"):
            pass
    except OSError as exc:
        raise InputError(f"{option} {out}: cannot write there ({exc.strerror})") from exc
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"{option} {out}: cannot write there (permission denied)")
    return suffix


def area_layer(path: Path, level: str) -> str | None:
    """The layer of ``path`` holding areas of ``level``: ``grids`` or ``communities`` when the
    file is one gridplan wrote with both (``grids --out``), else ``None`` (the reader's
    choice: the file's only layer, or the one named ``areas``)."""
    import pyogrio

    if path.suffix.lower() != ".gpkg" or not path.is_file():
        return None
    try:
        names = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception:  # unreadable: the reader says why
        return None
    wanted = "grids" if level == "grid" else "communities"
    return wanted if len(names) > 1 and wanted in names else None


def written_band(areas: gpd.GeoDataFrame, level: str) -> dict[str, object] | None:
    """``{level: {measure: [lo, hi]}}`` from the ``measure``, ``band_lo`` and ``band_hi``
    columns of areas gridplan wrote (``partition``/``grids``/``plans export``), when they hold
    one band: a file checked or gridded again is judged by the band it was planned in.

    Examples
    --------
    >>> import geopandas as gpd
    >>> areas = gpd.GeoDataFrame({"measure": ["households"] * 2, "band_lo": [1000.0] * 2,
    ...     "band_hi": [3500.0] * 2}, geometry=[None, None])
    >>> written_band(areas, "community")
    {'community': {'households': [1000.0, 3500.0]}}
    """
    cols = ("measure", "band_lo", "band_hi")
    if areas.empty or not all(c in areas.columns for c in cols):
        return None
    rows = pd.DataFrame(areas[list(cols)]).drop_duplicates()
    if len(rows) != 1:
        return None
    measure, lo, hi = rows.iloc[0]
    if measure not in ("households", "residents") or pd.isna(lo) or pd.isna(hi):
        return None
    return {str(level): {str(measure): [float(lo), float(hi)]}}


def user_columns(
    frame: gpd.GeoDataFrame,
    names: Mapping[str, str | None],
    *,
    drop_empty: tuple[str, ...] = (),
) -> gpd.GeoDataFrame:
    """Give the columns the user named back their own names.

    Parameters
    ----------
    frame
        A layer in gridplan's schema (``unit_id``, ``households``, …).
    names
        gridplan column → the user's column (``{"compound_id": "GEOID20", "households":
        "hh"}``); ``None`` or the same name leaves a column as it is.
    drop_empty
        Schema columns gridplan added on reading (``name``, ``kind``, …) to leave out when
        they hold nothing at all and the user named none of them.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> frame = gpd.GeoDataFrame({"compound_id": ["a"], "households": [5.0],
    ...     "area_id": ["C1"]}, geometry=[shapely.Point(0, 0)], crs=4326)
    >>> list(user_columns(frame, {"compound_id": "GEOID20", "households": "hh"}).columns)
    ['GEOID20', 'hh', 'area_id', 'geometry']
    """
    empty = [
        c for c in drop_empty if c in frame.columns and not names.get(c) and frame[c].isna().all()
    ]
    if empty:
        frame = frame.drop(columns=empty)
    renames = {
        ours: theirs
        for ours, theirs in names.items()
        if theirs and theirs != ours and ours in frame.columns
    }
    clash = [t for t in renames.values() if t in frame.columns and t not in renames]
    if clash:  # the user's name is taken by another column: keep ours beside theirs
        renames = {o: t for o, t in renames.items() if t not in clash}
    return frame.rename(columns=renames)


def write_layers(
    layers: Mapping[str, gpd.GeoDataFrame],
    out: Path,
    *,
    crs: str | CRS | None = None,
    input_crs: str | int | CRS | None = None,
    coords: Coords | str = Coords.WGS84,
    encoding: str = "UTF-8",
    option: str = "--out",
) -> list[Path]:
    """Write named layers to ``out``, replacing what was there; return the paths written.

    Parameters
    ----------
    layers
        Layer name → features (any CRS); the first is the file's main layer.
    out
        The file; its suffix picks the format (:data:`FORMATS`).
    crs
        Output CRS (default: each layer's own CRS, so what came in as EPSG:4490 goes out as
        EPSG:4490; GeoJSON is always EPSG:4326, as RFC 7946 asks, and so is a CSV unless
        ``crs`` says otherwise, since it records none).
    input_crs
        The CRS the command's inputs came in: without ``crs``, every layer goes out in it
        (layers gridplan made, held in EPSG:4326, included), except GeoJSON and CSV (EPSG:4326).
    coords
        ``gcj02`` or ``bd09``: write longitude/latitude in that frame (the inputs' frame, for
        a command run with ``--coords``), labelled EPSG:4326; ``wgs84`` (default) writes
        coordinates as their CRS says.
    encoding
        Shapefile text encoding (``UTF-8`` or ``GBK``), written to the ``.cpg`` file.
    option
        The option that named ``out``, for error messages.

    Raises
    ------
    InputError
        If the format is unknown, the CRS or encoding is not accepted, or the file cannot be
        written.
    """
    suffix = check_output(out, option)
    frame = parse_coords(coords)
    if crs is None and input_crs is not None and suffix not in (".geojson", ".json", ".csv"):
        crs = CRS.from_user_input(input_crs)
    target = _target_crs(crs, suffix, option)
    if frame is not Coords.WGS84:
        if target is not None and not target.is_geographic:
            raise InputError(
                f"{option} {out.name}: {frame.value} output is longitude/latitude; it cannot "
                f"be written in {target.name}"
            )
        target = STORAGE_CRS
    if suffix == ".shp" and encoding.upper() not in SHAPEFILE_ENCODINGS:
        raise InputError(f"--encoding {encoding}: Shapefiles are written as UTF-8 or GBK")
    if not layers:
        raise InputError(f"{option} {out.name}: nothing to write")
    paths: list[Path] = []
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for n, (name, layer) in enumerate(layers.items()):
            path = (
                out if n == 0 or suffix == ".gpkg" else out.with_name(f"{out.stem}-{name}{suffix}")
            )
            data = _prepared(layer, target)
            if frame is not Coords.WGS84 and data.crs is not None:
                data = to_coords(data, frame)
            if suffix == ".gpkg":
                if n == 0 and out.exists():
                    out.unlink()
                data.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
            elif suffix in (".parquet", ".geoparquet"):
                data.to_parquet(path)
            elif suffix == ".csv":
                table = pd.DataFrame(data.drop(columns="geometry"))
                table["geometry"] = shapely.to_wkt(data.geometry.values, rounding_precision=-1)
                table.to_csv(path, index=False, encoding="utf-8")
            else:
                _remove(path)
                options = {}
                if suffix == ".shp":
                    options = {"encoding": encoding.upper()}
                    data = _short_names(data, option, encoding)
                data.to_file(path, driver=FORMATS[suffix], engine="pyogrio", **options)
            if path not in paths:
                paths.append(path)
    except InputError:
        raise
    except Exception as exc:  # pyogrio/GDAL/pyarrow errors have no common base class
        raise InputError(f"{option} {out}: cannot write ({exc})") from exc
    return paths


def _target_crs(crs: str | CRS | None, suffix: str, option: str) -> CRS | None:
    if crs is None:  # GeoJSON is lon/lat by RFC 7946; a CSV has no CRS record to say otherwise
        return STORAGE_CRS if suffix in (".geojson", ".json", ".csv") else None
    try:
        target = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj.exceptions.CRSError
        raise InputError(f"--crs {crs}: not a CRS pyproj knows ({exc})") from exc
    if suffix in (".geojson", ".json") and not target.equals(STORAGE_CRS):
        if target.equals(CRS.from_epsg(4490)):  # CGCS2000 is WGS84 to a few cm
            return STORAGE_CRS
        raise InputError(
            f"--crs {crs}: GeoJSON is always longitude/latitude in WGS84 (RFC 7946); "
            f"use .gpkg, .shp, .parquet or .csv for {crs}"
        )
    return target


def _prepared(frame: gpd.GeoDataFrame, target: CRS | None) -> gpd.GeoDataFrame:
    if target is None or frame.crs is None:
        data = frame.copy()
    elif target.equals(STORAGE_CRS):
        data = to_storage(frame, "output").copy()
    else:
        data = frame.to_crs(target)
    data.attrs = {}
    plain = ("string", "empty", "integer", "floating", "mixed-integer-float", "boolean")
    for col in data.columns:  # GDAL writes no Python objects: lists and dicts as text
        if col == data.geometry.name or data[col].dtype != object:
            continue
        if pd.api.types.infer_dtype(data[col], skipna=True) in plain:
            continue
        data[col] = data[col].map(
            lambda v: v if v is None or isinstance(v, str | int | float | bool) else str(v)
        )
    return data


def _short_names(data: gpd.GeoDataFrame, option: str, encoding: str) -> gpd.GeoDataFrame:
    renamed = data.rename(columns={k: v for k, v in SHAPEFILE_NAMES.items() if v not in data})
    codec = "gbk" if encoding.upper() == "GBK" else "utf-8"
    long = [
        str(c)
        for c in renamed.columns
        if c != renamed.geometry.name and len(str(c).encode(codec, "replace")) > 10
    ]
    if long:
        raise InputError(
            f"{option}: a Shapefile field name holds at most 10 bytes; "
            f"{', '.join(long[:5])} would be cut: write .gpkg instead"
        )
    return renamed


def _remove(path: Path) -> None:
    if path.suffix.lower() == ".shp":
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx"):
            path.with_suffix(ext).unlink(missing_ok=True)
    else:
        path.unlink(missing_ok=True)


__all__ = [
    "FORMATS",
    "area_layer",
    "check_output",
    "user_columns",
    "write_layers",
    "written_band",
]
