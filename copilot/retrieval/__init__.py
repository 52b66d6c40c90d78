"""Runbook knowledge: ingestion (markdown, front matter, commands), embeddings, Chroma + BM25, hybrid search.

Public surface::

    open_knowledge_base(settings, catalog, *, extra_dirs=(), ephemeral=False, include_shipped=True,
                        progress=None) -> KnowledgeBase
    KnowledgeBase.search(query, k=5, *, filters=None, alert_name=None) -> list[RetrievedChunk]
    KnowledgeBase.get_document(doc_id) -> RunbookDoc | None
    KnowledgeBase.documents() -> list[RunbookDoc]
    KnowledgeBase.ingest(dirs, progress=None) -> IngestReport
    KnowledgeBase.close()
"""

from __future__ import annotations

from copilot.retrieval.ingest import IngestReport, SkippedFile
from copilot.retrieval.knowledge_base import FILTER_KEYS, KnowledgeBase, Progress
from copilot.retrieval.open import open_knowledge_base

__all__ = ["FILTER_KEYS", "IngestReport", "KnowledgeBase", "Progress", "SkippedFile", "open_knowledge_base"]
