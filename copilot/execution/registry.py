"""ExecutorRegistry: picks the Executor (port) that runs a tool."""

from __future__ import annotations

from collections.abc import Iterable

from copilot.errors import ConfigError
from copilot.ports import Executor


class ExecutorRegistry:
    """Executors in registration order; the first that supports a tool runs it."""

    def __init__(self, executors: Iterable[Executor] = ()) -> None:
        self._executors: list[Executor] = []
        for executor in executors:
            self.register(executor)

    def register(self, executor: Executor) -> None:
        if any(existing.name == executor.name for existing in self._executors):
            raise ConfigError(
                f"an executor named {executor.name!r} is already registered; give each a unique name"
            )
        self._executors.append(executor)

    def for_tool(self, tool: str) -> Executor:
        for executor in self._executors:
            if executor.supports(tool):
                return executor
        registered = ", ".join(self.names) or "none"
        raise ConfigError(
            f"no executor supports tool {tool!r} (registered: {registered}); "
            "register one that does in create_app(), e.g. the recording executor for the demo"
        )

    @property
    def names(self) -> list[str]:
        return [executor.name for executor in self._executors]

    def __len__(self) -> int:
        return len(self._executors)
