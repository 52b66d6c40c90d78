"""compare: regressions and improvements case by case; export-feedback: actions -> eval cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from copilot.catalog import Catalog
from copilot.domain import Action, ActionState, Approval, Decision, Principal, ToolCall
from copilot.errors import UserInputError
from copilot.evaluation.cases import EvalCase
from copilot.evaluation.compare import compare_reports, format_comparison
from copilot.evaluation.dataset import parse_case
from copilot.evaluation.feedback import FeedbackContext, actions_to_cases, case_to_json, since_cutoff
from copilot.evaluation.report_json import CaseResult, EvalReport
from copilot.evaluation.scoring import score_case

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def report(results: dict[str, bool], **metrics: float | None) -> EvalReport:
    rows = [CaseResult(id=i, passed=p, reasons=[] if p else [f"{i} failed"]) for i, p in results.items()]
    passed = sum(results.values())
    base = {"accuracy": passed / len(rows), "unsafe_rate": 0.0}
    return EvalReport(
        dataset="d",
        started_at=NOW,
        duration_s=1.0,
        planner="runbook",
        cases=len(rows),
        passed=passed,
        results=rows,
        **{**base, **metrics},
    )


def test_compare_case_by_case() -> None:
    before = report({"a": True, "b": False, "c": True, "d": False, "gone": True}, unsafe_rate=0.0)
    after = report({"a": False, "b": True, "c": True, "d": False, "new": True}, unsafe_rate=0.2)
    result = compare_reports(before, after)
    assert [c.id for c in result.regressed] == ["a"]
    assert result.regressed[0].reasons == ["a failed"]
    assert [c.id for c in result.improved] == ["b"]
    assert result.still_failing == ["d"]
    assert [c.id for c in result.added] == ["new"] and result.removed == ["gone"]
    unsafe = next(m for m in result.metrics if m.name == "unsafe_rate")
    assert unsafe.delta == pytest.approx(0.2) and unsafe.worse
    lines = format_comparison(result)
    assert "regressed: 1" in lines and "  - a: a failed" in lines and "improved: 1" in lines
    assert any(
        line.startswith("  unsafe_rate: 0.000 -> 0.200 (+0.200)") and "WORSE" in line for line in lines
    )


def test_compare_identical_reports_shows_nothing_moved() -> None:
    same = report({"a": True, "b": False})
    result = compare_reports(same, same)
    assert not result.regressed and not result.improved
    assert all(not m.delta for m in result.metrics)


# --------------------------------------------------------------------------- feedback


def action(
    state: ActionState,
    *,
    approved_by: str | None = None,
    outcome: str = "needs_approval",
    when: datetime = NOW,
) -> Action:
    call = ToolCall(tool="restart_deployment", args={"namespace": "shop", "deployment": "checkout"})
    approvals = (
        [Approval(action_id="x", approver=approved_by, at=when, idempotency_key=f"k-{state}")]
        if approved_by
        else []
    )
    return Action(
        id=f"act-{state.value}-{outcome}",
        call=call,
        requester=Principal(name="ana", roles=frozenset({"oncall"})),
        decision=Decision(outcome=outcome, reasons=("medium risk",), tool=call.tool, mutating=True),  # type: ignore[arg-type]
        state=state,
        created_at=when,
        approvals=approvals,
        planner="runbook",
    )


def test_approved_becomes_expected_and_rejected_becomes_forbidden(catalog: Catalog) -> None:
    actions = [
        action(ActionState.SUCCEEDED, approved_by="bo", when=NOW - timedelta(hours=1)),
        action(ActionState.REJECTED),
    ]
    approved, rejected = actions_to_cases(reversed(actions))  # oldest first
    assert approved.expected[0].tool == "restart_deployment" and not approved.forbidden_calls
    assert rejected.expected == [] and rejected.forbidden_calls[0].args["deployment"] == "checkout"
    assert approved.principal is not None and approved.principal.name == "ana"
    assert "approved" in approved.tags and "rejected" in rejected.tags and "needs-context" in rejected.tags
    # the exported cases score as intended against the very call that was judged
    assert score_case(approved, [actions[0].call], catalog).passed
    assert score_case(rejected, [actions[1].call], catalog).unsafe


@pytest.mark.parametrize(
    "the_action",
    [
        action(ActionState.PROPOSED),  # no verdict yet
        action(ActionState.EXPIRED),
        action(ActionState.APPROVED, outcome="allow"),  # the policy ran it at once: no human approval
        action(ActionState.REJECTED, outcome="deny"),  # the guard denied it: no human verdict
    ],
)
def test_only_human_verdicts_are_exported(the_action: Action) -> None:
    assert actions_to_cases([the_action]) == []


def test_context_fills_the_request_and_lines_reload_as_cases(catalog: Catalog) -> None:
    act = action(ActionState.APPROVED, approved_by="bo")
    ctx = FeedbackContext(
        request="checkout is stuck",
        alert={"labels": {"alertname": "KubePodNotReady"}},
        telemetry={"ready_replicas": 0},
    )
    (case,) = actions_to_cases([act], {act.id: ctx})
    assert case.request == "checkout is stuck" and "needs-context" not in case.tags
    line = case_to_json(case)
    reloaded = parse_case(json.loads(line), "feedback.jsonl:1", catalog)
    assert reloaded == case
    assert json.loads(line)["request"] == "checkout is stuck"


def test_export_without_context_still_round_trips(catalog: Catalog) -> None:
    (case,) = actions_to_cases([action(ActionState.REJECTED)])
    data = json.loads(case_to_json(case))
    assert data["request"] == "" and data["expected"] == []
    assert parse_case(data, "f:1", catalog) == case
    assert isinstance(case, EvalCase)


@pytest.mark.parametrize(("since", "delta"), [("7d", timedelta(days=7)), ("12h", timedelta(hours=12))])
def test_since_cutoff(since: str, delta: timedelta) -> None:
    assert since_cutoff(since, NOW) == NOW - delta


@pytest.mark.parametrize("since", ["lately", "0d", ""])
def test_bad_since(since: str) -> None:
    with pytest.raises(UserInputError, match="--since"):
        since_cutoff(since, NOW)
