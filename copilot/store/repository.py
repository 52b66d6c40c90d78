"""SqlStore: the Store port over SQLAlchemy (SQLite or PostgreSQL), with a unit of work for the service.

Every write runs in one transaction (``SqlStore.transaction()``); the approval service composes row
locks, conditional state updates, target locks and audit appends inside it, so each transition and
its audit record commit together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from copilot.domain import (
    Action,
    ActionState,
    Approval,
    AuditEvent,
    Decision,
    PlanRequest,
    Principal,
    Suggestion,
    ToolCall,
)
from copilot.errors import LockHeld, StateError, UpstreamError, UserInputError
from copilot.redaction import redact_obj
from copilot.settings import Settings
from copilot.store import audit
from copilot.store.db import make_engine, migrate, read_transaction, snapshot_transaction, write_transaction
from copilot.store.models import actions, approvals, audit_head, audit_log, target_locks
from copilot.store.suggestions import contexts_of, insert_suggestion

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

INFLIGHT_LOCK_KEY = 0x636F70696C6F7401  # "copilot" + 1: the advisory lock of the in-flight set


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def action_target(action: Action) -> str:
    return action.decision.target or action.call.tool


class SqlTransaction:
    """One open write transaction. Methods map one-to-one onto the statements they run."""

    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    def lock_inflight(self) -> None:
        """Serialise with every other transaction that reads the in-flight actions and then moves an
        action into flight, until commit. PostgreSQL: a transaction-scoped advisory lock (row locks
        alone let two transactions read the same in-flight set under READ COMMITTED). SQLite: a
        no-op, since BEGIN IMMEDIATE already holds the database write lock."""
        if self.conn.dialect.name == "postgresql":
            self.conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({INFLIGHT_LOCK_KEY})")

    def lock_action(self, action_id: str) -> Action | None:
        """Read an action and lock its row until commit (FOR UPDATE; SQLite holds the write lock already)."""
        row = self.conn.execute(select(actions).where(actions.c.id == action_id).with_for_update()).first()
        return None if row is None else _hydrate(self.conn, [row])[0]

    def insert_action(self, action: Action, *, suggestion_id: str | None = None,
                      grounding_required: bool = True) -> None:
        values = _action_values(action, self.clock())
        values["suggestion_id"] = suggestion_id or action.suggestion_id
        values["grounding_required"] = grounding_required
        self.conn.execute(insert(actions).values(**values))

    def grounding_required(self, action_id: str) -> bool:
        """Whether the guard's re-checks of this action demand grounding (True unless proposed without)."""
        stmt = select(actions.c.grounding_required).where(actions.c.id == action_id)
        stored = self.conn.execute(stmt).scalar_one_or_none()
        return True if stored is None else bool(stored)

    def insert_suggestion(self, suggestion_id: str, request: PlanRequest,
                          suggestion: Suggestion) -> dict[str, Any]:
        """Record what a suggestion answered and proposed (redacted); returns the stored context."""
        return insert_suggestion(self.conn, suggestion_id, request, suggestion, at=self.clock())

    def set_state(self, action_id: str, *, expected: Collection[ActionState], new: ActionState,
                  result: Mapping[str, Any] | None = None, decision: Decision | None = None) -> bool:
        """Conditional UPDATE ... WHERE state IN expected; True when this call made the transition."""
        values: dict[str, Any] = {"state": new.value, "updated_at": self.clock()}
        if result is not None:
            values["result"] = _redacted(dict(result))
        if decision is not None:
            values["decision"] = decision.model_dump(mode="json")
        stmt = (update(actions).where(and_(actions.c.id == action_id,
                                           actions.c.state.in_([s.value for s in expected])))
                .values(**values))
        return self.conn.execute(stmt).rowcount == 1

    def find_approval(self, idempotency_key: str) -> Approval | None:
        stmt = select(approvals).where(approvals.c.idempotency_key == idempotency_key)
        row = self.conn.execute(stmt).first()
        return None if row is None else _to_approval(row)

    def add_approval(self, approval: Approval) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(approvals).values(
                    action_id=approval.action_id, approver=approval.approver,
                    approver_roles=sorted(approval.approver_roles), at=approval.at,
                    idempotency_key=approval.idempotency_key))
        except IntegrityError:
            raise UserInputError(
                f"idempotency key {approval.idempotency_key!r} was already used; send a fresh key per click"
            ) from None

    def acquire_lock(self, target: str, action_id: str, holder: str, lease_seconds: int) -> None:
        """Take the per-target lock for ``action_id``; raise LockHeld naming the live holder."""
        now = self.clock()
        expires = now + timedelta(seconds=lease_seconds)
        row = self.conn.execute(select(target_locks).where(target_locks.c.target == target)
                                .with_for_update()).first()
        if row is None:
            try:
                with self.conn.begin_nested():
                    self.conn.execute(insert(target_locks).values(
                        target=target, action_id=action_id, holder=holder, acquired_at=now,
                        expires_at=expires))
                return
            except IntegrityError:  # another replica inserted it between our SELECT and INSERT
                row = self.conn.execute(select(target_locks).where(target_locks.c.target == target)).one()
        lock_expires = _aware(row.expires_at)
        if row.action_id != action_id and lock_expires is not None and lock_expires > now:
            raise LockHeld(target, str(row.holder))
        self.conn.execute(update(target_locks).where(target_locks.c.target == target).values(
            action_id=action_id, holder=holder, acquired_at=now, expires_at=expires))

    def release_lock(self, target: str, action_id: str) -> None:
        self.conn.execute(delete(target_locks).where(and_(target_locks.c.target == target,
                                                          target_locks.c.action_id == action_id)))

    def actions_in(self, states: Collection[ActionState], *,
                   updated_before: datetime | None = None) -> list[Action]:
        return _select_actions(self.conn, states=states, updated_before=updated_before)

    def append_audit(self, kind: str, *, principal: str | None, action_id: str | None,
                     payload: Mapping[str, Any]) -> AuditEvent:
        return audit.append_event(self.conn, kind, principal=principal, action_id=action_id,
                                  payload=payload, at=self.clock())


class SqlStore:
    """The Store port on SQLAlchemy. ``SqlStore.open(url)`` migrates to head first."""

    def __init__(self, engine: Engine, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    @classmethod
    def open(cls, url: str, *, clock: Clock = utcnow, run_migrations: bool = True) -> SqlStore:
        engine = make_engine(url)
        if run_migrations:
            try:
                migrate(engine)
            except OperationalError as exc:
                engine.dispose()
                raise UpstreamError(f"cannot open the database at {engine.url!r}: {exc.orig}; "
                                    "check COPILOT_DATABASE_URL and that the server is up") from None
        return cls(engine, clock=clock)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = utcnow) -> SqlStore:
        if settings.database_url is None:
            settings.ensure_home()
        return cls.open(settings.resolved_database_url, clock=clock)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with write_transaction(self.engine) as conn:
            yield SqlTransaction(conn, self.clock)

    # ------------------------------------------------------------------ Store port (each call commits)

    def save_action(self, action: Action) -> None:
        """Insert a new action row exactly as given: only for seeding tests. Not on the Store port.

        It writes no audit record and runs no state machine, so it never overwrites an action (every
        change of an existing action is a transition made by ``copilot.approvals.ActionService``), and
        an action seeded ``approved`` without approval records is refused when it would start.
        """
        with self.transaction() as tx:
            if tx.lock_action(action.id) is not None:
                raise StateError(f"action {action.id} exists; change it through the approval service")
            tx.insert_action(action)

    def get_action(self, action_id: str) -> Action | None:
        with read_transaction(self.engine) as conn:
            row = conn.execute(select(actions).where(actions.c.id == action_id)).first()
            return None if row is None else _hydrate(conn, [row])[0]

    def list_actions(self, *, since: datetime | None = None,
                     states: Sequence[ActionState] | None = None) -> list[Action]:
        """Actions oldest first, with approvals and their suggestion's context, optionally since a time
        and in some states."""
        with read_transaction(self.engine) as conn:
            return _select_actions(conn, states=states, since=since)

    def append_audit(self, kind: str, *, principal: str | None, action_id: str | None,
                     payload: Mapping[str, Any]) -> AuditEvent:
        with self.transaction() as tx:
            return tx.append_audit(kind, principal=principal, action_id=action_id, payload=payload)

    def audit_events(self, *, action_id: str | None = None) -> list[AuditEvent]:
        return [audit.to_event(r) for r in self.audit_records(action_id=action_id)]

    def audit_records(self, *, action_id: str | None = None) -> list[audit.StoredRecord]:
        stmt = select(audit_log).order_by(audit_log.c.seq)
        if action_id is not None:
            stmt = stmt.where(audit_log.c.action_id == action_id)
        with read_transaction(self.engine) as conn:
            return [audit.StoredRecord(**row._asdict()) for row in conn.execute(stmt)]

    def verify_audit(self, *, expect_head: audit.HeadAnchor | None = None) -> audit.ChainReport:
        """Check the whole chain against its head row, read from one snapshot so that concurrent
        appends are never mistaken for tampering; ``expect_head`` also checks an earlier head."""
        with snapshot_transaction(self.engine) as conn:
            head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
            if head is None:
                return audit.MISSING_HEAD
            rows = conn.execute(select(audit_log).order_by(audit_log.c.seq))
            records = (audit.StoredRecord(**row._asdict()) for row in rows)
            return audit.verify_chain(records, head_seq=int(head.seq), head_hash=str(head.hash),
                                      expect_head=expect_head)


def _action_values(action: Action, now: datetime) -> dict[str, Any]:
    """The row for ``action``. Its context lives in ``suggestions`` (written by insert_suggestion)."""
    return {
        "id": action.id, "tool": action.call.tool, "target": action_target(action),
        "state": action.state.value,
        "call": _call_json(action.call), "requester": action.requester.model_dump(mode="json"),
        "decision": action.decision.model_dump(mode="json"), "created_at": action.created_at,
        "updated_at": now, "expires_at": action.expires_at, "planner": action.planner,
        "prompt_hash": action.prompt_hash, "suggestion_id": action.suggestion_id,
        "result": None if action.result is None else _redacted(action.result),
    }


def _call_json(call: ToolCall) -> dict[str, Any]:
    """The call as stored: args kept exact (the executor runs them; the catalog types them), while
    the planner's rationale and the quoted evidence and citations, which copy telemetry and log
    lines, are redacted (invariant 4)."""
    data = call.model_dump(mode="json")
    for key in ("rationale", "evidence", "citations"):
        data[key] = redact_obj(data[key])
    return data


def _redacted(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(redact_obj(dict(value)))


def _select_actions(conn: Connection, *, states: Collection[ActionState] | None = None,
                    since: datetime | None = None, updated_before: datetime | None = None) -> list[Action]:
    stmt = select(actions).order_by(actions.c.created_at, actions.c.id)
    if states is not None:
        stmt = stmt.where(actions.c.state.in_([s.value for s in states]))
    if since is not None:
        stmt = stmt.where(actions.c.created_at >= since.astimezone(UTC))
    if updated_before is not None:
        stmt = stmt.where(actions.c.updated_at <= updated_before.astimezone(UTC))
    return _hydrate(conn, list(conn.execute(stmt)))


def _hydrate(conn: Connection, rows: Sequence[Row[Any]]) -> list[Action]:
    """Actions for ``rows`` with their approvals and their suggestion's context (two queries)."""
    by_action = _approvals_of(conn, [row.id for row in rows])
    contexts = contexts_of(conn, [row.suggestion_id for row in rows])
    return [_to_action(row, by_action, contexts) for row in rows]


def _approvals_of(conn: Connection, action_ids: Sequence[str]) -> dict[str, list[Approval]]:
    found: dict[str, list[Approval]] = {}
    if not action_ids:
        return found
    stmt = select(approvals).where(approvals.c.action_id.in_(list(action_ids))).order_by(approvals.c.id)
    for row in conn.execute(stmt):
        found.setdefault(row.action_id, []).append(_to_approval(row))
    return found


def _to_approval(row: Row[Any]) -> Approval:
    return Approval(action_id=row.action_id, approver=row.approver,
                    approver_roles=frozenset(row.approver_roles), at=_aware(row.at),
                    idempotency_key=row.idempotency_key)


def _to_action(row: Row[Any], approvals_by_action: Mapping[str, list[Approval]],
               contexts: Mapping[str, dict[str, Any]]) -> Action:
    return Action(
        id=row.id, call=ToolCall.model_validate(row.call), requester=Principal.model_validate(row.requester),
        decision=Decision.model_validate(row.decision), state=ActionState(row.state),
        created_at=_aware(row.created_at), expires_at=_aware(row.expires_at),
        approvals=list(approvals_by_action.get(row.id, [])), planner=row.planner, prompt_hash=row.prompt_hash,
        result=row.result, suggestion_id=row.suggestion_id, context=contexts.get(row.suggestion_id or ""),
    )
