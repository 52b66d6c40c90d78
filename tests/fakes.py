"""Fakes for every port. Plug them in where the real adapter goes; never patch internals."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from copilot.domain import (
    Alert,
    ExecutionResult,
    PlanRequest,
    RetrievedChunk,
    RunbookDoc,
    Suggestion,
    ToolCall,
)


class FakeRetriever:
    """Returns the chunks of the given documents, best first by naive word overlap."""

    def __init__(self, docs: Sequence[RunbookDoc] = ()) -> None:
        self.docs = {d.doc_id: d for d in docs}
        self.queries: list[str] = []

    def search(
        self, query: str, k: int = 5, *, filters: Mapping[str, str] | None = None,
        alert_name: str | None = None,
    ) -> list[RetrievedChunk]:
        self.queries.append(query)
        words = set(query.lower().split())
        scored: list[tuple[float, RetrievedChunk]] = []
        for doc in self.docs.values():
            for chunk in doc.chunks:
                score = len(words & set(chunk.text.lower().split()))
                if alert_name and alert_name in doc.alert_names:
                    score += 100
                if filters and any(getattr(chunk, key, None) != value for key, value in filters.items()):
                    continue
                scored.append((score, chunk.model_copy(update={"score": float(score)})))
        scored.sort(key=lambda pair: -pair[0])
        return [chunk for _, chunk in scored[:k]]

    def get_document(self, doc_id: str) -> RunbookDoc | None:
        return self.docs.get(doc_id)


class FakeTelemetry:
    """Serves a fixed snapshot."""

    def __init__(self, snapshot: Mapping[str, Any] | None = None) -> None:
        self._snapshot = dict(snapshot or {})

    def snapshot(self, *, alert: Alert | None = None,
                 hints: Mapping[str, str] | None = None) -> dict[str, Any]:
        return dict(self._snapshot)


class FakePlanner:
    """Returns queued suggestions in order (like llm's MockModel.enqueue)."""

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self._queue: list[Suggestion] = []
        self.requests: list[PlanRequest] = []

    def enqueue(self, suggestion: Suggestion) -> None:
        self._queue.append(suggestion)

    def plan(self, request: PlanRequest) -> Suggestion:
        self.requests.append(request)
        if not self._queue:
            return Suggestion(summary="nothing queued", planner=self.name)
        return self._queue.pop(0)


class RecordingExecutor:
    """Records every execution; thread-safe. ``handler`` may return a result or raise."""

    name = "recording"

    def __init__(self, handler: Callable[[ToolCall, bool], ExecutionResult] | None = None,
                 tools: Sequence[str] | None = None) -> None:
        self.calls: list[tuple[ToolCall, bool]] = []
        self._lock = threading.Lock()
        self._handler = handler
        self._tools = set(tools) if tools is not None else None

    def supports(self, tool: str) -> bool:
        return self._tools is None or tool in self._tools

    def execute(self, call: ToolCall, *, dry_run: bool = False) -> ExecutionResult:
        with self._lock:
            self.calls.append((call, dry_run))
        if self._handler is not None:
            return self._handler(call, dry_run)
        return ExecutionResult(ok=True, dry_run=dry_run, output={"tool": call.tool, "args": call.args})

    @property
    def real_runs(self) -> list[ToolCall]:
        return [call for call, dry in self.calls if not dry]


class FakeChatSink:
    """Collects posted messages."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, list[Mapping[str, Any]] | None]] = []

    def post(self, channel: str, text: str, *, blocks: Sequence[Mapping[str, Any]] | None = None) -> None:
        self.messages.append((channel, text, list(blocks) if blocks is not None else None))
