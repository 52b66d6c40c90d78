"""SqlStore on SQLite and PostgreSQL: migrations, actions, locks, the audit chain and `copilot audit`."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from copilot.cli import app
from copilot.domain import Action, ActionState, Decision, Principal, ToolCall
from copilot.errors import LockHeld, StateError, UserInputError
from copilot.store import SqlStore
from copilot.store.models import audit_log
from tests.integration.test_store_support import store, store_url  # noqa: F401 - fixtures

ALICE = Principal(name="alice", roles=frozenset({"oncall"}))
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def make_action(action_id: str = "a1", *, state: ActionState = ActionState.PROPOSED,
                created_at: datetime = NOW) -> Action:
    call = ToolCall(tool="restart_deployment", args={"namespace": "shop", "deployment": "checkout"})
    decision = Decision(outcome="needs_approval", reasons=("needs 1",), tool=call.tool, mutating=True,
                        approvals_required=1, target="shop/checkout")
    return Action(id=action_id, call=call, requester=ALICE, decision=decision, state=state,
                  created_at=created_at, expires_at=created_at + timedelta(minutes=15), planner="runbook",
                  prompt_hash="h1")


def insert_action(store: SqlStore, action: Action) -> None:  # noqa: F811
    with store.transaction() as tx:
        tx.insert_action(action)


def test_migrations_run_twice_and_keep_data(store_url: str) -> None:  # noqa: F811
    first = SqlStore.open(store_url)
    insert_action(first, make_action())
    first.close()
    again = SqlStore.open(store_url)
    try:
        assert again.get_action("a1") is not None
    finally:
        again.close()


def test_migrated_schema_matches_the_models(store: SqlStore) -> None:  # noqa: F811
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from copilot.store.models import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_action_round_trip(store: SqlStore) -> None:  # noqa: F811
    action = make_action()
    insert_action(store, action)
    loaded = store.get_action("a1")
    assert loaded == action
    with store.transaction() as tx:
        assert tx.set_state("a1", expected=[ActionState.PROPOSED], new=ActionState.REJECTED)
    assert store.get_action("a1").state is ActionState.REJECTED  # type: ignore[union-attr]
    assert store.get_action("missing") is None


def test_the_store_port_cannot_write_an_action_around_the_state_machine(store: SqlStore) -> None:  # noqa: F811
    from copilot.ports import Store

    assert not hasattr(Store, "save_action")
    store.save_action(make_action())  # test seeding: a new row only
    with pytest.raises(StateError, match="through the approval service"):
        store.save_action(make_action(state=ActionState.SUCCEEDED))
    assert store.get_action("a1").state is ActionState.PROPOSED  # type: ignore[union-attr]
    assert store.audit_events() == []


def test_list_actions_filters_by_time_and_state(store: SqlStore) -> None:  # noqa: F811
    insert_action(store, make_action("a1", created_at=NOW))
    insert_action(store, make_action("a2", state=ActionState.SUCCEEDED, created_at=NOW + timedelta(hours=1)))
    assert [a.id for a in store.list_actions()] == ["a1", "a2"]
    assert [a.id for a in store.list_actions(since=NOW + timedelta(minutes=30))] == ["a2"]
    assert [a.id for a in store.list_actions(states=[ActionState.PROPOSED])] == ["a1"]


def test_conditional_state_update_moves_once(store: SqlStore) -> None:  # noqa: F811
    insert_action(store, make_action(state=ActionState.APPROVED))
    with store.transaction() as tx:
        assert tx.set_state("a1", expected=[ActionState.APPROVED], new=ActionState.EXECUTING)
    with store.transaction() as tx:
        assert not tx.set_state("a1", expected=[ActionState.APPROVED], new=ActionState.EXECUTING)


def test_idempotency_key_is_unique(store: SqlStore) -> None:  # noqa: F811
    from copilot.domain import Approval

    insert_action(store, make_action())
    approval = Approval(action_id="a1", approver="bob", at=NOW, idempotency_key="k1")
    with store.transaction() as tx:
        tx.add_approval(approval)
        assert tx.find_approval("k1") == approval
    with pytest.raises(UserInputError, match="already used"), store.transaction() as tx:
        tx.add_approval(approval.model_copy(update={"approver": "carol"}))
    assert [a.approver for a in store.get_action("a1").approvals] == ["bob"]  # type: ignore[union-attr]


def test_target_lock_names_the_holder_and_expires(store: SqlStore) -> None:  # noqa: F811
    clock = [NOW]
    store.clock = lambda: clock[0]
    with store.transaction() as tx:
        tx.acquire_lock("shop/checkout", "a1", "action a1 (alice)", 60)
    with pytest.raises(LockHeld, match=r"action a1 \(alice\)"), store.transaction() as tx:
        tx.acquire_lock("shop/checkout", "a2", "action a2", 60)
    with store.transaction() as tx:
        tx.acquire_lock("shop/checkout", "a1", "action a1 (alice)", 60)  # the holder may renew
        tx.acquire_lock("shop/other", "a2", "action a2", 60)  # another target is free
    clock[0] = NOW + timedelta(seconds=61)
    with store.transaction() as tx:
        tx.acquire_lock("shop/checkout", "a3", "action a3", 60)  # lease ran out
        tx.release_lock("shop/checkout", "a3")
        tx.acquire_lock("shop/checkout", "a4", "action a4", 60)


def test_audit_append_and_verify(store: SqlStore) -> None:  # noqa: F811
    first = store.append_audit("proposed", principal="alice", action_id="a1", payload={"tool": "x", "n": 1})
    second = store.append_audit("approved", principal="bob", action_id="a1", payload={"ü": ["é"]})
    assert (first.seq, second.seq) == (1, 2) and second.prev_hash == first.hash
    assert [e.kind for e in store.audit_events()] == ["proposed", "approved"]
    assert store.audit_events()[1].payload == {"ü": ["é"]}
    assert store.verify_audit().ok


def test_audit_payloads_are_redacted_before_hashing(store: SqlStore) -> None:  # noqa: F811
    secret = "AKIAIOSFODNN7EXAMPLE"
    store.append_audit("proposed", principal="alice", action_id="a1",
                       payload={"args": {"note": f"key {secret}", "db_password": "hunter2-very-secret"}})
    stored = store.audit_records()[0].payload
    assert secret not in stored and "hunter2-very-secret" not in stored
    assert store.verify_audit().ok


def test_concurrent_audit_appends_never_fork(store_url: str) -> None:  # noqa: F811
    stores = [SqlStore.open(store_url, run_migrations=i == 0) for i in range(8)]
    barrier = threading.Barrier(len(stores))

    def append_many(s: SqlStore, worker: int) -> None:
        barrier.wait()
        for n in range(10):
            s.append_audit("note", principal=f"w{worker}", action_id=None, payload={"n": n})

    threads = [threading.Thread(target=append_many, args=(s, i)) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        report = stores[0].verify_audit()
        assert report.ok and report.count == 80
        assert [e.seq for e in stores[0].audit_events()] == list(range(1, 81))
    finally:
        for s in stores:
            s.close()


# --------------------------------------------------------------------------- copilot audit verify / export


def seed_chain(store: SqlStore, n: int = 5) -> None:  # noqa: F811
    for i in range(n):
        store.append_audit("note", principal="alice", action_id="a1", payload={"step": i, "text": "restart"})


def run_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, *args: str) -> Any:
    monkeypatch.setenv("COPILOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COPILOT_DATABASE_URL", url)
    return CliRunner().invoke(app, ["audit", *args])


def row(store: SqlStore, seq: int) -> dict[str, Any]:  # noqa: F811
    with store.engine.connect() as conn:
        return dict(conn.execute(select(audit_log).where(audit_log.c.seq == seq)).one()._asdict())


def write_row(store: SqlStore, seq: int, values: dict[str, Any]) -> None:  # noqa: F811
    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(**values))


def flip_one_byte(store: SqlStore) -> None:  # noqa: F811
    payload = row(store, 3)["payload"]
    index = payload.index("restart")
    write_row(store, 3, {"payload": payload[:index] + "R" + payload[index + 1:]})


def delete_one(store: SqlStore) -> None:  # noqa: F811
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))


def swap_two(store: SqlStore) -> None:  # noqa: F811
    two, three = row(store, 2), row(store, 3)
    write_row(store, 2, {k: v for k, v in three.items() if k != "seq"})
    write_row(store, 3, {k: v for k, v in two.items() if k != "seq"})


def delete_last(store: SqlStore) -> None:  # noqa: F811
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))


TAMPERS = [(flip_one_byte, "seq=3"), (delete_one, "seq=4"), (swap_two, "seq=2"), (delete_last, "seq=5")]


def test_audit_verify_cli_passes_on_an_intact_chain(store: SqlStore, store_url: str,  # noqa: F811
                                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seed_chain(store)
    result = run_cli(monkeypatch, tmp_path, store_url, "verify")
    assert result.exit_code == 0, result.output
    assert "intact: 5 records" in result.output


@pytest.mark.parametrize(("tamper", "named"), TAMPERS, ids=[t[0].__name__ for t in TAMPERS])
def test_audit_verify_cli_catches_tampering(store: SqlStore, store_url: str, tamper: Any,  # noqa: F811
                                            named: str, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    seed_chain(store)
    tamper(store)
    result = run_cli(monkeypatch, tmp_path, store_url, "verify")
    assert result.exit_code == 1
    assert f"broken at record {named}" in result.output


def test_audit_export_jsonl(store: SqlStore, store_url: str, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                            tmp_path: Path) -> None:
    seed_chain(store, 3)
    out = tmp_path / "audit.jsonl"
    result = run_cli(monkeypatch, tmp_path, store_url, "export", "--format", "jsonl", "--output", str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert lines[1]["prev_hash"] == lines[0]["hash"] and lines[0]["payload"]["step"] == 0
    stdout = run_cli(monkeypatch, tmp_path, store_url, "export")
    assert stdout.exit_code == 0 and len(stdout.output.splitlines()) == 3


def test_audit_verify_on_a_fresh_home_is_empty_and_ok(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.setenv("COPILOT_HOME", str(tmp_path / "fresh"))
    monkeypatch.delenv("COPILOT_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fresh" / "copilot.db").exists()


def test_bad_database_url_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = run_cli(monkeypatch, tmp_path, "mysql://nobody@localhost/x", "verify")
    assert result.exit_code == 2
    assert "not supported" in result.output
