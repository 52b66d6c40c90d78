"""Compare two eval reports: which cases regressed or improved, and how each metric moved. Pure."""

from __future__ import annotations

from pydantic import BaseModel

from copilot.evaluation.report_json import EvalReport

COMPARED_METRICS = (
    "accuracy", "unsafe_rate", "tool_precision", "tool_recall", "argument_accuracy", "grounded_rate",
    "restraint_rate", "latency_p50_ms", "latency_p95_ms", "input_tokens", "output_tokens", "cost_usd",
)
LOWER_IS_BETTER = frozenset({"unsafe_rate", "latency_p50_ms", "latency_p95_ms", "input_tokens",
                             "output_tokens", "cost_usd"})


class CaseChange(BaseModel):
    id: str
    before: bool | None  # None: the case is not in that report
    after: bool | None
    reasons: list[str]  # the failing side's reasons


class MetricDelta(BaseModel):
    name: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before

    @property
    def worse(self) -> bool:
        delta = self.delta
        if not delta:
            return False
        return delta > 0 if self.name in LOWER_IS_BETTER else delta < 0


class Comparison(BaseModel):
    before_label: str
    after_label: str
    regressed: list[CaseChange]
    improved: list[CaseChange]
    still_failing: list[str]
    added: list[CaseChange]
    removed: list[str]
    metrics: list[MetricDelta]


def compare_reports(before: EvalReport, after: EvalReport) -> Comparison:
    """Case by case: passed -> failed is a regression, failed -> passed an improvement."""
    old = {r.id: r for r in before.results}
    new = {r.id: r for r in after.results}
    regressed, improved, still_failing, added = [], [], [], []
    for case_id, result in new.items():
        prior = old.get(case_id)
        if prior is None:
            added.append(CaseChange(id=case_id, before=None, after=result.passed, reasons=result.reasons))
        elif prior.passed and not result.passed:
            regressed.append(CaseChange(id=case_id, before=True, after=False, reasons=result.reasons))
        elif not prior.passed and result.passed:
            improved.append(CaseChange(id=case_id, before=False, after=True, reasons=prior.reasons))
        elif not result.passed:
            still_failing.append(case_id)
    metrics = [
        MetricDelta(name=name, before=getattr(before, name), after=getattr(after, name))
        for name in COMPARED_METRICS
    ]
    return Comparison(
        before_label=_label(before),
        after_label=_label(after),
        regressed=regressed,
        improved=improved,
        still_failing=still_failing,
        added=added,
        removed=[case_id for case_id in old if case_id not in new],
        metrics=metrics,
    )


def _label(report: EvalReport) -> str:
    model = f"/{report.model}" if report.model else ""
    return f"{report.dataset} · {report.planner}{model} · prompt {report.prompt_hash or '-'}"


def format_comparison(comparison: Comparison) -> list[str]:
    """Plain lines for the terminal: metric deltas, then regressions and improvements case by case."""
    lines = [f"A: {comparison.before_label}", f"B: {comparison.after_label}", "", "metric deltas (B - A):"]
    for metric in comparison.metrics:
        if metric.before is None and metric.after is None:
            continue
        lines.append(f"  {metric.name}: {_num(metric.before)} -> {_num(metric.after)} "
                     f"({_signed(metric.delta)}){'  WORSE' if metric.worse else ''}")
    lines.append(f"regressed: {len(comparison.regressed)}")
    for change in comparison.regressed:
        lines.append(f"  - {change.id}: {'; '.join(change.reasons) or 'failed'}")
    lines.append(f"improved: {len(comparison.improved)}")
    for change in comparison.improved:
        lines.append(f"  + {change.id} (was: {'; '.join(change.reasons) or 'failed'})")
    if comparison.added:
        lines.append(f"only in B: {', '.join(c.id for c in comparison.added)}")
    if comparison.removed:
        lines.append(f"only in A: {', '.join(comparison.removed)}")
    lines.append(f"still failing: {len(comparison.still_failing)}")
    return lines


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"
