"""The Question bank's "Import" panel: an Anki deck or collection (.apkg/.colpkg, with its
review history) or a CSV of questions; says what was imported and what was skipped."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from engine.errors import EngineError
from engine.interop.anki_import import ImportSummary, import_anki
from engine.interop.csv_import import import_csv

if TYPE_CHECKING:
    from ui.runtime import Runtime

SKIPPED_LABELS = {
    "media_file": "media files (images and sounds are not imported yet)",
    "media_reference": "images or sounds in fields",
    "empty_card": "cards with an empty side",
    "card_without_note": "cards without a note",
    "review_not_imported": "review log entries already imported or not answers",
}


def summary_text(summary: ImportSummary) -> str:
    """What an import did, in one sentence (numbers and fixed words only)."""
    text = (
        f"Imported {summary.questions} question{'s' if summary.questions != 1 else ''} "
        f"from {summary.notes} note{'s' if summary.notes != 1 else ''} "
        f"({summary.created} new, {summary.updated} updated) and {summary.reviews} "
        f"review{'s' if summary.reviews != 1 else ''}."
    )
    skipped = [f"{n} {SKIPPED_LABELS.get(k, k)}" for k, n in sorted(summary.skipped.items())]
    return text + (f" Skipped: {'; '.join(skipped)}." if skipped else "")


def import_section(rt: Runtime, user_id: int) -> None:
    with st.popover("Import", icon=":material/upload_file:"):
        st.markdown("**From Anki**")
        st.caption(
            "An Anki deck (.apkg) or collection (.colpkg). Basic cards become "
            "flashcards you rate yourself, cloze cards one question per deletion, "
            "decks become topics, and your review history comes along, so due dates "
            "continue. Importing the same deck again updates it."
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
                with st.spinner("Importing…"):
                    summary = import_anki(rt, user_id=user_id, data=upload.getvalue())
            except EngineError as e:
                st.error(e.user_message)
                return
            st.session_state["bank_notice"] = summary_text(summary)
            st.rerun()
        st.divider()
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
