"""A self-rated flashcard in practice: the front is on screen; "Show answer" (Space) turns it
over; the learner rates their recall Again / Hard / Good / Easy (keys 1 to 4).

Both clicks are handled by callbacks, so the card turns over, and the rating is read, in the
same run the click starts (no second run of the page)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from engine.bank.images import ANSWER_SIDE, ShownImage
from engine.practice.queue import PracticeQuestion
from ui.question_images import show_images

RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


def _flip(flipped: str) -> None:
    st.session_state[flipped] = True


def _rate(key: str, token: str, rating: int) -> None:
    st.session_state.pop(f"{key}_flipped_{token}", None)
    st.session_state[f"{key}_rating"] = (token, rating)


def take_rating(key: str, token: str) -> int | None:
    """The rating (1-4) just clicked on this showing (`token`) of the card drawn under `key`,
    once; None otherwise (a click meant for an earlier card is dropped)."""
    clicked = st.session_state.pop(f"{key}_rating", None)
    return clicked[1] if clicked and clicked[0] == token else None


def flashcard_face(
    question: PracticeQuestion, *, token: str, key: str, images: Sequence[ShownImage] = ()
) -> None:
    """The card face down ("Show answer") or turned over (the back and the four ratings).

    `token` identifies this showing of the card, so the next showing starts face down. Read a
    click on a rating with `take_rating(key, token)` at the start of the next run.
    """
    flipped = f"{key}_flipped_{token}"
    if not st.session_state.get(flipped):
        st.button(
            "Show answer",
            key=f"{key}_show_answer",
            type="primary",
            icon=":material/flip:",
            shortcut="Space",
            on_click=_flip,
            args=(flipped,),
        )
        return
    with st.container(border=True):
        st.text(question.back or "")  # plain text: imported and learner text is untrusted
        show_images(images, ANSWER_SIDE)
    st.caption("How well did you remember it? (keys 1 to 4)")
    for (rating, label), col in zip(RATINGS.items(), st.columns(len(RATINGS)), strict=True):
        col.button(
            label,
            key=f"{key}_rate_{rating}",
            width="stretch",
            shortcut=str(rating),
            on_click=_rate,
            args=(key, token, rating),
        )
