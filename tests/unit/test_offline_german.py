"""German offline questions: enough key terms from notes whose phrases are mostly no nouns,
and German nouns keep their capital as options (pure generator functions, no database)."""

from __future__ import annotations

from engine.generation import offline, offline_forms, offline_german
from engine.generation.drafts import Passage
from engine.generation.offline_forms import build_draft
from engine.generation.offline_parts import match_case

NOTES = (
    "Der Compiler übersetzt die Schleife schnell und prüft dabei sorgfältig jede einzelne "
    "Bedingung. Danach läuft das Programm deutlich schneller, weil der Speicher sauber "
    "verwaltet wird. Die Rekursion ruft sich selbst wiederholt auf, bis die Abbruchbedingung "
    "erreicht ist. Ein Iterator zeigt immer genau auf ein Element im Container. "
) * 3


def test_german_key_terms_are_found_past_the_verbs_and_adjectives_yake_ranks_first():
    # yake ranks verbs and adjectives ("übersetzt", "sorgfältig") high in German notes; a
    # German key term ends in a capitalised noun, so the first few candidates give too few.
    terms = offline.key_terms(NOTES, top=2, lang="de")
    assert len(terms) == 2, terms
    assert all(t.text.split()[-1][:1].isupper() for t in terms)


def test_german_noun_options_keep_their_capital_after_a_lower_case_answer():
    text = (
        "Durch Klassen erreicht man, dass zusammengesetzte Typen genauso einfach sind wie "
        "Basistypen. Die Zeichen, die Zahlen, die Bedingungen und die Knoten sind Daten. "
        "Die Zeichen werden gedruckt. Die Zahlen werden addiert. Die Bedingungen werden "
        "geprüft. Die Knoten werden verbunden. Zusammengesetzte Typen sind nützlich. "
    ) * 2
    words = ["zusammengesetzte Typen", "Zeichen", "Zahlen", "Bedingungen", "Knoten"]
    space = offline.TermSpace(
        [offline.KeyTerm(w, 10 * i, 4) for i, w in enumerate(words)],
        None,
        frozenset(),
        text=text,
        language="de",
    )
    sentence = (
        "Durch Klassen erreicht man, dass zusammengesetzte Typen genauso einfach sind wie "
        "Basistypen."
    )
    c = offline.Candidate(Passage(1, 1, "n", sentence, 1, 1), sentence, space.terms[0], 0.5, "de")
    draft = build_draft("term", c, space, difficulty=3, topic=None, batch=offline.Batch())
    assert draft is not None and draft.options
    wrong = [o for i, o in enumerate(draft.options) if i != draft.correct_index]
    assert all(o[:1].isupper() for o in wrong), wrong
    assert match_case("Zeichen", "zusammengesetzte Typen", "de") == "Zeichen"
    assert match_case("trace tree", "Interpreter") == "Trace tree"  # English: the answer's case


def test_the_most_used_term_of_notes_on_many_topics_is_no_subject():
    # "Funktion" is named most, but only 12 of 240 mentions: notes on many topics have no
    # one subject a learner could answer unread; a review naming TAM 73 of 554 times has.
    words = ["Funktion"] + [f"Thema{i}" for i in range(30)]
    counts = [12] + [10] + [8] * 28 + [4]
    space = offline.TermSpace(
        [offline.KeyTerm(w, i, n) for i, (w, n) in enumerate(zip(words, counts, strict=True))],
        None,
        frozenset(),
        text="Die Funktion ruft die Funktion auf. " * 6,
        language="de",
    )
    sentence = "Der Argumenttyp der Funktion muss mit dem Elementtyp kompatibel sein."
    c = offline.Candidate(Passage(1, 1, "n", sentence, 1, 1), sentence, space.terms[0], 0.5, "de")
    assert not offline_forms._is_subject(c, space)
    space.usage.clear()
    space.terms = space.terms[:3]  # three terms: "Funktion" is 12 of 30 mentions
    assert offline_forms._is_subject(c, space)


def test_inflected_german_nouns_and_adjectives_are_no_key_terms():
    text = (
        "Das Programm läuft. Der Aufruf des Programms dauert. Der Aufruf endet. Die Länge "
        "des Aufrufs zählt. Die Elemente liegen im Array. Man gibt den Elementen Namen.\n"
        "Objektorientierte Programmierung kapselt Daten. Die Tests laufen. Die Tests prüfen.\n"
    ) * 3
    for word in ("Programms", "Aufrufs", "Elementen", "Objektorientierte"):
        assert offline_german.inflected(word, text), word
    for word in ("Programm", "Aufruf", "Elemente", "Tests", "Programmierung"):
        assert not offline_german.inflected(word, text), word
    terms = {t.text for t in offline.key_terms(text, lang="de")}
    assert not {"Programms", "Aufrufs", "Elementen", "Objektorientierte"} & terms, terms


def test_a_german_singular_in_us_is_no_option_for_a_plural_in_s():
    text = "Templates und Links. Jeder Algorithmus sortiert. Details zählen. " * 2
    space = offline.TermSpace([], None, frozenset(), text=text, language="de")
    assert not space.same_form("Algorithmus", "Templates")
    assert space.same_form("Details", "Templates")
