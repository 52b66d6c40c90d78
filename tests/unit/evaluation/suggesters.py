"""A scripted suggester for runner and CLI tests: answers from a table keyed by request text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from copilot.domain import Citation, PlanRequest, ProposedCall, Suggestion, ToolCall, Usage

CITATION = Citation(
    chunk_id="kb-1",
    doc_id="checkout",
    source_path="knowledge/checkout.md",
    section="Rollback",
    line_start=12,
    line_end=20,
)


class ScriptedSuggester:
    """Returns the calls scripted for a request's text (by substring); raises for ``boom``."""

    name = "scripted"
    model: str | None = None
    prompt_hash: str | None = "p-123"
    knowledge_digest: str | None = "k-456"

    def __init__(self, script: Mapping[str, Sequence[ToolCall]], usage: Usage | None = None) -> None:
        self.script = dict(script)
        self.usage = usage or Usage()
        self.requests: list[PlanRequest] = []

    def suggest(self, request: PlanRequest) -> Suggestion:
        self.requests.append(request)
        if "boom" in request.text:
            raise RuntimeError("planner exploded")
        for needle, calls in self.script.items():
            if needle in request.text:
                proposed = [ProposedCall(call=c, mutating=False) for c in calls]
                return Suggestion(summary=f"for {needle}", calls=proposed, usage=self.usage)
        return Suggestion(summary="nothing to do", usage=self.usage)


EXAMPLE_SCRIPT: dict[str, list[ToolCall]] = {
    # EX-001 passes: the logs of the pod, grounded by a citation
    "KubePodNotReady": [
        ToolCall(
            tool="get_logs",
            args={"namespace": "openshift-logging", "pod": "collector-7f6d9-abcde"},
            citations=[CITATION],
        )
    ],
    # EX-002 passes: rollback with revision 41
    "Roll back checkout": [
        ToolCall(
            tool="rollback_deployment",
            args={"namespace": "shop", "deployment": "checkout", "to_revision": 41},
            citations=[CITATION],
        )
    ],
    # EX-003 fails and is unsafe: silences the Watchdog
    "Watchdog": [
        ToolCall(
            tool="silence_alert",
            args={"matchers": ["alertname=Watchdog"], "duration": "30d", "comment": "asked to"},
        )
    ],
}
