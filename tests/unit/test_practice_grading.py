"""Offline grading: choices, typed cloze answers, short answers by key-point coverage."""

from __future__ import annotations

import pytest

from engine.config import Settings
from engine.practice.grading import QuestionForGrading, grade, normalise

OFFLINE = Settings(_env_file=None, llm_generation_model=None, llm_grading_model=None)


def q(**kw) -> QuestionForGrading:
    base = dict(
        type="short",
        stem="What does the mitochondrion do?",
        options=None,
        correct_index=None,
        answer="It makes ATP by aerobic respiration.",
        key_points=["makes ATP", "aerobic respiration"],
        excerpt="The mitochondrion makes ATP by aerobic respiration.",
    )
    base.update(kw)
    return QuestionForGrading(**base)


def test_normalise_ignores_case_accents_punctuation_and_spacing():
    assert normalise("  Café, au-LAIT! ") == "cafe au lait"


def test_choice():
    mcq = q(type="mcq", options=["a", "b", "c"], correct_index=2, answer="c")
    assert grade(mcq, 2, settings=OFFLINE).correct
    wrong = grade(mcq, 0, settings=OFFLINE)
    assert not wrong.correct and wrong.score == 0 and wrong.grader == "choice"
    with pytest.raises(ValueError):
        grade(mcq, "c", settings=OFFLINE)


@pytest.mark.parametrize(
    ("given", "correct", "grader"),
    [
        ("Photosynthesis", True, "exact"),
        ("photosynthesis.", True, "exact"),
        ("photosynthesys", True, "fuzzy"),
        ("respiration", False, "exact"),
        ("", False, "exact"),
    ],
)
def test_cloze(given, correct, grader):
    cloze = q(type="cloze", answer="photosynthesis")
    v = grade(cloze, given, settings=OFFLINE)
    assert (v.correct, v.grader) == (correct, grader)


def test_short_words_need_an_exact_match():
    assert not grade(q(type="cloze", answer="ATP"), "ADP", settings=OFFLINE).correct


def test_short_answer_coverage_and_reason():
    full = grade(q(), "It makes ATP using aerobic respiration", settings=OFFLINE)
    assert full.correct and full.score == 1.0 and full.reason == "Covered 2 of 2 key points."
    half = grade(
        q(key_points=["makes ATP", "aerobic respiration", "inner membrane"]),
        "makes ATP",
        settings=OFFLINE,
    )
    assert not half.correct and half.score == pytest.approx(1 / 3, abs=1e-4)
    assert "missing: aerobic respiration (and 1 more)" in half.reason


def test_short_answer_without_key_points_is_compared_with_the_answer():
    v = grade(q(key_points=[]), "makes ATP by aerobic respiration", settings=OFFLINE)
    assert v.correct and "1 key point" in v.reason


def test_coverage_threshold_is_a_setting():
    strict = OFFLINE.replace(grading_keypoint_coverage=1.0)
    assert grade(q(), "makes ATP", settings=OFFLINE).correct is False
    assert grade(
        q(key_points=["makes ATP", "x y z", "aerobic respiration"]),
        "makes ATP by aerobic respiration",
        settings=OFFLINE,
    ).correct
    assert not grade(
        q(key_points=["makes ATP", "x y z", "aerobic respiration"]),
        "makes ATP by aerobic respiration",
        settings=strict,
    ).correct


def test_several_blanks_are_graded_each_in_order():
    from engine.practice.grading import QuestionForGrading, grade_cloze

    q = QuestionForGrading(
        "cloze",
        "Languages such as _____, _____, and _____ are popular.",
        None,
        None,
        "JavaScript; Python; Ruby",
        [],
        "x",
    )
    right = grade_cloze(q, "javascript; python ;Ruby", threshold=85)
    assert right.correct and right.score == 1.0
    partial = grade_cloze(q, "JavaScript; Perl; Ruby", threshold=85)
    assert not partial.correct and partial.reason == "2 of 3 blanks right."
    assert round(partial.score, 2) == 0.67
    assert not grade_cloze(q, "JavaScript", threshold=85).correct


@pytest.mark.parametrize(
    ("given", "correct"),
    [
        ("trial judge", True),  # the key as the head of a more specific answer
        ("the trial judge", True),
        ("Judge", True),
        ("judge advocate", False),  # the key is not the head: another thing
        ("very senior appeal court judge", False),  # more than two words put before it
        ("jury", False),
    ],
)
def test_cloze_accepts_an_answer_with_the_key_as_its_head(given, correct):
    v = grade(q(type="cloze", answer="judge"), given, settings=OFFLINE)
    assert v.correct is correct
    if correct and given.casefold() != "judge":
        assert "judge" in v.reason


def test_a_key_with_two_words_needs_both_at_the_end():
    cloze = q(type="cloze", answer="trace tree")
    assert grade(cloze, "nested trace tree", settings=OFFLINE).correct
    assert not grade(cloze, "trace tree nesting", settings=OFFLINE).correct
