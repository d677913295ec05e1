"""Offline questions read the material's prose, not its layout: no key term or option from a
table or a figure's labels, no sentence glued across two bullet items, and a typed answer only
where the key is a term of the material's own (pure generator functions, no database)."""

from __future__ import annotations

from engine.generation import offline
from engine.generation.drafts import Passage
from engine.generation.offline_english import adjective_only, gerund_only
from engine.generation.offline_forms import build_draft
from engine.generation.offline_layout import table_line

PROSE = (
    "The Theory of Planned Behavior model is very similar to the Theory of Reasoned Action\n"
    "model, except that it takes into account the additional construct of perceived control,\n"
    "which refers to the perception of control over the performance of a given behavior.\n"
)
# A figure's boxes, as the text layer reads them: the labels of two boxes on one line.
FIGURE = (
    "Behavioral Beliefs\n"
    "and Attitude\n"
    "Outcome Evaluations\n"
    "Normative Beliefs and Subjective Norms Intention Behavior\n"
    "Motivation to Comply\n"
    "Control Beliefs Perceived\n"
)


def _passage(text: str) -> Passage:
    return Passage(1, 1, "notes", text, 1, 1)


def test_the_labels_of_a_figure_or_table_give_no_key_terms_and_no_sentences():
    assert table_line("Normative Beliefs and Subjective Norms Intention Behavior")
    assert table_line("0.87 0.91 0.79 Yes")
    # Prose lines, wrapped anywhere, stay prose (a lower-case word, a comma, a sentence end).
    for line in PROSE.splitlines() + ["The Technology Acceptance Model (TAM) explains use"]:
        assert not table_line(line), line
    text = (PROSE + FIGURE + "\n") * 4
    space = offline.build_space(text, names=set(), embed=None)
    terms = {t.text.casefold() for t in space.terms}
    assert not {t for t in terms if "intention behavior" in t or "norms intention" in t}, terms
    assert "intention behavior" not in space.text.casefold()
    assert "perceived control" in space.text  # the prose around the figure is kept
    # A figure's line between two lines of a sentence never glues into it.
    glued = (
        "The perceived control of a person shapes the\n"
        "Intention Behavior Subjective Norms\n"
        "intention to use a system in the long run.\n"
    )
    assert all("Norms" not in s for s in offline.sentences(glued, "en"))


def test_a_gerund_with_its_object_opens_no_key_term():
    # "predicting system" is cut from "predicting system use": an action, not a notion.
    text = (
        "Researchers study predicting system use in many settings. TAM explains predicting "
        "system use well. The model aims at predicting the intention of a user. The system "
        "use of a user depends on the perceived usefulness of the system. "
    ) * 4
    terms = {t.text.casefold() for t in offline.key_terms(text)}
    assert "predicting system" not in terms, terms
    assert {"system use", "perceived usefulness"} & terms, terms


def test_a_typed_blank_needs_a_term_of_the_material_s_own():
    text = (
        "A trace tree is a tree of traces that share one loop header in the program. "
        "Perceived ease of use is the degree to which using a particular system is free of "
        "effort. A particular technology or a particular application may need training. "
        "Using a particular gadget is easy. The trace tree grows. The system runs. "
    ) * 2
    words = ["system", "particular gadget", "trace tree", "loop header"]
    space = offline.TermSpace(
        [offline.KeyTerm(w, 10 * i, 4) for i, w in enumerate(words)], None, frozenset(), text=text
    )
    space.definitions["trace tree"] = "A tree of traces that share one loop header."
    # "technology" typed for "system", or "particular technology" for "particular gadget"
    # (an adjective the material puts before anything), is just as right.
    for term, sentence in (
        (space.terms[0], "Ease of use is the degree to which using a particular system is free."),
        (space.terms[1], "Some learners find that a particular gadget needs no training at all."),
    ):
        c = offline.Candidate(_passage(sentence), sentence, term, 0.5)
        batch = offline.Batch()
        assert build_draft("cloze", c, space, difficulty=3, topic=None, batch=batch) is None
        assert batch.rejections == ["common_word_blank"], term
    # A term the material defines is what the learner types.
    defined = "The recorder extends the trace tree whenever a side exit becomes hot at run time."
    c = offline.Candidate(_passage(defined), defined, space.terms[2], 0.5)
    assert build_draft("cloze", c, space, difficulty=3, topic=None, batch=offline.Batch())


def test_bullet_items_the_text_layer_glued_are_never_one_sentence():
    notes = (
        "\u2022 Ziel: benutze den template-Mechanismus, damit eine Implementation für viele Typen\n"
        "verwendbar ist\n"
        "erweitert funktionale und prozedurale und objekt-orientierte Programmierung heute\n"
        "\u2022 zwei Arten von Templates werden in dieser Vorlesung der Reihe nach besprochen\n"
    )
    found = offline.sentences(notes, "de")
    assert not any("erweitert" in s for s in found), found
    # A short label after an item ("Adressen und Zeiger", the next section's title) is no
    # end of the item's sentence.
    labelled = (
        "\u21d2 erst wenn beide Testfunktionen laufen, kann man relativ sicher sein, dass alles "
        "klappt\nAdressen und Zeiger\nbisher werden Speicherzellen über ihre Namen angesprochen, "
        "nun über ihre Adressen\n"
    )
    assert not any("Zeiger" in s for s in offline.sentences(labelled, "de"))
    # A short line that ends in an article goes on in the next line: never cut there.
    wrapped = (
        "\u2022 Zeit hängt besonders von der Qualität der Implementation, den Daten und der\n"
        "Hardware ab.\n"
        "\u2022 die Anzahl der Schritte eines Algorithmus hängt nur von der Größe der Eingabe ab\n"
    )
    kept = offline.sentences(wrapped, "de")
    assert not any(s.endswith("und der") for s in kept), kept
    # Nor when the line it goes on in is short and capitalised, as a label is ("Hardware ab"
    # without a full stop, as the notes write it): it is the end of the sentence.
    kept = offline.sentences(wrapped.replace("Hardware ab.", "Hardware ab"), "de")
    assert not any(s.endswith("und der") for s in kept), kept
    assert any(s.endswith("den Daten und der Hardware ab") for s in kept), kept
    assert (
        "Benutze den template-Mechanismus, damit eine Implementation für viele Typen verwendbar ist"
    ) in found


def test_a_line_glued_to_a_sentence_without_its_end_is_no_candidate():
    glued = "Preamble The General Public License is a free licence for software and other works."
    assert not offline.is_candidate(glued, "en")
    assert offline.is_candidate(glued.removeprefix("Preamble "), "en")
    # A capitalised article after a colon or in quotes begins a quote or title, not a restart.
    assert offline.is_candidate("The licence names one rule: The work stays free for all.", "en")
    notes = "Der Compiler ersetzt den Platzhalter Die Klasse wird dann für jeden Typ übersetzt."
    assert not offline.is_candidate(notes, "de")
    assert offline.is_candidate(notes.replace(" Die Klasse", ", und die Klasse"), "de")


def test_adjectives_cut_phrases_and_name_tails_are_no_key_terms():
    # Options of another kind: "important" (an adjective) among nouns, "programs trace" (two
    # phrases cut across), "Action" (the end of a name) for a common noun.
    text = (
        "The system is important for the user. An important factor is the user of a system. "
        "Benchmark programs trace loops, and the traces of programs are short. The Theory of "
        "Reasoned Action explains the attitude of a user. Reasoned Action and the attitude "
        "of the user shape the use of the system. "
    ) * 4
    terms = {t.text for t in offline.key_terms(text)}
    assert not {"important", "programs trace", "Action"} & terms, terms
    assert {"system", "user", "attitude"} & terms, terms


def test_an_adjective_ending_a_phrase_somewhere_is_no_key_term_when_its_adverb_is_written():
    # "the current where" ends a phrase, yet "current" is an adjective: the material writes
    # "currently" and never "currents"; "trace" ends phrases and has a plural.
    text = (
        "The recorder extends the current trace. The monitor checks the current where a loop "
        "starts. The current loop and the current trace are recorded. The recorder currently "
        "compiles each trace. Traces are short, and the trace is compiled once. "
    ) * 4
    terms = {t.text for t in offline.key_terms(text)}
    assert "current" not in terms, terms
    assert "trace" in terms or "traces" in terms, terms


def test_an_adjective_after_really_or_before_its_noun_is_no_key_term():
    # "simple" ends a phrase only after "Really" ("Really simple:") and otherwise stands
    # before a noun ("a simple markup"): an adjective, which an option among nouns ("piece",
    # "content", "bottom") gives away. "content" heads its phrases: a noun.
    text = (
        "Really simple: open a web page and check the result. A reftest compares one page "
        "with a simple markup and one page with more complex markup. The test scrolls to the "
        "bottom of the page and back to the top. The bottom of each page holds the content. "
        "Every piece of content is checked, and the content of each page is tested. "
    ) * 3
    terms = {t.text for t in offline.key_terms(text)}
    assert "simple" not in terms, terms
    assert "content" in terms, terms


def test_an_le_adjective_is_known_by_its_ly_adverb():
    # "simple" -> "simply" (not "simplely"): the adverb in the material marks an adjective.
    text = "The monitor simply records the loop. The simple loop is short. "
    assert adjective_only("simple", text)
    assert not adjective_only("loop", text)


def test_no_typed_blank_for_a_spelled_out_acronym_or_a_german_noun_alone():
    text = (
        "The GNU General Public License (GPL) is a free licence. The GPL protects users. "
        "Eine Implementation der Klasse ist verborgen. Die Implementation kann wechseln. "
    ) * 3
    space = offline.TermSpace(
        [offline.KeyTerm("GPL", 0, 6, "acronym"), offline.KeyTerm("Implementation", 1, 6)],
        None,
        frozenset(),
        text=text,
    )
    # "License" typed for "GPL", "Implementierung" for "Implementation": just as right.
    sentence = "To prevent misuse, the GPL assures that patents cannot make the program non-free."
    c = offline.Candidate(_passage(sentence), sentence, space.terms[0], 0.5)
    assert build_draft("cloze", c, space, difficulty=3, topic=None, batch=offline.Batch()) is None
    space.language = "de"
    notes = "Die interne Implementation kann geändert werden, ohne den Benutzer zu stören."
    c = offline.Candidate(_passage(notes), notes, space.terms[1], 0.5, "de")
    assert build_draft("cloze", c, space, difficulty=3, topic=None, batch=offline.Batch()) is None


def test_half_of_a_phrase_the_whole_material_fixes_is_no_blank():
    # The sampled text writes "loop edge" once; the whole material writes "loop edges" and
    # "loop edge" again and again: "_____ edges" would ask for half of one term.
    sample = "The recorder follows each loop edge back to the header. " + (
        "The loop runs often. A trace tree grows from the loop. The loop is hot. " * 2
    )
    whole = sample + "Loop edges close the tree. The monitor counts loop edges twice. " * 3
    sentence = "The monitor records all loop edges that the interpreter takes."
    term = offline.KeyTerm("loop", 0)
    m = offline.find_term("loop", sentence)
    sampled = offline.build_space(sample, names=set(), embed=None)
    assert offline.blankable(term, sentence, m, sampled, "en")
    space = offline.build_space(sample, names=set(), embed=None, whole=whole)
    assert not offline.blankable(term, sentence, m, space, "en")
    # "normative _____": the material writes "normative beliefs" twice, once in a figure.
    text = "A person's normative beliefs shape the norm. Beliefs matter. The beliefs of a person."
    space = offline.build_space(text, names=set(), embed=None, whole=text + "\nNormative Beliefs\n")
    s = "The norm is the sum of normative beliefs that a person holds about others."
    beliefs = offline.KeyTerm("beliefs", 0)
    assert not offline.blankable(beliefs, s, offline.find_term("beliefs", s), space, "en")
    # "Corresponding _____": a capitalised word inside sentences is part of the term even
    # when it is a common word ("corresponding" is on the stop list).
    text = (
        "You must convey the Corresponding Source of the work. The source code is the "
        "preferred form. The Corresponding Source includes scripts. The source is free. "
    )
    space = offline.build_space(text, names=set(), embed=None)
    s = "Convey the object code with the Corresponding Source fixed on a durable medium."
    source = offline.KeyTerm("source", 0)
    assert not offline.blankable(source, s, offline.find_term("source", s), space, "en")
    s = "The source is what a programmer edits to change the program."
    assert offline.blankable(source, s, offline.find_term("source", s), space, "en")


def test_a_verb_in_s_is_no_key_term_though_a_determiner_like_word_stands_before_it():
    # "This executes the loop" put "executes" after a determiner, and "executes in" ends a
    # phrase; but the material never writes "the executes" and does write "to execute".
    text = (
        "The monitor decides when to execute a trace. This executes the loop in native code. "
        "The bytecode executes in the interpreter, and TM executes JS as compiled traces. "
        "The traces are short. The recorder keeps the traces it compiled, and the trace "
        "reaches the loop header. Traces are executed once the header is reached. "
    ) * 4
    terms = {t.text for t in offline.key_terms(text)}
    assert not {"executes", "trace reaches"} & terms, terms
    assert "traces" in terms, terms


def test_a_subject_cut_from_its_verb_by_a_lone_comma_is_no_candidate():
    # The scanned page's lines of two places run together: "Swanson usefulness, was ...".
    cut = (
        "Swanson usefulness, was defined as the extent to which a behavior once successfully "
        "executed is believed to be linked to valued outcomes."
    )
    assert not offline.is_candidate(cut, "en")
    whole = (
        "Outcome judgment, which was similar to perceived usefulness, was defined as the "
        "extent to which a behavior is linked to valued outcomes."
    )
    assert offline.is_candidate(whole, "en")
    assert offline.is_candidate(
        "In short, Davis proposed a model of how people use a system.", "en"
    )


def test_no_blank_for_a_common_noun_before_a_possessive():
    # "a _____'s internal belief": "person", "individual" and "user" all fit a possessor.
    text = "A person holds beliefs. The user of a system. Each individual decides. " * 3
    space = offline.build_space(text, names=set(), embed=None)
    s = "Responses can be used as an indication of a person's internal belief about the system."
    person = offline.KeyTerm("person", 0)
    assert not offline.blankable(person, s, offline.find_term("person", s), space, "en")
    # A name or acronym owns what follows it: "TAM's assumptions" asks about TAM.
    s = "Researchers share mixed opinions about TAM's theoretical assumptions and its use."
    tam = offline.KeyTerm("TAM", 1, 3, "acronym")
    assert offline.blankable(tam, s, offline.find_term("TAM", s), space, "en")


def test_a_gerund_never_used_as_a_noun_is_no_key_term():
    # "measuring" stands only before its object ("for measuring the usefulness"), never
    # after an article, as "the recording" does: an option "measuring" among nouns is a verb.
    text = (
        "Scales for measuring were tested in two studies. A scale for measuring ease of use "
        "was built. The recording of each trace is short. Trace recording starts at a loop, "
        "and the recording stops at its end. Measuring usefulness takes time. "
    ) * 4
    assert gerund_only("measuring", text) and gerund_only("Measuring", text)
    assert not gerund_only("recording", text)
    terms = {t.text for t in offline.key_terms(text)}
    assert "measuring" not in terms, terms
    assert "recording" in terms or "trace recording" in terms, terms
