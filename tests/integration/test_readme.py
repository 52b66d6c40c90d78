"""The README's example commands run as written (executable docs)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copilot.cli import app

REPO = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^\.venv/bin/copilot (.+)$", text, flags=re.MULTILINE)


def test_readme_shows_the_two_commands() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make demo" in text
    assert "make test" in text
    assert len(readme_commands()) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_readme_example_runs(command: str, copilot_home: Path, monkeypatch: pytest.MonkeyPatch,
                             tmp_path: Path) -> None:
    monkeypatch.chdir(REPO)
    args = shlex.split(command)
    if "--html" in args:  # keep the report out of the checkout
        args[args.index("--html") + 1] = str(tmp_path / "report.html")
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    if args[0] == "eval":
        assert result.output.rstrip().splitlines()[-1].startswith("accuracy: ")
    if args[:2] == ["guard", "check"]:
        assert '"outcome": "needs_approval"' in result.output or '"outcome": "deny"' in result.output
