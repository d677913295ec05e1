"""Retrieval for services that are given settings rather than a runtime.

Every other caller uses the runtime's members (`rt.vectors`, `rt.embedder`,
`rt.lexical_indexes`) and `search(rt, ...)`. The generation and tutor services still receive a
session factory and settings; they get the same adapters here, opened once per process for
the settings' data folder and model, and searched through the same `search_in`. This module
goes away when those services take the runtime.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from engine.config import Settings
from engine.retrieval.embeddings import Embedder, load_embedder
from engine.retrieval.lexical import IndexCache
from engine.retrieval.search import Passage, search_in
from engine.retrieval.vectors import VectorStore, open_vector_store


class _Adapters:
    """What `search_in` uses of a runtime, for one data folder and model; each opened on first
    use."""

    def __init__(self, settings: Settings, shared: _Adapters | None = None) -> None:
        self.settings = settings
        self._shared = shared
        self._lock = threading.Lock()
        self._vectors: VectorStore | None = None
        self._embedder: Embedder | None = None
        self._lexical: IndexCache | None = None

    @property
    def vectors(self) -> VectorStore:
        if self._shared is not None:
            return self._shared.vectors
        with self._lock:
            if self._vectors is None:
                self._vectors = open_vector_store(self.settings)
            return self._vectors

    @property
    def embedder(self) -> Embedder:
        if self._shared is not None:
            return self._shared.embedder
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings)
            return self._embedder

    @property
    def lexical_indexes(self) -> IndexCache:
        if self._shared is not None:
            return self._shared.lexical_indexes
        with self._lock:
            if self._lexical is None:
                self._lexical = IndexCache(self.settings.cache_budget_mb * 1024 * 1024)
            return self._lexical


_lock = threading.Lock()
_adapters: dict[tuple, _Adapters] = {}


def _for(settings: Settings) -> _Adapters:
    key = (settings.database_url, str(settings.chroma_dir), settings.chroma_host, settings.chroma_port,
           settings.embedding_model, str(settings.models_dir), settings.embedding_threads,
           settings.embedding_batch_size)
    with _lock:
        found = _adapters.get(key)
        if found is None:
            found = _adapters[key] = _Adapters(settings)
        return found


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name, loaded once per process."""
    return _for(settings).embedder


def search_with_settings(session: Session, *, settings: Settings, user_id: int, query: str,
                         k: int = 8, material_ids: list[int] | None = None) -> list[Passage]:
    """`engine.retrieval.search.search_in` for a caller with settings and a session."""
    adapters = _for(settings)
    if adapters.settings is not settings:  # same stores, this caller's ranking settings
        adapters = _Adapters(settings, shared=adapters)
    return search_in(adapters, session, user_id=user_id, query=query, k=k,  # type: ignore[arg-type]
                     material_ids=material_ids)
