"""The ``paths`` layer: walkable ways (footways, paths, pedestrian streets, steps, streets).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Frozen: later changes go in new revisions. Made like the layer tables of 0001: the schema's
id (primary key) and attribute columns, ``attrs`` (JSONB), ``import_id``, a SRID 4326
geometry with a GiST index and a btree index on ``import_id``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade(schema: str) -> None:
    """Create the ``paths`` table in ``schema``."""
    op.create_table(
        "paths",
        sa.Column("path_id", sa.Text, primary_key=True),
        sa.Column("path_class", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("attrs", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column(
            "import_id",
            sa.Integer,
            sa.ForeignKey(f"{schema}.imports.import_id"),
            nullable=False,
        ),
        sa.Column(
            "geometry",
            Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False),
            nullable=False,
        ),
        schema=schema,
    )
    op.create_index("ix_paths_import_id", "paths", ["import_id"], schema=schema)
    op.create_index(
        "ix_paths_geometry", "paths", ["geometry"], schema=schema, postgresql_using="gist"
    )


def downgrade(schema: str) -> None:
    """Drop the ``paths`` table of ``schema``."""
    op.drop_table("paths", schema=schema)
