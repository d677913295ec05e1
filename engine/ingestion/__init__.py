"""Ingestion: read PDFs safely (separate process, time and memory limits) and chunk their text
with page provenance."""
