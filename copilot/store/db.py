"""Engine factory: SQLite (WAL, busy timeout, BEGIN IMMEDIATE for writes) or PostgreSQL from one URL.

Writers open their transaction with ``write_transaction``. On SQLite that emits ``BEGIN IMMEDIATE``,
which takes the database write lock up front, so two writers (threads or processes) queue on the
busy timeout instead of failing on a lock upgrade. On PostgreSQL it is a plain READ COMMITTED
transaction; row locks (``SELECT ... FOR UPDATE``) and one advisory lock over the in-flight actions
(``SqlTransaction.lock_inflight``) serialise what must be serialised. ``snapshot_transaction`` gives
a reader one consistent view (REPEATABLE READ) for checks that span several statements.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError as SAArgumentError

from copilot.errors import ConfigError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
_IMMEDIATE = "copilot_begin_immediate"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An Engine for ``url``; creates the SQLite file's folder. Raises ConfigError on a bad URL."""
    try:
        parsed = make_url(url)
    except SAArgumentError as exc:
        raise ConfigError(
            f"database URL {url!r} is not valid ({exc}); use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, echo=echo)
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(
            f"database {parsed.get_backend_name()!r} is not supported; use sqlite:/// or postgresql+psycopg://"
        )
    return create_engine(url, echo=echo, pool_pre_ping=True, future=True)


def _sqlite_engine(url: str, database: str | None, *, echo: bool) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, future=True, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event (below) emit BEGIN itself, so writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: BEGIN IMMEDIATE on SQLite; commits on success, rolls back on error."""
    with engine.connect() as conn:
        conn.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read transaction (deferred BEGIN on SQLite; READ COMMITTED, so per statement, on PostgreSQL)."""
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def snapshot_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction whose every statement sees one snapshot, taken at its first read.

    PostgreSQL: REPEATABLE READ (its default READ COMMITTED lets each statement see newer commits).
    SQLite in WAL mode: a deferred read transaction already keeps the snapshot of its first read.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn


MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK_KEY = 0x636F70696C6F74  # "copilot": one advisory lock so replicas never migrate at once


def migrate(engine: Engine) -> None:
    """``alembic upgrade head`` on ``engine``, serialised across processes (advisory lock / IMMEDIATE)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with write_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
