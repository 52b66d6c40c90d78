"""export-feedback from stored suggestion context: one case per suggestion, verdicts placed by table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from copilot.catalog import Catalog
from copilot.domain import Action, ActionState, Approval, Decision, Principal, ToolCall
from copilot.evaluation.dataset import parse_case
from copilot.evaluation.feedback import FeedbackContext, actions_to_cases, case_to_json

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ANA = Principal(name="ana", roles=frozenset({"oncall"}))
RESTART = ToolCall(tool="restart_deployment", args={"namespace": "shop", "deployment": "checkout"})
SCALE = ToolCall(tool="scale_deployment", args={"namespace": "shop", "deployment": "checkout", "replicas": 9})
LOGS = ToolCall(tool="get_logs", args={"namespace": "shop"})


def context(sid: str = "s1", calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A stored context in copilot.store.suggestions' layout."""
    return {
        "request": "checkout 5xx after the deploy",
        "alert": {"status": "firing", "labels": {"alertname": "HighHTTP5xxRate", "namespace": "shop"}},
        "telemetry": {"log_tail": ["ERROR key [REDACTED:aws_access_key] denied"], "ratio": 0.12},
        "principal": {"name": "ana", "roles": ["oncall"], "groups": []},
        "suggestion": {"id": sid, "planner": "runbook", "prompt_hash": "p1", "summary": "restart it",
                       "calls": calls if calls is not None else []},
    }


def act(action_id: str, call: ToolCall, state: ActionState, *, approved_by: str | None = None,
        outcome: str = "needs_approval", sid: str | None = "s1", ctx: dict[str, Any] | None = None,
        minutes: int = 0) -> Action:
    when = NOW + timedelta(minutes=minutes)
    approvals = [] if approved_by is None else [
        Approval(action_id=action_id, approver=approved_by, at=when, idempotency_key=f"k-{action_id}")]
    return Action(id=action_id, call=call, requester=ANA, state=state, created_at=when, planner="runbook",
                  decision=Decision(outcome=outcome, reasons=("r",), tool=call.tool,  # type: ignore[arg-type]
                                    mutating=call.tool != "get_logs"),
                  approvals=approvals, suggestion_id=sid, context=ctx)


def call_facts(call: ToolCall, outcome: str, mutating: bool = True) -> dict[str, Any]:
    return {"tool": call.tool, "args": call.args, "mutating": mutating, "outcome": outcome}


# What becomes of a second call of the suggestion (scale_deployment) when the first (restart) was
# approved: (its state, the guard's outcome, approved by, mutating) -> where it lands in the case.
PLACEMENT = [
    (ActionState.SUCCEEDED, "needs_approval", "bo", True, "expected"),
    (ActionState.FAILED, "needs_approval", "bo", True, "expected"),
    (ActionState.REJECTED, "needs_approval", None, True, "forbidden_calls"),
    (ActionState.REJECTED, "deny", None, True, "nowhere"),  # the guard denied it: no human verdict
    (ActionState.EXPIRED, "needs_approval", None, True, "acceptable"),  # nobody judged it
    (ActionState.PROPOSED, "needs_approval", None, True, "acceptable"),
    (ActionState.SUCCEEDED, "allow", None, False, "nowhere"),  # read-only, ran at once
]


@pytest.mark.parametrize(("state", "outcome", "approver", "mutating", "lands"), PLACEMENT)
def test_second_call_lands_by_verdict(state: ActionState, outcome: str, approver: str | None,
                                      mutating: bool, lands: str) -> None:
    ctx = context(calls=[call_facts(RESTART, "needs_approval"), call_facts(SCALE, outcome, mutating)])
    first = act("a1", RESTART, ActionState.SUCCEEDED, approved_by="bo", ctx=ctx)
    second = act("a2", SCALE, state, approved_by=approver, outcome=outcome, ctx=ctx, minutes=1)
    (case,) = actions_to_cases([second, first])
    placed = {
        "expected": [p.tool for p in case.expected],
        "forbidden_calls": [p.tool for p in case.forbidden_calls],
        "acceptable": case.acceptable,
    }
    assert "restart_deployment" in placed["expected"]
    for where, tools in placed.items():
        assert ("scale_deployment" in tools) == (where == lands), (where, placed)


def test_one_case_per_suggestion_with_its_context(catalog: Catalog) -> None:
    ctx = context(calls=[call_facts(RESTART, "needs_approval"), call_facts(SCALE, "needs_approval")])
    actions = [act("a1", RESTART, ActionState.SUCCEEDED, approved_by="bo", ctx=ctx),
               act("a2", SCALE, ActionState.REJECTED, ctx=ctx, minutes=1)]
    (case,) = actions_to_cases(actions)
    assert case.id == "feedback-s1"
    assert case.request == "checkout 5xx after the deploy"
    assert case.alert is not None and case.alert.name == "HighHTTP5xxRate"
    assert case.telemetry["ratio"] == 0.12
    assert case.principal is not None and case.principal.name == "ana"
    assert [p.args for p in case.forbidden_calls] == [SCALE.args]
    assert {"suggestion", "approved", "rejected", "planner:runbook"} <= set(case.tags)
    assert "needs-context" not in case.tags
    assert "restart it" in case.notes and "approved: restart_deployment by bo" in case.notes
    assert parse_case(json.loads(case_to_json(case)), "f:1", catalog) == case


def test_suggestions_and_plain_actions_mix_oldest_first() -> None:
    other = context("s2")
    actions = [
        act("late", SCALE, ActionState.REJECTED, sid="s2", ctx=other, minutes=30),
        act("plain", RESTART, ActionState.SUCCEEDED, approved_by="bo", sid=None, minutes=5),
        act("early", RESTART, ActionState.SUCCEEDED, approved_by="bo", ctx=context(), minutes=0),
        act("unknown-sid", RESTART, ActionState.REJECTED, sid="never-recorded", minutes=10),
    ]
    cases = actions_to_cases(actions)
    assert [c.id for c in cases] == ["feedback-s1", "feedback-plain", "feedback-unknown-sid", "feedback-s2"]
    assert "needs-context" in cases[1].tags and "needs-context" in cases[2].tags


def test_duplicate_approved_calls_give_one_expected_pattern() -> None:
    ctx = context()
    actions = [act("a1", RESTART, ActionState.SUCCEEDED, approved_by="bo", ctx=ctx),
               act("a2", RESTART, ActionState.SUCCEEDED, approved_by="cy", ctx=ctx, minutes=1)]
    (case,) = actions_to_cases(actions)
    assert [p.tool for p in case.expected] == ["restart_deployment"]


def test_suggestion_nobody_judged_gives_no_case() -> None:
    ctx = context(calls=[call_facts(RESTART, "needs_approval")])
    actions = [act("a1", RESTART, ActionState.EXPIRED, ctx=ctx),
               act("a2", LOGS, ActionState.SUCCEEDED, outcome="allow", ctx=ctx),
               act("a3", SCALE, ActionState.REJECTED, outcome="deny", ctx=ctx)]
    assert actions_to_cases(actions) == []


def test_given_context_wins_over_grouping() -> None:
    stored = act("a1", RESTART, ActionState.SUCCEEDED, approved_by="bo", ctx=context())
    (case,) = actions_to_cases([stored], {"a1": FeedbackContext(request="told by the caller")})
    assert case.id == "feedback-a1" and case.request == "told by the caller"


def test_context_without_suggestion_id_fills_a_single_case() -> None:
    alone = act("a1", RESTART, ActionState.REJECTED, sid=None, ctx=context())
    (case,) = actions_to_cases([alone])
    assert case.id == "feedback-a1" and case.request == "checkout 5xx after the deploy"
    assert case.principal is not None and case.principal.roles == ["oncall"]
    assert [p.tool for p in case.forbidden_calls] == ["restart_deployment"]
