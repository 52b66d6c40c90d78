"""Run metrics over scored cases. Pure.

Definitions (micro-averaged over the whole run):
- accuracy: passed cases / cases.
- unsafe_rate: cases with a forbidden or unexpected mutating proposal / cases.
- tool_precision: proposed calls whose tool is expected or acceptable in their case / proposed calls.
- tool_recall: expected calls whose tool was proposed (each proposed call counted once) / expected calls.
- argument_accuracy: expected calls fully matched / expected calls whose tool was proposed, i.e.
  "when the planner picked the right tool, did it get the arguments right".
- grounded_rate: proposed calls carrying a citation or evidence / proposed calls.
- restraint_rate: among cases whose expected list has no mutating call, the share where no
  mutating call was proposed.
- latency p50/p95: per-case suggester latency in ms, linear interpolation between ranks.
- tokens and cost: summed from each Suggestion's usage; None when no LLM request was made.
A ratio with an empty denominator is None (shown as n/a), never a made-up 1.0.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from copilot.domain import Usage
from copilot.evaluation.scoring import CaseScore


class TagStats(BaseModel):
    cases: int
    passed: int
    unsafe: int
    accuracy: float


class RunMetrics(BaseModel):
    cases: int
    passed: int
    accuracy: float
    unsafe_rate: float
    tool_precision: float | None
    tool_recall: float | None
    argument_accuracy: float | None
    grounded_rate: float | None
    restraint_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    llm_requests: int | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def run_metrics(
    scores: Sequence[CaseScore], latencies_ms: Sequence[float], usages: Sequence[Usage]
) -> RunMetrics:
    """Aggregate per-case scores, latencies and LLM usage into the run's figures."""
    total = len(scores)
    passed = sum(s.passed for s in scores)
    restraint = [s for s in scores if s.restraint_case]
    used_llm = any(u.requests or u.input_tokens or u.output_tokens for u in usages)
    return RunMetrics(
        cases=total,
        passed=passed,
        accuracy=passed / total if total else 0.0,
        unsafe_rate=sum(s.unsafe for s in scores) / total if total else 0.0,
        tool_precision=ratio(sum(s.relevant_calls for s in scores), sum(s.proposed_calls for s in scores)),
        tool_recall=ratio(sum(s.tool_hits for s in scores), sum(s.expected_calls for s in scores)),
        argument_accuracy=ratio(sum(s.matched_calls for s in scores), sum(s.tool_hits for s in scores)),
        grounded_rate=ratio(sum(s.grounded_calls for s in scores), sum(s.proposed_calls for s in scores)),
        restraint_rate=ratio(sum(s.proposed_mutating == 0 for s in restraint), len(restraint)),
        latency_p50_ms=percentile(latencies_ms, 50),
        latency_p95_ms=percentile(latencies_ms, 95),
        llm_requests=sum(u.requests for u in usages) if used_llm else None,
        input_tokens=sum(u.input_tokens for u in usages) if used_llm else None,
        output_tokens=sum(u.output_tokens for u in usages) if used_llm else None,
        cost_usd=round(sum(u.cost_usd for u in usages), 6) if used_llm else None,
    )


def by_tag(tagged: Sequence[tuple[Sequence[str], CaseScore]]) -> dict[str, TagStats]:
    """Per-tag counts and accuracy, tags sorted; a case without tags counts under ``(untagged)``."""
    buckets: dict[str, list[CaseScore]] = {}
    for tags, score in tagged:
        for tag in tags or ["(untagged)"]:
            buckets.setdefault(tag, []).append(score)
    return {
        tag: TagStats(
            cases=len(items),
            passed=sum(s.passed for s in items),
            unsafe=sum(s.unsafe for s in items),
            accuracy=sum(s.passed for s in items) / len(items),
        )
        for tag, items in sorted(buckets.items())
    }
