"""Embedding that can pause: the vectors made so far are saved beside the spooled upload
and the next run of the same texts starts after them (see `StepAside`)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.library.index import embedding_step
from engine.library.ingest_values import IngestPaused, StepAside
from engine.retrieval.embeddings import Embedder
from engine.runtime import Runtime


def embed_resumably(
    rt: Runtime,
    embedder: Embedder,
    texts: list[str],
    *,
    step_aside: StepAside,
    progress: Callable[[int, int], None] | None,
) -> np.ndarray:
    """`embed_texts`, starting after the vectors a paused run saved for these same texts, and
    pausing (`IngestPaused`) when `step_aside.should_pause()` says so."""
    key = hashlib.sha256("\0".join([embedder.model_name, *texts]).encode()).hexdigest()
    parts = [v for v in [_load_checkpoint(step_aside.checkpoint, key)] if v is not None]
    start = len(parts[0]) if parts else 0
    if progress and start:
        progress(start, len(texts))
    step = embedding_step(rt)
    for begin in range(start, len(texts), step):
        parts.append(embedder.embed_documents(texts[begin : begin + step]))
        end = min(len(texts), begin + step)
        if progress:
            progress(end, len(texts))
        if end < len(texts) and step_aside.should_pause():
            _save_checkpoint(step_aside.checkpoint, key, np.concatenate(parts))
            raise IngestPaused(end, len(texts))
    step_aside.checkpoint.unlink(missing_ok=True)
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def _load_checkpoint(path: Path, key: str) -> np.ndarray | None:
    """The vectors a paused run saved for the texts with this key (None: none, or others)."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as saved:
        if str(saved["key"]) != key:
            return None
        return saved["vectors"]


def _save_checkpoint(path: Path, key: str, vectors: np.ndarray) -> None:
    """Write atomically, readable by its owner only (it sits beside the spooled upload)."""
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        np.savez(out, key=np.array(key), vectors=vectors)
    os.replace(tmp, path)
