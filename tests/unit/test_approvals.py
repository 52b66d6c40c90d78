"""The approval state machine on a SQLite store: approvals, idempotency, expiry, locks, outbox, recovery."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from copilot.approvals import ActionService
from copilot.catalog import Catalog
from copilot.domain import (
    ActionState,
    Alert,
    Decision,
    Evidence,
    ExecutionResult,
    PlanRequest,
    Principal,
    ProposedCall,
    Suggestion,
    ToolCall,
)
from copilot.errors import ConfigError, LockHeld, PolicyDenied, StateError, UserInputError
from copilot.execution import ExecutorRegistry, RecordingExecutor
from copilot.guard import Guard
from copilot.policy import load_policy
from copilot.store import SqlStore
from tests.fakes import RecordingExecutor as HandlerExecutor

ALICE = Principal(name="alice", roles=frozenset({"oncall"}))
BOB = Principal(name="bob", roles=frozenset({"sre-lead"}))
CAROL = Principal(name="carol", roles=frozenset({"admin"}))
DAVE = Principal(name="dave", roles=frozenset({"viewer"}))

RESTART = ToolCall(tool="restart_deployment", args={"namespace": "shop", "deployment": "checkout"})
ROLLBACK = ToolCall(tool="rollback_deployment", args={"namespace": "shop", "deployment": "checkout"})
LOGS = ToolCall(tool="get_logs", args={"namespace": "shop"})
SCALE_AB = ToolCall(tool="scale_deployment", args={"namespace": "a", "deployment": "b"})


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


class TableGuard:
    """A tiny guard: tool -> (outcome, approvals); approvers need the 'approver' role. Rules are mutable."""

    def __init__(self) -> None:
        self.rules: dict[str, tuple[str, int]] = {
            "get_logs": ("allow", 0),
            "restart_deployment": ("needs_approval", 1),
            "rollback_deployment": ("needs_approval", 2),
            "scale_deployment": ("needs_approval", 1),
        }

    def check(self, call: ToolCall, principal: Principal, *, inflight: Sequence[ToolCall] = (),
              require_grounding: bool = False) -> Decision:
        outcome, required = self.rules.get(call.tool, ("deny", 0))
        reasons = (f"table says {outcome}",) if outcome != "deny" else (f"{call.tool} is not allowed",)
        target = "/".join(str(call.args[k]) for k in ("namespace", "deployment") if k in call.args)
        return Decision(outcome=outcome, reasons=reasons, tool=call.tool,  # type: ignore[arg-type]
                        mutating=call.tool != "get_logs", approvals_required=required,
                        target=target or call.tool, ttl_seconds=600)

    def check_approver(self, call: ToolCall, decision: Decision, approver: Principal, requester: Principal,
                       prior_approvers: Sequence[str] = ()) -> list[str]:
        return [] if "approver" in approver.roles else [f"{approver.name} lacks the approver role"]


REQ = Principal(name="req", roles=frozenset({"approver"}))
AP1 = Principal(name="ap1", roles=frozenset({"approver"}))
AP2 = Principal(name="ap2", roles=frozenset({"approver"}))
NOBODY = Principal(name="nobody")


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def store(tmp_path: Path, clock: Clock) -> Iterator[SqlStore]:
    opened = SqlStore.open(f"sqlite:///{tmp_path / 'copilot.db'}", clock=clock)
    yield opened
    opened.close()


@pytest.fixture()
def executor() -> RecordingExecutor:
    return RecordingExecutor()


@pytest.fixture()
def guard() -> TableGuard:
    return TableGuard()


@pytest.fixture()
def service(store: SqlStore, guard: TableGuard, executor: RecordingExecutor, clock: Clock) -> ActionService:
    return ActionService(store, guard, ExecutorRegistry([executor]), clock=clock)


def kinds(store: SqlStore, action_id: str) -> list[str]:
    return [event.kind for event in store.audit_events(action_id=action_id)]


def test_allowed_read_only_call_runs_at_once(service: ActionService, store: SqlStore,
                                             executor: RecordingExecutor) -> None:
    action = service.propose(LOGS, REQ, planner="runbook", prompt_hash="abc")
    assert action.state is ActionState.SUCCEEDED
    assert [run.call.tool for run in executor.runs] == ["get_logs"]
    assert kinds(store, action.id) == ["proposed", "decision", "approved", "executing", "result"]
    first = store.audit_events(action_id=action.id)[0]
    assert first.principal == "req"
    assert first.payload["planner"] == "runbook" and first.payload["prompt_hash"] == "abc"
    assert first.payload["reasons"] == ["table says allow"]


def test_denied_call_is_stored_rejected_with_reasons(service: ActionService, store: SqlStore,
                                                     executor: RecordingExecutor) -> None:
    action = service.propose(ToolCall(tool="drain_node", args={"node": "n1"}), REQ)
    assert action.state is ActionState.REJECTED
    assert action.decision.reasons == ("drain_node is not allowed",)
    assert executor.runs == []
    assert kinds(store, action.id) == ["proposed", "decision", "rejected"]
    with pytest.raises(StateError, match="rejected"):
        service.approve(action.id, AP1, idempotency_key="k1")


def test_one_approval_executes_once_and_is_recorded(service: ActionService, store: SqlStore,
                                                    executor: RecordingExecutor) -> None:
    action = service.propose(RESTART, REQ)
    assert action.state is ActionState.PROPOSED and executor.runs == []
    done = service.approve(action.id, AP1, idempotency_key="k1")
    assert done.state is ActionState.SUCCEEDED
    assert [a.approver for a in done.approvals] == ["ap1"]
    assert done.result is not None and done.result["ok"] is True
    assert len(executor.real_runs) == 1
    assert kinds(store, action.id) == ["proposed", "decision", "approval", "approved", "executing", "result"]


def test_same_idempotency_key_twice_returns_first_result(service: ActionService,
                                                         executor: RecordingExecutor) -> None:
    action = service.propose(RESTART, REQ)
    first = service.approve(action.id, AP1, idempotency_key="click-1")
    again = service.approve(action.id, AP1, idempotency_key="click-1")
    assert again.state is ActionState.SUCCEEDED and again.result == first.result
    assert len(again.approvals) == 1
    assert len(executor.real_runs) == 1


def test_idempotency_key_of_another_action_is_refused(service: ActionService) -> None:
    one = service.propose(RESTART, REQ)
    two = service.propose(SCALE_AB, REQ)
    service.approve(one.id, AP1, idempotency_key="click-1")
    with pytest.raises(UserInputError, match="another action"):
        service.approve(two.id, AP1, idempotency_key="click-1")


def test_late_approval_with_new_key_does_not_run_again(service: ActionService,
                                                       executor: RecordingExecutor) -> None:
    action = service.propose(RESTART, REQ)
    service.approve(action.id, AP1, idempotency_key="k1")
    late = service.approve(action.id, AP2, idempotency_key="k2")
    assert late.state is ActionState.SUCCEEDED and len(late.approvals) == 1
    assert len(executor.real_runs) == 1


def test_requester_cannot_second_approve(service: ActionService, store: SqlStore,
                                         executor: RecordingExecutor) -> None:
    action = service.propose(ROLLBACK, REQ)
    service.approve(action.id, AP1, idempotency_key="k1")
    with pytest.raises(PolicyDenied, match="requester"):
        service.approve(action.id, REQ, idempotency_key="k2")
    assert service.get(action.id).state is ActionState.PROPOSED
    assert executor.runs == []
    assert kinds(store, action.id)[-1] == "approval_refused"
    done = service.approve(action.id, AP2, idempotency_key="k3")
    assert done.state is ActionState.SUCCEEDED
    assert [a.approver for a in done.approvals] == ["ap1", "ap2"]


def test_nobody_approves_twice(service: ActionService, executor: RecordingExecutor) -> None:
    action = service.propose(ROLLBACK, REQ)
    service.approve(action.id, AP1, idempotency_key="k1")
    with pytest.raises(PolicyDenied, match="already approved"):
        service.approve(action.id, AP1, idempotency_key="k2")
    assert executor.runs == []


def test_approver_without_the_role_is_refused(service: ActionService) -> None:
    action = service.propose(RESTART, REQ)
    with pytest.raises(PolicyDenied, match="lacks the approver role"):
        service.approve(action.id, NOBODY, idempotency_key="k1")
    assert service.get(action.id).approvals == []


def test_expired_approval_is_refused(service: ActionService, store: SqlStore, clock: Clock,
                                     executor: RecordingExecutor) -> None:
    action = service.propose(RESTART, REQ)
    clock.advance(601)
    with pytest.raises(StateError, match="expired"):
        service.approve(action.id, AP1, idempotency_key="k1")
    assert service.get(action.id).state is ActionState.EXPIRED
    assert kinds(store, action.id)[-1] == "expired"
    with pytest.raises(StateError, match="expired"):
        service.approve(action.id, AP1, idempotency_key="k2")
    assert executor.runs == []


def test_approval_just_inside_the_ttl_is_accepted(service: ActionService, clock: Clock) -> None:
    action = service.propose(RESTART, REQ)
    clock.advance(599)
    assert service.approve(action.id, AP1, idempotency_key="k1").state is ActionState.SUCCEEDED


def test_expire_due_expires_only_overdue_open_actions(service: ActionService, clock: Clock) -> None:
    old = service.propose(RESTART, REQ)
    clock.advance(300)
    young = service.propose(SCALE_AB, REQ)
    clock.advance(301)
    assert [a.id for a in service.expire_due()] == [old.id]
    assert service.get(young.id).state is ActionState.PROPOSED
    assert service.expire_due() == []


def test_approval_after_policy_change_is_rechecked(service: ActionService, guard: TableGuard,
                                                   store: SqlStore, executor: RecordingExecutor) -> None:
    action = service.propose(RESTART, REQ)
    guard.rules["restart_deployment"] = ("deny", 0)
    with pytest.raises(PolicyDenied, match="now denies"):
        service.approve(action.id, AP1, idempotency_key="k1")
    assert service.get(action.id).state is ActionState.REJECTED
    assert kinds(store, action.id)[-2:] == ["decision", "rejected"]
    assert executor.runs == []


def test_policy_raising_the_approvals_needed_applies_to_open_actions(service: ActionService,
                                                                     guard: TableGuard,
                                                                     executor: RecordingExecutor) -> None:
    action = service.propose(RESTART, REQ)
    guard.rules["restart_deployment"] = ("needs_approval", 2)
    assert service.approve(action.id, AP1, idempotency_key="k1").state is ActionState.PROPOSED
    assert executor.runs == []
    assert service.approve(action.id, AP2, idempotency_key="k2").state is ActionState.SUCCEEDED


def test_second_action_on_a_locked_target_is_told_the_holder(store: SqlStore, guard: TableGuard,
                                                              clock: Clock) -> None:
    refusals: list[LockHeld] = []
    services: list[ActionService] = []
    second: list[str] = []

    def during_first_run(call: ToolCall, dry_run: bool) -> ExecutionResult:
        if call.tool == "restart_deployment":
            try:
                services[0].approve(second[0], AP2, idempotency_key="k2")
            except LockHeld as exc:
                refusals.append(exc)
        return ExecutionResult(ok=True)

    service = ActionService(store, guard, ExecutorRegistry([HandlerExecutor(during_first_run)]), clock=clock)
    services.append(service)
    first = service.propose(RESTART, REQ)
    second.append(service.propose(ToolCall(tool="scale_deployment", args={"namespace": "shop",
                                                                           "deployment": "checkout",
                                                                           "replicas": 3}), REQ).id)
    service.approve(first.id, AP1, idempotency_key="k1")
    assert len(refusals) == 1
    assert refusals[0].target == "shop/checkout" and first.id in refusals[0].holder
    assert service.get(second[0]).state is ActionState.APPROVED
    assert service.execute(second[0], AP2).state is ActionState.SUCCEEDED  # lock released after the first


def test_failed_execution_is_recorded_and_releases_the_lock(store: SqlStore, guard: TableGuard,
                                                            clock: Clock) -> None:
    def boom(call: ToolCall, dry_run: bool) -> ExecutionResult:
        raise RuntimeError("backend down")

    service = ActionService(store, guard, ExecutorRegistry([HandlerExecutor(boom)]), clock=clock)
    action = service.propose(RESTART, REQ)
    done = service.approve(action.id, AP1, idempotency_key="k1")
    assert done.state is ActionState.FAILED
    assert done.result is not None and "backend down" in done.result["error"]
    again = service.propose(RESTART, REQ)
    assert service.approve(again.id, AP1, idempotency_key="k2").state is ActionState.FAILED  # not LockHeld


class Crash(BaseException):
    """Stands in for the process dying while the executor runs."""


def crash_now(call: ToolCall, dry_run: bool) -> ExecutionResult:
    raise Crash


def test_crash_mid_execution_recovers_as_unknown_and_never_reruns(store: SqlStore, guard: TableGuard,
                                                                  clock: Clock) -> None:
    crashing = HandlerExecutor(crash_now)
    service = ActionService(store, guard, ExecutorRegistry([crashing]), clock=clock)
    action = service.propose(RESTART, REQ)
    with pytest.raises(Crash):
        service.approve(action.id, AP1, idempotency_key="k1")
    assert service.get(action.id).state is ActionState.EXECUTING
    recovered = service.recover()
    assert [a.id for a in recovered] == [action.id]
    assert service.get(action.id).state is ActionState.UNKNOWN
    assert service.approve(action.id, AP1, idempotency_key="k1").state is ActionState.UNKNOWN
    assert service.execute(action.id, AP1).state is ActionState.UNKNOWN
    assert len(crashing.real_runs) == 1
    assert kinds(store, action.id)[-2:] == ["executing", "unknown"]
    assert store.verify_audit().ok
    assert service.recover() == []


def test_unknown_action_is_resolved_by_a_human_without_running(store: SqlStore, guard: TableGuard,
                                                               clock: Clock) -> None:
    crashing = HandlerExecutor(crash_now)
    service = ActionService(store, guard, ExecutorRegistry([crashing]), clock=clock)
    action = service.propose(RESTART, REQ)
    with pytest.raises(StateError, match="not unknown"):
        service.resolve_unknown(action.id, AP1, succeeded=True, note="checked")
    with pytest.raises(Crash):
        service.approve(action.id, AP1, idempotency_key="k1")
    service.recover()
    with pytest.raises(UserInputError, match="note"):
        service.resolve_unknown(action.id, AP1, succeeded=True, note=" ")
    with pytest.raises(PolicyDenied):
        service.resolve_unknown(action.id, NOBODY, succeeded=True, note="looked")
    done = service.resolve_unknown(action.id, AP1, succeeded=True, note="pods restarted at 12:00")
    assert done.state is ActionState.SUCCEEDED and done.result == {
        "ok": True, "resolved_by": "ap1", "note": "pods restarted at 12:00"}
    assert len(crashing.real_runs) == 1
    assert kinds(store, action.id)[-1] == "resolved"


def test_recover_skips_executions_younger_than_the_cutoff(store: SqlStore, guard: TableGuard,
                                                          clock: Clock) -> None:
    service = ActionService(store, guard, ExecutorRegistry([HandlerExecutor(crash_now)]), clock=clock)
    action = service.propose(RESTART, REQ)
    with pytest.raises(Crash):
        service.approve(action.id, AP1, idempotency_key="k1")
    assert service.recover(older_than_seconds=60) == []
    clock.advance(61)
    assert [a.id for a in service.recover(older_than_seconds=60)] == [action.id]


def test_dry_run_changes_no_state(service: ActionService, store: SqlStore,
                                  executor: RecordingExecutor) -> None:
    action = service.propose(RESTART, REQ)
    result = service.dry_run(action.id, AP1)
    assert result.ok and result.dry_run
    assert service.get(action.id).state is ActionState.PROPOSED
    assert executor.real_runs == [] and len(executor.runs) == 1
    assert kinds(store, action.id)[-1] == "dry_run"


def test_reject_by_requester_and_refusals(service: ActionService, executor: RecordingExecutor) -> None:
    action = service.propose(RESTART, REQ)
    with pytest.raises(PolicyDenied):
        service.reject(action.id, NOBODY, "no")
    rejected = service.reject(action.id, REQ, "wrong deployment")
    assert rejected.state is ActionState.REJECTED
    with pytest.raises(StateError):
        service.reject(action.id, REQ)
    with pytest.raises(StateError):
        service.approve(action.id, AP1, idempotency_key="k1")
    assert executor.runs == []


def test_missing_executor_is_a_clear_error_and_changes_nothing(store: SqlStore, guard: TableGuard,
                                                               clock: Clock) -> None:
    only_logs = RecordingExecutor(tools=["get_logs"])
    service = ActionService(store, guard, ExecutorRegistry([only_logs]), clock=clock)
    action = service.propose(RESTART, REQ)
    with pytest.raises(ConfigError, match="no executor supports tool 'restart_deployment'"):
        service.approve(action.id, AP1, idempotency_key="k1")
    assert service.get(action.id).state is ActionState.APPROVED


def test_unknown_action_and_empty_key_are_user_errors(service: ActionService) -> None:
    with pytest.raises(UserInputError, match="no action"):
        service.approve("nope", AP1, idempotency_key="k")
    action = service.propose(RESTART, REQ)
    with pytest.raises(UserInputError, match="idempotency key"):
        service.approve(action.id, AP1, idempotency_key="")


def test_list_actions_gives_feedback_with_context(service: ActionService, store: SqlStore,
                                                  clock: Clock) -> None:
    start = clock()
    done = service.propose(RESTART, REQ, planner="llm", prompt_hash="p1")
    service.approve(done.id, AP1, idempotency_key="k1")
    clock.advance(10)
    open_one = service.propose(SCALE_AB, REQ, planner="runbook")
    listed = store.list_actions(since=start)
    assert [a.id for a in listed] == [done.id, open_one.id]
    assert listed[0].planner == "llm" and listed[0].approvals[0].approver == "ap1"
    assert listed[0].requester.name == "req" and listed[0].decision.outcome == "needs_approval"
    assert [a.id for a in store.list_actions(states=[ActionState.PROPOSED])] == [open_one.id]
    assert [a.id for a in store.list_actions(since=start + timedelta(seconds=5))] == [open_one.id]


def test_registry_names_the_fix() -> None:
    registry = ExecutorRegistry([RecordingExecutor(tools=["get_logs"])])
    with pytest.raises(ConfigError, match="registered: recording"):
        registry.for_tool("drain_node")
    with pytest.raises(ConfigError, match="already registered"):
        registry.register(RecordingExecutor())


# --------------------------------------------------------------------------- suggestions with their context

PLANTED_KEY = "AKIAQ3EGR7J2XKZ4PL5M"
INCIDENT = PlanRequest(
    text="checkout is failing",
    alert=Alert(labels={"alertname": "KubePodCrashLooping", "namespace": "shop"}),
    telemetry={"log_tail": [f"ERROR upload denied for {PLANTED_KEY}"], "restarts_15m": 7},
    principal=REQ,
)
GROUNDING = [Evidence(key="restarts_15m", value=7)]


def suggestion_of(*calls: ToolCall) -> Suggestion:
    return Suggestion(summary="restart checkout", planner="runbook", prompt_hash="p9",
                      calls=[ProposedCall(call=c.model_copy(update={"evidence": GROUNDING}),
                                          mutating=c.tool != "get_logs") for c in calls])


def test_propose_suggestion_links_every_call_to_its_context(service: ActionService, store: SqlStore,
                                                             executor: RecordingExecutor) -> None:
    drain = ToolCall(tool="drain_node", args={"node": "n1"})
    actions = service.propose_suggestion(INCIDENT, suggestion_of(LOGS, RESTART, drain), REQ)
    assert [a.call.tool for a in actions] == ["get_logs", "restart_deployment", "drain_node"]
    assert [a.state for a in actions] == [ActionState.SUCCEEDED, ActionState.PROPOSED, ActionState.REJECTED]
    assert [run.call.tool for run in executor.runs] == ["get_logs"]
    (sid,) = {a.suggestion_id for a in actions}
    assert sid and all(a.planner == "runbook" and a.prompt_hash == "p9" for a in actions)
    context = store.get_action(actions[1].id).context  # type: ignore[union-attr]
    assert context is not None and context == actions[1].context
    assert context["request"] == "checkout is failing" and context["telemetry"]["restarts_15m"] == 7
    assert context["alert"]["labels"]["alertname"] == "KubePodCrashLooping"
    assert context["principal"] == {"name": "req", "roles": ["approver"], "groups": []}
    assert context["suggestion"]["id"] == sid and context["suggestion"]["summary"] == "restart checkout"
    assert PLANTED_KEY not in str(context) and "[REDACTED:aws_access_key]" in str(context)
    suggested = store.audit_events()[0]
    assert (suggested.kind, suggested.action_id) == ("suggested", None)
    assert suggested.payload["suggestion_id"] == sid
    assert store.audit_events(action_id=actions[1].id)[0].payload["suggestion_id"] == sid


def test_propose_suggestion_requires_grounding(store: SqlStore, guard: TableGuard, clock: Clock) -> None:
    asked: list[bool] = []

    class GroundingGuard(TableGuard):
        def check(self, call: ToolCall, principal: Principal, *, inflight: Sequence[ToolCall] = (),
                  require_grounding: bool = False) -> Decision:
            asked.append(require_grounding)
            return super().check(call, principal, inflight=inflight)

    service = ActionService(store, GroundingGuard(), ExecutorRegistry([RecordingExecutor()]), clock=clock)
    restart, _scale = service.propose_suggestion(INCIDENT, suggestion_of(RESTART, SCALE_AB), REQ)
    typed = service.propose(SCALE_AB, REQ, require_grounding=False)
    assert asked == [True, True, False]
    service.approve(restart.id, AP1, idempotency_key="k1")
    service.approve(typed.id, AP1, idempotency_key="k2")
    # the approval and the start each re-check with what the proposal required
    assert asked[3:] == [True, True, False, False]


def test_propose_suggestion_can_leave_reads_unrun(service: ActionService,
                                                  executor: RecordingExecutor) -> None:
    (logs,) = service.propose_suggestion(INCIDENT, suggestion_of(LOGS), REQ, auto_execute=False)
    assert logs.state is ActionState.APPROVED and executor.runs == []


def test_propose_suggestion_read_on_a_locked_target_waits(service: ActionService, store: SqlStore,
                                                          executor: RecordingExecutor) -> None:
    with store.transaction() as tx:
        tx.acquire_lock("shop", "someone-else", "action x (ops)", 600)
    logs, restart = service.propose_suggestion(INCIDENT, suggestion_of(LOGS, RESTART), REQ)
    assert logs.state is ActionState.APPROVED and restart.state is ActionState.PROPOSED
    assert executor.runs == []


def test_record_suggestion_stores_only_redacted_text(service: ActionService, store: SqlStore) -> None:
    from sqlalchemy import select

    from copilot.store.models import suggestions

    sid = service.record_suggestion(INCIDENT, suggestion_of(RESTART))
    with store.engine.connect() as conn:
        row = conn.execute(select(suggestions).where(suggestions.c.id == sid)).one()
    assert row.planner == "runbook" and row.prompt_hash == "p9"
    assert PLANTED_KEY not in str(row.context) and row.context["request"] == "checkout is failing"
    assert store.list_actions() == []  # recording alone proposes nothing


# --------------------------------------------------------------------------- with the real guard and policy


def grounded(call: ToolCall) -> ToolCall:
    return call.model_copy(update={"evidence": GROUNDING})


@pytest.fixture()
def real_service(store: SqlStore, catalog: Catalog, repo_root: Path, executor: RecordingExecutor,
                 clock: Clock) -> ActionService:
    guard = Guard(catalog, load_policy(repo_root / "policy.yaml", catalog))
    return ActionService(store, guard, ExecutorRegistry([executor]), clock=clock)


def test_real_policy_requester_cannot_second_approve(real_service: ActionService,
                                                     executor: RecordingExecutor) -> None:
    action = real_service.propose(grounded(ROLLBACK), BOB)
    assert action.decision.approvals_required == 2
    real_service.approve(action.id, CAROL, idempotency_key="k1")
    with pytest.raises(PolicyDenied, match="requester"):
        real_service.approve(action.id, BOB, idempotency_key="k2")
    assert executor.runs == []


def test_real_policy_oncall_cannot_approve_high_risk(real_service: ActionService) -> None:
    action = real_service.propose(grounded(ROLLBACK), BOB)
    with pytest.raises(PolicyDenied, match="alice"):
        real_service.approve(action.id, ALICE, idempotency_key="k1")


def test_real_policy_change_is_rechecked_at_approval(real_service: ActionService, catalog: Catalog,
                                                     repo_root: Path, tmp_path: Path,
                                                     executor: RecordingExecutor) -> None:
    action = real_service.propose(grounded(RESTART), ALICE)
    assert action.decision.outcome == "needs_approval"
    policy_text = (repo_root / "policy.yaml").read_text()
    frozen = policy_text.replace("freeze:\n  enabled: false", "freeze:\n  enabled: true")
    assert "enabled: true" in frozen
    (tmp_path / "policy.yaml").write_text(frozen)
    real_service.guard = Guard(catalog, load_policy(tmp_path / "policy.yaml", catalog))
    with pytest.raises(PolicyDenied, match="now denies"):
        real_service.approve(action.id, BOB, idempotency_key="k1")
    assert real_service.get(action.id).state is ActionState.REJECTED
    assert executor.runs == []


def test_real_policy_viewer_reads_at_once(real_service: ActionService, executor: RecordingExecutor) -> None:
    assert real_service.propose(LOGS, DAVE).state is ActionState.SUCCEEDED
    assert len(executor.real_runs) == 1


# --------------------------------------------------------------------------- grounding (invariant 6)


def test_propose_requires_grounding_unless_the_caller_says_otherwise(real_service: ActionService,
                                                                     executor: RecordingExecutor) -> None:
    ungrounded = real_service.propose(RESTART, ALICE)
    assert ungrounded.state is ActionState.REJECTED
    assert any("ungrounded mutating call" in reason for reason in ungrounded.decision.reasons)
    typed = real_service.propose(RESTART, ALICE, require_grounding=False)  # a person typed it in
    assert typed.state is ActionState.PROPOSED
    assert real_service.approve(typed.id, BOB, idempotency_key="k1").state is ActionState.SUCCEEDED
    assert len(executor.real_runs) == 1


def test_approval_rechecks_grounding_of_a_stored_ungrounded_action(real_service: ActionService,
                                                                   store: SqlStore, clock: Clock,
                                                                   executor: RecordingExecutor) -> None:
    """An ungrounded mutating action that reached the store as proposed (a row written around
    propose, or from before grounding was required) is denied at approval, never run."""
    grounded_one = real_service.propose(grounded(RESTART), ALICE)
    slipped = grounded_one.model_copy(update={"id": "slipped", "call": RESTART})
    with store.transaction() as tx:
        tx.insert_action(slipped)
    with pytest.raises(PolicyDenied, match="ungrounded"):
        real_service.approve("slipped", BOB, idempotency_key="k1")
    assert real_service.get("slipped").state is ActionState.REJECTED
    assert executor.runs == []


def test_start_rechecks_the_guard_after_a_wait_on_the_lock(service: ActionService, guard: TableGuard,
                                                           store: SqlStore,
                                                           executor: RecordingExecutor) -> None:
    action = service.propose(RESTART, REQ)
    with store.transaction() as tx:
        tx.acquire_lock("shop/checkout", "someone-else", "action x (ops)", 600)
    with pytest.raises(LockHeld):
        service.approve(action.id, AP1, idempotency_key="k1")
    guard.rules["restart_deployment"] = ("deny", 0)  # e.g. a freeze began while it waited
    with store.transaction() as tx:
        tx.release_lock("shop/checkout", "someone-else")
    with pytest.raises(PolicyDenied, match="now denies"):
        service.execute(action.id, AP1)
    assert service.get(action.id).state is ActionState.REJECTED
    assert kinds(store, action.id)[-2:] == ["decision", "rejected"]
    assert executor.runs == []
