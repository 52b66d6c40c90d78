"""Hybrid merge: grounding, restraint veto, dedupe by canonical args, ranking; and the HybridPlanner."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from copilot.catalog import Catalog
from copilot.domain import Citation, Evidence, PlanRequest, ProposedCall, RetrievedChunk, Suggestion, ToolCall
from copilot.planning.hybrid import HybridPlanner, dedupe_calls, merge_suggestions, rank_calls
from copilot.planning.llm_planner import LLMPlanner
from copilot.planning.prompts import load_prompt

CITE = Citation(chunk_id="rb#1", doc_id="rb", source_path="knowledge/rb.md", section="Mitigation")
CITE2 = Citation(chunk_id="rb#2", doc_id="rb", source_path="knowledge/rb.md", section="Diagnosis")
FACT = Evidence(key="abuse_distinct_ips", value=3)


def pc(tool: str, args: dict[str, Any], source: str, *cites: Citation, evidence: tuple[Evidence, ...] = ()
       ) -> ProposedCall:
    return ProposedCall(call=ToolCall(tool=tool, args=args, citations=list(cites), evidence=list(evidence)),
                        source=source)


def tools(suggestion: Suggestion | list[ProposedCall]) -> list[str]:
    calls = suggestion.calls if isinstance(suggestion, Suggestion) else suggestion
    return [p.call.tool for p in calls]


def test_same_call_in_looser_form_is_deduped_and_marked_as_agreement(catalog: Catalog) -> None:
    calls = [pc("block_ip", {"cidr": "203.0.113.7/32"}, "runbook", CITE),
             pc("block_ip", {"cidr": "203.0.113.7"}, "llm", CITE2, evidence=(FACT,))]
    merged = dedupe_calls(calls, catalog)
    assert len(merged) == 1
    assert merged[0].source == "runbook+llm"
    assert [c.chunk_id for c in merged[0].call.citations] == ["rb#1", "rb#2"]
    assert merged[0].call.evidence == [FACT]


def test_different_args_are_different_calls(catalog: Catalog) -> None:
    calls = [pc("cordon_node", {"node": "a"}, "runbook", CITE), pc("cordon_node", {"node": "b"}, "llm", CITE)]
    assert len(dedupe_calls(calls, catalog)) == 2


def test_rank_diagnose_before_mitigate_before_notify_then_agreement(catalog: Catalog) -> None:
    calls = [
        pc("create_ticket", {"title": "t"}, "runbook", CITE),
        pc("rollback_deployment", {"namespace": "shop", "deployment": "web"}, "llm", CITE),
        pc("restart_deployment", {"namespace": "shop", "deployment": "web"}, "runbook", CITE),
        pc("get_logs", {"namespace": "shop"}, "llm", CITE),
        pc("get_metrics", {"query": "up"}, "runbook+llm", CITE),
        pc("get_events", {"namespace": "shop"}, "runbook", CITE),
    ]
    ranked = rank_calls(calls, catalog)
    assert tools(ranked) == ["get_metrics", "get_events", "get_logs", "restart_deployment",
                             "rollback_deployment", "create_ticket"]
    assert ranked[0].rank == 1.0 and ranked[-1].rank < ranked[0].rank


def test_merge_keeps_grounded_drops_ungrounded_and_hallucinated(catalog: Catalog) -> None:
    runbook = Suggestion(summary="runbook says", calls=[pc("get_logs", {"namespace": "shop"}, "runbook")],
                         citations=[CITE], confidence=0.6)
    llm = Suggestion(summary="llm says", planner="llm", confidence=0.9, calls=[
        pc("get_logs", {"namespace": "shop"}, "llm", CITE),
        pc("drain_node", {"node": "n1"}, "llm"),
        pc("nuke_everything", {}, "llm", CITE),
    ])
    merged = merge_suggestions(runbook, llm, catalog)
    assert merged.planner == "hybrid" and merged.summary == "llm says" and merged.confidence == 0.9
    assert tools(merged) == ["get_logs"]
    assert merged.calls[0].source == "runbook+llm"
    assert any(d.startswith("drain_node") and "ungrounded mutating call" in d for d in merged.dropped)
    assert any(d.startswith("nuke_everything") and "not a catalog tool" in d for d in merged.dropped)


@pytest.mark.parametrize(("report", "vetoed"), [
    ("rollback_deployment held back (no-recent-rollout): nothing was rolled out recently", True),
    ("rollback_deployment not proposed: precondition `age < 60` does not hold", True),
    ("rollback_deployment: restraint: nothing was rolled out recently", True),
    ("rollback_deployment not proposed: needs namespace", False),
    ("scale_deployment held back (hpa-controls): an autoscaler owns replicas", False),
])
def test_runbook_restraint_vetoes_the_llm_call(catalog: Catalog, report: str, vetoed: bool) -> None:
    runbook = Suggestion(summary="no rollback", notes=[report])
    llm = Suggestion(summary="roll back", calls=[
        pc("rollback_deployment", {"namespace": "shop", "deployment": "web"}, "llm", CITE)])
    merged = merge_suggestions(runbook, llm, catalog)
    assert (merged.calls == []) is vetoed
    assert any("held back by a runbook restraint" in d for d in merged.dropped) is vetoed


def test_merge_without_llm_keeps_the_runbook_answer(catalog: Catalog) -> None:
    runbook = Suggestion(summary="runbook", calls=[pc("get_logs", {"namespace": "shop"}, "runbook", CITE)])
    merged = merge_suggestions(runbook, None, catalog)
    assert merged.summary == "runbook" and tools(merged) == ["get_logs"]


# --------------------------------------------------------------------------- the planner


CHUNK = RetrievedChunk(chunk_id="rb#1", doc_id="rb", source_path="knowledge/rb.md", title="RB",
                       section="Mitigation", text="roll back")


@dataclass
class Ctx:
    request: PlanRequest
    chunks: list[RetrievedChunk] = field(default_factory=lambda: [CHUNK])


class Contexts:
    def __init__(self) -> None:
        self.built = 0

    def build(self, request: PlanRequest) -> Ctx:
        self.built += 1
        return Ctx(request)


class RunbookStandIn:
    name = "runbook"

    def __init__(self) -> None:
        self.calls = 0

    def plan_context(self, ctx: Any) -> Suggestion:
        self.calls += 1
        return Suggestion(summary="runbook", calls=[pc("get_logs", {"namespace": "shop"}, "runbook", CITE)])


def hybrid(catalog: Catalog, repo_root: Path,
           **llm_kwargs: Any) -> tuple[HybridPlanner, Contexts, RunbookStandIn]:
    contexts, runbook = Contexts(), RunbookStandIn()
    llm = LLMPlanner(catalog, contexts, runbook, model=None, prompt=load_prompt(repo_root / "prompts"),
                     model_name="local-model", **llm_kwargs)
    return HybridPlanner(catalog, contexts, runbook, llm), contexts, runbook


def test_hybrid_planner_builds_one_context_and_merges(catalog: Catalog, repo_root: Path) -> None:
    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        call = {"tool": "rollback_deployment", "args": {"namespace": "shop", "deployment": "web"},
                "citations": ["rb#1"]}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name,
                                                 {"summary": "roll back web", "tool_calls": [call]})])

    planner, contexts, runbook = hybrid(catalog, repo_root)
    with planner.llm.agent.override(model=FunctionModel(respond)):
        suggestion = planner.plan(PlanRequest(text="web is down after deploy"))
    assert contexts.built == 1 and runbook.calls == 1
    assert tools(suggestion) == ["get_logs", "rollback_deployment"]
    assert suggestion.model == "local-model" and suggestion.prompt_hash == planner.llm.prompt_hash


def test_hybrid_planner_says_so_when_the_llm_fails(catalog: Catalog, repo_root: Path) -> None:
    def broken(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[])

    planner, _, runbook = hybrid(catalog, repo_root, retries=0)
    with planner.llm.agent.override(model=FunctionModel(broken)):
        suggestion = planner.plan(PlanRequest(text="web is down"))
    assert runbook.calls == 1  # the runbook planner ran once, not again as a fallback
    assert tools(suggestion) == ["get_logs"]
    assert "runbook planner's calls stand alone" in suggestion.notes[0]
