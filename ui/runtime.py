"""The app's process-wide runtime, created once and shared by every session.

The UI's one way to the runtime: pages call `get_runtime()` and hand the runtime to engine
services; UI helpers take it as a `Runtime` from here.
"""

from __future__ import annotations

import streamlit as st

from engine.runtime import Runtime, create_runtime

__all__ = ["Runtime", "get_runtime"]


def _release(rt: Runtime) -> None:
    rt.close()


@st.cache_resource(show_spinner="Starting Groundwork…", on_release=_release)
def get_runtime() -> Runtime:
    """Raises EngineError (not cached) when the database cannot be reached or started.
    Starts the embedded job worker of this process (see engine.jobs.worker); clearing the
    cache closes the runtime, worker included."""
    rt = create_runtime()
    rt.ensure_worker()  # unless GROUNDWORK_EMBEDDED_WORKER=false
    return rt
