"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | None = ${repr(branch_labels)}
depends_on: str | None = ${repr(depends_on)}


def upgrade(schema: str) -> None:
    """Apply the revision inside the store's ``schema``."""
    ${upgrades if upgrades else "pass"}


def downgrade(schema: str) -> None:
    """Revert the revision inside the store's ``schema``."""
    ${downgrades if downgrades else "pass"}
