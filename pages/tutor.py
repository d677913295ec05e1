"""Tutor: a chat that answers only from the learner's materials, with a source per sentence;
conversations kept, modes Explain / Socratic / Quiz me."""

from __future__ import annotations

import streamlit as st

from engine.domain.vocabulary import QuestionType
from engine.errors import EngineError
from engine.generation import service as generation
from engine.generation.drafts import Draft
from engine.tutor import service, store
from ui.auth import require_account
from ui.labels import TUTOR_MODE_LABELS
from ui.question_view import render_question
from ui.runtime import get_runtime
from ui.text import escape_markdown
from ui.tutor import plain, render_message, source_dialog

rt = get_runtime()
account = require_account()
uid = account.user_id
info = service.tutor_mode(rt)

CONV = "tutor_conversation"
st.session_state.setdefault(CONV, None)

st.title("Tutor")
if info.offline:
    st.info(
        escape_markdown(info.label) + " Set `GROUNDWORK_LLM_TUTOR_MODEL` (or the "
        "generation model) for written explanations.",
        icon=":material/cloud_off:",
    )
else:
    st.caption(":material/smart_toy: " + escape_markdown(info.label))

try:
    materials = generation.materials_for_generation(rt, user_id=uid)
    conversations = store.list_conversations(rt, user_id=uid)
except EngineError as e:
    st.error(e.user_message)
    st.stop()

if not materials:
    st.info(
        "The tutor answers from your own PDFs, and you have none yet. Upload one in the "
        "**Library**, then come back and ask about it.",
        icon=":material/upload_file:",
    )
    st.page_link("pages/library.py", label="Go to the Library", icon=":material/library_books:")
    st.stop()

titles = {m.id: m.title for m in materials}
ids = [c.id for c in conversations]
if st.session_state[CONV] not in ids:
    st.session_state[CONV] = ids[0] if ids else None


def _new() -> None:
    try:
        conv = store.create_conversation(rt, user_id=uid)
    except EngineError as e:
        st.session_state["tutor_error"] = e.user_message
        return
    st.session_state[CONV] = conv.id


# --- conversations ----------------------------------------------------------------------------
with st.sidebar:
    st.subheader("Conversations", anchor=False)
    st.button(
        "New conversation",
        key="tutor_new",
        icon=":material/add_comment:",
        on_click=_new,
        width="stretch",
    )
    for c in conversations:
        current = c.id == st.session_state[CONV]
        if st.button(
            escape_markdown(c.title),
            key=f"tutor_conv_{c.id}",
            type="primary" if current else "secondary",
            width="stretch",
        ):
            st.session_state[CONV] = c.id
            st.rerun()

if error := st.session_state.pop("tutor_error", None):
    st.error(error)

conv_id = st.session_state[CONV]
conv = next((c for c in conversations if c.id == conv_id), None)

if conv is not None:
    head, manage = st.columns([4, 1])
    head.subheader(escape_markdown(conv.title), anchor=False)
    with manage.popover("Manage", icon=":material/tune:", width="stretch"):
        with st.form(f"tutor_rename_{conv.id}"):
            name = st.text_input("Name", value=conv.title, max_chars=store.TITLE_MAX)
            chosen = st.multiselect(
                "Answer only from these materials",
                options=list(titles),
                default=[m for m in (conv.material_ids or []) if m in titles],
                format_func=titles.get,
                placeholder="All my materials",
            )
            if st.form_submit_button("Save"):
                try:
                    store.update_conversation(
                        rt,
                        user_id=uid,
                        conversation_id=conv.id,
                        title=name,
                        material_ids=chosen or None,
                    )
                except EngineError as e:
                    st.error(e.user_message)
                else:
                    st.rerun()
        confirm = st.checkbox(
            "Yes, delete this conversation and its messages", key=f"tutor_confirm_{conv.id}"
        )
        if st.button(
            "Delete conversation",
            key=f"tutor_delete_{conv.id}",
            icon=":material/delete:",
            disabled=not confirm,
        ):
            try:
                store.delete_conversation(rt, user_id=uid, conversation_id=conv.id)
            except EngineError as e:
                st.error(e.user_message)
            else:
                st.session_state[CONV] = None
                st.toast("Conversation deleted.")
                st.rerun()
    if conv.material_ids:
        st.caption(
            "Answers only from: "
            + ", ".join(
                escape_markdown(titles.get(m, "a deleted material")) for m in conv.material_ids
            )
        )

left, right = st.columns([3, 2])
mode = (
    left.segmented_control(
        "Mode",
        options=list(TUTOR_MODE_LABELS),
        format_func=TUTOR_MODE_LABELS.get,
        default="explain",
        key="tutor_mode",
        help="Explain answers; Socratic guides you with questions; "
        "Quiz me turns the topic into practice questions.",
    )
    or "explain"
)
general = right.toggle(
    "General knowledge when my material has no answer",
    key="tutor_general",
    disabled=info.offline,
    help="Such answers are labelled as not from your materials.",
)

open_source = source_dialog(rt, uid, store.citation_view)


def _quiz_action(action, message_id: int, index: int, **kw) -> None:
    try:
        action(rt, user_id=uid, message_id=message_id, index=index, **kw)
    except EngineError as e:
        st.session_state["tutor_error"] = e.user_message


def _quiz(message) -> None:  # a stored quiz message
    """The quiz's questions: answered here first, then the answer is shown, then accept or
    reject (a rejected question is never offered again)."""
    for i, item in enumerate(message.sentences):
        if "quiz" not in item:
            continue
        draft = Draft.from_dict(item["quiz"])
        key = f"tutor_quiz_{message.id}_{i}"
        state = item.get("state", "pending")
        with st.container(border=True):
            if state == "rejected":
                st.caption("Rejected: Quiz me will not offer this question again.")
                continue
            if state == "pending":
                render_question(draft, show_answer=False)
                with st.form(f"{key}_form"):
                    if draft.type == QuestionType.MCQ and draft.options:
                        choice = st.radio(
                            "Your answer",
                            range(len(draft.options)),
                            format_func=lambda j, d=draft: plain(d.options[j]),
                            index=None,
                            key=f"{key}_choice",
                        )
                    else:
                        choice = st.text_input("Your answer", key=f"{key}_text")
                    if st.form_submit_button("Check my answer"):
                        if choice is None:
                            st.session_state["tutor_error"] = "Choose an answer first."
                        else:
                            _quiz_action(service.answer_quiz, message.id, i, response=choice)
                        st.rerun()
            else:
                if item.get("correct"):
                    st.markdown(":green[:material/check_circle: Right.]")
                else:
                    st.markdown(":red[:material/cancel: Not quite.]")
                render_question(draft, show_answer=True)
            if state == "accepted":
                st.caption(":green[Saved to your bank and your review schedule]")
                continue
            cols = st.columns([1, 1, 4])
            if state == "answered" and cols[0].button(
                "Accept", key=f"{key}_accept", icon=":material/check:"
            ):
                _quiz_action(service.accept_quiz_question, message.id, i)
                st.rerun()
            if cols[1].button("Reject", key=f"{key}_reject", icon=":material/delete:"):
                _quiz_action(service.reject_quiz_question, message.id, i)
                st.rerun()


messages = store.list_messages(rt, user_id=uid, conversation_id=conv.id) if conv else []
if not messages:
    st.caption(
        "Ask anything about your material. Every sentence of an answer cites the page "
        "it comes from; when your material does not cover a question, the tutor says so."
    )
for m in messages:
    with st.chat_message(m.role):
        render_message(m, key=f"tutor_msg_{m.id}", open_source=open_source)
        if m.kind == "quiz":
            _quiz(m)

pending = service.unanswered(messages) if conv else None
retry = False
if pending is not None:
    st.warning(
        "Your last message has no answer yet"
        + (
            f": {escape_markdown(st.session_state['tutor_failure'])}"
            if st.session_state.get("tutor_failure")
            else "."
        ),
        icon=":material/error:",
    )
    retry = st.button("Retry", key="tutor_retry", icon=":material/refresh:", type="primary")

prompt = st.chat_input(
    "Ask about your material", key="tutor_input", max_chars=rt.settings.tutor.message_max_chars
)


def _run(turn: service.Turn) -> None:
    """Finish a prepared turn on screen: stream a model answer or make a quiz preview."""
    st.session_state.pop("tutor_failure", None)
    if turn.needs_model:
        with st.chat_message("assistant"):
            if turn.kind == "general":
                st.caption(":material/public: General knowledge — not from your materials.")
            try:
                st.write_stream(escape_markdown(piece) for piece in service.stream_answer(rt, turn))
            except EngineError as e:
                st.session_state["tutor_failure"] = e.user_message
    elif turn.kind == "quiz":
        with st.spinner("Writing questions on this topic…"):
            try:
                service.quiz_preview(rt, turn)
            except EngineError as e:
                st.session_state["tutor_error"] = e.user_message
    st.rerun()


if prompt is not None or retry:
    if conv is None:
        try:
            conv = store.create_conversation(rt, user_id=uid)
        except EngineError as e:
            st.error(e.user_message)
            st.stop()
        st.session_state[CONV] = conv.id
    if prompt is not None:
        with st.chat_message("user"):
            st.markdown(plain(prompt))
    with st.spinner("Searching your material…"):
        try:
            if prompt is not None:
                turn = service.ask(
                    rt,
                    user_id=uid,
                    conversation_id=conv.id,
                    message=prompt,
                    mode=mode,
                    general=general,
                )
            else:
                turn = service.retry(rt, user_id=uid, conversation_id=conv.id, general=general)
        except EngineError as e:
            st.session_state["tutor_error"] = e.user_message
            st.rerun()
    _run(turn)
