"""Spanish offline questions: key terms are nouns (not verbs, adjectives or words capitalised
where they open a sentence), options agree with the blank's article, and sentences that lean on
the one before are not asked about (pure generator functions, no database)."""

from __future__ import annotations

from engine.generation import offline
from engine.generation.drafts import Passage
from engine.generation.lint import options_not_distinct
from engine.generation.offline_forms import build_draft
from engine.generation.offline_spanish import lower_case_form, no_spanish_term, verb_only
from engine.generation.offline_text import find_term, is_candidate

# Sentences of a Debian manual's kind: verbs ("ejecuta", "consulte", "construir", "pulsando")
# and adjectives ("estable", "nativo", "múltiples") beside the nouns.
MANUAL = (
    "El sistema ejecuta el programa cuando el usuario lo pide. Consulte el manual del paquete "
    "antes de instalarlo. La distribución estable recibe parches de seguridad. Para construir "
    "el paquete se necesita el código fuente. Pulsando la tecla Intro se ejecuta la orden. "
    "Un paquete nativo Debian no tiene fuentes originales. El archivo contiene múltiples "
    "paquetes del repositorio. Se ejecuta la orden en el directorio. Consulte el archivo de "
    "configuración. El usuario puede construir un paquete nuevo. El sistema estable no "
    "cambia. La orden se ejecuta pulsando la tecla. Un paquete estable y un paquete nativo. "
)


def test_spanish_verbs_and_adjectives_are_no_key_terms():
    # A 42-page Spanish manual gave "ejecuta", "Consulte", "Construir", "Pulsando" (verbs),
    # "estable", "nativo Debian", "múltiples paquetes" (adjectives) as key terms: as blanks
    # or options among nouns they are of another kind.
    terms = {t.text.casefold() for t in offline.key_terms(MANUAL * 4, top=60, lang="es")}
    assert terms, terms
    found = terms & {"ejecuta", "consulte", "construir", "pulsando", "estable", "nativo debian"}
    assert not found, found
    assert not any(t.startswith("múltiples") for t in terms), terms
    assert {"paquete", "sistema"} <= terms | {t.split()[0] for t in terms}


def test_spanish_verbs_and_adjectives_are_told_from_nouns_by_their_use():
    text = MANUAL * 2
    for verb in ("ejecuta", "consulte", "Construir", "pulsando"):
        assert verb_only(verb, text), verb
    for noun in ("paquete", "sistema", "tecla", "orden", "distribución", "configuración"):
        assert not verb_only(noun, text), noun
        assert not no_spanish_term(noun, text), noun
    for phrase in ("estable", "nativo Debian", "múltiples paquetes"):
        assert no_spanish_term(phrase, text), phrase
    # A noun in an adjective's ending stands after "el" or "una": "el cable", "una variable".
    cables = "El cable une los equipos. Una variable guarda el valor del cable estable."
    assert not no_spanish_term("cable", cables) and not no_spanish_term("variable", cables)


def test_a_word_capitalised_where_it_opens_a_sentence_is_asked_in_lower_case():
    text = "Error de lectura. El error aparece al leer. Un error grave. Makefile. El Makefile."
    assert lower_case_form("Error", text) == "error"
    assert lower_case_form("Makefile", text) == "Makefile"  # a name: mostly capitalised
    assert lower_case_form("GNU", text) == "GNU"


def _space(words: list[str], text: str) -> offline.TermSpace:
    return offline.TermSpace(
        [offline.KeyTerm(w, 10 * i, 4) for i, w in enumerate(words)],
        None,
        frozenset(),
        text=text,
        language="es",
    )


def test_spanish_options_agree_with_the_noun_that_heads_them():
    # "la _____" for "distribución" offered "paquetes Debian" (the phrase's last letter, "n",
    # matched) and "modo" ("una nueva modo": seen only after "este").
    text = (
        "La distribución cambia. Con paquetes Debian se instala todo. Los paquetes llegan. "
        "Este modo es sencillo. La versión nueva llega. Las herramientas ayudan. En "
        "Paquetes Instalados hay muchos. Las órdenes se ejecutan."
    )
    space = _space(["distribución", "paquetes Debian", "modo", "versión"], text)
    assert space.same_form("versión", "distribución")
    assert not space.same_form("paquetes Debian", "distribución")
    assert not space.same_form("modo", "distribución")
    # A capitalised label never stands where a common noun does.
    assert not space.same_form("Paquetes Instalados", "herramientas")
    assert space.same_form("órdenes", "herramientas")


def test_a_spanish_term_question_offers_only_options_of_the_blanks_gender_and_number():
    text = (
        "La distribución estable recibe parches. La versión nueva se publica cada año. "
        "La configuración del sistema se guarda en archivos. La instalación del sistema es "
        "sencilla. Con paquetes Debian se instala todo. Los paquetes llegan. Este modo es el habitual. "
        "El archivo contiene datos. La sesión se abre con la contraseña. "
    ) * 3
    words = ["distribución", "paquetes Debian", "modo", "versión", "configuración", "sesión"]
    space = _space(words, text)
    sentence = "Cuando se cambia a una nueva distribución se debe considerar un sistema limpio."
    c = offline.Candidate(Passage(1, 1, "m", sentence, 1, 1), sentence, space.terms[0], 0.5, "es")
    draft = build_draft("term", c, space, difficulty=3, topic=None, batch=offline.Batch())
    assert draft is not None and draft.options
    wrong = {o for i, o in enumerate(draft.options) if i != draft.correct_index}
    assert not wrong & {"paquetes Debian", "modo"}, wrong


def test_spanish_sentences_that_lean_on_the_one_before_are_not_asked():
    for s in (
        "Se trata solo de un ejemplo del contenido del archivo Makefile del paquete.",
        "Accede a ese directorio y lee atentamente la documentación del programa.",
        "En este capítulo se resumirá lo que puede hacerse con cada uno de ellos y su formato.",
        "Generalmente es debido a un problema con el archivo Makefile del paquete.",
        "Es necesario instalar el paquete antes de construir el programa nuevo.",
    ):
        assert not is_candidate(s, "es"), s
    assert is_candidate("El permiso de escritura permite al dueño modificar el archivo.", "es")
    assert is_candidate("Los usuarios pueden leer el archivo si pertenecen al grupo.", "es")


def test_a_blank_never_cuts_a_file_name():
    s = "La edición de los archivos configure.ac y Makefile.am requiere conocer automake."
    assert find_term("Makefile", s) is None
    assert find_term("Makefile", "No hay página de manual en el Makefile de gentoo.")
    assert find_term("trace", "The trace. It ends.")


def test_a_sentence_with_a_plural_article_before_a_singular_noun_is_not_asked_about():
    # "por parte de los usuario": a slip of the source, which the question would repeat.
    text = "El usuario ejecuta programas. Los programas usan órdenes. La orden es corta. " * 3
    space = _space(["usuario", "programas", "órdenes", "orden"], text)
    sentence = (
        "Mediante trabajos en segundo plano se pueden ejecutar por parte de los usuario "
        "múltiples programas desde un único intérprete de órdenes."
    )
    m = find_term("órdenes", sentence)
    assert m is not None
    assert not offline.blankable(space.terms[2], sentence, m, space, "es")
    fine = sentence.replace("los usuario", "los usuarios")
    m = find_term("órdenes", fine)
    assert m is not None and offline.blankable(space.terms[2], fine, m, space, "es")


def test_a_spanish_term_question_offers_no_two_nearly_same_options():
    # A manual's terms are a few head nouns with modifiers: the three nearest were often
    # "sistema", "sistema Debian" and "sistema APT", which the lint refuses side by side
    # (with four other such refusals, a 42-page manual gave 19 of 20 questions).
    text = (
        "El sistema arranca. El sistema Debian arranca. El sistema APT instala. El archivo "
        "guarda datos. El directorio guarda archivos. El paquete instala programas. El editor "
        "cambia textos. "
    ) * 3
    words = ["archivo", "sistema", "sistema Debian", "sistema APT", "directorio", "editor"]
    space = _space(words, text)
    sentence = "El permiso de escritura permite al dueño modificar el archivo de su cuenta."
    c = offline.Candidate(Passage(1, 1, "m", sentence, 1, 1), sentence, space.terms[0], 0.5, "es")
    draft = build_draft("term", c, space, difficulty=3, topic=None, batch=offline.Batch())
    assert draft is not None and draft.options
    assert not options_not_distinct(draft), draft.options


def test_an_infinitive_after_a_pronoun_that_can_be_a_determiner_is_still_a_verb():
    # "permite a otros crear distribuciones": "otros" stands for people, as "otras" and
    # "otro" can; taken for a determiner it made "crear" a noun, and an option among nouns.
    text = "Debian permite a otros crear distribuciones. Es preferible no crear enlaces. " * 2
    assert verb_only("crear", text)


def test_tipo_is_a_generic_word_as_type_is():
    # "sistemas tipo Unix" ("Unix-like") gave the key term "tipo Unix", an option that
    # reads as no noun phrase ("El tipo Unix ofrece ...").
    text = (
        "Los sistemas tipo Unix usan archivos. El sistema tipo Unix tiene un núcleo. El "
        "archivo guarda datos del sistema. Un sistema tipo Unix tiene usuarios. "
    ) * 4
    terms = {t.text for t in offline.key_terms(text, top=60, lang="es")}
    assert terms and not any("tipo" in t.split() for t in terms), terms
