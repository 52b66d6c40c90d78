"""Durable state: actions, approvals, target locks and the hash-chained audit log (SQLite or PostgreSQL)."""

from copilot.store.audit import ChainReport, HeadAnchor, canonical_json, verify_chain
from copilot.store.db import make_engine, migrate
from copilot.store.repository import SqlStore, SqlTransaction, utcnow

__all__ = ["ChainReport", "HeadAnchor", "SqlStore", "SqlTransaction", "canonical_json", "make_engine",
           "migrate", "utcnow", "verify_chain"]
