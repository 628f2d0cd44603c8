"""The PostGIS tables of a gridplan store, as SQLAlchemy Core tables.

The schema itself is created by the Alembic migrations in ``gridplan/data/migrations``; these
definitions mirror them for building queries (a test checks that the two agree). Every
geometry column has SRID 4326 and a GiST index; layer geometries are of any type (a layer
keeps what was loaded), plan areas are MultiPolygons.

Tables (``<schema>.<name>``):

=========== ==========================================================================
imports     ``import_id`` serial, ``kinds``, ``source``, ``created_at``, ``loaded`` and
            ``skipped`` (JSONB)
<layer>     one per layer kind (outline, roads, buildings, compounds, facilities, units):
            the schema's id (primary key) and attribute columns, ``attrs`` (JSONB: the
            input's extra columns), ``import_id``, ``geometry``
plans       ``plan_id`` serial, ``name``, ``parent_id``, ``created_at``, ``source``,
            ``targets`` and ``metrics`` (JSONB)
assignments ``plan_id``, ``seq``, ``unit_id``, ``community_id``, ``grid_id``
areas       ``plan_id``, ``seq``, ``level``, ``area_id``, ``name``, ``code``, ``parent_id``,
            ``households``, ``residents``, ``attrs``, ``geometry`` (MultiPolygon)
findings    ``finding_id`` serial, ``plan_id``, ``rule``, ``severity``, ``level``,
            ``area_id``, ``value``, ``message``, ``geometry``
staff       ``staff_id``, ``name``, ``role``, ``grid_code`` (the staff roster)
service     ``code`` (community), ``volunteers``, ``new_households``, ``model``
=========== ==========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from gridplan.data.layers import LayerKind
from gridplan.data.store.records import LAYER_KINDS, layer_schema

SRID = 4326


def geometry_type(kind: str = "GEOMETRY") -> Geometry:
    """A GeoAlchemy2 geometry type with SRID 4326 (indexes are made by the migration)."""
    return Geometry(geometry_type=kind, srid=SRID, spatial_index=False)


@dataclass(frozen=True)
class StoreTables:
    """The tables of one store schema."""

    metadata: MetaData
    imports: Table
    layers: dict[LayerKind, Table]
    plans: Table
    assignments: Table
    areas: Table
    findings: Table
    staff: Table
    service: Table


def store_tables(schema: str) -> StoreTables:
    """Build the table definitions of a store living in ``schema``."""
    md = MetaData(schema=schema)
    imports = Table(
        "imports",
        md,
        Column("import_id", Integer, primary_key=True),
        Column("kinds", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("loaded", JSONB, nullable=False),
        Column("skipped", JSONB, nullable=False),
    )
    layers: dict[LayerKind, Table] = {}
    for kind in LAYER_KINDS:
        sch = layer_schema(kind)
        cols: list[Column[Any]] = [Column(sch.id_column, Text, primary_key=True)]
        cols += [
            Column(name, Float if dtype == "float" else Text) for name, dtype in sch.columns.items()
        ]
        cols += [
            Column("attrs", JSONB, nullable=False),
            Column("import_id", Integer, ForeignKey(imports.c.import_id), nullable=False),
            Column("geometry", geometry_type(), nullable=False),
        ]
        layers[kind] = Table(kind.value, md, *cols)
    plans = Table(
        "plans",
        md,
        Column("plan_id", Integer, primary_key=True),
        Column("name", Text, nullable=False),
        Column("parent_id", Integer, ForeignKey("plans.plan_id")),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("source", Text, nullable=False),
        Column("targets", JSONB, nullable=False),
        Column("metrics", JSONB, nullable=False),
    )
    assignments = Table(
        "assignments",
        md,
        Column("plan_id", Integer, ForeignKey(plans.c.plan_id), primary_key=True),
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("unit_id", Text, nullable=False),
        Column("community_id", Text),
        Column("grid_id", Text),
    )
    areas = Table(
        "areas",
        md,
        Column("plan_id", Integer, ForeignKey(plans.c.plan_id), primary_key=True),
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("level", Text, nullable=False),
        Column("area_id", Text, nullable=False),
        Column("name", Text),
        Column("code", Text),
        Column("parent_id", Text),
        Column("households", Float),
        Column("residents", Float),
        Column("attrs", JSONB, nullable=False),
        Column("geometry", geometry_type("MULTIPOLYGON")),
    )
    findings = Table(
        "findings",
        md,
        Column("finding_id", BigInteger, primary_key=True),
        Column("plan_id", Integer, ForeignKey(plans.c.plan_id), nullable=False),
        Column("rule", Text),
        Column("severity", Text),
        Column("level", Text),
        Column("area_id", Text),
        Column("value", Float),
        Column("message", Text),
        Column("geometry", geometry_type()),
    )
    staff = Table(
        "staff",
        md,
        Column("staff_id", Integer, primary_key=True, autoincrement=False),
        Column("name", Text, nullable=False),
        Column("role", Text, nullable=False),
        Column("grid_code", Text, nullable=False),
    )
    service = Table(
        "service",
        md,
        Column("code", Text, primary_key=True),
        Column("volunteers", Float),
        Column("new_households", Float),
        Column("model", Boolean, nullable=False),
    )
    return StoreTables(md, imports, layers, plans, assignments, areas, findings, staff, service)
