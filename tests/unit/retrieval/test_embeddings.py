"""The offline MiniLM embedder, its on-disk cache and the Chroma EmbeddingFunction wrapper."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from copilot.retrieval.embeddings import DIMENSIONS, EmbeddingCache, MiniLMEmbeddingFunction, embed_texts


def test_vectors_are_unit_length_ordered_and_meaningful() -> None:
    texts = ["the disk is almost full on the node", "filesystem running out of space",
             "TLS certificate expired", "x " * 400]
    vectors = embed_texts(texts)
    assert vectors.shape == (4, DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    alone = embed_texts([texts[2]])[0]
    assert np.allclose(alone, vectors[2], atol=1e-3)  # padding with other texts does not change a vector
    assert embed_texts([]).shape == (0, DIMENSIONS)


def test_cache_computes_each_text_once_and_survives_reopen(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def counting(texts: Sequence[str]) -> np.ndarray:
        calls.append(list(texts))
        return embed_texts(texts)

    cache = EmbeddingCache(tmp_path / "cache.sqlite", embed=counting)
    first = cache.embed(["alpha", "beta"])
    second = cache.embed(["beta", "gamma", "alpha"])
    cache.close()
    assert calls == [["alpha", "beta"], ["gamma"]]
    assert np.allclose(second[0], first[1]) and np.allclose(second[2], first[0])
    reopened = EmbeddingCache(tmp_path / "cache.sqlite", embed=counting)
    reopened.embed(["alpha", "gamma"])
    reopened.close()
    assert len(calls) == 2


def test_chroma_embedding_function_protocol() -> None:
    function = MiniLMEmbeddingFunction()
    assert function.name() == "copilot-minilm-int8"
    rebuilt = MiniLMEmbeddingFunction.build_from_config(function.get_config())
    vectors = rebuilt(["pods are pending"])
    assert len(vectors) == 1 and len(vectors[0]) == DIMENSIONS
