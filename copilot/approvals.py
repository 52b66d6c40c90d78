"""The approval state machine: propose -> approve/reject/expire -> execute (at most once) -> result.

    proposed ──approve (enough)──> approved ──(lock + conditional UPDATE)──> executing ──> succeeded
       │  └─reject / guard denies─> rejected                                   │    └────> failed
       └──ttl passes──> expired   (approved past its ttl also expires)          └─crash──> unknown

Every transition commits together with its audit record. ``approved -> executing`` is a conditional
UPDATE taken under the action's row lock, committed *before* the executor is called (the outbox), so
a crash afterwards leaves ``executing`` behind and ``recover()`` reports it as ``unknown``; it is never
re-run. Every approval and every start re-runs the guard, since the policy, and the calls in flight
that the blast-radius limits count, may have changed since the proposal. Reading the in-flight calls
and moving an action into flight happen under one store-wide lock (``lock_inflight``), so two
approvals never both pass a limit that only one of them may pass.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from copilot.approvals_recovery import OPEN, ServiceBase, required_approvals
from copilot.domain import (
    Action,
    ActionState,
    Approval,
    Decision,
    ExecutionResult,
    PlanRequest,
    Principal,
    Suggestion,
    ToolCall,
)
from copilot.errors import CopilotError, LockHeld, PolicyDenied, StateError, UserInputError
from copilot.execution import DEFAULT_LEASE_SECONDS, lock_holder, lock_target, run_executor
from copilot.ports import Executor

log = logging.getLogger(__name__)

INFLIGHT = (ActionState.APPROVED, ActionState.EXECUTING)


class GuardPort(Protocol):
    """The two guard questions the service asks (copilot.guard.Guard implements them)."""

    def check(self, call: ToolCall, principal: Principal, *, inflight: Sequence[ToolCall] = (),
              require_grounding: bool = False) -> Decision: ...

    def check_approver(self, call: ToolCall, decision: Decision, approver: Principal, requester: Principal,
                       prior_approvers: Sequence[str] = ()) -> list[str]: ...


class StoreTransaction(Protocol):
    """One write transaction of the store (copilot.store.SqlTransaction implements it)."""

    def lock_inflight(self) -> None: ...
    def lock_action(self, action_id: str) -> Action | None: ...
    def insert_action(self, action: Action, *, suggestion_id: str | None = None,
                      grounding_required: bool = True) -> None: ...
    def grounding_required(self, action_id: str) -> bool: ...
    def insert_suggestion(self, suggestion_id: str, request: PlanRequest,
                          suggestion: Suggestion) -> dict[str, Any]: ...
    def set_state(self, action_id: str, *, expected: Collection[ActionState], new: ActionState,
                  result: dict[str, Any] | None = None, decision: Decision | None = None) -> bool: ...
    def find_approval(self, idempotency_key: str) -> Approval | None: ...
    def add_approval(self, approval: Approval) -> None: ...
    def acquire_lock(self, target: str, action_id: str, holder: str, lease_seconds: int) -> None: ...
    def release_lock(self, target: str, action_id: str) -> None: ...
    def actions_in(self, states: Collection[ActionState], *,
                   updated_before: datetime | None = None) -> list[Action]: ...
    def append_audit(self, kind: str, *, principal: str | None, action_id: str | None,
                     payload: dict[str, Any]) -> Any: ...


class TransactionalStore(Protocol):
    def transaction(self) -> AbstractContextManager[StoreTransaction]: ...
    def get_action(self, action_id: str) -> Action | None: ...
    def list_actions(self, *, since: datetime | None = None,
                     states: Sequence[ActionState] | None = None) -> list[Action]: ...


class ExecutorLookup(Protocol):
    def for_tool(self, tool: str) -> Executor: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Deferred:
    """An error decided inside a transaction, raised after its audit records commit."""

    error: CopilotError | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class _LostRace(Exception):
    """Another worker moved the action first; roll back quietly."""


class ActionService(ServiceBase):
    """Runs the state machine over a transactional store, a guard and an executor registry."""

    def __init__(self, store: TransactionalStore, guard: GuardPort, executors: ExecutorLookup, *,
                 clock: Callable[[], datetime] = _utcnow, ttl_default: int = 900,
                 lock_lease_seconds: int = DEFAULT_LEASE_SECONDS) -> None:
        self.store = store
        self.guard = guard
        self.executors = executors
        self.clock = clock
        self.ttl_default = ttl_default
        self.lock_lease_seconds = lock_lease_seconds

    # ------------------------------------------------------------------ propose

    def propose(self, call: ToolCall, requester: Principal, *, planner: str | None = None,
                prompt_hash: str | None = None, suggestion_id: str | None = None,
                auto_execute: bool = True, require_grounding: bool = True) -> Action:
        """Store a proposal with the guard's decision. Denied -> rejected; allowed read-only -> runs now.

        A mutating call must cite a runbook passage or telemetry evidence, or the guard denies it
        (invariant 6); the action remembers that, so every re-check at approval and start demands it
        too. Only a call a person typed in themselves may pass ``require_grounding=False``, and the
        call site must say so.
        """
        inflight = [a.call for a in self.store.list_actions(states=INFLIGHT)]
        decision = self.guard.check(call, requester, inflight=inflight, require_grounding=require_grounding)
        if decision.normalized_args:
            call = call.model_copy(update={"args": dict(decision.normalized_args)})
        now = self.clock()
        runs_now = decision.outcome == "allow" and required_approvals(decision) == 0
        state = {"deny": ActionState.REJECTED}.get(decision.outcome, ActionState.PROPOSED)
        if runs_now:
            state = ActionState.APPROVED
        ttl = decision.ttl_seconds or self.ttl_default
        action = Action(id=uuid.uuid4().hex, call=call, requester=requester, decision=decision, state=state,
                        created_at=now, expires_at=now + timedelta(seconds=ttl), planner=planner,
                        prompt_hash=prompt_hash, suggestion_id=suggestion_id)
        with self.store.transaction() as tx:
            tx.insert_action(action, suggestion_id=suggestion_id, grounding_required=require_grounding)
            self._audit(tx, "proposed", requester.name, action, suggestion_id=suggestion_id)
            self._audit(tx, "decision", "guard", action)
            if state is ActionState.REJECTED:
                self._audit(tx, "rejected", "guard", action, reason="the guard denied the call")
            elif runs_now:
                self._audit(tx, "approved", "policy", action,
                            reason="read-only call the policy allows at once")
        log.info("proposed action=%s tool=%s outcome=%s", action.id, call.tool, decision.outcome)
        if runs_now and auto_execute:
            return self.execute(action.id, requester)
        return action

    def record_suggestion(self, request: PlanRequest, suggestion: Suggestion) -> str:
        """Store what ``suggestion`` answered and proposed (the store redacts it first); returns its id."""
        suggestion_id = uuid.uuid4().hex
        with self.store.transaction() as tx:
            tx.insert_suggestion(suggestion_id, request, suggestion)
            tx.append_audit("suggested", principal=request.principal.name, action_id=None, payload={
                "suggestion_id": suggestion_id, "planner": suggestion.planner, "model": suggestion.model,
                "prompt_hash": suggestion.prompt_hash, "summary": suggestion.summary,
                "calls": [p.call.tool for p in suggestion.calls]})
        return suggestion_id

    def propose_suggestion(self, request: PlanRequest, suggestion: Suggestion, requester: Principal, *,
                           auto_execute: bool = True) -> list[Action]:
        """Record ``suggestion``, then propose each of its calls linked to it; the actions in its order.

        Every call is proposed with grounding required, so an ungrounded mutating call is stored as
        rejected by the guard and never becomes an approvable card (invariant 6); so is any call the
        guard denies. Mutating calls wait for approval. Read-only calls the policy allows run at once
        once all calls are stored (``auto_execute=False`` leaves them approved, not run); one whose
        target is locked stays approved and is logged. Each returned action carries its ``context``.
        """
        suggestion_id = self.record_suggestion(request, suggestion)
        proposed = [self.propose(p.call, requester, planner=suggestion.planner,
                                 prompt_hash=suggestion.prompt_hash, suggestion_id=suggestion_id,
                                 auto_execute=False, require_grounding=True) for p in suggestion.calls]
        for action in proposed:
            if auto_execute and action.state is ActionState.APPROVED:
                try:
                    self.execute(action.id, requester)
                except LockHeld as held:
                    log.info("suggestion=%s read-only action=%s waits: %s", suggestion_id, action.id, held)
        return [self.get(action.id) for action in proposed]

    # ------------------------------------------------------------------ approve / reject

    def approve(self, action_id: str, approver: Principal, *, idempotency_key: str) -> Action:
        """Record one approval (guard re-run first); runs the action once enough approvals are in.

        The same idempotency key again returns the action as it stands: never a second approval or run.
        Pressing Approve on an action already approved (say it waited on a held lock) starts it only
        for someone the policy lets approve it; who started it is audited (``run_requested``).
        """
        if not idempotency_key:
            raise UserInputError("approve needs an idempotency key; send one unique key per click")
        deferred = _Deferred()
        with self.store.transaction() as tx:
            tx.lock_inflight()  # first, always: the blast-radius check reads what is in flight
            action = self._locked(tx, action_id)
            seen = tx.find_approval(idempotency_key)
            if seen is not None and seen.action_id != action_id:
                raise UserInputError(f"idempotency key {idempotency_key!r} belongs to another action; "
                                     "send a fresh key per click")
            if seen is None and action.state is ActionState.PROPOSED:
                self._approve_locked(tx, action, approver, idempotency_key, deferred)
            elif seen is None and action.state in (ActionState.REJECTED, ActionState.EXPIRED):
                raise StateError(f"action {action_id} is {action.state.value}; it cannot be approved. "
                                 "Propose the call again")
            elif action.state is ActionState.APPROVED:
                self._request_run_locked(tx, action, approver, deferred)
        if deferred.error is not None:
            raise deferred.error
        return self.execute(action_id, approver)

    def _approve_locked(self, tx: StoreTransaction, action: Action, approver: Principal, key: str,
                        deferred: _Deferred) -> None:
        now = self.clock()
        if action.expires_at is not None and now >= action.expires_at:
            tx.set_state(action.id, expected=[ActionState.PROPOSED], new=ActionState.EXPIRED)
            self._audit(tx, "expired", approver.name, action, reason="approval arrived after the ttl")
            deferred.error = StateError(f"action {action.id} expired at {action.expires_at.isoformat()}; "
                                        "propose the call again to get a fresh approval window")
            return
        decision = self._recheck(tx, action, approver, deferred)
        if decision is None:
            return
        refused = self._approver_refusals(action, decision, approver)
        if refused:
            self._audit(tx, "approval_refused", approver.name, action, decision, refused=refused)
            deferred.error = PolicyDenied(f"{approver.name} cannot approve: {'; '.join(refused)}", refused)
            return
        tx.add_approval(Approval(action_id=action.id, approver=approver.name, approver_roles=approver.roles,
                                 at=now, idempotency_key=key))
        count, needed = len(action.approvals) + 1, required_approvals(decision)
        self._audit(tx, "approval", approver.name, action, decision, count=count, needed=needed)
        new_state = ActionState.APPROVED if count >= needed else ActionState.PROPOSED
        tx.set_state(action.id, expected=[ActionState.PROPOSED], new=new_state, decision=decision)
        if new_state is ActionState.APPROVED:
            approvers = [a.approver for a in action.approvals] + [approver.name]
            self._audit(tx, "approved", approver.name, action, decision, approvers=approvers)

    def _request_run_locked(self, tx: StoreTransaction, action: Action, presser: Principal,
                            deferred: _Deferred) -> None:
        """No approval is added: the presser only asks an approved action to start, so they must be
        someone who may approve it (a viewer's click never runs anything)."""
        refused = self.guard.check_approver(action.call, action.decision, presser, action.requester)
        if refused:
            self._audit(tx, "run_refused", presser.name, action, refused=refused)
            deferred.error = PolicyDenied(f"{presser.name} cannot start this approved action: "
                                          f"{'; '.join(refused)}", refused)
            return
        self._audit(tx, "run_requested", presser.name, action,
                    approvers=[a.approver for a in action.approvals])

    def _recheck(self, tx: StoreTransaction, action: Action, principal: Principal,
                 deferred: _Deferred) -> Decision | None:
        """The guard again, with the policy, the grounding rule and the calls in flight now (the caller
        holds ``lock_inflight``); a denial rejects the action and returns None."""
        others = [a.call for a in tx.actions_in(INFLIGHT) if a.id != action.id]
        decision = self.guard.check(action.call, action.requester, inflight=others,
                                    require_grounding=tx.grounding_required(action.id))
        if decision.outcome != "deny":
            return decision
        tx.set_state(action.id, expected=[action.state], new=ActionState.REJECTED, decision=decision)
        self._audit(tx, "decision", "guard", action, decision, recheck_for=principal.name)
        self._audit(tx, "rejected", "guard", action, decision, reason="the guard denies it now")
        reasons = list(decision.reasons)
        message = f"the guard now denies {action.call.tool}: {'; '.join(reasons)}"
        deferred.error = PolicyDenied(message, reasons)
        return None

    def _approver_refusals(self, action: Action, decision: Decision, approver: Principal) -> list[str]:
        prior = [a.approver for a in action.approvals]
        refused = list(self.guard.check_approver(action.call, decision, approver, action.requester, prior))
        # Invariant 1 holds here too, whatever the guard says.
        needed = required_approvals(decision)
        if approver.name in prior:
            refused.append(f"{approver.name} already approved this action; another person must approve")
        elif approver.name == action.requester.name and needed >= 2 and len(prior) + 1 >= needed:
            refused.append(f"the requester ({approver.name}) cannot give the final approval of a "
                           f"{needed}-person action; another person must approve")
        return list(dict.fromkeys(refused))

    def reject(self, action_id: str, principal: Principal, reason: str = "") -> Action:
        """Reject an open action: the requester, or anyone the policy lets approve it."""
        with self.store.transaction() as tx:
            action = self._locked(tx, action_id)
            if action.state not in OPEN:
                raise StateError(f"action {action_id} is {action.state.value}; only proposed or approved "
                                 "actions can be rejected")
            if principal.name != action.requester.name:
                refused = self.guard.check_approver(action.call, action.decision, principal, action.requester)
                if refused:
                    raise PolicyDenied(f"{principal.name} cannot reject: {'; '.join(refused)}", refused)
            tx.set_state(action_id, expected=OPEN, new=ActionState.REJECTED)
            self._audit(tx, "rejected", principal.name, action, reason=reason or "rejected by a person")
        return self.get(action_id)

    # ------------------------------------------------------------------ execute

    def execute(self, action_id: str, principal: Principal) -> Action:
        """Run an approved action at most once; a no-op for any other state. Raises LockHeld.

        The caller has authorised ``principal`` (``approve`` does; ``propose`` runs only what the
        policy allows at once). The start re-checks the guard and the approvals recorded.
        """
        action = self.get(action_id)
        if action.state is not ActionState.APPROVED:
            return action
        executor = self.executors.for_tool(action.call.tool)  # ConfigError before anything changes
        try:
            started = self._mark_executing(action_id, principal)
        except _LostRace:
            return self.get(action_id)
        result = run_executor(executor, started.call, dry_run=False)
        self._record_result(started, principal, result)
        return self.get(action_id)

    def _mark_executing(self, action_id: str, principal: Principal) -> Action:
        deferred = _Deferred()
        with self.store.transaction() as tx:
            tx.lock_inflight()
            action = self._locked(tx, action_id)
            if action.state is not ActionState.APPROVED:
                raise _LostRace
            now = self.clock()
            if action.expires_at is not None and now >= action.expires_at:
                tx.set_state(action_id, expected=[ActionState.APPROVED], new=ActionState.EXPIRED)
                self._audit(tx, "expired", principal.name, action, reason="not started before the ttl")
                deferred.error = StateError(f"action {action_id} expired before it could start; "
                                            "propose the call again")
            elif self._recheck(tx, action, principal, deferred) is not None:
                self._start_locked(tx, action, principal, deferred)
        if deferred.error is not None:
            raise deferred.error
        return action


    def _start_locked(self, tx: StoreTransaction, action: Action, principal: Principal,
                      deferred: _Deferred) -> None:
        needed = required_approvals(action.decision)
        if len(action.approvals) < needed:  # invariant 1, even for a row written around the service
            self._audit(tx, "start_refused", principal.name, action, approvals=len(action.approvals))
            deferred.error = StateError(f"action {action.id} is approved but holds {len(action.approvals)} "
                                        f"of the {needed} approvals it needs; it will not run")
            return
        target = lock_target(action)
        try:
            tx.acquire_lock(target, action.id, lock_holder(action, principal.name), self.lock_lease_seconds)
        except LockHeld as held:
            self._audit(tx, "lock_held", principal.name, action, holder=held.holder)
            deferred.error = held
            return
        if not tx.set_state(action.id, expected=[ActionState.APPROVED], new=ActionState.EXECUTING):
            raise _LostRace
        self._audit(tx, "executing", principal.name, action,
                    approvers=[a.approver for a in action.approvals])

    def _record_result(self, action: Action, principal: Principal, result: ExecutionResult) -> None:
        state = ActionState.SUCCEEDED if result.ok else ActionState.FAILED
        with self.store.transaction() as tx:
            done = tx.set_state(action.id, expected=[ActionState.EXECUTING], new=state,
                                result=result.model_dump(mode="json"))
            if done:
                tx.release_lock(lock_target(action), action.id)
            self._audit(tx, "result", principal.name, action, ok=result.ok, error=result.error,
                        output=result.output, state=state.value if done else "unknown (result arrived late)")
        log.info("executed action=%s tool=%s ok=%s", action.id, action.call.tool, result.ok)
