"""Retrieval adapters: the vector store (Chroma), the embedding models, the learners' BM25
indexes and the ranking pieces that `engine.search` (the search service) combines.

Adapters only: nothing here imports a service, a job or the runtime.
"""
