"""A self-rated flashcard in practice: the front is on screen; "Show answer" (Space) turns it
over; the learner rates their recall Again / Hard / Good / Easy (keys 1 to 4)."""

from __future__ import annotations

import streamlit as st

from engine.practice.queue import PracticeQuestion

RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


def flashcard_rating(question: PracticeQuestion, *, token: str, key: str) -> int | None:
    """The rating chosen on this run (1-4), or None while the card is face down or unrated.

    `token` identifies this showing of the card, so the next showing starts face down.
    """
    flipped = f"{key}_flipped_{token}"
    if not st.session_state.get(flipped):
        if st.button(
            "Show answer",
            key=f"{key}_show_answer",
            type="primary",
            icon=":material/flip:",
            shortcut="Space",
        ):
            st.session_state[flipped] = True
            st.rerun()
        return None
    with st.container(border=True):
        st.text(question.back or "")  # plain text: imported and learner text is untrusted
    st.caption("How well did you remember it? (keys 1 to 4)")
    for (rating, label), col in zip(RATINGS.items(), st.columns(len(RATINGS)), strict=True):
        if col.button(label, key=f"{key}_rate_{rating}", width="stretch", shortcut=str(rating)):
            st.session_state.pop(flipped, None)
            return rating
    return None
