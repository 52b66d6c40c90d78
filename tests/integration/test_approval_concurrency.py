"""Exactly-once under concurrency and at-most-once across a crash, on SQLite and PostgreSQL.

- 50 concurrent approvals of one call give exactly one execution: threads on SQLite, processes
  (spawn, each with its own engine) on PostgreSQL.
- SIGKILL while the executor runs, then a restart: the action is ``unknown``, it is not run again,
  and the audit chain is intact and holds the ``executing`` record.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from copilot.domain import ActionState, Principal
from copilot.errors import CopilotError
from copilot.store import SqlStore
from tests.integration.test_store_support import is_postgres, store_url  # noqa: F401 - store_url: fixture
from tests.integration.test_store_workers import (
    REQUESTER,
    RESTART,
    approve_in_process,
    count_runs,
    make_service,
    propose_approve_and_hang,
)

N = 50
SPAWN = multiprocessing.get_context("spawn")


def approver(i: int) -> Principal:
    return Principal(name=f"ap{i}", roles=frozenset({"approver"}))


def key_for(i: int, keys: str) -> str:
    return "same-click" if keys == "same" else f"click-{i}"


def approve_in_threads(url: str, action_id: str, runs: Path, keys: str) -> list[tuple[str, str]]:
    stores = [SqlStore.open(url, run_migrations=False) for _ in range(N)]
    barrier = threading.Barrier(N, timeout=60)
    results: list[tuple[str, str]] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        service = make_service(stores[i], runs, delay_s=0.05)
        barrier.wait()
        try:
            done = service.approve(action_id, approver(i), idempotency_key=key_for(i, keys))
            outcome = ("ok", done.state.value)
        except CopilotError as exc:
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for store in stores:
        store.close()
    return results


def approve_in_processes(url: str, action_id: str, runs: Path, keys: str) -> list[tuple[str, str]]:
    start = SPAWN.Barrier(N + 1, timeout=900)  # spawning 50 interpreters is slow on a busy machine
    results: Any = SPAWN.Queue()
    procs = [SPAWN.Process(target=approve_in_process,
                           args=(url, action_id, f"ap{i}", key_for(i, keys), str(runs), start, results))
             for i in range(N)]
    for proc in procs:
        proc.start()
    start.wait()
    collected: list[tuple[str, str]] = []
    try:
        for _ in range(N):
            collected.append(results.get(timeout=300))
    except queue.Empty:
        pass
    for proc in procs:
        proc.join(timeout=60)
        if proc.is_alive():
            proc.kill()
    return collected


def assert_exactly_one_run(store: SqlStore, action_id: str, runs: Path,
                           results: list[tuple[str, str]]) -> None:
    assert len(results) == N
    assert all(kind == "ok" for kind, _ in results), [r for r in results if r[0] != "ok"][:3]
    assert count_runs(runs) == 1
    final = store.get_action(action_id)
    assert final is not None and final.state is ActionState.SUCCEEDED
    assert len(final.approvals) == 1
    kinds = [event.kind for event in store.audit_events(action_id=action_id)]
    assert kinds.count("executing") == 1 and kinds.count("result") == 1
    assert store.verify_audit().ok


@pytest.mark.parametrize("keys", ["distinct", "same"])
def test_fifty_concurrent_approvals_in_threads_execute_exactly_once(store_url: str, tmp_path: Path,  # noqa: F811
                                                                    keys: str) -> None:
    runs = tmp_path / "runs.log"
    store = SqlStore.open(store_url)
    try:
        action = make_service(store, runs).propose(RESTART, REQUESTER)
        results = approve_in_threads(store_url, action.id, runs, keys)
        assert_exactly_one_run(store, action.id, runs, results)
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)  # several replicas; SQLite: threads above
def test_fifty_concurrent_approvals_in_processes_execute_exactly_once(store_url: str,  # noqa: F811
                                                                      tmp_path: Path) -> None:
    assert is_postgres(store_url)
    runs = tmp_path / "runs.log"
    store = SqlStore.open(store_url)
    try:
        action = make_service(store, runs).propose(RESTART, REQUESTER)
        results = approve_in_processes(store_url, action.id, runs, "distinct")
        assert_exactly_one_run(store, action.id, runs, results)
    finally:
        store.close()


def wait_for(predicate: Any, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.05)


def test_sigkill_mid_execution_then_restart_never_runs_twice(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    runs, id_file = tmp_path / "runs.log", tmp_path / "action.id"
    store = SqlStore.open(store_url)
    try:
        worker = SPAWN.Process(target=propose_approve_and_hang, args=(store_url, str(runs), str(id_file)))
        worker.start()
        wait_for(lambda: count_runs(runs) == 1 or not worker.is_alive())
        assert worker.is_alive(), "the worker died before its executor ran"
        os.kill(worker.pid, signal.SIGKILL)  # type: ignore[arg-type]
        worker.join(timeout=30)
        action_id = id_file.read_text(encoding="utf-8")
        assert store.get_action(action_id).state is ActionState.EXECUTING  # type: ignore[union-attr]

        restarted = make_service(store, runs)  # a fresh process would build exactly this
        assert [a.id for a in restarted.recover()] == [action_id]
        assert store.get_action(action_id).state is ActionState.UNKNOWN  # type: ignore[union-attr]
        replay = restarted.approve(action_id, approver(1), idempotency_key="click-1")
        assert replay.state is ActionState.UNKNOWN
        assert restarted.execute(action_id, approver(2)).state is ActionState.UNKNOWN
        assert count_runs(runs) == 1

        kinds = [event.kind for event in store.audit_events(action_id=action_id)]
        assert kinds == ["proposed", "decision", "approval", "approved", "executing", "unknown"]
        assert store.verify_audit().ok
        assert restarted.recover() == []
    finally:
        store.close()
