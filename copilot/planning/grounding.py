"""Grounding: resolve what a planner cites against what was actually retrieved and observed.

Pure functions. A citation counts only when its chunk id is among the retrieved chunks; an
evidence key counts only when it exists in the (redacted) telemetry snapshot or the alert's
labels. A call that is left with neither is ungrounded and is dropped, with a reason.

Free-text tails (``logs``, ``events`` and other lists of strings) are data that anyone can
write into, so they never ground a *mutating* call on their own: it also needs a runbook
citation or a measured fact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from copilot.argtypes import is_bulk_name
from copilot.catalog import Catalog
from copilot.domain import Citation, Evidence, PlanRequest, ProposedCall, RetrievedChunk, ToolCall
from copilot.planning.entities import ENTITY_FIELDS

ALERT_LABEL_PREFIX = "alert.labels."


class PlanningContext(Protocol):
    """What the planners share for one request (F's PlanContext satisfies it)."""

    @property
    def request(self) -> PlanRequest: ...

    @property
    def chunks(self) -> Sequence[RetrievedChunk]: ...


@dataclass
class GroundingResult:
    kept: list[ProposedCall] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def normalize_chunk_id(raw: str) -> str:
    """Tolerate ``[id: x]``, ``id: x`` and stray quotes around an id a model copied."""
    text = raw.strip().strip("[]`'\" ")
    return text.removeprefix("id:").strip()


def resolve_citations(
    ids: Iterable[str], chunks: Sequence[RetrievedChunk]
) -> tuple[list[Citation], list[str]]:
    """Citation objects for the ids that were retrieved; the rest are returned as unknown."""
    by_id = {chunk.chunk_id: chunk for chunk in chunks}
    found: list[Citation] = []
    unknown: list[str] = []
    for raw in ids:
        chunk = by_id.get(normalize_chunk_id(raw))
        if chunk is None:
            unknown.append(raw)
        elif all(c.chunk_id != chunk.chunk_id for c in found):
            found.append(chunk.citation())
    return found, unknown


def resolve_evidence(keys: Iterable[str], request: PlanRequest) -> tuple[list[Evidence], list[str]]:
    """Evidence for keys that exist in the telemetry (exact, or by metric name) or the alert labels."""
    found: list[Evidence] = []
    unknown: list[str] = []
    for raw in keys:
        evidence = _lookup_evidence(raw.strip(), request)
        if evidence is None:
            unknown.append(raw)
        elif all(e.key != evidence.key for e in found):
            found.append(evidence)
    return found, unknown


def _lookup_evidence(key: str, request: PlanRequest) -> Evidence | None:
    telemetry = request.telemetry
    if key in telemetry:
        return Evidence(key=key, value=telemetry[key])
    metric = key.split("{", 1)[0]
    for name, value in telemetry.items():
        if name.split("{", 1)[0] == metric and "{" not in key:
            return Evidence(key=name, value=value)
    labels = request.alert.labels if request.alert is not None else {}
    label = key.removeprefix(ALERT_LABEL_PREFIX).removeprefix("labels.").removeprefix("alert.")
    if label in labels:
        return Evidence(key=ALERT_LABEL_PREFIX + label, value=labels[label], source="alert")
    return None


def is_free_text(evidence: Evidence) -> bool:
    """Log and event tails and other prose: text with spaces (``"drain worker-1"`` too), in a string, a
    list or a nested mapping; a measured fact is a number, a flag or a one-word state."""
    return _has_prose(evidence.value)


def _has_prose(value: Any) -> bool:
    if isinstance(value, str):
        return len(value.split()) > 1
    if isinstance(value, Mapping):
        return any(_has_prose(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_prose(item) for item in value)
    return False


def bulk_target(call: ToolCall, catalog: Catalog) -> str | None:
    """A mutating call's target argument that names many objects ("*", "all", a regex), if any."""
    spec = catalog.get(call.tool)
    if not spec.mutating:
        return None
    names = [n for n in re.findall(r"\{(\w+)\}", spec.target or "") if n != "matchers"] or [
        n for n in call.args if n in ENTITY_FIELDS]
    for name in names:
        value = call.args.get(name)
        if isinstance(value, str) and is_bulk_name(value):
            return value
    return None


def grounding_problem(proposed: ProposedCall, mutating: bool) -> str | None:
    """Why a call is not grounded, or None when it is."""
    call = proposed.call
    if not call.citations and not call.evidence:
        return "ungrounded mutating call" if mutating else "ungrounded call"
    if mutating and not call.citations and all(is_free_text(e) for e in call.evidence):
        return "ungrounded mutating call (only log or event text behind it)"
    return None


def ground_calls(
    calls: Sequence[ProposedCall],
    catalog: Catalog,
    *,
    keep_ungrounded_readonly_from: frozenset[str] = frozenset({"runbook"}),
) -> GroundingResult:
    """Keep the grounded calls of known tools; drop the rest with a reason each.

    Read-only calls from the deterministic runbook planner are kept even without a citation
    (they come from retrieved runbook text); a mutating call is never kept ungrounded.
    """
    result = GroundingResult()
    for proposed in calls:
        call = proposed.call
        if call.tool not in catalog:
            result.dropped.append(f"{call.tool}: not a catalog tool (from {proposed.source} planner)")
            continue
        mutating = catalog.get(call.tool).mutating
        problem = grounding_problem(proposed, mutating)
        bulk = bulk_target(call, catalog)
        if bulk is not None:
            problem = f"mutating call on `{bulk}`, which names many objects; name one target"
        if problem and (mutating or proposed.source not in keep_ungrounded_readonly_from):
            result.dropped.append(f"{call.tool}({_args_text(call.args)}): {problem} "
                                  f"(from {proposed.source} planner)")
            continue
        result.kept.append(proposed.model_copy(update={"mutating": mutating}))
    return result


def _args_text(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in args.items())
