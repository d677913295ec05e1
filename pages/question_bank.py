"""Question bank: browse and filter the learner's questions; see each one's source; edit;
delete (after confirmation)."""

from __future__ import annotations

import streamlit as st

from engine.bank import service
from engine.bank.images import ANSWER_SIDE, QUESTION_SIDE, images_for
from engine.errors import EngineError
from ui.auth import require_account
from ui.bank_import import anki_import_progress, import_section
from ui.bank_row import row_head
from ui.labels import QUESTION_STATUS_LABELS, QUESTION_TYPE_LABELS
from ui.lms_export import lms_export_section
from ui.question_images import show_images
from ui.question_view import DIFFICULTY, badges, edit_fields, render_question
from ui.runtime import get_runtime

rt = get_runtime()
account = require_account()
PAGE_SIZE = 20

st.session_state.setdefault("bank_page", 0)
st.session_state.setdefault("bank_confirm_delete", None)
st.session_state.setdefault("bank_editing", None)

st.title("Question bank")
import_section(rt, account.user_id)
anki_import_progress(rt, account.user_id)

try:
    sources = service.bank_materials(rt, user_id=account.user_id)
    tags = service.bank_tags(rt, user_id=account.user_id)
except EngineError as e:
    st.error(e.user_message)
    st.stop()

source_titles = {m: t for m, t in sources}
c1, c2, c3, c4 = st.columns(4)
material = c1.selectbox(
    "Material",
    [None, *source_titles],
    key="bank_material",
    format_func=lambda m: "All materials" if m is None else source_titles[m],
)
qtype = c2.selectbox(
    "Type",
    [None, *QUESTION_TYPE_LABELS],
    key="bank_type",
    format_func=lambda t: "All types" if t is None else QUESTION_TYPE_LABELS[t],
)
difficulty = c3.selectbox(
    "Difficulty",
    [None, 1, 2, 3, 4, 5],
    key="bank_difficulty",
    format_func=lambda d: "Any difficulty" if d is None else DIFFICULTY[d],
)
status = c4.selectbox(
    "Status",
    [None, *QUESTION_STATUS_LABELS],
    key="bank_status",
    format_func=lambda s: "Any status" if s is None else QUESTION_STATUS_LABELS[s],
)
# Only learners with tagged questions (imported from Anki) see the tag filter; a tag also
# finds the tags below it ("Lang" finds "Lang::Spanish").
tag: str | None = None
if tags:
    text_col, tag_col = st.columns([3, 1])
    tag = tag_col.selectbox(
        "Tag", [None, *tags], key="bank_tag", format_func=lambda t: t or "Any tag"
    )
else:
    text_col = st.container()
text = text_col.text_input("Search questions and answers", key="bank_text", max_chars=200)

filters = (material, qtype, difficulty, status, text, tag)
if st.session_state.get("bank_filters") != filters:
    st.session_state["bank_filters"] = filters
    st.session_state["bank_page"] = 0

try:
    page = service.list_questions(
        rt,
        user_id=account.user_id,
        material_id=material,
        question_type=qtype,
        difficulty=difficulty,
        status=status,
        text=text or None,
        tag=tag,
        limit=PAGE_SIZE,
        offset=st.session_state["bank_page"] * PAGE_SIZE,
    )
except EngineError as e:
    st.error(e.user_message)
    st.stop()

if page.total == 0:
    if any(f not in (None, "") for f in filters):
        st.info("No questions match these filters.", icon=":material/filter_alt_off:")
    else:
        st.info(
            "Your bank is empty. Generate questions from your material and accept the "
            "ones you want to study.",
            icon=":material/quiz:",
        )
        st.page_link(
            "pages/generate.py", label="Generate questions", icon=":material/auto_awesome:"
        )
    st.stop()

lms_export_section(rt, account.user_id, source_titles)

first = st.session_state["bank_page"] * PAGE_SIZE
st.caption(f"Showing {first + 1}–{first + len(page.questions)} of {page.total}")

if notice := st.session_state.pop("bank_notice", None):
    st.success(notice)
if error := st.session_state.pop("bank_error", None):
    st.error(error)

try:
    pictures = images_for(rt, user_id=account.user_id, question_ids=[q.id for q in page.questions])
except EngineError as e:
    st.error(e.user_message)
    st.stop()

for q in page.questions:
    key = f"bank_{q.id}"
    row = st.container(border=True, key=f"{key}_row")
    with row:
        row_head(q, user_id=account.user_id, key=key)
    with row.expander(
        "Answer, source, edit or delete", expanded=st.session_state["bank_editing"] == q.id
    ):
        st.caption(badges(q))
        if st.session_state["bank_editing"] == q.id:
            with st.form(f"{key}_form"):
                values = edit_fields(q, key=key)
                new_status = st.selectbox(
                    "Status",
                    list(QUESTION_STATUS_LABELS),
                    key=f"{key}_status",
                    index=list(QUESTION_STATUS_LABELS).index(q.status),
                    format_func=QUESTION_STATUS_LABELS.get,
                )
                save_col, cancel_col = st.columns(2)
                saved = save_col.form_submit_button("Save", type="primary")
                cancelled = cancel_col.form_submit_button("Cancel")
            if saved:
                try:
                    service.update_question(
                        rt,
                        user_id=account.user_id,
                        question_id=q.id,
                        stem=values["stem"],
                        answer=values["answer"],
                        explanation=values["explanation"],
                        difficulty=values["difficulty"],
                        options=values.get("options"),
                        correct_index=values.get("correct_index"),
                        key_points=values.get("key_points"),
                        status=new_status,
                    )
                except EngineError as e:
                    st.error(e.user_message)
                else:
                    st.session_state["bank_editing"] = None
                    st.session_state["bank_notice"] = "Question saved."
                    st.rerun()
            if cancelled:
                st.session_state["bank_editing"] = None
                st.rerun()
            continue
        render_question(q)
        show_images(pictures.get(q.id, ()), QUESTION_SIDE)
        show_images(pictures.get(q.id, ()), ANSWER_SIDE)
        if st.session_state["bank_confirm_delete"] == q.id:
            st.warning("Delete this question and its practice history? This cannot be undone.")
            yes, no = st.columns(2)
            if yes.button("Yes, delete", key=f"{key}_confirm", type="primary"):
                try:
                    service.delete_question(rt, user_id=account.user_id, question_id=q.id)
                except EngineError as e:
                    st.error(e.user_message)
                else:
                    st.session_state["bank_confirm_delete"] = None
                    st.session_state["bank_notice"] = "Question deleted."
                    st.rerun()
            if no.button("Keep it", key=f"{key}_keep"):
                st.session_state["bank_confirm_delete"] = None
                st.rerun()
        else:
            edit_col, delete_col, _ = st.columns([1, 1, 4])
            if edit_col.button("Edit", key=f"{key}_edit", icon=":material/edit:"):
                st.session_state["bank_editing"] = q.id
                st.rerun()
            if delete_col.button("Delete", key=f"{key}_delete", icon=":material/delete:"):
                st.session_state["bank_confirm_delete"] = q.id
                st.rerun()

pages_total = (page.total + PAGE_SIZE - 1) // PAGE_SIZE
if pages_total > 1:
    prev_col, info_col, next_col = st.columns([1, 2, 1])
    if prev_col.button("Previous", key="bank_prev", disabled=st.session_state["bank_page"] == 0):
        st.session_state["bank_page"] -= 1
        st.rerun()
    info_col.caption(f"Page {st.session_state['bank_page'] + 1} of {pages_total}")
    if next_col.button(
        "Next", key="bank_next", disabled=st.session_state["bank_page"] >= pages_total - 1
    ):
        st.session_state["bank_page"] += 1
        st.rerun()
