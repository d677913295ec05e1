"""Which sentences the offline generator may ask about: complete, self-contained body sentences."""

from __future__ import annotations

import pytest

from engine.generation.offline import is_candidate, sentences

GOOD = (
    "The Calvin cycle fixes carbon dioxide into sugars using the ATP made by the light reactions."
)


def test_a_complete_self_contained_sentence_is_a_candidate():
    assert is_candidate(GOOD)


@pytest.mark.parametrize(
    "sentence",
    [
        "This requires tracing a copy of the outer loop for every side exit in the inner loop.",
        "It records a trace of the hot loop and compiles it to native code at once.",
        "But this requires tracing a copy of the outer loop for every side exit in the inner loop.",
        "However, these traces must be linked back to the loop header by the recorder.",
        "And they call the interpreter whenever a guard fails during the trace run.",
    ],
)
def test_sentences_that_point_back_are_not_candidates(sentence):
    assert not is_candidate(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "However, the recorder links each trace back to the loop header it started from.",
        "Thus the compiler specialises every trace to the types observed while recording.",
    ],
)
def test_a_connective_alone_does_not_make_a_sentence_point_back(sentence):
    assert is_candidate(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Too short to ask.",
        "the calvin cycle fixes carbon dioxide into sugars using the ATP from the light reactions.",
        "The Calvin cycle fixes carbon dioxide into sugars using ATP, as shown in Figure 3.",
        "The Calvin cycle fixes carbon dioxide into sugars using ATP (Smith et al., 2004).",
        "The Calvin cycle fixes carbon dioxide into sugars using ATP from the light reactions",
    ],
)
def test_fragments_figure_references_and_citations_are_not_candidates(sentence):
    assert not is_candidate(sentence)


def test_lecture_note_bullets_in_lower_case_or_with_a_run_in_label_are_asked_about():
    notes = (
        "\u2022 jeder Knoten außer der Wurzel hat im Baum genau einen Elternknoten\n"
        "\u2022 Gegensatz: eine höhere Programmiersprache ist für den Programmierer optimiert"
    )
    assert sentences(notes, "de") == [
        "Jeder Knoten außer der Wurzel hat im Baum genau einen Elternknoten",
        "Eine höhere Programmiersprache ist für den Programmierer optimiert",
    ]


@pytest.mark.parametrize(
    ("sentence", "lang"),
    [
        ("Benutze sprechende Namen für jede Variable 2. der aktuelle Wert ist richtig.", "de"),
        ("Wird der Name bis zur Wurzel der Umgebung nicht gefunden.", "de"),
    ],
)
def test_glued_list_numbers_and_clauses_without_a_main_clause_are_not_candidates(sentence, lang):
    assert not is_candidate(sentence, lang)


def test_a_german_conditional_clause_with_its_main_clause_is_a_candidate():
    assert is_candidate(
        "Ist das interne Array zu groß, bleiben unbenutzte Speicherzellen als Reserve.", "de"
    )


def test_a_sentence_with_an_abbreviation_mangled_by_the_pdf_is_not_a_candidate():
    # ipi-skript-de p. 53 extracts "d.h." as "d-h-"; the same sentence with "d.h." is fine.
    mangled = "Die Objekte waren write-once, d-h- Speicher wurde im Konstruktor angelegt."
    assert not is_candidate(mangled, "de")
    assert is_candidate(mangled.replace("d-h-", "d.h."), "de")


def test_a_sentence_comparing_with_the_one_before_is_no_candidate():
    text = (
        "You can of course achieve the same effect with a list comprehension in your code. "
        "Loops and list comprehensions give the same result for all the lists of numbers. "
        "A generator gives the same values as the list comprehension, one at a time."
    )
    assert sentences(text, "en") == [
        "Loops and list comprehensions give the same result for all the lists of numbers.",
        "A generator gives the same values as the list comprehension, one at a time.",
    ]
