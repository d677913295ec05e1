"""Generate: choose materials, topic, type, difficulty and count; review the preview; accept,
edit or reject each question (only accepted ones enter the bank; rejected ones are never
offered again)."""

from __future__ import annotations

import uuid

import streamlit as st

from engine import usage
from engine.bank import service as bank
from engine.domain.vocabulary import Generator, JobKind, JobState
from engine.errors import EngineError
from engine.generation import service
from engine.generation.drafts import Draft
from engine.jobs import JobView, active_job, get_job, submit_generation
from engine.jobs.results import GenerateResult, JobErrorKind, JobFailure
from ui.auth import require_account
from ui.jobs import job_card
from ui.labels import QUESTION_TYPE_LABELS
from ui.library import escape_markdown, offline_language_note
from ui.question_view import badges, edit_fields, edited_values, plain, render_question
from ui.runtime import get_runtime

rt = get_runtime()
account = require_account()
mode = service.generation_mode(rt)

PREVIEW = "gen_preview"  # {"batch": str, "items": [{"draft": dict, "state": str}], ...}
st.session_state.setdefault(PREVIEW, None)

st.title("Generate questions")
if mode.offline:
    st.info(
        "**Offline mode.** No language model is configured, so Groundwork builds multiple-"
        "choice and cloze questions, and self-rated flashcards of the terms your material "
        "defines, straight from its key sentences. Every one quotes its source. Set "
        "`GROUNDWORK_LLM_GENERATION_MODEL` for model-written questions of every type.",
        icon=":material/cloud_off:",
    )
else:
    st.caption(
        f":material/smart_toy: Questions are written by **{plain(mode.model)}** and "
        "checked against your material before you see them."
    )

try:
    materials = service.materials_for_generation(rt, user_id=account.user_id)
except EngineError as e:
    st.error(e.user_message)
    st.stop()

if not materials:
    st.info(
        "You have no materials yet. Upload a PDF in the **Library** first; every question "
        "is made from your own material and cites its page.",
        icon=":material/upload_file:",
    )
    st.page_link("pages/library.py", label="Go to the Library", icon=":material/library_books:")
    st.stop()

titles = {m.id: m.title for m in materials}
if mode.offline:
    for m in materials:
        if not m.offline_supported:
            st.warning(
                escape_markdown(f"{m.title}: {offline_language_note(m.language)}"),
                icon=":material/translate:",
            )
type_choices = ["mix", *mode.types]

with st.form("gen_form"):
    chosen = st.multiselect(
        "Materials",
        options=list(titles),
        format_func=titles.get,
        placeholder="All materials",
        key="gen_materials",
    )
    topic = st.text_input(
        "Topic (optional)",
        key="gen_topic",
        max_chars=200,
        placeholder="e.g. the Calvin cycle; leave empty to cover everything",
    )
    left, middle, right = st.columns(3)
    qtype = left.selectbox(
        "Question type",
        type_choices,
        key="gen_type",
        format_func=lambda t: "A mix" if t == "mix" else QUESTION_TYPE_LABELS[t],
    )
    difficulty = middle.select_slider(
        "Difficulty", options=[1, 2, 3, 4, 5], value=3, key="gen_difficulty"
    )
    count = right.number_input(
        "How many",
        min_value=1,
        max_value=rt.settings.generation.max_count,
        value=5,
        step=1,
        key="gen_count",
    )
    submitted = st.form_submit_button("Generate", type="primary", icon=":material/auto_awesome:")

JOB = "gen_job"  # the id of this session's generation job while it runs
if JOB not in st.session_state:
    # A learner who reloads (or opens another tab) follows the batch that is still running.
    try:
        running = active_job(rt, user_id=account.user_id, kind=JobKind.GENERATE)
    except EngineError:
        running = None
    st.session_state[JOB] = running.id if running else None

if submitted:
    try:
        st.session_state[JOB] = submit_generation(
            rt,
            user_id=account.user_id,
            material_ids=chosen or None,
            topic=topic or None,
            question_type=qtype,
            difficulty=int(difficulty),
            count=int(count),
        )
    except EngineError as e:
        st.error(e.user_message)


def _finish(job: JobView) -> None:
    """Turn a finished job into the preview, or its failure into messages."""
    r = job.result
    if isinstance(r, GenerateResult):
        st.session_state[PREVIEW] = {
            "batch": uuid.uuid4().hex[:8],
            "requested": r.requested,
            "items": [{"draft": d, "state": "pending"} for d in r.drafts],
            "rejections": r.rejections,
            "generator": r.generator,
            "cost": r.cost,
            "cached": r.cached,
            "note": r.note,
        }
    else:
        st.session_state["gen_failure"] = {
            "outcome": job.outcome,
            "message": job.message,
            "error": job.error,
            "rejections": r.rejections if isinstance(r, JobFailure) else {},
        }


@st.fragment(run_every=1.0 if st.session_state[JOB] else None)
def _generation_progress() -> None:
    job_id = st.session_state[JOB]
    if not job_id:
        return
    try:
        job = get_job(rt, job_id, user_id=account.user_id)
    except EngineError as e:
        st.session_state[JOB] = None
        st.error(e.user_message)
        return
    if job.finished:
        st.session_state[JOB] = None
        _finish(job)
        st.rerun()
    st.caption("You can leave this page; the questions keep coming and wait here for you.")
    job_card(rt, job, user_id=account.user_id, key="gen_job")


_generation_progress()

if failure := st.session_state.pop("gen_failure", None):
    if failure["outcome"] is JobState.CANCELLED:
        st.info("Generation cancelled; nothing was kept.", icon=":material/cancel:")
    elif failure["error"] is JobErrorKind.RATE_LIMITED:
        st.error(plain(failure["message"]), icon=":material/hourglass_top:")
    else:
        st.error(plain(failure["message"]))
        if failure["rejections"]:
            st.caption(
                "Rejected: "
                + ", ".join(
                    f"{n} × {plain(service.REASONS.get(r, r))}"
                    for r, n in failure["rejections"].items()
                )
            )

if not mode.offline:
    try:
        used = usage.usage_summary(rt, user_id=account.user_id)
    except EngineError as e:
        st.error(e.user_message)
        st.stop()
    st.caption(
        plain(
            f"Last 24 hours: {used.questions} of "
            f"{rt.settings.usage.generation_max_questions_per_day} "
            f"model-written questions, {used.calls} call(s), "
            f"{used.tokens:,} tokens, ${used.cost_usd:.4f}."
        )
    )

preview = st.session_state[PREVIEW]
if not preview:
    st.stop()


def save(indices: list[int]) -> str | None:
    """Save these drafts to the bank and mark them accepted; the error message otherwise."""
    drafts = [Draft.from_dict(preview["items"][i]["draft"]) for i in indices]
    try:
        bank.save_questions(rt, user_id=account.user_id, drafts=drafts)
    except EngineError as e:
        return e.user_message
    for i in indices:
        preview["items"][i]["state"] = "accepted"
    return None


def _accept(i: int) -> None:
    preview["items"][i]["error"] = save([i])


def _reject(i: int, *, undo: bool = False) -> None:
    """Reject a draft for good (regenerating and Quiz me leave it out), or undo that."""
    item = preview["items"][i]
    draft = Draft.from_dict(item["draft"])
    try:
        if undo:
            service.undo_rejection(rt, user_id=account.user_id, draft=draft)
        else:
            service.reject_draft(rt, user_id=account.user_id, draft=draft)
    except EngineError as e:
        item["error"] = e.user_message
        return
    item["state"] = "pending" if undo else "rejected"


def _edit(i: int, *, on: bool) -> None:
    preview["items"][i]["editing"] = on


def _save_edit(i: int, key: str) -> None:
    """Apply the card's edit form to its draft (checked again when it is accepted)."""
    item = preview["items"][i]
    item["draft"].update(edited_values(Draft.from_dict(item["draft"]), key=key))
    item["editing"] = False


@st.fragment
def preview_card(i: int) -> None:
    """One question of the preview. Accept, Reject, Undo, Edit and Save changes redraw this
    card only (a fragment; the clicks are handled by callbacks before it draws again). Only a
    card being edited holds the edit form, and an accepted or rejected card shows its
    question in one line: the page stays light, so each click answers quickly."""
    item = preview["items"][i]
    key = f"gen_{preview['batch']}_{i}"
    with st.container(border=True):
        state = item["state"]
        draft = Draft.from_dict(item["draft"])
        mark = {"accepted": " · :green[saved to your bank]", "rejected": " · :gray[rejected]"}
        st.markdown(f"**{i + 1}.** {badges(draft)}{mark.get(state, '')}")
        if error := item.pop("error", None):
            st.error(error)
        if state != "pending":
            st.caption(plain(draft.stem))
            if state == "rejected":
                st.button(
                    "Undo", key=f"{key}_undo", on_click=_reject, args=(i,), kwargs={"undo": True}
                )
            return
        if item.get("editing"):
            with st.form(f"{key}_edit"):
                edit_fields(draft, key=key)
                save_col, cancel_col, _ = st.columns([1, 1, 3])
                save_col.form_submit_button(
                    "Save changes", type="primary", on_click=_save_edit, args=(i, key)
                )
                cancel_col.form_submit_button(
                    "Cancel", on_click=_edit, args=(i,), kwargs={"on": False}
                )
            return
        render_question(draft)
        cols = st.columns([1, 1, 1, 3])
        cols[0].button(
            "Accept", key=f"{key}_accept", icon=":material/check:", on_click=_accept, args=(i,)
        )
        cols[1].button(
            "Reject",
            key=f"{key}_reject",
            icon=":material/delete:",
            help="Not asked again: regenerating and Quiz me leave it out.",
            on_click=_reject,
            args=(i,),
        )
        cols[2].button(
            "Edit",
            key=f"{key}_edit_open",
            icon=":material/edit:",
            help="Change the question before accepting it.",
            on_click=_edit,
            args=(i,),
            kwargs={"on": True},
        )


items = preview["items"]
pending = [i for i, it in enumerate(items) if it["state"] == "pending"]

st.subheader("Review")
summary = f"{len(items)} of {preview['requested']} question(s) passed the checks."
if preview["rejections"]:
    summary += " Rejected: " + "; ".join(preview["rejections"]) + "."
if preview["generator"] == Generator.LLM:
    summary += (
        f" Cost: ${preview['cost']:.4f}"
        if not preview["cached"]
        else " Served from cache at no cost."
    )
st.caption(plain(summary))
if preview.get("note"):
    st.info(plain(preview["note"]), icon=":material/info:")
top = st.columns([1, 1, 3])
if top[0].button(
    "Accept all",
    key=f"gen_accept_all_{preview['batch']}",
    type="primary",
    disabled=not pending,
    icon=":material/done_all:",
):
    if error := save(pending):
        st.error(error)
    else:
        st.rerun()
if top[1].button("Clear", key=f"gen_clear_{preview['batch']}", icon=":material/close:"):
    st.session_state[PREVIEW] = None
    st.rerun()
# No count of the saved questions here: a card's Accept redraws only that card, so a count
# would be out of date until the next full run. Each saved card says so itself.
top[2].page_link(
    "pages/question_bank.py", label="Open the question bank", icon=":material/inventory_2:"
)

for i in range(len(items)):
    preview_card(i)
