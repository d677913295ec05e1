"""The Question bank's "Import" panel: an Anki deck or collection (.apkg/.colpkg, with its
review history and pictures) or a CSV of questions; says what was imported and what was
skipped. An Anki import runs as a background job: its progress ("Imported 3,000 of 10,000
notes") shows below the panel until the learner dismisses its outcome."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import streamlit as st

from engine.domain.vocabulary import JobKind
from engine.errors import EngineError
from engine.interop.csv_import import import_csv
from engine.jobs import AlreadyQueued, recent_jobs, submit_anki_import
from engine.jobs.results import AnkiImportResult
from ui.jobs import job_card

if TYPE_CHECKING:
    from ui.runtime import Runtime

SKIPPED_LABELS = {
    "media_file": "media files no note shows as a picture (sounds, videos, unused files)",
    "media_reference": "sounds or videos in fields",
    "image_missing": "pictures missing from the package",
    "image_too_large": "pictures over the size limit",
    "not_an_image": "pictures that are not PNG, JPEG, GIF or WebP images",
    "empty_card": "cards with an empty side",
    "card_without_note": "cards without a note",
    "review_not_imported": "review log entries already imported or not answers",
}


def summary_text(summary: AnkiImportResult) -> str:
    """What an import did, in one sentence (numbers and fixed words only)."""
    text = (
        f"Imported {summary.questions} question{'s' if summary.questions != 1 else ''} "
        f"from {summary.notes} note{'s' if summary.notes != 1 else ''} "
        f"({summary.created} new, {summary.updated} updated), {summary.reviews} "
        f"review{'s' if summary.reviews != 1 else ''} and {summary.media} "
        f"picture{'s' if summary.media != 1 else ''}."
    )
    skipped = [f"{n} {SKIPPED_LABELS.get(k, k)}" for k, n in sorted(summary.skipped.items())]
    return text + (f" Skipped: {'; '.join(skipped)}." if skipped else "")


def import_section(rt: Runtime, user_id: int) -> None:
    """The Import popover: an Anki file (queued as a job), or a CSV (imported at once)."""
    with st.popover("Import", icon=":material/upload_file:"):
        _from_anki(rt, user_id)
        st.divider()
        _from_csv(rt, user_id)


def _from_anki(rt: Runtime, user_id: int) -> None:
    st.markdown("**From Anki**")
    st.caption(
        "An Anki deck (.apkg) or collection (.colpkg). Basic cards become "
        "flashcards you rate yourself, cloze cards one question per deletion, "
        "decks become topics, pictures (PNG, JPEG, GIF, WebP) stay with their "
        "cards, and your review history comes along, so due dates continue. "
        "Importing the same deck again updates it. Large collections import in the "
        "background."
    )
    upload = st.file_uploader(
        "Anki file",
        type=["apkg", "colpkg"],
        key="bank_anki_file",
        max_upload_size=rt.settings.ingestion.anki_max_mb,
    )
    if (
        st.button(
            "Import", key="bank_anki_import", disabled=upload is None, icon=":material/upload:"
        )
        and upload is not None
    ):
        try:
            submit_anki_import(
                rt,
                user_id=user_id,
                source=io.BytesIO(upload.getvalue()),
                filename=upload.name,
            )
        except AlreadyQueued as e:
            st.warning(e.user_message)
            return
        except EngineError as e:
            st.error(e.user_message)
            return
        st.rerun()


def _from_csv(rt: Runtime, user_id: int) -> None:
    st.markdown("**From a CSV file**")
    st.caption(
        "Columns front, back (flashcards) or stem, answer with optional options "
        "separated by | (multiple choice when there are two or more; a stem with "
        "_____ is a cloze); explanation and topic are optional. UTF-8, with a "
        "header row."
    )
    table = st.file_uploader(
        "CSV file",
        type=["csv"],
        key="bank_csv_file",
        max_upload_size=rt.settings.ingestion.upload_max_mb,
    )
    if (
        st.button(
            "Import CSV",
            key="bank_csv_import",
            disabled=table is None,
            icon=":material/upload:",
        )
        and table is not None
    ):
        try:
            result = import_csv(rt, user_id=user_id, data=table.getvalue())
        except EngineError as e:
            st.error(e.user_message)
            return
        st.session_state["bank_notice"] = (
            f"Imported {result.rows} question{'s' if result.rows != 1 else ''} from the "
            f"CSV ({result.created} new, {result.updated} updated)."
        )
        st.rerun()


def anki_import_progress(rt: Runtime, user_id: int) -> None:
    """The learner's latest Anki import: live progress while it runs (refreshed every
    second), then what it imported until dismissed."""
    try:
        latest = recent_jobs(rt, user_id=user_id, kinds=(JobKind.IMPORT_ANKI,), limit=1)
    except EngineError as e:
        st.error(e.user_message)
        return
    running = any(not j.finished for j in latest)

    @st.fragment(run_every=1.0 if running else None)
    def _latest() -> None:
        try:
            jobs = recent_jobs(rt, user_id=user_id, kinds=(JobKind.IMPORT_ANKI,), limit=1)
        except EngineError as e:
            st.error(e.user_message)
            return
        for job in jobs:
            job_card(rt, job, user_id=user_id, key="bank_anki_job")
            if isinstance(job.result, AnkiImportResult):
                st.caption(summary_text(job.result))
        if running and not any(not j.finished for j in jobs):
            st.rerun()  # the import ended: the whole page shows the new questions

    _latest()
