"""Calling an Executor: a backend failure becomes a failed result, and the dry-run contract.

The contract (``copilot.ports.Executor``): asked for a dry run, a backend that cannot do one returns
``dry_run_not_supported()`` and changes nothing; it never runs the call for real instead.
"""

from __future__ import annotations

import logging

from copilot.domain import ExecutionResult, ToolCall
from copilot.ports import Executor

log = logging.getLogger(__name__)

DRY_RUN_NOT_SUPPORTED = "dry run not supported"


def dry_run_not_supported() -> ExecutionResult:
    """What a backend without a dry run answers a dry-run request with."""
    return ExecutionResult(ok=False, dry_run=True, error=DRY_RUN_NOT_SUPPORTED)


def run_executor(executor: Executor, call: ToolCall, *, dry_run: bool) -> ExecutionResult:
    """``executor.execute(call)``; whatever the backend raises comes back as a failed result."""
    try:
        result = executor.execute(call, dry_run=dry_run)
    except Exception as exc:  # edge: a backend failure becomes a failed result, never a lost one
        log.warning("executor=%s tool=%s raised %s", executor.name, call.tool, type(exc).__name__)
        return ExecutionResult(ok=False, dry_run=dry_run, error=f"{type(exc).__name__}: {exc}")
    if dry_run and not result.dry_run:
        log.error("executor=%s tool=%s answered a dry run with a real result; it breaks the Executor "
                  "contract", executor.name, call.tool)
    return result
