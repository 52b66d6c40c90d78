"""actions.grounding_required: whether the guard demands grounding when it re-checks the action.

Revision ID: 0003
Revises: 0002
Rows from before stay on the safe side: they require grounding.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("grounding_required", sa.Boolean, nullable=False,
                                   server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("grounding_required")
