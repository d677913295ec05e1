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
from engine.retrieval.embeddings import Embedder
from engine.retrieval.search import Passage, search_in
from engine.retrieval.stores import RetrievalStores

_lock = threading.Lock()
_stores: dict[tuple, RetrievalStores] = {}


def _for(settings: Settings) -> RetrievalStores:
    key = (settings.database_url, str(settings.chroma_dir), settings.chroma_host,
           settings.chroma_port, settings.embedding_model, str(settings.models_dir),
           settings.embedding_threads, settings.embedding_batch_size)
    with _lock:
        found = _stores.get(key)
        if found is None:
            found = _stores[key] = RetrievalStores(settings)
        return found


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name, loaded once per process."""
    return _for(settings).embedder


def search_with_settings(session: Session, *, settings: Settings, user_id: int, query: str,
                         k: int = 8, material_ids: list[int] | None = None) -> list[Passage]:
    """`engine.retrieval.search.search_in` for a caller with settings and a session."""
    stores = _for(settings)
    if stores.settings is not settings:  # the same stores, this caller's ranking settings
        stores = stores.with_settings(settings)
    return search_in(stores, session, user_id=user_id, query=query, k=k,  # type: ignore[arg-type]
                     material_ids=material_ids)
