"""A library operation or a report on one learner, run in its own process by crash tests.

    python -m tests.support.crash_worker delete EMAIL MATERIAL_ID
    python -m tests.support.crash_worker verify EMAIL      (prints one JSON object)

`verify` opens the stores afresh, so it sees exactly what is on disk and in PostgreSQL.
"""

from __future__ import annotations

import json
import sys

from engine.process import prepare_process

prepare_process()  # before anything imports litellm or Hugging Face code


def _verify(rt, user_id: int) -> dict:
    from sqlalchemy import select

    from engine import integrity, library
    from engine.db.models import Chunk
    from engine.retrieval.collections import current_collection

    store = rt.vectors
    embedder = rt.embedder
    with rt.session_factory() as session:
        collection = current_collection(session, user_id)
        chunks = session.execute(
            select(Chunk.material_id, Chunk.text).where(Chunk.user_id == user_id).order_by(Chunk.id)
        ).all()
    materials = []
    for m in library.list_materials(rt, user_id=user_id):
        text = next(t for mid, t in chunks if mid == m.id)
        dense = store.query(
            collection, embedding=embedder.embed_query(text), k=1, material_ids=[m.id]
        )
        found = library.search_library(rt, user_id=user_id, query=text[:300], k=3)
        materials.append(
            {
                "id": m.id,
                "filename": m.filename,
                "status": m.status,
                "dense_hit": bool(dense and dense[0].material_id == m.id),
                "search_hit": bool(found and found[0].material_id == m.id),
            }
        )
    return {
        "drift": [str(d) for d in integrity.check(rt)],
        "materials": materials,
        "chunks": len(chunks),
        "vectors": store.count(collection),
        "index_model": store.model_of(collection),
    }


def main(argv: list[str]) -> int:
    from engine.accounts import get_account
    from engine.bootstrap import get_runtime

    action, email = argv[0], argv[1]
    rt = get_runtime()
    user_id = get_account(rt, email=email).user_id
    if action == "delete":
        from engine.library import delete_material

        delete_material(rt, user_id=user_id, material_id=int(argv[2]))
    elif action == "verify":
        print(json.dumps(_verify(rt, user_id)))
    else:
        print(f"unknown action {action}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
