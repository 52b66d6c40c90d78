"""Retrieval fixtures: a fast bag-of-words embedder, and session-scoped indexes built once."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

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


@pytest.fixture(scope="session")
def openshift_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "runbooks" / "openshift"


@pytest.fixture(scope="session")
def openshift_kb(
    tmp_path_factory: pytest.TempPathFactory, catalog: Catalog, openshift_dir: Path
) -> Iterator[tuple[KnowledgeBase, object]]:
    """The openshift corpus ingested once per session (fake embedder: structure, not quality)."""
    kb = open_test_kb(tmp_path_factory.mktemp("openshift-kb"), catalog)
    report = kb.ingest([openshift_dir])
    yield kb, report
    kb.close()


@pytest.fixture(scope="session")
def shipped_kb(
    tmp_path_factory: pytest.TempPathFactory, catalog: Catalog, repo_root: Path
) -> Iterator[tuple[KnowledgeBase, object]]:
    """knowledge/ ingested once per session (fake embedder)."""
    if not any((repo_root / "knowledge").glob("*.md")):
        pytest.skip("knowledge/ has no runbooks yet")
    kb = open_test_kb(tmp_path_factory.mktemp("shipped-kb"), catalog)
    report = kb.ingest([repo_root / "knowledge"])
    yield kb, report
    kb.close()
