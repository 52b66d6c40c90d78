"""The LLM planner over the wire: OpenAIChatModel -> a loopback OpenAI-compatible server -> typed calls."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic_ai.models import override_allow_model_requests

from copilot.catalog import Catalog
from copilot.domain import PlanRequest, RetrievedChunk, Suggestion
from copilot.planning.llm_planner import LLMPlanner, ModelPrice, build_openai_model
from copilot.planning.prompts import load_prompt

CHUNK = RetrievedChunk(chunk_id="node-not-ready#3", doc_id="node-not-ready", source_path="knowledge/node.md",
                       title="Node NotReady", section="Mitigation", line_start=20, line_end=28,
                       text="Cordon the node so no new pods land on it.")


class FakeOpenAI(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions with one call of the first tool it was offered."""

    bodies: list[dict[str, Any]] = []
    headers_seen: list[dict[str, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        type(self).headers_seen.append({"authorization": self.headers.get("Authorization", "")})
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        self._json(200, completion(body["tools"][0]["function"]["name"], body["model"]))

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return


def completion(tool_name: str, model: str) -> dict[str, Any]:
    plan = {
        "summary": "node-7 is NotReady; cordon it after checking it.",
        "tool_calls": [
            {"tool": "describe_node", "args": {"node": "node-7"}, "evidence": ["nodes_not_ready"]},
            {"tool": "cordon_node", "args": {"node": "node-7"}, "citations": ["node-not-ready#3"],
             "evidence": ["nodes_not_ready"], "rationale": "the runbook cordons a NotReady node"},
        ],
        "citations": ["node-not-ready#3"], "evidence": ["nodes_not_ready"], "confidence": 0.7,
    }
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": "call_1", "type": "function",
                            "function": {"name": tool_name, "arguments": json.dumps(plan)}}],
        }}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280},
    }


@pytest.fixture()
def server() -> Iterator[str]:
    FakeOpenAI.bodies, FakeOpenAI.headers_seen = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@dataclass
class Ctx:
    request: PlanRequest
    chunks: list[RetrievedChunk] = field(default_factory=lambda: [CHUNK])


class NoFallback:
    name = "runbook"

    def plan_context(self, ctx: Any) -> Suggestion:
        raise AssertionError("the wire path should not fall back")


def test_llm_planner_over_an_openai_compatible_server(catalog: Catalog, repo_root: Any, server: str) -> None:
    model = build_openai_model(server, "local-llama", "test-key")
    planner = LLMPlanner(catalog, contexts=None, fallback=NoFallback(), model=model,  # type: ignore[arg-type]
                         prompt=load_prompt(repo_root / "prompts"), timeout_s=10, price=ModelPrice(1.0, 2.0))
    request = PlanRequest(text="node-7 went NotReady", telemetry={"nodes_not_ready": ["node-7"]})
    with override_allow_model_requests(True):
        suggestion = planner.plan_context(Ctx(request))

    assert [(p.call.tool, p.call.args) for p in suggestion.calls] == [
        ("describe_node", {"node": "node-7"}), ("cordon_node", {"node": "node-7"})]
    assert suggestion.calls[1].call.citations[0].section == "Mitigation"
    assert suggestion.model == "local-llama" and suggestion.notes == []
    assert (suggestion.usage.input_tokens, suggestion.usage.output_tokens) == (1200, 80)
    assert suggestion.usage.cost_usd == pytest.approx((1200 * 1.0 + 80 * 2.0) / 1e6)

    body = FakeOpenAI.bodies[0]
    assert body["model"] == "local-llama"
    assert [t["function"]["name"] for t in body["tools"]] == ["propose_plan"]
    assert "[id: node-not-ready#3]" in json.dumps(body["messages"])
    assert FakeOpenAI.headers_seen[0]["authorization"] == "Bearer test-key"


def test_an_unreachable_server_falls_back(catalog: Catalog, repo_root: Any) -> None:
    class Fallback(NoFallback):
        def plan_context(self, ctx: Any) -> Suggestion:
            return Suggestion(summary="runbook")

    model = build_openai_model("http://127.0.0.1:9/v1", "local-llama", None)
    planner = LLMPlanner(catalog, contexts=None, fallback=Fallback(), model=model,  # type: ignore[arg-type]
                         prompt=load_prompt(repo_root / "prompts"), timeout_s=5, retries=0)
    with override_allow_model_requests(True):
        suggestion = planner.plan_context(Ctx(PlanRequest(text="x")))
    assert suggestion.summary == "runbook"
    assert "fell back to the runbook planner" in suggestion.notes[0]


@pytest.mark.slow
def test_hybrid_suggester_composed_from_settings(tmp_path: Any, repo_root: Any, server: str) -> None:
    from copilot.compose import build_suggester
    from copilot.settings import Settings

    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "node-not-ready.md").write_text((repo_root / "knowledge" / "node-not-ready.md").read_text())
    settings = Settings(home=tmp_path / "home", knowledge_dir=knowledge, llm_base_url=server,
                        llm_model="local-llama", planner="auto")
    request = PlanRequest(text="node-7 went NotReady", telemetry={"nodes_not_ready": ["node-7"]})
    with build_suggester(settings) as suggester, override_allow_model_requests(True):
        assert (suggester.name, suggester.model) == ("hybrid", "local-llama")
        suggestion = suggester.suggest(request)
    assert suggestion.planner == "hybrid" and suggestion.prompt_hash == suggester.prompt_hash
    assert len(suggester.knowledge_digest) == 64
    describe = [p for p in suggestion.calls if p.call.tool == "describe_node"]
    assert describe and describe[0].call.args == {"node": "node-7"}
    assert describe[0].source == "runbook+llm"  # both planners proposed it: merged, ranked first
    assert all(p.decision is not None for p in suggestion.calls)
    assert FakeOpenAI.bodies, "the LLM was asked"
