"""Suggestions and migrations 0002/0003 on SQLite and PostgreSQL: contexts read back, redaction at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, select, text

from copilot.domain import (
    Action,
    ActionState,
    Alert,
    Decision,
    Evidence,
    PlanRequest,
    Principal,
    ProposedCall,
    Suggestion,
    ToolCall,
)
from copilot.store import SqlStore, make_engine
from copilot.store.db import MIGRATIONS_DIR, write_transaction
from copilot.store.models import actions
from tests.integration.test_store_support import store, store_url  # noqa: F401 - fixtures

SECRET = "AKIAQ3EGR7J2XKZ4PL5M"
ALICE = Principal(name="alice", roles=frozenset({"oncall"}))
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
RESTART = ToolCall(tool="restart_deployment", args={"namespace": "shop", "deployment": "checkout"})
REQUEST = PlanRequest(text=f"key {SECRET} leaked?", alert=Alert(labels={"alertname": "CheckoutDown"}),
                      telemetry={"log_tail": [f"denied {SECRET}"]}, principal=ALICE)
SUGGESTION = Suggestion(summary="restart", planner="llm", prompt_hash="p1", model="m",
                        calls=[ProposedCall(call=RESTART, mutating=True)])


def make_action(action_id: str, *, call: ToolCall = RESTART, suggestion_id: str | None = None) -> Action:
    decision = Decision(outcome="needs_approval", reasons=("needs 1",), tool=call.tool, mutating=True,
                        approvals_required=1, target="shop/checkout")
    return Action(id=action_id, call=call, requester=ALICE, decision=decision, created_at=NOW,
                  expires_at=NOW + timedelta(minutes=15), suggestion_id=suggestion_id)


def migrate_to(url: str, revision: str) -> None:
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with write_transaction(engine) as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def insert_0001_row(store: SqlStore, action: Action) -> None:  # noqa: F811
    """Write ``action`` with only the columns migration 0001 created."""
    with write_transaction(store.engine) as conn:
        conn.execute(actions.insert().values(
            id=action.id, tool=action.call.tool, target="shop/checkout", state=action.state.value,
            call=action.call.model_dump(mode="json"), requester=action.requester.model_dump(mode="json"),
            decision=action.decision.model_dump(mode="json"), created_at=action.created_at,
            updated_at=action.created_at, expires_at=action.expires_at, suggestion_id=action.suggestion_id))


def test_upgrade_from_0001_keeps_actions_and_adds_suggestions(store_url: str) -> None:  # noqa: F811
    migrate_to(store_url, "0001")
    old = SqlStore.open(store_url, run_migrations=False)
    try:
        assert "suggestions" not in inspect(old.engine).get_table_names()
        insert_0001_row(old, make_action("a1", suggestion_id="from-before"))
    finally:
        old.close()
    upgraded = SqlStore.open(store_url)
    try:
        assert "suggestions" in inspect(upgraded.engine).get_table_names()
        kept = upgraded.get_action("a1")
        assert kept is not None and kept.suggestion_id == "from-before" and kept.context is None
        with upgraded.transaction() as tx:
            assert tx.grounding_required("a1")  # 0003: rows from before stay on the safe side
        with upgraded.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    finally:
        upgraded.close()


def test_grounding_required_is_stored_per_action(store: SqlStore) -> None:  # noqa: F811
    with store.transaction() as tx:
        tx.insert_action(make_action("typed"), grounding_required=False)
        tx.insert_action(make_action("planned"))
    with store.transaction() as tx:
        assert (tx.grounding_required("typed"), tx.grounding_required("planned")) == (False, True)
        assert tx.grounding_required("missing")


def test_context_is_read_back_by_every_reader(store: SqlStore) -> None:  # noqa: F811
    with store.transaction() as tx:
        stored = tx.insert_suggestion("s1", REQUEST, SUGGESTION)
        tx.insert_action(make_action("a1"), suggestion_id="s1")
        tx.insert_action(make_action("a2", suggestion_id="never-recorded"))
    assert stored["suggestion"] == {
        "id": "s1", "planner": "llm", "model": "m", "prompt_hash": "p1", "summary": "restart",
        "confidence": 0.0, "notes": [], "dropped": [],
        "calls": [{"tool": "restart_deployment", "args": RESTART.args, "mutating": True, "outcome": None,
                   "reasons": [], "source": "runbook", "grounded": False}],
    }
    assert stored["alert"] == {"status": "firing", "labels": {"alertname": "CheckoutDown"}, "annotations": {}}
    assert SECRET not in str(stored)
    one = store.get_action("a1")
    assert one is not None and one.suggestion_id == "s1" and one.context == stored
    listed = {a.id: a for a in store.list_actions()}
    assert listed["a1"].context == stored and listed["a2"].context is None
    with store.transaction() as tx:
        locked = tx.lock_action("a1")
        assert locked is not None and locked.context == stored
        assert [a.context for a in tx.actions_in([ActionState.PROPOSED])] == [stored, None]


def test_action_rows_redact_evidence_rationale_and_result_but_not_args(store: SqlStore) -> None:  # noqa: F811
    noisy = RESTART.model_copy(update={"evidence": [Evidence(key="log", value=f"denied {SECRET}")],
                                       "rationale": f"the log shows {SECRET}"})
    with store.transaction() as tx:
        tx.insert_action(make_action("a1", call=noisy).model_copy(update={"result": {"out": f"x {SECRET}"}}))
    with store.transaction() as tx:
        tx.set_state("a1", expected=[ActionState.PROPOSED], new=ActionState.FAILED,
                     result={"ok": False, "output": {"log": [f"again {SECRET}"]}})
    with store.engine.connect() as conn:
        row = conn.execute(select(actions.c.call, actions.c.result).where(actions.c.id == "a1")).one()
    assert SECRET not in str(row.call) and SECRET not in str(row.result)
    assert row.call["args"] == RESTART.args
    assert "[REDACTED:aws_access_key]" in row.call["evidence"][0]["value"]
