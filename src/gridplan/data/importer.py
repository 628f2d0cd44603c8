"""The import pipeline: read → normalise → validate → (estimate households) → store.

One file, one transaction: :func:`import_file` reads a file into layers, repairs the invalid
polygons whose repair is unambiguous (:func:`gridplan.data.layers.repair_geometries`; each
one is reported in ``repaired``), validates every feature and then either

* raises :class:`InvalidImportError` listing **every** problem, saying that
  ``--skip-invalid`` loads the rest, and writes nothing, or
* with ``skip_invalid=True``, stores the valid features in **one**
  :meth:`~gridplan.data.store.base.Store.import_layers` call and records the skipped ones
  (id and reason) with the import.

An OSM extract is someone else's data, cut out of the world at its edge, so it imports by
default: its features that are cut at the extract's edge (see :mod:`gridplan.data.osm`) or
whose geometry is broken beyond an unambiguous repair are skipped and reported
(``PreparedImport.skipped``) without ``skip_invalid``. Only other problems (a negative
``households`` tag, …) stop an OSM import. A user's own file stays all or nothing.

Every import is checked against the place the store already holds
(:func:`gridplan.data.place.require_same_place`): layers far from it are refused.

Kinds
-----
``roads``, ``paths``, ``buildings``, ``compounds``, ``facilities``, ``outline``
    One layer of a file (:func:`gridplan.data.readers.read_layer_file`). Buildings get
    estimated households (:mod:`gridplan.data.households`) where the file gives none.
``osm``
    An OSM PBF extract (:func:`gridplan.data.osm.read_osm`): roads, buildings (with estimated
    households), compounds and facilities, all in one transaction.
``areas``
    Drawn community (or grid) polygons. A drawn plan is a plan (DESIGN.md): the polygons are
    stored with :meth:`~gridplan.data.store.base.Store.save_plan` as a new plan with areas at
    ``level`` and no unit assignments yet; skipped features are recorded in the plan's
    ``metrics["skipped"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from gridplan.data.crs import Coords, parse_coords, to_storage
from gridplan.data.households import (
    HouseholdParams,
    HouseholdReport,
    estimate_households,
    read_known_households,
)
from gridplan.data.layers import LayerKind, check_layer
from gridplan.data.osm import read_osm_extract
from gridplan.data.place import require_same_place
from gridplan.data.readers import read_layer_file
from gridplan.data.store.base import Store
from gridplan.errors import FeatureProblem, InputError, InvalidFeaturesError
from gridplan.plan import AREA_COLUMNS, Level, Plan, empty_assignments


class ImportKind(StrEnum):
    """What a file holds (``gridplan import --kind``)."""

    ROADS = "roads"
    PATHS = "paths"
    BUILDINGS = "buildings"
    COMPOUNDS = "compounds"
    FACILITIES = "facilities"
    AREAS = "areas"
    OUTLINE = "outline"
    OSM = "osm"


@dataclass(frozen=True)
class FileImportResult:
    """What :func:`import_file` loaded and skipped.

    Parameters
    ----------
    source
        The file imported.
    kind
        What it was imported as.
    loaded
        Features loaded per layer kind (``areas`` for a drawn plan).
    skipped
        Features skipped (with ``skip_invalid``, or the broken features of an OSM extract),
        each with its id and reason.
    repaired
        Features whose invalid geometry was repaired and loaded, each with what was repaired.
    import_id
        The store's import record (layer imports).
    plan_id
        The new plan (``areas`` imports).
    households
        The household estimate's report (buildings and OSM imports).
    """

    source: str
    kind: ImportKind
    loaded: Mapping[str, int]
    skipped: tuple[FeatureProblem, ...] = ()
    import_id: int | None = None
    plan_id: int | None = None
    households: HouseholdReport | None = None
    layers: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict, repr=False)
    repaired: tuple[FeatureProblem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (without the layers)."""
        return {
            "source": self.source,
            "kind": self.kind.value,
            "import_id": self.import_id,
            "plan_id": self.plan_id,
            "loaded": dict(self.loaded),
            "skipped": _records(self.skipped),
            "repaired": _records(self.repaired),
            "households": self.households.to_dict() if self.households else None,
        }


def _records(problems: Sequence[FeatureProblem]) -> list[dict[str, str]]:
    return [{"layer": p.layer, "feature": p.feature, "reason": p.reason} for p in problems]


class InvalidImportError(InvalidFeaturesError):
    """An import with invalid features: every problem, and the option that loads the rest.

    Parameters
    ----------
    problems
        Every problem found.
    loadable
        How many valid features ``--skip-invalid`` would load.

    Examples
    --------
    >>> from gridplan.errors import FeatureProblem
    >>> bad = [FeatureProblem("compounds", "c", "negative households (-3)")]
    >>> print(InvalidImportError(bad, 2))  # doctest: +NORMALIZE_WHITESPACE
    1 invalid feature(s): compounds feature c: negative households (-3);
    --skip-invalid loads the other 2 feature(s) and lists the invalid one(s)
    """

    def __init__(self, problems: list[FeatureProblem], loadable: int) -> None:
        super().__init__(problems)
        self.loadable = loadable
        self.args = (
            f"{self.args[0]}; --skip-invalid loads the other {loadable} feature(s) and lists "
            "the invalid one(s)",
        )


def infer_kind(path: str | Path, kind: ImportKind | str | None = None) -> ImportKind:
    """The kind to import ``path`` as: ``kind`` if given, ``osm`` for ``.pbf`` files.

    Raises
    ------
    InputError
        If ``kind`` is unknown, or missing for a file that is not an OSM extract.
    """
    name = Path(path).name.lower()
    if kind is None:
        if name.endswith(".pbf"):
            return ImportKind.OSM
        known = "|".join(k.value for k in ImportKind)
        raise InputError(f"{Path(path).name}: say what the file holds with --kind {known}")
    try:
        chosen = ImportKind(kind)
    except ValueError as exc:
        known = ", ".join(k.value for k in ImportKind)
        raise InputError(f"unknown kind {kind!r} (expected one of {known})") from exc
    if name.endswith(".pbf") and chosen is not ImportKind.OSM:
        raise InputError(f"{Path(path).name} is an OSM extract: import it with --kind osm")
    return chosen


@dataclass(frozen=True)
class PreparedImport:
    """Layers read, normalised, repaired and validated, ready to store (see
    :func:`prepare_import`).

    Parameters
    ----------
    source, kind
        The file and what it holds.
    layers
        The valid (and repaired) features per layer kind.
    problems
        The invalid features that stop an all-or-nothing import (loaded only with
        ``skip_invalid``).
    households
        The household estimate's report (buildings and OSM imports).
    skipped
        Invalid features skipped whatever ``skip_invalid`` says: an OSM extract's features
        cut at its edge or broken beyond repair, each with its reason.
    repaired
        Features whose geometry was repaired, each with what was repaired.
    """

    source: str
    kind: ImportKind
    layers: dict[LayerKind, gpd.GeoDataFrame]
    problems: tuple[FeatureProblem, ...]
    households: HouseholdReport | None = None
    skipped: tuple[FeatureProblem, ...] = ()
    repaired: tuple[FeatureProblem, ...] = ()

    def require_valid(self, skip_invalid: bool = False) -> None:
        """Refuse an import with problems unless ``skip_invalid``.

        Raises
        ------
        InvalidImportError
            If there are problems and ``skip_invalid`` is false; it names ``--skip-invalid``
            and how many features it would load.
        """
        if self.problems and not skip_invalid:
            loadable = sum(len(gdf) for gdf in self.layers.values())
            raise InvalidImportError(list(self.problems), loadable)


def prepare_import(
    path: str | Path,
    kind: ImportKind | str | None = None,
    *,
    layer: str | None = None,
    fields: Mapping[str, str] | None = None,
    gcj02: bool = False,
    coords: Coords | str = Coords.WGS84,
    crs: str | int | CRS | None = None,
    encoding: str = "utf-8",
    household_params: HouseholdParams | None = None,
    bbox: Sequence[float] | None = None,
    households_total: float | None = None,
    households_known: Mapping[str, float] | str | Path | None = None,
) -> PreparedImport:
    """Read, normalise, repair and validate a file; estimate building households.

    Nothing is written. The valid features are in ``layers`` (with the repaired ones, listed
    in ``repaired``); every rejected one is in ``problems`` with its id and reason, except an
    OSM extract's broken geometries, which are in ``skipped`` (see the module docstring).
    Households are estimated on the valid buildings only.

    ``households_total`` calibrates the buildings' households to a known total, and
    ``households_known`` (building id → households, or a CSV file of
    ``building_id,households``) gives the counts known for some buildings; both are kept
    exactly (see :func:`gridplan.data.households.estimate_households`).

    Raises
    ------
    InputError, CRSError
        If the file cannot be read at all (see :func:`gridplan.data.readers.read_layer_file`).
    """
    src = Path(path)
    chosen = infer_kind(src, kind)
    cut: Mapping[LayerKind, Mapping[str, str]] = {}
    if chosen is ImportKind.OSM:
        if layer or fields or crs is not None or gcj02 or parse_coords(coords) is not Coords.WGS84:
            raise InputError(
                "--layer, --field, --crs and --coords/--gcj02 do not apply to OSM extracts "
                "(OpenStreetMap is WGS84)"
            )
        extract = read_osm_extract(src, bbox=bbox)
        raw = extract.layers
        cut = extract.cut
    else:
        if bbox is not None:
            raise InputError("bbox applies to OSM extracts only")
        if chosen is not ImportKind.BUILDINGS and (
            households_total is not None or households_known is not None
        ):
            raise InputError(
                "--households-total and --households-known apply to buildings and OSM imports only"
            )
        lk = LayerKind(chosen.value)
        raw = {
            lk: read_layer_file(
                src,
                lk,
                layer=layer,
                fields=fields,
                gcj02=gcj02,
                coords=coords,
                crs=crs,
                encoding=encoding,
            )
        }
    valid: dict[LayerKind, gpd.GeoDataFrame] = {}
    problems: list[FeatureProblem] = []
    skipped: list[FeatureProblem] = []
    repaired: list[FeatureProblem] = []
    for lk, gdf in raw.items():
        edge = cut.get(lk, {})
        checked = check_layer(lk, gdf, source=lk.value, exclude=edge)
        valid[lk] = checked.layer
        repaired += checked.repaired
        for problem in checked.problems:
            why = problem.reason
            if problem.feature in edge:
                why = f"cut at the extract's edge ({edge[problem.feature]}): {why}"
            explained = FeatureProblem(problem.layer, problem.feature, why)
            if chosen is ImportKind.OSM and _geometry_only(problem.reason):
                skipped.append(explained)
            else:
                problems.append(explained)
    known = (
        read_known_households(households_known)
        if isinstance(households_known, str | Path)
        else households_known
    )
    report = None
    if LayerKind.BUILDINGS in valid and len(valid[LayerKind.BUILDINGS]):
        estimate = estimate_households(
            valid[LayerKind.BUILDINGS],
            household_params,
            keep_given=True,
            source=src.name,
            total=households_total,
            known=known,
        )
        valid[LayerKind.BUILDINGS] = estimate.buildings
        report = estimate.report
    return PreparedImport(
        src.name,
        chosen,
        valid,
        tuple(problems),
        report,
        skipped=tuple(skipped),
        repaired=tuple(repaired),
    )


_GEOMETRY_REASONS = (
    "invalid geometry",
    "empty geometry",
    "missing geometry",
    "wrong geometry",
    "not repaired: ",
)


def _geometry_only(reason: str) -> bool:
    """Whether every reason a feature was rejected for is about its geometry."""
    return all(part.startswith(_GEOMETRY_REASONS) for part in reason.split("; "))


def import_file(
    store: Store,
    path: str | Path,
    kind: ImportKind | str | None = None,
    *,
    skip_invalid: bool = False,
    layer: str | None = None,
    fields: Mapping[str, str] | None = None,
    gcj02: bool = False,
    coords: Coords | str = Coords.WGS84,
    crs: str | int | CRS | None = None,
    encoding: str = "utf-8",
    replace: bool = False,
    household_params: HouseholdParams | None = None,
    level: Level | str = Level.COMMUNITY,
    bbox: Sequence[float] | None = None,
    households_total: float | None = None,
    households_known: Mapping[str, float] | str | Path | None = None,
) -> FileImportResult:
    """Import a file into a store, all or nothing.

    Parameters
    ----------
    store
        The store to write to.
    path
        The file.
    kind
        What it holds (:class:`ImportKind`); inferred as ``osm`` for ``.pbf`` files.
    skip_invalid
        Load the valid features and report the invalid ones instead of failing.
    layer, fields, gcj02, coords, crs, encoding
        Passed to :func:`gridplan.data.readers.read_layer_file`.
    replace
        Replace the layers' existing features instead of appending (not for ``areas``); the
        replaced layers do not count as the store's place.
    household_params
        Parameters of the household estimate for buildings.
    level
        For ``areas``: whether the polygons are communities or grids.
    bbox
        For ``osm``: read only this ``minx, miny, maxx, maxy`` (longitude/latitude).
    households_total, households_known
        For buildings and ``osm``: calibrate households to a known total and keep the counts
        known for some buildings (see :func:`prepare_import`).

    Returns
    -------
    FileImportResult

    Raises
    ------
    InvalidImportError
        If any feature is invalid and ``skip_invalid`` is false (for an OSM extract: any
        problem other than a broken geometry); nothing is written.
    InputError, CRSError
        If the file cannot be read, or its features lie far from the place the store holds
        (:func:`gridplan.data.place.require_same_place`); nothing is written.

    Examples
    --------
    >>> from gridplan.data.store import open_store
    >>> with open_store("gridplan.gpkg") as store:  # doctest: +SKIP
    ...     result = import_file(store, "tallahassee.gpkg", "roads")
    >>> result.loaded  # doctest: +SKIP
    {'roads': 567}
    """
    prepared = prepare_import(
        path,
        kind,
        layer=layer,
        fields=fields,
        gcj02=gcj02,
        coords=coords,
        crs=crs,
        encoding=encoding,
        household_params=household_params,
        bbox=bbox,
        households_total=households_total,
        households_known=households_known,
    )
    return store_prepared(store, prepared, skip_invalid=skip_invalid, replace=replace, level=level)


def store_prepared(
    store: Store,
    prepared: PreparedImport,
    *,
    skip_invalid: bool = False,
    replace: bool = False,
    level: Level | str = Level.COMMUNITY,
    code: Callable[[Store, Plan], Plan] | None = None,
) -> FileImportResult:
    """Store what :func:`prepare_import` read, all or nothing (see :func:`import_file`).

    ``code`` codes a drawn plan (areas) before it is stored: the application layer passes
    :func:`gridplan.ops.codes.code_drawn`, which keeps the file's codes and fills in the rest.

    Raises
    ------
    InvalidImportError
        If ``prepared`` has problems and ``skip_invalid`` is false; nothing is written.
    InputError
        If the layers lie far from the place the store holds
        (:func:`gridplan.data.place.require_same_place`), or none is left to import; nothing
        is written.
    """
    prepared.require_valid(skip_invalid)
    if prepared.kind is ImportKind.AREAS:
        if replace:
            raise InputError("--replace does not apply to areas: every import is a new plan")
        require_same_place(store, prepared.layers, source=prepared.source)
        return _import_areas(store, prepared, Level(level), code)
    layers = {lk: gdf for lk, gdf in prepared.layers.items() if len(gdf) or replace}
    if not any(len(gdf) for gdf in layers.values()):
        raise InputError(f"{prepared.source}: no valid features to import")
    require_same_place(store, layers, source=prepared.source, replace=replace)
    skipped = (*prepared.skipped, *prepared.problems)
    result = store.import_layers(layers, source=prepared.source, skipped=skipped, replace=replace)
    return FileImportResult(
        source=prepared.source,
        kind=prepared.kind,
        loaded=dict(result.loaded),
        skipped=skipped,
        import_id=result.import_id,
        households=prepared.households,
        layers={lk.value: gdf for lk, gdf in layers.items()},
        repaired=prepared.repaired,
    )


def areas_plan(
    areas: gpd.GeoDataFrame,
    *,
    name: str,
    level: Level | str = Level.COMMUNITY,
    source: str = "",
    skipped: Sequence[FeatureProblem] = (),
    repaired: Sequence[FeatureProblem] = (),
) -> Plan:
    """Build a drawn plan from normalised ``areas`` polygons (no unit assignments yet).

    ``parent_id`` (a grid's community) is taken from a ``parent_id`` column when there is one.
    Skipped features are recorded in ``metrics["skipped"]``, repaired ones (if any) in
    ``metrics["repaired"]``.
    """
    lv = Level(level)
    wgs = to_storage(areas, source or name)
    parent = (
        wgs["parent_id"].map(lambda v: None if pd.isna(v) else str(v))
        if "parent_id" in wgs.columns
        else pd.Series([None] * len(wgs), index=wgs.index, dtype=object)
    )
    frame = {
        "level": [lv.value] * len(wgs),
        "area_id": wgs["area_id"].astype(object),
        "name": wgs["name"].astype(object),
        "code": wgs["code"].astype(object),
        "parent_id": parent.astype(object),
        "households": wgs["households"].astype(float),
        "residents": wgs["residents"].astype(float),
    }
    plan_areas = gpd.GeoDataFrame(
        pd.DataFrame(frame, columns=list(AREA_COLUMNS)), geometry=wgs.geometry.values, crs=wgs.crs
    )
    metrics: dict[str, Any] = {
        "drawn": True,
        "areas": len(plan_areas),
        "skipped": [{"feature": p.feature, "reason": p.reason} for p in skipped],
    }
    if repaired:
        metrics["repaired"] = [{"feature": p.feature, "reason": p.reason} for p in repaired]
    return Plan(
        name=name,
        assignments=empty_assignments(),
        areas=plan_areas,
        metrics=metrics,
        source=f"import:{source}" if source else "import",
    )


def _import_areas(
    store: Store,
    prepared: PreparedImport,
    level: Level,
    code: Callable[[Store, Plan], Plan] | None = None,
) -> FileImportResult:
    areas = prepared.layers[LayerKind.AREAS]
    if not len(areas):
        raise InputError(f"{prepared.source}: no valid areas to import")
    skipped = (*prepared.skipped, *prepared.problems)
    plan = areas_plan(
        areas,
        name=Path(prepared.source).stem,
        level=level,
        source=prepared.source,
        skipped=skipped,
        repaired=prepared.repaired,
    )
    if code is not None:
        plan = code(store, plan)
    plan_id = store.save_plan(plan)
    return FileImportResult(
        source=prepared.source,
        kind=prepared.kind,
        loaded={LayerKind.AREAS.value: len(areas)},
        skipped=skipped,
        plan_id=plan_id,
        layers={LayerKind.AREAS.value: areas},
        repaired=prepared.repaired,
    )
