"""The embedded GeoPackage store: every command works without a database server.

One ``.gpkg`` file holds the same tables as the PostGIS store (see
:mod:`gridplan.data.store.tables`): the layers and plan ``areas``/``findings`` as GeoPackage
feature layers (EPSG:4326, R-tree spatial index), ``imports``, ``plans`` and ``assignments``
as attribute tables, JSON in text columns. Features are written with pyogrio; attribute rows
are read with :mod:`sqlite3` (parameterised SQL) and layers with pyogrio ``where=``/``bbox=``
so a read never loads more than it returns.

All-or-nothing writes use copy-on-write: under an exclusive lock (``<file>.lock``), a write
copies the file next to itself, changes the copy, and atomically replaces the original with
:func:`os.replace`. A failure at any point deletes the copy and leaves the store untouched;
readers always see either the old or the new file, never a half-written one.

Faults are one-line :class:`~gridplan.errors.StoreError` messages, and the store is left as it
was:

* a read-only store is never written: a file without any write permission bit (``chmod
  0444``, refused even for root, who could write it), a folder without one, a folder the
  process may not write, or a read-only file system. Reads still work. The replaced file
  keeps the original's permission bits;
* a writer that finds the lock taken says so (a warning on the ``gridplan`` logger) and gives
  up after ``lock_timeout`` seconds (``GRIDPLAN_LOCK_TIMEOUT``, default 30): "store X is
  locked by another writer (waited N s)". A file SQLite reports as locked (another program
  writing it) is reported as locked, not as unreadable;
* copies left by a killed writer are deleted the next time the store is opened (and before
  every write), whenever no live writer holds the lock.

Examples
--------
>>> store = GeoPackageStore("gridplan.gpkg")  # doctest: +SKIP
>>> store.initialise()  # doctest: +SKIP
>>> store.count("roads")  # doctest: +SKIP
0
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import glob
import logging
import os
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

from gridplan.data.layers import LayerKind
from gridplan.data.store import records
from gridplan.data.store.base import ImportResult, Store
from gridplan.data.store.base import lock_timeout as _lock_timeout
from gridplan.errors import (
    ConflictError,
    FeatureProblem,
    GridplanError,
    InputError,
    NotFoundError,
    StoreError,
)
from gridplan.plan import Plan, PlanInfo

#: Version of the table layout written by :meth:`GeoPackageStore.initialise`.
STORE_VERSION = "0003"
_BATCH = 500
_ERRORS = (OSError, sqlite3.Error, DataSourceError, DataLayerError, FieldError, GeometryError)
#: errno values of a write refused by permissions or a read-only file system.
_READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_POLL = 0.05
_log = logging.getLogger("gridplan.store")


def _layer_template(kind: LayerKind) -> gpd.GeoDataFrame:
    sch = records.layer_schema(kind)
    cols: dict[str, pd.Series] = {sch.id_column: pd.Series([], dtype=object)}
    for name, dtype in sch.columns.items():
        cols[name] = pd.Series([], dtype=float if dtype == "float" else object)
    cols["attrs"] = pd.Series([], dtype=object)
    cols["import_id"] = pd.Series([], dtype="int64")
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=4326), crs=4326)


def _attribute_templates() -> dict[str, pd.DataFrame]:
    i64, text = "int64", object
    return {
        "gridplan_store": pd.DataFrame(
            {"key": pd.Series([], dtype=text), "value": pd.Series([], dtype=text)}
        ),
        "imports": pd.DataFrame(
            {
                "import_id": pd.Series([], dtype=i64),
                "kinds": pd.Series([], dtype=text),
                "source": pd.Series([], dtype=text),
                "created_at": pd.Series([], dtype=text),
                "loaded": pd.Series([], dtype=text),
                "skipped": pd.Series([], dtype=text),
            }
        ),
        "plans": pd.DataFrame(
            {
                "plan_id": pd.Series([], dtype=i64),
                "name": pd.Series([], dtype=text),
                "parent_id": pd.Series([], dtype="Int64"),
                "created_at": pd.Series([], dtype=text),
                "source": pd.Series([], dtype=text),
                "targets": pd.Series([], dtype=text),
                "metrics": pd.Series([], dtype=text),
            }
        ),
        "assignments": pd.DataFrame(
            {
                "plan_id": pd.Series([], dtype=i64),
                "seq": pd.Series([], dtype=i64),
                "unit_id": pd.Series([], dtype=text),
                "community_id": pd.Series([], dtype=text),
                "grid_id": pd.Series([], dtype=text),
            }
        ),
        "staff": pd.DataFrame(
            {
                "staff_id": pd.Series([], dtype=i64),
                "name": pd.Series([], dtype=text),
                "role": pd.Series([], dtype=text),
                "grid_code": pd.Series([], dtype=text),
            }
        ),
        "service": pd.DataFrame(
            {
                "code": pd.Series([], dtype=text),
                "volunteers": pd.Series([], dtype=float),
                "new_households": pd.Series([], dtype=float),
                "model": pd.Series([], dtype=i64),
            }
        ),
    }


def _plan_layer_templates() -> dict[str, tuple[gpd.GeoDataFrame, str]]:
    areas: dict[str, pd.Series] = {
        "plan_id": pd.Series([], dtype="int64"),
        "seq": pd.Series([], dtype="int64"),
    }
    for col in records.AREA_COLUMNS_STORED:
        areas[col] = pd.Series([], dtype=float if col in records.AREA_FLOATS else object)
    findings: dict[str, pd.Series] = {
        "plan_id": pd.Series([], dtype="int64"),
        "seq": pd.Series([], dtype="int64"),
    }
    for col in records.FINDING_COLUMNS:
        findings[col] = pd.Series([], dtype=float if col in records.FINDING_FLOATS else object)
    empty = gpd.GeoSeries([], crs=4326)
    return {
        "areas": (gpd.GeoDataFrame(areas, geometry=empty, crs=4326), "MultiPolygon"),
        "findings": (gpd.GeoDataFrame(findings, geometry=empty, crs=4326), "Unknown"),
    }


# Extra SQLite indexes (the R-tree spatial indexes are made by GDAL).
_INDEXES: tuple[str, ...] = (
    *(
        f'CREATE UNIQUE INDEX IF NOT EXISTS "ux_{k.value}_id" '
        f'ON "{k.value}" ("{records.layer_schema(k).id_column}")'
        for k in records.LAYER_KINDS
    ),
    *(
        f'CREATE INDEX IF NOT EXISTS "ix_{k.value}_import_id" ON "{k.value}" ("import_id")'
        for k in records.LAYER_KINDS
    ),
    'CREATE UNIQUE INDEX IF NOT EXISTS "ux_imports_id" ON "imports" ("import_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "ux_plans_id" ON "plans" ("plan_id")',
    'CREATE INDEX IF NOT EXISTS "ix_plans_parent_id" ON "plans" ("parent_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "ux_assignments_plan_unit" '
    'ON "assignments" ("plan_id", "unit_id")',
    'CREATE INDEX IF NOT EXISTS "ix_assignments_plan_seq" ON "assignments" ("plan_id", "seq")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "ux_areas_plan_level_area" '
    'ON "areas" ("plan_id", "level", "area_id")',
    'CREATE INDEX IF NOT EXISTS "ix_areas_plan_seq" ON "areas" ("plan_id", "seq")',
    'CREATE INDEX IF NOT EXISTS "ix_findings_plan_seq" ON "findings" ("plan_id", "seq")',
)


def _create_tables(path: Path) -> None:
    """Create every missing table and index of a store in ``path`` (new or existing)."""
    have = set(_layer_names(path)) if path.exists() else set()
    for kind in records.LAYER_KINDS:
        if kind.value not in have:
            _write(path, _layer_template(kind), kind.value, geometry_type="Unknown")
    for name, (frame, geometry_type) in _plan_layer_templates().items():
        if name not in have:
            _write(path, frame, name, geometry_type=geometry_type)
    for name, table in _attribute_templates().items():
        if name not in have:
            _write(path, table, name)
    with closing(sqlite3.connect(path)) as con, con:
        for sql in _INDEXES:
            con.execute(sql)
        version = con.execute(
            "SELECT value FROM gridplan_store WHERE key = ?", ("version",)
        ).fetchone()
        if version is None:
            con.execute(
                "INSERT INTO gridplan_store (key, value) VALUES (?, ?)",
                ("version", STORE_VERSION),
            )
        elif version[0] < STORE_VERSION:
            # An older store: its missing tables (``paths``, 0002; ``staff`` and ``service``,
            # 0003) were just created.
            con.execute(
                "UPDATE gridplan_store SET value = ? WHERE key = ?", (STORE_VERSION, "version")
            )


_TEMPLATE_LOCK = threading.Lock()
_TEMPLATE: list[Path] = []


def _template() -> Path:
    """An empty store file, built once per process (on first use) and copied by
    :meth:`GeoPackageStore.initialise`: creating a dozen GeoPackage tables takes far longer
    than copying a small file."""
    with _TEMPLATE_LOCK:
        if not _TEMPLATE or not _TEMPLATE[0].exists():
            folder = Path(tempfile.mkdtemp(prefix="gridplan-template-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            path = folder / f"store-{STORE_VERSION}.gpkg"
            with _unsynced():
                _create_tables(path)
            _TEMPLATE[:] = [path]
        return _TEMPLATE[0]


@contextmanager
def _unsynced() -> Iterator[None]:
    """Let GDAL skip SQLite's fsync while it writes a private copy.

    Safe because the copy is fsynced once before it atomically replaces the store; a crash
    before that leaves the old file intact. The GDAL option is process-wide, so the previous
    value is restored as soon as the write ends.
    """
    previous = pyogrio.get_gdal_config_option(_SYNC_OPTION)
    pyogrio.set_gdal_config_options({_SYNC_OPTION: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({_SYNC_OPTION: previous})


_SYNC_OPTION = "OGR_SQLITE_SYNCHRONOUS"


class GeoPackageStore(Store):
    """A store in one GeoPackage file.

    Parameters
    ----------
    path
        The ``.gpkg`` file (created by :meth:`initialise`).
    lock_timeout
        Seconds a writer waits for another writer's lock (and a reader for a file another
        program holds locked) before giving up; default ``GRIDPLAN_LOCK_TIMEOUT``, else 30.
    """

    def __init__(self, path: str | Path, *, lock_timeout: float | None = None) -> None:
        self.path = Path(path)
        self.url = str(self.path)
        self.lock_timeout = _lock_timeout(lock_timeout)
        self._swept = False

    def __repr__(self) -> str:
        return f"GeoPackageStore({self.url!r})"

    def change_stamp(self) -> tuple[int, int, int] | None:
        """The store file's inode, modification time and size: every write replaces the file
        (a finished temporary copy renamed over it), so any process's write changes the stamp.
        ``None`` while the file does not exist."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    # ------------------------------------------------------------------ schema

    def initialise(self) -> None:
        """Create the file and any missing table (idempotent).

        Raises
        ------
        StoreError
            If the file cannot be created, or is not a gridplan store.
        """
        self._sweep()
        if self.path.exists() and self._has_all_tables():
            return
        if (
            self.path.exists()
            and self.path.stat().st_size
            and "gridplan_store" not in set(_layer_names(self.path))
        ):
            raise StoreError(
                f"{self.path} is a GeoPackage but not a gridplan store; choose another --db "
                "path (to load its layers, use gridplan import)"
            )
        with self._writing("initialise") as tmp:
            if tmp.exists():
                _create_tables(tmp)
            else:
                shutil.copyfile(_template(), tmp)

    def _has_all_tables(self) -> bool:
        try:
            names = set(_layer_names(self.path))
        except _ERRORS as exc:
            self._raise_if_locked(exc)
            raise StoreError(f"{self.path} is not a readable GeoPackage: {exc}") from exc
        wanted = {k.value for k in records.LAYER_KINDS}
        wanted |= set(_plan_layer_templates()) | set(_attribute_templates())
        return wanted <= names

    # ------------------------------------------------------------------ layers

    def import_layers(
        self,
        layers: Mapping[LayerKind, gpd.GeoDataFrame],
        *,
        source: str = "",
        skipped: Sequence[FeatureProblem] = (),
        replace: bool = False,
    ) -> ImportResult:
        rows = {records.layer_schema(k).kind: records.layer_rows(k, g) for k, g in layers.items()}
        now = datetime.now(UTC)
        loaded = {k.value: len(r) for k, r in rows.items()}
        with self._writing("import") as tmp:
            with closing(_connect(tmp)) as con:
                import_id = _next_id(con, "imports", "import_id")
                for kind, frame in rows.items():
                    if not replace:
                        _reject_existing(con, kind, frame)
            record = pd.DataFrame(
                {
                    "import_id": [import_id],
                    "kinds": [",".join(loaded)],
                    "source": [source],
                    "created_at": [now.isoformat()],
                    "loaded": [records.dumps(loaded)],
                    "skipped": [records.dumps(records.problems_json(skipped))],
                }
            )
            _write(tmp, record, "imports", append=True)
            if replace:
                with closing(sqlite3.connect(tmp)) as con, con:
                    for kind in rows:
                        con.execute(f'DELETE FROM "{kind.value}"')
            for kind, frame in rows.items():
                self._write_layer(tmp, kind, frame, import_id)
        return ImportResult(import_id, loaded, tuple(skipped), source, now)

    def _write_layer(
        self, tmp: Path, kind: LayerKind, frame: gpd.GeoDataFrame, import_id: int
    ) -> None:
        if not len(frame):
            return
        out = frame.copy()
        out["attrs"] = [records.dumps(a, native=True) for a in frame["attrs"]]
        out["import_id"] = np.full(len(frame), import_id, dtype="int64")
        _write(tmp, out, kind.value, append=True)

    def read_layer(
        self, kind: LayerKind, *, bbox: tuple[float, float, float, float] | None = None
    ) -> gpd.GeoDataFrame:
        sch = records.layer_schema(kind)
        box = records.check_bbox(bbox) if bbox is not None else None
        frame = self._read(sch.kind.value, [*sch.all_columns, "attrs"], bbox=box)
        out = records.layer_frame(sch.kind, frame, np.asarray(frame.geometry.values))
        return records.clip_to_bbox(out, box)

    def count(self, kind: LayerKind) -> int:
        name = records.layer_schema(kind).kind.value
        with self._reading() as con:
            return int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])

    def read_imports(self) -> list[ImportResult]:
        with self._reading() as con:
            rows = con.execute(
                "SELECT import_id, loaded, skipped, source, created_at FROM imports "
                "ORDER BY import_id"
            ).fetchall()
        return [
            ImportResult(
                int(r[0]),
                dict(records.loads(r[1]) or {}),
                records.problems_from_json(records.loads(r[2])),
                r[3] or "",
                datetime.fromisoformat(r[4]),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ plans

    def save_plan(self, plan: Plan, findings: gpd.GeoDataFrame | None = None) -> int:
        if plan.plan_id is not None:
            raise ConflictError(
                f"plan {plan.plan_id} is already stored; plans are never overwritten "
                "(save a new plan with parent_id instead)"
            )
        assignments = records.assignment_rows(plan.assignments)
        areas = records.area_rows(plan.areas)
        found = records.finding_rows(findings)
        with self._writing("save a plan") as tmp:
            with closing(_connect(tmp)) as con:
                if plan.parent_id is not None:
                    _require_plan(con, plan.parent_id, what="parent plan")
                plan_id = _next_id(con, "plans", "plan_id")
            head = pd.DataFrame(
                {
                    "plan_id": [plan_id],
                    "name": [plan.name],
                    "parent_id": pd.array([plan.parent_id], dtype="Int64"),
                    "created_at": [datetime.now(UTC).isoformat()],
                    "source": [plan.source],
                    "targets": [records.dumps(dict(plan.targets))],
                    "metrics": [records.dumps(dict(plan.metrics))],
                }
            )
            _write(tmp, head, "plans", append=True)
            if len(assignments):
                rows = assignments.copy()
                rows.insert(0, "seq", np.arange(len(rows), dtype="int64"))
                rows.insert(0, "plan_id", np.full(len(rows), plan_id, dtype="int64"))
                _write(tmp, rows, "assignments", append=True)
            if len(areas):
                out = areas.copy()
                out["attrs"] = [records.dumps(a, native=True) for a in areas["attrs"]]
                out.insert(0, "seq", np.arange(len(out), dtype="int64"))
                out.insert(0, "plan_id", np.full(len(out), plan_id, dtype="int64"))
                _write(tmp, out, "areas", append=True)
            _write_findings(tmp, plan_id, found)
        return plan_id

    def list_plans(self) -> list[PlanInfo]:
        with self._reading() as con:
            rows = con.execute(f"SELECT {_PLAN_COLUMNS} FROM plans ORDER BY plan_id").fetchall()
        return [_plan_info(r) for r in rows]

    def latest_import_id(self) -> int | None:
        with self._reading() as con:
            row = con.execute("SELECT max(import_id) FROM imports").fetchone()
        return None if row[0] is None else int(row[0])

    def latest_plan_id(self) -> int | None:
        with self._reading() as con:
            row = con.execute("SELECT max(plan_id) FROM plans").fetchone()
        return None if row[0] is None else int(row[0])

    def load_plan(self, plan_id: int | None = None) -> Plan:
        with self._reading() as con:
            if plan_id is None:
                head = con.execute(
                    f"SELECT {_PLAN_COLUMNS} FROM plans ORDER BY plan_id DESC LIMIT 1"
                ).fetchone()
            else:
                head = con.execute(
                    f"SELECT {_PLAN_COLUMNS} FROM plans WHERE plan_id = ?", (int(plan_id),)
                ).fetchone()
            if head is None:
                raise NotFoundError(
                    "no plan is stored" if plan_id is None else f"plan {plan_id} not found"
                )
            info = _plan_info(head)
            arows = con.execute(
                "SELECT unit_id, community_id, grid_id FROM assignments WHERE plan_id = ? "
                "ORDER BY seq",
                (info.plan_id,),
            ).fetchall()
        assignments = records.assignment_frame(
            pd.DataFrame(arows, columns=["unit_id", "community_id", "grid_id"], dtype=object)
        )
        frame = self._read(
            "areas", ["seq", *records.AREA_COLUMNS_STORED], where=f"plan_id = {info.plan_id}"
        )
        frame = frame.sort_values("seq", kind="stable").reset_index(drop=True)
        areas = records.area_frame(frame, np.asarray(frame.geometry.values))
        return Plan(
            name=info.name,
            assignments=assignments,
            areas=areas,
            targets=info.targets,
            metrics=info.metrics,
            parent_id=info.parent_id,
            source=info.source,
            plan_id=info.plan_id,
            created_at=info.created_at,
        )

    def save_findings(self, plan_id: int, findings: gpd.GeoDataFrame) -> None:
        found = records.finding_rows(findings)
        with self._writing("save findings") as tmp:
            with closing(sqlite3.connect(tmp)) as con, con:
                _require_plan(con, plan_id)
                con.execute("DELETE FROM findings WHERE plan_id = ?", (int(plan_id),))
            _write_findings(tmp, int(plan_id), found)

    def read_findings(self, plan_id: int) -> gpd.GeoDataFrame:
        with self._reading() as con:
            _require_plan(con, plan_id)
        frame = self._read(
            "findings", ["seq", *records.FINDING_COLUMNS], where=f"plan_id = {int(plan_id)}"
        )
        frame = frame.sort_values("seq", kind="stable").reset_index(drop=True)
        return records.finding_frame(frame, np.asarray(frame.geometry.values))

    def save_staff(self, staff: pd.DataFrame) -> int:
        rows = records.staff_rows(staff)
        with (
            self._writing("save the staff roster") as tmp,
            closing(sqlite3.connect(tmp)) as con,
            con,
        ):
            con.execute("DELETE FROM staff")
            con.executemany(
                "INSERT INTO staff (staff_id, name, role, grid_code) VALUES (?, ?, ?, ?)",
                [(r["staff_id"], r["name"], r["role"], r["grid_code"]) for r in rows],
            )
        return len(rows)

    def read_staff(self) -> pd.DataFrame:
        with self._reading() as con:
            found = con.execute(
                "SELECT staff_id, name, role, grid_code FROM staff ORDER BY staff_id"
            ).fetchall()
        return records.staff_frame(
            dict(zip(("staff_id", *records.STAFF_COLUMNS), r, strict=True)) for r in found
        )

    def save_service(self, service: pd.DataFrame) -> int:
        rows = records.service_rows(service)
        with (
            self._writing("save the service figures") as tmp,
            closing(sqlite3.connect(tmp)) as con,
            con,
        ):
            con.execute("DELETE FROM service")
            con.executemany(
                "INSERT INTO service (code, volunteers, new_households, model) VALUES (?, ?, ?, ?)",
                [(r["code"], r["volunteers"], r["new_households"], int(r["model"])) for r in rows],
            )
        return len(rows)

    def read_service(self) -> pd.DataFrame:
        with self._reading() as con:
            found = con.execute(
                "SELECT code, volunteers, new_households, model FROM service ORDER BY code"
            ).fetchall()
        return records.service_frame(
            dict(zip(records.SERVICE_COLUMNS, r, strict=True)) for r in found
        )

    # ------------------------------------------------------------------ plumbing

    def _require_file(self) -> None:
        if not self.path.exists():
            raise StoreError(f"no gridplan store at {self.path} (initialise it first)")
        self._sweep()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        self._require_file()
        try:
            with closing(_connect(self.path, timeout=self.lock_timeout)) as con:
                yield con
        except GridplanError:
            raise
        except _ERRORS as exc:
            self._raise_if_locked(exc)
            raise StoreError(f"cannot read {self.path}: {exc}") from exc

    def _read(
        self,
        layer: str,
        columns: list[str],
        *,
        bbox: tuple[float, float, float, float] | None = None,
        where: str | None = None,
    ) -> gpd.GeoDataFrame:
        self._require_file()
        try:
            frame = pyogrio.read_dataframe(
                self.path, layer=layer, columns=columns, bbox=bbox, where=where, use_arrow=True
            )
        except _ERRORS as exc:
            self._raise_if_locked(exc)
            raise StoreError(f"cannot read {layer} from {self.path}: {exc}") from exc
        if frame.crs is None:
            frame = frame.set_crs(4326)
        return frame

    @contextmanager
    def _writing(self, action: str) -> Iterator[Path]:
        """Copy-on-write under an exclusive lock: yield a private copy of the file; replace
        the file with it if the block succeeds, delete it otherwise."""
        self._refuse_read_only(action)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp.gpkg")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._locked(action):
                self._remove_stale_copies()
                # checked again under the lock: another writer may have just created the file
                self._refuse_read_only(action)
                if self.path.exists():
                    shutil.copyfile(self.path, tmp)
                elif action != "initialise":
                    raise StoreError(f"no gridplan store at {self.path} (initialise it first)")
                with _unsynced():
                    yield tmp
                if self.path.exists():
                    shutil.copymode(self.path, tmp)
                _fsync(tmp)
                os.replace(tmp, self.path)
                _fsync(self.path.parent)
        except GridplanError:
            raise
        except _ERRORS as exc:
            if isinstance(exc, OSError) and exc.errno in _READ_ONLY_ERRNOS:
                raise StoreError(
                    f"store {self.path} is read-only ({exc.strerror}): cannot {action}; "
                    "nothing changed"
                ) from exc
            self._raise_if_locked(exc)
            raise StoreError(f"cannot {action} in {self.path}: {exc}; nothing changed") from exc
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
                with suppress(OSError):  # a read-only folder holds no copy of ours
                    leftover.unlink(missing_ok=True)

    def _lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def _locked(self, action: str) -> Iterator[None]:
        """Hold the store's exclusive write lock; wait for another writer at most
        :attr:`lock_timeout` seconds, saying so once."""
        with open(self._lock_path(), "a+b") as lock:
            started = time.monotonic()
            deadline = started + self.lock_timeout
            warned = False
            while True:
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    now = time.monotonic()
                    if now >= deadline:
                        raise StoreError(
                            f"store {self.path} is locked by another writer "
                            f"(waited {self.lock_timeout:g} s); cannot {action}, nothing changed "
                            "(try again, or raise GRIDPLAN_LOCK_TIMEOUT)"
                        ) from None
                    if not warned:
                        _log.warning(
                            "store %s is locked by another writer; waiting up to %g s to %s",
                            self.path,
                            self.lock_timeout,
                            action,
                        )
                        warned = True
                    time.sleep(min(_POLL, max(deadline - now, 0.0)))
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _refuse_read_only(self, action: str) -> None:
        """Refuse, before anything is touched, a write the store's permissions forbid.

        Checked with the permission bits, not only :func:`os.access`: root may write any
        file, but a store whose mode has no write bit at all (``chmod 0444``) was made
        read-only on purpose, and writing it would silently undo that.
        """
        reason = _read_only_reason(self.path)
        if reason:
            raise StoreError(
                f"store {self.path} is read-only ({reason}): cannot {action}; nothing changed"
            )

    def _raise_if_locked(self, exc: BaseException) -> None:
        if "locked" in str(exc).lower():
            raise StoreError(
                f"store {self.path} is locked by another program "
                f"(waited {self.lock_timeout:g} s: {exc}); try again when it is closed"
            ) from exc

    def _sweep(self) -> None:
        """Delete copies left by a killed writer, once per store object, if no writer holds
        the lock now (a live writer's copy is never touched)."""
        if self._swept:
            return
        self._swept = True
        try:
            with open(self._lock_path(), "rb") as lock:
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return  # a writer is at work; it sweeps itself
                try:
                    self._remove_stale_copies()
                finally:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        except OSError:
            return  # no lock file (no writer ever ran), or a folder we may not change

    def _remove_stale_copies(self) -> None:
        """Delete copies left by a writer that died (only called under the write lock, so no
        live writer owns one)."""
        for stale in self.path.parent.glob(f".{glob.escape(self.path.name)}.*.tmp.gpkg*"):
            stale.unlink(missing_ok=True)


def _read_only_reason(path: Path) -> str:
    """Why ``path`` cannot be written, or ``""``."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except OSError:
        pass
    if path.exists():
        mode = path.stat().st_mode
        if not mode & 0o222 or not os.access(path, os.W_OK):
            return f"file mode {stat.filemode(mode)}"
    try:
        mode = folder.stat().st_mode
    except OSError:
        return ""
    if not mode & 0o222 or not os.access(folder, os.W_OK | os.X_OK):
        return f"folder {folder} mode {stat.filemode(mode)}"
    return ""


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_PLAN_COLUMNS = "plan_id, name, parent_id, created_at, source, targets, metrics"


def _connect(path: Path, *, timeout: float = 5.0) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)


def _layer_names(path: Path) -> list[str]:
    return [str(n) for n in pyogrio.list_layers(path)[:, 0]]


def _write(
    path: Path,
    frame: pd.DataFrame,
    layer: str,
    *,
    append: bool = False,
    geometry_type: str | None = None,
) -> None:
    kwargs: dict[str, Any] = {"layer": layer, "append": append, "driver": "GPKG"}
    if isinstance(frame, gpd.GeoDataFrame):
        kwargs["promote_to_multi"] = False
        if geometry_type is not None:
            kwargs["geometry_type"] = geometry_type
    pyogrio.write_dataframe(frame, path, **kwargs)


def _write_findings(tmp: Path, plan_id: int, found: gpd.GeoDataFrame) -> None:
    if not len(found):
        return
    out = found.copy()
    out.insert(0, "seq", np.arange(len(out), dtype="int64"))
    out.insert(0, "plan_id", np.full(len(out), plan_id, dtype="int64"))
    _write(tmp, out, "findings", append=True)


def _next_id(con: sqlite3.Connection, table: str, column: str) -> int:
    row = con.execute(f'SELECT max("{column}") FROM "{table}"').fetchone()
    return int(row[0] or 0) + 1


def _reject_existing(con: sqlite3.Connection, kind: LayerKind, frame: pd.DataFrame) -> None:
    id_column = records.layer_schema(kind).id_column
    ids = [str(v) for v in frame[id_column]]
    clash: list[str] = []
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        marks = ", ".join("?" * len(chunk))
        clash += [
            r[0]
            for r in con.execute(
                f'SELECT "{id_column}" FROM "{kind.value}" WHERE "{id_column}" IN ({marks})',
                chunk,
            )
        ]
    if clash:
        raise InputError(records.clash_message(kind, id_column, clash))


def _require_plan(con: sqlite3.Connection, plan_id: int, what: str = "plan") -> None:
    found = con.execute("SELECT 1 FROM plans WHERE plan_id = ?", (int(plan_id),)).fetchone()
    if found is None:
        raise NotFoundError(f"{what} {plan_id} not found")


def _plan_info(row: Sequence[Any]) -> PlanInfo:
    return PlanInfo(
        plan_id=int(row[0]),
        name=row[1],
        parent_id=None if row[2] is None else int(row[2]),
        created_at=datetime.fromisoformat(row[3]).astimezone(UTC),
        source=row[4] or "",
        targets=dict(records.loads(row[5]) or {}),
        metrics=dict(records.loads(row[6]) or {}),
    )
