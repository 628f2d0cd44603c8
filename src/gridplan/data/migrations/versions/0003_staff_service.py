"""The staff roster and the per-community service figures.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Frozen: later changes go in new revisions.

``staff``: one row per grid staff member (一格多员): ``staff_id`` (the roster's order),
``name``, ``role`` (``full-time`` / ``专职网格员`` count as full-time grid workers),
``grid_code`` (the 15-digit grid code the member works on). ``service``: one row per
community code: ``volunteers`` (registered), ``new_households`` (newly registered this year),
``model`` (a model community, 示范社区). Both are replaced whole by an import.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade(schema: str) -> None:
    """Create the ``staff`` and ``service`` tables in ``schema``."""
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False, server_default=""),
        sa.Column("grid_code", sa.Text, nullable=False),
        schema=schema,
    )
    op.create_index("ix_staff_grid_code", "staff", ["grid_code"], schema=schema)
    op.create_table(
        "service",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("volunteers", sa.Float),
        sa.Column("new_households", sa.Float),
        sa.Column("model", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=schema,
    )


def downgrade(schema: str) -> None:
    """Drop the ``staff`` and ``service`` tables of ``schema``."""
    op.drop_table("service", schema=schema)
    op.drop_table("staff", schema=schema)
