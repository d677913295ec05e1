"""Pictures shown with a question (imported from Anki notes): drawn from their checked bytes
with `st.image`, never through the note's HTML."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from engine.bank.images import ShownImage


def show_images(images: Sequence[ShownImage], side: str) -> None:
    """The pictures of one side of the card ('question' or 'answer'), in order."""
    for image in images:
        if image.side == side:
            st.image(image.data)
