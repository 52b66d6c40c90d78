"""Alembic environment: runs on the connection that copilot.store.db.open_store hands over."""

from __future__ import annotations

from alembic import context

from copilot.store.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through copilot.store.migrate(engine), which passes a connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
