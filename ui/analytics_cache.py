"""The Analytics page's data cache: keyed by learner and filters, dropped after new answers.

`st.cache_data` holds each learner's chart data for a few minutes. Every page that changes a
learner's practice (an answer, a dispute, a flag, a scheduler switch) calls
`clear_analytics(user_id)`: it moves that learner to a new cache generation, so their next
Analytics view reads afresh while other learners' cached data stays.
"""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import streamlit as st

from engine import analytics
from ui.runtime import get_runtime

TTL_SECONDS = 600
_lock = threading.Lock()
_generations: dict[int, int] = {}


def generation(user_id: int) -> int:
    with _lock:
        return _generations.get(user_id, 0)


def clear_analytics(user_id: int) -> None:
    """Call after anything that changes the learner's attempts, schedule or questions."""
    with _lock:
        _generations[user_id] = _generations.get(user_id, 0) + 1


@st.cache_data(ttl=TTL_SECONDS, max_entries=256, show_spinner=False)
def _page_data(user_id: int, start: dt.date, end: dt.date, material_id: int | None,
               generation_: int) -> dict[str, pd.DataFrame]:
    # Every argument is part of the cache key (a leading underscore would leave it out).
    rt = get_runtime()
    scope = analytics.make_scope(rt, user_id=user_id,
                                 start=start, end=end, material_id=material_id)
    return analytics.page_data(rt, scope)


def page_data(user_id: int, start: dt.date, end: dt.date,
              material_id: int | None) -> dict[str, pd.DataFrame]:
    """Every chart's data for the learner and filters (cached; raises EngineError)."""
    return _page_data(user_id, start, end, material_id, generation(user_id))


@st.cache_resource(ttl=TTL_SECONDS, max_entries=512, show_spinner=False)
def _figure(name: str, args: tuple):  # noqa: ANN202 - a plotly Figure
    from ui import analytics_charts

    return getattr(analytics_charts, name)(*args)


def figure(builder, *args):  # noqa: ANN001, ANN201
    """`builder(*args)` from `ui.analytics_charts`, built once per distinct data and reused.

    Building a Plotly figure takes 5-20 ms and the page shows about fifteen, on every rerun
    (each widget change). The key is the data itself, so a learner only ever gets a figure of
    their own data; figures are never modified after they are built.
    """
    return _figure(builder.__name__, args)
