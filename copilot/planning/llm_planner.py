"""The LLM planner: a pydantic-ai Agent over any OpenAI-compatible endpoint.

The model answers with one output tool, ``propose_plan``, whose schema is generated from the
catalog (see ``llm_output``). Malformed output goes back to the model (pydantic-ai output
retries). On a timeout, a model error or output still invalid after the retries, the planner
falls back to the deterministic runbook planner and says so in ``Suggestion.notes``; it never
fails the request.

Cost: ``price`` gives USD per million input and output tokens for the configured model. Without
a price the cost is recorded as 0.0, which is right for local models (vLLM, Ollama, llama.cpp).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError
from pydantic_ai import Agent, ToolOutput
from pydantic_ai.agent import AgentRunResult
from pydantic_ai.exceptions import AgentRunError, UserError
from pydantic_ai.models import Model
from pydantic_ai.usage import RunUsage

from copilot.catalog import Catalog
from copilot.domain import PlanRequest, Suggestion, Usage
from copilot.errors import ConfigError
from copilot.planning.grounding import PlanningContext, ground_calls
from copilot.planning.llm_output import PlanOutputBase, output_to_suggestion, plan_output_model
from copilot.planning.prompts import PromptTemplate, RenderedPrompt, render_prompt

log = logging.getLogger(__name__)
OUTPUT_TOOL = "propose_plan"


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0

    def cost(self, usage: RunUsage) -> float:
        return (usage.input_tokens * self.input_per_mtok + usage.output_tokens * self.output_per_mtok) / 1e6


class ContextSource(Protocol):
    def build(self, request: PlanRequest) -> Any: ...


class ContextPlanner(Protocol):
    """A planner that can plan from an already built context (the runbook planner)."""

    name: str

    def plan_context(self, ctx: Any) -> Suggestion: ...


def build_openai_model(base_url: str, model_name: str, api_key: str | None) -> Model:
    """An OpenAIChatModel for any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp)."""
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    if not model_name:
        raise ConfigError("COPILOT_LLM_BASE_URL is set but COPILOT_LLM_MODEL is not; set the model name "
                          "the server serves (e.g. llama3.1:8b)")
    provider = OpenAIProvider(base_url=base_url, api_key=api_key or "not-needed")
    return OpenAIChatModel(model_name, provider=provider)


def build_plan_agent(catalog: Catalog, model: Model | None, *, retries: int) -> Agent[None, PlanOutputBase]:
    output = ToolOutput(plan_output_model(catalog), name=OUTPUT_TOOL,
                        description="Return the plan: summary, typed tool calls and their grounding.")
    return Agent(model, output_type=output, retries={"output": retries, "tools": retries},
                 name="copilot-planner", defer_model_check=True)


class LLMPlanner:
    """Plans with an LLM; falls back to ``fallback`` (the runbook planner) on any model failure."""

    name = "llm"

    def __init__(
        self,
        catalog: Catalog,
        contexts: ContextSource,
        fallback: ContextPlanner,
        *,
        model: Model | None,
        prompt: PromptTemplate,
        model_name: str | None = None,
        timeout_s: float = 30.0,
        retries: int = 2,
        price: ModelPrice | None = None,
    ) -> None:
        self.catalog = catalog
        self.contexts = contexts
        self.fallback = fallback
        self.prompt = prompt
        self.model = model_name or (model.model_name if model is not None else None)
        self.prompt_hash = prompt.sha256
        self.timeout_s = timeout_s
        self.price = price or ModelPrice()
        self.agent = build_plan_agent(catalog, model, retries=retries)

    def plan(self, request: PlanRequest) -> Suggestion:
        return self.plan_context(self.contexts.build(request))

    def plan_context(self, ctx: PlanningContext) -> Suggestion:
        suggestion, failure = self.ask_model(ctx)
        if suggestion is None:
            return self.fall_back(ctx, failure)
        return suggestion

    def ask_model(self, ctx: PlanningContext) -> tuple[Suggestion | None, str]:
        """The model's suggestion, or None and why it failed (timeout, error, invalid output)."""
        rendered = render_prompt(self.prompt, ctx.request, list(ctx.chunks), self.catalog,
                                 entities=_entities(ctx))
        try:
            result = self._run(rendered)
        except TimeoutError:
            return None, f"timed out after {self.timeout_s:g}s"
        except (AgentRunError, ValidationError) as exc:
            return None, _describe(exc)
        except UserError as exc:  # misconfigured model: still answer, and say why
            return None, f"is misconfigured ({exc})"
        except Exception as exc:  # noqa: BLE001 - edge: an LLM failure must never fail the request
            log.exception("llm planner: unexpected error from the model")
            return None, f"failed ({type(exc).__name__})"
        suggestion = output_to_suggestion(result.output, ctx.request, list(ctx.chunks), self.catalog)
        grounded = ground_calls(suggestion.calls, self.catalog)
        suggestion.calls = grounded.kept
        suggestion.dropped += grounded.dropped
        usage = result.usage
        suggestion.usage = Usage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                                 requests=usage.requests, cost_usd=self.price.cost(usage))
        suggestion.model = self.model
        suggestion.prompt_hash = self.prompt_hash
        return suggestion, ""

    def _run(self, rendered: RenderedPrompt) -> AgentRunResult[PlanOutputBase]:
        """``run_sync``; inside a running event loop (an async web route) it runs on a worker thread."""
        run = functools.partial(self.agent.run_sync, rendered.user, instructions=rendered.instructions,
                                timeout=self.timeout_s, model_settings={"timeout": self.timeout_s})
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run()
        context = contextvars.copy_context()  # keeps agent.override() and other context vars
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(context.run, run).result()

    def fall_back(self, ctx: PlanningContext, why: str) -> Suggestion:
        log.warning("llm planner %s; falling back to the %s planner", why, self.fallback.name)
        suggestion = self.fallback.plan_context(ctx)
        note = f"LLM planner {why}; fell back to the {self.fallback.name} planner"
        return suggestion.model_copy(update={
            "notes": [note, *suggestion.notes], "model": self.model, "prompt_hash": self.prompt_hash,
        })


def _entities(ctx: PlanningContext) -> dict[str, Any]:
    entities = getattr(ctx, "entities", None)
    values: Callable[[], dict[str, Any]] | None = getattr(entities, "placeholder_values", None)
    return dict(values()) if values is not None else {}


def _describe(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "retries" in text.lower() or "validation" in text.lower():
        return f"answered invalid output ({text[:200]})"
    return f"failed ({type(exc).__name__}: {text[:200]})"
