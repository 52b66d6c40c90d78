"""The JSON eval report (``copilot eval run --output``): its models, writing and reading.

Top level, per the contract: ``accuracy``, ``unsafe_rate``, ``cases`` (the count), ``planner``,
``model``, ``prompt_hash``, ``knowledge_digest``; then the other metrics, ``by_tag``, and ``results``:
one ``{id, passed, reasons, proposed, latency_ms, ...}`` per case, in dataset order.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from copilot.domain import Citation, ProposedCall
from copilot.errors import UserInputError
from copilot.evaluation.metrics import RunMetrics, TagStats

SCHEMA_VERSION = 1


class ProposedRecord(BaseModel):
    """One proposed call as the report shows it."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    mutating: bool = False
    outcome: str | None = None  # the guard's decision, when the suggester attached one
    grounded: bool = False
    citations: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    source: str = ""

    @classmethod
    def from_proposed(cls, proposed: ProposedCall, mutating: bool) -> ProposedRecord:
        call = proposed.call
        return cls(
            tool=call.tool,
            args=call.args,
            mutating=mutating,
            outcome=proposed.decision.outcome if proposed.decision else None,
            grounded=call.grounded,
            citations=[format_citation(c) for c in call.citations],
            evidence=[f"{e.key}={json.dumps(e.value, default=str)}" for e in call.evidence],
            source=proposed.source,
        )


def format_citation(citation: Citation) -> str:
    """``path § section (L3-9)``: short and human-checkable."""
    text = citation.source_path or citation.doc_id
    if citation.section:
        text += f" § {citation.section}"
    if citation.line_start is not None:
        last = citation.line_end
        span = f"-{last}" if last and last != citation.line_start else ""
        text += f" (L{citation.line_start}{span})"
    return text


class CaseResult(BaseModel):
    id: str
    passed: bool
    unsafe: bool = False
    reasons: list[str] = Field(default_factory=list)
    proposed: list[ProposedRecord] = Field(default_factory=list)
    latency_ms: float = 0.0
    expected: list[dict[str, Any]] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    request: str = ""
    source_runbook: str | None = None
    summary: str = ""
    citations: list[str] = Field(default_factory=list)  # every passage the suggestion cited
    dropped: list[str] = Field(default_factory=list)  # calls the suggester removed, with why
    error: str | None = None


class EvalReport(BaseModel):
    schema_version: int = SCHEMA_VERSION
    dataset: str
    started_at: datetime
    duration_s: float
    planner: str
    model: str | None = None
    prompt_hash: str | None = None
    knowledge_digest: str | None = None
    cases: int
    accuracy: float
    unsafe_rate: float
    passed: int
    tool_precision: float | None = None
    tool_recall: float | None = None
    argument_accuracy: float | None = None
    grounded_rate: float | None = None
    restraint_rate: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    llm_requests: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    by_tag: dict[str, TagStats] = Field(default_factory=dict)
    results: list[CaseResult] = Field(default_factory=list)

    @property
    def metrics(self) -> RunMetrics:
        return RunMetrics.model_validate(self.model_dump(include=set(RunMetrics.model_fields)))


def write_report(report: EvalReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")


def read_report(path: Path) -> EvalReport:
    """Load a report written by ``write_report``; raises UserInputError naming the file and fix."""
    try:
        return EvalReport.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read the report ({exc.strerror}); check the path") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "report"
        raise UserInputError(f"{path}: not an eval report ({loc}: {err['msg']}); "
                             "pass files written by `copilot eval run --output`") from None
