"""The retrieval adapters one set of settings uses: the vector store, the embedding model and
the learners' BM25 indexes, each built on first use and then kept.

The runtime holds one (`rt.vectors`, `rt.embedder`, `rt.lexical_indexes`); nothing else keeps
these objects.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from engine.config import Settings
from engine.retrieval.embeddings import Embedder, load_embedder
from engine.retrieval.lexical import IndexCache
from engine.retrieval.vectors import VectorStore, open_vector_store

T = TypeVar("T")

log = logging.getLogger(__name__)


class RetrievalStores:
    """Built on first use, safe to share between threads. Each store is built under its own
    lock, so loading the embedding model never holds up the vector store or the indexes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._built: dict[str, object] = {}
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}
        self._warm_up: threading.Thread | None = None
        self._warmed = threading.Event()

    def _get(self, name: str, make: Callable[[], T]) -> T:
        with self._lock:
            if name in self._built:
                return self._built[name]  # type: ignore[return-value]
            building = self._building.setdefault(name, threading.Lock())
        with building:
            with self._lock:
                if name in self._built:
                    return self._built[name]  # type: ignore[return-value]
            made = make()
            with self._lock:
                self._built[name] = made
            return made

    def built(self, name: str) -> bool:
        """Whether `name` ("vectors", "embedder", "lexical") is built already."""
        with self._lock:
            return name in self._built

    def warm_up_embedder(self) -> None:
        """Load the embedding model on a background thread (once; a no-op when it is loaded
        or loading). A failure is logged; the next use of `embedder` tries again and raises."""
        with self._lock:
            if self._warm_up is not None or "embedder" in self._built:
                return
            self._warm_up = threading.Thread(
                target=self._load_embedder, name="gw-embedder-warm-up", daemon=True
            )
        self._warm_up.start()

    def _load_embedder(self) -> None:
        try:
            self.embedder  # noqa: B018 - built and kept by the property
        except Exception:
            log.exception("the embedding model could not be prepared in the background")
        finally:
            self._warmed.set()

    def wait_for_embedder(self, timeout_s: float) -> bool:
        """True once the model is loaded, or its background loading has ended (then using
        `embedder` says why it failed); False when `timeout_s` passed first."""
        if self.built("embedder"):
            return True
        return self._warmed.wait(timeout_s) or self.built("embedder")

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
        view._built, view._lock, view._building = self._built, self._lock, self._building
        view._warm_up, view._warmed = self._warm_up, self._warmed
        return view

    def clear(self) -> None:
        """Drop everything built (the next use builds afresh)."""
        with self._lock:
            self._built.clear()
