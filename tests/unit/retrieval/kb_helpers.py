"""Helpers for retrieval tests: a fast stand-in embedder and a KnowledgeBase on a test home."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from copilot.catalog import Catalog
from copilot.retrieval import KnowledgeBase
from copilot.retrieval.chroma_store import ChromaStore
from copilot.retrieval.embeddings import DIMENSIONS, EmbeddingCache
from copilot.settings import Settings


def hashed_bag_of_words(texts: Sequence[str]) -> np.ndarray:
    """A deterministic stand-in for the model: words hashed into 384 dims, L2-normalised."""
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % DIMENSIONS] += 1.0  # noqa: S324
        out[row] /= max(float(np.linalg.norm(out[row])), 1e-9)
    return out


def open_test_kb(
    home: Path, catalog: Catalog, *, embed=hashed_bag_of_words, url: str | None = None
) -> KnowledgeBase:
    settings = Settings(home=home, chroma_url=url)
    cache = EmbeddingCache(settings.index_dir / "cache.sqlite", embed=embed)
    return KnowledgeBase(ChromaStore(settings), catalog, cache)
