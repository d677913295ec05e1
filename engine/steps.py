"""Named steps of multi-store writes, where crash tests can stop the process.

Ingest, delete and rebuild write to PostgreSQL, Chroma and the data folder in an order that
leaves a complete or repairable state after a crash at any point (`python -m engine check
--repair` finishes or undoes the half-done work). `reached(step)` marks the boundaries between
those writes. When `GROUNDWORK_PAUSE_AT` names the step, the process appends the step name to
the file `GROUNDWORK_PAUSE_FILE` and blocks there, so a test can kill it at exactly that point.
Unset (always, outside those tests), `reached` does nothing.
"""

from __future__ import annotations

import os
import time

INGEST_STEPS = ("ingest:original-saved", "ingest:rows-committed", "ingest:vectors-written")
DELETE_STEPS = ("delete:marked", "delete:vectors-removed", "delete:rows-removed")
REBUILD_STEPS = ("rebuild:collection-filled", "rebuild:pointer-switched")
ALL_STEPS = INGEST_STEPS + DELETE_STEPS + REBUILD_STEPS


def reached(step: str) -> None:
    """Mark a step boundary (blocks here when `GROUNDWORK_PAUSE_AT` names this step)."""
    if os.environ.get("GROUNDWORK_PAUSE_AT") != step:
        return
    marker = os.environ.get("GROUNDWORK_PAUSE_FILE")
    if marker:
        with open(marker, "a", encoding="utf-8") as f:
            f.write(step + "\n")
    while True:  # until the test kills the process
        time.sleep(1)
