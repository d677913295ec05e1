"""Spanish word forms that are no key term though yake finds them: verbs ("ejecuta",
"consulte", "construir", "pulsando"), adjectives ("estable", "nativo Debian", "múltiples
paquetes") and words capitalised only where they open a sentence ("Consulte", "Error"); and
sentences that point back to what came before ("Se trata de ...", "... de ellos").

A Spanish noun is told by a determiner that is never a pronoun ("el", "un", "una", "su"):
"la", "las", "los" and "lo" also stand before verbs as object pronouns ("se la ejecuta"),
and "al" before an infinitive ("al construir"), so they tell nothing."""

from __future__ import annotations

import re
from collections.abc import Iterable

_DETERMINER = (
    "el|un|una|unos|unas|del|este|esta|estos|estas|ese|esa|esos|esas|su|sus|tu|tus|cada|"
    "nuestro|nuestra|cualquier|ningún|ninguna"
)
# Noun endings that no verb form has.
_NOUN_ENDING = ("ión", "dad", "tad", "tud", "aje", "miento", "umbre", "ez", "or", "ismo")
_GERUND = ("ando", "iendo", "yendo")
_INFINITIVE = ("ar", "er", "ir")
# Endings of the present and subjunctive forms a text writes most ("ejecuta", "ejecutan",
# "consulte", "construye").
_FINITE = ("a", "e", "an", "en", "ye")
# Words after which a verb stands: object pronouns and negation; and before an infinitive,
# prepositions and modal verbs.
_BEFORE_VERB = "se|lo|le|les|me|te|nos|no"
_BEFORE_INFINITIVE = "para|sin|puede|pueden|puedes|debe|deben|debes|podrá|hay que|necesario"
# An object after the word: a transitive verb ("consulte el", "construir una").
_OBJECT_AFTER = "el|la|los|las|un|una|unos|unas|su|sus|tu|tus|este|esta|estos|estas"
# Adjective endings ("estable", "nativo", "múltiples", "operativo", "peligroso").
_ADJECTIVE = re.compile(r"(?:bles?|ivos?|ivas?|osos?|osas?|ples?)$")
_POINTING = frozenset(
    "ello ellos ellas ese esa esos esas eso aquel aquella aquellos aquellas".split()
)
# A sentence opening with its verb "es" leaves out its subject: what was said before.
_SUBJECTLESS = frozenset("es son era eran fue fueron".split())
_PLURAL_BEFORE = frozenset("los las unos unas estos estas esos esas".split())


def _found(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.IGNORECASE) is not None


def _after_determiner(word: str, text: str) -> bool:
    return _found(rf"(?<!\w)(?:{_DETERMINER})\s+{re.escape(word)}(?![\w-])", text)


def verb_only(word: str, text: str) -> bool:
    """Whether a single Spanish word is a verb of the material and never a noun: never after
    a determiner that is no pronoun, and a gerund ("pulsando"), or written after an object
    pronoun or "no" ("se ejecuta"), before an object ("consulte el"), or, as an infinitive,
    after "para", "sin" or a modal verb ("para construir")."""
    w = word.casefold()
    if " " in w or len(w) < 4 or w.endswith(_NOUN_ENDING) or _after_determiner(w, text):
        return False
    if w.endswith(_GERUND):
        return True
    if not w.endswith(_INFINITIVE + _FINITE):
        return False
    e = re.escape(w)
    if _found(rf"(?<!\w)(?:{_BEFORE_VERB})\s+{e}(?![\w-])", text):
        return True
    if _found(rf"(?<![\w-]){e}\s+(?:{_OBJECT_AFTER})(?!\w)", text):
        return True
    return w.endswith(_INFINITIVE) and _found(rf"(?<!\w)(?:{_BEFORE_INFINITIVE})\s+{e}(?!\w)", text)


def adjective(word: str, text: str) -> bool:
    """Whether a single Spanish word is an adjective: an adjective's ending ("estable",
    "nativo", "múltiples") and never after a determiner that is no pronoun, as a noun is
    ("el cable", "una variable")."""
    w = word.casefold()
    return " " not in w and bool(_ADJECTIVE.search(w)) and not _after_determiner(w, text)


def no_spanish_term(phrase: str, text: str) -> bool:
    """Whether a phrase yake finds is no Spanish noun phrase: a verb, an adjective, or a phrase
    that opens with an adjective ("múltiples paquetes", "nativo Debian"; a Spanish noun phrase
    opens with its noun)."""
    words = phrase.split()
    if len(words) == 1 and verb_only(phrase, text):
        return True
    return adjective(words[0], text)


def lower_case_form(phrase: str, text: str) -> str:
    """The phrase as the material writes it inside sentences: "Consulte", "Error" (capitalised
    where they open a sentence or a heading) become "consulte", "error"; a name the material
    writes capitalised at least as often as not ("Policy Manual", "Makefile", "GNU") stays."""
    if not phrase[:1].isupper() or phrase.isupper():
        return phrase
    lower = phrase.lower()
    found = re.findall(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text, re.IGNORECASE)
    return lower if 2 * found.count(lower) > len(found) else phrase


def points_back(words: list[str]) -> bool:
    """Whether a Spanish sentence leans on the one before it: it opens with "Se trata" ("It
    is ...": of what was said) or with "es" ("Generalmente es debido a ...": no subject), or
    names a thing by "ese", "ello", "ellos" ("Accede a ese directorio", "cada uno de
    ellos")."""
    folded = [w.casefold().strip(',;.()«»"') for w in words]
    if folded[:2] == ["se", "trata"] or any(w in _POINTING for w in folded):
        return True
    verb = folded[1] if folded[0].endswith("mente") and len(folded) > 1 else folded[0]
    return verb in _SUBJECTLESS


def number_slip(sentence: str, nouns: Iterable[str]) -> bool:
    """Whether a plural determiner stands before one of the singular nouns in the sentence
    ("por parte de los usuario", a slip of the source): asked about, with a blank there or
    elsewhere, it reads as a mistake of the question."""
    for noun in nouns:
        if _plural(noun.split()[0]):
            continue
        for m in re.finditer(rf"(?<![\w-]){re.escape(noun)}(?![\w-])", sentence, re.IGNORECASE):
            last = re.findall(r"([^\W\d_]+)\s*$", sentence[: m.start()])
            if last and last[0].casefold() in _PLURAL_BEFORE:
                return True
    return False


def _plural(word: str) -> bool:
    return word.casefold().endswith("s") and not word.casefold().endswith("is")
