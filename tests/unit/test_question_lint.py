"""Each rule of the question lint (engine.generation.lint), passing and failing."""

from __future__ import annotations

from dataclasses import replace

from engine.generation.drafts import Draft
from engine.generation.lint import lint

SOURCE = (
    "A trace tree covers all the hot paths through a loop. The recorder writes LIR "
    "instructions for every bytecode executed on the trace. Each side exit restores the "
    "interpreter state before leaving compiled code."
)
SENTENCE = "A trace tree covers all the hot paths through a loop."


def _term(**kw) -> Draft:
    base = Draft(
        type="mcq",
        form="term",
        stem="Which term completes this sentence from the source? \u201cA _____ covers "
        "all the hot paths through a loop.\u201d",
        options=["trace tree", "side exit", "call stack", "type map"],
        correct_index=0,
        answer="trace tree",
        explanation="It is the term the source uses.",
        difficulty=3,
        excerpt=SENTENCE,
        chunk_ids=[1],
    )
    return replace(base, **kw)


def test_a_good_question_passes():
    assert lint(_term(), source=SOURCE) == []


def test_stem_must_be_a_complete_sentence_of_eight_words():
    short = _term(
        stem="Which term completes this? \u201cA _____ covers loops.\u201d",
        excerpt="A trace tree covers loops.",
    )
    assert "stem_not_sentence" in lint(short, source="A trace tree covers loops.")
    fragment = _term(excerpt="covers all the hot paths through a loop and more")
    assert "stem_not_sentence" in lint(fragment, source=SOURCE + " " + fragment.excerpt)


def test_markers_in_stem_or_options_are_refused():
    for marker in ("Figure 7", "Table 2", "[12]", "(11)", "Section 3", "et al"):
        d = _term(
            stem=f"Which term completes this sentence? \u201cAs {marker} shows, a _____ "
            "covers all the hot paths through a loop.\u201d"
        )
        assert "marker" in lint(d, source=SOURCE), marker
    heading = _term(
        stem="Which term completes this sentence? \u201c3.2 Nested _____ Formation "
        "covers all the hot paths through a loop.\u201d"
    )
    assert "marker" in lint(heading, source=SOURCE)
    option = _term(options=["trace tree", "Figure 3", "call stack", "type map"])
    assert "marker" in lint(option, source=SOURCE)


def test_answer_guessable_from_the_stem_is_refused():
    leaked = _term(
        stem="Which term completes this sentence from the source? \u201cA type-"
        "specialized trace requires no _____ dispatches at all in loops.\u201d",
        answer="type-specialized",
        options=["type-specialized", "side exit", "call stack", "loop header"],
    )
    assert "answer_leaked" in lint(leaked, source=SOURCE)


def test_options_must_be_distinct():
    d = _term(options=["trace tree", "trace trees", "call stack", "type map"])
    assert "options_not_distinct" in lint(d, source=SOURCE)


def test_options_must_be_of_the_same_kind():
    d = _term(options=["trace tree", "LIR", "call stack", "type map"])
    assert "options_mixed_kind" in lint(d, source=SOURCE)
    long = _term(
        options=["trace tree", "a very long phrase of many words here", "call stack", "type map"]
    )
    assert "options_mixed_kind" in lint(long, source=SOURCE)


def test_author_names_and_affiliations_are_refused():
    d = _term(options=["trace tree", "Andreas Gal", "call stack", "type map"])
    assert "author_name" in lint(d, source=SOURCE, names={"Andreas", "Gal"})
    assert "author_name" not in lint(_term(), source=SOURCE, names={"Andreas", "Gal"})
    uni = _term(options=["trace tree", "Mozilla Corporation", "call stack", "type map"])
    assert "author_name" in lint(uni, source=SOURCE)


def test_excerpt_must_be_verbatim_in_the_source():
    d = _term(excerpt="A trace tree covers some of the cold paths through a loop.")
    assert "excerpt_not_verbatim" in lint(d, source=SOURCE)


def test_definition_must_not_name_its_term():
    d = Draft(
        type="mcq",
        form="definition",
        stem="What is a trace tree? Choose the description that the source gives.",
        options=[
            "A tree of traces for one loop.",
            "A map from types to slots of a frame.",
            "A point where compiled code returns to the interpreter.",
            "A list of instructions of the intermediate form.",
        ],
        correct_index=0,
        answer="A tree of traces for one loop.",
        explanation="The source gives this description.",
        difficulty=3,
        excerpt="A trace tree is a tree of traces for one loop header.",
        chunk_ids=[1],
    )
    src = "A trace tree is a tree of traces for one loop header."
    assert "answer_leaked" in lint(d, source=src)
    ok = replace(
        d,
        options=["A set of paths for one loop.", *d.options[1:]],
        answer="A set of paths for one loop.",
    )
    assert "answer_leaked" not in lint(ok, source=src)


def test_each_blank_of_a_list_question_is_checked_for_leaks():
    d = Draft(
        type="cloze",
        form="list",
        stem="Fill in the blanks, in order: Languages such as _____, _____, and _____ are "
        "popular because python is easy.",
        answer="python; ruby; perl",
        explanation="The source lists these three.",
        difficulty=3,
        chunk_ids=[1],
        excerpt="Languages such as python, ruby, and perl are popular because python is easy.",
    )
    assert "answer_leaked" in lint(d, source=d.excerpt)


def test_a_short_acronym_left_in_the_stem_leaks_its_blank():
    sentence = (
        "The first two digits indicate the hour difference from UTC and the last two digits "
        "the minutes difference from UTC."
    )
    d = Draft(
        type="cloze",
        form="cloze",
        stem="Fill in the blank: " + sentence.replace("UTC", "_____", 1),
        answer="UTC",
        explanation="The source uses 'UTC' in this sentence.",
        difficulty=3,
        chunk_ids=[1],
        excerpt=sentence,
    )
    assert "answer_leaked" in lint(d, source=sentence)
    once = replace(d, stem=d.stem.replace("from UTC.", "from it."))
    assert "answer_leaked" not in lint(once, source=sentence)


def test_an_abbreviation_mangled_by_the_text_layer_breaks_the_question():
    mangled = "Die Objekte waren write-once, d-h- Speicher wurde im Konstruktor angelegt."
    source = SOURCE + " " + mangled
    draft = _term(
        stem=f"Fill in the blank: {mangled.replace('Speicher', '_____')}",
        excerpt=mangled,
        type="cloze",
        form="cloze",
        options=None,
        correct_index=None,
        answer="Speicher",
    )
    assert "mangled_text" in lint(draft, source=source)
    # Compounds with single letters are words, not mangled abbreviations.
    fine = "Punkte werden transponiert, also sind die x-y Koordinaten und C-like Namen vertauscht."
    assert lint(replace(draft, stem=f"Fill in the blank: {fine}", excerpt=fine), source=fine) == []
