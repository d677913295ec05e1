"""CLI commands, one module per capability (see engine/__main__.py)."""
