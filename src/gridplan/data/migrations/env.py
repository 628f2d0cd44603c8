"""Alembic environment for gridplan stores.

Every store lives in its own PostgreSQL schema, which also holds its ``alembic_version``
table. :meth:`gridplan.data.store.postgis.PostGISStore.initialise` runs the migrations
programmatically, handing over an open connection and the schema in ``config.attributes``;
from the command line pass them as ``-x url=... -x schema=...`` (or ``sqlalchemy.url`` in the
ini file). Each revision's ``upgrade(schema)`` receives the schema name.
"""

from __future__ import annotations

import re

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from gridplan.data.store.tables import store_tables

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _schema() -> str:
    schema = context.config.attributes.get("schema")
    if schema is None:
        schema = context.get_x_argument(as_dictionary=True).get("schema", "gridplan")
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r} (lower-case letters, digits, _)")
    return str(schema)


def _run(connection: Connection, schema: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=store_tables(schema).metadata,
        version_table_schema=schema,
        include_schemas=False,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations(schema=schema)


def _main() -> None:
    schema = _schema()
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection, schema)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise ValueError("no database: pass -x url=postgresql+psycopg://... or sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            _run(conn, schema)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("gridplan migrations run online only")
_main()
