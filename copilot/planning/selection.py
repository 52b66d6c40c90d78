"""Which runbook(s) answer this request: alert-name match first, then the best hybrid hit.

Without an alert-name match, the retrieved runbooks are re-ranked by three plain
signals: retrieval rank, words shared with the request and alert (crudely
stemmed), and how many of the runbook's stated preconditions name a key the
telemetry actually has. The runner-up is kept as a *secondary* runbook: only its
mitigations whose precondition holds in telemetry may be used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from copilot.domain import RunbookDoc
from copilot.errors import ConfigError
from copilot.planning.conditions import condition_keys
from copilot.planning.context import PlanContext

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_UNIT = re.compile(r"_(?:seconds|minutes|hours|days)$")
_STOP = frozenset("""the and for with from that this what when where which while have been does into about
    please help now check look issue alert alerts firing fire fired keeps keep still again whats should
    could would there their them they then than just need needs something anything going wrong broken
    problem problems since after before started start getting over minutes minute hours ago can you our
    are was were its it's not any all some more most very really like got get seems seem why how""".split())


@dataclass(frozen=True)
class Selection:
    primary: list[RunbookDoc]
    secondary: list[RunbookDoc]
    how: str  # alert | mentioned | search | ""


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


def select_docs(ctx: PlanContext) -> Selection:
    """The runbooks to plan from, and how they were chosen."""
    name = ctx.alert_name or alert_names_in_text(ctx.request.text, ctx.docs)
    matched = [doc for doc in ctx.docs if doc_matches_alert(doc, name)]
    if matched:
        return Selection(matched[:2], [], "alert" if ctx.alert_name else "mentioned")
    query_words = stems(" ".join([ctx.query, *(_key_words(k) for k in ctx.telemetry)]))
    scored = []
    for rank, doc in enumerate(ctx.docs):
        overlap = len(query_words & stems(_about(doc)))
        support = _precondition_support(doc, ctx.telemetry)
        if overlap == 0 and support == 0:
            continue
        scored.append((1.0 / (1 + rank) + 0.15 * min(overlap, 6) + 1.0 * support, rank, doc))
    if not scored:
        return Selection([], [], "")
    scored.sort(key=lambda item: (-item[0], item[1]))
    return Selection([scored[0][2]], [doc for _, _, doc in scored[1:3]], "search")


def stems(text: str) -> set[str]:
    spaced = _CAMEL.sub(" ", text).replace("_", " ")
    return {w.lower()[:6] for w in _WORD.findall(spaced) if len(w) > 2 and w.lower() not in _STOP}


def _about(doc: RunbookDoc) -> str:
    return " ".join([doc.title, *doc.alert_names, *doc.services, *(c.section for c in doc.chunks),
                     *(c.text for c in doc.chunks[:2])])


def _key_words(key: str) -> str:
    return str(key).split("{", 1)[0].replace("_", " ")


def _keys(when: str) -> list[str]:
    try:
        return condition_keys(when)
    except ConfigError:  # a broken precondition supports nothing; the planner notes it
        return []


def _precondition_support(doc: RunbookDoc, telemetry: dict[str, object]) -> float:
    """Share of the runbook's `when` keys that the telemetry has (0 when it states none)."""
    keys = {k.split("{", 1)[0] for step in doc.steps if step.when for k in _keys(step.when)}
    if not keys:
        return 0.0
    names = {str(k).split("{", 1)[0] for k in telemetry}
    unit_free = {_UNIT.sub("", n) for n in names}
    present = sum(1 for k in keys if k in names or _UNIT.sub("", k) in unit_free)
    return present / len(keys)
