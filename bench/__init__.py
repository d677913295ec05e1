"""Benchmarks: `python -m bench.NAME`; each prints its figures and anchors, then one RESULT line."""
