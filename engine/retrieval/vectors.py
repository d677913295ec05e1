"""The vector store adapter: the only module that imports chromadb.

Each learner's vectors live in their own collection (`gw_user_<id>`, or `gw_user_<id>_<tag>`
after a rebuild), so a learner's vectors can never be returned for another learner's query;
each vector also carries `user_id`, `material_id` and `chunk_id` as metadata. Which collection
is current is recorded in PostgreSQL (`engine.retrieval.collections`); this module only acts on
the collection it is given. Collection metadata records the embedding model that built it.
Embeddings always come from us: Chroma's own embedding function is never used (it would
download a model).

The runtime opens one store and keeps it (`Runtime.vectors`); collection handles are cached in
it. Another process (a rebuild beside the app, an
account deletion) can drop a collection under a cached handle; every operation then drops the
stale handle, opens the collection afresh and retries once.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from engine.config import Settings
from engine.errors import VectorStoreUnavailable

log = logging.getLogger(__name__)

_BATCH = 2000  # Chroma caps the records per call; stay well under it.
_NAME = re.compile(r"^gw_user_(\d+)(?:_[0-9a-f]+)?$")
T = TypeVar("T")


@dataclass(frozen=True)
class VectorHit:
    chunk_id: int
    material_id: int
    similarity: float  # cosine similarity, 1 = identical direction


def collection_name(user_id: int) -> str:
    """The collection a learner starts with (until a rebuild switches to a new one)."""
    return f"gw_user_{user_id}"


def new_collection_name(user_id: int) -> str:
    """A fresh name for a rebuilt collection."""
    return f"{collection_name(user_id)}_{secrets.token_hex(4)}"


def owner_of(name: str) -> int | None:
    """The learner a collection belongs to, or None for a collection that is not ours."""
    m = _NAME.match(name)
    return int(m.group(1)) if m else None


class _Missing(Exception):
    """The collection does not exist (internal: turned into a default result)."""


class VectorStore:
    """Chroma, embedded (PersistentClient on `settings.chroma_dir`) or a server (HttpClient).

    The embedded folder belongs to one process at a time; several processes (app workers, a
    rebuild beside the app) should share a Chroma server (CHROMA_HOST).
    """

    def __init__(self, *, path: Path, host: str | None = None, port: int = 8000) -> None:
        import chromadb
        from chromadb.errors import NotFoundError

        self._not_found = NotFoundError
        chroma_settings = chromadb.Settings(anonymized_telemetry=False)
        try:
            if host:
                self._client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as e:  # any client failure means "unavailable"
            raise VectorStoreUnavailable(
                "The vector store could not be opened. Check CHROMA_HOST or the data folder.",
                detail=repr(e),
            ) from e
        self._lock = threading.Lock()
        self._collections: dict[str, Any] = {}

    # --- collections ----------------------------------------------------------------------

    def _open(self, name: str, *, create: bool) -> Any:
        with self._lock:
            col = self._collections.get(name)
            if col is not None:
                return col
            try:
                if create:
                    col = self._client.get_or_create_collection(
                        name,
                        configuration={"hnsw": {"space": "cosine"}},
                        embedding_function=None,
                    )
                else:
                    col = self._client.get_collection(name, embedding_function=None)
            except self._not_found as e:
                raise _Missing(name) from e
            except Exception as e:
                if not create:  # some Chroma versions raise other errors for a missing one
                    raise _Missing(name) from e
                raise VectorStoreUnavailable(
                    "The vector store is not available.", detail=repr(e)
                ) from e
            self._collections[name] = col
            return col

    def _forget(self, name: str) -> None:
        with self._lock:
            self._collections.pop(name, None)

    def _run(
        self,
        name: str,
        op: Callable[[Any], T],
        *,
        create: bool = False,
        missing: T | None = None,
        failure: str = "The vector store is not available.",
    ) -> T:
        """`op(collection)`, reopening the collection once if another process replaced it.

        Returns `missing` when the collection does not exist (and `create` is False).
        """
        for attempt in (1, 2):
            try:
                return op(self._open(name, create=create))
            except _Missing:
                return missing  # type: ignore[return-value]
            except VectorStoreUnavailable:
                raise
            except self._not_found as e:
                self._forget(name)
                if attempt == 2:
                    if not create:
                        return missing  # type: ignore[return-value]
                    raise VectorStoreUnavailable(failure, detail=repr(e)) from e
                log.info(
                    "collection replaced by another process; reopening", extra={"collection": name}
                )
            except Exception as e:  # any other client failure
                raise VectorStoreUnavailable(failure, detail=repr(e)) from e
        raise AssertionError("unreachable")

    def list_names(self) -> list[str]:
        """The names of all collections in the store."""
        try:
            return sorted(
                c.name if hasattr(c, "name") else str(c) for c in self._client.list_collections()
            )
        except Exception as e:
            raise VectorStoreUnavailable(
                "The vector store is not available.", detail=repr(e)
            ) from e

    def model_of(self, name: str) -> str | None:
        """The embedding model that built this collection (None when it does not exist)."""
        return self._run(name, lambda col: (col.metadata or {}).get("embedding_model"))

    def count(self, name: str) -> int:
        return self._run(name, lambda col: col.count(), missing=0)

    def chunk_ids(self, name: str) -> dict[int, int]:
        """Every vector in the collection: chunk id -> material id."""

        def read(col: Any) -> dict[int, int]:
            found: dict[int, int] = {}
            offset = 0
            while True:
                got = col.get(include=["metadatas"], limit=_BATCH, offset=offset)
                for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                    found[int(cid)] = int((meta or {}).get("material_id", -1))
                if len(got["ids"]) < _BATCH:
                    return found
                offset += _BATCH

        return self._run(name, read, missing={})

    # --- writes ---------------------------------------------------------------------------

    def create(self, name: str, *, model: str) -> None:
        """An empty collection under this name for vectors of `model` (replacing any)."""
        self.drop(name)
        try:
            col = self._client.create_collection(
                name,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": model},
                embedding_function=None,
            )
        except Exception as e:
            raise VectorStoreUnavailable(
                "The vector store is not available.", detail=repr(e)
            ) from e
        with self._lock:
            self._collections[name] = col

    def add(
        self,
        name: str,
        *,
        user_id: int,
        chunk_ids: list[int],
        material_ids: list[int],
        embeddings: np.ndarray,
        model: str,
    ) -> None:
        """Store vectors for chunks (replacing any with the same chunk ids)."""

        def write(col: Any) -> None:
            recorded = (col.metadata or {}).get("embedding_model")
            if recorded is not None and recorded != model and col.count() > 0:
                raise VectorStoreUnavailable(
                    "The library index was built with another embedding model; rebuild it "
                    "before adding material.",
                    detail=f"{recorded} != {model}",
                )
            if recorded != model:
                col.modify(metadata={"embedding_model": model})
            for start in range(0, len(chunk_ids), _BATCH):
                ids = chunk_ids[start : start + _BATCH]
                col.upsert(
                    ids=[str(i) for i in ids],
                    embeddings=embeddings[start : start + _BATCH],
                    metadatas=[
                        {"user_id": user_id, "material_id": int(m), "chunk_id": int(i)}
                        for i, m in zip(ids, material_ids[start : start + _BATCH], strict=True)
                    ],
                )

        self._run(name, write, create=True, failure="The vector store could not save the passages.")

    def delete_material(self, name: str, *, material_id: int) -> None:
        self._run(
            name,
            lambda col: col.delete(where={"material_id": int(material_id)}),
            failure="The vector store could not delete the passages.",
        )

    def delete_chunks(self, name: str, *, chunk_ids: list[int]) -> None:
        def remove(col: Any) -> None:
            for start in range(0, len(chunk_ids), _BATCH):
                col.delete(ids=[str(i) for i in chunk_ids[start : start + _BATCH]])

        if chunk_ids:
            self._run(name, remove, failure="The vector store could not delete the passages.")

    def drop(self, name: str) -> None:
        """Remove a whole collection (nothing happens when it does not exist)."""
        self._forget(name)
        try:
            self._client.delete_collection(name)
        except self._not_found:
            log.debug("no collection to drop", extra={"collection": name})
        except ValueError as e:  # older clients signal an absent collection this way
            log.debug("no collection to drop", extra={"collection": name, "error": repr(e)})
        except Exception as e:
            raise VectorStoreUnavailable(
                "The vector store could not delete the passages.", detail=repr(e)
            ) from e

    # --- reads ----------------------------------------------------------------------------

    def similarities(
        self, name: str, *, embedding: np.ndarray, chunk_ids: list[int]
    ) -> dict[int, float]:
        """Cosine similarity of the query to each of these chunks (those that have vectors)."""
        vectors = self.vectors(name, chunk_ids=chunk_ids)
        if not vectors:
            return {}
        sims = np.stack(list(vectors.values())) @ np.asarray(embedding, dtype=np.float32)
        return {chunk_id: float(v) for chunk_id, v in zip(vectors, sims, strict=True)}

    def vectors(self, name: str, *, chunk_ids: list[int]) -> dict[int, np.ndarray]:
        """The stored (unit) vectors of these chunks, for those that have one."""
        if not chunk_ids:
            return {}

        def read(col: Any) -> dict[int, np.ndarray]:
            got = col.get(ids=[str(i) for i in chunk_ids], include=["embeddings"])
            if not len(got["ids"]):
                return {}
            vectors = np.asarray(got["embeddings"], dtype=np.float32)
            return {int(i): v for i, v in zip(got["ids"], vectors, strict=True)}

        return self._run(name, read, missing={}, failure="The vector store could not be searched.")

    def query(
        self, name: str, *, embedding: np.ndarray, k: int, material_ids: list[int] | None = None
    ) -> list[VectorHit]:
        if k <= 0:
            return []
        where = None
        if material_ids is not None:
            where = {"material_id": {"$in": [int(m) for m in material_ids]}}

        def read(col: Any) -> list[VectorHit]:
            n = col.count()
            if n == 0:
                return []
            result = col.query(
                query_embeddings=np.asarray([embedding], dtype=np.float32),
                n_results=min(k, n),
                where=where,
                include=["distances", "metadatas"],
            )
            return [
                VectorHit(
                    chunk_id=int(cid),
                    material_id=int(meta["material_id"]),
                    similarity=1.0 - float(dist),
                )
                for cid, dist, meta in zip(
                    result["ids"][0], result["distances"][0], result["metadatas"][0], strict=True
                )
            ]

        return self._run(name, read, missing=[], failure="The vector store could not be searched.")


def open_vector_store(settings: Settings) -> VectorStore:
    """A new client of the vector store these settings name. The runtime keeps one
    (`Runtime.vectors`); call this only to open one of your own."""
    return VectorStore(
        path=Path(settings.storage.chroma_dir),
        host=settings.vectors.host,
        port=settings.vectors.port,
    )
