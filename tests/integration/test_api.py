"""create_app wires the store and the action service, and recovers crashed executions at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api import create_app
from copilot.domain import ActionState, Evidence, Principal, ToolCall
from copilot.errors import ConfigError
from copilot.settings import Settings
from copilot.store import SqlStore


def _settings(home: Path, **extra: object) -> Settings:
    return Settings(home=home, **extra)  # type: ignore[arg-type]


def test_index_and_health(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path))) as client:
        assert client.get("/healthz").json()["ok"] is True
        page = client.get("/")
        assert page.status_code == 200
        assert "30 tools in the catalog" in page.text


def test_startup_marks_crashed_execution_unknown(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.ensure_home()
    from copilot.approvals import ActionService
    from copilot.compose import build_catalog, build_guard
    from copilot.execution import ExecutorRegistry
    from tests.fakes import RecordingExecutor

    store = SqlStore.from_settings(settings)
    guard = build_guard(settings, build_catalog(settings))
    service = ActionService(store, guard, ExecutorRegistry([RecordingExecutor()]))
    call = ToolCall(tool="restart_deployment", args={"namespace": "dev-shop", "deployment": "web"},
                    evidence=[Evidence(key="pods_crashlooping", value=["web-1"])])
    action = service.propose(call, Principal(name="alice", roles=frozenset({"oncall"})))
    with store.transaction() as tx:  # simulate a crash right after the executing commit
        tx.set_state(action.id, expected=[ActionState.PROPOSED], new=ActionState.EXECUTING)
    store.close()
    with TestClient(create_app(settings)) as client:
        assert "1 needing a human check" in client.get("/").text
    reopened = SqlStore.from_settings(settings)
    try:
        assert reopened.get_action(action.id).state is ActionState.UNKNOWN
    finally:
        reopened.close()


def test_broken_policy_stops_startup_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("roles: [\n")
    with pytest.raises(ConfigError) as info:
        create_app(_settings(tmp_path, policy_file=bad))
    assert "policy.yaml" in str(info.value)


def test_api_guard_knows_shipped_runbook_risks(tmp_path: Path) -> None:
    """A run_runbook of a `risk: high` runbook needs leads on the approval path too, not only in ask."""
    from copilot.compose import build_catalog, build_guard, shipped_runbook_risks
    from copilot.domain import Citation

    settings = _settings(tmp_path)
    catalog = build_catalog(settings)
    risks = shipped_runbook_risks(settings)
    assert risks["database-primary-failover"] == "high"
    call = ToolCall(tool="run_runbook", args={"runbook": "database-primary-failover", "target": "orders-db"},
                    citations=[Citation(chunk_id="c", doc_id="db-failover", source_path="x.md")])
    alice = Principal(name="alice", roles=frozenset({"oncall"}))
    with_map = build_guard(settings, catalog, risks).check(call, alice)
    assert with_map.risk == "high"
    assert with_map.approvals_required == 2
    assert "oncall" not in with_map.approver_roles
