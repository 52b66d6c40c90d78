"""RecordingExecutor: runs nothing, records every call in memory and answers ok. For the demo and tests.

``supports_dry_run=False`` makes it a backend without a dry run, which keeps the Executor contract:
a dry-run request gets ``dry_run_not_supported()`` and is not recorded as a run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from copilot.domain import ExecutionResult, ToolCall
from copilot.execution.running import dry_run_not_supported


@dataclass(frozen=True)
class RecordedRun:
    call: ToolCall
    dry_run: bool
    at: datetime


class RecordingExecutor:
    """Supports every tool (or only ``tools``); thread-safe; ``runs`` lists what it was asked to do."""

    def __init__(self, name: str = "recording", *, tools: Iterable[str] | None = None,
                 supports_dry_run: bool = True) -> None:
        self.name = name
        self._tools = frozenset(tools) if tools is not None else None
        self.supports_dry_run = supports_dry_run
        self._lock = threading.Lock()
        self._runs: list[RecordedRun] = []

    def supports(self, tool: str) -> bool:
        return self._tools is None or tool in self._tools

    def execute(self, call: ToolCall, *, dry_run: bool = False) -> ExecutionResult:
        if dry_run and not self.supports_dry_run:
            return dry_run_not_supported()
        with self._lock:
            self._runs.append(RecordedRun(call=call, dry_run=dry_run, at=datetime.now(UTC)))
        verb = "would run" if dry_run else "recorded"
        message = f"{verb} {call.tool} (recording executor: nothing changed)"
        output = {"executor": self.name, "tool": call.tool, "args": dict(call.args), "message": message}
        return ExecutionResult(ok=True, dry_run=dry_run, output=output)

    @property
    def runs(self) -> list[RecordedRun]:
        with self._lock:
            return list(self._runs)

    @property
    def real_runs(self) -> list[ToolCall]:
        return [run.call for run in self.runs if not run.dry_run]
