"""Review fixes that live in the composition and settings layers (guard and policy fixes are tested in
test_guard.py / test_policy.py, redaction in test_redaction.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from copilot.catalog import Catalog
from copilot.cli.eval_cmd import make_app
from copilot.compose import build_guard, build_suggester, runbook_risk_map
from copilot.domain import Principal, RunbookDoc, ToolCall
from copilot.settings import Settings
from tests.unit.evaluation.suggesters import EXAMPLE_SCRIPT, ScriptedSuggester

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


# --------------------------------------------------------------------------- eval run output paths


class _NeverBuilt:
    """A suggester factory that records being asked: a bad output path must stop the run first."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, settings: Settings, planner: str, knowledge: Sequence[Path]) -> Any:
        self.calls += 1
        raise AssertionError("the run started although its output path cannot be written")


@pytest.mark.parametrize(
    ("option", "make_path", "phrase"),
    [
        ("--output", lambda tmp: tmp, "is a directory; give a file path"),
        ("--html", lambda tmp: tmp, "is a directory; give a file path"),
        ("--output", lambda tmp: tmp / "file.txt" / "r.json", "cannot create its folder"),
        ("--html", lambda tmp: tmp / "file.txt" / "deeper" / "r.html", "cannot create its folder"),
    ],
)
def test_eval_run_checks_output_paths_before_the_run(
    copilot_home: Path,
    shared_dir: Path,
    tmp_path: Path,
    option: str,
    make_path: Callable[[Path], Path],
    phrase: str,
) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    factory = _NeverBuilt()
    app = make_app(build_suggester=factory, open_store=lambda settings: None)  # type: ignore[arg-type,return-value]
    dataset = shared_dir / "contracts" / "example-cases.jsonl"
    result = CliRunner().invoke(app, ["run", str(dataset), option, str(make_path(tmp_path))])
    assert result.exit_code == 2, result.output
    assert factory.calls == 0
    assert phrase in result.output and option in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 3


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_eval_run_refuses_an_unwritable_folder(copilot_home: Path, shared_dir: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        app = make_app(build_suggester=_NeverBuilt(), open_store=lambda settings: None)  # type: ignore[arg-type,return-value]
        dataset = shared_dir / "contracts" / "example-cases.jsonl"
        result = CliRunner().invoke(app, ["run", str(dataset), "--output", str(locked / "r.json")])
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2 and "is not writable" in result.output


def test_eval_run_write_failure_after_the_run_is_one_line(
    copilot_home: Path, shared_dir: Path
) -> None:
    # /proc/self passes the up-front checks (it exists; root may "write" it) but refuses new files.
    target = Path("/proc/self/copilot-report.json")
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc")
    app = make_app(build_suggester=lambda *_: ScriptedSuggester(EXAMPLE_SCRIPT))
    dataset = shared_dir / "contracts" / "example-cases.jsonl"
    result = CliRunner().invoke(app, ["run", str(dataset), "--output", str(target)])
    assert result.exit_code == 2, result.output
    assert "copilot-report.json" in result.output and "Traceback" not in result.output
