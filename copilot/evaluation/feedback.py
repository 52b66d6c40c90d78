"""Feedback as data: approved and rejected suggested calls become eval cases for review. Pure.

Only human verdicts count. An approved call (state approved, or any state an approval leads to:
executing, succeeded, failed, unknown) with at least one approval record becomes a case whose
``expected`` holds that call; read-only calls the policy ran at once carry no approval and are
skipped. A call a person rejected becomes a case that expects nothing and lists the call under
``forbidden_calls``; calls the guard itself denied (decision ``deny``) are skipped, since they say
nothing about what an engineer wanted. The requester is the case's
principal. The request, alert and telemetry come from the stored context when there is one (a
``context`` mapping on the action, or ``contexts[action.id]``); without it the case carries the
call alone and is tagged ``needs-context`` so a reviewer fills it in before adding it to a dataset.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from copilot.argtypes import duration_seconds
from copilot.domain import Action, ActionState
from copilot.errors import UserInputError
from copilot.evaluation.cases import CallPattern, CasePrincipal, EvalCase

APPROVED_STATES = frozenset({ActionState.APPROVED, ActionState.EXECUTING, ActionState.SUCCEEDED,
                             ActionState.FAILED, ActionState.UNKNOWN})
REJECTED_STATES = frozenset({ActionState.REJECTED})
FEEDBACK_STATES = APPROVED_STATES | REJECTED_STATES


class FeedbackContext(BaseModel):
    """What the suggester saw when it proposed the call."""

    model_config = ConfigDict(extra="ignore")

    request: str = ""
    alert: dict[str, Any] | None = None
    telemetry: dict[str, Any] = Field(default_factory=dict)


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
    approved = action.state in APPROVED_STATES and bool(action.approvals)
    rejected = action.state in REJECTED_STATES and action.decision.outcome != "deny"
    if not (approved or rejected):
        return None
    pattern = CallPattern(tool=action.call.tool, args=dict(action.call.args))
    tags = ["feedback", "approved" if approved else "rejected"]
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
        "principal": CasePrincipal(name=action.requester.name, roles=sorted(action.requester.roles)),
        "expected": [pattern] if approved else [],
        "forbidden_calls": [] if approved else [pattern],
        "source_runbook": _first_runbook(action),
        "notes": _notes(action, approved),
        "tags": tags,
    })


def actions_to_cases(
    actions: Iterable[Action], contexts: Mapping[str, FeedbackContext] | None = None
) -> list[EvalCase]:
    """Eval cases for every approved or rejected action, oldest first."""
    cases = []
    for action in sorted(actions, key=lambda a: (a.created_at, a.id)):
        case = action_to_case(action, _context_for(action, contexts or {}))
        if case is not None:
            cases.append(case)
    return cases


def case_to_json(case: EvalCase) -> str:
    """One JSONL line in the contract's format, without empty optional fields."""
    data = case.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data.setdefault("request", case.request)
    data.setdefault("expected", [])
    return json.dumps(data, ensure_ascii=False, sort_keys=False)


def _context_for(action: Action, contexts: Mapping[str, FeedbackContext]) -> FeedbackContext | None:
    if action.id in contexts:
        return contexts[action.id]
    stored = getattr(action, "context", None)  # present once the store keeps the request context
    if isinstance(stored, Mapping):
        return FeedbackContext.model_validate(stored)
    return None


def _first_runbook(action: Action) -> str | None:
    return next((c.source_path for c in action.call.citations if c.source_path), None)


def _notes(action: Action, approved: bool) -> str:
    verdict = "approved" if approved else "rejected"
    who = ", ".join(a.approver for a in action.approvals) or "-"
    reasons = "; ".join(action.decision.reasons)
    when = f"{action.created_at:%Y-%m-%d %H:%M}"
    return (f"feedback: {verdict} (state {action.state.value}) by {who}; proposed {when}"
            f" by {action.planner or 'unknown planner'}; guard: {action.decision.outcome} ({reasons})")
