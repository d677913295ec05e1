"""English word forms that are no key term though they end a phrase somewhere: adjectives
("current": "currently" is written, no "currents"), verbs in "-s" ("executes") and gerunds
never used as nouns ("measuring": "for measuring the ...", never "the measuring")."""

from __future__ import annotations

import re


def adjective_only(word: str, text: str) -> bool:
    """Whether a lower-case English word is an adjective though it ends a phrase somewhere
    ("the current where ..."): the material writes its adverb ("currently", "actually",
    "directly") and never a plural of it, as a noun would have ("traces", "loops")."""
    if not word.islower() or " " in word or word.endswith("s"):
        return False
    w = re.escape(word)
    if re.search(rf"(?<![\w-]){w}e?s(?![\w-])", text, re.IGNORECASE):
        return False
    base = re.escape(word.removesuffix("e").removesuffix("y"))
    # "simple" -> "simply", "possible" -> "possibly": an "-le" adjective drops its "e".
    adverb = re.escape(word[:-1]) + "y" if word.endswith("le") else rf"{base}i?ly"
    return bool(re.search(rf"(?<![\w-])(?:{adverb})(?![\w-])", text, re.IGNORECASE))


def modifies_more(word: str, text: str, stop: frozenset[str]) -> bool:
    """Whether a lower-case English word mostly stands before another content word (as the
    modifier of a noun: "a simple markup"), heads its own phrase (before a function word or
    punctuation, not as a predicate: "the bottom then", "a trace.") at most once, and the
    material never writes it in the plural: an adjective, which an option among nouns gives
    away. A noun heads its phrase more often than it modifies, or has a plural ("loops")."""
    if not word.islower() or " " in word or word.endswith("s"):
        return False
    w = re.escape(word)
    if re.search(rf"(?<![\w-]){w}e?s(?![\w-])", text, re.IGNORECASE):
        return False
    modifies = heads = 0
    found = rf"(?:([^\W\d_]+)\s+)?(?<![\w-]){w}(?![\w-])(?:\s+([^\W\d_]+))?"
    for before, nxt in re.findall(found, text, re.IGNORECASE):
        if nxt and (nxt.casefold() not in stop or nxt.casefold() in NOUNS_IN_STOP_LIST):
            modifies += 1
        elif before.casefold() not in PREDICATE_BEFORE:  # "is simple." is no noun heading a phrase
            heads += 1
    # A noun in the first place of a compound ("source code", "chrome tests") still heads
    # a few phrases of its own.
    return modifies > heads and heads <= 1


# Nouns that the English stop-word list (yake's) holds: "a single value" is a modifier and its
# noun, not "single" heading its phrase.
NOUNS_IN_STOP_LIST = frozenset("value values example examples course cause causes changes".split())


# Words after which a word ending its phrase is a predicate ("is important.") or intensified
# ("really simple"), not a noun.
PREDICATE_BEFORE = frozenset(
    """is are was were be been being very more most so too less least quite rather as not
really extremely fairly relatively highly nothing something anything everything""".split()
)


# Determiners before a plural noun (not "this" or "that", which also stand for a clause:
# "This executes the loop").
_PLURAL_BEFORE = "the|these|those|its|their|our|some|many|all|such|both|several|few|other|no"


def verb_form(word: str, text: str) -> bool:
    """Whether an English word in "-s" is a verb of the material, not a plural: never right
    after a determiner ("the traces") and its stem used as a verb ("TM executes JS": "to
    execute", "is executed")."""
    w = word.casefold()
    if " " in w or not w.endswith("s") or w.endswith("ss") or len(w) < 5:
        return False
    if re.search(rf"\b(?:{_PLURAL_BEFORE})\s+{re.escape(word)}(?![\w-])", text, re.IGNORECASE):
        return False
    stems = {w[:-1], w[:-2]} if w.endswith("es") else {w[:-1]}
    alt = "|".join(re.escape(x) for x in stems)
    modal = r"\b(?:to|can|must|will|may|should|would|could|cannot)"
    return bool(
        re.search(rf"{modal}\s+(?:{alt})\b", text, re.IGNORECASE)
        or re.search(rf"\b(?:{alt})e?d\b", text, re.IGNORECASE)
    )


def gerund_only(word: str, text: str) -> bool:
    """Whether an English word in "-ing" is only ever a verb: never after an article or a
    possessive ("the recording", "a tracing" are nouns; "for measuring the ..." is not)."""
    if " " in word or not word.casefold().endswith("ing") or len(word) < 6:
        return False
    noun = rf"\b(?:the|a|an|this|these|its|their|our|his|her)\s+{re.escape(word)}(?![\w-])"
    return re.search(noun, text, re.IGNORECASE) is None


_PREDICATE_VERB = "is|are|was|were|be|been|being|becomes?|remains?|always|never"
_DETERMINER = "a|an|the|this|that|these|those|each|every|its|their|our|some|any|no"


def predicative(word: str, text: str) -> bool:
    """Whether a lower-case English word stands as a predicate ("is true if", "always true.")
    and never as a noun heading its phrase after a determiner ("the code."): an adjective,
    though it ends a phrase ("returns true.")."""
    if not word.islower() or " " in word:
        return False
    w = re.escape(word)
    if not re.search(rf"\b(?:{_PREDICATE_VERB})\s+{w}(?![\w-])", text, re.IGNORECASE):
        return False
    after_determiner = rf"\b(?:{_DETERMINER})\s+{w}(?:\s*[^\w\s-]|\s*$|\s+(\w+))"
    for m in re.finditer(after_determiner, text, re.IGNORECASE):
        if m.group(1) is None or m.group(1).casefold() in _FUNCTION_AFTER:
            return False  # "the code." or "the code is": a noun of its own
    return True


# Function words after a noun that ends its phrase ("the code is", "the code of").
_FUNCTION_AFTER = frozenset(
    """is are was were be has have had can will would should may must of in on to and or for
with that which as at by from than""".split()
)
