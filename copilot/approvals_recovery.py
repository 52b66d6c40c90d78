"""The approval service's record keeping, dry runs, expiry and crash recovery: nothing here runs a
call for real. ``copilot.approvals.ActionService`` builds on ``ServiceBase``; see its state diagram.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from copilot.domain import Action, ActionState, Decision, ExecutionResult, Principal
from copilot.errors import CopilotError, PolicyDenied, StateError, UserInputError
from copilot.execution import lock_target, run_executor

if TYPE_CHECKING:
    from copilot.approvals import ExecutorLookup, GuardPort, StoreTransaction, TransactionalStore

log = logging.getLogger(__name__)

OPEN = (ActionState.PROPOSED, ActionState.APPROVED)


def required_approvals(decision: Decision) -> int:
    """Approvals needed before running: a mutating call always needs at least one (invariant 1)."""
    floor = 1 if decision.mutating or decision.outcome == "needs_approval" else 0
    return max(decision.approvals_required, floor)


def audit_context(action: Action, decision: Decision | None = None, **extra: Any) -> dict[str, Any]:
    """What every audit record of an action carries: call, decision reasons, planner, prompt hash."""
    decision = decision or action.decision
    return {
        "tool": action.call.tool, "args": action.call.args, "target": lock_target(action),
        "requester": action.requester.name, "outcome": decision.outcome, "reasons": list(decision.reasons),
        "risk": decision.risk, "approvals_required": required_approvals(decision),
        "planner": action.planner, "prompt_hash": action.prompt_hash, **extra,
    }


class ServiceBase:
    """What the service shares (store, guard, executors, clock, audit helpers) and its quiet parts."""

    store: TransactionalStore
    guard: GuardPort
    executors: ExecutorLookup
    clock: Callable[[], datetime]

    # ------------------------------------------------------------------ dry run

    def dry_run(self, action_id: str, principal: Principal) -> ExecutionResult:
        """Ask the executor what an open call would do; changes no state, leaves an audit record.

        Only a proposed or approved action, and only for a principal the guard lets request the
        call. A backend without a dry run answers ``dry run not supported`` and runs nothing.
        """
        action = self.get(action_id)
        executor = self.executors.for_tool(action.call.tool)  # ConfigError before anything is written
        refusal = self._dry_run_refusal(action, principal)
        if refusal is not None:
            with self.store.transaction() as tx:
                self._audit(tx, "dry_run_refused", principal.name, action, refused=str(refusal))
            raise refusal
        result = run_executor(executor, action.call, dry_run=True)
        with self.store.transaction() as tx:
            self._audit(tx, "dry_run", principal.name, action, ok=result.ok, error=result.error,
                        output=result.output)
        return result

    def _dry_run_refusal(self, action: Action, principal: Principal) -> CopilotError | None:
        if action.state not in OPEN or action.decision.outcome == "deny":
            return StateError(f"action {action.id} is {action.state.value}; only proposed or approved "
                              "actions the guard allows can be dry-run")
        decision = self.guard.check(action.call, principal, require_grounding=False)
        if decision.outcome == "deny":
            reasons = list(decision.reasons)
            return PolicyDenied(f"{principal.name} cannot dry-run {action.call.tool}: {'; '.join(reasons)}",
                                reasons)
        return None

    # ------------------------------------------------------------------ housekeeping

    def expire_due(self) -> list[Action]:
        """Expire every open action past its ttl."""
        now = self.clock()
        expired: list[Action] = []
        with self.store.transaction() as tx:
            for action in tx.actions_in(OPEN):
                if action.expires_at is not None and now >= action.expires_at and tx.set_state(
                        action.id, expected=OPEN, new=ActionState.EXPIRED):
                    self._audit(tx, "expired", "system", action, reason="ttl passed without enough approvals")
                    expired.append(action.model_copy(update={"state": ActionState.EXPIRED}))
        return expired

    def recover(self, *, older_than_seconds: float = 0) -> list[Action]:
        """At start-up: every ``executing`` action with no result becomes ``unknown``; never re-run.

        With several replicas, pass ``older_than_seconds`` (e.g. the lock lease) so one replica's
        start-up does not claim another's live execution.
        """
        cutoff = self.clock() - timedelta(seconds=older_than_seconds)
        found: list[Action] = []
        with self.store.transaction() as tx:
            for action in tx.actions_in([ActionState.EXECUTING], updated_before=cutoff):
                if tx.set_state(action.id, expected=[ActionState.EXECUTING], new=ActionState.UNKNOWN):
                    tx.release_lock(lock_target(action), action.id)
                    self._audit(tx, "unknown", "system", action,
                                reason=f"execution was interrupted; check {lock_target(action)} by hand. "
                                       "It will not be re-run")
                    found.append(action.model_copy(update={"state": ActionState.UNKNOWN}))
        for action in found:
            log.warning("action=%s tool=%s was executing at a crash: state unknown, needs a human check",
                        action.id, action.call.tool)
        return found

    def resolve_unknown(self, action_id: str, principal: Principal, *, succeeded: bool, note: str) -> Action:
        """After someone who may approve it checked an ``unknown`` action's target, record what they found.

        Runs nothing.
        """
        if not note.strip():
            raise UserInputError("say what you checked on the target (note) when resolving an unknown action")
        new = ActionState.SUCCEEDED if succeeded else ActionState.FAILED
        with self.store.transaction() as tx:
            action = self._locked(tx, action_id)
            refused = self.guard.check_approver(action.call, action.decision, principal, action.requester)
            if refused:
                raise PolicyDenied(f"{principal.name} cannot resolve: {'; '.join(refused)}", refused)
            if not tx.set_state(action_id, expected=[ActionState.UNKNOWN], new=new,
                                result={"ok": succeeded, "resolved_by": principal.name, "note": note}):
                raise StateError(f"action {action_id} is {action.state.value}, not unknown; "
                                 "nothing to resolve")
            self._audit(tx, "resolved", principal.name, action, state=new.value, note=note)
        return self.get(action_id)

    def get(self, action_id: str) -> Action:
        action = self.store.get_action(action_id)
        if action is None:
            raise UserInputError(f"no action {action_id!r}; list actions to find its id")
        return action

    # ------------------------------------------------------------------ helpers

    def _locked(self, tx: StoreTransaction, action_id: str) -> Action:
        action = tx.lock_action(action_id)
        if action is None:
            raise UserInputError(f"no action {action_id!r}; list actions to find its id")
        return action

    @staticmethod
    def _audit(tx: StoreTransaction, kind: str, principal: str, action: Action,
               decision: Decision | None = None, **extra: Any) -> None:
        tx.append_audit(kind, principal=principal, action_id=action.id,
                        payload=audit_context(action, decision, **extra))
