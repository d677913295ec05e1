"""Offline forms that test understanding: term from definition, definition from term and
self-rated flashcards, built from the material's defining sentences; explanations say why the
answer is right and what each wrong option is (pure generator functions, no database)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from engine.domain.vocabulary import FLASHCARD_FORM
from engine.generation import lint, offline
from engine.generation.drafts import Passage
from engine.generation.offline_text import defined_term, definition_of
from engine.generation.validation import ground, validate

EN_PAGES = [
    "A trace tree is a tree of traces that share one loop header in the program. "
    "The recorder extends the trace tree whenever a side exit becomes hot during execution.",
    "A side exit is a point where execution leaves a trace because a guard fails at run time. "
    "Each guard checks one condition that the recorder assumed while recording the trace.",
    "A type map is a table that gives the type of every variable at the start of a trace. "
    "The compiler specialises each trace to one type map, so the machine code stays small.",
    "An interpreter is a program that executes the bytecode of a function one step at a time. "
    "The interpreter runs the program until a loop header becomes hot enough to be recorded.",
    "Garbage collection is a process that frees the memory of objects no program can reach. "
    "The garbage collection pauses every trace tree, because machine code may hold pointers.",
    "A guard is a check that the compiler inserts to confirm a recorded assumption at run time. "
    "The recorder emits a guard for every branch and for every type the interpreter observed.",
]
DEFINED = {"trace tree", "side exit", "type map", "interpreter", "garbage collection", "guard"}


def embed(texts: list[str]) -> np.ndarray:
    """A stand-in embedding: a fixed pseudo-random vector per text (no model in unit tests)."""
    return np.stack(
        [
            np.random.default_rng(
                int(hashlib.sha256(t.casefold().encode()).hexdigest()[:8], 16)
            ).normal(size=16)
            for t in texts
        ]
    )


def _drafts(types: list[str], forms: list[str] | None = None, count: int = 6) -> list:
    passages = [Passage(i + 1, 1, "paper", t, i + 1, i + 1) for i, t in enumerate(EN_PAGES)]
    space = offline.build_space("\n\n".join(EN_PAGES * 2), names=set(), embed=embed, lang="en")
    drafts = list(
        offline.generate(passages, {1: space}, count=count, types=types, difficulty=3, forms=forms)
    )
    for d in drafts:  # every one passes the checks the app runs before a learner sees it
        assert validate(d, wanted_types=types) is None, d
        assert ground(d, passages) is None, d
        assert not lint.lint(d, source=EN_PAGES[d.page_start - 1]), d
    return drafts


def test_term_from_definition_asks_for_the_defined_term_among_other_defined_terms():
    # Six defined terms: wrong options are never reused in a batch, so one question uses up
    # three of them and a second has too few left.
    drafts = _drafts(["mcq"], forms=["naming"])
    assert drafts
    for d in drafts:
        assert d.form == "naming"
        assert d.stem.startswith("Which term does the source describe this way?")
        assert {o.casefold() for o in d.options} <= DEFINED
        described = d.stem.split("\u201c", 1)[1].rstrip("\u201d")
        assert described == definition_of(d.excerpt)
        assert d.answer.casefold() == defined_term(d.excerpt, " ".join(EN_PAGES * 2))
        for i, option in enumerate(d.options):  # the option a learner chose is explained
            if i != d.correct_index:
                assert f"If you chose '{option}': the source describes it as" in d.explanation
        # A reason, not the source's sentence again (the stem shows its description).
        assert d.excerpt not in d.explanation


def test_definition_from_term_explains_whose_description_each_wrong_option_is():
    drafts = _drafts(["mcq"], forms=["definition"])
    assert drafts
    for d in drafts:
        assert d.stem.startswith("What is ")
        assert d.answer == definition_of(d.excerpt)
        assert d.explanation.count("If you chose") == 3
        assert "that is how the source describes" in d.explanation
        # The definition and whose each other one is, not the whole sentence again.
        assert d.excerpt not in d.explanation and d.answer in d.explanation


def test_flashcards_have_the_term_on_the_front_and_its_defining_sentence_on_the_back():
    drafts = _drafts(["short"])
    assert len(drafts) >= 4
    for d in drafts:
        assert (d.type, d.form) == ("short", FLASHCARD_FORM)
        assert d.options is None
        term = defined_term(d.excerpt, " ".join(EN_PAGES * 2))
        assert f"\u2018{term.casefold()}\u2019" in d.stem.casefold()
        assert d.answer == d.excerpt  # the back is the source's own sentence
        assert d.key_points == [definition_of(d.excerpt)]


def test_a_mix_offers_the_new_forms_alongside_the_existing_ones():
    forms = {d.form for d in _drafts(["mcq", "cloze", "short"], count=12)}
    assert {"naming", FLASHCARD_FORM} <= forms
    assert forms & {"term", "cloze", "statement"}


def test_key_term_explanations_explain_every_wrong_option():
    drafts = _drafts(["mcq"], forms=["term"])
    assert drafts
    for d in drafts:
        for i, option in enumerate(d.options):
            if i != d.correct_index:
                assert f"If you chose '{option}'" in d.explanation


@pytest.mark.parametrize(
    ("sentence", "lang", "term", "definition"),
    [
        (
            "Unter Rekursion versteht man eine Technik, bei der eine Funktion sich selbst aufruft.",
            "de",
            "Rekursion",
            "Eine Technik, bei der eine Funktion sich selbst aufruft.",
        ),
        (
            "Ein Zeiger ist eine Variable, die die Adresse einer anderen Variablen speichert.",
            "de",
            "Zeiger",
            "Eine Variable, die die Adresse einer anderen Variablen speichert.",
        ),
        (
            "Une pile est une structure de données où le dernier élément entré sort en premier.",
            "fr",
            "pile",
            "Une structure de données où le dernier élément entré sort en premier.",
        ),
        (
            "Una pila es una estructura de datos donde el último elemento en entrar sale primero.",
            "es",
            "pila",
            "Una estructura de datos donde el último elemento en entrar sale primero.",
        ),
    ],
)
def test_defining_sentences_are_recognised_in_each_supported_language(
    sentence, lang, term, definition
):
    text = f"{sentence} {term} {term}"
    assert defined_term(sentence, text, lang) == term
    assert definition_of(sentence, lang) == definition


def test_german_sentences_that_define_nothing_give_no_term():
    text = "Die Rekursion löst ein Problem. Die Rekursion braucht eine Abbruchbedingung."
    assert (
        defined_term("Die Rekursion löst ein Problem, indem sie sich aufruft.", text, "de") is None
    )
    assert (
        defined_term("Das ist eine Funktion, die etwas berechnet und zurückgibt.", text, "de")
        is None
    )
