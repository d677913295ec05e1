"""The app's process-wide runtime, created once and shared by every session."""

from __future__ import annotations

import os

import streamlit as st

# Nothing may download model weights or price tables at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from engine.runtime import Runtime, create_runtime  # noqa: E402


@st.cache_resource(show_spinner="Starting Groundwork…")
def get_runtime() -> Runtime:
    """Raises EngineError (not cached) when the database cannot be reached or started.
    Starts the embedded job worker of this process (see engine.jobs.worker)."""
    from engine.jobs.worker import ensure_embedded_worker

    rt = create_runtime()
    ensure_embedded_worker(rt)  # unless GROUNDWORK_EMBEDDED_WORKER=false
    return rt
