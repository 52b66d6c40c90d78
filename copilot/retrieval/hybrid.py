"""Hybrid ranking, pure: what text each chunk and runbook is indexed under, and score fusion.

Each chunk is indexed with its context: the runbook title and alert names (CamelCase split into
words for the dense model) and its heading path, then its text. BM25 weights the title, alert
names and headings above the body by repeating them (a simple BM25F). Each runbook also gets a
small index of how much of its title and alert names a query covers. (A dense per-runbook
"profile" ranker was tried and earned weight 0 on the tuning half, so it was removed: it cost an
embedding per runbook and a second Chroma collection.)

Fusion is a convex combination of standardised scores: every ranker returns its top runbooks
with raw scores, the scores are turned into z-scores within that list (a runbook the ranker did
not return gets the list's lowest z-score), and the z-scores are summed with per-ranker weights.
Unlike reciprocal-rank fusion this keeps *how far* ahead a runbook is within each list, so a
clear lead in one ranker outweighs a near-tie in another. Weighted reciprocal-rank fusion is
kept as ``Tuning(fusion="rrf")``: the benchmark prints it beside the default, and it loses about
10 points of recall@1 to z-scores on every query set. The weights were chosen on the tuning half of the
benchmark's query sets (even lines) and checked on the held-out half; see ``benchmarks/retrieval.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from copilot.domain import RetrievedChunk, RunbookDoc
from copilot.retrieval.lexicon import tokenize

_CAMEL_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

LEXICAL = ("chunk_bm25", "doc_bm25", "name_coverage")
DENSE = ("chunk_dense",)


@dataclass(frozen=True)
class Tuning:
    """Ranking knobs, tuned on the benchmark's tuning half (never per query or per runbook)."""

    depth: int = 50  # runbooks taken from each ranker
    chunk_depth: int = 150  # chunks taken from the chunk rankers before folding them into runbooks
    title_weight: int = 3
    alert_weight: int = 2
    heading_weight: int = 2
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    # fusion weights (convex: they sum to 1)
    chunk_bm25: float = 0.15
    doc_bm25: float = 0.15
    name_coverage: float = 0.2
    chunk_dense: float = 0.5
    # a runbook's dense score: its nearest chunk plus this much of its second nearest
    dense_second_chunk: float = 0.25
    # "zscore" (weighted standardised scores, the default) or "rrf" (weighted reciprocal rank,
    # ``rrf_k``): the benchmark prints both; z-scores won on the tuning half
    fusion: str = "zscore"
    rrf_k: float = 60.0
    alert_boost: float = 100.0  # added to a runbook answering the given alert name: it comes first
    # diversity: the fused best runbook and the best ``leader_depth`` runbooks of each ranker in
    # ``leader_sources`` are kept within the first ``leader_slots`` runbooks (0: off), so a runbook
    # one ranker is sure about is not buried by the others (hybrid mode only); a name-coverage
    # leader must cover at least ``leader_min_coverage`` of its runbook's name (title + alert names)
    leader_slots: int = 5
    leader_sources: tuple[str, ...] = ("doc_bm25", "name_coverage")
    leader_depth: int = 2
    leader_min_coverage: float = 0.5

    def __post_init__(self) -> None:
        if self.fusion not in ("zscore", "rrf"):
            raise ValueError(f"unknown fusion {self.fusion!r}; use zscore or rrf")

    def weights(self, mode: str) -> dict[str, float]:
        """Fusion weight per ranker for ``hybrid``, ``bm25`` (lexical rankers) or ``dense``."""
        names = {"hybrid": LEXICAL + DENSE, "bm25": LEXICAL, "dense": DENSE}.get(mode)
        if names is None:
            raise ValueError(f"unknown ranking mode {mode!r}; use hybrid, bm25 or dense")
        return {name: float(getattr(self, name)) for name in names}


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


def title_tokens(doc: RunbookDoc) -> list[str]:
    """Index tokens of a runbook's name field: its title and alert names."""
    return tokenize(doc.title) + tokenize(" ".join(doc.alert_names))


def standardize(scores: Mapping[int, float]) -> tuple[dict[int, float], float]:
    """Z-scores of one ranker's list, and the floor for items it did not return (its lowest
    z-score). A list whose scores are all equal gives each item 1.0 and a floor of 0.0."""
    if not scores:
        return {}, 0.0
    values = list(scores.values())
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    if spread <= 1e-12:
        return dict.fromkeys(scores, 1.0), 0.0
    z = {item: (value - mean) / spread for item, value in scores.items()}
    return z, min(z.values())


def fuse(rankings: Sequence[tuple[Mapping[int, float], float]]) -> dict[int, float]:
    """Weighted sum of standardised scores over ``(raw scores, weight)`` rankings; an item one
    ranker missed gets that ranker's floor. Rankers with weight 0 or no items are left out."""
    used = [(standardize(scores), weight) for scores, weight in rankings if weight and scores]
    items = {item for (z, _), _ in used for item in z}
    return {item: sum(weight * z.get(item, floor) for (z, floor), weight in used) for item in items}


def reserve_leaders(order: Sequence[int], leaders: Sequence[int], slots: int) -> list[int]:
    """``order`` (best first) with each of ``leaders`` among the first ``slots`` items: the window
    keeps the leaders plus the best of the rest, in their fused order, so a leader from further
    down lands at the end of the window. Nothing changes when the leaders are already inside."""
    wanted = [item for item in dict.fromkeys(leaders) if item in order][:max(slots, 0)]
    if all(item in order[:slots] for item in wanted):
        return list(order)
    rest = [item for item in order if item not in wanted]
    chosen = set(wanted) | set(rest[:slots - len(wanted)])
    return [item for item in order if item in chosen] + [item for item in order if item not in chosen]


def reciprocal_rank_fusion(rankings: Sequence[tuple[Sequence[int], float]], k: float) -> dict[int, float]:
    """Sum of ``weight / (k + rank)`` over the rankings (rank from 1) each item appears in."""
    scores: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores
