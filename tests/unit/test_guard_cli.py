"""`copilot guard check` and `copilot policy check|cedar` through the real CLI app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copilot.cli import app

runner = CliRunner()


@pytest.fixture()
def policy_file(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COPILOT_POLICY_FILE", str(repo_root / "policy.yaml"))
    monkeypatch.setenv("COPILOT_CATALOG_DIR", str(repo_root / "tools"))
    return repo_root / "policy.yaml"


def _guard(*argv: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["guard", "check", *argv])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("argv", "outcome", "phrase"),
    [
        (
            ["--as", "olga", "--roles", "oncall", '{"tool": "get_logs", "args": {"namespace": "shop"}}'],
            "allow",
            "allowed at once",
        ),
        (
            [
                "--as",
                "olga",
                "--roles",
                "oncall",
                '{"tool": "scale_deployment", '
                '"args": {"namespace": "shop", "deployment": "web", "replicas": "4"}}',
            ],
            "needs_approval",
            "needs 1 approval",
        ),
        (
            ["--as", "leo", "--roles", "sre-lead,admin", '{"tool": "drain_node", "args": {"node": "n1"}}'],
            "needs_approval",
            "needs 2 approvals",
        ),
        (
            [
                "--as",
                "vic",
                "--roles",
                "viewer",
                '{"tool": "restart_deployment", "args": {"namespace": "shop", "deployment": "web"}}',
            ],
            "deny",
            "not permitted",
        ),
        (["--as", "olga", "--roles", "oncall", '{"tool": "reboot_everything"}'], "deny", "unknown tool"),
        (
            ["--as", "olga", "--roles", "oncall", '{"tool": "block_ip", "args": {"cidr": "10.0.0.0/8"}}'],
            "deny",
            "blast radius",
        ),
        (
            ["--as", "alice", '{"tool": "delete_pod", "args": {"namespace": "shop", "pod": "p"}}'],
            "needs_approval",
            "needs 1",
        ),
        (
            [
                "--as",
                "zoe",
                "--groups",
                "sre-leads",
                '{"tool": "failover_database", "args": {"cluster": "c"}}',
            ],
            "needs_approval",
            "needs 2",
        ),
        (
            [
                "--as",
                "olga",
                "--roles",
                "oncall",
                "--require-grounding",
                '{"tool": "restart_deployment", "args": {"namespace": "shop", "deployment": "web"}}',
            ],
            "deny",
            "ungrounded",
        ),
        (
            [
                "--as",
                "olga",
                "--roles",
                "oncall",
                "--require-grounding",
                '{"tool": "restart_deployment", "args": {"namespace": "shop", "deployment": "web"}, '
                '"evidence": [{"key": "error_rate", "value": 0.4}]}',
            ],
            "needs_approval",
            "needs 1",
        ),
    ],
)
def test_guard_check_prints_the_decision_and_exits_0(
    policy_file: Path, argv: list[str], outcome: str, phrase: str
) -> None:
    code, out, err = _guard(*argv)
    assert code == 0, err
    decision = json.loads(out)
    assert decision["outcome"] == outcome
    assert any(phrase in r for r in decision["reasons"]), decision["reasons"]


@pytest.mark.parametrize(
    ("call", "phrase"),
    [
        ('{"tool": "get_logs", ', "the call is not JSON"),
        ("get_logs namespace=shop", "the call is not JSON"),
        ('["get_logs"]', "must be a JSON object, got list"),
        ('{"args": {"namespace": "shop"}}', 'needs a "tool" name'),
        ('{"tool": 7}', 'needs a "tool" name'),
        ('{"tool": "get_logs", "args": ["shop"]}', "malformed at 'args'"),
        ('{"tool": "get_logs", "argz": {}}', "malformed at 'argz': remove it"),
    ],
)
def test_malformed_call_exits_2_with_one_line(policy_file: Path, call: str, phrase: str) -> None:
    code, out, err = _guard("--as", "olga", "--roles", "oncall", call)
    assert code == 2
    assert out == ""
    assert phrase in err and err.strip().count("\n") == 0, err


def test_guard_check_with_explicit_policy(repo_root: Path, tmp_path: Path) -> None:
    frozen = (repo_root / "policy.yaml").read_text().replace("  enabled: false", "  enabled: true")
    (tmp_path / "frozen.yaml").write_text(frozen)
    code, out, _ = _guard(
        "--as",
        "olga",
        "--roles",
        "oncall",
        "--policy",
        str(tmp_path / "frozen.yaml"),
        "--catalog",
        str(repo_root / "tools"),
        '{"tool": "delete_pod", "args": {"namespace": "shop", "pod": "p"}}',
    )
    assert code == 0
    assert "change freeze in force" in json.loads(out)["reasons"][0]


# --------------------------------------------------------------------------- copilot policy


def test_policy_check_prints_who_may_do_what(policy_file: Path) -> None:
    result = runner.invoke(app, ["policy", "check"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert "who may do what" in result.stdout
    for text in (
        "scale_deployment",
        "replicas <= 20",
        "sre-lead, admin",
        "prod:2 dev:1 staging:2",
        "policy OK",
    ):
        assert text in result.stdout, text


def test_broken_policy_exits_2_with_file_line_and_fix(policy_file: Path, tmp_path: Path) -> None:
    broken = policy_file.read_text().replace("request: [sre-lead, admin]", "request: [sre, admin]")
    path = tmp_path / "policy.yaml"
    path.write_text(broken)
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 2
    line = next(i for i, t in enumerate(broken.splitlines(), 1) if "request: [sre, admin]" in t)
    assert result.stderr.strip() == (
        f"error: {path}:{line}: role 'sre' is not defined; did you mean 'sre-lead'? "
        "defined roles: viewer, oncall, sre-lead, admin"
    )
    guard = runner.invoke(app, ["guard", "check", "--as", "o", "--policy", str(path), '{"tool": "get_logs"}'])
    assert guard.exit_code == 2 and f"{path}:{line}:" in guard.stderr


def test_policy_cedar_prints_policies_and_schema(policy_file: Path) -> None:
    policies = runner.invoke(app, ["policy", "cedar"])
    assert policies.exit_code == 0 and '@id("replica-limit/limit/replicas")' in policies.stdout
    schema = runner.invoke(app, ["policy", "cedar", "--schema"])
    assert "request:drain_node" in json.loads(schema.stdout)[""]["actions"]


def test_console_script_exit_code(tmp_path: Path, repo_root: Path) -> None:
    """The real process, as CI and operators run it: non-zero exit and one stderr line."""
    path = tmp_path / "policy.yaml"
    path.write_text("roles: {oncall: {}}\nrules: []\ndefaults: {risk: {low: {approvals: 1, ttl: 1h}}}\n")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from copilot.cli import main; main()",
            "policy",
            "check",
            str(path),
            "--catalog",
            str(repo_root / "tools"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {path}:3: defaults.risk needs an entry for 'medium'"
