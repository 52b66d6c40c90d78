"""The Suggester: plan, validate every call against the catalog, attach the guard's decision.

The guard sees only the typed call (tool, canonical args, citations, evidence) and the principal
from the request. The planner's free text (rationale, summary) is stripped before the guard looks,
so nothing a model, a runbook, a log line or a chat message says can change a decision.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol

from copilot.catalog import Catalog
from copilot.domain import Decision, PlanRequest, Principal, ProposedCall, Suggestion, ToolCall
from copilot.errors import UserInputError
from copilot.ports import Planner

log = logging.getLogger(__name__)


class GuardPort(Protocol):
    """What the Suggester needs from copilot.guard.Guard."""

    def check(self, call: ToolCall, principal: Principal, *, inflight: Sequence[ToolCall] = (),
              require_grounding: bool = False) -> Decision: ...


class Suggester:
    """One planner plus the guard: ``suggest(request)`` returns calls that each carry a Decision."""

    def __init__(self, planner: Planner, guard: GuardPort, catalog: Catalog, *,
                 knowledge_digest: str = "", on_close: Sequence[Callable[[], None]] = ()) -> None:
        self.planner = planner
        self.guard = guard
        self.catalog = catalog
        self.knowledge_digest = knowledge_digest
        self._on_close = list(on_close)

    def close(self) -> None:
        """Release what the composition opened (e.g. a throwaway knowledge base)."""
        while self._on_close:
            self._on_close.pop()()

    def __enter__(self) -> Suggester:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def name(self) -> str:
        return self.planner.name

    @property
    def model(self) -> str | None:
        return getattr(self.planner, "model", None)

    @property
    def prompt_hash(self) -> str | None:
        return getattr(self.planner, "prompt_hash", None)

    def suggest(self, request: PlanRequest) -> Suggestion:
        started = time.perf_counter()
        suggestion = self.planner.plan(request)
        calls, dropped = self.checked_calls(suggestion.calls, request.principal)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        return suggestion.model_copy(update={
            "calls": calls,
            "dropped": [*suggestion.dropped, *dropped],
            "model": suggestion.model or self.model,
            "prompt_hash": suggestion.prompt_hash or self.prompt_hash,
            "latency_ms": round(elapsed_ms, 2),
        })

    def checked_calls(self, calls: Sequence[ProposedCall],
                      principal: Principal) -> tuple[list[ProposedCall], list[str]]:
        """Normalise each call with the catalog (bad ones dropped with a reason), then ask the guard."""
        kept: list[ProposedCall] = []
        dropped: list[str] = []
        for proposed in calls:
            try:
                call = self.catalog.normalize(proposed.call)
            except UserInputError as exc:
                dropped.append(f"{proposed.call.tool}: {exc} (from {proposed.source} planner)")
                continue
            earlier = [p.call for p in kept if p.mutating]  # blast radius counts the whole suggestion
            decision = self.guard.check(_typed_only(call), principal, inflight=earlier,
                                        require_grounding=True)
            mutating = self.catalog.get(call.tool).mutating
            log.debug("suggest: %s -> %s (principal=%s)", call.tool, decision.outcome, principal.name)
            kept.append(proposed.model_copy(update={"call": call, "mutating": mutating,
                                                    "decision": decision}))
        return kept, dropped


def _typed_only(call: ToolCall) -> ToolCall:
    """The call without planner prose: the guard decides on tool, args and grounding alone."""
    return call.model_copy(update={"rationale": ""})
