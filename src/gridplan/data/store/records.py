"""Conversion between gridplan frames and the rows both stores keep.

The PostGIS and GeoPackage stores hold the same rows; this module is the one place that
decides what those rows are, so the two stores give identical results:

* a layer row is the schema's id and attribute columns (ids as text, counts as floats), an
  ``attrs`` mapping holding the input's extra columns (JSON: nulls dropped, numpy scalars and
  timestamps made JSON-native) and a geometry in EPSG:4326;
* reading turns rows back into the layer schema, extras from ``attrs`` in alphabetical order,
  sorted by id (numeric ids numerically first, then other ids by code point);
* a plan's ``areas`` are stored as MultiPolygons, its ``assignments`` as text, its targets and
  metrics as JSON; findings keep the columns of :data:`~gridplan.data.layers.FINDING_COLUMNS`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.data.crs import STORAGE_CRS, to_storage
from gridplan.data.layers import FINDING_COLUMNS, SCHEMAS, LayerKind, LayerSchema
from gridplan.errors import FeatureProblem, InputError
from gridplan.plan import AREA_COLUMNS, ASSIGNMENT_COLUMNS

#: The layer kinds a store keeps as layers (``areas`` are a plan's rows, not a layer).
LAYER_KINDS: tuple[LayerKind, ...] = (
    LayerKind.OUTLINE,
    LayerKind.ROADS,
    LayerKind.BUILDINGS,
    LayerKind.COMPOUNDS,
    LayerKind.FACILITIES,
    LayerKind.UNITS,
    LayerKind.PATHS,
)
#: Attribute columns of a stored finding that hold numbers (the others are text).
FINDING_FLOATS: frozenset[str] = frozenset({"value"})
#: Columns of a stored area that hold numbers.
AREA_FLOATS: frozenset[str] = frozenset({"households", "residents"})
#: Stored attribute columns of a plan's areas (geometry apart).
AREA_COLUMNS_STORED: tuple[str, ...] = (*AREA_COLUMNS, "attrs")


def layer_schema(kind: LayerKind | str) -> LayerSchema:
    """Return the schema of a layer kind a store keeps as a layer.

    Raises
    ------
    InputError
        If ``kind`` is unknown, or is ``areas`` (drawn areas are stored as a plan).
    """
    try:
        lk = LayerKind(kind)
    except ValueError as exc:
        known = ", ".join(k.value for k in LAYER_KINDS)
        raise InputError(f"unknown layer kind {kind!r} (expected one of {known})") from exc
    if lk not in LAYER_KINDS:
        raise InputError(
            "areas are not a store layer: drawn community or grid polygons are stored as a "
            "plan (Store.save_plan)"
        )
    return SCHEMAS[lk]


# --------------------------------------------------------------------------- JSON values


def json_value(value: Any) -> Any:
    """Return ``value`` as a JSON-native value (``None`` for missing values).

    NaN, NaT and ``None`` become ``None``; numpy scalars become Python numbers; dates and
    times become ISO 8601 text; infinities become the text ``"inf"``/``"-inf"``; mappings and
    sequences are converted item by item; anything else becomes its ``str``.

    Examples
    --------
    >>> json_value(np.int64(3)), json_value(float("nan")), json_value({"a": np.float32(0.5)})
    (3, None, {'a': 0.5})
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def dumps(value: Any, *, native: bool = False) -> str:
    """Serialise ``value`` to JSON text (UTF-8 kept as is, NaN as ``null``).

    ``native`` skips the conversion for values already JSON-native (e.g. from
    :func:`attrs_column`).
    """
    data = value if native else json_value(value)
    return json.dumps(data, ensure_ascii=False, allow_nan=False)


def loads(text: str | bytes | None) -> Any:
    """Parse JSON text (``None`` stays ``None``)."""
    if text is None:
        return None
    return json.loads(text)


# --------------------------------------------------------------------------- layers


def layer_rows(kind: LayerKind | str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Turn a normalised layer into the rows a store keeps.

    Parameters
    ----------
    kind
        The layer kind.
    gdf
        Normalised features (any CRS).

    Returns
    -------
    geopandas.GeoDataFrame
        The id and attribute columns of the schema, ``attrs`` (one dict of extra columns per
        row, nulls dropped) and the geometry, in EPSG:4326.

    Raises
    ------
    InputError
        If the id column is missing, an id is missing or repeated, or a geometry is missing
        or empty.
    CRSError
        If the layer has no CRS.
    """
    sch = layer_schema(kind)
    if sch.id_column not in gdf.columns:
        raise InputError(f"{sch.kind}: no {sch.id_column} column (normalise the layer first)")
    geo = to_storage(gdf, sch.kind.value) if len(gdf) else gdf.set_crs(STORAGE_CRS, True)
    ids = _text_column(geo[sch.id_column])
    missing = int(ids.isna().sum())
    if missing:
        raise InputError(f"{sch.kind}: {missing} feature(s) have no {sch.id_column}")
    dups = sorted(set(ids[ids.duplicated()]), key=id_sort_key)
    if dups:
        raise InputError(f"{sch.kind}: duplicate {sch.id_column} {_names(dups)}")
    geoms = np.asarray(geo.geometry.values, dtype=object)
    no_shape = pd.isna(geoms) | shapely.is_empty(geoms)
    if no_shape.any():
        shown = sorted(ids[no_shape].tolist(), key=id_sort_key)
        raise InputError(f"{sch.kind}: missing or empty geometry for {_names(shown)}")
    data: dict[str, Any] = {sch.id_column: ids}
    for col, dtype in sch.columns.items():
        values = geo[col] if col in geo.columns else pd.Series([None] * len(geo))
        data[col] = _float_column(values) if dtype == "float" else _text_column(values)
    extras = [c for c in geo.columns if c not in data and c != geo.geometry.name]
    data["attrs"] = attrs_column(geo, extras)
    frame = pd.DataFrame({k: _reindexed(v, len(geo)) for k, v in data.items()})
    return gpd.GeoDataFrame(frame, geometry=np.asarray(geo.geometry.values), crs=STORAGE_CRS)


def attrs_column(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """One JSON-native dict per row of ``frame[columns]``, nulls dropped."""
    out: list[dict[str, Any]] = [{} for _ in range(len(frame))]
    for col in columns:
        key = str(col)
        for row, value in _json_values(frame[col]):
            out[row][key] = value
    return out


def _json_values(series: pd.Series) -> Iterator[tuple[int, Any]]:
    """(row, JSON-native value) for the non-null values of a column; fast for plain dtypes."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        mask = series.notna().to_numpy()
        values = series.tolist()
        return ((i, bool(values[i])) for i in np.flatnonzero(mask).tolist())
    if pd.api.types.is_integer_dtype(dtype):
        mask = series.notna().to_numpy()
        values = series.tolist()
        return ((i, int(values[i])) for i in np.flatnonzero(mask).tolist())
    if pd.api.types.is_float_dtype(dtype):
        arr = series.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(arr)
        values = arr.tolist()
        rows = np.flatnonzero(~np.isnan(arr)).tolist()
        return ((i, values[i] if finite[i] else json_value(values[i])) for i in rows)
    values = series.tolist()
    return (
        (i, v if type(v) is str else json_value(v))
        for i, v in enumerate(values)
        if v is not None and (type(v) is str or json_value(v) is not None)
    )


def layer_frame(
    kind: LayerKind | str,
    rows: pd.DataFrame,
    geometry: npt.NDArray[np.object_] | Sequence[Any],
) -> gpd.GeoDataFrame:
    """Turn stored rows back into a layer in the schema of ``kind``.

    Parameters
    ----------
    kind
        The layer kind.
    rows
        The id and attribute columns and ``attrs`` (dicts or JSON text).
    geometry
        Shapely geometries, one per row.

    Returns
    -------
    geopandas.GeoDataFrame
        Schema columns, then extra columns in alphabetical order, then ``geometry``, in
        EPSG:4326, sorted by id.
    """
    sch = layer_schema(kind)
    n = len(rows)
    data: dict[str, pd.Series] = {sch.id_column: _text_column(rows[sch.id_column])}
    for col, dtype in sch.columns.items():
        data[col] = _float_column(rows[col]) if dtype == "float" else _text_column(rows[col])
    data.update(extras_frame(rows["attrs"] if "attrs" in rows.columns else [{}] * n, data))
    frame = pd.DataFrame({k: _reindexed(v, n) for k, v in data.items()}, index=range(n))
    out = gpd.GeoDataFrame(frame, geometry=np.asarray(geometry, dtype=object), crs=STORAGE_CRS)
    ids = frame[sch.id_column].tolist()
    order = sorted(range(n), key=lambda i: id_sort_key(ids[i]))
    return out.iloc[order].reset_index(drop=True)


def extras_frame(attrs: Iterable[Any], taken: Iterable[str] = ()) -> dict[str, pd.Series]:
    """Columns rebuilt from per-row ``attrs`` (dicts or JSON text), in alphabetical order.

    A column whose values are all numbers (or missing) is an integer column when every row
    has a whole number, else a float column (NaN for missing); a column of booleans in every
    row is boolean; any other column is an object column with ``None`` for missing values.
    """
    dicts = [a if isinstance(a, Mapping) else (loads(a) or {}) for a in attrs]
    skip = set(taken)
    keys = sorted({k for d in dicts for k in d} - skip)
    if not keys:
        return {}
    table = pd.DataFrame.from_records(dicts, columns=keys, coerce_float=False)
    out: dict[str, pd.Series] = {}
    for key in keys:
        col = table[key]
        if not (pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)):
            col = col.astype(object).where(col.notna(), None)
        out[key] = col.reset_index(drop=True)
    return out


def id_sort_key(value: str) -> tuple[int, int, str]:
    """Sort key for ids: numeric ids numerically first, then others by code point.

    Examples
    --------
    >>> sorted(["10", "b", "2", "a"], key=id_sort_key)
    ['2', '10', 'a', 'b']
    """
    if value.isascii() and value.isdigit():
        return (0, int(value), value)
    return (1, 0, value)


def clip_to_bbox(
    gdf: gpd.GeoDataFrame, bbox: tuple[float, float, float, float] | None
) -> gpd.GeoDataFrame:
    """Keep the features whose geometry intersects ``bbox`` (``minx, miny, maxx, maxy``)."""
    if bbox is None:
        return gdf
    box = shapely.box(*check_bbox(bbox))
    keep = shapely.intersects(np.asarray(gdf.geometry.values), box)
    return gdf[keep].reset_index(drop=True)


def check_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    """Validate a ``minx, miny, maxx, maxy`` box in longitude/latitude.

    Raises
    ------
    InputError
        If it does not have four finite numbers with ``minx <= maxx`` and ``miny <= maxy``.
    """
    try:
        minx, miny, maxx, maxy = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise InputError(f"bbox {bbox!r}: expected four numbers minx, miny, maxx, maxy") from exc
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise InputError(f"bbox {bbox!r}: values must be finite")
    if minx > maxx or miny > maxy:
        raise InputError(f"bbox {bbox!r}: minx must be <= maxx and miny <= maxy")
    return minx, miny, maxx, maxy


# --------------------------------------------------------------------------- plans


def assignment_rows(assignments: pd.DataFrame) -> pd.DataFrame:
    """A plan's assignments as text columns ``unit_id``, ``community_id``, ``grid_id``.

    Raises
    ------
    InputError
        If a column is missing, a unit id is missing, or a unit is assigned twice.
    """
    missing = [c for c in ASSIGNMENT_COLUMNS if c not in assignments.columns]
    if missing:
        raise InputError(f"plan assignments: missing column(s) {', '.join(missing)}")
    n = len(assignments)
    out = pd.DataFrame({c: _reindexed(_text_column(assignments[c]), n) for c in ASSIGNMENT_COLUMNS})
    if out["unit_id"].isna().any():
        raise InputError("plan assignments: a row has no unit_id")
    dups = sorted(set(out["unit_id"][out["unit_id"].duplicated()]), key=id_sort_key)
    if dups:
        raise InputError(f"plan assignments: unit(s) assigned more than once: {_names(dups)}")
    return out


def assignment_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Stored assignment rows back as a plan's assignments table (object columns)."""
    n = len(rows)
    return pd.DataFrame(
        {c: _reindexed(_text_column(rows[c]), n) for c in ASSIGNMENT_COLUMNS}, index=range(n)
    )


def area_rows(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A plan's areas as stored: :data:`~gridplan.plan.AREA_COLUMNS`, ``attrs`` (extra
    columns) and a MultiPolygon geometry in EPSG:4326.

    Raises
    ------
    InputError
        If a column is missing, an area has no id or level, a (level, area_id) pair is
        repeated, or a geometry is not polygonal.
    """
    missing = [c for c in ("level", "area_id") if c not in areas.columns]
    if missing:
        raise InputError(f"plan areas: missing column(s) {', '.join(missing)}")
    geo = areas
    if len(areas):
        geo = to_storage(areas, "plan areas")
    n = len(geo)
    data: dict[str, Any] = {}
    for col in AREA_COLUMNS:
        values = geo[col] if col in geo.columns else pd.Series([None] * n)
        data[col] = _float_column(values) if col in AREA_FLOATS else _text_column(values)
    for col in ("level", "area_id"):
        if pd.isna(data[col]).any():
            raise InputError(f"plan areas: a row has no {col}")
    keys = pd.Series(list(zip(data["level"], data["area_id"], strict=True)))
    dups = sorted({f"{lv}:{a}" for lv, a in keys[keys.duplicated()]})
    if dups:
        raise InputError(f"plan areas: repeated area id(s) {_names(dups)}")
    extras = [c for c in geo.columns if c not in data and c != geo.geometry.name]
    data["attrs"] = attrs_column(geo, extras)
    frame = pd.DataFrame({k: _reindexed(v, n) for k, v in data.items()})
    geoms = to_multipolygons(np.asarray(geo.geometry.values, dtype=object) if n else [])
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=STORAGE_CRS)


def area_frame(rows: pd.DataFrame, geometry: Sequence[Any] | npt.NDArray[Any]) -> gpd.GeoDataFrame:
    """Stored area rows back as a plan's areas (MultiPolygons, EPSG:4326)."""
    n = len(rows)
    data: dict[str, pd.Series] = {}
    for col in AREA_COLUMNS:
        data[col] = _float_column(rows[col]) if col in AREA_FLOATS else _text_column(rows[col])
    data.update(extras_frame(rows["attrs"] if "attrs" in rows.columns else [{}] * n, data))
    frame = pd.DataFrame({k: _reindexed(v, n) for k, v in data.items()}, index=range(n))
    return gpd.GeoDataFrame(
        frame, geometry=np.asarray(list(geometry), dtype=object), crs=STORAGE_CRS
    )


def to_multipolygons(geoms: Sequence[Any] | npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Promote Polygons to one-part MultiPolygons (MultiPolygons and nulls unchanged).

    Raises
    ------
    InputError
        If a geometry is neither.
    """
    arr = np.asarray(geoms, dtype=object)
    out = arr.copy()
    for i, g in enumerate(arr):
        if g is None:
            continue
        if g.geom_type == "Polygon":
            out[i] = shapely.MultiPolygon([g]) if not g.is_empty else shapely.MultiPolygon()
        elif g.geom_type != "MultiPolygon":
            raise InputError(f"plan areas: area {i + 1} has a {g.geom_type}, not a polygon")
    return out


def finding_rows(findings: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Findings as stored: :data:`~gridplan.data.layers.FINDING_COLUMNS` and a geometry
    (any type or null) in EPSG:4326.

    Raises
    ------
    InputError
        If a column is missing.
    """
    if findings is None:
        return empty_findings()
    missing = [c for c in FINDING_COLUMNS if c not in findings.columns]
    if missing:
        raise InputError(f"findings: missing column(s) {', '.join(missing)}")
    geo = findings
    if len(findings) and isinstance(findings, gpd.GeoDataFrame) and findings.crs is not None:
        geo = to_storage(findings, "findings")
    elif len(findings) and _has_geometry(findings):
        raise InputError("findings: geometries without a CRS")
    n = len(geo)
    data = {
        c: _reindexed(_float_column(geo[c]) if c in FINDING_FLOATS else _text_column(geo[c]), n)
        for c in FINDING_COLUMNS
    }
    geoms = (
        np.asarray(geo.geometry.values, dtype=object)
        if isinstance(geo, gpd.GeoDataFrame) and geo._geometry_column_name in geo.columns
        else np.full(n, None, dtype=object)
    )
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=geoms, crs=STORAGE_CRS)


def finding_frame(
    rows: pd.DataFrame, geometry: Sequence[Any] | npt.NDArray[Any]
) -> gpd.GeoDataFrame:
    """Stored finding rows back as findings (EPSG:4326, stored order)."""
    n = len(rows)
    data = {
        c: _reindexed(_float_column(rows[c]) if c in FINDING_FLOATS else _text_column(rows[c]), n)
        for c in FINDING_COLUMNS
    }
    return gpd.GeoDataFrame(
        pd.DataFrame(data, index=range(n)),
        geometry=np.asarray(list(geometry), dtype=object),
        crs=STORAGE_CRS,
    )


def empty_findings() -> gpd.GeoDataFrame:
    """An empty findings frame."""
    return finding_frame(pd.DataFrame({c: [] for c in FINDING_COLUMNS}), [])


def clash_message(kind: LayerKind, id_column: str, ids: Sequence[str]) -> str:
    """The message of an import whose ids are already stored."""
    shown = sorted({str(i) for i in ids}, key=id_sort_key)
    return (
        f"{kind.value}: {len(shown)} {id_column}(s) already stored: {_names(shown)}; "
        "nothing was loaded (import with replace to replace the layer)"
    )


def problems_json(problems: Sequence[FeatureProblem]) -> list[dict[str, str]]:
    """Skipped features as JSON-native records (``layer``, ``feature``, ``reason``)."""
    return [{"layer": p.layer, "feature": p.feature, "reason": p.reason} for p in problems]


def problems_from_json(records: Iterable[Mapping[str, Any]] | None) -> tuple[FeatureProblem, ...]:
    """Inverse of :func:`problems_json`."""
    return tuple(
        FeatureProblem(str(r["layer"]), str(r["feature"]), str(r["reason"])) for r in records or []
    )


# --------------------------------------------------------------------------- helpers


def _has_geometry(frame: pd.DataFrame) -> bool:
    return isinstance(frame, gpd.GeoDataFrame) and frame.geometry.notna().any()


def _text_column(values: Iterable[Any]) -> pd.Series:
    """Text with ``None`` for missing values (object dtype, whole floats shown as ints)."""
    out: list[str | None] = []
    for v in values.tolist() if isinstance(values, pd.Series) else values:
        if type(v) is str:
            out.append(v)
            continue
        j = json_value(v)
        if j is None:
            out.append(None)
        elif isinstance(j, float) and j.is_integer():
            out.append(str(int(j)))
        else:
            out.append(j if isinstance(j, str) else str(j))
    return pd.Series(out, dtype=object)


def _float_column(values: Iterable[Any]) -> pd.Series:
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    return pd.Series(pd.to_numeric(series, errors="coerce").to_numpy(dtype=float), dtype=float)


def _reindexed(values: Any, n: int) -> Any:
    """A Series with a fresh 0..n-1 index (other sequences unchanged)."""
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    return values


def _names(values: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    more = f" (and {len(values) - limit} more)" if len(values) > limit else ""
    return shown + more


#: Columns of the staff roster (``staff`` table, after its ``staff_id``).
STAFF_COLUMNS: tuple[str, ...] = ("name", "role", "grid_code")
#: Columns of the per-community service figures (``service`` table).
SERVICE_COLUMNS: tuple[str, ...] = ("code", "volunteers", "new_households", "model")
_TRUE_TEXT = frozenset({"1", "1.0", "true", "yes", "y", "是"})


def staff_rows(staff: pd.DataFrame) -> list[dict[str, Any]]:
    """Validated roster rows: ``staff_id`` (1, 2, … in roster order), ``name``, ``role``,
    ``grid_code`` (text, stripped).

    Raises
    ------
    InputError
        If a column is missing, or a row has no name or no grid code (rows named).

    Examples
    --------
    >>> roster = pd.DataFrame({"name": ["王芳"], "role": ["专职"], "grid_code": [350582001004001]})
    >>> staff_rows(roster)
    [{'staff_id': 1, 'name': '王芳', 'role': '专职', 'grid_code': '350582001004001'}]
    """
    missing = [c for c in ("name", "grid_code") if c not in staff.columns]
    if missing:
        raise InputError(f"staff roster: no column(s) {', '.join(missing)} (name, role, grid_code)")
    rows, bad = [], []
    roles = staff["role"] if "role" in staff.columns else pd.Series("", index=staff.index)
    for i, (name, role, code) in enumerate(
        zip(staff["name"], roles, staff["grid_code"], strict=True), start=1
    ):
        name_t, code_t = _plain(name), _plain(code)
        if not name_t or not code_t:
            bad.append(str(i))
            continue
        rows.append({"staff_id": i, "name": name_t, "role": _plain(role), "grid_code": code_t})
    if bad:
        raise InputError(f"staff roster: row(s) {_names(bad)} lack a name or a grid code")
    return rows


def service_rows(service: pd.DataFrame) -> list[dict[str, Any]]:
    """Validated service rows: ``code`` (text), ``volunteers`` and ``new_households``
    (numbers >= 0, ``None`` when blank), ``model`` (``1``/``true``/``yes``/``是``).

    Raises
    ------
    InputError
        If there is no ``code`` column, a code repeats or is blank, or a count is not a
        number >= 0 (rows named).
    """
    if "code" not in service.columns:
        raise InputError("service table: no 'code' column (the community code)")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    bad: list[str] = []
    for i, rec in enumerate(service.to_dict(orient="records"), start=1):
        code = _plain(rec.get("code"))
        if not code or code in seen:
            bad.append(f"{i} (code {code or 'blank'}{' twice' if code else ''})")
            continue
        seen.add(code)
        row: dict[str, Any] = {"code": code}
        for col in ("volunteers", "new_households"):
            text = _plain(rec.get(col))
            try:
                value = float(text) if text else None
            except ValueError:
                value = -1.0
            if value is not None and not (value >= 0 and math.isfinite(value)):
                bad.append(f"{i} ({col} {text!r})")
            row[col] = value
        row["model"] = _plain(rec.get("model")).lower() in _TRUE_TEXT
        rows.append(row)
    if bad:
        raise InputError(f"service table: bad row(s) {_names(bad)}")
    return rows


def staff_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The roster as stored: ``name``, ``role``, ``grid_code`` in roster order."""
    frame = pd.DataFrame(list(rows), columns=["staff_id", *STAFF_COLUMNS])
    frame = frame.sort_values("staff_id", kind="stable").reset_index(drop=True)
    return frame[list(STAFF_COLUMNS)].astype(object)


def service_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The service figures as stored, by code."""
    frame = pd.DataFrame(list(rows), columns=list(SERVICE_COLUMNS))
    frame["volunteers"] = pd.to_numeric(frame["volunteers"], errors="coerce")
    frame["new_households"] = pd.to_numeric(frame["new_households"], errors="coerce")
    frame["model"] = frame["model"].astype(bool)
    return frame.sort_values("code", kind="stable").reset_index(drop=True)


def _plain(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    text = str(value).strip()
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text
