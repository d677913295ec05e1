"""German word forms: those that are no key term of their own (a noun in the genitive, "des
Programms", or the dative plural, "den Elementen", beside its base form; an adjective that
opens a line, "Objektorientierte"; a verb used as a noun among things), finite verbs of notes'
items, and a noun's number (from the material's other forms and the verb after it), so that
an option stands in the blank's case, kind and number."""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

from wordfreq import zipf_frequency

# Endings of German adjectives and participles, capitalised only where they open a line.
_ADJECTIVE = re.compile(r"(?:ierte|ierten|isch|ische|ischen|liche|lichen|ige|igen)$")


def inflected(word: str, text: str) -> bool:
    """Whether a single German noun is its base form inflected: "-s"/"-es" after a genitive
    article where the material writes the base ("Programm"), or "-n" where it writes the
    plural in "-e" ("Elemente") or the word without it ("Fenster")."""
    if " " in word or not word[:1].isupper():
        return False
    if _ADJECTIVE.search(word):
        return True  # "Objektorientierte" opening a line: an adjective, not a noun

    def used(form: str) -> bool:
        return re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", text) is not None

    if word.endswith("n") and word[:-1].endswith("e") and used(word[:-1]):
        return True
    if word.endswith(("ern", "eln")) and used(word[:-1]):
        return True  # "Fenstern" beside "Fenster": a dative plural
    if not word.endswith("s") or word.endswith(("us", "ss")):
        return False
    after = rf"\b({_DETERMINER})\s+(?:[a-zäöüß]+e[nrs]?\s+)?{re.escape(word)}(?![\w-])"
    articles = [a.casefold() for a in re.findall(after, text, re.IGNORECASE)]
    genitive = [a for a in articles if a in _GENITIVE]
    if articles and len(genitive) == len(articles):
        return True  # only ever "des letzten Zugriffs": the genitive of a noun
    bases = (word[:-1], word[:-2]) if word.endswith("es") else (word[:-1],)
    return bool(genitive) and any(len(base) >= 3 and used(base) for base in bases)


_GENITIVE = frozenset("des eines dieses jedes keines seines ihres".split())
_DETERMINER = "|".join(
    sorted(_GENITIVE | set("der die das den dem ein eine einen einem einer".split()), key=len)[::-1]
)


# A lower-case word in "-t" whose infinitive is a common German word: a finite verb of the
# third person ("definiert", "ruft", "bildet", "ändert") that a fixed list of verbs misses.
_WORD_T = re.compile(r"(?<![\w-])[a-zäöüß]{3,}t(?![\w-])")
_INFINITIVE_ZIPF = 3.0


def finite_verb(sentence: str) -> bool:
    """Whether a German clause has a finite verb in "-t" ("Die Basisklasse definiert die
    Schnittstelle"): lecture notes write most of their items so, without a full stop."""
    for word in _WORD_T.findall(sentence):
        infinitives = [word[:-1] + "en"]  # ruft: rufen
        if word.endswith("et"):
            infinitives.append(word[:-2] + "en")  # bildet: bilden
        if word.endswith(("ert", "elt")):
            infinitives.append(word[:-1] + "n")  # ändert: ändern
        if any(zipf_frequency(v, "de") >= _INFINITIVE_ZIPF for v in infinitives):
            return True
    return False


def capitalised_only_at_starts(word: str, text: str) -> bool:
    """Whether a capitalised German word is no noun: the material writes it in lower case
    inside its sentences ("bestimmte", "spezielle") more often than capitalised there, so its
    capital comes from the start of a sentence or a line ("Bestimmte Dateien ...")."""
    if not word[:1].isupper() or word.isupper():
        return False
    inside = rf"(?<=[a-zäöüß,;] ){re.escape(word)}(?![\w-])"
    # In prose: after a word, before a space or punctuation (not "v.reserve(n)" in code).
    lower = rf"(?<=[^\W\d_] ){re.escape(word[:1].lower() + word[1:])}(?=[\s,;:!?]|\.(?:\s|$))"
    return len(re.findall(lower, text)) > len(re.findall(inside, text))


_NEUTER = frozenset("das dem des".split())


def nominalised_verb(term: str, articles: Collection[str]) -> bool:
    """Whether a German term is a verb used as a noun ("das Hinzufügen"): neuter, in "-en",
    and its stem with "-t" is a verb ("hinzufügt"). Such an option stands out among things."""
    if " " in term or not term.endswith("en") or not articles or set(articles) - _NEUTER:
        return False
    return zipf_frequency(term[:-2].casefold() + "t", "de") >= 2.5


def may_be_plural(term: str) -> bool:
    """Whether a German noun's ending allows a plural ("Daemon" does not)."""
    return term.casefold().endswith(("e", "en", "er", "s", "el", "ln", "rn"))


# Endings of German feminine singular nouns (never plural): "die Funktion", "der Umgebung".
DE_FEMININE = ("ion", "ung", "heit", "keit", "schaft", "tät", "ik", "enz", "anz")
_DE_PLURAL_ENDINGS = ("nen", "en", "er", "n", "e", "s")
# Finite verbs whose form shows the number of the subject before them.
_DE_VERB_NUMBER = {
    **dict.fromkeys(
        "ist war wird wurde hat hatte kann muss soll darf gibt gilt enthält liefert "
        "bedeutet heißt braucht macht speichert zeigt beschreibt".split(),
        "sg",
    ),
    **dict.fromkeys(
        "sind waren werden wurden haben hatten können müssen sollen dürfen geben gelten "
        "enthalten liefern bedeuten heißen brauchen machen speichern zeigen beschreiben".split(),
        "pl",
    ),
}


def german_number(term: str, words: Collection[str]) -> str | None:
    """'sg' or 'pl' for a German noun (the term's last word), from a singular-only ending or
    the material's other form of the same noun ("Zahl" beside "Zahlen", "Wert" beside
    "Werte"); None when the material does not tell. `words`: the material's words, folded."""
    last = term.split()[-1].casefold()
    if last.endswith(DE_FEMININE) or last.endswith("nis"):
        return "sg"
    if last.endswith("nisse"):
        return "pl"  # "Verzeichnisse" of "Verzeichnis"
    for suffix in _DE_PLURAL_ENDINGS:
        if last.endswith(suffix) and len(last) - len(suffix) >= 3 and last[: -len(suffix)] in words:
            return "pl"
    if last.endswith("e") and general_number(last) == "pl":
        return "pl"  # "Zugriffsrechte": "Zugriffsrechten" beside it is its dative plural
    for suffix in ("en", "e", "n", "s", "er"):
        if suffix == "n" and last.endswith(("er", "el")):
            continue  # "Programmierern" is a dative plural, not a plural of a singular
        if last + suffix in words:
            return "sg"
    return general_number(last)


_UMLAUT = str.maketrans("äöü", "aou")
_COMMON = 3.0  # zipf: a word German writes often enough for its forms to tell


@lru_cache(maxsize=4096)
def general_number(word: str) -> str | None:
    """'sg' or 'pl' for a German noun the material does not tell, from the language's word
    frequencies: "Orte" is more often the plural of "Ort" than a singular with forms "Orten";
    "Kopie" has the plural "Kopien"; a compound goes by its last common part ("Zugriffsrechte":
    "Rechte"). None when neither form is common."""
    word = word.casefold()
    head = next(
        (
            word[i:]
            for i in range(max(1, len(word) - 3))
            if zipf_frequency(word[i:], "de") >= _COMMON
        ),
        word,
    )
    plural = max(
        (
            max(zipf_frequency(base, "de"), zipf_frequency(base.translate(_UMLAUT), "de"))
            for suffix in ("e", "en", "n", "er", "s")
            if head.endswith(suffix)
            and len(base := head[: -len(suffix)]) >= 3
            # "-er" makes a plural only with an umlaut ("Wörter"): "Benutzer" is one user
            and (suffix != "er" or base != base.translate(_UMLAUT))
        ),
        default=0.0,
    )
    singular = max(zipf_frequency(head + suffix, "de") for suffix in ("n", "en", "e", "s", "er"))
    if plural >= _COMMON and plural > singular:
        return "pl"
    if singular >= _COMMON and singular > plural:
        return "sg"
    return None


def verb_number(sentence: str, m: re.Match[str]) -> str | None:
    """The number the German finite verb right after the match demands of it ("_____ wurde
    ..." a singular), or None."""
    nxt = re.match(r"\s+([^\W\d_]+)", sentence[m.end() :])
    return _DE_VERB_NUMBER.get(nxt.group(1).casefold()) if nxt else None
