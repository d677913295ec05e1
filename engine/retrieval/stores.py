"""The retrieval adapters one set of settings uses: the vector store, the embedding model and
the learners' BM25 indexes, each built on first use and then kept.

The runtime holds one (`rt.vectors`, `rt.embedder`, `rt.lexical_indexes`); nothing else keeps
these objects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from engine.config import Settings
from engine.retrieval.embeddings import Embedder, load_embedder
from engine.retrieval.lexical import IndexCache
from engine.retrieval.vectors import VectorStore, open_vector_store

T = TypeVar("T")


class RetrievalStores:
    """Built on first use, safe to share between threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._built: dict[str, object] = {}
        self._lock = threading.Lock()

    def _get(self, name: str, make: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._built:
                self._built[name] = make()
            return self._built[name]  # type: ignore[return-value]

    @property
    def vectors(self) -> VectorStore:
        """The vector store (Chroma)."""
        return self._get("vectors", lambda: open_vector_store(self.settings))

    @property
    def embedder(self) -> Embedder:
        """The embedding model the settings name."""
        return self._get("embedder", lambda: load_embedder(self.settings))

    @property
    def lexical_indexes(self) -> IndexCache:
        """Learners' BM25 indexes, bounded by `cache_budget_mb`."""
        budget = self.settings.retrieval.cache_budget_mb << 20
        return self._get("lexical", lambda: IndexCache(budget))

    def with_settings(self, settings: Settings) -> RetrievalStores:
        """The same stores seen with other ranking settings (candidates, weights)."""
        view = RetrievalStores(settings)
        view._built, view._lock = self._built, self._lock
        return view

    def clear(self) -> None:
        """Drop everything built (the next use builds afresh)."""
        with self._lock:
            self._built.clear()
