"""The PostGIS schema as the Alembic migration creates it: tables, SRIDs, GiST indexes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text

from gridplan.data.store.base import open_store
from gridplan.data.store.postgis import MIGRATIONS, PostGISStore
from gridplan.data.store.tables import store_tables
from gridplan.errors import InputError, StoreError

pytestmark = pytest.mark.postgis

GEOMETRY_TABLES = {
    "outline",
    "roads",
    "paths",
    "buildings",
    "compounds",
    "facilities",
    "units",
    "areas",
    "findings",
}
ALL_TABLES = GEOMETRY_TABLES | {
    "imports",
    "plans",
    "assignments",
    "staff",
    "service",
    "alembic_version",
}


def _head() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


#: The newest shipped revision (0002 added ``paths``, 0003 ``staff`` and ``service``).
HEAD = _head()


def _rows(store: PostGISStore, sql: str) -> list[tuple[object, ...]]:
    with store._engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), {"schema": store.schema}).all()]


def test_migration_creates_the_tables_in_the_store_schema(postgis_store: PostGISStore) -> None:
    tables = _rows(
        postgis_store,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :schema",
    )
    assert {t[0] for t in tables} == ALL_TABLES
    assert postgis_store.revision() == HEAD


def test_every_geometry_has_srid_4326_and_a_gist_index(postgis_store: PostGISStore) -> None:
    columns = _rows(
        postgis_store,
        "SELECT f_table_name, srid, type FROM geometry_columns WHERE f_table_schema = :schema",
    )
    assert {c[0] for c in columns} == GEOMETRY_TABLES
    assert {c[1] for c in columns} == {4326}
    assert dict((c[0], c[2]) for c in columns)["areas"] == "MULTIPOLYGON"
    gist = _rows(
        postgis_store,
        "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = :schema "
        "AND indexdef LIKE '%USING gist (geometry)%'",
    )
    assert {g[0] for g in gist} == GEOMETRY_TABLES
    btree = _rows(
        postgis_store,
        "SELECT indexname FROM pg_indexes WHERE schemaname = :schema "
        "AND indexdef LIKE '%USING btree%'",
    )
    names = {b[0] for b in btree}
    assert {"ix_roads_import_id", "ix_findings_plan_id", "ix_plans_parent_id"} <= names
    assert {"uq_assignments_plan_unit", "uq_areas_plan_level_area", "roads_pkey"} <= names


def test_latest_plan_id_is_one_indexed_lookup(postgis_store: PostGISStore) -> None:
    """``latest_plan_id`` runs one statement, which PostgreSQL answers from the end of the
    plans' primary-key index (no plan rows read)."""
    statements: list[tuple[str, object]] = []

    def record(conn: object, cursor: object, sql: str, params: object, *rest: object) -> None:
        statements.append((sql, params))

    event.listen(postgis_store._engine, "before_cursor_execute", record)
    try:
        assert postgis_store.latest_plan_id() is None
    finally:
        event.remove(postgis_store._engine, "before_cursor_execute", record)
    assert len(statements) == 1
    sql, params = statements[0]
    with postgis_store._engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN {sql}", params).all()
    plan = "\n".join(str(r[0]) for r in rows)
    assert "Index Only Scan Backward using plans_pkey on plans" in plan, plan


def test_migration_is_idempotent(postgis_store: PostGISStore) -> None:
    postgis_store.initialise()
    postgis_store.initialise()
    versions = _rows(
        postgis_store, f'SELECT version_num FROM "{postgis_store.schema}".alembic_version'
    )
    assert versions == [(HEAD,)]


def test_downgrade_and_upgrade_again(postgis_store: PostGISStore) -> None:
    with postgis_store._engine.begin() as conn:
        command.downgrade(postgis_store._alembic_config(conn), "base")
    left = _rows(
        postgis_store,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :schema",
    )
    assert left == [("alembic_version",)]
    assert postgis_store.revision() is None
    postgis_store.initialise()
    assert postgis_store.revision() == HEAD and postgis_store.count("units") == 0


def test_query_tables_match_the_migration(postgis_store: PostGISStore) -> None:
    """The Core tables used for queries have exactly the migrated columns."""
    migrated: dict[str, set[str]] = {}
    for table, column in _rows(
        postgis_store,
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = :schema",
    ):
        migrated.setdefault(str(table), set()).add(str(column))
    defined = {
        t.name: {c.name for c in t.columns} for t in store_tables("x").metadata.sorted_tables
    }
    migrated.pop("alembic_version")
    assert defined == migrated


@pytest.fixture
def fresh_schema(postgis_url: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    engine = create_engine(postgis_url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


def test_open_store_initialises_a_new_schema(postgis_url: str, fresh_schema: str) -> None:
    store = PostGISStore(postgis_url, schema=fresh_schema)
    assert store.revision() is None
    store.initialise()
    assert store.revision() == HEAD
    assert store.count("roads") == 0
    store.close()
    plain = postgis_url.replace("postgresql+psycopg://", "postgresql://")
    with open_store(plain, initialise=False) as default:
        assert isinstance(default, PostGISStore) and default.schema == "gridplan"
        assert default.url.startswith("postgresql+psycopg://")
    with open_store(f"{postgis_url}?schema={fresh_schema}") as same:
        assert isinstance(same, PostGISStore) and same.schema == fresh_schema
        assert same.revision() == HEAD
        again = open_store(same.url, initialise=False)
        assert isinstance(again, PostGISStore) and again.schema == fresh_schema
        again.close()


def test_bad_schema_name_and_unreachable_database() -> None:
    with pytest.raises(InputError, match="schema"):
        PostGISStore("postgresql+psycopg://postgres@localhost/x", schema='a"; drop')
    store = PostGISStore("postgresql+psycopg://nobody:secret@localhost:1/none", schema="s")
    with pytest.raises(StoreError, match="cannot initialise") as info:
        store.initialise()
    assert "secret" not in str(info.value)
    store.close()


def test_revision_0002_adds_the_paths_table(postgis_store: PostGISStore) -> None:
    """Downgrading to 0001 drops ``paths`` (and 0003's tables) only; upgrading again brings
    it back, empty."""
    with postgis_store._engine.begin() as conn:
        command.downgrade(postgis_store._alembic_config(conn), "0001")
    assert postgis_store.revision() == "0001"
    names = {t[0] for t in _rows(postgis_store, _TABLES)}
    assert names == ALL_TABLES - {"paths", "staff", "service"}
    postgis_store.initialise()
    assert "paths" in {t[0] for t in _rows(postgis_store, _TABLES)}
    assert postgis_store.count("paths") == 0


def test_revision_0003_adds_the_staff_and_service_tables(postgis_store: PostGISStore) -> None:
    """Downgrading to 0002 drops ``staff`` and ``service`` only; upgrading brings them back."""
    with postgis_store._engine.begin() as conn:
        command.downgrade(postgis_store._alembic_config(conn), "0002")
    assert postgis_store.revision() == "0002"
    assert {t[0] for t in _rows(postgis_store, _TABLES)} == ALL_TABLES - {"staff", "service"}
    postgis_store.initialise()
    assert postgis_store.revision() == HEAD == "0003"
    assert postgis_store.read_staff().empty and postgis_store.read_service().empty


_TABLES = "SELECT table_name FROM information_schema.tables WHERE table_schema = :schema"
