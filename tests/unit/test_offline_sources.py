"""Offline questions take their sentences and terms from the material's prose: never from its
reference list, never a name of its code; one right answer also where the material uses the
answer's other number or a near-synonym (pure generator functions, no database)."""

from __future__ import annotations

from engine.generation import offline, offline_forms, offline_text
from engine.generation.drafts import Passage
from engine.generation.offline_forms import build_draft


def _passage(text: str) -> Passage:
    return Passage(1, 1, "notes", text, 1, 1)


def test_the_answer_in_its_other_number_is_no_rival_but_another_noun_is():
    text = (
        "Der Argumenttyp der Speicherzelle muss passen. Der Argumenttyp der Speicherzellen wird "
        "geprüft. Der Argumenttyp der Methode wird geprüft. Der Compiler übersetzt alles. "
    ) * 2
    terms = ["Speicherzelle", "Speicherzellen", "Methode", "Compiler"]
    space = offline.TermSpace(
        [offline.KeyTerm(w, i) for i, w in enumerate(terms)],
        None,
        frozenset(),
        text=text,
        language="de",
    )
    sentence = "Der Argumenttyp der Speicherzelle muss mit dem Elementtyp kompatibel sein."
    m = offline_text.find_term("Speicherzelle", sentence)
    # "Speicherzellen" never stands where "Speicherzelle" does (article, verb): the same noun, not
    # another answer. "Methode" in the same slot is one.
    assert offline.rivals(space, "Speicherzelle", sentence, m) == ["Methode"]
    space.terms.pop(2)
    space.definitions["speicherzelle"] = "Eine Zelle des Speichers mit einer Adresse."
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


def test_an_acronym_and_its_expansion_count_as_one_subject():
    # "system" is named more often than "TAM", but not more than TAM and "Technology
    # Acceptance Model" together: the review's subject, answered unread, is never the blank.
    text = (
        "The Technology Acceptance Model (TAM) explains use. " * 4
        + "The Technology Acceptance Model explains the use of a system. " * 4
        + "TAM and the system. " * 6
        + "The system of the user. " * 4
    )
    terms = [("TAM", 10), ("system", 14), ("user", 4), ("model", 8), ("use", 8)]
    space = offline.TermSpace(
        [offline.KeyTerm(w, i, n) for i, (w, n) in enumerate(terms)], None, frozenset(), text=text
    )
    sentence = "Researchers share mixed opinions on TAM and its theoretical assumptions today."
    c = offline.Candidate(_passage(sentence), sentence, space.terms[0], 0.5)
    for form in ("cloze", "term"):
        assert build_draft(form, c, space, difficulty=3, topic=None, batch=offline.Batch()) is None
    # The most used word alone is the subject when no acronym joins another term.
    space.usage.clear()
    space.text = text.replace("(TAM)", "")
    c = offline.Candidate(_passage(sentence), sentence, space.terms[0], 0.5)
    assert not offline_forms._is_subject(c, space)


def test_a_near_synonym_used_among_the_same_words_is_a_rival():
    import numpy as np

    text = (
        "The attitude of a person shapes the system use. A person has beliefs about the "
        "system. The attitude of the user shapes our work. A user has beliefs too. "
        "The guard checks the type. "
    ) * 2
    words = ["person", "user", "guard"]
    vectors = np.eye(3, dtype=np.float32)
    vectors[1] = [0.55, np.sqrt(1 - 0.55**2), 0]  # "user" near "person" (0.55)
    space = offline.TermSpace(
        [offline.KeyTerm(w, 10 * i) for i, w in enumerate(words)], vectors, frozenset(), text=text
    )
    sentence = "Responses are an indication of a person's internal belief for the context."
    m = offline_text.find_term("person", sentence)
    assert offline.rivals(space, "person", sentence, m) == ["user"]
    c = offline.Candidate(_passage(sentence), sentence, space.terms[0], 0.5)
    batch = offline.Batch()
    assert build_draft("cloze", c, space, difficulty=3, topic=None, batch=batch) is None
    assert batch.rejections == ["ambiguous_blank"]


REFERENCES = {
    "en": "References",
    "de": "Literaturverzeichnis",
    "fr": "Références",
    "es": "Bibliografía",
}


def test_a_reference_list_is_never_a_source_of_questions():
    body = (
        "A typed trace is a trace annotated with a type for every variable on the trace.\n"
        "The recorder writes every trace to memory before the compiler reads it again.\n"
    )
    entries = (
        "Davis, F. D., Bagozzi, R. P., & Warshaw, P. R. (1989). User acceptance of\n"
        "computer technology: A comparison of two theoretical models of the user.\n"
        "Management Science, 35(8), 982-1003.\n"
        "[12] A. Gal and M. Franz. Incremental dynamic code generation with trace trees.\n"
        "In Proceedings of the Conference on Virtual Machines, pp. 83-93, 2006.\n"
    )
    for lang, heading in REFERENCES.items():
        found = offline.sentences(f"{body}\n{heading}\n\n{entries}", lang)
        assert not any("acceptance" in s or "Incremental" in s for s in found), (lang, found)
    # A passage that starts inside the list, without its heading: the entries' lines, the
    # title between an author line and a journal line included, are still left out.
    found = offline.sentences(f"{entries}\n{entries}", "en")
    assert found == []
    assert offline.sentences(body, "en") == [s.strip() for s in body.strip().split("\n")]
    # Titles of the list are no key terms either.
    space = offline.build_space(body * 3 + "\nReferences\n" + entries * 3, names=set(), embed=None)
    assert "comparison" not in space.text and "trace" in space.text


def test_questionnaire_and_table_text_is_no_candidate_sentence():
    for glued in (
        "I make errors frequently when using electronic mail. 2345 I need to consult the manual.",
        "Revised items for perceived usefulness worded towards the chart 1 Using the tool helps.",
    ):
        assert not offline.is_candidate(glued, "en"), glued
    notes = "Algorithmische Komplexität ist davon unabhängig \u224a beschreibt, wie die Laufzeit wächst."
    assert not offline.is_candidate(notes, "de")
    assert offline.is_candidate(notes.replace(" \u224a", ", sie"), "de")
    assert offline.is_candidate("Participants were students, and their use was measured.", "en")


def test_a_typed_blank_refuses_a_near_term_used_anywhere_among_the_same_words():
    import numpy as np

    text = (
        "You may run covered works without conditions. The licence sets conditions on "
        "copies. The licence adds no restrictions. The guard checks the type. "
    ) * 2
    words = ["conditions", "restrictions", "guard"]
    vectors = np.eye(3, dtype=np.float32)
    vectors[1] = [0.55, np.sqrt(1 - 0.55**2), 0]
    space = offline.TermSpace(
        [offline.KeyTerm(w, 10 * i) for i, w in enumerate(words)], vectors, frozenset(), text=text
    )
    sentence = "You may make and run covered works that you keep, without conditions for now."
    m = offline_text.find_term("conditions", sentence)
    # With options, the learner is steered away from "restrictions"; typed, it is as right.
    assert offline.rivals(space, "conditions", sentence, m) == []
    assert offline.rivals(space, "conditions", sentence, m, typed=True) == ["restrictions"]
    c = offline.Candidate(_passage(sentence), sentence, space.terms[0], 0.5)
    assert build_draft("cloze", c, space, difficulty=3, topic=None, batch=offline.Batch()) is None


def test_a_swapped_in_term_takes_the_article_of_its_sound():
    from engine.generation import offline_forms

    sentence = "Many models explain the use of a system in practice."
    m = offline_text.find_term("system", sentence)
    assert "use of a usage" in offline_forms._swap(sentence, m, "usage", "en")
    assert "use of an interpreter" in offline_forms._swap(sentence, m, "interpreter", "en")


def test_cited_authors_are_no_key_terms():
    text = (
        "Fishbein and Ajzen (1975) proposed that attitude shapes intention. Later, Fishbein "
        "and Ajzen, 1980, tied the intention to behavior. Davis et al. applied the attitude "
        "to the system. The attitude of a user shapes the intention to use the system. "
    ) * 3
    terms = {t.text for t in offline.key_terms(text)}
    assert not {"Ajzen", "Fishbein", "Davis"} & terms
    assert {"attitude", "intention"} & terms
