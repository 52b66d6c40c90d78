"""Review fixes that live in the composition and settings layers (guard and policy fixes are tested in
test_guard.py / test_policy.py, redaction in test_redaction.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from copilot.catalog import Catalog
from copilot.compose import build_guard, build_suggester, runbook_risk_map
from copilot.domain import Principal, RunbookDoc, ToolCall
from copilot.settings import Settings

ONCALL = Principal(name="olga", roles=frozenset({"oncall"}))
FAILOVER = RunbookDoc(
    doc_id="database-primary-failover",
    source_path="knowledge/database-primary-failover.md",
    title="PostgreSQL primary down — failover with Patroni",
    risk="high",
)


def test_runbook_risk_map_names_each_runbook_every_way() -> None:
    unset = RunbookDoc(doc_id="disk-full", source_path="knowledge/disk-full.md", title="Disk full")
    low_twin = RunbookDoc(doc_id="x", source_path="ops/Database-Primary-Failover.md", title="X", risk="low")
    risks = runbook_risk_map([FAILOVER, unset, low_twin])
    assert risks == {
        "database-primary-failover": "high",  # the riskier runbook wins a shared reference
        "database-primary-failover.md": "high",
        "postgresql primary down — failover with patroni": "high",
        "x": "low",
    }


def test_build_guard_passes_the_runbook_risks(catalog: Catalog, repo_root: Path, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, policy_file=repo_root / "policy.yaml")
    call = ToolCall(tool="run_runbook", args={"runbook": "database-primary-failover.md"})
    guard = build_guard(settings, catalog, runbook_risk_map([FAILOVER]))
    decision = guard.check(call, ONCALL)
    assert (decision.risk, decision.approvals_required, decision.approver_roles) == (
        "high",
        2,
        ("sre-lead", "admin"),
    )
    assert build_guard(settings, catalog).check(call, ONCALL).risk == "medium"


@pytest.mark.slow
def test_suggester_guard_knows_the_knowledge_base_runbook_risks(repo_root: Path, tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    shutil.copy(repo_root / "knowledge" / "database-primary-failover.md", knowledge)
    settings = Settings(home=tmp_path / "home", knowledge_dir=knowledge, planner="runbook")
    call = ToolCall(tool="run_runbook", args={"runbook": "database-primary-failover"})
    with build_suggester(settings) as suggester:
        decision = suggester.guard.check(call, ONCALL)
    assert (decision.risk, decision.approvals_required, decision.approver_roles) == (
        "high",
        2,
        ("sre-lead", "admin"),
    )
