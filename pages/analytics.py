"""Analytics: progress charts (Anki's statistics and more), coverage of the learner's PDFs,
exam readiness, question quality, and exports (CSV and Anki)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from engine.analytics import anki, export, knowledge
from engine.analytics.shaping import projection_basis
from engine.errors import EngineError
from ui import analytics_charts as charts
from ui.analytics_cache import ChartData, figure
from ui.analytics_tables import table
from ui.auth import require_account
from ui.runtime import get_runtime

rt = get_runtime()
account = require_account()
uid = account.user_id

st.title("Analytics")

try:
    materials = dict(knowledge.material_choices(rt, user_id=uid))
    learner = ChartData(uid)  # reads the learner's data version once for this run
    base = learner.scope  # today, the exam date and the default dates
except EngineError as e:
    st.error(e.user_message)
    st.stop()

# --- filters -------------------------------------------------------------------------------------
left, right = st.columns([2, 2])
picked = left.date_input(
    "Dates", value=(base.start, base.end), max_value=base.today, key="an_dates", format="YYYY-MM-DD"
)
material_id = right.selectbox(
    "Material",
    [None, *materials],
    key="an_material",
    format_func=lambda m: "All materials" if m is None else materials[m],
)
if not isinstance(picked, tuple) or len(picked) != 2:
    st.info("Choose the last day of the range too.", icon=":material/date_range:")
    st.stop()
start, end = picked

# Each section reads its own charts just before drawing them (cached, keyed by the learner's
# data version), so the headline shows while the slower charts below are still being read.
try:
    charts_data = learner.filtered(start, end, material_id)
    data = charts_data.load("today", "streak", "card_counts")
except EngineError as e:
    st.error(e.user_message)
    st.stop()


def load(*names: str) -> None:
    """Add the named charts' data to `data` (stops the page with the message on failure)."""
    try:
        data.update(charts_data.load(*names))
    except EngineError as err:
        st.error(err.user_message)
        st.stop()


counts = data["card_counts"]
ever_answered = int(data["streak"]["active_days"].iloc[0]) > 0
if not ever_answered and int(counts["questions"].sum()) == 0 and not materials:
    st.info(
        "Nothing to chart yet. Upload a PDF to your **Library**, generate questions from "
        "it, then answer them in **Today**: your progress, retention and the pages you "
        "have covered will appear here.",
        icon=":material/insights:",
    )
    st.page_link("pages/library.py", label="Go to the Library", icon=":material/library_books:")
    st.stop()


def note_empty(frame: pd.DataFrame, message: str) -> bool:
    """True (and a caption saying why) when a chart has nothing to show."""
    if frame.empty:
        st.caption(message)
        return True
    return False


def show(fig, key: str) -> None:
    st.plotly_chart(fig, key=key, config={"displaylogo": False})


NO_ANSWERS = "No answers in this range yet. Answer questions in Today to see this chart."

# --- 1 today -----------------------------------------------------------------------------------
st.subheader("Today", anchor=False)
today = data["today"].iloc[0]
c1, c2, c3, c4 = st.columns(4)
c1.metric("Answers", int(today["answers"]))
c2.metric("Time spent", f"{int(today['seconds']) // 60} min")
c3.metric("Accuracy", "—" if pd.isna(today["accuracy"]) else f"{today['accuracy']:.0%}")
c4.metric("New / review", f"{int(today['new'])} / {int(today['review'])}")
if not ever_answered:
    st.info(
        "You have questions but no answers yet. Answer a few in **Today** and your charts fill in.",
        icon=":material/school:",
    )
    st.page_link("pages/today.py", label="Practise now", icon=":material/school:")

# --- 2 calendar --------------------------------------------------------------------------------
st.subheader("Activity", anchor=False)
streak = data["streak"].iloc[0]
s1, s2 = st.columns(2)
s1.metric("Streak", f"{int(streak['current'])} days")
s2.metric("Best streak", f"{int(streak['best'])} days")
load("calendar")
show(figure(charts.calendar, data["calendar"], base.today), "an_calendar")

# --- 3 reviews per day, 4 future due --------------------------------------------------------------
load("reviews_per_day", "future_due", "true_retention")
# Projections (long-run load, exam recall) only once reviews on later days give the
# intervals some meaning: after one session every interval is the first one.
basis = projection_basis(int(data["true_retention"].set_index("period").loc["all", "total"]))
NOT_YET = (
    f"Projections appear after {basis.needed} reviews (answers to a question you first "
    f"saw on an earlier day); you have {basis.reviews}, so {basis.missing} more to go."
)
left, right = st.columns(2)
with left:
    measure = st.segmented_control(
        "Measure", ["answers", "time"], default="answers", key="an_measure", format_func=str.title
    )
    if not note_empty(data["reviews_per_day"], NO_ANSWERS):
        show(
            figure(charts.reviews_per_day, data["reviews_per_day"], measure or "answers"),
            "an_reviews",
        )
with right:
    horizon = st.segmented_control(
        "Next", [30, 90], default=30, key="an_horizon", format_func=lambda d: f"{d} days"
    )
    due = data["future_due"]
    due = due[due["day"] < base.today + dt.timedelta(days=horizon or 30)]
    if not note_empty(due, "Nothing is scheduled in this window."):
        show(figure(charts.future_due, due), "an_due")
        if basis.ready:
            st.caption(
                f"Daily load: about {due['daily_load'].iloc[0]:.1f} reviews a day in "
                "the long run (the sum of 1/interval over scheduled questions)."
            )
        else:
            st.caption(NOT_YET)

# --- 5 card counts, 6 intervals and scheduler distributions -------------------------------------
load("intervals", "scheduler_distribution")
left, right = st.columns(2)
with left:
    show(figure(charts.card_counts, counts), "an_counts")
with right:
    if not note_empty(data["intervals"], "No scheduled questions yet."):
        show(figure(charts.intervals, data["intervals"]), "an_intervals")
dist = data["scheduler_distribution"]
if not dist.empty:
    metrics = list(dict.fromkeys(dist["metric"]))
    for col, metric in zip(st.columns(len(metrics)), metrics):
        with col:
            show(figure(charts.distribution, dist, metric), f"an_dist_{metric}")

# --- 7 true retention, 8 retention over time and knowledge ---------------------------------------
st.subheader("Retention", anchor=False)
load("retention_over_time", "knowledge")
tr = data["true_retention"]
retention_table = pd.DataFrame(
    {
        "Period": tr["period"].str.title(),
        "Young": [
            f"{r:.1%} of {n}" if n else "—" for r, n in zip(tr["young_rate"], tr["young_total"])
        ],
        "Mature": [
            f"{r:.1%} of {n}" if n else "—" for r, n in zip(tr["mature_rate"], tr["mature_total"])
        ],
        "Total": [f"{r:.1%} of {n}" if n else "—" for r, n in zip(tr["rate"], tr["total"])],
    }
)
left, right = st.columns([2, 3])
with left:
    st.caption(
        "True retention: answers on a later day than the question's previous answer "
        "(first answer per day); mature = 21 days or more since it."
    )
    st.dataframe(retention_table, hide_index=True)
    kn = data["knowledge"].iloc[0]
    st.metric(
        "Estimated total knowledge",
        f"{kn['knowledge']:.0f} questions",
        help="The sum of predicted recall now over reviewed questions (FSRS).",
    )
with right:
    if not note_empty(data["retention_over_time"], "No reviews a day or more apart yet."):
        show(figure(charts.retention_over_time, data["retention_over_time"]), "an_retention")

# --- 9 hourly, 10 outcomes, 11 calibration -------------------------------------------------------
st.subheader("How you answer", anchor=False)
load("hourly", "outcomes_by_type", "calibration")
left, middle, right = st.columns(3)
with left:
    if data["hourly"]["answers"].sum():
        show(figure(charts.hourly, data["hourly"]), "an_hourly")
    else:
        st.caption(NO_ANSWERS)
with middle:
    if not note_empty(data["outcomes_by_type"], NO_ANSWERS):
        show(figure(charts.outcomes, data["outcomes_by_type"]), "an_outcomes")
with right:
    cal = data["calibration"]
    if cal["answers"].sum():
        show(figure(charts.calibration, cal), "an_calibration")
    else:
        st.caption(NO_ANSWERS)

# --- 12 coverage ---------------------------------------------------------------------------------
st.subheader("Coverage of your material", anchor=False)
load("coverage")
cov = data["coverage"]
if not note_empty(cov, "No materials yet: upload a PDF in the Library."):
    untested = int((cov["questions"] == 0).sum())
    st.caption(
        f"{untested} of {len(cov)} pages have no questions yet. Click a page (or pick "
        "it below) to list its questions or generate questions from it."
    )
    event = st.plotly_chart(
        figure(charts.coverage, cov),
        key="an_coverage",
        on_select="rerun",
        selection_mode="points",
        config={"displaylogo": False},
    )
    points = event.selection.points if event and event.selection else []
    clicked = (
        tuple(int(v) for v in points[0]["customdata"])
        if points and points[0].get("customdata")
        else None
    )
    # A click picks the page once; the pickers below stay free to change afterwards.
    if clicked and clicked != st.session_state.get("an_cov_clicked"):
        st.session_state["an_cov_clicked"] = clicked
        st.session_state["an_cov_material"], st.session_state["an_cov_page"] = clicked
    mids = list(dict.fromkeys(cov["material_id"]))
    if st.session_state.get("an_cov_material") not in mids:  # e.g. after a filter change
        st.session_state.pop("an_cov_material", None)
    a, b = st.columns(2)
    cov_mid = a.selectbox(
        "Material", mids, key="an_cov_material", format_func=lambda m: materials.get(m, str(m))
    )
    last_page = int(cov.loc[cov["material_id"] == cov_mid, "page"].max())
    st.session_state["an_cov_page"] = min(st.session_state.get("an_cov_page", 1), last_page)
    cov_page = b.number_input("Page", min_value=1, max_value=last_page, key="an_cov_page")
    try:
        listed = knowledge.page_questions(rt, base, material_id=cov_mid, page=int(cov_page))
    except EngineError as e:
        st.error(e.user_message)
        listed = pd.DataFrame()
    if listed.empty:
        st.caption(f"No questions come from page {int(cov_page)} yet.")
    else:
        table(listed, progress=("recall",))
    if st.button(
        "Generate questions from this page", key="an_generate", icon=":material/auto_awesome:"
    ):
        st.session_state["gen_materials"] = [cov_mid]
        st.session_state["gen_topic"] = knowledge.page_topic(
            rt, user_id=uid, material_id=cov_mid, page=int(cov_page)
        )
        st.switch_page("pages/generate.py")

# --- 13 readiness --------------------------------------------------------------------------------
st.subheader("Exam readiness", anchor=False)
load("readiness")
ready = data["readiness"]
if base.exam_date is None or base.exam_date < base.today:
    st.caption(
        "Set your exam date in Profile & settings to see how much you are on course "
        "to recall on the day."
    )
    st.page_link("pages/profile.py", label="Profile & settings", icon=":material/settings:")
elif not basis.ready:
    st.caption(NOT_YET)
elif not note_empty(ready, "No active questions to project."):
    total = ready["expected_recalled"].sum() / max(1, ready["questions"].sum())
    st.metric(
        f"Predicted recall on {base.exam_date:%d %b %Y}",
        f"{total:.0%}",
        help="If you keep your schedule; questions never answered count as forgotten. "
        "Conservative: stability is held at today's values.",
    )
    table(ready, progress=("readiness",))

# --- 14 question quality -------------------------------------------------------------------------
st.subheader("Question quality", anchor=False)
load("question_quality")
qq = data["question_quality"]
if not note_empty(qq, "No questions have a quality score, a flag or a retirement yet."):
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

# --- 15 time, XP, model usage --------------------------------------------------------------------
st.subheader("Time, XP and model usage", anchor=False)
load("time_per_question", "xp_progress", "model_usage")
left, middle, right = st.columns(3)
with left:
    if data["time_per_question"]["answers"].sum():
        show(figure(charts.time_per_question, data["time_per_question"]), "an_time")
    else:
        st.caption(NO_ANSWERS)
with middle:
    if not note_empty(data["xp_progress"], NO_ANSWERS):
        show(figure(charts.xp_progress, data["xp_progress"]), "an_xp")
with right:
    if not note_empty(data["model_usage"], "No model calls in this range."):
        usage = data["model_usage"]
        show(figure(charts.model_usage, usage), "an_models")
        calls = int(usage["calls"].sum())
        st.caption(
            f"Total in range: ${usage['cost_usd'].fillna(0).sum():.4f} for {calls} "
            f"call{'s' if calls != 1 else ''}."
        )

# --- export --------------------------------------------------------------------------------------
st.subheader("Export", anchor=False)
st.caption("Your own data only. CSV timestamps are in UTC.")
cols = st.columns(3)
for col, (what, label) in zip(
    cols,
    [
        ("attempts", "Answers (CSV)"),
        ("review_states", "Review schedule (CSV)"),
        ("questions", "Question bank (CSV)"),
    ],
):
    col.download_button(
        label,
        key=f"an_csv_{what}",
        mime="text/csv",
        file_name=f"groundwork-{what}.csv",
        icon=":material/download:",
        on_click="ignore",
        data=lambda what=what: export.csv_bytes(rt, user_id=uid, what=what),
    )

with st.form("an_anki"):
    st.markdown("**Anki deck (.apkg)**")
    st.caption(
        "Re-importing a later export updates the same notes instead of duplicating "
        "them. Anki receives new cards only: your Groundwork schedule and answer "
        "history are not carried over."
    )
    scope_kind = st.radio(
        "Questions",
        ["all", "material", "topic"],
        horizontal=True,
        key="an_anki_kind",
        format_func={"all": "All", "material": "One material", "topic": "One topic"}.get,
    )
    a, b = st.columns(2)
    anki_mid = a.selectbox(
        "Material",
        list(materials) or [None],
        key="an_anki_material",
        format_func=lambda m: "—" if m is None else materials[m],
    )
    topic_list = anki.topics(rt, user_id=uid)
    anki_topic = b.selectbox(
        "Topic",
        topic_list or [None],
        key="an_anki_topic",
        format_func=lambda t: "—" if t is None else t,
    )
    build = st.form_submit_button("Build the deck", icon=":material/style:")
if build:
    selection = anki.Selection(
        material_id=anki_mid if scope_kind == "material" else None,
        topic=anki_topic if scope_kind == "topic" else None,
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
        f"Download the deck ({n} notes)",
        data=payload,
        file_name="groundwork.apkg",
        mime="application/octet-stream",
        key="an_apkg_download",
        icon=":material/download:",
        on_click="ignore",
    )
