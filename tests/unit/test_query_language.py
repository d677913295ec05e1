"""A query is stemmed as the library it searches was: short questions, whose language cannot
be told, in each of the library's languages; longer ones in their own language when the
library has it."""

from __future__ import annotations

from engine.domain.language import detect_language
from engine.retrieval.lexical import (
    QUERY_MIN_LETTERS,
    LexicalIndex,
    lexical_tokens,
    query_tokens,
    stemming_languages,
)

ZEIGER = "Ein Zeiger ist eine Variable, die die Adresse einer anderen Variablen speichert."
MEMBER = "Die Daten einer Klasse heißen member variables, ihre Funktionen Member-Funktionen."
TRACE = "A trace tree is a set of traces that start at the same loop header."


def test_a_short_german_question_meets_a_german_library():
    question = "Was ist ein Zeiger?"
    assert detect_language(question, min_letters=QUERY_MIN_LETTERS) == "und"
    tokens = query_tokens(question, ("de",))
    assert tokens == ["zeig"]
    assert set(tokens) <= set(lexical_tokens(ZEIGER, "de"))


def test_a_question_told_in_a_language_the_library_lacks_is_stemmed_as_the_library():
    # English words in a German question: the detector says English, the library is German.
    question = "Was sind member variables?"
    assert detect_language(question, min_letters=QUERY_MIN_LETTERS) == "en"
    tokens = query_tokens(question, ("de",))
    assert tokens and set(tokens) <= set(lexical_tokens(MEMBER, "de"))


def test_a_short_question_in_a_mixed_library_is_stemmed_in_each_language():
    tokens = query_tokens("Was ist ein Zeiger?", ("de", "en"))
    assert {"zeig", "zeiger"} <= set(tokens)
    assert len(tokens) == len(set(tokens))


def test_a_told_language_of_the_library_is_the_only_stemming():
    question = "Wie funktioniert die Speicherverwaltung von Zeigern in C++?"
    assert query_tokens(question, ("en", "de")) == lexical_tokens(question, "de")


def test_an_english_library_stems_questions_as_english_as_before():
    for question in ("What is a trace tree?", "How do compilers record hot paths in loops?"):
        assert query_tokens(question, ("en",)) == lexical_tokens(question)
        assert query_tokens(question) == lexical_tokens(question)
    # A German question on an English library gets no German stems no chunk could hold.
    german = "Wie funktioniert die Speicherverwaltung von Zeigern in C++?"
    assert query_tokens(german, ("en",)) == lexical_tokens(german)


def test_stemming_languages_counts_one_code_per_stemmer_most_chunks_first():
    # None (stored before languages were), 'und' and 'zh' chunks were stemmed as English.
    assert stemming_languages(["de", None, "de", "und", "de"]) == ("de", "en")
    assert stemming_languages(["de", None, "und", "en", "zh"]) == ("en", "de")
    assert stemming_languages(["fr"]) == ("fr",)
    assert stemming_languages([]) == ("en",)


def test_a_german_index_scores_a_short_german_question_on_its_passage():
    texts = [ZEIGER, MEMBER]
    index = LexicalIndex.build([1, 2], [7, 7], [lexical_tokens(t, "de") for t in texts], ["de"] * 2)
    assert index.languages == ("de",)
    scores = index.scores("Was ist ein Zeiger?")
    assert scores[0] > 0 and scores[1] == 0
    scores = index.scores("Was sind member variables?")
    assert scores[1] > scores[0]  # both hold "Variable", only one "member"


def test_an_index_without_languages_is_english():
    index = LexicalIndex.build([1], [7], [lexical_tokens(TRACE)])
    assert index.languages == ("en",)
    assert index.scores("What is a trace tree?")[0] > 0


def test_in_a_mixed_library_the_stemming_its_chunks_hold_wins():
    texts = [(ZEIGER, "de"), (MEMBER, "de"), (MEMBER, "de"), (TRACE, "en")]
    index = LexicalIndex.build(
        [1, 2, 3, 4],
        [7, 7, 7, 8],
        [lexical_tokens(t, lang) for t, lang in texts],
        [lang for _, lang in texts],
    )
    assert index.languages == ("de", "en")
    # Told as English, but its words are in the library as German stems.
    member = "Was sind member variables?"
    assert index.query_tokens(member) == lexical_tokens(member, "de")
    assert index.scores(member)[1] > 0
    trace = "What is a trace tree?"  # too short to be told: the English chunk's stems win
    assert index.query_tokens(trace) == lexical_tokens(trace, "en")
    assert index.scores(trace)[3] > 0


def test_the_stemming_is_chosen_by_the_share_of_terms_found_not_their_count():
    # Code pages told as English hold German function words ("nach", "wie", "die"), which the
    # English stemmer keeps and the German one drops.
    texts = [
        ("Die Schaltjahresregel beginnt nach 400 Jahren von vorn.", "de"),
        ("int jahr = 2024; // wie die Daten nach dem Lesen: print(jahr)", "en"),
    ]
    index = LexicalIndex.build(
        [1, 2], [7, 7], [lexical_tokens(t, lang) for t, lang in texts], ["de", "en"]
    )
    question = "Nach wie vielen Jahren beginnt die Schaltjahresregel von vorn?"
    assert index.query_tokens(question) == lexical_tokens(question, "de")


def test_a_german_verb_a_question_splits_meets_the_whole_verb_of_the_library():
    # "Wie fährt man das System herunter?" asks of "herunterfahren": its two parts stemmed
    # apart ("fahrt", "herunt") match nothing, so the question was refused though the text
    # answers it.
    shutdown = "Sie können das System auf der Befehlszeile mit shutdown herunterfahren."
    other = "Die Shell interpretiert die Befehle, die Sie eingeben."
    texts = [shutdown, other]
    index = LexicalIndex.build([1, 2], [7, 7], [lexical_tokens(t, "de") for t in texts], ["de"] * 2)
    tokens = index.query_tokens("Wie fährt man das System herunter?")
    assert "herunterfahr" in tokens and "fahrt" not in tokens
    assert set(tokens) <= set(lexical_tokens(shutdown, "de"))
    # Nothing changes for a question with no particle at its end, or in English.
    assert index.query_tokens("Was ist ein System?") == ["system"]
