"""`copilot ask`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add `ask` to the main app (filled in by the planning step)."""
