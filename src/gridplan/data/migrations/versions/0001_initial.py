"""Initial gridplan schema: layers, imports, plans, assignments, areas, findings.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Frozen: later changes go in new revisions. Every geometry column has SRID 4326 and a GiST
index; ids and ``plan_id`` columns have btree indexes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Layer tables as of this revision: name, id column, attribute columns (name, is_float).
_LAYERS: tuple[tuple[str, str, tuple[tuple[str, bool], ...]], ...] = (
    ("outline", "outline_id", (("name", False), ("code", False))),
    ("roads", "road_id", (("road_class", False), ("name", False))),
    (
        "buildings",
        "building_id",
        (("levels", True), ("use", False), ("name", False), ("households", True)),
    ),
    (
        "compounds",
        "compound_id",
        (("name", False), ("households", True), ("residents", True), ("kind", False)),
    ),
    ("facilities", "facility_id", (("kind", False), ("name", False))),
    ("units", "unit_id", (("households", True), ("residents", True))),
)


def _geometry(kind: str = "GEOMETRY") -> Geometry:
    return Geometry(geometry_type=kind, srid=4326, spatial_index=False)


def _gist(table: str, schema: str) -> None:
    op.create_index(
        f"ix_{table}_geometry", table, ["geometry"], schema=schema, postgresql_using="gist"
    )


def upgrade(schema: str) -> None:
    """Create the tables of a store in ``schema``."""
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    now = sa.text("now()")
    empty = sa.text("'{}'::jsonb")
    op.create_table(
        "imports",
        sa.Column("import_id", sa.Integer, primary_key=True),
        sa.Column("kinds", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("loaded", JSONB, nullable=False, server_default=empty),
        sa.Column("skipped", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        schema=schema,
    )
    for table, id_column, columns in _LAYERS:
        op.create_table(
            table,
            sa.Column(id_column, sa.Text, primary_key=True),
            *(sa.Column(name, sa.Float if is_float else sa.Text) for name, is_float in columns),
            sa.Column("attrs", JSONB, nullable=False, server_default=empty),
            sa.Column(
                "import_id",
                sa.Integer,
                sa.ForeignKey(f"{schema}.imports.import_id"),
                nullable=False,
            ),
            sa.Column("geometry", _geometry(), nullable=False),
            schema=schema,
        )
        op.create_index(f"ix_{table}_import_id", table, ["import_id"], schema=schema)
        _gist(table, schema)
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey(f"{schema}.plans.plan_id")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("targets", JSONB, nullable=False, server_default=empty),
        sa.Column("metrics", JSONB, nullable=False, server_default=empty),
        schema=schema,
    )
    op.create_index("ix_plans_parent_id", "plans", ["parent_id"], schema=schema)
    plan_fk = sa.ForeignKey(f"{schema}.plans.plan_id")
    op.create_table(
        "assignments",
        sa.Column("plan_id", sa.Integer, plan_fk, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("unit_id", sa.Text, nullable=False),
        sa.Column("community_id", sa.Text),
        sa.Column("grid_id", sa.Text),
        sa.UniqueConstraint("plan_id", "unit_id", name="uq_assignments_plan_unit"),
        schema=schema,
    )
    op.create_index(
        "ix_assignments_plan_community", "assignments", ["plan_id", "community_id"], schema=schema
    )
    op.create_table(
        "areas",
        sa.Column(
            "plan_id", sa.Integer, sa.ForeignKey(f"{schema}.plans.plan_id"), primary_key=True
        ),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("area_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("code", sa.Text),
        sa.Column("parent_id", sa.Text),
        sa.Column("households", sa.Float),
        sa.Column("residents", sa.Float),
        sa.Column("attrs", JSONB, nullable=False, server_default=empty),
        sa.Column("geometry", _geometry("MULTIPOLYGON")),
        sa.UniqueConstraint("plan_id", "level", "area_id", name="uq_areas_plan_level_area"),
        schema=schema,
    )
    op.create_index("ix_areas_area_id", "areas", ["area_id"], schema=schema)
    _gist("areas", schema)
    op.create_table(
        "findings",
        sa.Column("finding_id", sa.BigInteger, primary_key=True),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey(f"{schema}.plans.plan_id"), nullable=False),
        sa.Column("rule", sa.Text),
        sa.Column("severity", sa.Text),
        sa.Column("level", sa.Text),
        sa.Column("area_id", sa.Text),
        sa.Column("value", sa.Float),
        sa.Column("message", sa.Text),
        sa.Column("geometry", _geometry()),
        schema=schema,
    )
    op.create_index("ix_findings_plan_id", "findings", ["plan_id", "finding_id"], schema=schema)
    op.create_index("ix_findings_rule", "findings", ["plan_id", "rule"], schema=schema)
    _gist("findings", schema)


def downgrade(schema: str) -> None:
    """Drop the tables of a store in ``schema`` (the schema itself stays)."""
    for table in ("findings", "areas", "assignments", "plans"):
        op.drop_table(table, schema=schema)
    for table, _, _ in reversed(_LAYERS):
        op.drop_table(table, schema=schema)
    op.drop_table("imports", schema=schema)
