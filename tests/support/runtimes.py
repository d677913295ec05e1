"""Runtimes for tests that change a setting for one call."""

from __future__ import annotations

import dataclasses

from engine.config import Settings
from engine.runtime import Runtime


def with_settings(rt: Runtime, settings: Settings) -> Runtime:
    """The test's runtime with other settings: the same database, caches and retrieval stores
    (opened once, by `rt`, and closed with it)."""
    other = dataclasses.replace(rt, settings=settings)
    other._stores = rt._stores  # type: ignore[method-assign]
    return other
