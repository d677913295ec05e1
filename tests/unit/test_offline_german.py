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


def test_a_notes_item_whose_verb_ends_in_t_is_a_sentence_to_ask_about():
    # Lecture notes write items without a full stop; their verb is rarely one of a fixed list
    # ("definiert", "ruft ... auf"): its infinitive being a common word tells it.
    notes = (
        "• Die Basisklasse definiert die öffentliche Schnittstelle, aber implementiert sie nicht\n"
        "• Der automatisierte Destruktor ruft einfach die Destruktoren aller Member auf\n"
        "• Hype vorbei, eine Technik unter vielen, sparsam und vorsichtig eingesetzt\n"
    )
    found = offline.sentences(notes, "de")
    assert found == [
        "Die Basisklasse definiert die öffentliche Schnittstelle, aber implementiert sie nicht",
        "Der automatisierte Destruktor ruft einfach die Destruktoren aller Member auf",
    ]
    assert not offline_german.finite_verb("nicht mehr jetzt zuletzt meist erst")


def test_german_definitions_without_an_article_or_with_the_name_last():
    from engine.generation.offline_text import defined_term, definition_of

    text = "Zeiger zeigen auf Speicher. Die Adresse. Ein Zeiger. Adresse und Zeiger. " * 2
    plural = "Zeiger sind spezielle Variablen, mit denen man Adressen speichern kann"
    assert defined_term(plural, text, "de") == "Zeiger"
    assert definition_of(plural, "de") == (
        "Spezielle Variablen, mit denen man Adressen speichern kann"
    )
    named = "Der globale Index des Bytes heißt Adresse (hier 3)"
    assert defined_term(named, text, "de") == "Adresse"
    assert definition_of(named, "de") == "Der globale Index des Bytes"
    # A claim is no definition: an adverb or a preposition after "sind".
    for claim in ("Werte sind schon Zahlen", "Zeiger sind in der Umgebung definiert"):
        assert defined_term(claim, text, "de") is None
    # "Hierbei bedeutet die Berechtigung ...": an adverb pointing back is no term.
    hierbei = "Hierbei bedeutet die Berechtigung, dass der Inhalt gelesen werden kann."
    assert defined_term(hierbei, "Hierbei hierbei " * 3, "de") is None


def test_german_key_terms_are_nouns_in_their_base_form():
    # "Bestimmte" opens sentences but is written "bestimmte" inside them: an adjective. So
    # is "globalen" before a singular noun ("der globalen Umgebung"); "Zugriffs", written
    # only after a genitive article, is the genitive of "Zugriff"; "enthält" is a verb.
    text = (
        "Bestimmte Dateien sind geschützt. Der Benutzer liest bestimmte Dateien im Verzeichnis. "
        "Das Programm läuft in der globalen Umgebung. Die globale Umgebung enthält Namen. "
        "Der Zeitpunkt des letzten Zugriffs wird im Verzeichnis gespeichert. "
        "Das Verzeichnis enthält Dateien. "
    ) * 4
    terms = [t.text for t in offline.key_terms(text, top=20, lang="de")]
    assert "Verzeichnis" in terms, terms
    assert not {
        "Bestimmte",
        "Bestimmte Dateien",
        "globalen Umgebung",
        "Zugriffs",
        "letzten Zugriffs",
        "enthält Dateien",  # a verb and its object
    } & set(terms)
    assert offline_german.inflected("Fenstern", "Das Fenster zeigt Dateien aus allen Fenstern.")
    # A capitalised noun the code writes in lower case ("v.reserve(10)") stays a noun.
    code = "Unbenutzte Zellen bleiben als Reserve. v.reserve(10); v.reserve(3); "
    assert not offline_german.capitalised_only_at_starts("Reserve", code)


def test_a_lower_case_word_is_no_blank_for_a_noun_or_an_acronym_of_the_same_letters():
    sentence = (
        "Um Gruppenberechtigungen für bestimmte Benutzer zu übernehmen, muss man Mitglied sein."
    )
    text = (sentence + " Bestimmte Dateien gehören dem Benutzer. ") * 3
    space = offline.TermSpace(
        [offline.KeyTerm("Bestimmte", 0, 4), offline.KeyTerm("Benutzer", 1, 4)],
        None,
        frozenset(),
        text=text,
        language="de",
    )
    passage = Passage(1, 1, "n", sentence, 1, 1)
    found = offline._candidates([passage], {1: space}, 3, set())
    assert {c.term.text for c in found[0]} == {"Benutzer"}
    # Nor, in any language, a word for an acronym of the same letters ("options", "OPTIONS").
    english = "The rules pass options to the commands so that the build prints more output."
    space = offline.TermSpace(
        [offline.KeyTerm("OPTIONS", 0, 4, "acronym"), offline.KeyTerm("build", 1, 4)],
        None,
        frozenset(),
        text=(english + " Set OPTIONS in the build. ") * 3,
    )
    found = offline._candidates([Passage(1, 1, "n", english, 1, 1)], {1: space}, 3, set())
    assert "OPTIONS" not in {c.term.text for c in found[0]}


def test_the_rest_of_a_sentence_cut_by_a_page_end_and_a_manuals_callout_are_no_candidates():
    text = (
        "Der Befehl chown wird von dem Benutzer root verwendet, um den Eigentümer zu ändern. "
        "Der Befehl chgrp wird vom\n\n"
        "Eigentümer einer Datei oder von root benutzt, um die Gruppe zu ändern, zu der die "
        "Datei gehört. Die Gruppe einer Datei wird mit dem Befehl chgrp geändert, wenn der "
        "Benutzer Mitglied ist.\n\n"
        'Tipp "netstat -an" bietet eine sehr nützliche Übersicht aller geöffneten Sockets des '
        "Systems.\n"
    )
    assert offline.sentences(text, "de") == [
        "Der Befehl chown wird von dem Benutzer root verwendet, um den Eigentümer zu ändern.",
        "Die Gruppe einer Datei wird mit dem Befehl chgrp geändert, wenn der Benutzer Mitglied "
        "ist.",
    ]


def test_german_options_keep_the_kind_and_number_of_the_answer():
    # "das Hinzufügen" is a verb used as a noun: no option where "ein Verzeichnis" stood; and
    # where the answer is a plural ("Alle Dateien und ..."), "Daemon" cannot be one.
    text = (
        "Das Verzeichnis enthält das Protokoll. Das Hinzufügen von Optionen hilft. "
        "Der Daemon läuft. Die Datei liegt im Verzeichnis. Die Dateien liegen im Verzeichnis. "
        "Die Aktionen und die Änderungen werden gespeichert. Das Protokoll wächst. "
    ) * 3
    words = [
        "Verzeichnis",
        "Hinzufügen",
        "Protokoll",
        "Dateien",
        "Daemon",
        "Aktionen",
        "Änderungen",
    ]
    space = offline.TermSpace(
        [offline.KeyTerm(w, 10 * i, 3) for i, w in enumerate(words)],
        None,
        frozenset(),
        text=text,
        language="de",
    )
    assert not space.same_form("Hinzufügen", "Verzeichnis")
    assert space.same_form("Protokoll", "Verzeichnis")
    plural = [x for x, _ in space.neighbours("Dateien", number="pl")]
    assert "Aktionen" in plural and "Daemon" not in plural
    assert offline_german.may_be_plural("Kugeln") and not offline_german.may_be_plural("Daemon")


def test_a_german_noun_s_number_the_material_does_not_tell_comes_from_the_language():
    # The material never writes "Ort", "Kopien" or "Zugriffsrecht": German's word frequencies
    # tell "Orte" and "Zugriffsrechte" (by "Rechte") as plurals and "Kopie" as a singular, so
    # "die wirksamen Kopie" is never offered where "die wirksamen Zugriffsrechte" stood.
    words = {"orte", "kopie", "zugriffsrechte", "zugriffsrechten", "verzeichnisse"}
    assert offline_german.german_number("Orte", words) == "pl"
    assert offline_german.german_number("Kopie", words) == "sg"
    assert offline_german.german_number("Zugriffsrechte", words) == "pl"
    assert offline_german.german_number("Verzeichnisse", words) == "pl"
    # "-er" makes no plural without an umlaut: "Benutzer" may be one user.
    assert offline_german.general_number("Benutzer") is None
    assert offline_german.general_number("Wörter") == "pl"


def test_two_capitalised_german_words_side_by_side_are_a_name():
    text = (
        "Der Midnight Commander zeigt Dateien. Die benannte Pipe liegt im Verzeichnis. "
        "Der Midnight Commander kopiert Dateien. Die benannte Pipe verbindet Prozesse. "
    ) * 3
    kinds = {t.text: t.kind for t in offline.key_terms(text, top=20, lang="de")}
    assert kinds.get("Midnight Commander") == "proper", kinds
    assert kinds.get("benannte Pipe", "phrase") == "phrase", kinds
