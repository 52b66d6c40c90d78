"""Pieces the store / approval tests share with their worker processes: a table guard, a run-counting
executor and the process entry points. Module-level and free of pytest, so a ``spawn`` child imports
little; it holds no tests.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from copilot.approvals import ActionService
from copilot.domain import Decision, ExecutionResult, Principal, ToolCall
from copilot.errors import CopilotError
from copilot.execution import ExecutorRegistry
from copilot.store import SqlStore

REQUESTER = Principal(name="req", roles=frozenset({"approver"}))
RESTART = ToolCall(tool="restart_deployment", args={"namespace": "shop", "deployment": "checkout"})


class TableGuard:
    """A tiny guard: restart needs one approval, rollback two; approvers need the 'approver' role."""

    required = {"restart_deployment": 1, "rollback_deployment": 2}

    def check(self, call: ToolCall, principal: Principal, *, inflight: Sequence[ToolCall] = (),
              require_grounding: bool = False) -> Decision:
        needed = self.required.get(call.tool)
        if needed is None:
            return Decision(outcome="deny", reasons=(f"{call.tool} is not allowed",), tool=call.tool)
        target = f"{call.args.get('namespace')}/{call.args.get('deployment')}"
        return Decision(outcome="needs_approval", reasons=(f"needs {needed}",), tool=call.tool, mutating=True,
                        approvals_required=needed, target=target, ttl_seconds=600)

    def check_approver(self, call: ToolCall, decision: Decision, approver: Principal, requester: Principal,
                       prior_approvers: Sequence[str] = ()) -> list[str]:
        return [] if "approver" in approver.roles else [f"{approver.name} lacks the approver role"]


class FileCountingExecutor:
    """Appends one line per real run to a file, so runs can be counted across processes."""

    name = "file-counting"

    def __init__(self, path: Path, *, delay_s: float = 0.0, block_forever: bool = False) -> None:
        self.path = path
        self.delay_s = delay_s
        self.block_forever = block_forever

    def supports(self, tool: str) -> bool:
        return True

    def execute(self, call: ToolCall, *, dry_run: bool = False) -> ExecutionResult:
        if not dry_run:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(f"{os.getpid()} {call.tool}\n")
        while self.block_forever:
            time.sleep(3600)
        time.sleep(self.delay_s)
        return ExecutionResult(ok=True, dry_run=dry_run, output={"pid": os.getpid()})


def count_runs(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def make_service(store: SqlStore, runs_file: Path, **executor_options: Any) -> ActionService:
    return ActionService(store, TableGuard(), ExecutorRegistry([FileCountingExecutor(runs_file,
                                                                                     **executor_options)]))


# --------------------------------------------------------------------------- process workers


def approve_in_process(url: str, action_id: str, approver: str, key: str, runs_file: str,
                       start: Any, results: Any) -> None:
    """Open an own engine, wait for the start signal, approve once; report the state or the error."""
    store = SqlStore.open(url, run_migrations=False)
    try:
        service = make_service(store, Path(runs_file), delay_s=0.05)
        principal = Principal(name=approver, roles=frozenset({"approver"}))
        start.wait()
        try:
            results.put(("ok", service.approve(action_id, principal, idempotency_key=key).state.value))
        except CopilotError as exc:
            results.put(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        store.close()


def propose_approve_and_hang(url: str, runs_file: str, id_file: str) -> None:
    """Propose and approve a restart whose executor never returns (the test SIGKILLs this process)."""
    store = SqlStore.open(url, run_migrations=False)
    service = make_service(store, Path(runs_file), block_forever=True)
    action = service.propose(RESTART, REQUESTER)
    Path(id_file).write_text(action.id, encoding="utf-8")
    approver = Principal(name="ap1", roles=frozenset({"approver"}))
    service.approve(action.id, approver, idempotency_key="click-1")
