"""Offline questions take their sentences and terms from the material's prose: never from its
reference list, never a name of its code; one right answer also where the material uses the
answer's other number or a near-synonym (pure generator functions, no database)."""

from __future__ import annotations

from engine.generation import offline, offline_text
from engine.generation.drafts import Passage
from engine.generation.offline_forms import build_draft


def _passage(text: str) -> Passage:
    return Passage(1, 1, "notes", text, 1, 1)


def test_the_answer_in_its_other_number_is_no_rival_but_another_noun_is():
    text = (
        "Der Argumenttyp der Funktion muss passen. Der Argumenttyp der Funktionen wird "
        "geprüft. Der Argumenttyp der Methode wird geprüft. Der Compiler übersetzt alles. "
    ) * 2
    terms = ["Funktion", "Funktionen", "Methode", "Compiler"]
    space = offline.TermSpace(
        [offline.KeyTerm(w, i) for i, w in enumerate(terms)],
        None,
        frozenset(),
        text=text,
        language="de",
    )
    sentence = "Der Argumenttyp der Funktion muss mit dem Elementtyp kompatibel sein."
    m = offline_text.find_term("Funktion", sentence)
    # "Funktionen" never stands where "Funktion" does (article, verb): the same noun, not
    # another answer. "Methode" in the same slot is one.
    assert offline.rivals(space, "Funktion", sentence, m) == ["Methode"]
    space.terms.pop(2)
    c = offline.Candidate(_passage(sentence), sentence, space.terms[0], 0.5, "de")
    assert build_draft("cloze", c, space, difficulty=3, topic=None, batch=offline.Batch())


def test_names_in_the_material_s_code_are_no_key_terms():
    prose = (
        "A class describes the data and the methods of an object. The constructor of a class "
        "sets up the members of a new object. The destructor frees the memory of an object "
        "when its scope ends. Every object has a type, and the compiler checks the type. "
    )
    code = "class Point { double x_ ; double y_ ; }; Point p (1.0 , 2.0) ; Point q = {3.0 , 4.0}; "
    text = (prose + code) * 4
    terms = {t.text.casefold() for t in offline.key_terms(text)}
    assert "point" not in terms
    assert {"class", "object", "constructor"} & terms
