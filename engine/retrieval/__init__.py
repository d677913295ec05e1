"""Retrieval: hybrid search (BM25 + dense vectors) over a learner's own materials.

Public API used by generation, practice, benchmarks and tools:
`search(rt, *, user_id, query, k=8, material_ids=None) -> list[Passage]`, and `search_in(rt,
session, ...)` for a service that searches inside its own unit of work.
"""

from engine.retrieval.search import Passage, query_coverage, question_terms, search, search_in

__all__ = ["Passage", "query_coverage", "question_terms", "search", "search_in"]
