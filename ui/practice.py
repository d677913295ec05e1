"""Keyboard-first answering on the Today page: options, confidence and the check button, each a
button whose key is shown on it.

Keys: 1-9 pick a multiple-choice option, Shift+1 to Shift+5 set how sure the learner is (it
starts at "Fairly sure", so it never has to be set before checking), Enter checks and then
moves on. Typed answers submit with Enter from the box (Ctrl+Enter in a multi-line box).
Streamlit ignores these keys while the learner types in a box, so typing "2" stays a "2".
Option text is untrusted: it is escaped like every other label.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from ui.text import escape_markdown

CONFIDENCE = {1: "Guessing", 2: "Unsure", 3: "Fairly sure", 4: "Sure", 5: "Certain"}
DEFAULT_CONFIDENCE = 3
CHOICE_KEY = "today_choice"
CONFIDENCE_KEY = "today_confidence"
CHECK_KEY = "Enter"
NEXT_KEY = "Enter"


def reset_answer() -> None:
    """A new question: no option picked, confidence back to its default."""
    st.session_state[CHOICE_KEY] = None
    st.session_state[CONFIDENCE_KEY] = DEFAULT_CONFIDENCE


def _pick(index: int) -> None:
    st.session_state[CHOICE_KEY] = index


def _sure(level: int) -> None:
    st.session_state[CONFIDENCE_KEY] = level


def option_buttons(options: Sequence[str]) -> int | None:
    """One button per option (keys 1-9), the picked one highlighted; returns the pick."""
    st.session_state.setdefault(CHOICE_KEY, None)
    chosen = st.session_state[CHOICE_KEY]
    for i, option in enumerate(options):
        st.button(
            escape_markdown(option),
            key=f"today_option_{i}",
            shortcut=str(i + 1) if i < 9 else None,
            type="primary" if chosen == i else "secondary",
            icon=":material/radio_button_checked:"
            if chosen == i
            else ":material/radio_button_unchecked:",
            on_click=_pick,
            args=(i,),
            width="stretch",
        )
    return chosen


def confidence_buttons() -> int:
    """ "How sure are you?" as five buttons (Shift+1 to Shift+5); returns the level (1-5)."""
    st.session_state.setdefault(CONFIDENCE_KEY, DEFAULT_CONFIDENCE)
    level = int(st.session_state[CONFIDENCE_KEY])
    st.caption(f"How sure are you? {CONFIDENCE[level]} (change it with Shift+1 to Shift+5)")
    with st.container(horizontal=True, key="today_confidence_row"):
        for n, name in CONFIDENCE.items():
            st.button(
                name,
                key=f"today_sure_{n}",
                shortcut=f"Shift+{n}",
                type="primary" if n == level else "tertiary",
                on_click=_sure,
                args=(n,),
            )
    return level
