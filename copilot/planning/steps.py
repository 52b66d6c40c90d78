"""A runbook's steps as phase-tagged candidates: front matter, parsed commands, prose, PromQL.

Front-matter ``steps`` win when present. Otherwise the section a chunk sits in
sets the phase: Diagnosis-like sections give read-only calls, Mitigation-like
sections may give mutating ones, Escalation-like sections give notifications.
Commands and phrases under a negation ("never `kubectl scale` ...") are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from copilot.catalog import Catalog
from copilot.domain import RetrievedChunk, RunbookDoc
from copilot.planning.prose import promql_queries, prose_hits

_DIAGNOSE = re.compile(r"diagnos|investigat|troubleshoot|check|verif|symptom|debug|triage|identif|inspect|"
                       r"detect|confirm|analy|cause|find|determin|what to look",
                       re.IGNORECASE)
_MITIGATE = re.compile(r"mitigat|resol|remediat|\bfix|recover|solution|workaround|repair|restor|action|"
                       r"procedure|response|purge|roll\s*back|failover|what to do|how to|steps|runbook|handl|"
                       r"correct|cancel|\bkill|containment|rotat|revok",
                       re.IGNORECASE)
_NOTIFY = re.compile(r"escalat|contact|support|notif|communicat|follow.?up|ticket", re.IGNORECASE)
_INFO = re.compile(r"meaning|impact|summary|overview|descript|background|reference|link|about|context|"
                   r"prerequisit|see also|related|documentation", re.IGNORECASE)
_NEGATED_LINE = re.compile(r"\b(?:never|do\s+not|don't|avoid|not|instead\s+of|rather\s+than)\b",
                           re.IGNORECASE)
_CONDITIONAL = re.compile(r"^\s*(?:if|when|in\s+case|should|once|only\s+if|unless)\b", re.IGNORECASE)
_INJECTION = re.compile(r"ignore\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier)\s+"
                        r"instructions|"
                        r"disregard\s+(?:all\s+|the\s+|any\s+)?(?:previous|prior|above|instructions|rules)|"
                        r"system\s+prompt|you\s+are\s+now|new\s+instructions|jailbreak|override\s+(?:the\s+)?"
                        r"(?:guard|policy|safety)|do\s+anything\s+now|"
                        # role markers and chat-template tokens planted in text
                        r"(?:^|[\n.!?]\s*)(?:system|assistant)\s*:|\[/?INST\]|<\|(?:im_start|im_end|system)\|>|"
                        r"###\s*(?:instruction|system)\b|"
                        # words aimed at the assistant, or at skipping the approval step
                        r"\bnote\s+(?:to|for)\s+(?:the\s+)?(?:ai|assistant|bot|copilot|llm|model)\b|"
                        r"(?<![\w-])(?:the\s+)?(?:ai|assistant|copilot|bot|llm)\s+(?:must|should|shall|is\s+to)\s|"
                        r"\bas\s+an\s+ai\b|\bforget\s+(?:your|all|the|previous)\s+(?:rules|instructions)|"
                        r"\b(?:skip|bypass)\s+(?:the\s+)?(?:confirmation|approvals?|review|guard)\b|"
                        r"\bwithout\s+(?:asking\s+(?:for\s+)?)?(?:confirmation|approvals?)\b|\bauto[-\s]?approve",
                        re.IGNORECASE)


@dataclass(frozen=True)
class StepCandidate:
    """One call a runbook suggests, with its phase, precondition and source passage."""

    tool: str
    args: dict[str, Any]
    phase: str  # diagnose | mitigate | notify
    origin: str  # front_matter | command | prose | promql
    chunk: RetrievedChunk | None = None
    when: str | None = None
    quote: str = ""
    doc_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def section_phase(chunk: RetrievedChunk) -> str:
    """diagnose | mitigate | notify | info for the section a chunk sits in.

    The deepest heading that says something wins ("Troubleshooting > Cancelling the query" is a
    mitigation); a neutral sub-heading ("Getting the current query") defers to its parents.
    """
    names = [*reversed(chunk.heading_path[1:]), chunk.section]
    for name in names:
        if not name:
            continue
        if _NOTIFY.search(name):
            return "notify"
        if _MITIGATE.search(name):
            return "mitigate"
        if _DIAGNOSE.search(name):
            return "diagnose"
        if _INFO.search(name):
            return "info"
    return "info"


def has_injection(text: str) -> bool:
    return bool(_INJECTION.search(text))


def doc_steps(doc: RunbookDoc, catalog: Catalog) -> list[StepCandidate]:
    """Every step candidate of one runbook, in document order."""
    if doc.steps or "steps" in doc.front_matter:  # `steps: []` says "nothing to run" on purpose
        return _front_matter_steps(doc, catalog)
    out: list[StepCandidate] = []
    for chunk in doc.chunks:
        out.extend(chunk_steps(chunk, catalog))
    return out


def _front_matter_steps(doc: RunbookDoc, catalog: Catalog) -> list[StepCandidate]:
    out = []
    for step in doc.steps:
        if step.tool not in catalog:
            continue
        phase = step.phase or _default_phase(step.tool, catalog)
        chunk = _citing_chunk(doc, step.tool, phase, catalog)
        out.append(StepCandidate(step.tool, dict(step.args), phase, "front_matter", chunk, step.when,
                                 quote=step.title, doc_id=doc.doc_id))
    return out


def _default_phase(tool: str, catalog: Catalog) -> str:
    if tool in ("create_ticket", "page_oncall"):
        return "notify"
    return "mitigate" if catalog.get(tool).mutating else "diagnose"


def _citing_chunk(doc: RunbookDoc, tool: str, phase: str, catalog: Catalog) -> RetrievedChunk | None:
    """The passage that best explains a front-matter step: its command, else its section."""
    for chunk in doc.chunks:
        if any(call.tool == tool for call in chunk.candidate_calls):
            return chunk
    words = [k.lower() for k in catalog.get(tool).keywords]
    for chunk in doc.chunks:
        if section_phase(chunk) == phase and any(w in chunk.text.lower() for w in words):
            return chunk
    for chunk in doc.chunks:
        if section_phase(chunk) == phase:
            return chunk
    return doc.chunks[0] if doc.chunks else None


def chunk_steps(chunk: RetrievedChunk, catalog: Catalog) -> list[StepCandidate]:
    """Candidates from one chunk of a runbook without front-matter steps."""
    phase = section_phase(chunk)
    lines = chunk.text.split("\n")
    out: list[StepCandidate] = []
    for call in chunk.candidate_calls:
        if call.tool not in catalog:
            continue
        line = _line_at(lines, chunk, call.line)
        if _INJECTION.search(line) or (line and _negated_before(line, call.command)):
            continue
        mutating = catalog.get(call.tool).mutating
        step_phase = "mitigate" if mutating else ("diagnose" if phase != "notify" else "notify")
        if call.tool in ("create_ticket", "page_oncall"):
            step_phase = "notify"
        out.append(StepCandidate(call.tool, dict(call.args), step_phase, "command", chunk, quote=call.command,
                                 doc_id=chunk.doc_id))
    for query in promql_queries(chunk.text):
        out.append(StepCandidate("get_metrics", {"query": query}, "diagnose", "promql", chunk, quote=query,
                                 doc_id=chunk.doc_id))
    for hit in prose_hits(chunk.text, skip=has_injection):  # a planted instruction asks for nothing
        rule = hit.rule
        if rule.phase == "mitigate" and phase != "mitigate":
            continue
        if rule.phase == "notify" and phase not in ("mitigate", "notify", "diagnose"):
            continue
        conditional = bool(_CONDITIONAL.search(hit.sentence))
        out.append(StepCandidate(rule.tool, dict(rule.args), rule.phase, "prose", chunk, quote=hit.sentence,
                                 doc_id=chunk.doc_id, extra={"conditional": conditional}))
    return out


# A sentence that allows or asks for an action ("can be silenced", "you may restart", "Restart the ...").
_PRESCRIPTIVE = re.compile(r"\b(?:can|may|should|could)\s+(?:safely\s+)?be\b|\b(?:you|we)\s+(?:can|may|"
                           r"should|could|need\s+to)\b|\bsafe\s+to\b|^\W*(?:restart|roll|silence|scale|cordon|"
                           r"drain|delete|block|purge|rotate|kill|cancel|terminate|fail\s*over|resize|expand|"
                           r"uncordon)\b", re.IGNORECASE)


def mentioned_mitigations(doc: RunbookDoc) -> list[StepCandidate]:
    """Mitigations a runbook names outside its fix sections ("This alert can be silenced if the backup
    is running"): never implied by telemetry, but they answer an explicit request for that action."""
    out: list[StepCandidate] = []
    for chunk in doc.chunks:
        if section_phase(chunk) == "mitigate":
            continue
        for hit in prose_hits(chunk.text, skip=has_injection):
            if hit.rule.phase == "mitigate" and _PRESCRIPTIVE.search(hit.sentence):
                out.append(StepCandidate(hit.rule.tool, dict(hit.rule.args), "mitigate", "prose", chunk,
                                         quote=hit.sentence, doc_id=chunk.doc_id, extra={"mentioned": True}))
    return out


def _line_at(lines: list[str], chunk: RetrievedChunk, line: int | None) -> str:
    if line is None:
        return ""
    index = line - chunk.line_start
    return lines[index] if 0 <= index < len(lines) else ""


def _negated_before(line: str, command: str) -> bool:
    """An inline command preceded by "never" / "do not" on its line."""
    head = command.split()[0] if command.split() else ""
    position = line.find(head) if head else -1
    return position > 0 and bool(_NEGATED_LINE.search(line[:position]))


def procedure_score(doc: RunbookDoc) -> int:
    """How much a runbook's mitigation reads as a procedure: numbered steps and commands in fix sections."""
    score = 0
    for chunk in doc.chunks:
        if section_phase(chunk) != "mitigate":
            continue
        score += len(re.findall(r"^\s*\d+[.)]\s+\S", chunk.text, re.MULTILINE))
        score += chunk.text.count("```") // 2
    return score


_NAMESPACE_FLAG = re.compile(r"(?:^|\s)(?:-n|--namespace)[\s=]+['\"]?([a-z0-9][a-z0-9-]*[a-z0-9])\b")


def doc_namespace(doc: RunbookDoc) -> str | None:
    """The namespace a runbook's commands most often name (``-n openshift-storage``), if any."""
    counts: dict[str, int] = {}
    for chunk in doc.chunks:
        for match in _NAMESPACE_FLAG.finditer(chunk.text):
            name = match.group(1)
            counts[name] = counts.get(name, 0) + 1
    return max(counts, key=lambda name: counts[name]) if counts else None
