"""The vector store adapter: the only module that imports chromadb.

One collection per learner (`gw_user_<id>`), so a learner's vectors can never be returned for
another learner's query; each vector also carries `user_id`, `material_id` and `chunk_id` as
metadata. Collection metadata records the embedding model that built it, so a change of model
is detected and the collection rebuilt. Embeddings always come from us: Chroma's own embedding
function is never used (it would download a model).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from engine.config import Settings
from engine.errors import VectorStoreUnavailable

log = logging.getLogger(__name__)

_BATCH = 2000  # Chroma caps the records per call; stay well under it.


@dataclass(frozen=True)
class VectorHit:
    chunk_id: int
    material_id: int
    similarity: float  # cosine similarity, 1 = identical direction


def collection_name(user_id: int) -> str:
    return f"gw_user_{user_id}"


class VectorStore:
    """Chroma, embedded (PersistentClient on `settings.chroma_dir`) or a server (HttpClient)."""

    def __init__(self, *, path: Path, host: str | None = None, port: int = 8000) -> None:
        import chromadb

        chroma_settings = chromadb.Settings(anonymized_telemetry=False)
        try:
            if host:
                self._client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as e:  # noqa: BLE001 - any client failure means "unavailable"
            raise VectorStoreUnavailable(
                "The vector store could not be opened. Check CHROMA_HOST or the data folder.",
                detail=repr(e),
            ) from e
        self._lock = threading.Lock()
        self._collections: dict[str, object] = {}

    # --- collections ----------------------------------------------------------------------

    def _collection(self, user_id: int, *, create: bool = True):  # noqa: ANN202
        name = collection_name(user_id)
        with self._lock:
            col = self._collections.get(name)
            if col is not None:
                return col
            try:
                if create:
                    col = self._client.get_or_create_collection(
                        name, configuration={"hnsw": {"space": "cosine"}},
                        embedding_function=None,
                    )
                else:
                    col = self._client.get_collection(name, embedding_function=None)
            except Exception as e:  # noqa: BLE001
                if not create:
                    return None
                raise VectorStoreUnavailable("The vector store is not available.",
                                             detail=repr(e)) from e
            self._collections[name] = col
            return col

    def model_of(self, user_id: int) -> str | None:
        """The embedding model that built this learner's vectors (None when there are none)."""
        col = self._collection(user_id, create=False)
        if col is None:
            return None
        return (col.metadata or {}).get("embedding_model")

    def _mark_model(self, col, model: str) -> None:  # noqa: ANN001
        if (col.metadata or {}).get("embedding_model") != model:
            col.modify(metadata={"embedding_model": model})

    def count(self, user_id: int) -> int:
        col = self._collection(user_id, create=False)
        return 0 if col is None else col.count()

    # --- writes ---------------------------------------------------------------------------

    def add(
        self,
        *,
        user_id: int,
        material_id: int,
        chunk_ids: list[int],
        embeddings: np.ndarray,
        model: str,
    ) -> None:
        """Store vectors for chunks of one material (replacing any with the same chunk ids)."""
        col = self._collection(user_id)
        try:
            recorded = (col.metadata or {}).get("embedding_model")
            if recorded is not None and recorded != model and col.count() > 0:
                raise VectorStoreUnavailable(
                    "The library index was built with another embedding model; rebuild it "
                    "before adding material.", detail=f"{recorded} != {model}",
                )
            self._mark_model(col, model)
            for start in range(0, len(chunk_ids), _BATCH):
                ids = chunk_ids[start:start + _BATCH]
                col.upsert(
                    ids=[str(i) for i in ids],
                    embeddings=embeddings[start:start + _BATCH],
                    metadatas=[{"user_id": user_id, "material_id": material_id, "chunk_id": i}
                               for i in ids],
                )
        except VectorStoreUnavailable:
            raise
        except Exception as e:  # noqa: BLE001
            raise VectorStoreUnavailable("The vector store could not save the passages.",
                                         detail=repr(e)) from e

    def get_material(self, *, user_id: int, material_id: int) -> tuple[list[int], np.ndarray]:
        """The chunk ids and vectors of one material (used to undo a failed delete)."""
        col = self._collection(user_id, create=False)
        if col is None:
            return [], np.zeros((0, 0), dtype=np.float32)
        got = col.get(where={"material_id": material_id}, include=["embeddings"])
        ids = [int(i) for i in got["ids"]]
        vectors = np.asarray(got["embeddings"] if len(ids) else [], dtype=np.float32)
        return ids, vectors

    def delete_material(self, *, user_id: int, material_id: int) -> None:
        col = self._collection(user_id, create=False)
        if col is None:
            return
        try:
            col.delete(where={"material_id": material_id})
        except Exception as e:  # noqa: BLE001
            raise VectorStoreUnavailable("The vector store could not delete the passages.",
                                         detail=repr(e)) from e

    def delete_chunks(self, *, user_id: int, chunk_ids: list[int]) -> None:
        col = self._collection(user_id, create=False)
        if col is None or not chunk_ids:
            return
        for start in range(0, len(chunk_ids), _BATCH):
            col.delete(ids=[str(i) for i in chunk_ids[start:start + _BATCH]])

    def drop_user(self, user_id: int) -> None:
        """Remove a learner's whole collection (before a rebuild with another model)."""
        name = collection_name(user_id)
        with self._lock:
            self._collections.pop(name, None)
            try:
                self._client.delete_collection(name)
            except Exception as e:  # noqa: BLE001 - absent collection: nothing to drop
                log.debug("no collection to drop", extra={"collection": name, "error": repr(e)})

    @contextmanager
    def rebuild(self, *, user_id: int, model: str) -> Iterator[_Staging]:
        """Build a learner's vectors afresh beside the current ones; swap them in on success.

        On failure the staging collection is dropped and the current vectors stay.
        """
        final = collection_name(user_id)
        staging_name = f"{final}_rebuild"
        try:
            self._client.delete_collection(staging_name)
        except Exception:  # noqa: BLE001 - no leftover from an earlier attempt
            log.debug("no staging collection to clear")
        staging = self._client.create_collection(
            staging_name, configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": model}, embedding_function=None,
        )
        try:
            yield _Staging(staging, user_id)
        except BaseException:
            self._client.delete_collection(staging_name)
            raise
        with self._lock:
            self._collections.pop(final, None)
            try:
                self._client.delete_collection(final)
            except Exception:  # noqa: BLE001 - the learner had no vectors yet
                log.debug("no previous collection", extra={"collection": final})
            staging.modify(name=final)

    def similarities(self, *, user_id: int, embedding: np.ndarray,
                     chunk_ids: list[int]) -> dict[int, float]:
        """Cosine similarity of the query to each of these chunks (those that have vectors)."""
        col = self._collection(user_id, create=False)
        if col is None or not chunk_ids:
            return {}
        try:
            got = col.get(ids=[str(i) for i in chunk_ids], include=["embeddings"])
        except Exception as e:  # noqa: BLE001
            raise VectorStoreUnavailable("The vector store could not be searched.",
                                         detail=repr(e)) from e
        if not len(got["ids"]):
            return {}
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        sims = vectors @ np.asarray(embedding, dtype=np.float32)
        return {int(i): float(v) for i, v in zip(got["ids"], sims, strict=True)}

    # --- reads ----------------------------------------------------------------------------

    def query(
        self,
        *,
        user_id: int,
        embedding: np.ndarray,
        k: int,
        material_ids: list[int] | None = None,
    ) -> list[VectorHit]:
        col = self._collection(user_id, create=False)
        if col is None or k <= 0:
            return []
        where = None
        if material_ids is not None:
            where = {"material_id": {"$in": [int(m) for m in material_ids]}}
        try:
            n = col.count()
            if n == 0:
                return []
            result = col.query(
                query_embeddings=np.asarray([embedding], dtype=np.float32),
                n_results=min(k, n), where=where, include=["distances", "metadatas"],
            )
        except Exception as e:  # noqa: BLE001
            raise VectorStoreUnavailable("The vector store could not be searched.",
                                         detail=repr(e)) from e
        hits = []
        for cid, dist, meta in zip(result["ids"][0], result["distances"][0],
                                   result["metadatas"][0], strict=True):
            hits.append(VectorHit(chunk_id=int(cid), material_id=int(meta["material_id"]),
                                  similarity=1.0 - float(dist)))
        return hits


class _Staging:
    def __init__(self, col, user_id: int) -> None:  # noqa: ANN001
        self._col = col
        self._user_id = user_id

    def add(self, *, chunk_ids: list[int], material_ids: list[int],
            embeddings: np.ndarray) -> None:
        for start in range(0, len(chunk_ids), _BATCH):
            ids = chunk_ids[start:start + _BATCH]
            self._col.upsert(
                ids=[str(i) for i in ids], embeddings=embeddings[start:start + _BATCH],
                metadatas=[{"user_id": self._user_id, "material_id": m, "chunk_id": i}
                           for i, m in zip(ids, material_ids[start:start + _BATCH],
                                           strict=True)],
            )


@lru_cache(maxsize=16)
def _store_for(chroma_dir: str, host: str | None, port: int) -> VectorStore:
    return VectorStore(path=Path(chroma_dir), host=host, port=port)


def get_vector_store(settings: Settings) -> VectorStore:
    """The vector store for these settings, opened once per process and reused."""
    return _store_for(str(settings.chroma_dir), settings.chroma_host, settings.chroma_port)
