"""The composition function other parts call to get a ready KnowledgeBase."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from copilot.catalog import Catalog
from copilot.retrieval.chroma_store import ChromaStore
from copilot.retrieval.embeddings import EmbeddingCache
from copilot.retrieval.knowledge_base import KnowledgeBase, Progress
from copilot.settings import Settings

EMBEDDING_CACHE_FILE = "embedding_cache.sqlite"


def open_knowledge_base(settings: Settings, catalog: Catalog, *, extra_dirs: Sequence[Path] = (),
                        ephemeral: bool = False, include_shipped: bool = True,
                        progress: Progress | None = None) -> KnowledgeBase:
    """Open the knowledge base and bring it up to date with the shipped runbooks and ``extra_dirs``.

    The store is Chroma at ``settings.chroma_path`` (or the server at ``settings.chroma_url``).
    ``ephemeral=True`` indexes into a throwaway store removed on ``close()``, so nothing persistent
    changes (``--knowledge DIR``). The embedding cache under ``settings.index_dir`` is used in both
    modes: it is a cache keyed by text hash, not state. Unchanged files are skipped by content hash,
    so reopening is cheap. ``progress(stage, done, total)`` is called while ingesting.
    """
    store = ChromaStore(settings, ephemeral=ephemeral)
    cache = EmbeddingCache(settings.index_dir / EMBEDDING_CACHE_FILE)
    knowledge = KnowledgeBase(store, catalog, cache)
    dirs = [settings.knowledge_dir] if include_shipped and settings.knowledge_dir.is_dir() else []
    dirs += [Path(d) for d in extra_dirs]
    if dirs:
        try:
            knowledge.ingest(dirs, progress=progress)
        except BaseException:
            knowledge.close()
            raise
    return knowledge
