"""Library: upload PDFs, see and manage materials, preview pages, search passages."""

from __future__ import annotations

import streamlit as st

from engine import library
from engine.errors import EngineError, PdfEncrypted
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


def _ingest(file, password: str | None = None) -> dict:  # noqa: ANN001 - UploadedFile
    """Read one upload with live progress; return its outcome for the session."""
    with st.status(f"Reading {file.name}…", expanded=True) as status:
        bar = st.progress(0.0, text="Opening the file")

        def _progress(p: library.IngestProgress) -> None:
            if p.stage == "reading":
                bar.progress(0.5 * p.pages_read / max(p.page_count, 1),
                             text=f"Read page {p.pages_read} of {p.page_count}")
            elif p.stage in ("embedding", "saving"):
                bar.progress(0.5 + 0.5 * p.chunks_indexed / max(p.chunk_count, 1),
                             text=f"Indexed {p.chunks_indexed} of {p.chunk_count} passages "
                                  f"({p.page_count} pages read)")

        try:
            result = library.ingest_pdf(rt, user_id=uid, data=file.getvalue(),
                                        filename=file.name, password=password,
                                        progress=_progress)
        except PdfEncrypted as e:
            status.update(label=f"{file.name} needs a password", state="error")
            return {"kind": "encrypted", "name": file.name, "message": e.user_message}
        except EngineError as e:
            status.update(label=f"{file.name} was not added", state="error")
            return {"kind": "refused", "name": file.name, "message": e.user_message}
        m = result.material
        if result.duplicate:
            status.update(label=f"{file.name} is already in your library", state="complete",
                          expanded=False)
            return {"kind": "duplicate", "name": file.name,
                    "message": f"Already in your library as “{escape_markdown(m.title)}”; "
                               "nothing was added."}
        status.update(label=f"Added {m.title}", state="complete", expanded=False)
        message = (f"Added “{escape_markdown(m.title)}”: {_plural(m.page_count, 'page')}, "
                   f"{_plural(m.chunk_count, 'passage')}.")
        return {"kind": "ingested", "name": file.name, "message": message, "note": m.note}


for file in uploads or []:
    if file.file_id not in outcomes:
        outcomes[file.file_id] = _ingest(file)

for file in uploads or []:
    outcome = outcomes.get(file.file_id)
    if outcome is None:
        continue
    text = outcome["message"]  # our own wording; titles in it are already escaped
    name = escape_markdown(outcome["name"])
    if outcome["kind"] == "ingested":
        st.success(text, icon=":material/check_circle:")
        if outcome.get("note"):
            st.warning(outcome["note"], icon=":material/warning:")
    elif outcome["kind"] == "duplicate":
        st.info(f"**{name}**: {text}", icon=":material/content_copy:")
    elif outcome["kind"] == "refused":
        st.error(f"**{name}**: {text}", icon=":material/block:")
    else:  # encrypted: ask for the password and try again with it
        st.warning(f"**{name}**: {text}", icon=":material/lock:")
        with st.form(f"library_password_form_{file.file_id}"):
            password = st.text_input("Password", type="password",
                                     key=f"library_password_{file.file_id}")
            if st.form_submit_button("Open with this password"):
                outcomes[file.file_id] = _ingest(file, password=password)
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
                st.warning(chosen.note, icon=":material/warning:")
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
                        st.toast(f"Deleted {chosen.title}.")
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
