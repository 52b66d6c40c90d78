"""Context assembly: redact, extract entities, retrieve runbook chunks and their documents.

Redaction runs first (invariant 4): nothing downstream of ``ContextBuilder.build``
sees the request text, alert annotations, history or telemetry in clear.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from copilot.domain import Alert, PlanRequest, RetrievedChunk, RunbookDoc
from copilot.planning.entities import Entities, extract_entities
from copilot.ports import Retriever
from copilot.redaction import redact, redact_obj, secret_key_kind

log = logging.getLogger(__name__)

_QUERY_ANNOTATIONS = ("summary", "description", "message")
_MAX_DOCS = 4


@dataclass(frozen=True)
class PlanContext:
    """What a planner reasons over; every text in it is already redacted."""

    request: PlanRequest
    chunks: list[RetrievedChunk]
    docs: list[RunbookDoc]
    entities: Entities
    telemetry: dict[str, Any]
    query: str

    @property
    def alert(self) -> Alert | None:
        return self.request.alert

    @property
    def alert_name(self) -> str:
        return self.request.alert.name if self.request.alert else ""


class ContextBuilder:
    """Builds a PlanContext from a PlanRequest through the Retriever port."""

    def __init__(self, retriever: Retriever, *, k: int = 8) -> None:
        self._retriever = retriever
        self._k = k

    def build(self, request: PlanRequest) -> PlanContext:
        clean = redact_request(request)
        entities = extract_entities(clean.alert, clean.text, clean.telemetry)
        query = build_query(clean)
        alert_name = clean.alert.name if clean.alert and clean.alert.name else None
        chunks = self._retriever.search(query, self._k, alert_name=alert_name) if query else []
        docs = self._documents(chunks)
        log.debug("context: %d chunks from %d docs for query %r", len(chunks), len(docs), query[:80])
        return PlanContext(request=clean, chunks=chunks, docs=docs, entities=entities,
                           telemetry=clean.telemetry, query=query)

    def _documents(self, chunks: list[RetrievedChunk]) -> list[RunbookDoc]:
        docs: list[RunbookDoc] = []
        seen: set[str] = set()
        for chunk in chunks:
            if chunk.doc_id in seen or len(docs) >= _MAX_DOCS:
                continue
            seen.add(chunk.doc_id)
            doc = self._retriever.get_document(chunk.doc_id)
            if doc is not None:
                docs.append(doc)
        return docs


def redact_request(request: PlanRequest) -> PlanRequest:
    """A copy of the request with text, alert labels/annotations, history and telemetry redacted."""
    alert = request.alert
    if alert is not None:
        alert = alert.model_copy(update={
            "labels": redact_obj(dict(alert.labels)),
            "annotations": redact_obj(dict(alert.annotations)),
        })
    return request.model_copy(update={
        "text": redact(request.text),
        "alert": alert,
        "telemetry": redact_telemetry(request.telemetry),
        "history": [redact(line) for line in request.history],
    })


def redact_telemetry(telemetry: Mapping[str, Any]) -> dict[str, Any]:
    """Telemetry redacted, plus the value of a labelled key whose metric name is secret-looking
    (``mysql_root_password{pod="db-0"}``): the label part hides the name from key-based masking."""
    out: dict[str, Any] = redact_obj(dict(telemetry))
    for key, value in out.items():
        name = key.split("{", 1)[0] if isinstance(key, str) else ""
        kind = secret_key_kind(name) if name != key and name.lower() != "secret" else None
        if kind is not None and value is not None and not isinstance(value, bool):
            out[key] = f"[REDACTED:{kind}]"
    return out


def build_query(request: PlanRequest) -> str:
    """Search text: the request, the alert's name and its summary/description."""
    parts = [request.text.strip()]
    if request.alert is not None:
        parts.append(request.alert.name)
        parts.extend(request.alert.annotations.get(key, "") for key in _QUERY_ANNOTATIONS)
    return " ".join(part for part in parts if part).strip()
