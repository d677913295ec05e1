"""Retrieval: hybrid search (BM25 + dense vectors) over a learner's own materials.

Public API used by generation, practice, benchmarks and tools:
`search(session, *, user_id, query, k=8, material_ids=None) -> list[Passage]`.
"""

from engine.retrieval.search import Passage, search

__all__ = ["Passage", "search"]
