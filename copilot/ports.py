"""Ports: the Protocols adapters implement. Only domain types cross them.

Every port has a fake in ``tests/fakes.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from copilot.domain import (
    Action,
    ActionState,
    Alert,
    AuditEvent,
    ExecutionResult,
    PlanRequest,
    RetrievedChunk,
    RunbookDoc,
    Suggestion,
    ToolCall,
)


@runtime_checkable
class Retriever(Protocol):
    """Hybrid search over ingested runbooks."""

    def search(
        self, query: str, k: int = 5, *, filters: Mapping[str, str] | None = None,
        alert_name: str | None = None,
    ) -> list[RetrievedChunk]: ...

    def get_document(self, doc_id: str) -> RunbookDoc | None: ...


@runtime_checkable
class Telemetry(Protocol):
    """Live or snapshot telemetry: metrics, alerts, events, deploys, as a flat key -> value map."""

    def snapshot(self, *, alert: Alert | None = None,
                 hints: Mapping[str, str] | None = None) -> dict[str, Any]: ...


@runtime_checkable
class Planner(Protocol):
    """Turns a request (+ retrieved context) into a Suggestion of typed calls."""

    name: str

    def plan(self, request: PlanRequest) -> Suggestion: ...


@runtime_checkable
class Executor(Protocol):
    """Runs an approved call against a backend, or dry-runs it where the backend can.

    ``execute(call, dry_run=True)`` must change nothing. A backend without a dry run returns
    ``ExecutionResult(ok=False, dry_run=True, error="dry run not supported")``
    (``copilot.execution.dry_run_not_supported()``) and never runs the call instead.
    """

    name: str

    def supports(self, tool: str) -> bool: ...

    def execute(self, call: ToolCall, *, dry_run: bool = False) -> ExecutionResult: ...


@runtime_checkable
class ChatSink(Protocol):
    """Posts messages and approval cards back to chat (Slack, web console)."""

    def post(self, channel: str, text: str, *, blocks: Sequence[Mapping[str, Any]] | None = None) -> None: ...


@runtime_checkable
class Store(Protocol):
    """Durable state: actions, approvals, audit chain. Implemented by copilot.store.SqlStore.

    Every write to an action is a state-machine transition with its audit record, committed together
    through ``transaction()`` (unit of work: ``copilot.approvals.StoreTransaction``) by
    ``copilot.approvals.ActionService``; the port has no way to write an action around it.
    """

    def get_action(self, action_id: str) -> Action | None: ...

    def list_actions(self, *, since: datetime | None = None,
                     states: Sequence[ActionState] | None = None) -> list[Action]: ...

    def append_audit(self, kind: str, *, principal: str | None, action_id: str | None,
                     payload: Mapping[str, Any]) -> AuditEvent: ...

    def audit_events(self, *, action_id: str | None = None) -> list[AuditEvent]: ...

    def verify_audit(self, *, expect_head: Any = None) -> Any:
        """The chain checked from one snapshot (copilot.store.ChainReport: ok, count, bad_seq, problem,
        head); ``expect_head`` (copilot.store.HeadAnchor) is a head an earlier verify reported."""
        ...

    def transaction(self) -> AbstractContextManager[Any]: ...
