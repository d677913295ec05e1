"""Keyboard-first answering on the Today page: options, confidence and the check button, each a
button whose key is shown on it; `answer_form` draws them for one question and `given_answer`
reads what the learner gave.

Keys: 1-9 pick a multiple-choice option, Shift+1 to Shift+5 set how sure the learner is (it
starts at "Fairly sure", so it never has to be set before checking), Enter checks and then
moves on. Typed answers submit with Enter from the box (Ctrl+Enter in a multi-line box).
Streamlit ignores these keys while the learner types in a box, so typing "2" stays a "2".
Option text is untrusted: it is escaped like every other label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from engine.domain.vocabulary import QuestionType
from engine.practice.queue import PracticeQuestion
from ui.text import escape_markdown

CONFIDENCE = {1: "Guessing", 2: "Unsure", 3: "Fairly sure", 4: "Sure", 5: "Certain"}
DEFAULT_CONFIDENCE = 3
CHOICE_KEY = "today_choice"
CONFIDENCE_KEY = "today_confidence"
CHECK_KEY = "Enter"
NEXT_KEY = "Enter"
TEXT_KEY = "today_text"
BLANK_KEY = "today_blank_{}"
BLANK = "_____"


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


def _blanks(question: PracticeQuestion) -> int:
    """How many blanks a cloze has (0 for every other type)."""
    return question.stem.count(BLANK) if question.type == QuestionType.CLOZE else 0


def answer_form(question: PracticeQuestion, *, token: str, on_check: Callable[[str], None]) -> None:
    """The answer form of one question: options (multiple choice) or a box, how sure, and
    "Check answer" (Enter), whose click calls `on_check(token)` before the page runs again
    (`token` names this showing, so a late click cannot check the next question).

    Typed answers live in the form's boxes until checked, so the page never reruns while the
    learner types; `given_answer` reads them back.
    """
    if question.type == QuestionType.MCQ:
        option_buttons(question.options or [])
        confidence_buttons()
        st.button(
            "Check answer",
            key="today_check",
            type="primary",
            shortcut=CHECK_KEY,
            on_click=on_check,
            args=(token,),
        )
        return
    confidence_buttons()
    with st.form("today_answer", clear_on_submit=False, border=False):
        if _blanks(question) > 1:
            for i in range(_blanks(question)):
                st.text_input(f"Blank {i + 1}", key=BLANK_KEY.format(i), max_chars=120)
        elif question.type == QuestionType.CLOZE:
            st.text_input("Fill in the blank (Enter checks)", key=TEXT_KEY, max_chars=300)
        else:
            st.text_area(
                "Your answer (Ctrl+Enter checks)",
                key=TEXT_KEY,
                max_chars=4000,
                placeholder="Answer in a sentence or two",
            )
        st.form_submit_button(
            "Check answer", type="primary", shortcut=CHECK_KEY, on_click=on_check, args=(token,)
        )


def given_answer(question: PracticeQuestion) -> str | int | None:
    """What the learner gave on the form just sent: the stored option index (options are shown
    shuffled), the typed text (blanks joined by "; "), or None/"" when nothing was given."""
    state = st.session_state
    if question.type == QuestionType.MCQ:
        shown = state.get(CHOICE_KEY)
        return None if shown is None else question.option_index(shown)
    if _blanks(question) > 1:
        parts = [str(state.get(BLANK_KEY.format(i)) or "") for i in range(_blanks(question))]
        return "; ".join(p.strip() for p in parts) if any(p.strip() for p in parts) else ""
    return str(state.get(TEXT_KEY) or "")


def given_confidence() -> int:
    """How sure the learner said they were (1-5; "Fairly sure" unless changed)."""
    return int(st.session_state.get(CONFIDENCE_KEY, DEFAULT_CONFIDENCE))
