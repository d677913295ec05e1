"""Library: upload PDFs, see and manage materials, preview pages, search passages."""

from __future__ import annotations

import streamlit as st

from engine import library
from engine.errors import EngineError, PdfEncrypted
from engine.jobs import forget_job, get_job, submit_ingestion
from ui.auth import require_account
from ui.library import escape_markdown, human_size, passage_card
from ui.runtime import get_runtime

rt = get_runtime()
account = require_account()
uid = account.user_id

st.title("Library")
st.caption("Your PDFs, read page by page. Every question and answer cites the pages here.")

# --- a change of embedding model: rebuild this learner's vectors first -----------------------
try:
    current = library.index_is_current(rt, user_id=uid)
except EngineError as e:
    st.error(e.user_message)
    st.stop()
if not current:
    with st.status("Updating your search index for the new embedding model…",
                   expanded=True) as status:
        bar = st.progress(0.0)

        def _reindex_progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"{done} of {total} passages")

        try:
            library.reindex(rt, user_id=uid, progress=_reindex_progress)
        except EngineError as e:
            status.update(label="The search index could not be updated.", state="error")
            st.error(e.user_message)
            st.stop()
        status.update(label="Search index updated.", state="complete", expanded=False)

# --- upload ----------------------------------------------------------------------------------
# Outcome per uploaded file id, so a rerun never reads the same upload twice.
outcomes: dict[str, dict] = st.session_state.setdefault("library_outcomes", {})

st.subheader("Add PDFs")
uploads = st.file_uploader(
    "Upload one or more PDFs", type=["pdf"], accept_multiple_files=True, key="library_upload",
    max_upload_size=rt.settings.upload_max_mb,
    help=f"Up to {rt.settings.upload_max_mb} MB each. Text PDFs work best; scanned pages need "
         "OCR first.",
)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# Background ingestion job per uploaded file id; the outcome replaces it once it has finished.
jobs: dict[str, str] = st.session_state.setdefault("library_jobs", {})


def _start(file, password: str | None = None) -> None:  # noqa: ANN001 - UploadedFile
    outcomes.pop(file.file_id, None)
    jobs[file.file_id] = submit_ingestion(rt, user_id=uid, data=file.getvalue(),
                                          filename=file.name, password=password)


def _outcome(job) -> dict:  # noqa: ANN001 - JobSnapshot
    """What to tell the learner about a finished ingestion."""
    if job.state == "failed":
        kind = "encrypted" if isinstance(job.error, PdfEncrypted) else "refused"
        return {"kind": kind, "name": job.name, "message": job.error.user_message}
    m = job.result.material
    if job.result.duplicate:
        return {"kind": "duplicate", "name": job.name,
                "message": f"Already in your library as “{escape_markdown(m.title)}”; "
                           "nothing was added."}
    return {"kind": "ingested", "name": job.name, "note": m.note,
            "message": f"Added “{escape_markdown(m.title)}”: {_plural(m.page_count, 'page')}, "
                       f"{_plural(m.chunk_count, 'passage')}."}


def _show_progress(job) -> None:  # noqa: ANN001 - JobSnapshot
    name = escape_markdown(job.name)
    p = job.progress
    if job.state == "queued" or p is None:
        st.progress(0.0, text=f"{name}: waiting to be read")
    elif p.stage == "reading":
        st.progress(0.5 * p.pages_read / max(p.page_count, 1),
                    text=f"{name}: read page {p.pages_read} of {p.page_count}")
    else:
        st.progress(min(1.0, 0.5 + 0.5 * p.chunks_indexed / max(p.chunk_count, 1)),
                    text=f"{name}: indexed {p.chunks_indexed} of {p.chunk_count} passages "
                         f"({p.page_count} pages read)")


for file in uploads or []:
    if file.file_id not in outcomes and file.file_id not in jobs:
        _start(file)


@st.fragment(run_every=1.0 if jobs else None)
def _ingestion_progress() -> None:
    """Live progress of the files being read; the rest of the page stays usable meanwhile."""
    finished = False
    for file_id, job_id in list(jobs.items()):
        try:
            job = get_job(rt, job_id, user_id=uid)
        except EngineError as e:
            jobs.pop(file_id)
            st.error(e.user_message)
            continue
        if job.finished:
            outcomes[file_id] = _outcome(job)
            jobs.pop(file_id)
            forget_job(rt, job_id, user_id=uid)
            finished = True
        else:
            _show_progress(job)
    if finished:
        st.rerun()  # refresh the materials list and search with the new material


if jobs:
    st.caption("You can keep using Groundwork while your files are read.")
    _ingestion_progress()

# Outcomes show while their upload is on screen, and once more after a learner who left the
# page during reading comes back (the uploader forgets its files when the page is left).
current = {file.file_id: file for file in uploads or []}
for file_id, outcome in list(outcomes.items()):
    file = current.get(file_id)
    if file is None and outcome.get("shown"):
        continue
    outcome["shown"] = True
    text = outcome["message"]  # our own wording; titles in it are already escaped
    name = escape_markdown(outcome["name"])
    if outcome["kind"] == "ingested":
        st.success(text, icon=":material/check_circle:")
        if outcome.get("note"):
            st.warning(escape_markdown(outcome["note"]), icon=":material/warning:")
    elif outcome["kind"] == "duplicate":
        st.info(f"**{name}**: {text}", icon=":material/content_copy:")
    elif outcome["kind"] == "refused":
        st.error(f"**{name}**: {text}", icon=":material/block:")
    elif file is None:
        st.warning(f"**{name}**: {text} Upload it again to enter the password.",
                   icon=":material/lock:")
    else:  # encrypted: ask for the password and try again with it
        st.warning(f"**{name}**: {text}", icon=":material/lock:")
        with st.form(f"library_password_form_{file_id}"):
            password = st.text_input("Password", type="password",
                                     key=f"library_password_{file_id}")
            if st.form_submit_button("Open with this password"):
                _start(file, password=password)
                st.rerun()

# --- materials -------------------------------------------------------------------------------
st.subheader("Your materials")
try:
    materials = library.list_materials(rt.session_factory, user_id=uid)
except EngineError as e:
    st.error(e.user_message)
    st.stop()

if not materials:
    st.info("Your library is empty. Upload a PDF above: its pages are read, indexed for "
            "search, and ready for questions.", icon=":material/upload_file:")
else:
    st.dataframe(
        [{"Title": m.title, "Pages": m.page_count, "Passages": m.chunk_count,
          "Size": human_size(m.size_bytes),
          "Status": "ready" if not m.pages_without_text else
                    f"ready ({len(m.pages_without_text)} pages without text)",
          "Uploaded": m.created_at} for m in materials],
        hide_index=True, width="stretch",
        column_config={"Uploaded": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm")},
    )
    by_id = {m.id: m for m in materials}
    chosen_id = st.selectbox("Open a material", list(by_id), key="library_open",
                             format_func=lambda i: by_id[i].title, index=None,
                             placeholder="Choose a material to preview, rename or delete")
    chosen = by_id.get(chosen_id) if chosen_id is not None else None
    if chosen is not None:
        with st.container(border=True):
            st.markdown(f"**{escape_markdown(chosen.title)}** · {escape_markdown(chosen.filename)}"
                        f" · {chosen.page_count} pages · {chosen.chunk_count} passages")
            if chosen.note:
                st.warning(escape_markdown(chosen.note), icon=":material/warning:")
            preview, rename, remove = st.tabs(["Preview", "Rename", "Delete"])
            with preview:
                page_no = st.number_input("Page", min_value=1, max_value=chosen.page_count,
                                          value=1, step=1, key=f"library_page_{chosen.id}")
                try:
                    pages = library.material_pages(rt.session_factory, user_id=uid,
                                                   material_id=chosen.id, first=int(page_no),
                                                   last=int(page_no))
                except EngineError as e:
                    st.error(e.user_message)
                    pages = []
                for page in pages:
                    if page.text:
                        st.text(page.text)
                    else:
                        st.caption("No text could be read on this page.")
            with rename:
                with st.form(f"library_rename_form_{chosen.id}"):
                    new_title = st.text_input("Title", value=chosen.title, max_chars=300,
                                              key=f"library_title_{chosen.id}")
                    if st.form_submit_button("Save title"):
                        try:
                            library.rename_material(rt.session_factory, user_id=uid,
                                                    material_id=chosen.id, title=new_title)
                        except EngineError as e:
                            st.error(e.user_message)
                        else:
                            st.toast("Title saved.")
                            st.rerun()
            with remove:
                st.write("Deleting removes this material, its passages and its search index. "
                         "Questions made from it keep their text and page citation.")
                confirm = st.checkbox("Yes, delete this material permanently",
                                      key=f"library_confirm_delete_{chosen.id}")
                if st.button("Delete material", type="primary", disabled=not confirm,
                             key=f"library_delete_{chosen.id}", icon=":material/delete:"):
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
        query = st.text_input("Search your library", key="library_query",
                              placeholder="Ask a question or type keywords",
                              max_chars=500)
        only = st.multiselect("Only in", [m.id for m in materials], key="library_only",
                              format_func=lambda i: by_id[i].title,
                              placeholder="All materials")
        st.form_submit_button("Search", icon=":material/search:")
    if query.strip():
        try:
            passages = library.search_library(rt, user_id=uid, query=query, k=8,
                                              material_ids=only or None)
        except EngineError as e:
            st.error(e.user_message)
            passages = None
        if passages == []:
            st.info("No passages match. Try other words, or check the material is in your "
                    "library.")
        for rank, passage in enumerate(passages or [], start=1):
            passage_card(passage, rank=rank)
