"""The deterministic runbook planner: the embedded default brain (no LLM).

One pass: pick the runbook(s) (alert name first, then the best hit), turn their
steps into typed calls, bind arguments from the entities, gate mitigations on
their stated precondition (or an explicit request), apply the restraint rules,
then order diagnose -> mitigate -> notify. Text in logs, runbooks and chat is
data: it can name a tool only through the same gates.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from copilot.catalog import Catalog
from copilot.domain import Evidence, PlanRequest, ProposedCall, RunbookDoc, Suggestion
from copilot.planning.binding import Binder
from copilot.planning.context import ContextBuilder, PlanContext
from copilot.planning.evidence_steps import evidence_steps, fallback_steps
from copilot.planning.proposals import PlanState, build_facts, placeholder_values
from copilot.planning.prose import ProseHit, negated_tools, requested_tools
from copilot.planning.restraint import RestraintRules, load_triggers
from copilot.planning.selection import select_docs, stems
from copilot.planning.steps import (
    StepCandidate,
    doc_steps,
    has_injection,
    mentioned_mitigations,
    procedure_score,
)
from copilot.ports import Retriever

log = logging.getLogger(__name__)

_PHASE_ORDER = {"diagnose": 0, "mitigate": 1, "notify": 2}
_BULK = re.compile(r"\b(?:all|every|each)\s+(?:the\s+)?(?:nodes?|pods?|deployments?|workloads?|namespaces?|"
                   r"clusters?|databases?|secrets?)\b|\beverything\b", re.IGNORECASE)
_VAGUE = re.compile(r"\b(?:help|what\s+now|now\s+what|what\s+(?:should|do|can)\s+(?:i|we)\s+do|next\s+steps?|"
                    r"what\s+next|fix\s+(?:it|this)|handle\s+(?:it|this)|deal\s+with|sort\s+(?:it|this)\s+out|"
                    r"follow\s+the\s+runbook|run\s+the\s+runbook|resolve\s+(?:it|this)|mitigate)\b",
                    re.IGNORECASE)
_CONFIDENCE = {"alert": 0.8, "mentioned": 0.7, "search": 0.5, "": 0.2}


class RunbookPlanner:
    """Runbook steps + telemetry -> typed, grounded, restrained calls."""

    name = "runbook"

    def __init__(self, retriever: Retriever, catalog: Catalog, *, rules_path: Path | None = None,
                 k: int = 8) -> None:
        self._context = ContextBuilder(retriever, k=k)
        self._catalog = catalog
        self._restraint = RestraintRules.load(catalog, rules_path)
        self._triggers = load_triggers(catalog)

    def plan(self, request: PlanRequest) -> Suggestion:
        return self.plan_context(self._context.build(request))

    def plan_context(self, ctx: PlanContext) -> Suggestion:
        started = time.perf_counter()
        selection = select_docs(ctx)
        docs, how = selection.primary, selection.how
        state = self._state(ctx, docs)
        requested = self._requested(ctx, state)
        steps = [step for doc in docs for step in doc_steps(doc, self._catalog)]
        self._diagnose(state, steps)
        state_mitigated = self._mitigate(state, steps, requested)
        state_mitigated |= self._secondary(state, selection.secondary)
        self._requested_extras(state, requested, steps, selection.secondary if how == "search" else [])
        if not state_mitigated and docs and how in ("alert", "mentioned"):
            self._procedure(state, docs[0], ctx)
        self._notify(state, steps, docs)
        diagnosed = sum(1 for p in state.planned if p.phase == "diagnose")
        if diagnosed < 2 and (ctx.alert is not None or ctx.request.text.strip()):
            namespace = ctx.entities.namespace or state.binder.resolve("NAMESPACE")
            for step in fallback_steps(ctx, namespace if docs or ctx.entities.namespace else None):
                state.add(step, rationale=f"First check: {step.quote}", evidence=step.extra["evidence"],
                          check_restraint=False)
        suggestion = self._suggestion(state, docs, how)
        suggestion.latency_ms = (time.perf_counter() - started) * 1000
        return suggestion

    # ------------------------------------------------------------------ passes
    def _state(self, ctx: PlanContext, docs: list[RunbookDoc]) -> PlanState:
        facts = build_facts(ctx, docs)
        entities = ctx.entities
        prefer = [v for v in (entities.deployment, entities.service, entities.cluster, entities.node,
                              entities.namespace, entities.pod) if v]
        binder = Binder(self._catalog, placeholder_values(ctx, docs), ctx.telemetry)
        return PlanState(ctx=ctx, catalog=self._catalog, restraint=self._restraint, docs=docs, facts=facts,
                         prefer=prefer, binder=binder, refused=self._refused(ctx))

    def _refused(self, ctx: PlanContext) -> dict[str, str]:
        """Mutating tools not to propose: those the request says not to use and, on a resolved alert,
        every change the request does not ask for."""
        text = ctx.request.text
        asked = set(requested_tools(text)) if text.strip() and not has_injection(text) else set()
        negated = negated_tools(text) - asked if text.strip() else set()
        refused = dict.fromkeys(negated, "the request says not to")
        if ctx.alert is not None and ctx.alert.status == "resolved":
            for tool in set(self._catalog.names) - asked - set(refused):
                refused[tool] = "the alert is resolved; ask for it explicitly if it is still needed"
        return {tool: why for tool, why in refused.items() if self._catalog.get(tool).mutating}

    def _requested(self, ctx: PlanContext, state: PlanState) -> dict[str, ProseHit]:
        text = ctx.request.text
        if not text.strip():
            return {}
        if has_injection(text):
            state.notes.append("The request contains instructions aimed at the assistant; treated as data, "
                               "no action it asks for is proposed on its say-so")
            return {}
        requested = requested_tools(text)
        if _BULK.search(text):
            for tool in [t for t in requested if self._catalog.get(t).mutating]:
                state.notes.append(f"{tool} on everything at once is not proposed; name one target")
                requested.pop(tool)
        return requested

    def _diagnose(self, state: PlanState, steps: list[StepCandidate]) -> None:
        for step in steps:
            if step.phase == "diagnose":
                state.add(step, rationale=_rationale(step), evidence=state.when_evidence(step.when))
        for step in evidence_steps(state.ctx):
            state.add(step, rationale=step.quote, evidence=step.extra.get("evidence", []),
                      check_restraint=False)

    def _mitigate(self, state: PlanState, steps: list[StepCandidate], requested: dict[str, ProseHit]) -> bool:
        proposed = False
        for step in steps:
            if step.phase != "mitigate":
                continue
            asked = step.tool in requested
            when = step.when
            if not when and not asked and step.origin != "front_matter":
                when = self._triggers.get(step.tool)  # prose-only runbook: telemetry must show the trigger
            if when:
                if not state.holds(when) and not (asked and not state.verifiable(when)):
                    if step.when or (state.verifiable(when) and state.when_evidence(when)):
                        # stated, or implied and contradicted by facts the snapshot has: no procedure either
                        state.notes.append(f"{step.tool} not proposed: precondition `{when}` does not hold")
                    continue
            elif not asked:
                continue
            evidence = state.when_evidence(when)
            if asked:
                sentence = requested[step.tool].sentence
                evidence.append(Evidence(key="request", value=sentence, source="request"))
            proposed |= state.add(step, rationale=_rationale(step), evidence=evidence)
        return proposed

    def _secondary(self, state: PlanState, docs: list[RunbookDoc]) -> bool:
        """A runner-up runbook contributes only mitigations whose multi-clause precondition holds."""
        proposed = False
        for doc in docs:
            for step in doc_steps(doc, self._catalog):
                if step.phase != "mitigate" or not step.when or len(state.keys_of(step.when)) < 2:
                    continue
                if state.holds(step.when):
                    evidence = state.when_evidence(step.when)
                    proposed |= state.add(step, rationale=_rationale(step), evidence=evidence)
        return proposed

    def _requested_extras(self, state: PlanState, requested: dict[str, ProseHit],
                          steps: list[StepCandidate], runners_up: list[RunbookDoc]) -> None:
        """An explicit request the runbook's fix sections do not cover: taken from a passage of the runbook
        that names it, or (when no runbook answers the alert by name) from a runner-up runbook that
        prescribes it; with no runbook at all, bound from the request. Restraint applies throughout."""
        covered = {step.tool for step in steps if step.phase == "mitigate"}
        for tool, hit in requested.items():
            if tool in covered or state.has_call(tool):
                continue
            if self._catalog.get(tool).mutating and state.docs:
                request = [Evidence(key="request", value=hit.sentence, source="request")]
                for step in self._elsewhere(tool, state.docs, runners_up, state.ctx.request.text):
                    if state.add(step, rationale=_rationale(step), evidence=request):
                        break
                else:
                    state.notes.append(f"{tool} was asked for, but the matching runbook does not prescribe "
                                       "it; not proposed")
                continue
            phase = hit.rule.phase
            step = StepCandidate(tool, dict(hit.rule.args), phase, "request", None, quote=hit.sentence)
            evidence = [Evidence(key="request", value=hit.sentence, source="request")]
            state.add(step, rationale=f"Asked for in the request: {hit.sentence[:120]}", evidence=evidence)

    def _elsewhere(self, tool: str, docs: list[RunbookDoc], runners_up: list[RunbookDoc],
                   request: str) -> list[StepCandidate]:
        """Where else a runbook prescribes ``tool``: a passage outside its fix sections that allows it; else
        a runner-up runbook about the same thing (its title shares three words with the request), unless
        the matching runbook says the action does not help."""
        mentioned = [step for doc in docs for step in mentioned_mitigations(doc) if step.tool == tool]
        if mentioned or any(tool in negated_tools(chunk.text) for doc in docs for chunk in doc.chunks):
            return mentioned
        asked = stems(request)
        others = [step for doc in runners_up if len(stems(doc.title) & asked) >= 3
                  for step in doc_steps(doc, self._catalog)
                  if step.tool == tool and step.phase == "mitigate" and not step.when]
        return sorted(others, key=lambda step: step.origin != "command")

    def _procedure(self, state: PlanState, doc: RunbookDoc, ctx: PlanContext) -> None:
        """A vague ask on an alert whose runbook prescribes a procedure gets that procedure."""
        if doc.steps or "steps" in doc.front_matter or not _VAGUE.search(ctx.request.text):
            return
        if procedure_score(doc) < 2 or any("precondition" in note for note in state.notes):
            return
        entities = ctx.entities
        target = entities.node or entities.cluster or entities.deployment or entities.namespace
        if not target:
            return
        chunk = next((c for c in doc.chunks if c.section and "mitigat" in c.section.lower()), None)
        chunk = chunk or (doc.chunks[0] if doc.chunks else None)
        runbook = doc.source_path.rsplit("/", 1)[-1] if doc.source_path else doc.doc_id
        step = StepCandidate("run_runbook", {"runbook": runbook, "target": target}, "mitigate", "procedure",
                             chunk, quote=chunk.text[:200] if chunk else "", doc_id=doc.doc_id)
        state.add(step, rationale=f"The runbook prescribes a procedure ({doc.title}); run it on {target}")

    def _notify(self, state: PlanState, steps: list[StepCandidate], docs: list[RunbookDoc]) -> None:
        for step in steps:
            if step.phase != "notify":
                continue
            if (step.when and not state.holds(step.when)) or state.has_call(step.tool):
                continue  # one ticket, one page per suggestion
            if step.tool == "create_ticket" and step.origin != "front_matter":
                step = _ticket_from_front_matter(step, docs)
            state.add(step, rationale=_rationale(step), evidence=state.when_evidence(step.when))
        self._page_for_critical(state, docs)

    def _page_for_critical(self, state: PlanState, docs: list[RunbookDoc]) -> None:
        """A critical alert on a runbook that names who to page: page them (restraint still applies)."""
        alert = state.ctx.alert
        page = docs[0].front_matter.get("page") if docs else None
        severity = alert.labels.get("severity", "").lower() if alert else ""
        if alert is None or alert.status != "firing" or severity != "critical":
            return
        if not isinstance(page, dict) or not page.get("team") or state.has_call("page_oncall"):
            return
        chunk = docs[0].chunks[0] if docs[0].chunks else None
        step = StepCandidate("page_oncall", {"team": "$TEAM", "reason": "$PAGE_REASON"}, "notify",
                             "front_matter", chunk, quote=f"page: {page['team']}", doc_id=docs[0].doc_id)
        evidence = [Evidence(key="alert.severity", value="critical", source="alert")]
        why = f"Critical alert; the runbook names {page['team']} to page"
        state.add(step, rationale=why, evidence=evidence)

    # ------------------------------------------------------------------ output
    def _suggestion(self, state: PlanState, docs: list[RunbookDoc], how: str) -> Suggestion:
        planned = sorted(state.planned, key=lambda p: (_PHASE_ORDER.get(p.phase, 1), p.order))
        calls = [ProposedCall(call=p.call, mutating=self._catalog.get(p.call.tool).mutating, source=self.name,
                              rank=float(len(planned) - i)) for i, p in enumerate(planned)]
        citations = list({c.chunk_id: c for p in planned for c in p.call.citations}.values())
        evidence = list({(e.key, str(e.value)): e for p in planned for e in p.call.evidence}.values())
        summary = _summary(docs, calls, state)
        return Suggestion(summary=summary, calls=calls, citations=citations, evidence=evidence,
                          confidence=_CONFIDENCE.get(how, 0.2) if calls else 0.0, planner=self.name,
                          notes=[*state.held_back, *state.notes])


def _ticket_from_front_matter(step: StepCandidate, docs: list[RunbookDoc]) -> StepCandidate:
    tickets = [d.front_matter.get("ticket") for d in docs]
    ticket = next((t for t in tickets if isinstance(t, dict)), None)
    if not ticket:
        return step
    args = dict(step.args)
    for key in ("tracker", "labels"):
        if ticket.get(key):
            args[key] = ticket[key]
    return StepCandidate(step.tool, args, step.phase, step.origin, step.chunk, step.when, step.quote,
                         step.doc_id)


def _rationale(step: StepCandidate) -> str:
    where = f"{step.chunk.title} / {step.chunk.section}" if step.chunk else "the request"
    if step.when:
        return f"Runbook {where}: {step.phase} step; precondition `{step.when}` holds"
    quote = f": {step.quote.strip()[:120]}" if step.quote else ""
    return f"Runbook {where}: {step.phase} step{quote}"


def _summary(docs: list[RunbookDoc], calls: list[ProposedCall], state: PlanState) -> str:
    if not calls:
        why = "; ".join([*state.held_back, *state.notes][:3]) or (
            "no runbook matches this request and there is no alert or telemetry to act on")
        return f"No action proposed: {why}."
    runbook = f"Runbook '{docs[0].title}'" if docs else "No matching runbook"
    mutating = sum(1 for c in calls if c.mutating)
    text = f"{runbook}: {len(calls) - mutating} check(s), {mutating} change(s) proposed."
    if state.held_back:
        text += " Held back: " + "; ".join(state.held_back[:2]) + "."
    return text
