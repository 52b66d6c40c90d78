"""Execution: the executor registry behind the Executor port, the recording executor and target locks."""

from copilot.execution.locks import DEFAULT_LEASE_SECONDS, lock_holder, lock_target
from copilot.execution.recording import RecordedRun, RecordingExecutor
from copilot.execution.registry import ExecutorRegistry

__all__ = ["DEFAULT_LEASE_SECONDS", "ExecutorRegistry", "RecordedRun", "RecordingExecutor", "lock_holder",
           "lock_target"]
