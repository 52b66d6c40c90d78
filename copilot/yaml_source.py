"""Parse YAML text keeping node positions, and turn syntax errors into one clear line.

Pure: takes text, returns the composed node tree (for line numbers) and the data.
"""

from __future__ import annotations

from typing import Any

import yaml

from copilot.errors import CopilotError


def yaml_error_line(exc: yaml.YAMLError, *, offset: int = 0) -> int | None:
    """The 1-based line a YAML error points at (plus ``offset``), if it says."""
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 + offset if mark is not None else None


def parse_yaml(text: str, source: str, error: type[CopilotError]) -> tuple[yaml.Node | None, Any]:
    """``(root node, data)``; a syntax error raises ``error`` naming ``source:line`` and the fix."""
    try:
        return yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = yaml_error_line(exc)
        where = f"{source}:{line}" if line is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}: YAML syntax error ({problem}); fix the indentation or quoting") from None
