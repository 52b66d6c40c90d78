"""`copilot ask`: input files, errors (one line, exit 2), the JSON shape and the text rendering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copilot.cli import app
from copilot.cli.ask_cmd import build_request, load_alert, load_telemetry, print_suggestion, suggestion_json
from copilot.domain import Citation, Decision, Evidence, ProposedCall, Suggestion, ToolCall
from copilot.errors import UserInputError

WEBHOOK = {
    "version": "4", "status": "firing", "receiver": "copilot", "groupKey": "{}:{alertname=\"X\"}",
    "alerts": [
        {"status": "resolved", "labels": {"alertname": "Old"}, "annotations": {}},
        {"status": "firing", "labels": {"alertname": "KubeNodeNotReady", "node": "node-7"},
         "annotations": {"summary": "node-7 is NotReady"}, "startsAt": "2026-11-30T08:00:00Z"},
    ],
}


def write(tmp_path: Path, name: str, content: object) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_alert_file_may_be_a_webhook_payload(tmp_path: Path) -> None:
    alert = load_alert(write(tmp_path, "hook.json", WEBHOOK))
    assert alert.name == "KubeNodeNotReady" and alert.labels["node"] == "node-7"


def test_alert_file_may_be_one_alert_in_yaml(tmp_path: Path) -> None:
    alert = load_alert(write(tmp_path, "a.yaml", "labels: {alertname: Watchdog}\nstatus: firing\n"))
    assert alert.name == "Watchdog"


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON or YAML"),
    ('["a", "b"]', "expected an alert with `labels`"),
    ({"alerts": []}, "has no alerts"),
    ({"labels": {"alertname": "X"}, "status": "exploded"}, "status"),
])
def test_bad_alert_files_name_the_problem(tmp_path: Path, content: object, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        load_alert(write(tmp_path, "bad.json", content))


def test_telemetry_must_be_a_mapping(tmp_path: Path) -> None:
    assert load_telemetry(write(tmp_path, "t.json", {"pods_pending": ["a"]})) == {"pods_pending": ["a"]}
    with pytest.raises(UserInputError, match="mapping"):
        load_telemetry(write(tmp_path, "t2.json", [1, 2]))


def test_request_needs_text_or_alert_and_takes_the_principal() -> None:
    with pytest.raises(UserInputError, match="request text or --alert"):
        build_request("  ", None, None, None, "oncall")
    request = build_request("help", None, None, "alice", "sre-lead, oncall")
    assert request.principal.name == "alice"
    assert request.principal.roles == frozenset({"sre-lead", "oncall"})


@pytest.mark.parametrize("args", [
    ["ask", "--alert", "/nonexistent/alert.json", "help"],
    ["ask", "--telemetry", "/nonexistent/t.json", "help"],
    ["ask", ""],
])
def test_cli_bad_input_is_one_line_and_exit_2(args: list[str], copilot_home: Path) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "Traceback" not in result.output


def sample() -> Suggestion:
    cite = Citation(chunk_id="node#3", doc_id="node", source_path="knowledge/node.md", section="Mitigation",
                    line_start=20, line_end=28)
    decision = Decision(outcome="needs_approval", reasons=("needs 1 approval",), tool="cordon_node",
                        mutating=True, risk="medium", approvals_required=1)
    call = ToolCall(tool="cordon_node", args={"node": "node-7"}, citations=[cite],
                    evidence=[Evidence(key="nodes_not_ready", value=["node-7"])], rationale="runbook step 2")
    return Suggestion(summary="cordon node-7", planner="runbook", prompt_hash=None, latency_ms=12.5,
                      calls=[ProposedCall(call=call, mutating=True, decision=decision)],
                      notes=["a note"], dropped=["drain_node: ungrounded mutating call"])


def test_json_has_exactly_the_documented_shape() -> None:
    data = suggestion_json(sample())
    assert list(data) == ["summary", "planner", "prompt_hash", "tool_calls", "latency_ms"]
    call = data["tool_calls"][0]
    assert list(call) == ["tool", "args", "mutating", "decision", "citations", "evidence", "rationale"]
    assert call["decision"]["outcome"] == "needs_approval"
    assert call["citations"][0]["source_path"] == "knowledge/node.md"
    assert call["evidence"][0] == {"key": "nodes_not_ready", "value": ["node-7"], "source": "telemetry"}
    json.dumps(data)


def test_text_shows_calls_citations_decisions_and_drops(capsys: pytest.CaptureFixture[str]) -> None:
    print_suggestion(sample())
    out = capsys.readouterr().out
    for expected in ("cordon node-7", 'cordon_node(node="node-7")', "needs_approval",
                     "knowledge/node.md:20-28 § Mitigation", "nodes_not_ready", "dropped: drain_node"):
        assert expected in out


# --------------------------------------------------------------------------- end to end (small knowledge)


@pytest.fixture()
def small_knowledge(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch,
                    copilot_home: Path) -> Path:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "node-not-ready.md").write_text((repo_root / "knowledge" / "node-not-ready.md").read_text())
    monkeypatch.setenv("COPILOT_KNOWLEDGE_DIR", str(shipped))
    monkeypatch.setenv("COPILOT_PLANNER", "runbook")
    return tmp_path


@pytest.mark.slow
def test_ask_json_end_to_end_with_extra_knowledge(small_knowledge: Path, repo_root: Path,
                                                  copilot_home: Path) -> None:
    extra = small_knowledge / "extra"
    extra.mkdir()
    (extra / "cert.md").write_text((repo_root / "knowledge" / "certificate-expiry-reload.md").read_text())
    hook = write(small_knowledge, "hook.json", WEBHOOK)
    snapshot = {"nodes_not_ready": ["node-7"], "node_not_ready_minutes": 30}
    telemetry = write(small_knowledge, "t.json", snapshot)
    result = CliRunner().invoke(app, ["ask", "--json", "--alert", str(hook), "--telemetry", str(telemetry),
                                      "--knowledge", str(extra), "node-7 is down, what now?"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["planner"] == "runbook" and data["latency_ms"] > 0
    outcomes = {call["decision"]["outcome"] for call in data["tool_calls"]}
    assert outcomes <= {"allow", "needs_approval", "deny"}
    assert all(call["tool"] != "drain_node" for call in data["tool_calls"])
    assert {"tool": "describe_node", "args": {"node": "node-7"}} in [
        {"tool": c["tool"], "args": c["args"]} for c in data["tool_calls"]]
    from copilot.compose import build_catalog
    from copilot.retrieval import open_knowledge_base
    from copilot.settings import load_settings

    settings = load_settings()
    kb = open_knowledge_base(settings, build_catalog(settings))  # the persistent index
    try:
        assert [doc.doc_id for doc in kb.documents()] == ["node-not-ready"]  # never saw --knowledge
    finally:
        kb.close()


def test_non_utf8_alert_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "alert.json"
    bad.write_bytes(b'{"labels": {"alertname": "X\xff\xfe"}}')
    result = CliRunner().invoke(app, ["ask", "--alert", str(bad), "help"])
    assert result.exit_code == 2
    assert "not UTF-8" in result.output
    assert "Traceback" not in result.output
