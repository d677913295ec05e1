"""Which Chroma collection holds a learner's vectors, recorded in PostgreSQL.

A rebuild fills a collection under a new name, then switches the pointer here in one commit,
then drops the old collection: a crash at any moment leaves the pointer on a complete
collection. Writes of a learner's vectors (ingest, delete, the switch itself) hold a
transaction-scoped advisory lock per learner, so a switch never misses vectors written while
the new collection was being filled.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from engine.db.models import VectorIndex
from engine.retrieval.vectors import collection_name

# First key of the two-key advisory lock on a learner's vectors (the second is the user id).
_LOCK_SPACE = 0x6776  # "gv"


def current_collection(session: Session, user_id: int) -> str:
    """The name of the learner's collection in use."""
    name = session.scalar(select(VectorIndex.collection).where(VectorIndex.user_id == user_id))
    return name or collection_name(user_id)


def switch_collection(session: Session, user_id: int, name: str) -> None:
    """Point the learner's index at `name` (in the caller's transaction)."""
    stmt = insert(VectorIndex).values(user_id=user_id, collection=name)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[VectorIndex.user_id],
            set_={"collection": name, "updated_at": func.now()},
        )
    )


def lock_vectors(session: Session, user_id: int) -> None:
    """Hold the learner's vector-write lock until the caller's transaction ends."""
    session.execute(select(func.pg_advisory_xact_lock(_LOCK_SPACE, user_id)))
