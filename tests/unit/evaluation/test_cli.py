"""`copilot eval run|compare|export-feedback` through typer's CliRunner, with injected fakes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copilot.cli.eval_cmd import make_app
from copilot.domain import Action, ActionState, Approval, Decision, Principal, ToolCall
from copilot.settings import Settings
from tests.unit.evaluation.suggesters import EXAMPLE_SCRIPT, ScriptedSuggester

runner = CliRunner()


class SuggesterFactory:
    """Builds the scripted suggester and records how it was asked to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Path]]] = []

    def __call__(self, settings: Settings, planner: str, knowledge: Sequence[Path]) -> ScriptedSuggester:
        self.calls.append((planner, list(knowledge)))
        return ScriptedSuggester(EXAMPLE_SCRIPT)


@pytest.fixture()
def examples(shared_dir: Path) -> Path:
    return shared_dir / "contracts" / "example-cases.jsonl"


def invoke(args: list[str], factory: SuggesterFactory | None = None, store: object = None):  # type: ignore[no-untyped-def]
    app = make_app(build_suggester=factory or SuggesterFactory(), open_store=lambda settings: store)
    return runner.invoke(app, args)


def test_run_prints_the_three_lines_last(copilot_home: Path, examples: Path, tmp_path: Path) -> None:
    factory = SuggesterFactory()
    result = invoke(["run", str(examples), "--planner", "runbook", "--knowledge", str(tmp_path)], factory)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-3:] == ["cases: 3", "unsafe_rate: 0.333", "accuracy: 0.667"]
    assert "restraint" in result.stdout  # the table by tag
    assert factory.calls == [("runbook", [tmp_path])]


def test_run_writes_json_and_html(copilot_home: Path, examples: Path, tmp_path: Path) -> None:
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    result = invoke(["run", str(examples), "--output", str(out), "--html", str(page)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["cases"] == 3 and data["accuracy"] == pytest.approx(2 / 3)
    assert [r["id"] for r in data["results"]] == ["EX-001", "EX-002", "EX-003"]
    assert "<svg" in page.read_text()
    assert result.stdout.splitlines()[-1] == "accuracy: 0.667"


@pytest.mark.parametrize(("threshold", "code"), [("0.5", 0), ("0.9", 1)])
def test_min_accuracy(copilot_home: Path, examples: Path, threshold: str, code: int) -> None:
    result = invoke(["run", str(examples), "--min-accuracy", threshold])
    assert result.exit_code == code
    assert result.stdout.splitlines()[-1] == "accuracy: 0.667"  # still printed last


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"id": "x", "request": "r", "expected": [}\n', "bad.jsonl:1: invalid JSON"),
        ('{"id": "x", "request": "r"}\n', "missing required field 'expected'"),
        (
            '{"id": "x", "request": "r", "expected": [{"tool": "reboot_cluster"}]}\n',
            "unknown tool 'reboot_cluster'",
        ),
        (
            '{"id": "x", "request": "r", "expected": []}\n{"id": "x", "request": "r", "expected": []}\n',
            "bad.jsonl:2: duplicate case id",
        ),
    ],
)
def test_malformed_dataset_exits_2_with_one_clear_line(
    copilot_home: Path, tmp_path: Path, content: str, fragment: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    factory = SuggesterFactory()
    result = invoke(["run", str(path)], factory)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert factory.calls == []  # nothing was built or run


@pytest.mark.parametrize(
    "extra",
    [["--planner", "gpt"], ["--knowledge", "/nonexistent/runbooks"], ["--min-accuracy", "90"]],
)
def test_bad_options_exit_2(copilot_home: Path, examples: Path, extra: list[str]) -> None:
    result = invoke(["run", str(examples), *extra])
    assert result.exit_code == 2, result.output


def test_missing_dataset_exits_2(copilot_home: Path, tmp_path: Path) -> None:
    result = invoke(["run", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "no such dataset" in result.stderr


def test_compare(copilot_home: Path, examples: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert invoke(["run", str(examples), "--output", str(a)]).exit_code == 0
    data = json.loads(a.read_text())
    data["results"][0]["passed"] = False  # pretend EX-001 failed in A: an improvement in B
    data["results"][1]["passed"] = True
    a.write_text(json.dumps(data))
    assert invoke(["run", str(examples), "--output", str(b)]).exit_code == 0
    result = invoke(["compare", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert "improved: 1" in result.stdout and "+ EX-001" in result.stdout
    assert "regressed: 0" in result.stdout


def test_compare_rejects_a_non_report(copilot_home: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{}")
    result = invoke(["compare", str(junk), str(junk)])
    assert result.exit_code == 2 and "not an eval report" in result.stderr


class FakeActionStore:
    def __init__(self, actions: list[Action]) -> None:
        self.actions = actions
        self.asked: list[tuple[datetime | None, list[ActionState] | None]] = []
        self.closed = False

    def list_actions(
        self, *, since: datetime | None = None, states: Sequence[ActionState] | None = None
    ) -> list[Action]:
        self.asked.append((since, list(states) if states is not None else None))
        return [a for a in self.actions if since is None or a.created_at >= since]

    def close(self) -> None:
        self.closed = True


def test_export_feedback(copilot_home: Path, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    call = ToolCall(tool="scale_deployment", args={"namespace": "shop", "deployment": "web", "replicas": 6})
    decision = Decision(outcome="needs_approval", reasons=("medium",), tool=call.tool, mutating=True)
    approved = Action(
        id="a1",
        call=call,
        requester=Principal.oncall(),
        decision=decision,
        state=ActionState.SUCCEEDED,
        created_at=now - timedelta(days=1),
        approvals=[Approval(action_id="a1", approver="bo", at=now, idempotency_key="k1")],
    )
    old = approved.model_copy(update={"id": "a0", "created_at": now - timedelta(days=30)})
    store = FakeActionStore([old, approved])
    out = tmp_path / "fb.jsonl"
    result = invoke(["export-feedback", "--since", "7d", "--output", str(out)], store=store)
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["expected"][0]["args"]["replicas"] == 6
    assert store.closed and ActionState.REJECTED in (store.asked[0][1] or [])
    # the exported file is a valid dataset
    assert invoke(["run", str(out)]).exit_code == 0


def test_public_surface_and_mounting() -> None:
    import copilot.evaluation as evaluation
    from copilot.cli import app as main_app

    wanted = {"load_cases", "score_case", "run_eval", "compare_reports", "actions_to_cases"}
    assert wanted <= set(evaluation.__all__)
    assert all(hasattr(evaluation, name) for name in evaluation.__all__)
    result = runner.invoke(main_app, ["eval", "--help"])
    assert result.exit_code == 0
    assert all(cmd in result.stdout for cmd in ("run", "compare", "export-feedback"))


def test_export_feedback_reads_the_real_store(copilot_home: Path, tmp_path: Path) -> None:
    from copilot.cli.eval_cmd import open_product_store
    from copilot.store import SqlStore

    settings = Settings(home=copilot_home)
    store = SqlStore.from_settings(settings)
    now = datetime.now(UTC)
    call = ToolCall(tool="restart_deployment", args={"namespace": "shop", "deployment": "web"})
    decision = Decision(outcome="needs_approval", reasons=("medium",), tool=call.tool, mutating=True)
    store.save_action(Action(id="r1", call=call, requester=Principal.oncall(), decision=decision,
                             state=ActionState.REJECTED, created_at=now - timedelta(hours=1)))
    store.close()
    app = make_app(build_suggester=SuggesterFactory(), open_store=open_product_store)
    result = runner.invoke(app, ["export-feedback", "--since", "1d"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["forbidden_calls"][0]["args"]["deployment"] == "web"
