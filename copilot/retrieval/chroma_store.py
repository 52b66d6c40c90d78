"""Chroma adapter: chunk vectors and whole documents (the source of truth).

Embedded ``PersistentClient`` at ``Settings().chroma_path`` by default; ``COPILOT_CHROMA_URL``
switches to a ``chroma run`` server through ``HttpClient``, with the same code. ``ephemeral``
uses a PersistentClient in a temporary folder removed on ``close()``. Vectors are always passed
explicitly; the collections also carry our offline embedding function so Chroma never falls back
to its default one (which downloads a model).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from copilot.domain import RunbookDoc
from copilot.errors import ConfigError, UpstreamError
from copilot.retrieval.embeddings import MiniLMEmbeddingFunction
from copilot.settings import Settings

log = logging.getLogger(__name__)
CHUNKS = "copilot_chunks"
DOCS = "copilot_docs"
# A wide, well-linked graph built by one insert thread: at corpus sizes (thousands to ~100k chunks)
# the nearest 150 chunks then equal an exact search and do not change from one build to the next
# (with Chroma's defaults, M=16 and ef=100, 70 of 94 benchmark queries got a different top 150
# after a re-ingest).
_EF_SEARCH = 400
_HNSW = {"space": "cosine", "num_threads": 1, "ef_search": _EF_SEARCH, "ef_construction": 400,
         "max_neighbors": 32}


@dataclass(frozen=True)
class StoredDoc:
    """A document as stored, with the folder it was ingested from and its content hash."""

    doc: RunbookDoc
    root: str
    content_hash: str


def _client(settings: Settings, ephemeral: bool) -> tuple[Any, Path | None]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if ephemeral:
        temp = Path(tempfile.mkdtemp(prefix="copilot-kb-"))
        return chromadb.PersistentClient(path=str(temp), settings=chroma_settings), temp
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise ConfigError(f"COPILOT_CHROMA_URL={settings.chroma_url!r} has no host; use http://HOST:PORT")
        port = url.port or (443 if url.scheme == "https" else 8000)
        try:
            client = chromadb.HttpClient(host=url.hostname, port=port, ssl=url.scheme == "https",
                                         settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:  # edge: any transport failure becomes one clear upstream error
            raise UpstreamError(f"Chroma server at {settings.chroma_url} is not reachable ({exc}); start "
                                "`chroma run` or unset COPILOT_CHROMA_URL") from None
        return client, None
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings), None


class ChromaStore:
    """Chunk vectors + document records in Chroma."""

    def __init__(self, settings: Settings, *, ephemeral: bool = False) -> None:
        self._client, self._temp_dir = _client(settings, ephemeral)
        function = MiniLMEmbeddingFunction()
        self._chunks = self._client.get_or_create_collection(
            CHUNKS, embedding_function=function, configuration={"hnsw": dict(_HNSW)})
        self._widen_search(self._chunks)
        self._docs = self._client.get_or_create_collection(DOCS, embedding_function=function)
        self._batch = int(self._client.get_max_batch_size())

    @staticmethod
    def _widen_search(collection: Any) -> None:
        """A store made before the wider graph keeps its graph (Chroma cannot change it) but gets the
        wider search; ``knowledge ingest`` into a fresh COPILOT_HOME rebuilds the graph too."""
        hnsw = (collection.configuration_json or {}).get("hnsw") or {}
        if int(hnsw.get("ef_search") or 0) < _EF_SEARCH:
            collection.modify(configuration={"hnsw": {"ef_search": _EF_SEARCH}})

    def load(self) -> list[StoredDoc]:
        """Every stored document (with its chunks), in doc_id order."""
        out: list[StoredDoc] = []
        total = self._docs.count()
        for offset in range(0, total, 1000):
            got = self._docs.get(include=["documents", "metadatas"], limit=1000, offset=offset)
            for text, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True):
                doc = RunbookDoc.model_validate(json.loads(text))
                out.append(StoredDoc(doc, str(meta["root"]), str(meta["hash"])))
        return sorted(out, key=lambda stored: stored.doc.doc_id)

    def put(self, stored: Sequence[StoredDoc], vectors: np.ndarray) -> None:
        """Replace these documents (and their chunks); ``vectors`` holds one row per chunk, in order."""
        self.delete([s.doc.doc_id for s in stored])
        chunks = [chunk for s in stored for chunk in s.doc.chunks]
        for start in range(0, len(chunks), self._batch):
            batch = chunks[start:start + self._batch]
            self._chunks.add(
                ids=[c.chunk_id for c in batch], embeddings=vectors[start:start + len(batch)],
                metadatas=[{"doc_id": c.doc_id, "section": c.section} for c in batch],
            )
        for start in range(0, len(stored), self._batch):
            docs = list(stored[start:start + self._batch])
            self._docs.add(
                ids=[s.doc.doc_id for s in docs], embeddings=np.ones((len(docs), 1), dtype=np.float32),
                documents=[s.doc.model_dump_json() for s in docs],
                metadatas=[{"root": s.root, "hash": s.content_hash} for s in docs],
            )

    def delete(self, doc_ids: Sequence[str]) -> None:
        for start in range(0, len(doc_ids), 500):
            part = list(doc_ids[start:start + 500])
            if part:
                self._chunks.delete(where={"doc_id": {"$in": part}})
                self._docs.delete(ids=part)

    def nearest(self, vector: np.ndarray, n: int, doc_ids: Sequence[str] | None = None) -> dict[str, float]:
        """``{chunk id: cosine similarity}`` of the ``n`` chunks nearest to ``vector`` (HNSW, so
        approximate), best first, optionally only within ``doc_ids``."""
        if doc_ids is None:
            return self._query(self._chunks, vector, n)
        return self._query(self._chunks, vector, n, doc_ids, where={"doc_id": {"$in": list(doc_ids)}})

    @staticmethod
    def _query(collection: Any, vector: np.ndarray, n: int, doc_ids: Sequence[str] | None = None,
               **narrow: Any) -> dict[str, float]:
        if doc_ids is not None and not doc_ids:
            return {}
        if n <= 0:
            return {}
        result = collection.query(query_embeddings=[vector], n_results=n, include=["distances"], **narrow)
        return {i: 1.0 - float(d) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)}

    def close(self) -> None:
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
