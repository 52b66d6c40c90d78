"""KnowledgeBase: ingest runbook folders into Chroma + BM25 and answer hybrid searches.

Implements the ``Retriever`` port. The Chroma document collection is the source of truth; the
BM25 index and the chunk table are rebuilt from it in memory when first needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from copilot.catalog import Catalog
from copilot.domain import RetrievedChunk, RunbookDoc
from copilot.errors import UserInputError
from copilot.retrieval.bm25 import BM25Index, tokenize
from copilot.retrieval.chroma_store import ChromaStore, StoredDoc
from copilot.retrieval.command_map import CommandMapper
from copilot.retrieval.embeddings import EmbeddingCache
from copilot.retrieval.hybrid import (
    DEFAULT_TUNING,
    Tuning,
    bm25_tokens,
    doc_tokens,
    embedding_text,
    reciprocal_rank_fusion,
)
from copilot.retrieval.ingest import (
    IngestReport,
    SkippedFile,
    SourceFile,
    build_document,
    catalog_digest,
    content_hash,
    walk_markdown,
)
from copilot.retrieval.markdown import RunbookError

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # (stage, done, total)
FILTER_KEYS = ("alert_name", "service", "section", "doc_id", "source_path")
_EMBED_BATCH = 256


class _Index:
    """Chunks in a fixed order with their BM25 index; rebuilt whenever documents change."""

    def __init__(self, docs: Sequence[RunbookDoc], tuning: Tuning) -> None:
        self.chunks = [chunk for doc in docs for chunk in doc.chunks]
        self.position = {chunk.chunk_id: i for i, chunk in enumerate(self.chunks)}
        self.bm25 = BM25Index([bm25_tokens(chunk, tuning) for chunk in self.chunks], k1=tuning.bm25_k1,
                              b=tuning.bm25_b)
        self.doc_of_chunk = np.array([i for i, doc in enumerate(docs) for _ in doc.chunks], dtype=np.int64)
        self.doc_chunks = [[self.position[c.chunk_id] for c in doc.chunks] for doc in docs]
        self.doc_bm25 = BM25Index([doc_tokens(doc, tuning) for doc in docs], k1=tuning.bm25_k1,
                                  b=tuning.bm25_b)
        self.by_alert: dict[str, list[int]] = {}
        for position, chunk in enumerate(self.chunks):
            for name in chunk.alert_names:
                self.by_alert.setdefault(name.casefold(), []).append(position)


class KnowledgeBase:
    """Runbook knowledge: ingestion, hybrid search, documents. Close it when done."""

    def __init__(self, store: ChromaStore, catalog: Catalog, cache: EmbeddingCache,
                 tuning: Tuning = DEFAULT_TUNING) -> None:
        self._store = store
        self._catalog = catalog
        self._mapper = CommandMapper(catalog)
        self._digest = catalog_digest(catalog)
        self._cache = cache
        self.tuning = tuning
        self._stored = {stored.doc.doc_id: stored for stored in store.load()}
        self._index: _Index | None = None

    # ------------------------------------------------------------------ ingestion

    def ingest(self, dirs: Sequence[Path], progress: Progress | None = None) -> IngestReport:
        """Ingest markdown runbooks under ``dirs``: skip unchanged files, replace changed, drop deleted."""
        started = time.perf_counter()
        roots = [Path(d).resolve() for d in dirs]
        for root in roots:
            if not root.is_dir():
                raise UserInputError(f"{root}: not a folder; pass a folder of markdown runbooks")
        report = IngestReport()
        for root in roots:
            self._ingest_root(root, report, progress)
        report.seconds = round(time.perf_counter() - started, 3)
        log.info("ingested %d files (%d chunks) in %.2fs; %d skipped", report.files, report.chunks,
                 report.seconds, len(report.skipped))
        return report

    def _ingest_root(self, root: Path, report: IngestReport, progress: Progress | None) -> None:
        files, others = walk_markdown(root)
        report.files += len(files)
        report.ignored_non_markdown += others
        by_source = {s.doc.source_path: s for s in self._stored.values() if s.root == str(root)}
        changed: dict[str, StoredDoc] = {}
        for done, source in enumerate(files, start=1):
            stored = self._read(source, by_source.pop(source.relative, None), changed, report)
            if stored is not None:
                changed[stored.doc.doc_id] = stored
            if progress:
                progress("reading", done, len(files))
        report.chunks += sum(len(s.doc.chunks) for s in changed.values())
        removed = [s.doc.doc_id for s in by_source.values()]
        self._store.delete(removed)
        report.removed += len(removed)
        for doc_id in removed:
            self._stored.pop(doc_id, None)
        self._put(list(changed.values()), report, progress)
        if changed or removed:
            self._index = None

    def _read(self, source: SourceFile, previous: StoredDoc | None, batch: Mapping[str, StoredDoc],
              report: IngestReport) -> StoredDoc | None:
        try:
            data = source.path.read_bytes()
        except OSError as exc:
            report.skipped.append(SkippedFile(path=source.relative, reason=f"cannot read: {exc.strerror}"))
            return None
        digest = content_hash(data, self._digest)
        if previous is not None and previous.content_hash == digest:
            report.unchanged += 1
            report.chunks += len(previous.doc.chunks)
            return None
        try:
            doc = build_document(data, source.relative, self._catalog, self._mapper)
        except RunbookError as exc:
            report.skipped.append(SkippedFile(path=source.relative, reason=str(exc)))
            return None
        if doc.doc_id in batch:
            other = batch[doc.doc_id].doc.source_path
            reason = f"id {doc.doc_id!r} is also used by {other}; give it its own id"
            report.skipped.append(SkippedFile(path=source.relative, reason=reason))
            return None
        if previous is not None and previous.doc.doc_id != doc.doc_id:
            self._store.delete([previous.doc.doc_id])
            self._stored.pop(previous.doc.doc_id, None)
        if previous is None:
            report.added += 1
        else:
            report.updated += 1
        return StoredDoc(doc, str(source.root), digest)

    def _put(self, docs: list[StoredDoc], report: IngestReport, progress: Progress | None) -> None:
        texts = [embedding_text(chunk) for stored in docs for chunk in stored.doc.chunks]
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(texts), _EMBED_BATCH):
            vectors[start:start + _EMBED_BATCH] = self._cache.embed(texts[start:start + _EMBED_BATCH])
            if progress:
                progress("embedding", min(start + _EMBED_BATCH, len(texts)), len(texts))
        self.add_embedded(docs, vectors)
        report.embedded_chunks += len(texts)

    def add_embedded(self, docs: Sequence[StoredDoc], vectors: np.ndarray) -> None:
        """Store documents whose chunk vectors are already computed (one row per chunk, in order)."""
        for stored in docs:
            clash = self._stored.get(stored.doc.doc_id)
            if clash is not None and clash.root != stored.root:
                log.warning("doc %s from %s replaces the one from %s", stored.doc.doc_id, stored.root,
                            clash.root)
        self._store.put(docs, vectors)
        self._stored.update({stored.doc.doc_id: stored for stored in docs})
        self._index = None

    # ------------------------------------------------------------------ retrieval

    def documents(self) -> list[RunbookDoc]:
        return [self._stored[doc_id].doc for doc_id in sorted(self._stored)]

    def get_document(self, doc_id: str) -> RunbookDoc | None:
        stored = self._stored.get(doc_id)
        return stored.doc if stored else None

    def _ensure_index(self) -> _Index:
        if self._index is None:
            self._index = _Index(self.documents(), self.tuning)
        return self._index

    def search(self, query: str, k: int = 5, *, filters: Mapping[str, str] | None = None,
               alert_name: str | None = None) -> list[RetrievedChunk]:
        """Best ``k`` chunks for ``query`` by BM25 + dense fused by reciprocal rank."""
        return self.search_ranked(query, k, filters=filters, alert_name=alert_name, mode="hybrid")

    def search_ranked(self, query: str, k: int = 5, *, filters: Mapping[str, str] | None = None,
                      alert_name: str | None = None, mode: str = "hybrid") -> list[RetrievedChunk]:
        """``search`` with a ranker choice: ``hybrid``, ``bm25`` or ``dense`` (for benchmarks)."""
        index = self._ensure_index()
        if not index.chunks or not query.strip() and not alert_name:
            return []
        allowed = self._allowed(index, filters)
        rankings: list[tuple[Sequence[int], float]] = []
        if mode in ("hybrid", "bm25"):
            tokens = tokenize(query)
            chunk_scores = index.bm25.scores(tokens)
            if allowed is not None:
                chunk_scores = np.where(allowed, chunk_scores, -1.0)
            rankings.append((self._bm25_ranking(chunk_scores), self.tuning.bm25_weight))
            if self.tuning.doc_weight:
                doc_ranking = self._doc_ranking(index, tokens, chunk_scores)
                rankings.append((doc_ranking, self.tuning.doc_weight))
        if mode in ("hybrid", "dense"):
            rankings.append((self._dense_ranking(index, query, allowed, filters), self.tuning.dense_weight))
        scores = reciprocal_rank_fusion(rankings, self.tuning.rrf_k)
        if self.tuning.doc_fusion:
            scores = self._doc_fused(index, rankings, scores)
        if alert_name:
            self._boost_alert(index, alert_name, allowed, scores)
        best = sorted(scores.items(), key=lambda item: -item[1])[:k]
        return [index.chunks[i].model_copy(update={"score": round(score, 6)}) for i, score in best]

    def _bm25_ranking(self, scores: np.ndarray) -> list[int]:
        depth = min(self.tuning.depth, len(scores))
        top = np.argpartition(-scores, depth - 1)[:depth]
        return [int(i) for i in top[np.argsort(-scores[top])] if scores[i] > 0]

    def _doc_fused(self, index: _Index, rankings: list[tuple[Sequence[int], float]],
                   chunk_scores: dict[int, float]) -> dict[int, float]:
        """Fuse at the runbook level (each ranking ranks runbooks by their first chunk), then order a
        runbook's chunks by their own fused score, just below the runbook's."""
        doc_rankings = []
        for ranking, weight in rankings:
            seen: dict[int, None] = {}
            for position in ranking:
                seen.setdefault(int(index.doc_of_chunk[position]), None)
            doc_rankings.append((list(seen), weight))
        doc_scores = reciprocal_rank_fusion(doc_rankings, self.tuning.rrf_k)
        top = max(chunk_scores.values(), default=1.0) or 1.0
        return {p: doc_scores.get(int(index.doc_of_chunk[p]), 0.0) + self.tuning.chunk_share * s / top
                for p, s in chunk_scores.items()}

    def _doc_ranking(self, index: _Index, tokens: list[str], chunk_scores: np.ndarray) -> list[int]:
        """Whole-runbook BM25: each runbook's rank given to its best chunk by chunk-level BM25
        (``chunk_scores`` is -1 for chunks the filters exclude)."""
        doc_scores = index.doc_bm25.scores(tokens)
        depth = min(self.tuning.depth, len(doc_scores))
        top = np.argpartition(-doc_scores, depth - 1)[:depth]
        ranking = []
        for doc in top[np.argsort(-doc_scores[top])]:
            if doc_scores[doc] <= 0:
                break
            members = index.doc_chunks[int(doc)]
            best = max(members, key=lambda p: chunk_scores[p])
            if chunk_scores[best] >= 0:
                ranking.append(best)
        return ranking

    def _dense_ranking(self, index: _Index, query: str, allowed: np.ndarray | None,
                       filters: Mapping[str, str] | None) -> list[int]:
        vector = self._cache.embed_query(query)
        doc_ids = None
        if allowed is not None:
            doc_ids = sorted({index.chunks[i].doc_id for i in np.flatnonzero(allowed)})
        depth = self.tuning.depth * (4 if filters and "section" in filters else 1)
        ids = self._store.nearest(vector, depth, doc_ids)
        positions = (index.position.get(chunk_id) for chunk_id in ids)
        return [p for p in positions if p is not None and (allowed is None or allowed[p])][:self.tuning.depth]

    def _boost_alert(self, index: _Index, alert_name: str, allowed: np.ndarray | None,
                     scores: dict[int, float]) -> None:
        for position in index.by_alert.get(alert_name.casefold(), []):
            if allowed is None or allowed[position]:
                scores[position] = scores.get(position, 0.0) + self.tuning.alert_boost

    def _allowed(self, index: _Index, filters: Mapping[str, str] | None) -> np.ndarray | None:
        if not filters:
            return None
        unknown = set(filters) - set(FILTER_KEYS)
        if unknown:
            raise UserInputError(f"unknown search filter(s) {sorted(unknown)}; use {', '.join(FILTER_KEYS)}")
        return np.array([_matches(chunk, filters) for chunk in index.chunks], dtype=bool)

    def close(self) -> None:
        self._store.close()
        self._cache.close()


def _matches(chunk: RetrievedChunk, filters: Mapping[str, str]) -> bool:
    for key, value in filters.items():
        wanted = value.casefold()
        if key == "alert_name" and wanted not in (a.casefold() for a in chunk.alert_names):
            return False
        if key == "service" and wanted not in (s.casefold() for s in chunk.services):
            return False
        if key == "section" and wanted not in chunk.section.casefold():
            return False
        if key in ("doc_id", "source_path") and getattr(chunk, key).casefold() != wanted:
            return False
    return True
