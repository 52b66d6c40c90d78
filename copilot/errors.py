"""One error tree, split by who must act.

    CopilotError
    ├── ConfigError          the operator must fix a file or setting (catalog, policy, env)
    ├── UserInputError       the caller sent something malformed (bad call JSON, bad args)
    │   ├── UnknownToolError
    │   └── ArgumentError
    ├── PolicyDenied         the guard refused; reasons say why
    ├── StateError           an action is in the wrong state (expired, already executed, locked)
    │   └── LockHeld
    └── UpstreamError        a dependency failed (database, Chroma, LLM, executor backend)

Every message names the fix. Map these to HTTP / exit codes once, at the edge.
"""

from __future__ import annotations


class CopilotError(Exception):
    """Base of every error copilot raises on purpose."""

    exit_code = 1


class ConfigError(CopilotError):
    """A config file or setting is wrong; the message names file, location and fix."""

    exit_code = 2


class UserInputError(CopilotError):
    """Malformed input from a user or API client."""

    exit_code = 2


class UnknownToolError(UserInputError):
    """A call names a tool that is not in the catalog."""


class ArgumentError(UserInputError):
    """A call's arguments do not fit the tool's schema."""


class PolicyDenied(CopilotError):
    """The guard refused an action."""

    exit_code = 3

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []


class StateError(CopilotError):
    """An action is not in a state that allows this transition."""

    exit_code = 4


class LockHeld(StateError):
    """Another action holds the lock on the same target."""

    def __init__(self, target: str, holder: str) -> None:
        super().__init__(f"target {target!r} is locked by {holder}; wait for it to finish or reject it")
        self.target = target
        self.holder = holder


class UpstreamError(CopilotError):
    """A dependency (database, vector store, LLM, executor backend) failed."""

    exit_code = 5
