"""Runtimes for tests that change a setting for one call."""

from __future__ import annotations

import dataclasses

from engine.config import Settings
from engine.runtime import Runtime


def with_settings(rt: Runtime, settings: Settings) -> Runtime:
    """The test's runtime (same database and caches) with other settings."""
    return dataclasses.replace(rt, settings=settings)
