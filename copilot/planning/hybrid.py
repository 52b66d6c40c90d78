"""Hybrid planning: run the runbook planner and the LLM planner on one context, merge, ground, rank.

Merging keeps only grounded calls (see ``grounding``), drops tools outside the catalog, dedupes
by (tool, canonical args) and ranks: diagnose before mitigate before notify; within a phase,
calls both planners agree on first, then runbook-backed calls, then the LLM's own.

A runbook restraint wins: when the runbook planner held a tool back (a restraint rule or a
precondition that does not hold, reported in its notes), the LLM's call of the same tool is
dropped too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from copilot.catalog import Catalog
from copilot.domain import PlanRequest, ProposedCall, Suggestion, ToolCall
from copilot.errors import UserInputError
from copilot.planning.grounding import GroundingResult, PlanningContext, ground_calls
from copilot.planning.llm_planner import ContextPlanner, ContextSource, LLMPlanner

_SUPPORT = {"runbook+llm": 2, "runbook": 1, "llm": 0}
_RESTRAINT_WORDS = ("restraint", "held back", "precondition")


class HybridPlanner:
    """Both planners over one context; the LLM adds to, never overrides, the runbook planner."""

    name = "hybrid"

    def __init__(self, catalog: Catalog, contexts: ContextSource, runbook: ContextPlanner,
                 llm: LLMPlanner) -> None:
        self.catalog = catalog
        self.contexts = contexts
        self.runbook = runbook
        self.llm = llm
        self.model = llm.model
        self.prompt_hash = llm.prompt_hash

    def plan(self, request: PlanRequest) -> Suggestion:
        return self.plan_context(self.contexts.build(request))

    def plan_context(self, ctx: PlanningContext) -> Suggestion:
        from_runbook = self.runbook.plan_context(ctx)
        from_llm, failure = self.llm.ask_model(ctx)
        merged = merge_suggestions(from_runbook, from_llm, self.catalog)
        if from_llm is None:
            merged.notes.insert(0, f"LLM planner {failure}; the runbook planner's calls stand alone")
        merged.model = self.model
        merged.prompt_hash = self.prompt_hash
        return merged


def merge_suggestions(runbook: Suggestion, llm: Suggestion | None, catalog: Catalog) -> Suggestion:
    """One suggestion from both planners: grounded, deduped, ranked."""
    from_llm = llm.calls if llm is not None else []
    tagged = [_tag(p, "runbook") for p in runbook.calls] + [_tag(p, "llm") for p in from_llm]
    grounded = ground_calls(tagged, catalog)
    vetoed = _restrained_tools(runbook, catalog)
    kept = _veto(grounded, vetoed)
    calls = rank_calls(dedupe_calls(kept.kept, catalog), catalog)
    others = [llm] if llm is not None else []
    return Suggestion(
        summary=llm.summary if llm is not None and llm.summary.strip() else runbook.summary,
        calls=calls,
        citations=_unique([c for s in (runbook, *others) for c in s.citations], key=lambda c: c.chunk_id),
        evidence=_unique([e for s in (runbook, *others) for e in s.evidence], key=lambda e: e.key),
        confidence=max([runbook.confidence, *(s.confidence for s in others)]),
        planner="hybrid",
        notes=[*runbook.notes, *(n for s in others for n in s.notes)],
        dropped=[*runbook.dropped, *(d for s in others for d in s.dropped), *kept.dropped],
        usage=llm.usage if llm is not None else runbook.usage,
    )


def _tag(proposed: ProposedCall, planner: str) -> ProposedCall:
    source = proposed.source if proposed.source in _SUPPORT else planner
    return proposed.model_copy(update={"source": source})


def _restrained_tools(runbook: Suggestion, catalog: Catalog) -> set[str]:
    """Tools the runbook planner deliberately held back (restraint rule or failed precondition).

    The runbook planner reports them in ``notes`` or ``dropped`` as ``"<tool> held back (...)"`` or
    ``"<tool> not proposed: precondition ... does not hold"``.
    """
    tools: set[str] = set()
    for reason in [*runbook.notes, *runbook.dropped]:
        words = reason.replace(":", " ").replace("(", " ").split()
        if words and words[0] in catalog and any(word in reason.lower() for word in _RESTRAINT_WORDS):
            tools.add(words[0])
    return tools


def _veto(grounded: GroundingResult, tools: set[str]) -> GroundingResult:
    out = GroundingResult(dropped=list(grounded.dropped))
    for proposed in grounded.kept:
        if proposed.source == "llm" and proposed.call.tool in tools:
            out.dropped.append(f"{proposed.call.tool}: held back by a runbook restraint (from llm planner)")
        else:
            out.kept.append(proposed)
    return out


def canonical_key(call: ToolCall, catalog: Catalog) -> tuple[str, str]:
    """(tool, canonical args): ``203.0.113.7`` and ``203.0.113.7/32`` are the same call."""
    try:
        return catalog.normalize(call).key()
    except UserInputError:
        return call.key()


def dedupe_calls(calls: Sequence[ProposedCall], catalog: Catalog) -> list[ProposedCall]:
    """Merge calls with the same (tool, canonical args); both planners -> source ``runbook+llm``."""
    merged: dict[tuple[str, str], ProposedCall] = {}
    for proposed in calls:
        key = canonical_key(proposed.call, catalog)
        first = merged.get(key)
        merged[key] = proposed if first is None else _combine(first, proposed)
    return list(merged.values())


def _combine(first: ProposedCall, second: ProposedCall) -> ProposedCall:
    sources = {part for p in (first, second) for part in p.source.split("+")}
    call = first.call.model_copy(update={
        "citations": _unique([*first.call.citations, *second.call.citations], key=lambda c: c.chunk_id),
        "evidence": _unique([*first.call.evidence, *second.call.evidence], key=lambda e: e.key),
        "rationale": first.call.rationale or second.call.rationale,
    })
    source = "runbook+llm" if {"runbook", "llm"} <= sources else first.source
    return first.model_copy(update={"call": call, "source": source})


def phase_of(tool: str, catalog: Catalog) -> int:
    """0 diagnose (read-only), 1 mitigate (mutating), 2 notify (incident tools that change nothing)."""
    spec = catalog.get(tool)
    if spec.mutating:
        return 1
    return 2 if spec.toolset == "incident" else 0


def rank_calls(calls: Sequence[ProposedCall], catalog: Catalog) -> list[ProposedCall]:
    """Order by phase, then agreement, then original order; ``rank`` is 1.0 for the first call."""
    order = sorted(enumerate(calls), key=lambda pair: (
        phase_of(pair[1].call.tool, catalog), -_SUPPORT.get(pair[1].source, 0), pair[0]))
    total = max(len(order), 1)
    return [p.model_copy(update={"rank": round(1.0 - i / total, 3)}) for i, (_, p) in enumerate(order)]


def _unique(items: list[Any], *, key: Any) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            out.append(item)
    return out
