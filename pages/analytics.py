"""Analytics: progress charts (Anki's statistics and more), coverage of the learner's PDFs,
exam readiness, question quality, and exports (CSV and Anki).

The page is its filters, a choice of view, and a list of sections (title, what it loads, how it
draws), drawn in order so the first is on screen before the slower ones are read
(`ui.analytics_sections`). A view shows a few related sections (fourteen charts at once keep a
browser busy for seconds); "Everything" shows them all on one page."""

from __future__ import annotations

import streamlit as st

from engine.analytics import knowledge
from engine.errors import EngineError
from ui import analytics_sections as sections
from ui.analytics_cache import ChartData
from ui.analytics_sections import Section, View, frames, nothing
from ui.auth import require_account
from ui.runtime import get_runtime

SECTIONS = [
    Section("Today", frames("today", "streak", "card_counts"), sections.today),
    Section("Activity", frames("streak", "calendar"), sections.activity),
    Section("Workload", frames("reviews_per_day", "future_due"), sections.workload),
    Section(
        "Your questions",
        frames("card_counts", "intervals", "scheduler_distribution"),
        sections.questions,
    ),
    Section(
        "Retention",
        frames("true_retention", "retention_over_time", "knowledge"),
        sections.retention,
    ),
    Section(
        "How you answer", frames("hourly", "outcomes_by_type", "calibration"), sections.answering
    ),
    Section("Coverage of your material", frames("coverage"), sections.coverage),
    Section("Exam readiness", frames("readiness"), sections.readiness),
    Section("Question quality", frames("question_quality"), sections.quality),
    Section(
        "Time, XP and model usage",
        frames("time_per_question", "xp_progress", "model_usage"),
        sections.time_and_usage,
    ),
    Section("Export", nothing, sections.exports),
]

# The views and the sections each shows, in the order of SECTIONS.
VIEWS = {
    "Progress": ("Today", "Activity", "Workload"),
    "Memory": ("Today", "Your questions", "Retention", "How you answer"),
    "Your material": ("Today", "Coverage of your material", "Exam readiness", "Question quality"),
    "Time and export": ("Today", "Time, XP and model usage", "Export"),
    "Everything": tuple(section.title for section in SECTIONS),
}

rt = get_runtime()
account = require_account()

st.title("Analytics")

try:
    materials = dict(knowledge.material_choices(rt, user_id=account.user_id))
    learner = ChartData(account.user_id)  # reads the learner's data version once for this run
    base = learner.scope  # today, the exam date and the default dates
except EngineError as e:
    st.error(e.user_message)
    st.stop()

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

view = View(rt, account.user_id, base, materials, learner.filtered(*picked, material_id))
try:
    first = SECTIONS[0].load(view)
except EngineError as e:
    st.error(e.user_message)
    st.stop()
if sections.nothing_yet(first, materials):
    st.info(
        "Nothing to chart yet. Upload a PDF to your **Library**, generate questions from "
        "it, then answer them in **Today**: your progress, retention and the pages you "
        "have covered will appear here.",
        icon=":material/insights:",
    )
    st.page_link("pages/library.py", label="Go to the Library", icon=":material/library_books:")
    st.stop()
chosen = st.segmented_control("View", list(VIEWS), default="Progress", required=True, key="an_view")
shown = VIEWS[chosen or "Progress"]
sections.draw_sections([s for s in SECTIONS if s.title in shown], view, first=first)
