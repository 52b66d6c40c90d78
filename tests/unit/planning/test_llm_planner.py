"""The LLM planner with FunctionModel/TestModel: valid plans, retries, hallucinations, grounding, timeouts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.test import TestModel

from copilot.catalog import Catalog
from copilot.domain import PlanRequest, RetrievedChunk, Suggestion
from copilot.planning.llm_planner import LLMPlanner, ModelPrice
from copilot.planning.prompts import load_prompt

CHUNK = RetrievedChunk(
    chunk_id="deploy-5xx-spike#2", doc_id="deploy-5xx-spike", source_path="knowledge/deploy-5xx-spike.md",
    title="5xx spike after a deploy", section="Mitigation", line_start=30, line_end=41,
    text="If the 5xx started with the last rollout, roll the deployment back.",
)
TELEMETRY = {
    'http_5xx_ratio{service="checkout"}': 0.12,
    'deployment_last_rollout_age_minutes{deployment="checkout"}': 11,
}


@dataclass
class Ctx:
    """A stand-in for planning.context.PlanContext."""

    request: PlanRequest
    chunks: list[RetrievedChunk] = field(default_factory=lambda: [CHUNK])


class FallbackPlanner:
    name = "runbook"

    def __init__(self) -> None:
        self.contexts: list[Any] = []

    def plan_context(self, ctx: Any) -> Suggestion:
        self.contexts.append(ctx)
        return Suggestion(summary="from the runbook planner", planner="runbook")


def make_planner(catalog: Catalog, repo_root: Path, **kwargs: Any) -> tuple[LLMPlanner, FallbackPlanner]:
    fallback = FallbackPlanner()
    planner = LLMPlanner(catalog, contexts=None, fallback=fallback, model=None,  # type: ignore[arg-type]
                         prompt=load_prompt(repo_root / "prompts"), **kwargs)
    return planner, fallback


def request() -> Ctx:
    return Ctx(PlanRequest(text="checkout 5xx since the deploy in shop", telemetry=dict(TELEMETRY)))


def plan(calls: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"summary": "5xx after a rollout", "tool_calls": calls, "confidence": 0.8, **extra}


ROLLBACK = {"tool": "rollback_deployment", "args": {"namespace": "shop", "deployment": "checkout"},
            "citations": ["deploy-5xx-spike#2"], "evidence": ['http_5xx_ratio{service="checkout"}'],
            "rationale": "errors began with the rollout"}
METRICS = {"tool": "get_metrics", "args": {"query": 'sum(rate(http_requests_total{code=~"5.."}[5m]))'},
           "evidence": ["http_5xx_ratio"]}


def answering(*answers: dict[str, Any]) -> tuple[FunctionModel, list[list[ModelMessage]]]:
    """A FunctionModel that returns the given plans in turn (the last one repeats)."""
    seen: list[list[ModelMessage]] = []

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen.append(list(messages))
        answer = answers[min(len(seen), len(answers)) - 1]
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, answer)])

    return FunctionModel(respond), seen


def test_valid_plan_maps_to_typed_grounded_calls(catalog: Catalog, repo_root: Path) -> None:
    planner, fallback = make_planner(catalog, repo_root, price=ModelPrice(1.0, 2.0))
    model, _ = answering(plan([METRICS, ROLLBACK], citations=["deploy-5xx-spike#2"]))
    with planner.agent.override(model=model):
        suggestion = planner.plan_context(request())
    assert [p.call.tool for p in suggestion.calls] == ["get_metrics", "rollback_deployment"]
    rollback = suggestion.calls[1]
    assert rollback.mutating and rollback.source == "llm"
    assert rollback.call.args == {"namespace": "shop", "deployment": "checkout"}
    assert rollback.call.citations[0].source_path == "knowledge/deploy-5xx-spike.md"
    assert rollback.call.citations[0].line_start == 30
    assert rollback.call.evidence[0].value == 0.12
    assert suggestion.calls[0].call.evidence[0].key == 'http_5xx_ratio{service="checkout"}'  # by metric name
    assert suggestion.prompt_hash == planner.prompt.sha256 and len(suggestion.prompt_hash) == 64
    assert suggestion.usage.requests == 1 and suggestion.usage.input_tokens > 0
    assert suggestion.usage.cost_usd == pytest.approx(
        (suggestion.usage.input_tokens * 1.0 + suggestion.usage.output_tokens * 2.0) / 1e6)
    assert suggestion.citations[0].chunk_id == "deploy-5xx-spike#2"
    assert fallback.contexts == []


def test_prompt_carries_chunk_ids_telemetry_and_catalog(catalog: Catalog, repo_root: Path) -> None:
    planner, _ = make_planner(catalog, repo_root)
    model, seen = answering(plan([]))
    with planner.agent.override(model=model):
        planner.plan_context(request())
    prompt = str(seen[0])
    assert "[id: deploy-5xx-spike#2]" in prompt
    assert "deployment_last_rollout_age_minutes" in prompt
    assert "drain_node(node: str) [mutating]" in prompt


def test_malformed_plan_is_retried(catalog: Catalog, repo_root: Path) -> None:
    args = {"namespace": "shop", "deployment": "checkout", "replicas": "lots"}
    bad_scale = {"tool": "scale_deployment", "args": args, "citations": ["deploy-5xx-spike#2"]}
    planner, fallback = make_planner(catalog, repo_root, retries=2)
    model, seen = answering(plan([bad_scale]), plan([ROLLBACK]))
    with planner.agent.override(model=model):
        suggestion = planner.plan_context(request())
    assert len(seen) == 2
    feedback = seen[1][-1].parts[-1]  # what the model was told before its second try
    assert getattr(feedback, "outcome", "retried") == "retried"
    assert "replicas" in str(feedback.content)  # type: ignore[union-attr]
    assert [p.call.tool for p in suggestion.calls] == ["rollback_deployment"]
    assert suggestion.usage.requests == 2
    assert fallback.contexts == []


def test_hallucinated_tool_is_rejected_and_retried(catalog: Catalog, repo_root: Path) -> None:
    invented = {"tool": "delete_cluster", "args": {"cluster": "prod"}, "citations": ["deploy-5xx-spike#2"]}
    planner, _ = make_planner(catalog, repo_root)
    model, seen = answering(plan([invented]), plan([ROLLBACK]))
    with planner.agent.override(model=model):
        suggestion = planner.plan_context(request())
    assert len(seen) == 2
    assert "delete_cluster" not in [p.call.tool for p in suggestion.calls]


def test_persistent_garbage_falls_back_to_runbook_planner(catalog: Catalog, repo_root: Path) -> None:
    invented = {"tool": "delete_cluster", "args": {"cluster": "prod"}}
    planner, fallback = make_planner(catalog, repo_root, retries=1)
    model, seen = answering(plan([invented]))
    with planner.agent.override(model=model):
        suggestion = planner.plan_context(request())
    assert len(seen) == 2  # first answer + one retry
    assert suggestion.summary == "from the runbook planner"
    assert "fell back to the runbook planner" in suggestion.notes[0]
    assert "invalid output" in suggestion.notes[0]
    assert suggestion.prompt_hash == planner.prompt_hash
    assert len(fallback.contexts) == 1


@pytest.mark.parametrize(("call", "why"), [
    ({"tool": "rollback_deployment", "args": {"namespace": "shop", "deployment": "checkout"}},
     "ungrounded mutating call"),
    ({"tool": "rollback_deployment", "args": {"namespace": "shop", "deployment": "checkout"},
      "citations": ["made-up-chunk"], "evidence": ["no_such_metric"]}, "ungrounded mutating call"),
    ({"tool": "get_logs", "args": {"namespace": "shop"}}, "ungrounded call"),
])
def test_ungrounded_calls_are_dropped_and_reported(catalog: Catalog, repo_root: Path,
                                                   call: dict[str, Any], why: str) -> None:
    planner, _ = make_planner(catalog, repo_root)
    model, _ = answering(plan([call, METRICS]))
    with planner.agent.override(model=model):
        suggestion = planner.plan_context(request())
    assert [p.call.tool for p in suggestion.calls] == ["get_metrics"]
    assert len(suggestion.dropped) == 1
    assert suggestion.dropped[0].startswith(call["tool"]) and why in suggestion.dropped[0]


def test_unknown_citations_are_noted(catalog: Catalog, repo_root: Path) -> None:
    planner, _ = make_planner(catalog, repo_root)
    model, _ = answering(plan([{**ROLLBACK, "citations": ["deploy-5xx-spike#2", "ghost#9"]}]))
    with planner.agent.override(model=model):
        suggestion = planner.plan_context(request())
    assert [c.chunk_id for c in suggestion.calls[0].call.citations] == ["deploy-5xx-spike#2"]
    assert any("ghost#9" in note for note in suggestion.notes)


def test_timeout_falls_back_to_runbook_planner(catalog: Catalog, repo_root: Path) -> None:
    async def too_slow(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        await asyncio.sleep(5)
        raise AssertionError("the timeout should have cancelled this")

    planner, fallback = make_planner(catalog, repo_root, timeout_s=0.05)
    with planner.agent.override(model=FunctionModel(too_slow)):
        suggestion = planner.plan_context(request())
    assert suggestion.summary == "from the runbook planner"
    assert suggestion.notes[0] == "LLM planner timed out after 0.05s; fell back to the runbook planner"
    assert len(fallback.contexts) == 1


def test_model_error_falls_back(catalog: Catalog, repo_root: Path) -> None:
    def broken(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[])  # an empty answer: no output tool called, no text

    planner, fallback = make_planner(catalog, repo_root, retries=0)
    with planner.agent.override(model=FunctionModel(broken)):
        suggestion = planner.plan_context(request())
    assert "fell back to the runbook planner" in suggestion.notes[0]
    assert len(fallback.contexts) == 1


def test_schema_valid_output_from_test_model(catalog: Catalog, repo_root: Path) -> None:
    planner, _ = make_planner(catalog, repo_root)
    with planner.agent.override(model=TestModel()):
        suggestion = planner.plan_context(request())
    assert suggestion.planner == "llm"
    assert all(p.call.tool in catalog for p in suggestion.calls)


def test_planning_inside_a_running_event_loop(catalog: Catalog, repo_root: Path) -> None:
    planner, fallback = make_planner(catalog, repo_root)
    model, _ = answering(plan([ROLLBACK]))

    async def from_an_async_route() -> Suggestion:
        return planner.plan_context(request())

    with planner.agent.override(model=model):
        suggestion = asyncio.run(from_an_async_route())
    assert [p.call.tool for p in suggestion.calls] == ["rollback_deployment"]
    assert fallback.contexts == []
