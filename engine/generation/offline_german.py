"""German word forms that are no key term of their own: a noun in the genitive ("des
Programms", "des Aufrufs") or the dative plural ("den Elementen") beside its base form, or an
adjective that opens a line ("Objektorientierte"). As an option it stands in another case or
is of another kind than the blank's noun."""

from __future__ import annotations

import re

# Endings of German adjectives and participles, capitalised only where they open a line.
_ADJECTIVE = re.compile(r"(?:ierte|ierten|isch|ische|ischen|liche|lichen|ige|igen)$")


def inflected(word: str, text: str) -> bool:
    """Whether a single German noun is its base form inflected: "-s"/"-es" after a genitive
    article where the material writes the base ("Programm"), or "-n" where it writes the
    plural in "-e" ("Elemente")."""
    if " " in word or not word[:1].isupper():
        return False
    if _ADJECTIVE.search(word):
        return True  # "Objektorientierte" opening a line: an adjective, not a noun

    def used(form: str) -> bool:
        return re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", text) is not None

    if word.endswith("n") and word[:-1].endswith("e") and used(word[:-1]):
        return True
    for base in (word[:-1], word[:-2]) if word.endswith("es") else (word[:-1],):
        if word.endswith("s") and len(base) >= 3 and used(base):
            genitive = rf"\b(?:des|eines|dieses|jedes|keines|seines|ihres)\s+{re.escape(word)}\b"
            if re.search(genitive, text, re.IGNORECASE):
                return True
    return False
