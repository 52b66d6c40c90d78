"""The LLM planner's output schema, generated from the catalog, and its mapping to domain types.

One pydantic model per tool: ``{tool: Literal[name], args: <the catalog's args model>,
citations, evidence, rationale}``, joined in a union discriminated by ``tool``. A tool the
catalog doesn't have fails validation and goes back to the model as a retry.
"""

from __future__ import annotations

import weakref
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from copilot.catalog import Catalog
from copilot.domain import PlanRequest, ProposedCall, RetrievedChunk, Suggestion, ToolCall
from copilot.planning.grounding import resolve_citations, resolve_evidence

_CACHE: weakref.WeakKeyDictionary[Catalog, type[PlanOutputBase]] = weakref.WeakKeyDictionary()


class PlanOutputBase(BaseModel):
    """Fields of the plan besides the calls (the calls' type depends on the catalog)."""

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(description="One paragraph: what is happening and what to do first, or why nothing.")
    citations: list[str] = Field(default_factory=list, description="Ids of runbook chunks behind the plan.")
    evidence: list[str] = Field(default_factory=list, description="Telemetry keys behind the plan.")
    confidence: float = Field(0.5, ge=0.0, le=1.0, description="How sure you are, 0 to 1.")


def plan_output_model(catalog: Catalog) -> type[PlanOutputBase]:
    """The output model for this catalog (built once per catalog object)."""
    cached = _CACHE.get(catalog)
    if cached is not None:
        return cached
    call_models = tuple(_call_model(catalog, name) for name in catalog.names)
    call_union = Annotated[Union[call_models], Field(discriminator="tool")]  # type: ignore[valid-type]  # noqa: UP007
    model = create_model(
        "ProposePlan",
        __base__=PlanOutputBase,
        __doc__="The plan: a summary, typed tool calls in order, and their grounding.",
        tool_calls=(list[call_union], Field(
            default_factory=list, description="Calls in order: diagnose, then mitigate, then notify.")),
    )
    _CACHE[catalog] = model
    return model


def _call_model(catalog: Catalog, name: str) -> type[BaseModel]:
    spec = catalog.get(name)
    kind = "MUTATING, needs approval" if spec.mutating else "read-only"
    tool_type: Any = Literal[name]  # a Literal built at run time, one per catalog tool
    return create_model(
        "".join(part.title() for part in name.split("_")) + "Call",
        __config__=ConfigDict(extra="ignore"),
        __doc__=f"{spec.description} ({kind})",
        tool=(tool_type, Field(description="The tool's name.")),
        args=(catalog.args_model(name), Field(description="The tool's arguments.")),
        citations=(list[str], Field(default_factory=list, description="Runbook chunk ids behind it.")),
        evidence=(list[str], Field(default_factory=list, description="Telemetry keys that support it.")),
        rationale=(str, Field("", max_length=2000, description="One sentence: why this call, why now.")),
    )


def output_to_suggestion(
    output: PlanOutputBase, request: PlanRequest, chunks: list[RetrievedChunk], catalog: Catalog
) -> Suggestion:
    """Map a validated plan to domain types; unknown chunk ids and telemetry keys become notes."""
    notes: list[str] = []
    calls = [_proposed(item, request, chunks, catalog, notes) for item in getattr(output, "tool_calls", [])]
    citations, bad_ids = resolve_citations(output.citations, chunks)
    evidence, bad_keys = resolve_evidence(output.evidence, request)
    notes += _unknown_notes("plan", bad_ids, bad_keys)
    return Suggestion(
        summary=output.summary, calls=calls, citations=citations, evidence=evidence,
        confidence=output.confidence, planner="llm", notes=notes,
    )


def _proposed(item: Any, request: PlanRequest, chunks: list[RetrievedChunk], catalog: Catalog,
              notes: list[str]) -> ProposedCall:
    args = item.args.model_dump(exclude_none=True)
    citations, bad_ids = resolve_citations(item.citations, chunks)
    evidence, bad_keys = resolve_evidence(item.evidence, request)
    notes += _unknown_notes(item.tool, bad_ids, bad_keys)
    call = ToolCall(tool=item.tool, args=args, citations=citations, evidence=evidence,
                    rationale=item.rationale)
    return ProposedCall(call=call, mutating=catalog.get(item.tool).mutating, source="llm")


def _unknown_notes(where: str, bad_ids: list[str], bad_keys: list[str]) -> list[str]:
    notes = []
    if bad_ids:
        notes.append(f"{where}: ignored citations of chunks that were not retrieved: {', '.join(bad_ids)}")
    if bad_keys:
        notes.append(f"{where}: ignored evidence keys missing from the telemetry: {', '.join(bad_keys)}")
    return notes
