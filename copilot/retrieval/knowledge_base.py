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
from copilot.retrieval.chroma_store import ChromaStore, StoredDoc
from copilot.retrieval.command_map import CommandMapper
from copilot.retrieval.embeddings import EmbeddingCache
from copilot.retrieval.hybrid import DEFAULT_TUNING, Tuning, embedding_text
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
from copilot.retrieval.ranking import HybridRanker, SearchIndex

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # (stage, done, total)
FILTER_KEYS = ("alert_name", "service", "section", "doc_id", "source_path")
_EMBED_BATCH = 256


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
        self._index: SearchIndex | None = None

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

    def _ensure_index(self) -> SearchIndex:
        if self._index is None:
            self._index = SearchIndex(self.documents(), self.tuning)
        return self._index

    def search(self, query: str, k: int = 5, *, filters: Mapping[str, str] | None = None,
               alert_name: str | None = None) -> list[RetrievedChunk]:
        """Best ``k`` chunks for ``query``: BM25, name-coverage and dense rankers fused per runbook
        (see ``ranking``); a runbook answering ``alert_name`` comes first."""
        return self.search_ranked(query, k, filters=filters, alert_name=alert_name, mode="hybrid")

    def search_ranked(self, query: str, k: int = 5, *, filters: Mapping[str, str] | None = None,
                      alert_name: str | None = None, mode: str = "hybrid") -> list[RetrievedChunk]:
        """``search`` with a ranker choice: ``hybrid``, ``bm25`` (lexical rankers only) or ``dense``
        (dense rankers only), for benchmarks."""
        index = self._ensure_index()
        if not index.chunks or not query.strip() and not alert_name:
            return []
        allowed = self._allowed(index, filters)
        ranker = HybridRanker(index, self._store, self._cache, self.tuning)
        return ranker.rank(query, k, allowed=allowed, by_section=bool(filters and "section" in filters),
                           alert_name=alert_name, mode=mode)

    def _allowed(self, index: SearchIndex, filters: Mapping[str, str] | None) -> np.ndarray | None:
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
