"""Turning step candidates into grounded ToolCalls: facts, placeholder values, gating.

``PlanState`` carries what one planning pass knows (facts, binder, restraint) and
collects the calls and the notes that explain what was held back and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from copilot.catalog import Catalog
from copilot.domain import Citation, Evidence, RunbookDoc, ToolCall
from copilot.errors import ArgumentError, ConfigError, UnknownToolError
from copilot.planning.binding import Binder, scope_query
from copilot.planning.conditions import condition_keys, condition_verifiable, evaluate, name_matches
from copilot.planning.context import PlanContext
from copilot.planning.grounding import bulk_target
from copilot.planning.request_text import values_from_text
from copilot.planning.restraint import RestraintRules
from copilot.planning.steps import StepCandidate, doc_namespace

_DURATION = re.compile(r"\bfor\s+(?:the\s+next\s+)?(an?|one|\d+(?:\.\d+)?)\s*"
                       r"(minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|months?)\b", re.IGNORECASE)
_UNIT_SUFFIX = re.compile(r"_(?:seconds|minutes|hours|days)$")
_MONTH_DAYS = 30
_INSTANCE_ARGS = ("pod", "node", "job", "pvc", "cidr", "secret")


@dataclass
class Planned:
    """A call ready for the Suggestion, with its phase for ordering."""

    call: ToolCall
    phase: str
    order: int


@dataclass
class PlanState:
    ctx: PlanContext
    catalog: Catalog
    restraint: RestraintRules
    docs: list[RunbookDoc]
    facts: dict[str, Any]
    prefer: list[str]
    binder: Binder
    refused: dict[str, str] = field(default_factory=dict)  # mutating tool -> why it is not proposed
    planned: list[Planned] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)
    _keys: set[tuple[str, str]] = field(default_factory=set)

    # ------------------------------------------------------------------ gating
    def holds(self, when: str) -> bool:
        """Whether the precondition holds; an unreadable one (a broken runbook) never holds."""
        try:
            return evaluate(when, self.facts, self.prefer)
        except ConfigError as exc:
            self._unreadable(exc)
            return False

    def verifiable(self, when: str) -> bool:
        """Whether the facts can decide it; an unreadable precondition counts as decided (and failed), so
        an explicit request cannot push its mitigation through."""
        try:
            return condition_verifiable(when, self.facts, self.prefer)
        except ConfigError as exc:
            self._unreadable(exc)
            return True

    def keys_of(self, when: str) -> list[str]:
        try:
            return condition_keys(when)
        except ConfigError as exc:
            self._unreadable(exc)
            return []

    def _unreadable(self, exc: ConfigError) -> None:
        note = f"a runbook precondition is unreadable, its step is not proposed: {exc}"
        if note not in self.notes:
            self.notes.append(note)

    def when_evidence(self, when: str | None) -> list[Evidence]:
        if not when:
            return []
        out = []
        for key in dict.fromkeys(self.keys_of(when)):
            name = key.split("{", 1)[0]
            stem = _UNIT_SUFFIX.sub("", name)
            for fact, value in self.facts.items():
                fact_name = str(fact).split("{", 1)[0]
                same = (fact == key or fact_name == name or _UNIT_SUFFIX.sub("", fact_name) == stem
                        or (name.startswith("*") and name_matches(stem, _UNIT_SUFFIX.sub("", fact_name))))
                if same and _plain(value) and fact != "alert_context":
                    out.append(Evidence(key=str(fact), value=value, source=_source(str(fact))))
        return out

    def blocked(self, tool: str) -> str | None:
        hit = self.restraint.blocking(tool, self.facts, self.prefer)
        return hit.describe(tool) if hit else None

    # ------------------------------------------------------------------ adding
    def add(self, step: StepCandidate, *, rationale: str, evidence: Iterable[Evidence] = (),
            check_restraint: bool = True) -> bool:
        """Bind, restrain, dedupe and record one call; False (with a note) when it cannot be proposed."""
        if step.tool in self.refused:
            note = f"{step.tool} held back: {self.refused[step.tool]}"
            if note not in self.held_back:
                self.held_back.append(note)
            return False
        if check_restraint:
            reason = self.blocked(step.tool)
            if reason:
                self.held_back.append(reason)
                return False
        args = self._localized(step)
        if args is None:
            self.notes.append(f"{step.tool} not proposed: the runbook's command names an example object")
            return False
        if step.tool == "get_metrics" and isinstance(args.get("query"), str) and self.ctx.alert is not None:
            args = {**args, "query": scope_query(args["query"], self.ctx.alert.labels)}
        binding = self.binder.bind(step.tool, args)
        if binding.args is None:
            if binding.missing and step.phase != "diagnose":
                self.notes.append(f"{step.tool} not proposed: needs {', '.join(binding.missing)}")
            return False
        bulk = bulk_target(ToolCall(tool=step.tool, args=binding.args), self.catalog)
        if bulk:
            self.notes.append(f"{step.tool} not proposed: its target `{bulk}` names many objects; name one")
            return False
        call = ToolCall(tool=step.tool, args=binding.args, rationale=rationale,
                        citations=[self._cite(step)] if step.chunk is not None else [],
                        evidence=[*evidence, *self._fact_evidence(binding.used_facts)])
        if self.catalog.get(step.tool).mutating and not call.citations and all(
                e.source == "request" for e in call.evidence):
            self.notes.append(f"{step.tool} not proposed: no runbook passage or telemetry fact grounds it, "
                              "only the request")
            return False
        key = call.key()
        if key in self._keys or self._merged(call):
            return False
        self._keys.add(key)
        self.planned.append(Planned(call, step.phase, len(self.planned)))
        return True

    def _merged(self, call: ToolCall) -> bool:
        """Fold a read on the same target into the earlier one (``get_logs`` of one pod, twice)."""
        spec = self.catalog.get(call.tool)
        if spec.mutating or not spec.target:
            return False
        target = self.catalog.target(call)
        for planned in self.planned:
            earlier = planned.call
            if earlier.tool != call.tool or self.catalog.target(earlier) != target:
                continue
            if any(earlier.args.get(k, v) != v for k, v in call.args.items()):
                continue  # a different workload or container: a different read
            merged = {**call.args, **earlier.args}
            try:
                earlier.args = self.catalog.validate_args(call.tool, merged)
            except (ArgumentError, UnknownToolError):
                return True
            earlier.citations = list({c.chunk_id: c for c in [*earlier.citations, *call.citations]}.values())
            earlier.evidence = list({e.key: e for e in [*earlier.evidence, *call.evidence]}.values())
            self._keys.add(earlier.key())
            return True
        return False

    def _localized(self, step: StepCandidate) -> dict[str, Any] | None:
        """A runbook command's literal instance names (``oc delete pod web-1``) are examples: they take
        the bound pod/node/...; a mutating call on an example object with nothing to bind is dropped."""
        if step.origin != "command":
            return step.args
        args = dict(step.args)
        mutating = self.catalog.get(step.tool).mutating
        for name in _INSTANCE_ARGS:
            value = args.get(name)
            if not isinstance(value, str) or "$" in value:
                continue
            bound = self.binder.resolve(name.upper())
            if bound:
                args[name] = bound
            elif mutating:
                return None
        return args

    def has_call(self, tool: str, **args: Any) -> bool:
        return any(p.call.tool == tool and all(p.call.args.get(k) == v for k, v in args.items())
                   for p in self.planned)

    def has_phase(self, phase: str) -> bool:
        return any(p.phase == phase for p in self.planned)

    def _cite(self, step: StepCandidate) -> Citation:
        assert step.chunk is not None
        return step.chunk.citation(step.quote[:200] if step.quote else "")

    def _fact_evidence(self, keys: list[str]) -> list[Evidence]:
        return [Evidence(key=k, value=self.ctx.telemetry.get(k), source="telemetry") for k in keys]


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | list)


def _source(key: str) -> str:
    if key.startswith("alert"):
        return "alert"
    return "request" if key == "request" else "telemetry"


# --------------------------------------------------------------------------- facts and values


def build_facts(ctx: PlanContext, docs: list[RunbookDoc]) -> dict[str, Any]:
    """Telemetry plus ``alert.<label>``, ``alert_context`` and ``request`` for conditions."""
    facts: dict[str, Any] = dict(ctx.telemetry)
    alert = ctx.alert
    context_parts: list[str] = []
    if alert is not None:
        for label, value in alert.labels.items():
            facts[f"alert.{label}"] = value
        facts["alert.status"] = alert.status
        context_parts += [alert.annotations.get(k, "") for k in ("summary", "description", "message")]
    for doc in docs[:1]:
        context_parts.append(doc.title)
        context_parts += [chunk.text for chunk in doc.chunks[:2]]
    facts["alert_context"] = " ".join(part for part in context_parts if part)
    facts["request"] = ctx.request.text
    return facts


def placeholder_values(ctx: PlanContext, docs: list[RunbookDoc]) -> dict[str, str]:
    """Entity placeholders plus the derived ones notifications and silences need."""
    values = {**values_from_text(ctx.request.text), **ctx.entities.placeholder_values()}
    doc = docs[0] if docs else None
    alert = ctx.alert
    subject = next((v for v in (ctx.entities.deployment, ctx.entities.node, ctx.entities.cluster,
                                ctx.entities.pvc, ctx.entities.namespace) if v), "")
    headline = ctx.entities.alertname or (doc.title if doc else "") or "Incident"
    values.setdefault("TICKET_TITLE", f"{headline}: {subject}" if subject else headline)
    summary = alert.annotations.get("summary", "") if alert else ""
    severity = alert.labels.get("severity", "") if alert else ""
    values.setdefault("PAGE_REASON", " ".join(p for p in (headline, f"({severity})" if severity else "",
                                                           summary or subject) if p))
    team = _page_team(doc, alert.labels if alert else {})
    if team:
        values.setdefault("TEAM", team)
    runbook_namespace = doc_namespace(doc) if doc else None
    if runbook_namespace:
        values.setdefault("NAMESPACE", runbook_namespace)
    duration = duration_in(ctx.request.text)
    if duration:
        values.setdefault("DURATION", duration)
    values.setdefault("SILENCE_COMMENT", (ctx.request.text.strip() or f"{headline} acknowledged")[:200])
    return values


def _page_team(doc: RunbookDoc | None, labels: dict[str, str]) -> str:
    page = doc.front_matter.get("page") if doc else None
    if isinstance(page, dict) and page.get("team"):
        return str(page["team"])
    return labels.get("team") or labels.get("owner") or ""


def duration_in(text: str) -> str | None:
    """``for 2 hours`` -> ``2h``; ``for a month`` -> ``30d``."""
    match = _DURATION.search(text)
    if not match:
        return None
    count_text, unit = match.group(1).lower(), match.group(2).lower()
    count = 1.0 if count_text in ("a", "an", "one") else float(count_text)
    if unit.startswith("month"):
        return f"{int(count * _MONTH_DAYS)}d"
    letter = "m" if unit.startswith("m") else unit[0]
    return f"{int(count)}{letter}"
