"""Offline questions ask about the material's notions with one right answer: terms of its
field before everyday words, no blank on the name the whole document is set in, and no option
the material uses around the same words of the sentence as the key (pure generator
functions, no database)."""

from __future__ import annotations

import numpy as np

from engine.generation import offline, offline_forms, offline_text
from engine.generation.drafts import Passage
from engine.generation.offline_forms import build_draft
from engine.generation.offline_keyterms import key_terms
from engine.generation.offline_notions import commonness, everyday
from engine.generation.offline_text import noun_like


def _space(words: list[str], text: str, kinds: dict[str, str] | None = None) -> offline.TermSpace:
    # Orthogonal vectors: no two terms near in meaning, so only the material's use counts.
    vectors = np.eye(len(words), dtype=np.float32)
    terms = [offline.KeyTerm(w, i, 3, (kinds or {}).get(w, "phrase")) for i, w in enumerate(words)]
    return offline.TermSpace(terms, vectors, frozenset(), text=text)


def _term_answers(space: offline.TermSpace, sentence: str) -> list[str]:
    """The answer of the one key-term question drafted from `sentence`, if any."""
    drafts = offline.generate(
        [Passage(1, 1, "notes", sentence, 1, 1)],
        {1: space},
        count=1,
        types=["mcq"],
        difficulty=3,
        forms=["term"],
    )
    return [d.answer for d in drafts]


def test_a_term_used_around_the_same_words_of_the_sentence_as_the_key_is_a_rival():
    # "loops" and "programs" both stand beside "native code" and "time" in the material:
    # "Most _____ where the VM spends its time running native code have a good speedup"
    # reads as true of either. "outer loops", a kind of loops, fits where loops do.
    text = (
        "The VM runs programs as native code most of the time. Programs that spend their "
        "time in native code are fast. The VM compiles loops to native code, and hot loops "
        "spend their time in native code. Outer loops call inner loops. The monitor records "
        "every guard. A guard checks the type of a value. The recorder writes each guard."
    )
    space = _space(["programs", "loops", "outer loops", "guard", "recorder"], text)
    sentence = "Most programs where the VM spends its time running native code have a speedup."
    m = offline_text.find_term("programs", sentence)
    assert offline.rivals(space, "programs", sentence, m) == ["loops", "outer loops"]
    # A term never used around this sentence's words is no rival.
    assert "guard" not in offline.rivals(space, "programs", sentence, m)


def test_the_name_a_whole_document_is_set_in_is_never_the_blank():
    # A paper on a JavaScript engine names JavaScript in every part: "In _____, name lookup
    # is expensive" is answered without reading. A name found in one part is asked about.
    part = "The engine compiles {} code to native code. The recorder writes traces of loops. "
    text = "".join(
        part.format("JavaScript") * 4 + "The tracer records each loop. " * 8 for _ in range(10)
    )
    text += "The Nanojit backend emits machine code for each trace. " * 2
    space = _space(
        ["JavaScript", "Nanojit", "traces"],
        text,
        {"JavaScript": "proper", "Nanojit": "proper"},
    )
    sentence = "In JavaScript, name lookup semantics are complex and potentially expensive."
    c = offline.Candidate(Passage(1, 1, "paper", sentence, 1, 1), sentence, space.terms[0], 0.5)
    for form in ("cloze", "term"):
        assert build_draft(form, c, space, difficulty=3, topic=None, batch=offline.Batch()) is None
    other = "The Nanojit backend emits machine code for each trace of a loop."
    c = offline.Candidate(Passage(1, 1, "paper", other, 1, 1), other, space.terms[1], 0.5)
    assert build_draft("cloze", c, space, difficulty=3, topic=None, batch=offline.Batch())


def test_everyday_words_count_as_common_and_terms_of_a_field_do_not():
    assert everyday("call", "en") and everyday("term", "en")
    assert not everyday("warranty", "en") and not everyday("side exit", "en")
    assert commonness("programs", "en") > commonness("interpreter", "en")
    assert commonness("Elemente", "de") > commonness("Implementation", "de")


def test_german_everyday_words_are_told_on_german_frequencies():
    # German spreads a word's uses over its forms: "Teile", "Fenster" and "Verwendung" are
    # everyday words though rarer per form than English ones; "Geräte" and "Passwort" of a
    # manual on computers are not.
    assert all(everyday(w, "de") for w in ("Teile", "Fenster", "Verwendung"))
    assert not any(everyday(w, "de") for w in ("Geräte", "Passwort", "Rekursion"))
    assert commonness("Rekursion", "de") == 0.0


def test_a_sentence_asks_about_its_field_term_not_its_everyday_word():
    # "call" (the material's most salient term) and "interpreter" both stand in the sentence:
    # the question is on the interpreter, a notion of the field; an everyday word the
    # material does not define is no blank.
    text = (
        "A call passes arguments on the stack. The interpreter executes bytecode slowly. "
        "The recorder writes traces. The monitor counts edges. The compiler emits code. "
        "The assembler encodes instructions. "
    ) * 2
    space = _space(["call", "interpreter", "recorder", "monitor", "compiler", "assembler"], text)
    sentence = "After the call, the interpreter resumes the loop and records a new trace."
    assert _term_answers(space, sentence) == ["interpreter"]


def test_no_option_is_a_term_the_passage_uses_beside_the_key_s_sentence():
    # Notes on new and delete name the pointer a sentence away: "free the pointer with
    # delete" reads as true as "free the memory with delete"; terms from elsewhere do not.
    words = ["memory", "pointer", "member", "corollary", "printer", "user"]
    text = " ".join(f"The {w} is described in the notes. Each {w} matters." for w in words)
    space = _space(words, text)
    sentence = "When no longer needed, the programmer must free the memory with delete by hand."
    passage = Passage(1, 1, "notes", f"{sentence} A pointer holds the address of a cell.", 1, 1)
    c = offline.Candidate(passage, sentence, space.terms[0], 0.5)
    draft = build_draft("term", c, space, difficulty=3, topic=None, batch=offline.Batch())
    assert draft is not None and draft.options is not None
    assert "pointer" not in draft.options
    assert {"member", "corollary", "printer"} <= set(draft.options)


def test_a_swapped_in_plural_never_follows_a_singular_determiner():
    # "a series of questions" -> "a letters of questions": "series" ends in "-s" in both
    # numbers, so the determiner decides.
    sentence = "Here's a series of questions to ask when you want to write some tests."
    m = offline_text.find_term("series", sentence)
    assert not offline_forms._agrees(sentence, m, "letters", "en")
    assert offline_forms._agrees(sentence, m, "list", "en")
    these = "These tests run in the browser."
    assert not offline_forms._agrees(these, offline_text.find_term("tests", these), "test", "en")


def test_a_sentence_naming_a_kind_of_its_subject_defines_nothing():
    # "A product is a consumer product regardless of ..." is a claim about products, not
    # what a product is: no flashcard "What does the source mean by 'product'?" from it.
    text = (
        "A product is a consumer product regardless of whether the product has commercial "
        "uses. The product is sold. A typed trace is a trace annotated with a type for every "
        "variable. Each typed trace is short."
    )
    claim = "A product is a consumer product regardless of whether the product has commercial uses."
    assert offline_text.defined_term(claim, text) is None
    genus = "A typed trace is a trace annotated with a type for every variable."
    assert offline_text.defined_term(genus, text) == "typed trace"


def test_a_statement_question_changes_one_term_of_the_same_sentence():
    # The false statements are the key's own sentence with the key swapped for a wrong term
    # of the same form: one change a learner who understood the passage spots.
    words = ["interpreter", "recorder", "monitor", "compiler", "assembler"]
    text = " ".join(f"The {w} is a part. Each {w} has a task." for w in words) * 2
    space = _space(words, text)
    sentence = "After a side exit, the interpreter resumes the execution of the loop body."
    c = offline.Candidate(Passage(1, 1, "paper", sentence, 1, 1), sentence, space.terms[0], 0.5)
    draft = build_draft("statement", c, space, difficulty=3, topic=None, batch=offline.Batch())
    assert draft is not None and draft.options is not None
    assert sorted(draft.options) == sorted(
        sentence.replace("interpreter", w)
        for w in ("interpreter", "recorder", "monitor", "compiler")
    )
    assert draft.options[draft.correct_index] == sentence


def test_a_plural_possessor_is_never_the_blank():
    # "For both _____' and authors' sake": a possessor is a person, which the only person
    # among the options gives away (as "a _____'s belief" already is for a singular).
    text = "The users run the program. The users change it. Authors write the program. " * 3
    space = _space(["users", "program"], text)
    sentence = "For both users' and authors' sake, the GPL requires that changes be marked."
    m = offline_text.find_term("users", sentence)
    assert not offline.blankable(space.terms[0], sentence, m, space, "en")
    other = "The GPL requires that the users of the program see the changes marked."
    assert offline.blankable(
        space.terms[0], other, offline_text.find_term("users", other), space, "en"
    )


def test_a_common_name_is_still_asked_about():
    # "Europe" is as frequent as "call" in general language, but a name: a fact of the
    # material ("the Romans ruled most of _____"), not its wording.
    text = (
        "The Romans ruled most of Europe. Egypt fed the city. Gaul paid taxes. Britain "
        "sent tin. Spain sent silver. "
    ) * 2
    words = ["Europe", "Egypt", "Gaul", "Britain", "Spain"]
    space = _space(words, text, dict.fromkeys(words, "proper"))
    sentence = "By the second century the Romans ruled most of Europe and its islands."
    assert _term_answers(space, sentence) == ["Europe"]


def test_french_and_spanish_nouns_are_known_by_their_own_determiners():
    """A French noun stands after "le/la/les/un/une/des" or an elided "l'"/"d'"; a Spanish one
    after "el/la/los/las/un/una": with English determiners only, a 126-page French course
    gave 7 key terms and 3 questions."""
    fr = "La commande s'applique à tout le document. On règle l'extension avant la compilation."
    assert noun_like("commande", fr, "fr") and noun_like("extension", fr, "fr")
    assert not noun_like("commande", fr)  # English determiners only: not known as a noun
    assert not noun_like("applique", fr, "fr")  # a verb
    es = "El paquete define una macro. Los estudiantes usan la macro."
    assert noun_like("paquete", es, "es") and noun_like("macro", es, "es")
    assert not noun_like("define", es, "es")


def test_a_french_phrase_with_an_elided_word_is_no_key_term():
    text = (
        "Insertion d'une image. L'insertion d'une image se fait par la commande includegraphics. "
        "Une image est un fichier. La taille de l'image se règle par une option. "
    ) * 6
    terms = {t.text.casefold() for t in key_terms(text, lang="fr")}
    assert "image" in terms
    assert not any("'" in t for t in terms)


def test_the_kind_a_definition_names_is_a_rival_of_the_defined_term():
    # "A method is a function that belongs to an object": a learner who types "function"
    # into "The global scope associated with a _____ is its module" is as right.
    text = "A method is a function that belongs to an object. The module holds the class. " * 2
    space = _space(["method", "function", "module", "object"], text)
    space.definitions["method"] = "A function that belongs to an object."
    sentence = "The global scope associated with a method is the module containing its definition."
    m = offline_text.find_term("method", sentence)
    assert "function" in offline.rivals(space, "method", sentence, m, typed=True)
    assert "function" not in offline.rivals(space, "module", sentence, m, typed=True)


def test_a_capital_that_opens_sentences_and_nothing_special_make_no_noun():
    # "Valid method names ..." opens a sentence; inside sentences the material writes "valid"
    # before a noun: an adjective. "nothing special about" does not make "special" a noun.
    text = (
        "Valid attribute names are all the names. A valid method reference is found. "
        "The name is a valid attribute, and a valid class attribute is a valid object. "
        "There is nothing special about methods. A special method is called. The special "
        "syntax of operators is used. The methods of a class are called. A method is found. "
    ) * 3
    terms = [t.text for t in key_terms(text, top=30)]
    assert "method" in terms or "methods" in terms, terms
    assert not {"Valid", "valid", "special"} & set(terms), terms


def test_a_word_said_of_things_but_never_a_noun_after_a_determiner_is_no_key_term():
    # "true" ends phrases ("returns true.") but stands as a predicate ("is true if") and after
    # a determiner only before a noun ("a true value"): an adjective, an option of another
    # kind among "statement" and "comment". "code" is a noun ("the code is").
    text = (
        "The predicate returns true. X in iterator is true if X is found. The invariants are "
        "always true. Any returns a true value. The statement runs the code. The code is "
        "short. A comment explains the code of the statement. The statement is long. "
    ) * 3
    terms = [t.text for t in key_terms(text, top=30)]
    assert "code" in terms and "statement" in terms, terms
    assert "true" not in terms, terms


def test_a_modifier_before_a_noun_of_the_stop_word_list_is_still_a_modifier():
    # yake's English stop words hold "value": "a single value" is "single" modifying a noun,
    # so "single" (never a noun here) is no key term.
    text = (
        "The function returns a single value. A predicate takes a single value. It can take a "
        "single iterator argument. The iterator returns a value. The function calls the "
        "iterator. The predicate of the function is short. "
    ) * 3
    terms = [t.text for t in key_terms(text, top=30)]
    assert "iterator" in terms and "single" not in terms, terms
