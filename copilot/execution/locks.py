"""Per-target locks: what a lock is called and who holds it.

The lock itself is a row in the store (``target_locks``, primary key = target) taken in the same
transaction that marks an action ``executing``, so it holds across threads, processes and replicas.
A lease bounds how long a crashed holder can block its target; ``ActionService.recover`` releases
the locks of actions it marks ``unknown``.
"""

from __future__ import annotations

from copilot.domain import Action

DEFAULT_LEASE_SECONDS = 900


def lock_target(action: Action) -> str:
    """The locked resource: the guard's target (e.g. ``shop/checkout``), else the tool name."""
    return action.decision.target or action.call.tool


def lock_holder(action: Action, started_by: str) -> str:
    """How the holder is named to whoever is refused the lock."""
    who = f"requested by {action.requester.name}, started by {started_by}"
    return f"action {action.id} ({action.call.tool} {who})"
