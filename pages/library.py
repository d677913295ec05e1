"""Library: upload PDFs, see and manage materials, preview pages, search passages."""

from __future__ import annotations

import streamlit as st

from engine import library
from engine.domain.vocabulary import JobKind
from engine.errors import EngineError
from engine.jobs import (
    FINISHED_SHOWN_FOR,
    AlreadyQueued,
    active_job,
    dismiss_job,
    recent_jobs,
    submit_ingestion,
    submit_reindex,
)
from engine.jobs.results import JobErrorKind
from ui.auth import require_account
from ui.jobs import finished_list, job_card
from ui.library import (
    escape_markdown,
    human_size,
    language_label,
    ocr_summary,
    offline_language_note,
    page_list,
    passage_card,
)
from ui.runtime import get_runtime
from ui.text import plural

rt = get_runtime()
account = require_account()
uid = account.user_id

st.title("Library")
st.caption("Your PDFs, read page by page. Every question and answer cites the pages here.")

# --- a change of embedding model: rebuild this learner's vectors in the background ------------
try:
    current = library.index_is_current(rt, user_id=uid)
    if not current and active_job(rt, user_id=uid, kind=JobKind.REINDEX) is None:
        submit_reindex(rt, user_id=uid)
except AlreadyQueued:
    pass  # another tab queued it a moment ago
except EngineError as e:
    st.error(e.user_message)
    st.stop()
if not current:
    st.info(
        "Your search index is being rebuilt for the new embedding model (progress below). "
        "Search uses the previous index until it is done.",
        icon=":material/sync:",
    )

# --- upload ----------------------------------------------------------------------------------
st.subheader("Add PDFs")
uploads = st.file_uploader(
    "Upload one or more PDFs",
    type=["pdf"],
    accept_multiple_files=True,
    key="library_upload",
    max_upload_size=rt.settings.ingestion.upload_max_mb,
    help=f"Up to {rt.settings.ingestion.upload_max_mb} MB each, "
    f"{rt.settings.ingestion.upload_max_pending} waiting "
    "at a time. Scanned pages are read by OCR (Latin-script languages and Chinese), "
    f"up to {rt.settings.ingestion.ocr_pages_per_user} OCR pages in your library.",
)

# Background ingestion job per uploaded file id, while it runs (so a rerun never queues the same
# upload twice); refusals before queueing per file id.
jobs: dict[str, int] = st.session_state.setdefault("library_jobs", {})
queued: dict[str, int | None] = st.session_state.setdefault("library_queued", {})
current_files = {file.file_id: file for file in uploads or []}


def _start(file, password: str | None = None) -> None:  # UploadedFile
    file.seek(0)
    try:
        job_id = submit_ingestion(
            rt, user_id=uid, source=file, filename=file.name, password=password
        )
    except EngineError as e:
        queued[file.file_id] = None
        st.error(f"**{escape_markdown(file.name)}**: {e.user_message}", icon=":material/block:")
        return
    queued[file.file_id] = job_id
    jobs[file.file_id] = job_id


for file in uploads or []:
    if file.file_id not in queued:
        _start(file)


# The library's own work and the work made from it; an export is offered (and dismissed) on
# the account data page, where dismissing it here would remove a file still downloadable.
LIBRARY_KINDS = (JobKind.INGEST, JobKind.REINDEX, JobKind.GENERATE, JobKind.FIT_FSRS)


try:
    watching = bool(jobs) or any(
        not j.finished for j in recent_jobs(rt, user_id=uid, kinds=LIBRARY_KINDS, limit=5)
    )
except EngineError:
    watching = bool(jobs)


def _password_form(job, file) -> None:  # JobView, UploadedFile
    with st.form(f"library_password_form_{job.id}"):
        st.markdown(f"**{escape_markdown(job.label)}** needs its password.")
        password = st.text_input("Password", type="password", key=f"library_password_{job.id}")
        if st.form_submit_button("Open with this password"):
            dismiss_job(rt, job.id, user_id=uid)
            _start(file, password=password)
            st.rerun()


@st.fragment(run_every=1.0 if watching else None)
def _background_work() -> None:
    """This learner's recent jobs: live progress while they wait or run, then one compact
    list of outcomes (for a day, or until dismissed). Any app process shows them: progress
    lives in PostgreSQL."""
    try:
        recent = recent_jobs(
            rt, user_id=uid, kinds=LIBRARY_KINDS, finished_within=FINISHED_SHOWN_FOR
        )
    except EngineError as e:
        st.error(e.user_message)
        return
    by_id = {j.id: j for j in recent}
    finished = False
    for file_id, job_id in list(jobs.items()):
        job = by_id.get(job_id)
        if job is None or job.finished:
            jobs.pop(file_id)
            finished = True
    if not recent:
        return
    st.subheader("Background work")
    active = [j for j in recent if not j.finished]
    if active:
        st.caption("You can keep using Groundwork while your files are read.")
    for job in active:
        job_card(rt, job, user_id=uid, key="library_job")
    done = [j for j in recent if j.finished]
    finished_list(rt, done, user_id=uid, key="library_job", kinds=LIBRARY_KINDS)
    for job in done:
        if job.error is JobErrorKind.PDF_ENCRYPTED:
            file_id = next((f for f, j in queued.items() if j == job.id), None)
            file = current_files.get(file_id) if file_id else None
            if file is not None:
                _password_form(job, file)
            else:
                st.caption(f"{escape_markdown(job.label)}: upload it again to enter the password.")
    if finished:
        st.rerun()  # refresh the materials list and search with the new material


_background_work()

# --- materials -------------------------------------------------------------------------------
st.subheader("Your materials")
try:
    materials = library.list_materials(rt, user_id=uid)
except EngineError as e:
    st.error(e.user_message)
    st.stop()

if not materials:
    st.info(
        "Your library is empty. Upload a PDF above: its pages are read, indexed for "
        "search, and ready for questions.",
        icon=":material/upload_file:",
    )
else:
    st.dataframe(
        [
            {
                "Title": m.title,
                "Pages": m.page_count,
                "Passages": m.chunk_count,
                "Size": human_size(m.size_bytes),
                "Language": language_label(m.language),
                "Status": "ready"
                if not m.pages_without_text
                else f"ready ({plural(len(m.pages_without_text), 'page')} without text)",
                "OCR": ocr_summary(m.ocr_pages, m.ocr_confidence),
                "Uploaded": m.created_at,
            }
            for m in materials
        ],
        hide_index=True,
        width="stretch",
        column_config={"Uploaded": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm")},
    )
    by_id = {m.id: m for m in materials}
    chosen_id = st.selectbox(
        "Open a material",
        list(by_id),
        key="library_open",
        format_func=lambda i: by_id[i].title,
        index=None,
        placeholder="Choose a material to preview, rename or delete",
    )
    chosen = by_id.get(chosen_id) if chosen_id is not None else None
    if chosen is not None:
        with st.container(border=True):
            st.markdown(
                f"**{escape_markdown(chosen.title)}** · {escape_markdown(chosen.filename)}"
                f" · {plural(chosen.page_count, 'page')} · {plural(chosen.chunk_count, 'passage')}"
            )
            if chosen.ocr_pages:
                st.caption(
                    escape_markdown(
                        f"Read by OCR: {page_list(chosen.ocr_pages)} "
                        f"({ocr_summary(chosen.ocr_pages, chosen.ocr_confidence)})"
                    )
                )
            if chosen.note:
                st.warning(escape_markdown(chosen.note), icon=":material/warning:")
            if not chosen.offline_supported:
                st.warning(
                    escape_markdown(offline_language_note(chosen.language)),
                    icon=":material/translate:",
                )
            preview, rename, remove = st.tabs(["Preview", "Rename", "Delete"])
            with preview:
                page_no = st.number_input(
                    "Page",
                    min_value=1,
                    max_value=chosen.page_count,
                    value=1,
                    step=1,
                    key=f"library_page_{chosen.id}",
                )
                try:
                    pages = library.material_pages(
                        rt,
                        user_id=uid,
                        material_id=chosen.id,
                        first=int(page_no),
                        last=int(page_no),
                    )
                except EngineError as e:
                    st.error(e.user_message)
                    pages = []
                for page in pages:
                    if page.text:
                        if page.number in chosen.low_confidence_pages:
                            st.caption("Read by OCR with low confidence: not used for questions.")
                        elif page.number in chosen.ocr_pages:
                            st.caption("Read by OCR.")
                        st.text(page.text)
                    else:
                        st.caption("No text could be read on this page.")
            with rename:
                with st.form(f"library_rename_form_{chosen.id}"):
                    new_title = st.text_input(
                        "Title", value=chosen.title, max_chars=300, key=f"library_title_{chosen.id}"
                    )
                    if st.form_submit_button("Save title"):
                        try:
                            library.rename_material(
                                rt, user_id=uid, material_id=chosen.id, title=new_title
                            )
                        except EngineError as e:
                            st.error(e.user_message)
                        else:
                            st.toast("Title saved.")
                            st.rerun()
            with remove:
                st.write(
                    "Deleting removes this material, its passages and its search index. "
                    "Questions made from it keep their text and page citation."
                )
                confirm = st.checkbox(
                    "Yes, delete this material permanently",
                    key=f"library_confirm_delete_{chosen.id}",
                )
                if st.button(
                    "Delete material",
                    type="primary",
                    disabled=not confirm,
                    key=f"library_delete_{chosen.id}",
                    icon=":material/delete:",
                ):
                    try:
                        library.delete_material(rt, user_id=uid, material_id=chosen.id)
                    except EngineError as e:
                        st.error(e.user_message)
                    else:
                        st.session_state.pop("library_open", None)
                        st.toast(f"Deleted {escape_markdown(chosen.title)}.")
                        st.rerun()

# --- search ----------------------------------------------------------------------------------
st.subheader("Search")
if not materials:
    st.caption("Search becomes available once your library has a PDF.")
else:
    with st.form("library_search_form", border=False):
        query = st.text_input(
            "Search your library",
            key="library_query",
            placeholder="Ask a question or type keywords",
            max_chars=500,
        )
        only = st.multiselect(
            "Only in",
            [m.id for m in materials],
            key="library_only",
            format_func=lambda i: by_id[i].title,
            placeholder="All materials",
        )
        st.form_submit_button("Search", icon=":material/search:")
    if query.strip():
        try:
            passages = library.search_library(
                rt, user_id=uid, query=query, k=8, material_ids=only or None
            )
        except EngineError as e:
            st.error(e.user_message)
            passages = None
        if passages == []:
            st.info("No passages match. Try other words, or check the material is in your library.")
        for rank, passage in enumerate(passages or [], start=1):
            passage_card(passage, rank=rank)
