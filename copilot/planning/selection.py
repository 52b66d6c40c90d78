"""Which runbook(s) answer this request: alert-name match first, then the best hybrid hit."""

from __future__ import annotations

import re
from collections.abc import Sequence

from copilot.domain import RunbookDoc
from copilot.planning.context import PlanContext

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_STOP = frozenset("""the and for with from that this what when where which while have been does into about
    please help now check look issue alert alerts firing fire fired keeps keep still again what's whats should
    could would there their them they then than just need needs something anything going wrong broken down
    high low error errors problem problems since after before started start""".split())


def doc_matches_alert(doc: RunbookDoc, name: str) -> bool:
    """True when the runbook declares (or is named after) the alert."""
    if not name:
        return False
    wanted = name.lower()
    stem = doc.source_path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    return (wanted in (a.lower() for a in doc.alert_names) or doc.title.strip().lower() == wanted
            or stem == wanted)


def alert_names_in_text(text: str, docs: Sequence[RunbookDoc]) -> str:
    """An alert name a runbook declares that the request text mentions ("KubePodNotReady for ...")."""
    words = {w.lower() for w in _WORD.findall(text)}
    for doc in docs:
        for name in doc.alert_names:
            if name.lower() in words:
                return name
    return ""


def select_docs(ctx: PlanContext) -> tuple[list[RunbookDoc], str]:
    """The runbooks to plan from, and how they were chosen ("alert", "mentioned", "search", "")."""
    name = ctx.alert_name or alert_names_in_text(ctx.request.text, ctx.docs)
    how = "alert" if ctx.alert_name else "mentioned"
    matched = [doc for doc in ctx.docs if doc_matches_alert(doc, name)]
    if matched:
        return matched[:2], how
    for doc in ctx.docs[:1]:
        if _relevant(ctx.query, doc):
            return [doc], "search"
    return [], ""


def _tokens(text: str) -> set[str]:
    spaced = _CAMEL.sub(" ", text)
    return {w.lower() for w in _WORD.findall(spaced) if len(w) > 2 and w.lower() not in _STOP}


def _relevant(query: str, doc: RunbookDoc) -> bool:
    """The top hit shares meaningful words with the query (guards "what's the weather?")."""
    query_words = _tokens(query)
    if not query_words:
        return False
    about = " ".join([doc.title, *doc.alert_names, *doc.services, *(c.text for c in doc.chunks[:2])])
    shared = query_words & _tokens(about)
    return len(shared) >= 2 or (len(shared) == 1 and len(query_words) <= 3)
