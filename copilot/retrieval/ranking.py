"""Hybrid search over an in-memory index of the stored runbooks plus Chroma's vector search.

Four rankers each return their best runbooks with raw scores:

- chunk BM25: the best chunks by BM25, each runbook scored by its best chunk;
- runbook BM25: BM25 over whole runbooks;
- name coverage: how much of a runbook's title and alert names the query covers;
- chunk dense: Chroma's HNSW nearest chunks (``n_results`` capped), each runbook scored by its
  nearest chunk plus a quarter of its second nearest.

``hybrid.fuse`` combines them per runbook; a runbook's chunks then come in the order of their
own fused chunk-level score. Only documents that contain a query term are scored by BM25 and
only the top of each list is fused, so a search costs little more at 50,000 chunks than at 1,000.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from copilot.domain import RetrievedChunk, RunbookDoc
from copilot.retrieval.bm25 import BM25Index, CoverageIndex, top_scores
from copilot.retrieval.chroma_store import ChromaStore
from copilot.retrieval.embeddings import EmbeddingCache
from copilot.retrieval.hybrid import (
    Tuning,
    bm25_tokens,
    doc_tokens,
    fuse,
    reciprocal_rank_fusion,
    reserve_leaders,
    title_tokens,
)
from copilot.retrieval.lexicon import Initialisms, synonym_table, tokenize

Ranking = dict[int, float]  # item position -> raw score, best first


class SearchIndex:
    """Chunks and runbooks in a fixed order with their BM25 indexes; rebuilt when documents change."""

    def __init__(self, docs: Sequence[RunbookDoc], tuning: Tuning) -> None:
        self.docs = list(docs)
        self.chunks = [chunk for doc in docs for chunk in doc.chunks]
        self.position = {chunk.chunk_id: i for i, chunk in enumerate(self.chunks)}
        self.doc_position = {doc.doc_id: i for i, doc in enumerate(docs)}
        self.doc_of_chunk = np.array([i for i, doc in enumerate(docs) for _ in doc.chunks], dtype=np.int64)
        self.doc_chunks: list[list[int]] = []
        start = 0
        for doc in docs:
            self.doc_chunks.append(list(range(start, start + len(doc.chunks))))
            start += len(doc.chunks)
        bm25 = {"k1": tuning.bm25_k1, "b": tuning.bm25_b}
        self.chunk_bm25 = BM25Index([bm25_tokens(chunk, tuning) for chunk in self.chunks], **bm25)
        self.doc_bm25 = BM25Index([doc_tokens(doc, tuning) for doc in docs], **bm25)
        self.name_coverage = CoverageIndex([title_tokens(doc) for doc in docs], synonym_table())
        self.initialisms = Initialisms((chunk.text for chunk in self.chunks), self.chunk_bm25)
        self.by_alert: dict[str, list[int]] = {}
        for position, doc in enumerate(docs):
            for name in doc.alert_names:
                self.by_alert.setdefault(name.casefold(), []).append(position)


@dataclass
class _Scope:
    """Which chunks and runbooks the filters allow (None: all)."""

    chunks: np.ndarray | None
    docs: np.ndarray | None
    doc_ids: list[str] | None
    by_section: bool


class HybridRanker:
    """Ranks chunks of a ``SearchIndex`` for a query; ``mode`` picks the rankers fused."""

    def __init__(self, index: SearchIndex, store: ChromaStore, cache: EmbeddingCache, tuning: Tuning) -> None:
        self._index = index
        self._store = store
        self._cache = cache
        self._tuning = tuning

    def rank(self, query: str, k: int, *, allowed: np.ndarray | None = None, by_section: bool = False,
             alert_name: str | None = None, mode: str = "hybrid") -> list[RetrievedChunk]:
        """Best ``k`` chunks, each with its runbook's fused score; ``allowed`` masks chunks."""
        weights = self._tuning.weights(mode)
        scope = self._scope(allowed, by_section)
        expansions = self._index.initialisms.expand(query)
        if expansions:
            query = f"{query} ({', '.join(expansions)})"
        chunk_rankings: dict[str, Ranking] = {}
        doc_rankings: dict[str, Ranking] = {}
        if query.strip():
            if any(weights[name] for name in ("chunk_bm25", "doc_bm25", "name_coverage") if name in weights):
                self._lexical(query, scope, chunk_rankings, doc_rankings)
            if weights.get("chunk_dense"):
                self._dense(query, scope, chunk_rankings, doc_rankings)
        doc_scores = self._fuse(doc_rankings, weights)
        if alert_name:
            for doc in self._index.by_alert.get(alert_name.casefold(), []):
                if scope.docs is None or scope.docs[doc]:
                    doc_scores[doc] = doc_scores.get(doc, 0.0) + self._tuning.alert_boost
        chunk_scores = fuse([(chunk_rankings.get(name, {}), weights.get(name, 0.0))
                             for name in ("chunk_bm25", "chunk_dense")])
        order = sorted(doc_scores, key=lambda d: -doc_scores[d])
        if mode == "hybrid" and self._tuning.leader_slots and order:
            order = reserve_leaders(order, self._leaders(order[0], doc_rankings), self._tuning.leader_slots)
        best_bm25 = chunk_rankings.get("chunk_bm25", {})
        return self._chunks_of(order, doc_scores, chunk_scores, best_bm25, scope, k)

    def _fuse(self, doc_rankings: Mapping[str, Ranking], weights: Mapping[str, float]) -> dict[int, float]:
        if self._tuning.fusion == "rrf":
            return reciprocal_rank_fusion([(list(doc_rankings.get(name, {})), weight)
                                           for name, weight in weights.items()], self._tuning.rrf_k)
        return fuse([(doc_rankings.get(name, {}), weight) for name, weight in weights.items()])

    def _leaders(self, fused_best: int, doc_rankings: Mapping[str, Ranking]) -> list[int]:
        """The fused best runbook, then each leader ranker's best, then each one's second best...
        (``leader_depth`` deep): the runbooks some single ranker is sure about. A name-coverage
        leader must cover at least ``leader_min_coverage`` of its runbook's name."""
        tuning = self._tuning
        lists = []
        for name in tuning.leader_sources:
            ranking = doc_rankings.get(name, {})
            floor = tuning.leader_min_coverage if name == "name_coverage" else float("-inf")
            lists.append([item for item, score in ranking.items() if score >= floor])
        leaders = [fused_best]
        for depth in range(tuning.leader_depth):
            leaders.extend(ranking[depth] for ranking in lists if depth < len(ranking))
        return leaders

    def _scope(self, allowed: np.ndarray | None, by_section: bool) -> _Scope:
        if allowed is None:
            return _Scope(None, None, None, by_section)
        docs = np.zeros(len(self._index.docs), dtype=bool)
        docs[self._index.doc_of_chunk[allowed]] = True
        doc_ids = [self._index.docs[i].doc_id for i in np.flatnonzero(docs)]
        return _Scope(allowed, docs, doc_ids, by_section)

    def _lexical(self, query: str, scope: _Scope, chunk_rankings: dict[str, Ranking],
                 doc_rankings: dict[str, Ranking]) -> None:
        index, depth = self._index, self._tuning.depth
        tokens = tokenize(query)
        chunk = index.chunk_bm25.scores(tokens)
        if scope.chunks is not None:
            chunk = np.where(scope.chunks, chunk, 0.0)
        chunk_rankings["chunk_bm25"] = top_scores(chunk, self._tuning.chunk_depth)
        doc_rankings["chunk_bm25"] = self._fold(chunk_rankings["chunk_bm25"])
        for name, bm25 in (("doc_bm25", index.doc_bm25), ("name_coverage", index.name_coverage)):
            scores = bm25.scores(tokens)
            if scope.docs is not None:
                scores = np.where(scope.docs, scores, 0.0)
            doc_rankings[name] = top_scores(scores, depth)

    def _dense(self, query: str, scope: _Scope, chunk_rankings: dict[str, Ranking],
               doc_rankings: dict[str, Ranking]) -> None:
        index, depth = self._index, self._tuning.chunk_depth
        vector = self._cache.embed_query(query)
        nearest = self._store.nearest(vector, depth * (4 if scope.by_section else 1), scope.doc_ids)
        chunks: Ranking = {}
        for chunk_id, similarity in nearest.items():
            position = index.position.get(chunk_id)
            if position is not None and (scope.chunks is None or scope.chunks[position]):
                chunks[position] = similarity
        chunk_rankings["chunk_dense"] = dict(list(chunks.items())[:depth])
        doc_rankings["chunk_dense"] = self._fold_two(chunk_rankings["chunk_dense"])

    def _fold_two(self, chunks: Mapping[int, float]) -> Ranking:
        """Chunk ranking -> runbook ranking scored by its nearest chunk plus ``dense_second_chunk``
        times its second nearest (the list's lowest similarity when only one made the list): a
        runbook that two passages answer beats one with a single lucky passage."""
        second_weight = self._tuning.dense_second_chunk
        floor = min(chunks.values(), default=0.0)
        best: dict[int, list[float]] = {}
        for position, score in chunks.items():
            best.setdefault(int(self._index.doc_of_chunk[position]), []).append(score)
        scores = {doc: found[0] + second_weight * (found[1] if len(found) > 1 else floor)
                  for doc, found in best.items()}
        ordered = sorted(scores, key=lambda doc: -scores[doc])[:self._tuning.depth]
        return {doc: scores[doc] for doc in ordered}

    def _fold(self, chunks: Mapping[int, float]) -> Ranking:
        """Chunk ranking (best first) -> runbook ranking scored by each runbook's best chunk."""
        docs: Ranking = {}
        for position, score in chunks.items():
            doc = int(self._index.doc_of_chunk[position])
            if doc not in docs:
                docs[doc] = score
                if len(docs) >= self._tuning.depth:
                    break
        return docs

    def _chunks_of(self, order: Sequence[int], doc_scores: Mapping[int, float],
                   chunk_scores: Mapping[int, float], chunk_bm25: Mapping[int, float], scope: _Scope,
                   k: int) -> list[RetrievedChunk]:
        """Runbooks in ``order``; within one, its chunks that a chunk ranker returned, best first,
        or else its best chunk by BM25 (else its first allowed chunk)."""
        by_doc: dict[int, list[int]] = {}
        for position in sorted(chunk_scores, key=lambda p: -chunk_scores[p]):
            by_doc.setdefault(int(self._index.doc_of_chunk[position]), []).append(position)
        out: list[RetrievedChunk] = []
        for doc in order:
            positions = by_doc.get(doc) or self._fallback_chunk(doc, chunk_bm25, scope)
            for position in positions:
                chunk = self._index.chunks[position]
                out.append(chunk.model_copy(update={"score": round(doc_scores[doc], 6)}))
                if len(out) >= k:
                    return out
        return out

    def _fallback_chunk(self, doc: int, chunk_bm25: Mapping[int, float], scope: _Scope) -> list[int]:
        members = [p for p in self._index.doc_chunks[doc] if scope.chunks is None or scope.chunks[p]]
        if not members:
            return []
        return [max(members, key=lambda p: (chunk_bm25.get(p, 0.0), -p))]
