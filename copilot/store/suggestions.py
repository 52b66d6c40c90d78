"""What the store keeps about a suggestion: the redacted request it answered and what it proposed.

One ``suggestions`` row per recorded suggestion; every action proposed from it carries its id
(``actions.suggestion_id``) and is read back with the row's ``context`` as ``Action.context``::

    {"request": "checkout 5xx since the deploy",            # the chat text (may be empty)
     "alert": {...} | None,                                  # Alertmanager form, as PlanRequest.alert
     "telemetry": {...},                                     # the snapshot the planner saw
     "principal": {"name": ..., "roles": [...], "groups": [...]},
     "history": [...],
     "suggestion": {"id", "planner", "model", "prompt_hash", "summary", "confidence",
                    "calls": [{"tool", "args", "mutating", "outcome", "reasons", "source", "grounded"}],
                    "notes": [...], "dropped": [...]}}

The whole mapping passes through ``copilot.redaction.redact_obj`` before it is written, so a secret
in a log line, an alert annotation or the request never reaches the database in clear (invariant 4).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Connection, insert, select

from copilot.domain import PlanRequest, Principal, ProposedCall, Suggestion
from copilot.redaction import redact_obj
from copilot.store.models import suggestions


def suggestion_context(suggestion_id: str, request: PlanRequest, suggestion: Suggestion) -> dict[str, Any]:
    """The redacted context stored for ``suggestion`` (layout in the module docstring)."""
    raw = {
        "request": request.text,
        "alert": request.alert.model_dump(mode="json", exclude_none=True) if request.alert else None,
        "telemetry": request.telemetry,
        "principal": _principal(request.principal),
        "history": list(request.history),
        "suggestion": {
            "id": suggestion_id,
            "planner": suggestion.planner,
            "model": suggestion.model,
            "prompt_hash": suggestion.prompt_hash,
            "summary": suggestion.summary,
            "confidence": suggestion.confidence,
            "calls": [_call(proposed) for proposed in suggestion.calls],
            "notes": list(suggestion.notes),
            "dropped": list(suggestion.dropped),
        },
    }
    return dict(redact_obj(_json_safe(raw)))


def insert_suggestion(conn: Connection, suggestion_id: str, request: PlanRequest, suggestion: Suggestion,
                      *, at: datetime) -> dict[str, Any]:
    """Write one suggestion row inside the caller's transaction; returns the context as stored."""
    context = suggestion_context(suggestion_id, request, suggestion)
    conn.execute(insert(suggestions).values(id=suggestion_id, created_at=at, planner=suggestion.planner,
                                            prompt_hash=suggestion.prompt_hash, context=context))
    return context


def contexts_of(conn: Connection, suggestion_ids: Collection[str | None]) -> dict[str, dict[str, Any]]:
    """Stored contexts by suggestion id; ids never recorded are simply absent."""
    wanted = sorted({sid for sid in suggestion_ids if sid})
    if not wanted:
        return {}
    stmt = select(suggestions.c.id, suggestions.c.context).where(suggestions.c.id.in_(wanted))
    return {row.id: dict(row.context) for row in conn.execute(stmt)}


def _principal(principal: Principal) -> dict[str, Any]:
    return {"name": principal.name, "roles": sorted(principal.roles), "groups": sorted(principal.groups)}


def _call(proposed: ProposedCall) -> dict[str, Any]:
    decision = proposed.decision
    return {
        "tool": proposed.call.tool,
        "args": proposed.call.args,
        "mutating": proposed.mutating,
        "outcome": decision.outcome if decision else None,
        "reasons": list(decision.reasons) if decision else [],
        "source": proposed.source,
        "grounded": proposed.call.grounded,
    }


def _json_safe(value: Any) -> Any:
    """Telemetry is free-form: tuples, sets and datetimes become JSON types before redaction."""
    return to_jsonable_python(value, fallback=str)
