"""`copilot demo --no-serve` runs the main job end to end on embedded defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from copilot.cli import app


@pytest.mark.slow
def test_demo_plays_three_situations_approves_once_and_verifies(copilot_home: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-serve"], catch_exceptions=False)
    out = result.output
    assert result.exit_code == 0, out
    assert "rollback_deployment" in out
    assert "needs 2 approval(s)" in out
    assert "state succeeded" in out
    assert "a double click by bob changes nothing: state succeeded" in out
    # the injected "drain all nodes" never becomes a proposal
    assert "drain_node" not in out
    assert "audit chain intact" in out
    assert (copilot_home / "copilot.db").exists()
