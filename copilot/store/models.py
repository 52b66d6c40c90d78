"""SQLAlchemy Core tables. The Alembic migrations in ``migrations/versions`` create exactly these."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    true,
)

GENESIS_HASH = "0" * 64

metadata = MetaData()

actions = Table(
    "actions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tool", String(100), nullable=False),
    Column("target", String(300), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("call", JSON, nullable=False),
    Column("requester", JSON, nullable=False),
    Column("decision", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("planner", String(100), nullable=True),
    Column("prompt_hash", String(128), nullable=True),
    Column("suggestion_id", String(100), nullable=True, index=True),
    Column("result", JSON, nullable=True),
    # False only for a call a person typed in on a path that says so (ActionService.propose); the
    # guard's re-checks at approval and start then do not demand a citation or evidence.
    Column("grounding_required", Boolean, nullable=False, server_default=true()),
)

# What a suggestion answered and proposed (redacted before it is written); actions point here by
# ``suggestion_id``. No foreign key: callers may tag actions with ids of suggestions never recorded.
suggestions = Table(
    "suggestions",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("planner", String(100), nullable=True),
    Column("prompt_hash", String(128), nullable=True),
    Column("context", JSON, nullable=False),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action_id", String(36), ForeignKey("actions.id"), nullable=False, index=True),
    Column("approver", String(200), nullable=False),
    Column("approver_roles", JSON, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
)

# One row per locked target; the primary key makes a second holder impossible.
target_locks = Table(
    "target_locks",
    metadata,
    Column("target", String(300), primary_key=True),
    Column("action_id", String(36), nullable=False),
    Column("holder", String(200), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# ``at`` is kept as the exact ISO text that was hashed, so verification never depends on how a
# backend round-trips timestamps.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("principal", String(200), nullable=True),
    Column("action_id", String(36), nullable=True, index=True),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# A single row (id=1): the chain's head. Appenders lock it (FOR UPDATE) so seq and prev_hash never fork;
# verify compares it with the last record, which catches a truncated tail.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
