"""The store interface shared by the PostGIS and GeoPackage stores.

Both stores keep geometry in EPSG:4326 and hold the same tables: ``outline``, ``roads``,
``buildings``, ``compounds``, ``facilities``, ``units`` (layers), ``plans`` (immutable, with
parent and targets), ``assignments`` and ``areas`` (a plan's rows), ``findings`` (a plan's
check results), ``imports`` (what was loaded, and what was skipped and why), ``staff`` (the
grid staff roster) and ``service`` (per-community service figures).

Guarantees, identical in both stores:

* an import is one transaction: every layer of it loads, or nothing changes;
* plans are append-only: :meth:`Store.save_plan` always creates a new id and never rewrites a
  stored plan; plan and import ids are consecutive from 1 (a failed write uses none);
* ``read_layer`` returns features in the schema of :mod:`gridplan.data.layers`, in EPSG:4326,
  ordered by id (numeric ids numerically, then other ids by code point), followed by the
  input's extra columns (kept as JSON, returned in alphabetical order);
* ids are unique per layer: importing an id that is already stored is refused (the whole
  import) unless ``replace`` is set;
* ``areas`` is not a store layer: drawn community/grid polygons are stored as a plan, whose
  areas come back as MultiPolygons;
* the same rows come back from both stores (same ids, values and geometries);
* a write that cannot happen says why in one line (:class:`~gridplan.errors.StoreError`): a
  read-only store or file system, or another writer holding the store's lock for longer than
  the lock timeout (``GRIDPLAN_LOCK_TIMEOUT`` seconds, default 30; see :func:`lock_timeout`).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridplan.data.layers import LayerKind
from gridplan.errors import FeatureProblem, InputError, NotFoundError
from gridplan.plan import Plan, PlanInfo

#: Seconds a writer waits for another writer's lock when ``GRIDPLAN_LOCK_TIMEOUT`` is unset.
DEFAULT_LOCK_TIMEOUT = 30.0


def lock_timeout(value: float | None = None) -> float:
    """The seconds a writer waits for the store's lock before giving up.

    ``value`` if given, else ``GRIDPLAN_LOCK_TIMEOUT`` from the environment, else
    :data:`DEFAULT_LOCK_TIMEOUT`.

    Raises
    ------
    InputError
        If the value is not a finite number of seconds >= 0.

    Examples
    --------
    >>> lock_timeout(2)
    2.0
    """
    raw: object = value
    if raw is None:
        raw = os.environ.get("GRIDPLAN_LOCK_TIMEOUT") or DEFAULT_LOCK_TIMEOUT
    try:
        seconds = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = float("nan")
    if not (0 <= seconds < float("inf")):
        raise InputError(
            f"lock timeout {raw!r}: expected a number of seconds >= 0 (GRIDPLAN_LOCK_TIMEOUT)"
        )
    return seconds


@dataclass(frozen=True)
class ImportResult:
    """What an import loaded and skipped.

    Parameters
    ----------
    import_id
        The id of the import record.
    loaded
        Features loaded per layer kind.
    skipped
        Features skipped (only with ``skip_invalid``), each with its reason.
    source
        What was imported (as given to :meth:`Store.import_layers`).
    created_at
        When the import was stored (UTC).
    """

    import_id: int
    loaded: Mapping[str, int]
    skipped: Sequence[FeatureProblem] = field(default_factory=tuple)
    source: str = ""
    created_at: datetime | None = None


class Store(ABC):
    """A gridplan store. Open one with :func:`open_store`."""

    url: str

    @abstractmethod
    def initialise(self) -> None:
        """Create or migrate the schema (idempotent)."""

    @abstractmethod
    def import_layers(
        self,
        layers: Mapping[LayerKind, gpd.GeoDataFrame],
        *,
        source: str = "",
        skipped: Sequence[FeatureProblem] = (),
        replace: bool = False,
    ) -> ImportResult:
        """Load validated, normalised layers in one transaction.

        Parameters
        ----------
        layers
            Layers already normalised and validated (any CRS; stored as EPSG:4326).
        source
            What was imported (a file name), recorded with the import.
        skipped
            Features the caller skipped (``--skip-invalid``), recorded with the import.
        replace
            Replace the existing features of each layer kind instead of appending.

        Raises
        ------
        InputError
            If an id already exists in the layer (and ``replace`` is false), ids repeat
            within a layer, or a kind is not a store layer (``areas``: save a plan).
        StoreError
            If the store cannot be written; nothing is changed.
        """

    @abstractmethod
    def read_layer(
        self, kind: LayerKind, *, bbox: tuple[float, float, float, float] | None = None
    ) -> gpd.GeoDataFrame:
        """Read a layer in EPSG:4326, optionally only features intersecting ``bbox``
        (``minx, miny, maxx, maxy`` in longitude/latitude; exact geometry intersection).

        Raises
        ------
        InputError
            If ``kind`` is not a store layer or ``bbox`` is malformed.
        """

    @abstractmethod
    def count(self, kind: LayerKind) -> int:
        """Number of features in a layer."""

    @abstractmethod
    def read_imports(self) -> list[ImportResult]:
        """Every import recorded, oldest first: what it loaded per layer and what it skipped
        and why."""

    @abstractmethod
    def latest_import_id(self) -> int | None:
        """The id of the latest import, ``None`` before any.

        One indexed query (the largest ``import_id``); no import record is read. What the
        stored layers are as of: a service re-reads its layers when it changes.
        """

    @abstractmethod
    def save_plan(self, plan: Plan, findings: gpd.GeoDataFrame | None = None) -> int:
        """Store a new plan (and its findings) in one transaction; return its new id.

        Raises
        ------
        NotFoundError
            If ``plan.parent_id`` names no stored plan.
        ConflictError
            If ``plan.plan_id`` is already set (plans are never overwritten).
        """

    @abstractmethod
    def list_plans(self) -> list[PlanInfo]:
        """All stored plans, oldest first."""

    @abstractmethod
    def latest_plan_id(self) -> int | None:
        """The id of the latest stored plan, ``None`` when no plan is stored.

        One indexed query (the largest ``plan_id``); no plan is loaded.
        """

    @abstractmethod
    def load_plan(self, plan_id: int | None = None) -> Plan:
        """Load a plan; ``None`` loads the latest.

        Raises
        ------
        NotFoundError
            If there is no such plan (or no plan at all).
        """

    @abstractmethod
    def save_findings(self, plan_id: int, findings: gpd.GeoDataFrame) -> None:
        """Replace the stored findings of a plan (findings are derived, the plan is not).

        ``findings`` has the columns of :data:`gridplan.data.layers.FINDING_COLUMNS` and a
        geometry (any type or null, any CRS).

        Raises
        ------
        NotFoundError
            If there is no such plan.
        """

    @abstractmethod
    def read_findings(self, plan_id: int) -> gpd.GeoDataFrame:
        """The stored findings of a plan, in EPSG:4326, in the order they were saved.

        Raises
        ------
        NotFoundError
            If there is no such plan.
        """

    def change_stamp(self) -> Hashable | None:
        """A value that changes whenever any process changes the store, read without a query.

        A service compares it before each answer that depends on "the latest plan" or "the
        latest import", so a plan stored by another process (another worker of ``gridplan
        serve --workers N``, a ``gridplan`` command) is seen at once. ``None``: this store
        cannot tell cheaply; :meth:`watch` (or polling) tells instead.
        """
        return None

    def watch(self, changed: Callable[[str], None]) -> Callable[[], None] | None:
        """Call ``changed(what)`` from a background thread whenever any process stores a plan,
        an import or findings in this store; return a function that stops watching.

        ``what`` is ``"plan:<id>"``, ``"import:<id>"``, ``"findings:<id>"``, or
        ``"reconnect"`` after the watch was interrupted (anything may have changed).
        ``None``: this store has no change feed (see :meth:`change_stamp`).
        """
        return None

    @abstractmethod
    def save_staff(self, staff: pd.DataFrame) -> int:
        """Replace the staff roster (``name``, ``role``, ``grid_code``) in one transaction;
        return the number of staff stored.

        Raises
        ------
        InputError
            If a column is missing or a row lacks a name or grid code; nothing changes.
        """

    @abstractmethod
    def read_staff(self) -> pd.DataFrame:
        """The staff roster (``name``, ``role``, ``grid_code``), in roster order."""

    @abstractmethod
    def save_service(self, service: pd.DataFrame) -> int:
        """Replace the per-community service figures (``code``, ``volunteers``,
        ``new_households``, ``model``) in one transaction; return the rows stored.

        Raises
        ------
        InputError
            If a code repeats or a count is not a number >= 0; nothing changes.
        """

    @abstractmethod
    def read_service(self) -> pd.DataFrame:
        """The service figures by community code."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str | Path, *, initialise: bool = True, create: bool = True) -> Store:
    """Open a store from a PostgreSQL URL or a ``.gpkg`` path.

    Parameters
    ----------
    url
        ``postgresql+psycopg://user@host/db`` (``postgresql://`` also accepted) or a path
        ending in ``.gpkg``.
    initialise
        Create or migrate the schema.
    create
        Create a missing GeoPackage file. Commands that only read a store pass ``False``, so
        a mistyped ``--db`` path is an error rather than a new, empty store.

    Raises
    ------
    InputError
        If ``url`` is neither.
    """
    text = str(url)
    if text.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        from gridplan.data.store.postgis import PostGISStore

        store: Store = PostGISStore(text)
    elif text.lower().endswith(".gpkg"):
        if not create and not Path(text).is_file():
            raise NotFoundError(f"--db {text}: no such store (run gridplan import or demo first)")
        from gridplan.data.store.geopackage import GeoPackageStore

        store = GeoPackageStore(Path(text))
    else:
        raise InputError(
            f"--db {text!r}: expected a PostgreSQL URL (postgresql+psycopg://…) or a .gpkg path"
        )
    if initialise:
        store.initialise()
    return store
