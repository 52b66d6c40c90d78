"""Prose -> typed calls: "cordon the node", "roll back", "open a ticket", PromQL in code blocks.

The phrase table is data: each rule names a tool, the phrase that asks for it and
the placeholder args it takes. The same table tells whether a chat request
explicitly asks for an action ("roll back checkout"). A phrase under a negation
("never scale a deployment an HPA controls", "do not drain") asks for nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from copilot.errors import ConfigError

Phase = str  # "diagnose" | "mitigate" | "notify"


@dataclass(frozen=True)
class ProseRule:
    tool: str
    pattern: re.Pattern[str]
    args: dict[str, Any] = field(default_factory=dict)
    phase: Phase = "diagnose"


_NEAR = r"[^.;:\n]{0,40}?"
PROSE_RULES_PATH = Path(__file__).with_name("prose_rules.yaml")


@functools.lru_cache(maxsize=4)
def load_prose_rules(path: Path = PROSE_RULES_PATH) -> tuple[ProseRule, ...]:
    """The phrase table, compiled once per path."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rules = []
        for raw in data.get("rules", []):
            pattern = "|".join(f"(?:{_expand(phrase)})" for phrase in raw["phrases"])
            compiled = re.compile(pattern, re.IGNORECASE)
            args = dict(raw.get("args") or {})
            rules.append(ProseRule(raw["tool"], compiled, args, raw.get("phase", "diagnose")))
    except (OSError, yaml.YAMLError, KeyError, re.error) as exc:
        raise ConfigError(f"{path}: bad prose rule ({exc}); each rule needs tool, phase, phrases, args") \
            from None
    return tuple(rules)


def _expand(phrase: str) -> str:
    """``\\bcheck\\bN\\blogs`` -> the ``N`` gap becomes "a few words in the same clause"."""
    return phrase.replace(r"\bN\b", r"\b" + _NEAR + r"\b")


_NEGATION = re.compile(r"\b(?:do\s+not|don't|dont|never|avoid|not|without|instead\s+of|rather\s+than|"
                       r"no\s+need\s+to|shouldn't|should\s+not|cannot|can't|won't|before\s+you)\b"
                       # the scope ends at a comma ("X did not help, roll back"), except for an aside
                       # right after the negation ("Never, ever, drain", "Do not, under any circumstances,")
                       r"(?:\s*,[^,.;\n]{0,40},)?[^.;,\n]{0,30}$",
                       re.IGNORECASE)
# "Deleting the pod ... does not help", "a restart won't fix it": the negation follows the phrase.
_NEGATED_AFTER = re.compile(r"^[^.;:,\n]{0,60}?\b(?:does\s+not|doesn't|do\s+not|don't|did\s+not|didn't|"
                            r"has\s+not|hasn't|had\s+not|hadn't|will\s+not|won't|not|"
                            r"would\s+not|wouldn't|cannot|can't|is\s+not|isn't|are\s+not|aren't|never)\s+"
                            r"(?:\w+\s+)?"
                            r"(?:help|work|fix|solve|resolve|recommended|needed|necessary|required|safe|advised)\b",
                            re.IGNORECASE)
_BLOCK_BREAK = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)|\n(?=#)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class ProseHit:
    rule: ProseRule
    sentence: str


def prose_hits(text: str, skip: Callable[[str], bool] | None = None) -> list[ProseHit]:
    """Every (rule, sentence) a text asks for, first hit per tool; negated phrases and ``skip``ped
    sentences (e.g. planted instructions) ask for nothing."""
    hits: dict[str, ProseHit] = {}
    for sentence in _sentences(text):
        if skip is not None and skip(sentence):
            continue
        for rule in load_prose_rules():
            if rule.tool in hits:
                continue
            match = rule.pattern.search(sentence)
            if match and not _negated(sentence, match):
                hits[rule.tool] = ProseHit(rule, sentence.strip())
    return list(hits.values())


def negated_tools(text: str) -> set[str]:
    """Tools a text names under a negation ("restarting the deployment does not help")."""
    out: set[str] = set()
    for sentence in _sentences(text):
        for rule in load_prose_rules():
            match = rule.pattern.search(sentence)
            if match and _negated(sentence, match):
                out.add(rule.tool)
    return out


def _negated(sentence: str, match: re.Match[str]) -> bool:
    after = sentence[match.end():]
    if after[:2] in ("'t", "\u2019t"):  # the phrase swallowed "didn" of "a restart didn't help"
        after = " not" + after[2:]
    return bool(_NEGATION.search(sentence[: match.start()]) or _NEGATED_AFTER.match(after))


def requested_tools(text: str) -> dict[str, ProseHit]:
    """Tools a chat request explicitly asks for, by tool name."""
    return {hit.rule.tool: hit for hit in prose_hits(text)}


def _sentences(text: str) -> list[str]:
    """Sentences of the prose (code blocks removed); a sentence may wrap lines, a list item starts one."""
    prose = _FENCE.sub("\n\n", text)
    out: list[str] = []
    for block in _BLOCK_BREAK.split(prose):
        for sentence in _SENTENCE_END.split(" ".join(line.strip() for line in block.splitlines())):
            if sentence.strip():
                out.append(sentence.strip())
    return out


# --------------------------------------------------------------------------- PromQL in code blocks

_FENCE = re.compile(r"```([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)
_PROMQL_LANGS = frozenset({"promql", "prometheus", "prom", "metricsql"})
_SHELL_START = re.compile(r"^\s*(?:\$|#|//|--|[a-z][\w.-]*\s+-{1,2}\w|(?:oc|kubectl|curl|cat|grep|echo|ssh|"
                          r"sudo|ceph|helm|aws|gcloud|az|psql|mysql|export|for|if|then|do|done|fi)\b)")
_PROMQL_FUNCS = re.compile(r"^\s*(?:sum|rate|irate|increase|max|min|avg|count|topk|bottomk|"
                           r"histogram_quantile|absent|predict_linear|delta|deriv|label_replace|quantile|stddev|time|changes|resets|"
                           r"avg_over_time|max_over_time|min_over_time|sum_over_time|count_over_time|clamp_min|"
                           r"clamp_max|abs|ceil|floor|round|sort|sort_desc|vector|scalar|1\s*-)\s*(?:by\s*\([^)]*\)\s*)?\(")
_METRIC_SELECTOR = re.compile(r"^[\s(]*[a-zA-Z_:][\w:]*\s*(?:\{[^}]*\}|\[\w+\])")
_METRIC_EXPR = re.compile(r"^[\s(]*[a-z][a-z0-9]*_[\w:]*\s*(?:[-+*/)]|==|!=|>=|<=|<|>)")
_INLINE_QUERY = re.compile(r"\b(?:query|queries|querying|graph|expression|promql|metric)\b[^`\n]{0,40}"
                           r"`([^`\n]{2,300})`", re.IGNORECASE)
# "`up == 0` query can be used to ...": the keyword after the span.
_INLINE_QUERY_AFTER = re.compile(r"`([^`\n]{2,300})`\s*(?:[a-z]+\s+){0,2}?"
                                 r"(?:query|queries|expression|promql)\b", re.IGNORECASE)
# A code block holding just a metric name (``node_filesystem_free_bytes``): read it as a query.
_BARE_METRIC = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+){2,}$")
_SIMPLE_EXPR = re.compile(r"^[a-zA-Z_:][\w:]*\s*(?:\{[^}]*\})?\s*(?:==|!=|>=|<=|<|>)\s*[\d.]+$")


def promql_queries(text: str) -> list[str]:
    """PromQL expressions in fenced code blocks (``promql`` blocks, or blocks that read as PromQL)."""
    queries: list[str] = []
    for match in _FENCE.finditer(text):
        lang, body = match.group(1).lower(), match.group(2)
        if lang in _PROMQL_LANGS:
            queries.extend(_expressions(body))
        elif lang in ("", "text", "txt", "plaintext", "console", "shell", "bash", "sh"):
            exprs = _expressions(body)
            lone = len(exprs) == 1
            queries.extend(q for q in exprs if _reads_as_promql(q) or (lone and _BARE_METRIC.match(q)))
    prose = _FENCE.sub(" ", text)
    for pattern in (_INLINE_QUERY, _INLINE_QUERY_AFTER):
        for match in pattern.finditer(prose):
            span = match.group(1).strip()
            if (_reads_as_promql(span) or _SIMPLE_EXPR.match(span)) and span not in queries:
                queries.append(span)
    return queries


def _expressions(body: str) -> list[str]:
    """Split a block into expressions; indented or operator-led lines continue the previous one."""
    exprs: list[str] = []
    for line in body.splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        stripped = line.strip()
        continues = line[:1].isspace() or stripped[:1] in "/*+-)}<>=," or (
            bool(exprs) and exprs[-1].rstrip()[-1:] in "({/*+-,")
        if exprs and continues:
            exprs[-1] = exprs[-1].rstrip() + " " + line.strip()
        else:
            exprs.append(line.strip())
    return exprs


def _reads_as_promql(line: str) -> bool:
    if _SHELL_START.match(line) or len(line) > 600:
        return False
    return bool(_PROMQL_FUNCS.match(line) or _METRIC_SELECTOR.match(line) or _METRIC_EXPR.match(line))
