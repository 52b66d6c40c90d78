"""Hybrid ranking, pure: what text each chunk is indexed under, and reciprocal-rank fusion.

Each chunk is indexed with its context: the runbook title and alert names (CamelCase split into
words for the dense model) and its heading path, then its text. BM25 weights the title, alert
names and headings above the body by repeating them (a simple BM25F).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from copilot.domain import RetrievedChunk, RunbookDoc
from copilot.retrieval.bm25 import tokenize

_CAMEL_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


@dataclass(frozen=True)
class Tuning:
    """Ranking knobs, tuned on the benchmark's query sets (never per query)."""

    rrf_k: float = 60.0
    depth: int = 60  # candidates taken from each ranker
    title_weight: int = 3
    alert_weight: int = 2
    heading_weight: int = 2
    bm25_weight: float = 1.0
    dense_weight: float = 1.0
    alert_boost: float = 1.0  # added to every chunk of a runbook answering the given alert name
    doc_weight: float = 1.0  # whole-runbook BM25 ranking, fused with the chunk rankings
    doc_fusion: bool = True  # fuse per runbook, then order chunks within
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    chunk_share: float = 0.001  # with doc_fusion: how much a chunk's own score adds


DEFAULT_TUNING = Tuning()


def humanize(name: str) -> str:
    """``KubePodCrashLooping`` -> ``Kube Pod Crash Looping``; other text unchanged."""
    if " " in name.strip() or not re.search(r"[a-z][A-Z]|[A-Z]{2}[a-z]", name):
        return name
    return " ".join(_CAMEL_WORDS.findall(name))


def embedding_text(chunk: RetrievedChunk) -> str:
    """The text the dense model sees: title, alert names and heading path, then the chunk."""
    title = humanize(chunk.title)
    alerts = [humanize(a) for a in chunk.alert_names if humanize(a) != title]
    headings = " > ".join(h for h in chunk.heading_path if h != chunk.title)
    head = ". ".join(part for part in (title, ", ".join(alerts), headings) if part)
    return f"{head}\n{chunk.text}"


def bm25_tokens(chunk: RetrievedChunk, tuning: Tuning = DEFAULT_TUNING) -> list[str]:
    """Index tokens of a chunk, with title, alert names and headings weighted up."""
    tokens = tokenize(chunk.title) * tuning.title_weight
    tokens += tokenize(" ".join(chunk.alert_names)) * tuning.alert_weight
    tokens += tokenize(" ".join(h for h in chunk.heading_path if h != chunk.title)) * tuning.heading_weight
    return tokens + tokenize(chunk.text)


def doc_tokens(doc: RunbookDoc, tuning: Tuning = DEFAULT_TUNING) -> list[str]:
    """Index tokens of a whole runbook (title and alert names weighted up)."""
    tokens = tokenize(doc.title) * tuning.title_weight
    tokens += tokenize(" ".join(doc.alert_names)) * tuning.alert_weight
    return tokens + [t for chunk in doc.chunks for t in tokenize(chunk.text)]


def reciprocal_rank_fusion(rankings: Iterable[tuple[Sequence[int], float]], k: float) -> dict[int, float]:
    """Sum of ``weight / (k + rank)`` over the rankings (rank from 1) each item appears in."""
    scores: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores
