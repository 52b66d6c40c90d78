"""Review fixes for the approval service and the store, each on SQLite and PostgreSQL.

- Parallel approvals cannot both pass the blast-radius limit: reading the in-flight calls and the
  transition are serialised, and the start re-checks the guard against what is in flight then.
- Dry runs: only open, non-denied actions, only for someone the guard lets request the call; a
  backend without a dry run answers so and runs nothing.
- Approve pressed on an already approved action starts it only for someone who may approve it.
- ``audit verify`` reads head and log from one snapshot: a concurrent append is no tamper alarm.
- A missing chain head is a FAIL naming it; ``--expect-head SEQ:HASH`` catches a truncated tail.
- ``audit export --output`` to an unwritable path is one clear line.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from typer.testing import CliRunner

from copilot.approvals import ActionService
from copilot.catalog import Catalog
from copilot.cli import app
from copilot.domain import ActionState, Decision, Evidence, ExecutionResult, Principal, ToolCall
from copilot.errors import LockHeld, PolicyDenied, StateError
from copilot.execution import ExecutorRegistry, RecordingExecutor, lock_target
from copilot.guard import Guard
from copilot.policy import load_policy
from copilot.store import SqlStore
from tests.integration.test_store_support import store, store_url  # noqa: F401 - fixtures

BOB = Principal(name="bob", roles=frozenset({"sre-lead"}))
CAROL = Principal(name="carol", roles=frozenset({"admin"}))
ERIN = Principal(name="erin", roles=frozenset({"sre-lead"}))
DAVE = Principal(name="dave", roles=frozenset({"viewer"}))
ALICE = Principal(name="alice", roles=frozenset({"oncall"}))
NODE_DOWN = [Evidence(key="node_ready", value=0)]


def drain(node: str) -> ToolCall:
    return ToolCall(tool="drain_node", args={"node": node}, evidence=NODE_DOWN)


def key() -> str:
    return uuid.uuid4().hex


class MeetingGuard(Guard):
    """The real guard, but while ``meeting`` is set every check waits (up to a second) for a second
    check to arrive: two approvals that can both read the in-flight calls do so at the same time."""

    def __init__(self, catalog: Catalog, policy: Any) -> None:
        super().__init__(catalog, policy)
        self.meeting = False
        self._barrier = threading.Barrier(2, timeout=1.0)

    def check(self, call: ToolCall, principal: Principal, *, inflight: Sequence[ToolCall] = (),
              require_grounding: bool = False) -> Decision:
        decision = super().check(call, principal, inflight=inflight, require_grounding=require_grounding)
        if self.meeting:
            try:
                self._barrier.wait()
            except threading.BrokenBarrierError:
                pass  # the other approval is serialised behind this one
        return decision


class OverlapExecutor:
    """Takes a while per run and records the most runs it saw at once."""

    name = "overlap"

    def __init__(self) -> None:
        self.runs: list[ToolCall] = []
        self.active = self.peak = 0
        self._lock = threading.Lock()

    def supports(self, tool: str) -> bool:
        return True

    def execute(self, call: ToolCall, *, dry_run: bool = False) -> ExecutionResult:
        with self._lock:
            self.runs.append(call)
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.3)
        with self._lock:
            self.active -= 1
        return ExecutionResult(ok=True, dry_run=dry_run)


def restart(deployment: str) -> ToolCall:
    return ToolCall(tool="restart_deployment", args={"namespace": "shop", "deployment": deployment},
                    evidence=NODE_DOWN)


def kinds_and_principals(store: SqlStore, action_id: str) -> list[tuple[str, str | None]]:  # noqa: F811
    return [(e.kind, e.principal) for e in store.audit_events(action_id=action_id)]


@pytest.fixture()
def meeting_guard(catalog: Catalog, repo_root: Path) -> MeetingGuard:
    return MeetingGuard(catalog, load_policy(repo_root / "policy.yaml", catalog))


def run_audit_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, *args: str) -> Any:
    monkeypatch.setenv("COPILOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COPILOT_DATABASE_URL", url)
    return CliRunner().invoke(app, ["audit", *args])


def seed(store: SqlStore, n: int) -> None:  # noqa: F811
    for i in range(n):
        store.append_audit("note", principal="alice", action_id="a1", payload={"step": i})


# --------------------------------------------------------------------------- verify under concurrent writers


def test_verify_reads_head_and_log_from_one_snapshot(store: SqlStore, store_url: str) -> None:  # noqa: F811
    """An append that commits between verify's head read and its log read is no tamper alarm."""
    seed(store, 3)
    writer = SqlStore.open(store_url, run_migrations=False)
    appended: list[int] = []

    def append_after_head_read(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if not appended and "audit_head" in statement and "FOR UPDATE" not in statement.upper():
            appended.append(writer.append_audit("note", principal="w", action_id=None, payload={}).seq)

    event.listen(store.engine, "after_cursor_execute", append_after_head_read)
    try:
        report = store.verify_audit()
    finally:
        event.remove(store.engine, "after_cursor_execute", append_after_head_read)
        writer.close()
    assert appended == [4]
    assert report.ok, report.describe()
    assert store.verify_audit().count == 4


# --------------------------------------------------------------------------- a missing head, a cut tail


def test_verify_fails_clearly_when_the_head_row_is_gone(store: SqlStore, store_url: str,  # noqa: F811
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    seed(store, 2)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    report = store.verify_audit()
    assert not report.ok and "head row" in report.problem
    result = run_audit_cli(monkeypatch, tmp_path, store_url, "verify")
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "audit_head" in result.output
    assert "Traceback" not in result.output


def cut_tail_and_rewind_head(store: SqlStore) -> None:  # noqa: F811
    with store.engine.begin() as conn:
        kept = conn.execute(text("SELECT seq, hash FROM audit_log WHERE seq = 3")).one()
        conn.execute(text("DELETE FROM audit_log WHERE seq > 3"))
        conn.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash"),
                     {"seq": kept.seq, "hash": kept.hash})


def test_expect_head_catches_a_cut_tail_with_a_rewound_head(store: SqlStore, store_url: str,  # noqa: F811
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    seed(store, 5)
    first = run_audit_cli(monkeypatch, tmp_path, store_url, "verify")
    assert first.exit_code == 0, first.output
    head = store.verify_audit().head
    assert head is not None and head.seq == 5 and f"head {head.seq}:{head.hash}" in first.output
    seed(store, 1)  # the log grows: the old head still verifies
    grown = run_audit_cli(monkeypatch, tmp_path, store_url, "verify", "--expect-head", str(head))
    assert grown.exit_code == 0, grown.output

    cut_tail_and_rewind_head(store)
    plain = run_audit_cli(monkeypatch, tmp_path, store_url, "verify")
    assert plain.exit_code == 0  # the shorter chain is self-consistent: only the anchor can tell
    anchored = run_audit_cli(monkeypatch, tmp_path, store_url, "verify", "--expect-head", str(head))
    assert anchored.exit_code == 1, anchored.output
    assert "broken at record seq=5" in anchored.output and "deleted from the end" in anchored.output


def test_expect_head_catches_a_rewritten_record(store: SqlStore, store_url: str,  # noqa: F811
                                                monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seed(store, 3)
    result = run_audit_cli(monkeypatch, tmp_path, store_url, "verify", "--expect-head", "2:" + "ab" * 32)
    assert result.exit_code == 1 and "no longer has the hash" in result.output


@pytest.mark.parametrize("anchor", ["5", "x:abc", "5:" + "g" * 64, "-1:" + "a" * 64])
def test_expect_head_must_be_seq_colon_hash(anchor: str, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'copilot.db'}"
    result = run_audit_cli(monkeypatch, tmp_path, url, "verify", "--expect-head", anchor)
    assert result.exit_code == 2 and "SEQ:HASH" in result.output


def test_export_to_an_unwritable_path_is_one_clear_line(store: SqlStore, store_url: str,  # noqa: F811
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    seed(store, 1)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    inside_a_file = str(blocker / "audit.jsonl")
    result = run_audit_cli(monkeypatch, tmp_path, store_url, "export", "--output", inside_a_file)
    assert result.exit_code == 2, result.output
    assert "cannot write the audit export" in result.output and "--output" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an OSError


# --------------------------------------------------------------------- blast radius under parallel approvals


def test_parallel_final_approvals_of_two_drains_run_one(store: SqlStore,  # noqa: F811
                                                        meeting_guard: MeetingGuard) -> None:
    """Two staging drains, each one approval short; their final approvals arrive together. Only one
    drain may run: the other is denied by the blast-radius limit (repro: /tmp/review/pgrace2.py)."""
    executor = OverlapExecutor()
    service = ActionService(store, meeting_guard, ExecutorRegistry([executor]))
    first, second = (service.propose(drain(node), BOB) for node in ("staging-n1", "staging-n2"))
    for action in (first, second):
        assert service.approve(action.id, CAROL, idempotency_key=key()).state is ActionState.PROPOSED
    meeting_guard.meeting = True
    outcomes: dict[str, str] = {}

    def final_approval(action_id: str) -> None:
        try:
            outcomes[action_id] = service.approve(action_id, ERIN, idempotency_key=key()).state.value
        except PolicyDenied as exc:
            outcomes[action_id] = f"denied: {exc}"

    threads = [threading.Thread(target=final_approval, args=(a.id,)) for a in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(executor.runs) == 1 and executor.peak == 1, outcomes
    assert sorted(o.split(":")[0] for o in outcomes.values()) == ["denied", "succeeded"]
    assert any("blast radius" in o for o in outcomes.values())
    assert store.verify_audit().ok


def test_an_approved_drain_does_not_start_while_another_is_executing(store: SqlStore,  # noqa: F811
                                                                     meeting_guard: MeetingGuard) -> None:
    """The start re-checks the guard with the calls in flight at that moment."""
    executor = OverlapExecutor()
    service = ActionService(store, meeting_guard, ExecutorRegistry([executor]))
    waiting, other = (service.propose(drain(node), BOB) for node in ("staging-n1", "staging-n2"))
    service.approve(waiting.id, CAROL, idempotency_key=key())
    with store.transaction() as tx:
        tx.acquire_lock(lock_target(waiting), "someone-else", "a maintenance script", 600)
    with pytest.raises(LockHeld):
        service.approve(waiting.id, ERIN, idempotency_key=key())
    assert service.get(waiting.id).state is ActionState.APPROVED
    with store.transaction() as tx:  # another replica started it meanwhile
        assert tx.set_state(other.id, expected=[ActionState.PROPOSED], new=ActionState.EXECUTING)
        tx.release_lock(lock_target(waiting), "someone-else")
    with pytest.raises(PolicyDenied, match="blast radius"):
        service.execute(waiting.id, ERIN)
    assert service.get(waiting.id).state is ActionState.REJECTED
    assert executor.runs == []
    kinds = [e.kind for e in store.audit_events(action_id=waiting.id)]
    assert kinds[-2:] == ["decision", "rejected"]


# --------------------------------------------------------------------------- dry runs


@pytest.fixture()
def recorder() -> RecordingExecutor:
    return RecordingExecutor()


@pytest.fixture()
def service(store: SqlStore, meeting_guard: MeetingGuard,  # noqa: F811
            recorder: RecordingExecutor) -> ActionService:
    return ActionService(store, meeting_guard, ExecutorRegistry([recorder]))


def test_dry_run_of_a_guard_denied_action_reaches_no_executor(service: ActionService, store: SqlStore,  # noqa: F811
                                                              recorder: RecordingExecutor) -> None:
    denied = service.propose(ToolCall(tool="delete_pod", args={"namespace": "kube-system", "pod": "etcd-0"},
                                      evidence=NODE_DOWN), ALICE)
    assert denied.state is ActionState.REJECTED
    for who in (DAVE, ALICE, CAROL):
        with pytest.raises(StateError, match="only proposed or approved"):
            service.dry_run(denied.id, who)
    assert recorder.runs == []
    assert kinds_and_principals(store, denied.id)[-1] == ("dry_run_refused", "carol")


def test_dry_run_needs_request_permission_for_the_call(service: ActionService, store: SqlStore,  # noqa: F811
                                                       recorder: RecordingExecutor) -> None:
    action = service.propose(restart("checkout"), ALICE)
    with pytest.raises(PolicyDenied, match="dave cannot dry-run restart_deployment"):
        service.dry_run(action.id, DAVE)
    assert recorder.runs == []
    result = service.dry_run(action.id, ALICE)
    assert result.ok and result.dry_run and [r.dry_run for r in recorder.runs] == [True]
    assert [k for k, _ in kinds_and_principals(store, action.id)][-2:] == ["dry_run_refused", "dry_run"]
    service.approve(action.id, BOB, idempotency_key=key())
    with pytest.raises(StateError, match="succeeded"):
        service.dry_run(action.id, BOB)  # finished: nothing left to dry-run
    assert len(recorder.runs) == 2 and len(recorder.real_runs) == 1


def test_backend_without_a_dry_run_says_so_and_runs_nothing(store: SqlStore,  # noqa: F811
                                                             meeting_guard: MeetingGuard) -> None:
    backend = RecordingExecutor(supports_dry_run=False)
    service = ActionService(store, meeting_guard, ExecutorRegistry([backend]))
    action = service.propose(restart("checkout"), ALICE)
    result = service.dry_run(action.id, ALICE)
    assert (result.ok, result.dry_run, result.error) == (False, True, "dry run not supported")
    assert backend.runs == []
    assert service.get(action.id).state is ActionState.PROPOSED


# --------------------------------------------------------------------------- Approve on an approved action


def test_approve_on_an_approved_action_starts_it_only_for_an_approver(service: ActionService,  # noqa: F811
                                                                       store: SqlStore,  # noqa: F811
                                                                       recorder: RecordingExecutor) -> None:
    """It waited on a held lock; once free, a viewer's click runs nothing, an approver's starts it."""
    action = service.propose(restart("cart"), ALICE)
    with store.transaction() as tx:
        tx.acquire_lock(lock_target(action), "other", "a deploy", 600)
    with pytest.raises(LockHeld):
        service.approve(action.id, BOB, idempotency_key=key())
    with store.transaction() as tx:
        tx.release_lock(lock_target(action), "other")
    with pytest.raises(PolicyDenied, match="dave cannot start this approved action"):
        service.approve(action.id, DAVE, idempotency_key=key())
    assert service.get(action.id).state is ActionState.APPROVED and recorder.runs == []
    assert service.approve(action.id, ERIN, idempotency_key=key()).state is ActionState.SUCCEEDED
    trail = kinds_and_principals(store, action.id)
    assert ("run_refused", "dave") in trail
    assert trail[-3:] == [("run_requested", "erin"), ("executing", "erin"), ("result", "erin")]
    assert len(recorder.real_runs) == 1 and len(service.get(action.id).approvals) == 1


def test_an_action_stored_approved_without_approvals_never_runs(service: ActionService,  # noqa: F811
                                                                store: SqlStore,  # noqa: F811
                                                                recorder: RecordingExecutor) -> None:
    proposed = service.propose(restart("checkout"), ALICE)
    store.save_action(proposed.model_copy(update={"id": "forged", "state": ActionState.APPROVED}))
    with pytest.raises(StateError, match="0 of the 1 approvals"):
        service.execute("forged", ALICE)
    assert service.get("forged").state is ActionState.APPROVED and recorder.runs == []
