"""Execution: the executor registry behind the Executor port, the recording executor and target locks."""

from copilot.execution.locks import DEFAULT_LEASE_SECONDS, lock_holder, lock_target
from copilot.execution.recording import RecordedRun, RecordingExecutor
from copilot.execution.registry import ExecutorRegistry
from copilot.execution.running import DRY_RUN_NOT_SUPPORTED, dry_run_not_supported, run_executor

__all__ = ["DEFAULT_LEASE_SECONDS", "DRY_RUN_NOT_SUPPORTED", "ExecutorRegistry", "RecordedRun",
           "RecordingExecutor", "dry_run_not_supported", "lock_holder", "lock_target", "run_executor"]
