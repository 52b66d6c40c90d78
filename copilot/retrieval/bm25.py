"""A small BM25 (Okapi) index and a name-coverage index over ``lexicon.tokenize`` tokens, scored
with numpy. Both are rebuilt from the stored chunks at start (well under a second for thousands of
chunks), so there is nothing extra to persist or keep in sync.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np


class BM25Index:
    """Okapi BM25 over a fixed list of token lists; ``scores(query)`` gives one score per document."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.size = len(documents)
        lengths = np.array([len(doc) for doc in documents], dtype=np.float32)
        average = float(lengths.mean()) if self.size else 0.0
        self._norm = k1 * (1 - b + b * lengths / max(average, 1e-9))
        self._k1 = k1
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for index, doc in enumerate(documents):
            for term, count in Counter(doc).items():
                ids, counts = postings.setdefault(term, ([], []))
                ids.append(index)
                counts.append(count)
        self._postings = {
            term: (np.array(ids, dtype=np.int64), np.array(counts, dtype=np.float32))
            for term, (ids, counts) in postings.items()
        }
        self._idf = {
            term: math.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))
            for term, (ids, _) in self._postings.items()
        }

    def __contains__(self, term: object) -> bool:
        """Whether any document has ``term``."""
        return term in self._postings

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query (zeros where no term matches)."""
        out = np.zeros(self.size, dtype=np.float32)
        for term, weight in Counter(query_tokens).items():
            posting = self._postings.get(term)
            if posting is None:
                continue
            ids, counts = posting
            out[ids] += weight * self._idf[term] * counts * (self._k1 + 1) / (counts + self._norm[ids])
        return out

    def top(self, query_tokens: Sequence[str], n: int) -> dict[int, float]:
        """The ``n`` best-scoring documents that match at least one query term, with their scores."""
        return top_scores(self.scores(query_tokens), n)


def top_scores(scores: np.ndarray, n: int, floor: float = 0.0) -> dict[int, float]:
    """``{index: score}`` of the ``n`` highest entries above ``floor``, best first. Only the
    entries above ``floor`` are partitioned, so a sparse score vector costs little."""
    candidates = np.flatnonzero(scores > floor)
    if n < len(candidates):
        candidates = candidates[np.argpartition(-scores[candidates], n - 1)[:n]]
    ordered = candidates[np.argsort(-scores[candidates], kind="stable")]
    return {int(i): float(scores[i]) for i in ordered}


class CoverageIndex:
    """How much of a short field (a runbook's title and alert names) a query covers: the share of
    the field's distinct-term IDF mass whose terms occur in the query. ``Kube Node Not Ready`` is
    fully covered by "node is not ready"; ``Prometheus Target Sync Failure`` only partly.

    ``synonyms`` maps a query term to the terms it also covers (``vanish`` covers ``down``)."""

    def __init__(self, documents: Sequence[Sequence[str]],
                 synonyms: Mapping[str, Sequence[str]] | None = None) -> None:
        self.size = len(documents)
        self._synonyms = dict(synonyms or {})
        postings: dict[str, list[int]] = {}
        for index, doc in enumerate(documents):
            for term in set(doc):
                postings.setdefault(term, []).append(index)
        self._idf = {term: math.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))
                     for term, ids in postings.items()}
        self._postings = {term: np.array(ids, dtype=np.int64) for term, ids in postings.items()}
        mass = np.zeros(self.size, dtype=np.float64)
        for term, ids in self._postings.items():
            mass[ids] += self._idf[term]
        self._mass = np.maximum(mass, 1e-9)

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """Covered share (0..1) of every document for the query."""
        covered = np.zeros(self.size, dtype=np.float64)
        terms = set(query_tokens)
        for term in list(terms):
            terms.update(self._synonyms.get(term, ()))
        for term in terms:
            ids = self._postings.get(term)
            if ids is not None:
                covered[ids] += self._idf[term]
        out: np.ndarray = covered / self._mass
        return out
