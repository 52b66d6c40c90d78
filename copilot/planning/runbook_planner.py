"""The deterministic runbook planner: the embedded default brain (no LLM)."""

from __future__ import annotations

from pathlib import Path

from copilot.catalog import Catalog
from copilot.domain import PlanRequest, Suggestion
from copilot.planning.context import ContextBuilder, PlanContext
from copilot.ports import Retriever


class RunbookPlanner:
    """Runbook steps + telemetry -> typed, grounded, restrained calls."""

    name = "runbook"

    def __init__(self, retriever: Retriever, catalog: Catalog, *, rules_path: Path | None = None,
                 k: int = 8) -> None:
        self._context = ContextBuilder(retriever, k=k)
        self._catalog = catalog
        self._rules_path = rules_path

    def plan(self, request: PlanRequest) -> Suggestion:
        return self.plan_context(self._context.build(request))

    def plan_context(self, ctx: PlanContext) -> Suggestion:
        return Suggestion(summary="No action: the runbook planner is being built.", planner=self.name)
