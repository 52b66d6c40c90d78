"""Feedback as data: approved and rejected suggested calls become eval cases for review. Pure.

Only human verdicts count. An approved call (state approved, or any state an approval leads to:
executing, succeeded, failed, unknown) with at least one approval record becomes a case whose
``expected`` holds that call; read-only calls the policy ran at once carry no approval and are
skipped. A call a person rejected becomes a case that expects nothing and lists the call under
``forbidden_calls``; calls the guard itself denied (decision ``deny``) are skipped, since they say
nothing about what an engineer wanted.

Actions proposed from one recorded suggestion (``suggestion_id`` plus the stored ``context``, see
copilot.store.suggestions) become **one** case for that situation: the request, alert, telemetry
and principal it answered; every approved call in ``expected``, every call a person rejected in
``forbidden_calls``, and the tools of the suggestion's other mutating calls that nobody judged
(left to expire, or still open) in ``acceptable``, since silence says they were not needed, not
that they were wrong. Calls the guard denied stay out of all three.

Other actions become one case each: the requester is the principal, and the request, alert and
telemetry come from ``contexts[action.id]`` or the action's ``context`` when there is one; without
it the case carries the call alone and is tagged ``needs-context`` so a reviewer fills it in before
adding it to a dataset.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from copilot.argtypes import duration_seconds
from copilot.domain import Action, ActionState, Principal
from copilot.errors import UserInputError
from copilot.evaluation.cases import CallPattern, CasePrincipal, EvalCase

APPROVED_STATES = frozenset({ActionState.APPROVED, ActionState.EXECUTING, ActionState.SUCCEEDED,
                             ActionState.FAILED, ActionState.UNKNOWN})
REJECTED_STATES = frozenset({ActionState.REJECTED})
FEEDBACK_STATES = APPROVED_STATES | REJECTED_STATES


class SuggestedCallFacts(BaseModel):
    """One call of a recorded suggestion, as stored with it."""

    model_config = ConfigDict(extra="ignore")

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    mutating: bool = False
    outcome: str | None = None


class SuggestionFacts(BaseModel):
    """The stored suggestion metadata a case's notes and ``acceptable`` use."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    planner: str | None = None
    prompt_hash: str | None = None
    summary: str = ""
    calls: list[SuggestedCallFacts] = Field(default_factory=list)


class FeedbackContext(BaseModel):
    """What the suggester saw when it proposed the call."""

    model_config = ConfigDict(extra="ignore")

    request: str = ""
    alert: dict[str, Any] | None = None
    telemetry: dict[str, Any] = Field(default_factory=dict)
    principal: CasePrincipal | None = None
    suggestion: SuggestionFacts | None = None


def since_cutoff(since: str, now: datetime) -> datetime:
    """``7d`` -> the datetime seven days before ``now``."""
    try:
        seconds = duration_seconds(since)
    except ValueError as exc:
        raise UserInputError(f"--since {since!r}: {exc}") from None
    if seconds <= 0:
        raise UserInputError(f"--since {since!r} must be positive, e.g. 7d")
    return now - timedelta(seconds=seconds)


def action_to_case(action: Action, context: FeedbackContext | None = None) -> EvalCase | None:
    """One eval case for a human-approved or human-rejected action; None otherwise."""
    verdict = _verdict(action)
    if verdict is None:
        return None
    approved = verdict == "approved"
    pattern = _pattern(action)
    tags = ["feedback", verdict]
    if action.planner:
        tags.append(f"planner:{action.planner}")
    if context is None:
        tags.append("needs-context")
    ctx = context or FeedbackContext()
    return EvalCase.model_validate({
        "id": f"feedback-{action.id}",
        "request": ctx.request,
        "alert": ctx.alert,
        "telemetry": ctx.telemetry,
        "principal": ctx.principal or _case_principal(action.requester),
        "expected": [pattern] if approved else [],
        "forbidden_calls": [] if approved else [pattern],
        "source_runbook": _first_runbook([action]),
        "notes": _notes(action, approved),
        "tags": tags,
    })


def suggestion_to_case(actions: Sequence[Action], context: FeedbackContext) -> EvalCase | None:
    """One eval case for the actions of one recorded suggestion; None when no person judged any."""
    approved = [a for a in actions if _verdict(a) == "approved"]
    rejected = [a for a in actions if _verdict(a) == "rejected"]
    if not (approved or rejected):
        return None
    facts = context.suggestion or SuggestionFacts()
    judged_tools = {a.call.tool for a in (*approved, *rejected)}
    unjudged = sorted({c.tool for c in facts.calls if c.mutating and c.outcome != "deny"} - judged_tools)
    planner = facts.planner or actions[0].planner
    verdicts = [name for name, group in (("approved", approved), ("rejected", rejected)) if group]
    tags = ["feedback", "suggestion", *verdicts]
    if planner:
        tags.append(f"planner:{planner}")
    return EvalCase.model_validate({
        "id": f"feedback-{facts.id or actions[0].suggestion_id}",
        "request": context.request,
        "alert": context.alert,
        "telemetry": context.telemetry,
        "principal": context.principal or _case_principal(actions[0].requester),
        "expected": _unique_patterns(approved),
        "acceptable": unjudged,
        "forbidden_calls": _unique_patterns(rejected),
        "source_runbook": _first_runbook([*approved, *rejected]),
        "notes": _suggestion_notes(facts, planner, approved, rejected, unjudged),
        "tags": tags,
    })


def actions_to_cases(
    actions: Iterable[Action], contexts: Mapping[str, FeedbackContext] | None = None
) -> list[EvalCase]:
    """Eval cases for every approved or rejected action, oldest first: one per recorded suggestion,
    one per action otherwise."""
    given = contexts or {}
    groups: dict[tuple[str, str], list[Action]] = {}
    for action in sorted(actions, key=lambda a: (a.created_at, a.id)):
        stored = action.suggestion_id if isinstance(action.context, Mapping) else None
        key = ("suggestion", stored) if stored and action.id not in given else ("action", action.id)
        groups.setdefault(key, []).append(action)
    cases = []
    for (kind, _), members in groups.items():
        if kind == "suggestion":
            case = suggestion_to_case(members, FeedbackContext.model_validate(members[0].context))
        else:
            case = action_to_case(members[0], _context_for(members[0], given))
        if case is not None:
            cases.append(case)
    return cases


def case_to_json(case: EvalCase) -> str:
    """One JSONL line in the contract's format, without empty optional fields."""
    data = case.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data.setdefault("request", case.request)
    data.setdefault("expected", [])
    return json.dumps(data, ensure_ascii=False, sort_keys=False)


def _verdict(action: Action) -> Literal["approved", "rejected"] | None:
    """A person's verdict on the action: approvals recorded, or rejected other than by the guard."""
    if action.state in APPROVED_STATES and action.approvals:
        return "approved"
    if action.state in REJECTED_STATES and action.decision.outcome != "deny":
        return "rejected"
    return None


def _pattern(action: Action) -> CallPattern:
    return CallPattern(tool=action.call.tool, args=dict(action.call.args))


def _unique_patterns(actions: Sequence[Action]) -> list[CallPattern]:
    unique = {action.call.key(): _pattern(action) for action in reversed(actions)}
    return [unique[key] for key in dict.fromkeys(a.call.key() for a in actions)]


def _case_principal(principal: Principal) -> CasePrincipal:
    return CasePrincipal(name=principal.name, roles=sorted(principal.roles), groups=sorted(principal.groups))


def _context_for(action: Action, contexts: Mapping[str, FeedbackContext]) -> FeedbackContext | None:
    if action.id in contexts:
        return contexts[action.id]
    if isinstance(action.context, Mapping):
        return FeedbackContext.model_validate(action.context)
    return None


def _first_runbook(actions: Sequence[Action]) -> str | None:
    return next((c.source_path for a in actions for c in a.call.citations if c.source_path), None)


def _notes(action: Action, approved: bool) -> str:
    verdict = "approved" if approved else "rejected"
    who = ", ".join(a.approver for a in action.approvals) or "-"
    reasons = "; ".join(action.decision.reasons)
    when = f"{action.created_at:%Y-%m-%d %H:%M}"
    return (f"feedback: {verdict} (state {action.state.value}) by {who}; proposed {when}"
            f" by {action.planner or 'unknown planner'}; guard: {action.decision.outcome} ({reasons})")


def _suggestion_notes(facts: SuggestionFacts, planner: str | None, approved: Sequence[Action],
                      rejected: Sequence[Action], unjudged: Sequence[str]) -> str:
    when = f"{min(a.created_at for a in (*approved, *rejected)):%Y-%m-%d %H:%M}"
    parts = [f"feedback on a suggestion by {planner or 'unknown planner'} proposed {when}"
             f" (prompt {facts.prompt_hash or '-'}): {facts.summary or '-'}"]
    for verdict, group in (("approved", approved), ("rejected", rejected)):
        for action in group:
            who = ", ".join(a.approver for a in action.approvals) or "a person"
            parts.append(f"{verdict}: {action.call.tool} by {who} (state {action.state.value})")
    if unjudged:
        parts.append(f"not judged, listed as acceptable: {', '.join(unjudged)}")
    return "; ".join(parts)
