"""The Analytics page's data cache, keyed by the learner's data version.

`st.cache_data` holds chart data for a few minutes, keyed by the learner, the filters, the
charts asked for and the learner's data version (`engine.analytics.data_version`: latest
answer, question and material changes, profile and model calls, read in one cheap query at
the start of each page run). Any change to what the charts read makes a new key, so the next
view reads afresh and no page has to remember to clear anything. The time to live only
bounds how long "now"-based numbers (due today, recall now) may lag.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from engine import analytics
from ui.runtime import get_runtime

TTL_SECONDS = 600


@st.cache_data(ttl=TTL_SECONDS, max_entries=256, show_spinner=False)
def _scope(
    user_id: int, start: dt.date | None, end: dt.date | None, material_id: int | None, version: str
) -> analytics.Scope:
    # Every argument is part of the cache key (a leading underscore would leave it out).
    return analytics.make_scope(
        get_runtime(), user_id=user_id, start=start, end=end, material_id=material_id
    )


@st.cache_data(ttl=TTL_SECONDS, max_entries=4096, show_spinner=False)
def _chart(
    name: str,
    user_id: int,
    start: dt.date | None,
    end: dt.date | None,
    material_id: int | None,
    version: str,
) -> pd.DataFrame:
    scope = _scope(user_id, start, end, material_id, version)
    return analytics.chart(name, get_runtime(), scope)


class ChartData:
    """Chart data for one run of the Analytics page, loaded section by section.

    The data version is read once, when this is made; each `load(...)` then returns the named
    charts' data from the cache or from PostgreSQL, so the page can draw its first section
    before the slower ones are read.
    """

    def __init__(
        self,
        user_id: int,
        start: dt.date | None = None,
        end: dt.date | None = None,
        material_id: int | None = None,
        *,
        version: str | None = None,
    ) -> None:
        if version is None:
            version = analytics.data_version(get_runtime(), user_id=user_id)
        self._key = (user_id, start, end, material_id, version)

    def filtered(self, start: dt.date, end: dt.date, material_id: int | None) -> ChartData:
        """The same learner and data version under other filters (no new version read)."""
        return ChartData(self._key[0], start, end, material_id, version=self._key[4])

    def load(self, *names: str) -> dict[str, pd.DataFrame]:
        """The data of the named charts (`engine.analytics.CHARTS`; raises EngineError)."""
        return {name: _chart(name, *self._key) for name in names}

    @property
    def scope(self) -> analytics.Scope:
        """The learner's scope for these filters (time zone, today, exam date...)."""
        return _scope(*self._key)


@st.cache_resource(ttl=TTL_SECONDS, max_entries=512, show_spinner=False)
def _figure(name: str, args: tuple):  # a plotly Figure
    from ui import analytics_charts

    return getattr(analytics_charts, name)(*args)


def figure(builder, *args):
    """`builder(*args)` from `ui.analytics_charts`, built once per distinct data and reused.

    Building a Plotly figure takes 5-20 ms and the page shows about fifteen, on every rerun
    (each widget change). The key is the data itself, so a learner only ever gets a figure of
    their own data; figures are never modified after they are built.
    """
    return _figure(builder.__name__, args)
