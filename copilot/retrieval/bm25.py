"""A small BM25 (Okapi) index with a runbook-aware tokenizer, scored with numpy.

Tokenizer: lowercase words; a CamelCase name (``KubePodCrashLooping``, ``ACMRemoteWriteError``)
yields the whole name and its parts; stop words dropped; a light suffix stemmer folds plurals
and -ing/-ed forms. The index is rebuilt from the stored chunks at start (it takes well under a
second for thousands of chunks), so there is nothing extra to persist or keep in sync.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_STOP = frozenset("""a an and are as at be been but by can do does for from has have how i if in into is it
its of on or so that the their then there these this to was were what when where which while who will with you
your we our my me us pls please""".split())
# Common ops shorthand, expanded on both sides (index and query) so "prom svc" meets "Prometheus service".
ABBREVIATIONS = {
    "k8s": "kubernetes", "prom": "prometheus", "svc": "service", "svcs": "services", "ns": "namespace",
    "ctrl": "control", "cert": "certificate", "certs": "certificates", "db": "database", "dbs": "databases",
    "mem": "memory", "perms": "permissions", "cfg": "config", "conf": "config", "repl": "replication",
    "img": "image", "imgs": "images", "deploy": "deployment", "thru": "through", "btw": "", "pls": "",
    "plz": "", "msg": "message", "msgs": "messages", "env": "environment", "auth": "authentication",
}
_IRREGULAR = {"ran": "run", "died": "die", "dies": "die", "dying": "die", "went": "go", "gone": "go"}


def stem(word: str) -> str:
    """A light stemmer: plural, -ing, -ed, -ly; keeps short words as they are."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("edly", ""), ("ed", ""), ("ly", ""),
                         ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            base = word[: -len(suffix)] + keep
            if suffix in ("ing", "ed") and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # running -> run, stopped -> stop
            return base
    return word


def tokenize(text: str) -> list[str]:
    """Index/query tokens of ``text``."""
    tokens: list[str] = []
    for raw in _WORD.findall(text):
        expanded = ABBREVIATIONS.get(raw.lower())
        if expanded is not None:
            tokens.extend(stem(word) for word in expanded.split())
            continue
        parts = _CAMEL_PART.findall(raw)
        lowered = raw.lower()
        if len(parts) > 1 and lowered not in _STOP:
            tokens.append(lowered)
        for part in parts if len(parts) > 1 else [raw]:
            word = part.lower()
            if word not in _STOP and len(word) > 1:
                tokens.append(stem(word))
    return tokens


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
    fully covered by "node is not ready"; ``Prometheus Target Sync Failure`` only partly."""

    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        self.size = len(documents)
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
        for term in set(query_tokens):
            ids = self._postings.get(term)
            if ids is not None:
                covered[ids] += self._idf[term]
        out: np.ndarray = covered / self._mass
        return out
