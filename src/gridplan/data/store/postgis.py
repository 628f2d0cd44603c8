"""The PostGIS store: gridplan's system of record.

Tables live in one PostgreSQL schema per store (``gridplan`` by default; see
:mod:`gridplan.data.store.tables`), created by the Alembic migrations shipped in
``gridplan/data/migrations`` with the version table inside the same schema. SQL is built
with SQLAlchemy Core and bound parameters only; geometries travel as EWKB with SRID 4326.
Each :meth:`~PostGISStore.import_layers`, :meth:`~PostGISStore.save_plan` and
:meth:`~PostGISStore.save_findings` call is one transaction.

Examples
--------
>>> store = PostGISStore("postgresql+psycopg://postgres@localhost/gridplan")  # doctest: +SKIP
>>> store.initialise()  # doctest: +SKIP
>>> store.count("roads")  # doctest: +SKIP
0
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Column,
    LargeBinary,
    Table,
    and_,
    create_engine,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine, RowMapping, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from gridplan.data.layers import LayerKind
from gridplan.data.store import records
from gridplan.data.store.base import ImportResult, Store
from gridplan.data.store.base import lock_timeout as _lock_timeout
from gridplan.data.store.tables import SRID, StoreTables, store_tables
from gridplan.errors import (
    ConflictError,
    FeatureProblem,
    GridplanError,
    InputError,
    NotFoundError,
    StoreError,
)
from gridplan.plan import Plan, PlanInfo

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_BATCH = 1000


class PostGISStore(Store):
    """A store in a PostgreSQL/PostGIS database.

    Parameters
    ----------
    url
        ``postgresql+psycopg://user@host/db`` (``postgresql://`` and ``postgres://`` are
        read as psycopg 3 URLs).
    schema
        The PostgreSQL schema holding this store's tables (lower-case letters, digits, ``_``).
        Default: the URL's ``schema`` query parameter
        (``postgresql+psycopg://u@h/db?schema=qingyang``), else ``gridplan``.

    Raises
    ------
    InputError
        If the URL cannot be parsed or the schema is not a plain lower-case identifier.
    """

    def __init__(
        self, url: str, *, schema: str | None = None, lock_timeout: float | None = None
    ) -> None:
        self.lock_timeout = _lock_timeout(lock_timeout)
        try:
            parsed = make_url(_psycopg_url(url))
        except ArgumentError as exc:
            raise InputError(f"cannot parse the database URL: {exc}") from exc
        in_url = parsed.query.get("schema")
        if isinstance(in_url, tuple):
            in_url = in_url[-1]
        parsed = parsed.difference_update_query(["schema"])
        chosen = schema or in_url or "gridplan"
        if not _SCHEMA_NAME.match(chosen):
            raise InputError(
                f"schema {chosen!r}: use lower-case letters, digits and _ (max 63 characters)"
            )
        # ``url`` reopens this very store with open_store(); the engine never sees ``schema``.
        own = parsed if chosen == "gridplan" else parsed.update_query_dict({"schema": chosen})
        self.url = own.render_as_string(hide_password=False)
        self.schema = chosen
        self._shown = own.render_as_string(hide_password=True)
        self._engine: Engine = create_engine(parsed, pool_pre_ping=True)
        self._t: StoreTables = store_tables(chosen)
        self._libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        #: The NOTIFY channel writes to this store announce themselves on (see :meth:`watch`).
        self.channel = f"gridplan_{chosen}"[:63]

    def __repr__(self) -> str:
        return f"PostGISStore({self._shown!r})"

    # ------------------------------------------------------------------ schema

    def initialise(self) -> None:
        """Create the schema and run the Alembic migrations up to head (idempotent).

        Concurrent callers are serialised with a transaction-level advisory lock.

        Raises
        ------
        StoreError
            If the database cannot be reached or migrated.
        """
        with self._begin("initialise") as conn:
            conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"gridplan-migrate:{self.schema}"},
            )
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            command.upgrade(self._alembic_config(conn), "head")

    def _alembic_config(self, conn: Connection) -> Config:
        """Alembic configuration running the shipped migrations on ``conn`` in this schema."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        cfg.attributes["schema"] = self.schema
        return cfg

    def revision(self) -> str | None:
        """The Alembic revision the store's schema is at (``None`` before initialising)."""
        with self._connect("read the schema version") as conn:
            exists = conn.execute(
                text("SELECT to_regclass(:name)"), {"name": f'"{self.schema}".alembic_version'}
            ).scalar()
            if exists is None:
                return None
            version = conn.execute(
                text(f'SELECT version_num FROM "{self.schema}".alembic_version')
            ).scalar()
            return None if version is None else str(version)

    def drop(self) -> None:
        """Drop the store's schema and everything in it."""
        with self._begin("drop the schema") as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))

    def close(self) -> None:
        """Release pooled connections."""
        self._engine.dispose()

    def watch(self, changed: Callable[[str], None]) -> Callable[[], None]:
        """``LISTEN`` on :attr:`channel` in a background thread: every import, plan and
        findings write of any process notifies it when its transaction commits.

        If the listening connection drops, it reconnects (every second) and calls
        ``changed("reconnect")``, since notifications sent meanwhile are lost.
        """
        stop = threading.Event()
        thread = threading.Thread(
            target=self._listen, args=(changed, stop), name="gridplan-listen", daemon=True
        )
        thread.start()

        def stop_watching() -> None:
            stop.set()
            thread.join(timeout=5)

        return stop_watching

    def _listen(self, changed: Callable[[str], None], stop: threading.Event) -> None:
        first = True
        while not stop.is_set():
            try:
                with psycopg.connect(self._libpq, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f'LISTEN "{self.channel}"')
                    if not first:
                        changed("reconnect")
                    first = False
                    while not stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            changed(note.payload)
            except psycopg.Error as exc:
                if stop.is_set():
                    return
                _log.warning("change feed of %s interrupted: %s", self._shown, exc)
                first = False
                stop.wait(1.0)

    def _write_lock(self, conn: Connection) -> None:
        """One writer at a time per store, until ``conn``'s transaction ends.

        Without it two imports of the same ids could both pass the "already stored" check and
        one die on the primary key, and two plans could take the same next id. Waiting for it
        honours :attr:`lock_timeout` (then "locked by another writer")."""
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"gridplan-write:{self.schema}"},
        )

    def _notify(self, conn: Connection, what: str) -> None:
        """Announce ``what`` on :attr:`channel` when ``conn``'s transaction commits."""
        conn.execute(
            text("SELECT pg_notify(:channel, :what)"), {"channel": self.channel, "what": what}
        )

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
        with self._begin("import") as conn:
            self._write_lock(conn)
            if not replace:
                for kind, frame in rows.items():
                    self._reject_existing(conn, kind, frame)
            import_id = self._next_id(conn, self._t.imports.c.import_id)
            conn.execute(
                insert(self._t.imports).values(
                    import_id=import_id,
                    kinds=",".join(loaded),
                    source=source,
                    created_at=now,
                    loaded=loaded,
                    skipped=records.problems_json(skipped),
                )
            )
            for kind, frame in rows.items():
                if replace:
                    conn.execute(delete(self._t.layers[kind]))
                self._write_layer(conn, kind, frame, import_id)
            self._notify(conn, f"import:{import_id}")
        return ImportResult(int(import_id), loaded, tuple(skipped), source, now)

    def _reject_existing(self, conn: Connection, kind: LayerKind, frame: pd.DataFrame) -> None:
        table = self._t.layers[kind]
        id_col = table.c[records.layer_schema(kind).id_column]
        values = [str(v) for v in frame[id_col.name]]
        clash: list[str] = []
        for start in range(0, len(values), _BATCH):
            chunk = values[start : start + _BATCH]
            clash += conn.execute(select(id_col).where(id_col.in_(chunk))).scalars().all()
        if clash:
            raise InputError(records.clash_message(kind, id_col.name, clash))

    def _write_layer(
        self, conn: Connection, kind: LayerKind, frame: gpd.GeoDataFrame, import_id: int
    ) -> None:
        if not len(frame):
            return
        table = self._t.layers[kind]
        attrs = frame.drop(columns=frame.geometry.name)
        rows = _records(attrs)
        geoms = _ewkb(frame.geometry.values)
        for row, geom in zip(rows, geoms, strict=True):
            row["import_id"] = import_id
            row["geometry"] = geom
        _insert(conn, table, rows)

    def read_layer(
        self, kind: LayerKind, *, bbox: tuple[float, float, float, float] | None = None
    ) -> gpd.GeoDataFrame:
        sch = records.layer_schema(kind)
        table = self._t.layers[sch.kind]
        cols = [table.c[c] for c in (*sch.all_columns, "attrs")]
        query = select(*cols, _wkb(table.c.geometry))
        if bbox is not None:
            box = func.ST_MakeEnvelope(*records.check_bbox(bbox), SRID)
            query = query.where(
                and_(table.c.geometry.op("&&")(box), func.ST_Intersects(table.c.geometry, box))
            )
        with self._connect("read a layer") as conn:
            result = conn.execute(query).all()
        frame = pd.DataFrame([tuple(r[:-1]) for r in result], columns=[c.name for c in cols])
        return records.layer_frame(sch.kind, frame, _from_wkb([r[-1] for r in result]))

    def count(self, kind: LayerKind) -> int:
        table = self._t.layers[records.layer_schema(kind).kind]
        with self._connect("count a layer") as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def read_imports(self) -> list[ImportResult]:
        t = self._t.imports
        with self._connect("read imports") as conn:
            rows = conn.execute(select(t).order_by(t.c.import_id)).mappings().all()
        return [
            ImportResult(
                int(r["import_id"]),
                dict(r["loaded"]),
                records.problems_from_json(r["skipped"]),
                r["source"],
                _utc(r["created_at"]),
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
        t = self._t
        with self._begin("save a plan") as conn:
            self._write_lock(conn)
            if plan.parent_id is not None:
                self._require_plan(conn, plan.parent_id, what="parent plan")
            plan_id = self._next_id(conn, t.plans.c.plan_id)
            conn.execute(
                insert(t.plans).values(
                    plan_id=plan_id,
                    name=plan.name,
                    parent_id=plan.parent_id,
                    created_at=datetime.now(UTC),
                    source=plan.source,
                    targets=records.json_value(dict(plan.targets)),
                    metrics=records.json_value(dict(plan.metrics)),
                )
            )
            rows = _records(assignments)
            for seq, row in enumerate(rows):
                row.update(plan_id=plan_id, seq=seq)
            _insert(conn, t.assignments, rows)
            attrs = areas.drop(columns=areas.geometry.name)
            rows = _records(attrs)
            for seq, (row, geom) in enumerate(zip(rows, _ewkb(areas.geometry.values), strict=True)):
                row.update(plan_id=plan_id, seq=seq, geometry=geom)
            _insert(conn, t.areas, rows)
            self._write_findings(conn, plan_id, found)
            self._notify(conn, f"plan:{plan_id}")
        return plan_id

    def list_plans(self) -> list[PlanInfo]:
        t = self._t.plans
        with self._connect("list plans") as conn:
            rows = conn.execute(select(t).order_by(t.c.plan_id)).mappings().all()
        return [_plan_info(r) for r in rows]

    def latest_import_id(self) -> int | None:
        column = self._t.imports.c.import_id
        with self._connect("read the latest import id") as conn:
            latest = conn.execute(select(func.max(column))).scalar_one()
        return None if latest is None else int(latest)

    def latest_plan_id(self) -> int | None:
        column = self._t.plans.c.plan_id
        with self._connect("read the latest plan id") as conn:
            latest = conn.execute(select(func.max(column))).scalar_one()
        return None if latest is None else int(latest)

    def load_plan(self, plan_id: int | None = None) -> Plan:
        t = self._t
        with self._connect("load a plan") as conn:
            query = select(t.plans)
            if plan_id is None:
                query = query.order_by(t.plans.c.plan_id.desc()).limit(1)
            else:
                query = query.where(t.plans.c.plan_id == int(plan_id))
            head = conn.execute(query).mappings().first()
            if head is None:
                raise NotFoundError(
                    "no plan is stored" if plan_id is None else f"plan {plan_id} not found"
                )
            info = _plan_info(head)
            a = t.assignments
            arows = conn.execute(
                select(a.c.unit_id, a.c.community_id, a.c.grid_id)
                .where(a.c.plan_id == info.plan_id)
                .order_by(a.c.seq)
            ).all()
            ar = t.areas
            area_cols = [ar.c[c] for c in (*records.AREA_COLUMNS_STORED,)]
            rrows = conn.execute(
                select(*area_cols, _wkb(ar.c.geometry))
                .where(ar.c.plan_id == info.plan_id)
                .order_by(ar.c.seq)
            ).all()
        assignments = records.assignment_frame(
            pd.DataFrame([tuple(r) for r in arows], columns=["unit_id", "community_id", "grid_id"])
        )
        area_frame = pd.DataFrame(
            [tuple(r[:-1]) for r in rrows], columns=list(records.AREA_COLUMNS_STORED)
        )
        areas = records.area_frame(area_frame, _from_wkb([r[-1] for r in rrows]))
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
        with self._begin("save findings") as conn:
            self._write_lock(conn)
            self._require_plan(conn, plan_id)
            conn.execute(delete(self._t.findings).where(self._t.findings.c.plan_id == plan_id))
            self._write_findings(conn, plan_id, found)
            self._notify(conn, f"findings:{plan_id}")

    def read_findings(self, plan_id: int) -> gpd.GeoDataFrame:
        f = self._t.findings
        cols = [f.c[c] for c in records.FINDING_COLUMNS]
        with self._connect("read findings") as conn:
            self._require_plan(conn, plan_id)
            rows = conn.execute(
                select(*cols, _wkb(f.c.geometry))
                .where(f.c.plan_id == int(plan_id))
                .order_by(f.c.finding_id)
            ).all()
        frame = pd.DataFrame([tuple(r[:-1]) for r in rows], columns=list(records.FINDING_COLUMNS))
        return records.finding_frame(frame, _from_wkb([r[-1] for r in rows]))

    def save_staff(self, staff: pd.DataFrame) -> int:
        rows = records.staff_rows(staff)
        with self._begin("save the staff roster") as conn:
            self._write_lock(conn)
            conn.execute(delete(self._t.staff))
            _insert(conn, self._t.staff, rows)
        return len(rows)

    def read_staff(self) -> pd.DataFrame:
        t = self._t.staff
        with self._connect("read the staff roster") as conn:
            rows = conn.execute(select(t).order_by(t.c.staff_id)).mappings().all()
        return records.staff_frame(dict(r) for r in rows)

    def save_service(self, service: pd.DataFrame) -> int:
        rows = records.service_rows(service)
        with self._begin("save the service figures") as conn:
            self._write_lock(conn)
            conn.execute(delete(self._t.service))
            _insert(conn, self._t.service, rows)
        return len(rows)

    def read_service(self) -> pd.DataFrame:
        t = self._t.service
        with self._connect("read the service figures") as conn:
            rows = conn.execute(select(t).order_by(t.c.code)).mappings().all()
        return records.service_frame(dict(r) for r in rows)

    def _write_findings(self, conn: Connection, plan_id: int, found: gpd.GeoDataFrame) -> None:
        attrs = found.drop(columns=found.geometry.name)
        rows = _records(attrs)
        for row, geom in zip(rows, _ewkb(found.geometry.values), strict=True):
            row.update(plan_id=plan_id, geometry=geom)
        _insert(conn, self._t.findings, rows)

    def _next_id(self, conn: Connection, column: Column[Any]) -> int:
        """The next id of a header table, gap-free (as in the GeoPackage store).

        The table is locked against other writers (not readers) until the transaction ends,
        so concurrent imports or plan saves get consecutive ids and a rolled-back write leaves
        no gap (a sequence would).
        """
        table = column.table
        conn.execute(text(f'LOCK TABLE "{self.schema}"."{table.name}" IN SHARE ROW EXCLUSIVE MODE'))
        return int(conn.execute(select(func.coalesce(func.max(column), 0) + 1)).scalar_one())

    def _require_plan(self, conn: Connection, plan_id: int, what: str = "plan") -> None:
        t = self._t.plans
        found = conn.execute(select(t.c.plan_id).where(t.c.plan_id == int(plan_id))).first()
        if found is None:
            raise NotFoundError(f"{what} {plan_id} not found")

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def _begin(self, action: str) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any error.

        A lock another writer holds is waited for at most :attr:`lock_timeout` seconds; a
        read-only database or a role without write rights is named as such."""
        try:
            with self._engine.begin() as conn:
                # PostgreSQL's lock_timeout 0 means "wait forever": wait 1 ms at least
                wait_ms = max(1, round(self.lock_timeout * 1000))
                conn.execute(
                    text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{wait_ms}ms"}
                )
                yield conn
        except GridplanError:
            raise
        except SQLAlchemyError as exc:
            state = getattr(getattr(exc, "orig", None), "sqlstate", None)
            if state == _LOCK_NOT_AVAILABLE:
                raise StoreError(
                    f"store {self._shown} (schema {self.schema}) is locked by another writer "
                    f"(waited {self.lock_timeout:g} s); cannot {action}, nothing changed "
                    "(try again, or raise GRIDPLAN_LOCK_TIMEOUT)"
                ) from exc
            if state == _UNIQUE_VIOLATION:  # a writer that bypassed the write lock
                detail = getattr(getattr(exc, "orig", None), "diag", None)
                what = getattr(detail, "message_detail", None) or _reason(exc)
                raise InputError(
                    f"cannot {action} in {self._shown} (schema {self.schema}): {what}; "
                    "nothing was changed"
                ) from exc
            if state in _READ_ONLY_STATES:
                raise StoreError(
                    f"store {self._shown} (schema {self.schema}) is read-only "
                    f"({_reason(exc)}): cannot {action}; nothing changed"
                ) from exc
            raise StoreError(
                f"cannot {action} in {self._shown} (schema {self.schema}): {_reason(exc)}"
            ) from exc

    @contextmanager
    def _connect(self, action: str) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn
        except GridplanError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot {action} in {self._shown} (schema {self.schema}): {_reason(exc)}"
            ) from exc


_log = logging.getLogger("gridplan.store")

#: SQLSTATEs: lock_not_available; unique_violation; read_only_sql_transaction and
#: insufficient_privilege.
_LOCK_NOT_AVAILABLE = "55P03"
_UNIQUE_VIOLATION = "23505"
_READ_ONLY_STATES = frozenset({"25006", "42501"})


def _psycopg_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as column-name -> value dicts, missing values as ``None``."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{str(k): v for k, v in row.items()} for row in rows]


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _BATCH):
        conn.execute(insert(table), rows[start : start + _BATCH])


def _ewkb(geoms: Any) -> list[str | None]:
    """Hex EWKB with SRID 4326 (``None`` for nulls), read by ``ST_GeomFromEWKT``."""
    arr = np.asarray(geoms, dtype=object)
    if not len(arr):
        return []
    with_srid = shapely.set_srid(arr, SRID)
    hexes = shapely.to_wkb(with_srid, hex=True, include_srid=True)
    return [None if h is None else str(h) for h in hexes]


def _wkb(column: Any) -> Any:
    return func.ST_AsBinary(column, type_=LargeBinary).label("wkb")


def _from_wkb(values: Sequence[bytes | memoryview | None]) -> np.ndarray:
    data = [None if v is None else bytes(v) for v in values]
    return shapely.from_wkb(np.asarray(data, dtype=object))


def _plan_info(row: RowMapping) -> PlanInfo:
    return PlanInfo(
        plan_id=int(row["plan_id"]),
        name=row["name"],
        parent_id=None if row["parent_id"] is None else int(row["parent_id"]),
        created_at=_utc(row["created_at"]),
        source=row["source"],
        targets=dict(row["targets"] or {}),
        metrics=dict(row["metrics"] or {}),
    )


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text_ = str(orig if orig is not None else exc).strip().splitlines()
    return text_[0] if text_ else type(exc).__name__
