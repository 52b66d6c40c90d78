"""Suggestions: the redacted request context and metadata behind proposed actions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suggestions",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planner", sa.String(100), nullable=True),
        sa.Column("prompt_hash", sa.String(128), nullable=True),
        sa.Column("context", sa.JSON, nullable=False),
    )
    op.create_index("ix_suggestions_created_at", "suggestions", ["created_at"])
    op.create_index("ix_actions_suggestion_id", "actions", ["suggestion_id"])


def downgrade() -> None:
    op.drop_index("ix_actions_suggestion_id", table_name="actions")
    op.drop_table("suggestions")
