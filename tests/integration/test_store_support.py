"""Fixtures for the store / approval integration tests: the same test on SQLite and on PostgreSQL.

``store_url`` gives a fresh database on each backend. PostgreSQL uses the server in the env var
COPILOT_TEST_POSTGRES_URL (skipped when unset) with a fresh schema per test, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from copilot.domain import ToolCall
from copilot.store import SqlStore
from tests.integration.test_store_workers import REQUESTER, TableGuard

POSTGRES_ENV = "COPILOT_TEST_POSTGRES_URL"


# --------------------------------------------------------------------------- backends


def _postgres_schema_url(base_url: str, schema: str) -> str:
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'copilot.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"set {POSTGRES_ENV}=postgresql+psycopg://USER@HOST:PORT/DB to run the PostgreSQL tests")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _postgres_schema_url(base, schema)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture()
def store(store_url: str) -> Iterator[SqlStore]:
    opened = SqlStore.open(store_url)
    yield opened
    opened.close()


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def test_support_guard_denies_unknown_tools() -> None:
    decision = TableGuard().check(ToolCall(tool="drain_node", args={"node": "n"}), REQUESTER)
    assert decision.outcome == "deny"
