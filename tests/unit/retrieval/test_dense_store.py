"""The chunk vector store: nearest-neighbour search that equals an exact search and repeats."""

from __future__ import annotations

from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from copilot.catalog import Catalog
from copilot.retrieval import KnowledgeBase
from copilot.retrieval.chroma_store import CHUNKS, ChromaStore
from copilot.retrieval.embeddings import MiniLMEmbeddingFunction
from copilot.retrieval.hybrid import embedding_text
from copilot.settings import Settings

from .kb_helpers import hashed_bag_of_words, open_test_kb

QUERIES = [
    "etcd has no leader and writes time out", "node disk almost full on /var", "pods stuck terminating",
    "prometheus cannot scrape targets", "certificate expires soon", "ovn master pods crashlooping",
    "ceph osd down after reboot", "virt-handler missing on a node", "alertmanager cannot send to pagerduty",
    "kube-controller-manager vanished", "api server 5xx errors", "image registry storage full",
]


def _exact_similarities(kb: KnowledgeBase, vector: np.ndarray, n: int) -> list[float]:
    chunks = [chunk for doc in kb.documents() for chunk in doc.chunks]
    matrix = hashed_bag_of_words([embedding_text(chunk) for chunk in chunks])
    return [round(float(s), 4) for s in np.sort(matrix @ vector)[::-1][:n]]


def _similarities(found: dict[str, float]) -> list[float]:
    return [round(s, 4) for s in found.values()]


def test_nearest_100_equal_an_exact_search_and_a_rebuild(
    tmp_path: Path, catalog: Catalog, openshift_kb: tuple[KnowledgeBase, object], openshift_dir: Path
) -> None:
    kb, _ = openshift_kb
    rebuilt = open_test_kb(tmp_path, catalog)
    rebuilt.ingest([openshift_dir])
    try:
        # Compared by similarity, best first, as chunks with equal scores may swap places. The stand-in
        # embedder's sparse vectors are full of near-ties, so one query in twelve may still differ;
        # with Chroma's default graph (M=16, ef=100) 11 of the 12 differ from the exact search.
        rebuild_differs = exact_differs = 0
        for vector in hashed_bag_of_words(QUERIES):
            first = _similarities(kb._store.nearest(vector, 100))
            rebuild_differs += first != _similarities(rebuilt._store.nearest(vector, 100))
            exact_differs += first != _exact_similarities(kb, vector, 100)
        assert rebuild_differs <= 1 and exact_differs <= 1, (rebuild_differs, exact_differs)
    finally:
        rebuilt.close()


def test_a_store_made_with_chromas_defaults_gets_the_wider_search(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    settings.chroma_path.mkdir(parents=True)
    client = chromadb.PersistentClient(path=str(settings.chroma_path),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    old = client.get_or_create_collection(CHUNKS, embedding_function=MiniLMEmbeddingFunction(),
                                          configuration={"hnsw": {"space": "cosine"}})
    assert old.configuration_json["hnsw"]["ef_search"] == 100
    store = ChromaStore(settings)
    try:
        hnsw = store._chunks.configuration_json["hnsw"]
        assert hnsw["ef_search"] == 400 and hnsw["space"] == "cosine"
    finally:
        store.close()


def test_a_new_store_has_the_wide_graph(tmp_path: Path) -> None:
    store = ChromaStore(Settings(home=tmp_path))
    try:
        hnsw = store._chunks.configuration_json["hnsw"]
        assert (hnsw["ef_search"], hnsw["ef_construction"], hnsw["max_neighbors"]) == (400, 400, 32)
    finally:
        store.close()
