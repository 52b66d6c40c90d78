"""Run eval cases against a suggester and build the report.

Engine: pydantic-evals. Each case becomes ``pydantic_evals.Case(name=id, inputs=EvalCase)``, the
``ToolCallScorer`` evaluator applies our scoring (``scoring.score_case``), and
``Dataset.evaluate_sync`` drives the loop. Choices, and why:
- ``max_concurrency=1`` and an ``async`` task: pydantic-evals runs a sync task in a worker thread,
  but an async one on the calling thread. The suggester (Chroma, SQLite, an HTTP client) is built
  once on this thread and stays on it, and cases run in dataset order, so runs are deterministic.
- ``progress=False``: the CLI draws its own rich progress through ``on_case``, in the same console
  as the final table.
- Latency is measured around ``suggest()`` with ``perf_counter`` (the planner alone, not scoring).
- A suggester that raises fails that case (pydantic-evals records the failure) with the error as its
  reason; the run goes on. The evaluator's verdict lives in pydantic-evals' own report; the
  per-case results here are rescored with the same pure function, which is cheap and keeps the
  report's fields typed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from typing import Protocol

from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import EvaluationReason, Evaluator, EvaluatorContext

from copilot.catalog import Catalog
from copilot.domain import PlanRequest, Suggestion, ToolCall, Usage
from copilot.evaluation.cases import EvalCase
from copilot.evaluation.metrics import by_tag, run_metrics
from copilot.evaluation.report_json import CaseResult, EvalReport, ProposedRecord, format_citation
from copilot.evaluation.scoring import CaseScore, score_case

log = logging.getLogger(__name__)


class Suggester(Protocol):
    """The thing under test (``copilot.compose.build_suggester`` builds the real one)."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str | None: ...

    @property
    def prompt_hash(self) -> str | None: ...

    @property
    def knowledge_digest(self) -> str | None: ...

    def suggest(self, request: PlanRequest) -> Suggestion: ...


@dataclass
class CaseRun:
    """The task's output for one case."""

    suggestion: Suggestion
    latency_ms: float


def proposed_calls(run: CaseRun | None) -> list[ToolCall]:
    """Every call of the suggestion, whatever the guard decided (see scoring's docstring)."""
    return [p.call for p in run.suggestion.calls] if run else []


@dataclass
class ToolCallScorer(Evaluator[EvalCase, CaseRun, None]):
    """pydantic-evals evaluator: the contract's pass rules, plus unsafe and argument counts."""

    catalog: Catalog = field(repr=False)

    def evaluate(
        self, ctx: EvaluatorContext[EvalCase, CaseRun, None]
    ) -> dict[str, EvaluationReason | bool | int]:
        score = score_case(ctx.inputs, proposed_calls(ctx.output), self.catalog)
        verdict = "; ".join(score.reasons) or "all rules hold"
        return {
            "passed": EvaluationReason(value=score.passed, reason=verdict),
            "safe": not score.unsafe,
            "matched_calls": score.matched_calls,
            "proposed_calls": score.proposed_calls,
        }


def to_pydantic_dataset(
    cases: Sequence[EvalCase], catalog: Catalog, name: str
) -> Dataset[EvalCase, CaseRun, None]:
    """Our cases as a pydantic-evals Dataset with the ToolCallScorer evaluator."""
    return Dataset(
        name=name,
        cases=[Case(name=case.id, inputs=case) for case in cases],
        evaluators=[ToolCallScorer(catalog=catalog)],
    )


def run_eval(
    cases: Sequence[EvalCase],
    suggester: Suggester,
    catalog: Catalog,
    *,
    dataset_label: str = "",
    on_case: Callable[[EvalCase], None] | None = None,
) -> EvalReport:
    """Run every case once, in order, and score it. ``on_case`` is called after each case."""
    started, clock = datetime.now(UTC), perf_counter()

    async def task(case: EvalCase) -> CaseRun:
        begin = perf_counter()
        try:
            suggestion = suggester.suggest(case.plan_request())
        finally:
            if on_case is not None:
                on_case(case)
        return CaseRun(suggestion=suggestion, latency_ms=(perf_counter() - begin) * 1000)

    dataset = to_pydantic_dataset(cases, catalog, dataset_label or "eval")
    report = dataset.evaluate_sync(task, name=suggester.name, max_concurrency=1, progress=False)
    runs: dict[str, CaseRun] = {c.name: c.output for c in report.cases}
    errors: dict[str, str] = {f.name: f.error_message for f in report.failures}
    if errors:
        log.warning("%d case(s) failed with an error in the suggester; first: %s", len(errors),
                    next(iter(errors.values())))
    results, scores, usages = [], [], []
    for case in cases:
        run = runs.get(case.id)
        score = score_case(case, proposed_calls(run), catalog)
        if run is None:
            score = _errored(score, errors.get(case.id, "no result"))
        scores.append(score)
        usages.append(run.suggestion.usage if run else Usage())
        results.append(_case_result(case, run, score, catalog, errors.get(case.id)))
    metrics = run_metrics(scores, [r.latency_ms for r in results], usages)
    return EvalReport(
        dataset=dataset_label,
        started_at=started,
        duration_s=round(perf_counter() - clock, 3),
        planner=suggester.name,
        model=suggester.model,
        prompt_hash=suggester.prompt_hash,
        knowledge_digest=suggester.knowledge_digest,
        by_tag=by_tag([(case.tags, score) for case, score in zip(cases, scores, strict=True)]),
        results=results,
        **metrics.model_dump(),
    )


def _errored(score: CaseScore, error: str) -> CaseScore:
    reasons = [f"suggester failed: {error}", *score.reasons]
    # a crash is neither a pass nor restraint: keep it out of the restraint rate
    return score.model_copy(update={"passed": False, "reasons": reasons, "restraint_case": False})


def _citations(run: CaseRun | None) -> list[str]:
    if run is None:
        return []
    cited = [c for p in run.suggestion.calls for c in p.call.citations] + list(run.suggestion.citations)
    return list(dict.fromkeys(format_citation(c) for c in cited))


def _case_result(
    case: EvalCase, run: CaseRun | None, score: CaseScore, catalog: Catalog, error: str | None
) -> CaseResult:
    proposed = [
        ProposedRecord.from_proposed(p, mutating=p.call.tool in catalog and catalog.get(p.call.tool).mutating)
        for p in (run.suggestion.calls if run else [])
    ]
    return CaseResult(
        id=case.id,
        passed=score.passed,
        unsafe=score.unsafe,
        reasons=score.reasons,
        proposed=proposed,
        latency_ms=round(run.latency_ms, 3) if run else 0.0,
        expected=[p.model_dump() for p in case.expected],
        tags=case.tags,
        request=case.request,
        source_runbook=case.source_runbook,
        summary=run.suggestion.summary if run else "",
        citations=_citations(run),
        dropped=list(run.suggestion.dropped) if run else [],
        error=error,
    )
