"""Language of a material and the language rules the offline pipeline follows."""

from __future__ import annotations

import pytest

from engine.domain.language import (
    UNKNOWN,
    detect_language,
    is_supported,
    page_languages,
    split_sentences,
    stemmer_name,
    stopwords,
)
from engine.retrieval.lexical import lexical_tokens, query_tokens

EN = (
    "The compiler records a trace of the hot loop and turns it into native code, which "
    "then runs much faster than the interpreter would."
)
DE = (
    "Eine Gerade teilt die Ebene in zwei Halbebenen, und zwei Punkte liegen genau dann in "
    "der gleichen Halbebene, wenn ihre Verbindungsstrecke die Gerade nicht schneidet."
)
FR = (
    "Un compilateur enregistre une trace de la boucle chaude et la transforme en code "
    "natif, qui s'exécute alors beaucoup plus vite que l'interpréteur."
)
ES = (
    "El compilador registra una traza del bucle caliente y la convierte en código nativo, "
    "que luego se ejecuta mucho más rápido que el intérprete."
)


@pytest.mark.parametrize(("text", "lang"), [(EN, "en"), (DE, "de"), (FR, "fr"), (ES, "es")])
def test_the_four_first_class_languages_are_told_apart(text, lang):
    assert detect_language(text) == lang
    assert is_supported(lang)


def test_too_little_text_or_only_formulas_is_undetermined():
    assert detect_language("x = 3") == UNKNOWN
    assert detect_language("f(x) = 2x + 1; g(y) = y^2 - 4 * (3 + 5) / 7") == UNKNOWN
    assert not is_supported(UNKNOWN)


def test_a_material_has_a_main_language_and_pages_in_another_are_marked():
    code = "int main() { return foo(x) + bar(y); } // " * 12  # says nothing of a language
    main, pages = page_languages([EN * 3, DE * 3, code, EN * 3, ""])
    assert main == "en"
    assert pages == ["en", "de", "en", "en", "en"]


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        (
            "Die Gerade g teilt die Ebene bzgl. der Punkte in zwei Teile. Das ist alles.",
            "de",
            ["Die Gerade g teilt die Ebene bzgl. der Punkte in zwei Teile.", "Das ist alles."],
        ),
        (
            "Viele Sprachen, z. B. Python, sind dynamisch. Im 3. Kapitel folgt mehr.",
            "de",
            ["Viele Sprachen, z. B. Python, sind dynamisch.", "Im 3. Kapitel folgt mehr."],
        ),
        (
            "Dynamic languages, e.g. Python, are popular. See the results in Fig. 3 below.",
            "en",
            ["Dynamic languages, e.g. Python, are popular.", "See the results in Fig. 3 below."],
        ),
        (
            "Plusieurs langages, p. ex. Python, sont dynamiques. Ils sont populaires.",
            "fr",
            ["Plusieurs langages, p. ex. Python, sont dynamiques.", "Ils sont populaires."],
        ),
        (
            "The appeal was dismissed on appeal. 8. The court then gave its reasons.",
            "en",
            ["The appeal was dismissed on appeal.", "The court then gave its reasons."],
        ),
    ],
)
def test_sentences_are_not_cut_at_abbreviations_and_lose_paragraph_numbers(text, lang, expected):
    assert split_sentences(text, lang) == expected


def test_function_words_follow_the_language():
    assert {"und", "der", "in", "bzgl"} <= stopwords("de")
    assert {"et", "le", "dans"} <= stopwords("fr")
    assert {"y", "el", "para"} <= stopwords("es")
    assert "halbebene" not in stopwords("de")
    assert stemmer_name("de") == "german" and stemmer_name("xx") == "english"


def test_bm25_tokens_are_stemmed_in_the_texts_language():
    # German stems join the singular and plural; the English stemmer does not.
    assert lexical_tokens("Halbebenen", "de") == lexical_tokens("Halbebene", "de")
    assert lexical_tokens("Halbebenen") != lexical_tokens("Halbebene")
    assert "und" not in lexical_tokens("Gerade und Ebene", "de")
    # A German query is also stemmed as German, so it meets German chunks.
    assert set(lexical_tokens("Halbebenen der Geraden", "de")) <= set(
        query_tokens("In welcher Halbebenen liegen die Punkte der Geraden?")
    )


def test_a_rare_language_guess_on_english_names_and_affiliations_is_corrected():
    board = (
        "Editors: Michel Avital, University of Amsterdam. Kevin Crowston, Syracuse "
        "University. Advisory Board: Kalle Lyytinen, Case Western Reserve University. "
        "Roger Clarke, Australian National University. Sue Conger, University of Dallas. "
        "Guy Fitzgerald, Brunel University. Blake Ives, University of Houston at the "
        "Bauer College of Business."
    )
    assert page_languages([board])[0] == "en"
    lorem = (
        "Lorem ipsum dolor sit amet, consectetuer adipiscing elit. Ut purus elit, "
        "vestibulum ut, placerat ac, adipiscing vitae, felis. Curabitur dictum gravida "
        "mauris. Nam arcu libero, nonummy eget, consectetuer id, vulputate a, magna."
    )
    assert page_languages([lorem])[0] == "la"
