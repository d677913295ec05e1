"""The sections of the Analytics page: what each loads and how it draws.

A `Section` is a title, a function that loads its data (cached chart frames by name, see
`ui.analytics_cache`) and a function that draws it. The page lists its sections and draws
them in order, each loaded just before it is drawn, so the first section is on screen while
the slower ones are still being read. Numbers derived from the frames come from
`engine.analytics.shaping`; untrusted titles and stems only reach plain-text cells and
select boxes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from engine.analytics import anki, export, knowledge, shaping as shape
from engine.errors import EngineError
from ui import analytics_charts as charts
from ui.analytics_cache import ChartData, figure
from ui.analytics_tables import table
from ui.text import escape_markdown, plural

if TYPE_CHECKING:
    from engine.analytics.scope import Scope

Frames = dict[str, pd.DataFrame]
NO_ANSWERS = "No answers in this range yet. Answer questions in Today to see this chart."


@dataclass(frozen=True)
class View:
    """One run of the Analytics page: the learner, their scope and the filtered chart data."""

    rt: Any  # the app's runtime, from `ui.runtime.get_runtime()`
    user_id: int
    base: Scope  # today, the exam date, the time zone (unfiltered)
    materials: dict[int, str]
    data: ChartData  # under the chosen dates and material


@dataclass(frozen=True)
class Section:
    """A titled part of the page: `load(view)` reads its data, `draw(view, data)` shows it."""

    title: str
    load: Callable[[View], Frames]
    draw: Callable[[View, Frames], None]


def frames(*names: str) -> Callable[[View], Frames]:
    """A loader of the named charts' frames (`engine.analytics.CHARTS`)."""
    return lambda view: view.data.load(*names)


def nothing(view: View) -> Frames:
    """The loader of a section that reads no chart."""
    return {}


def draw_sections(sections: list[Section], view: View, *, first: Frames | None = None) -> None:
    """Each section's title, then its data loaded and drawn (a failed load shows its
    message in that section; the others still draw). `first`: the first section's data,
    when the page has already loaded it."""
    for n, section in enumerate(sections):
        st.subheader(escape_markdown(section.title), anchor=False)
        try:
            data = first if n == 0 and first is not None else section.load(view)
        except EngineError as e:
            st.error(e.user_message)
            continue
        section.draw(view, data)


def nothing_yet(first: Frames, materials: dict[int, str]) -> bool:
    """A learner with no material, question or answer yet (from the first section's data)."""
    answered = int(first["streak"]["active_days"].iloc[0]) > 0
    return not answered and int(first["card_counts"]["questions"].sum()) == 0 and not materials


def _show(fig: Any, key: str) -> None:
    # theme=None: the figures carry the app's look already (`analytics_charts.look`);
    # Streamlit's theme would be merged into each figure in the browser on every draw,
    # which measured about a third of the page's drawing time with fourteen charts.
    st.plotly_chart(fig, key=key, theme=None, config={"displaylogo": False})


def _empty(frame: pd.DataFrame, message: str) -> bool:
    """True (and a caption saying why) when a chart has nothing to show."""
    if frame.empty:
        st.caption(message)
        return True
    return False


def _days(n: int) -> str:
    return plural(n, "day")


def _basis(view: View) -> shape.ProjectionBasis:
    """How much review history projections stand on (all-time true reviews)."""
    return shape.projection_basis(
        shape.reviews_so_far(view.data.load("true_retention")["true_retention"])
    )


def _not_yet(basis: shape.ProjectionBasis) -> str:
    return (
        f"Projections appear after {basis.needed} reviews (answers to a question you first "
        f"saw on an earlier day); you have {basis.reviews}, so {basis.missing} more to go."
    )


# --- the sections' drawings ----------------------------------------------------------------
def today(view: View, data: Frames) -> None:
    day = data["today"].iloc[0]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Answers", int(day["answers"]))
    c2.metric("Time spent", f"{int(day['seconds']) // 60} min")
    c3.metric("Accuracy", "—" if pd.isna(day["accuracy"]) else f"{day['accuracy']:.0%}")
    c4.metric("New / review", f"{int(day['new'])} / {int(day['review'])}")
    if int(data["streak"]["active_days"].iloc[0]) == 0:
        st.info(
            "You have questions but no answers yet. Answer a few in **Today** and your charts "
            "fill in.",
            icon=":material/school:",
        )
        st.page_link("pages/today.py", label="Practise now", icon=":material/school:")


def activity(view: View, data: Frames) -> None:
    streak = data["streak"].iloc[0]
    s1, s2 = st.columns(2)
    s1.metric("Streak", _days(int(streak["current"])))
    s2.metric("Best streak", _days(int(streak["best"])))
    _show(figure(charts.calendar, data["calendar"], view.base.today), "an_calendar")


def workload(view: View, data: Frames) -> None:
    """Reviews per day, and what is due in the next 30 or 90 days."""
    basis = _basis(view)
    left, right = st.columns(2)
    with left:
        measure = st.segmented_control(
            "Measure",
            ["answers", "time"],
            default="answers",
            key="an_measure",
            format_func=str.title,
        )
        if not _empty(data["reviews_per_day"], NO_ANSWERS):
            _show(
                figure(charts.reviews_per_day, data["reviews_per_day"], measure or "answers"),
                "an_reviews",
            )
    with right:
        horizon = st.segmented_control(
            "Next", [30, 90], default=30, key="an_horizon", format_func=_days
        )
        due = shape.due_within(data["future_due"], view.base.today, horizon or 30)
        if not _empty(due, "Nothing is scheduled in this window."):
            _show(figure(charts.future_due, shape.fold_materials(due, "due")), "an_due")
            if basis.ready:
                st.caption(
                    f"Daily load: about {due['daily_load'].iloc[0]:.1f} reviews a day in "
                    "the long run (the sum of 1/interval over scheduled questions)."
                )
            else:
                st.caption(_not_yet(basis))


def questions(view: View, data: Frames) -> None:
    """Questions by state, intervals and the scheduler's distributions."""
    left, right = st.columns(2)
    with left:
        _show(figure(charts.card_counts, data["card_counts"]), "an_counts")
    with right:
        if not _empty(data["intervals"], "No scheduled questions yet."):
            _show(figure(charts.intervals, data["intervals"]), "an_intervals")
    dist = data["scheduler_distribution"]
    if not dist.empty:
        metrics = list(dict.fromkeys(dist["metric"]))
        for col, metric in zip(st.columns(len(metrics)), metrics, strict=True):
            with col:
                _show(figure(charts.distribution, dist, metric), f"an_dist_{metric}")


def retention(view: View, data: Frames) -> None:
    left, right = st.columns([2, 3])
    with left:
        st.caption(
            "True retention: answers on a later day than the question's previous answer "
            "(first answer per day); mature = 21 days or more since it."
        )
        table(shape.retention_table(data["true_retention"]))
        kn = data["knowledge"].iloc[0]
        st.metric(
            "Estimated total knowledge",
            plural(round(kn["knowledge"]), "question"),
            help="The sum of predicted recall now over reviewed questions (FSRS).",
        )
    with right:
        if not _empty(data["retention_over_time"], "No reviews a day or more apart yet."):
            _show(figure(charts.retention_over_time, data["retention_over_time"]), "an_retention")


def answering(view: View, data: Frames) -> None:
    """Answers by hour, outcomes by type, and calibration."""
    left, middle, right = st.columns(3)
    with left:
        if data["hourly"]["answers"].sum():
            _show(figure(charts.hourly, data["hourly"]), "an_hourly")
        else:
            st.caption(NO_ANSWERS)
    with middle:
        if not _empty(data["outcomes_by_type"], NO_ANSWERS):
            _show(figure(charts.outcomes, data["outcomes_by_type"]), "an_outcomes")
    with right:
        if data["calibration"]["answers"].sum():
            _show(figure(charts.calibration, data["calibration"]), "an_calibration")
        else:
            st.caption(NO_ANSWERS)


def _picked_page(cov: pd.DataFrame, event: Any, materials: dict[int, str]) -> tuple[int, int]:
    """The material and page the learner picked: a click on the chart picks once; the
    pickers stay free to change afterwards."""
    points = event.selection.points if event and event.selection else []
    clicked = (
        tuple(int(v) for v in points[0]["customdata"])
        if points and points[0].get("customdata")
        else None
    )
    if clicked and clicked != st.session_state.get("an_cov_clicked"):
        st.session_state["an_cov_clicked"] = clicked
        st.session_state["an_cov_material"], st.session_state["an_cov_page"] = clicked
    mids = list(dict.fromkeys(cov["material_id"]))
    if st.session_state.get("an_cov_material") not in mids:  # e.g. after a filter change
        st.session_state.pop("an_cov_material", None)
    a, b = st.columns(2)
    mid = a.selectbox(
        "Material", mids, key="an_cov_material", format_func=lambda m: materials.get(m, str(m))
    )
    last_page = int(cov.loc[cov["material_id"] == mid, "page"].max())
    st.session_state["an_cov_page"] = min(st.session_state.get("an_cov_page", 1), last_page)
    page = b.number_input("Page", min_value=1, max_value=last_page, key="an_cov_page")
    return int(mid), int(page)


def coverage(view: View, data: Frames) -> None:
    """Questions per page; a page picked lists its questions or generates some from it."""
    cov = data["coverage"]
    if _empty(cov, "No materials yet: upload a PDF in the Library."):
        return
    st.caption(
        f"Pages without questions yet: {shape.untested_pages(cov)} of {len(cov)}. Click a "
        "page (or pick it below) to list its questions or generate questions from it."
    )
    event = st.plotly_chart(
        figure(charts.coverage, cov),
        key="an_coverage",
        theme=None,
        on_select="rerun",
        selection_mode="points",
        config={"displaylogo": False},
    )
    mid, page = _picked_page(cov, event, view.materials)
    try:
        listed = knowledge.page_questions(view.rt, view.base, material_id=mid, page=page)
    except EngineError as e:
        st.error(e.user_message)
        listed = pd.DataFrame()
    if listed.empty:
        st.caption(f"No questions come from page {page} yet.")
    else:
        table(listed, progress=("recall",))
    if st.button(
        "Generate questions from this page", key="an_generate", icon=":material/auto_awesome:"
    ):
        st.session_state["gen_materials"] = [mid]
        st.session_state["gen_topic"] = knowledge.page_topic(
            view.rt, user_id=view.user_id, material_id=mid, page=page
        )
        st.switch_page("pages/generate.py")


def readiness(view: View, data: Frames) -> None:
    base, ready = view.base, data["readiness"]
    basis = _basis(view)
    if base.exam_date is None or base.exam_date < base.today:
        st.caption(
            "Set your exam date in Profile & settings to see how much you are on course "
            "to recall on the day."
        )
        st.page_link("pages/profile.py", label="Profile & settings", icon=":material/settings:")
    elif not basis.ready:
        st.caption(_not_yet(basis))
    elif not _empty(ready, "No active questions to project."):
        st.metric(
            f"Predicted recall on {base.exam_date:%d %b %Y}",
            f"{shape.predicted_recall(ready):.0%}",
            help="If you keep your schedule; questions never answered count as forgotten. "
            "Conservative: stability is held at today's values.",
        )
        table(ready, progress=("readiness",))


def quality(view: View, data: Frames) -> None:
    qq = data["question_quality"]
    if _empty(qq, "No questions have a quality score, a flag or a retirement yet."):
        return
    table(qq, progress=("quality",))
    a, b = st.columns(2)
    a.page_link(
        "pages/reviews.py",
        label="Keep, retire or replace flagged questions",
        icon=":material/flag:",
    )
    b.page_link(
        "pages/question_bank.py", label="Edit questions in the bank", icon=":material/inventory_2:"
    )


def time_and_usage(view: View, data: Frames) -> None:
    """Time per question, XP over time, and model calls with their cost."""
    left, middle, right = st.columns(3)
    with left:
        if data["time_per_question"]["answers"].sum():
            _show(figure(charts.time_per_question, data["time_per_question"]), "an_time")
        else:
            st.caption(NO_ANSWERS)
    with middle:
        if not _empty(data["xp_progress"], NO_ANSWERS):
            _show(figure(charts.xp_progress, data["xp_progress"]), "an_xp")
    with right:
        if not _empty(data["model_usage"], "No model calls in this range."):
            _show(figure(charts.model_usage, data["model_usage"]), "an_models")
            totals = shape.usage_totals(data["model_usage"])
            st.caption(
                f"Total in range: ${totals.cost_usd:.4f} for {plural(totals.calls, 'call')}."
            )


def exports(view: View, data: Frames) -> None:
    """CSV downloads and the Anki deck."""
    rt, uid = view.rt, view.user_id
    st.caption("Your own data only. CSV timestamps are in UTC.")
    what_labels = [
        ("attempts", "Answers (CSV)"),
        ("review_states", "Review schedule (CSV)"),
        ("questions", "Question bank (CSV)"),
    ]
    for col, (what, label) in zip(st.columns(3), what_labels, strict=True):
        col.download_button(
            label,
            key=f"an_csv_{what}",
            mime="text/csv",
            file_name=f"groundwork-{what}.csv",
            icon=":material/download:",
            on_click="ignore",
            data=lambda what=what: export.csv_bytes(rt, user_id=uid, what=what),
        )
    _anki_deck(view)


def _anki_deck(view: View) -> None:
    """The Anki deck form: all questions, one material's or one topic's; then its download."""
    rt, uid, materials = view.rt, view.user_id, view.materials
    with st.form("an_anki"):
        st.markdown("**Anki deck (.apkg)**")
        st.caption(
            "Re-importing a later export updates the same notes instead of duplicating "
            "them. Anki receives new cards only: your Groundwork schedule and answer "
            "history are not carried over."
        )
        kind = st.radio(
            "Questions",
            ["all", "material", "topic"],
            horizontal=True,
            key="an_anki_kind",
            format_func={"all": "All", "material": "One material", "topic": "One topic"}.get,
        )
        a, b = st.columns(2)
        mid = a.selectbox(
            "Material",
            list(materials) or [None],
            key="an_anki_material",
            format_func=lambda m: "—" if m is None else materials[m],
        )
        topics = anki.topics(rt, user_id=uid)
        topic = b.selectbox(
            "Topic",
            topics or [None],
            key="an_anki_topic",
            format_func=lambda t: "—" if t is None else t,
        )
        build = st.form_submit_button("Build the deck", icon=":material/style:")
    if build:
        selection = anki.Selection(
            material_id=mid if kind == "material" else None,
            topic=topic if kind == "topic" else None,
        )
        try:
            with st.spinner("Building the deck…"):
                st.session_state["an_apkg"] = anki.export_apkg(rt, user_id=uid, selection=selection)
        except EngineError as e:
            st.session_state.pop("an_apkg", None)
            st.error(e.user_message)
    if st.session_state.get("an_apkg"):
        payload, n = st.session_state["an_apkg"]
        st.download_button(
            f"Download the deck ({plural(n, 'note')})",
            data=payload,
            file_name="groundwork.apkg",
            mime="application/octet-stream",
            key="an_apkg_download",
            icon=":material/download:",
            on_click="ignore",
        )
