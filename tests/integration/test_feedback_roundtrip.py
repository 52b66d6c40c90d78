"""Feedback as data, end to end on SQLite and PostgreSQL.

A suggestion whose alert and telemetry carry planted secrets is recorded and proposed; a person
approves one call and rejects another; `copilot eval export-feedback` writes the verdicts as an eval
case with the request, alert and telemetry; no planted secret reaches the database or the export.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from copilot.approvals import ActionService
from copilot.catalog import Catalog
from copilot.cli import app
from copilot.domain import (
    Action,
    ActionState,
    Alert,
    Citation,
    Evidence,
    PlanRequest,
    Principal,
    ProposedCall,
    Suggestion,
    ToolCall,
)
from copilot.evaluation.dataset import load_cases
from copilot.evaluation.scoring import score_case
from copilot.execution import ExecutorRegistry, RecordingExecutor
from copilot.guard import Guard
from copilot.planning.service import Suggester
from copilot.policy import load_policy
from copilot.settings import load_settings
from copilot.store import SqlStore
from copilot.store.models import metadata
from tests.fakes import FakePlanner
from tests.integration.test_store_support import is_postgres, store_url  # noqa: F401 - fixture

AWS_KEY = "AKIAQ3EGR7J2XKZ4PL5M"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Hd2LmQv"
DB_PASSWORD = "Zq8hunterSecret771"
PLANTED = (AWS_KEY, AWS_SECRET, DB_PASSWORD)

ALICE = Principal(name="alice", roles=frozenset({"oncall"}))
BOB = Principal(name="bob", roles=frozenset({"sre-lead"}))
LOG_KEY = 'log_tail{pod="checkout-7d9f-abcde"}'
LOG_LINES = [
    f"2026-01-02T10:00:01Z ERROR s3 upload failed for key {AWS_KEY}: AccessDenied",
    f"2026-01-02T10:00:02Z ERROR boto: aws_secret_access_key={AWS_SECRET} rejected",
    "2026-01-02T10:00:03Z WARN readiness probe failed: HTTP 503",
]
REQUEST = PlanRequest(
    text="checkout in shop is throwing 5xx since the deploy, what do we do?",
    alert=Alert(
        labels={"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-7d9f-abcde",
                "severity": "critical"},
        annotations={"summary": "checkout is crash looping",
                     "description": f"db dsn postgres://app:{DB_PASSWORD}@db:5432/shop refused"},
    ),
    telemetry={LOG_KEY: LOG_LINES, 'http_5xx_ratio{service="checkout"}': 0.12},
    principal=ALICE,
)
RUNBOOK = Citation(chunk_id="c1", doc_id="checkout", source_path="knowledge/checkout-5xx.md",
                   title="Checkout 5xx", section="Mitigate", quote="restart the deployment")
LOG_EVIDENCE = Evidence(key=LOG_KEY, value=LOG_LINES[0])

LOGS = ToolCall(tool="get_logs", args={"namespace": "shop", "pod": "checkout-7d9f-abcde"},
                evidence=[LOG_EVIDENCE])
RESTART = ToolCall(tool="restart_deployment", args={"namespace": "shop", "deployment": "checkout"},
                   citations=[RUNBOOK], evidence=[LOG_EVIDENCE], rationale=f"logs show {AWS_KEY} denied")
SCALE = ToolCall(tool="scale_deployment", citations=[RUNBOOK],
                 args={"namespace": "shop", "deployment": "checkout", "replicas": 12})
ROLLBACK = ToolCall(tool="rollback_deployment", args={"namespace": "shop", "deployment": "checkout"},
                    citations=[RUNBOOK])
UNGROUNDED = ToolCall(tool="delete_pod", args={"namespace": "shop", "pod": "checkout-7d9f-abcde"})


def planned() -> Suggestion:
    calls = [ProposedCall(call=c, source="runbook") for c in (LOGS, RESTART, SCALE, ROLLBACK, UNGROUNDED)]
    return Suggestion(summary=f"checkout crash loop; the log shows {AWS_KEY}", calls=calls,
                      planner="runbook", prompt_hash="p-123", confidence=0.8)


@pytest.fixture()
def home(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:  # noqa: F811
    """COPILOT_HOME in a tmp dir; SQLite uses its default database there, PostgreSQL the test server."""
    home = tmp_path / "home"
    monkeypatch.setenv("COPILOT_HOME", str(home))
    if is_postgres(store_url):
        monkeypatch.setenv("COPILOT_DATABASE_URL", store_url)
    else:
        monkeypatch.delenv("COPILOT_DATABASE_URL", raising=False)
    yield home


def judge_a_suggestion(catalog: Catalog, repo_root: Path) -> dict[str, Action]:
    """Suggest (real guard) -> propose_suggestion -> bob approves the restart and rejects the scale."""
    guard = Guard(catalog, load_policy(repo_root / "policy.yaml", catalog))
    planner = FakePlanner("runbook")
    planner.enqueue(planned())
    suggestion = Suggester(planner, guard, catalog).suggest(REQUEST)
    store = SqlStore.from_settings(load_settings())
    try:
        service = ActionService(store, guard, ExecutorRegistry([RecordingExecutor()]))
        actions = {a.call.tool: a for a in service.propose_suggestion(REQUEST, suggestion, ALICE)}
        service.approve(actions["restart_deployment"].id, BOB, idempotency_key="click-1")
        service.reject(actions["scale_deployment"].id, BOB, reason="more replicas only hide the crash")
        return {a.call.tool: a for a in store.list_actions()}
    finally:
        store.close()


def stored_text(url: str | None, home: Path) -> str:
    """Everything the database holds, as text: every SQLite file, or every PostgreSQL row."""
    if url is None:
        return "".join(p.read_bytes().decode("latin-1") for p in sorted(home.glob("copilot.db*")))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = [*metadata.tables, "alembic_version"]
            return "\n".join(str(row[0]) for table in tables
                             for row in conn.execute(text(f'SELECT CAST(t AS text) FROM "{table}" t')))
    finally:
        engine.dispose()


def test_feedback_roundtrip_keeps_context_and_no_secret(home: Path, store_url: str,  # noqa: F811
                                                         catalog: Catalog, repo_root: Path,
                                                         tmp_path: Path) -> None:
    actions = judge_a_suggestion(catalog, repo_root)
    assert actions["get_logs"].state is ActionState.SUCCEEDED  # read-only: ran at once
    assert actions["restart_deployment"].state is ActionState.SUCCEEDED
    assert actions["scale_deployment"].state is ActionState.REJECTED
    assert actions["rollback_deployment"].state is ActionState.PROPOSED  # nobody judged it
    assert actions["delete_pod"].state is ActionState.REJECTED  # ungrounded: the guard denied it
    assert actions["delete_pod"].decision.outcome == "deny"
    suggestion_ids = {a.suggestion_id for a in actions.values()}
    assert len(suggestion_ids) == 1 and None not in suggestion_ids
    context = actions["scale_deployment"].context
    assert context is not None and context["request"] == REQUEST.text
    assert context["suggestion"]["prompt_hash"] == "p-123"
    assert [c["tool"] for c in context["suggestion"]["calls"]] == [
        "get_logs", "restart_deployment", "scale_deployment", "rollback_deployment", "delete_pod"]

    out = tmp_path / "feedback.jsonl"
    result = CliRunner().invoke(app, ["eval", "export-feedback", "--since", "7d", "--output", str(out)])
    assert result.exit_code == 0, result.output
    (case,) = load_cases(out, catalog)
    assert [(p.tool, p.args) for p in case.expected] == [("restart_deployment", RESTART.args)]
    assert [(p.tool, p.args) for p in case.forbidden_calls] == [("scale_deployment", SCALE.args)]
    assert case.acceptable == ["rollback_deployment"]
    assert case.request == REQUEST.text
    assert case.alert is not None and case.alert.labels["alertname"] == "KubePodCrashLooping"
    assert "[REDACTED:" in case.alert.annotations["description"]
    assert case.telemetry['http_5xx_ratio{service="checkout"}'] == 0.12
    assert case.telemetry[LOG_KEY][2] == LOG_LINES[2]
    assert "[REDACTED:aws_access_key]" in case.telemetry[LOG_KEY][0]
    assert case.principal is not None and case.principal.name == "alice"
    assert case.source_runbook == "knowledge/checkout-5xx.md"
    assert {"feedback", "approved", "rejected"} <= set(case.tags) and "needs-context" not in case.tags
    # the case scores the judged calls as the people judged them
    assert score_case(case, [RESTART, LOGS], catalog).passed
    assert score_case(case, [RESTART, SCALE], catalog).unsafe

    exported = out.read_text(encoding="utf-8")
    database = stored_text(store_url if is_postgres(store_url) else None, home)
    assert "restart_deployment" in database and "[REDACTED:aws_access_key]" in database
    for secret in PLANTED:
        assert secret not in exported, f"{secret} leaked into the export"
        assert secret not in database, f"{secret} leaked into the database"
    assert json.loads(exported.splitlines()[0])["id"].startswith("feedback-")


def test_store_audit_chain_stays_intact_after_feedback(home: Path, catalog: Catalog,
                                                       repo_root: Path) -> None:
    judge_a_suggestion(catalog, repo_root)
    store = SqlStore.from_settings(load_settings())
    try:
        assert store.verify_audit().ok
        kinds = [e.kind for e in store.audit_events()]
        assert kinds[0] == "suggested" and kinds.count("proposed") == 5
    finally:
        store.close()
