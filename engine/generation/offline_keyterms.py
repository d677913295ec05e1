"""Which phrases of a material are its key terms (`key_terms`): the terms yake finds in the
material's language, less the phrases that are half of a longer term, a modifier, a verb, an
adjective, a header, a cited author or a name in the material's code."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from engine.domain import language as lang_
from engine.generation.offline_english import (
    adjective_only,
    gerund_only,
    modifies_more,
    predicative,
    verb_form,
)
from engine.generation.offline_german import capitalised_only_at_starts, german_number, inflected
from engine.generation.offline_spanish import lower_case_form, no_spanish_term
from engine.generation.offline_text import (
    GENERIC,
    PHRASE_OK,
    STOP_EDGE,
    has_finite,
    heads_phrase,
    is_plural,
    noun_like,
)
from engine.generation.validation import clean_text

TERMS_SAMPLE_CHARS = 40_000  # characters of a material key terms are drawn from
# In a sample this long, a phrase of several words is a term only if it recurs.
RECURRING_SAMPLE = 10_000


@dataclass(frozen=True)
class KeyTerm:
    text: str
    rank: int
    count: int = 1
    kind: str = "phrase"  # 'acronym', 'proper' or 'phrase'


def _kind(term: str, text: str, lang: str = "en") -> str:
    if len(term) <= 8 and " " not in term and term.isupper():
        return "acronym"
    if lang == "de":  # every German noun is capitalised: capitals tell no name, but two
        # capitalised words side by side are one ("Midnight Commander"; "benannte Pipe" is none)
        words = term.split()
        return "proper" if len(words) > 1 and all(w[:1].isupper() for w in words) else "phrase"
    found = re.findall(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text, re.IGNORECASE)
    capitalised = sum(1 for f in found if f[:1].isupper())
    return "proper" if found and capitalised >= 0.8 * len(found) and len(found) > 1 else "phrase"


def _one_neighbour(word: str, text: str, stop: frozenset[str], *, after: bool) -> bool:
    """Whether the word stands almost always beside the same content word (after it when
    `after`, else before it): seen at least 3 times, 70% of them with that one neighbour."""
    w = re.escape(word)
    beside = rf"(?<![\w-]){w}\s+([^\W\d_]+)" if after else rf"([^\W\d_]+)\s+{w}(?![\w-])"
    found = [n.casefold() for n in re.findall(beside, text, re.IGNORECASE)]
    found = [n for n in found if n not in stop]
    total = len(re.findall(rf"(?<![\w-]){w}(?![\w-])", text, re.IGNORECASE))
    return total >= 3 and bool(found) and Counter(found).most_common(1)[0][1] >= 0.7 * total


def _modifier(word: str, text: str, stop: frozenset[str]) -> bool:
    """A word that stands almost always before the same content word (a modifier of one
    phrase, as "outer" of "outer loop")."""
    return _one_neighbour(word, text, stop, after=True)


# Irregular English participles that end a phrase yake takes for a term ("model shown").
_PARTICIPLES = frozenset(
    "shown given known seen taken made done found built written chosen drawn run set put".split()
)


def _attributive(phrase: str, text: str, stop: frozenset[str], lang: str) -> bool:
    """A word or phrase the material uses as a modifier, not as a noun of its own: almost
    never followed by a function word, punctuation or the end ("outer" of "outer loop",
    "side" of "side exit", "trace activation" of "trace activation record"), or, in English,
    a single participle ("compiled", "nested"). As an option among nouns it gives itself
    away as the wrong kind."""
    words = phrase.split()
    last = words[-1].casefold()
    if lang == "en" and (re.search(r"\w{3}[^e]ed$", last) or last in _PARTICIPLES):
        return True  # "compiled", "model shown": a participle, not a noun; not "speed"
    if lang != "en":
        # German nouns are capitalised (a modifier never ends a key term); French and
        # Spanish put most adjectives after the noun, so a noun often goes on with one.
        return False
    occurrences = list(re.finditer(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text, re.IGNORECASE))
    heads = 0
    for m in occurrences:
        nxt = re.match(r"\s*([^\W\d_]+)", text[m.end() :])
        heads += not nxt or nxt.group(1).casefold() in stop
    return len(occurrences) >= 3 and heads <= 0.15 * len(occurrences)


# Words that join a term to its complement ("ease of use", "Abbildung der Daten", "mise en
# page"): a phrase mostly going on with one of these and the same word is half a term.
_JOINING = frozenset("of for von der des zur zum de du des del en".split())


def cut_short(phrase: str, text: str, *, least: int = 3) -> bool:
    """Whether the phrase is the first half of a longer term joined by a function word
    ("perceived ease" of "perceived ease of use"): most of its uses go on with the same
    function word and content word, and that longer phrase recurs."""
    pattern = rf"(?<![\w-]){re.escape(phrase)}\s+([^\W\d_]+)\s+([^\W\d_]+)"
    after = [
        (a.casefold(), b.casefold())
        for a, b in re.findall(pattern, text, re.IGNORECASE)
        # The word after the joining word may be a common one ("use"), not an article.
        if a.casefold() in _JOINING and b.casefold() not in STOP_EDGE and len(b) >= 3
    ]
    if not after:
        return False
    total = len(re.findall(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text, re.IGNORECASE))
    top = Counter(after).most_common(1)[0][1]
    return top >= least and top >= 0.5 * total


def _verb_like(word: str, text: str) -> bool:
    """An English word used as a verb ("to record", "predicting the intention") and never as
    a noun ("the record"): a phrase it opens ("predicting system" of "predicting system
    use") is an action cut from its object, not a term."""
    w = re.escape(word)
    verb = re.search(rf"\b(to|must|can|will|may|should|we|they) {w}\b", text, re.I)
    gerund = word.casefold().endswith("ing") and re.search(
        rf"\b(?i:{w}) (?:(?i:the|a|an|this|these|those|their|its|his|her|our)\b|[A-Z]{{2,}}\b)",
        text,
    )
    return bool(verb or gerund) and not noun_like(word, text)


def _used_as_term(phrase: str, sample: str, stop: frozenset[str], lang: str) -> bool:
    """Whether the material uses the phrase as a term of its own: not half of a phrase or of
    a longer term, not a modifier, not a header in capitals, not an identifier of its code."""
    if len(phrase.split()) == 1 and _modifier(phrase, sample, stop):
        return False  # "outer" of "outer loop": half of a phrase, not a term of its own
    if len(phrase.split()) == 1 and _tail(phrase, sample, stop):
        return False  # "Action" of "Reasoned Action", "header" of "loop header"
    if cut_short(phrase, sample):
        return False  # "perceived ease" of "perceived ease of use": half of the term
    if _attributive(phrase, sample, stop, lang):
        return False  # "outer", "nested": a modifier among nouns is an option of another kind
    found = list(re.finditer(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", sample, re.IGNORECASE))
    if len(phrase) > 8 and found and sum(f.group(0).isupper() for f in found) > len(found) / 2:
        return False  # a running header or a heading in capitals
    if phrase[:1].isupper() and len(re.findall(_cited(phrase), sample)) >= 2:
        return False  # "Ajzen" of "Fishbein and Ajzen (1975)": an author, not a notion
    # "Point" of "class Point { double x_; ...", "Typ Shape": a name in the material's code,
    # not a notion.
    return not any(_code_name(w, sample) for w in {phrase, *phrase.split()})


def _tail(word: str, sample: str, stop: frozenset[str]) -> bool:
    """A word that stands almost always after the same content word: the end of one longer
    term or name ("Action" of "Theory of Reasoned Action"), which alone names nothing."""
    return _one_neighbour(word, sample, stop, after=False)


def _no_english_noun(phrase: str, sample: str, stop: frozenset[str]) -> bool:
    """A phrase cut across two ("programs trace": a plural before its last word) or an
    adjective: never used as a noun of its own ("important"), or one whose adverb the
    material writes and never its plural ("current": "currently", no "currents")."""
    words = phrase.split()
    if verb_form(words[-1], sample) or gerund_only(phrase, sample):
        return True  # "executes", "trace reaches", "measuring": a verb, not a noun
    if len(words) > 1:  # a name in -s ("Krebs cycle") is no plural
        return any(is_plural(w) and w.islower() for w in words[:-1])
    if phrase.isupper():
        return False
    if phrase[:1].isupper() and _lower_inside(phrase, sample):
        phrase = phrase.lower()  # "Valid" opening a sentence is the word "valid"
    # A noun may head its phrases only in the plural ("homologous chromosomes."); an
    # adjective has no plural.
    heads = any(heads_phrase(phrase + end, sample, stop) for end in ("", "s", "es"))
    return (
        not heads
        or adjective_only(phrase, sample)
        or modifies_more(phrase, sample, stop)
        or predicative(phrase, sample)
    )


def _lower_inside(word: str, sample: str) -> bool:
    """Whether the material writes a capitalised word in lower case inside its sentences
    more often than capitalised there: its capital opens a sentence, it names nothing."""
    inside = rf"(?<=[a-z,;] ){re.escape(word)}(?![\w-])"
    lower = rf"(?<=[a-z,;] ){re.escape(word.lower())}(?![\w-])"
    return len(re.findall(lower, sample)) > len(re.findall(inside, sample))


def _cited(phrase: str) -> str:
    """Where a name stands as an author cited in the text: before a year or "et al.", or
    joined to another cited name ("Fishbein and Ajzen (1975)", "Davis, 1989")."""
    p = re.escape(phrase)
    year = r"[\s,]*\(?\s*(?:19|20)\d{2}"
    return (
        rf"(?<![\w-]){p}(?:{year}|\s+et al\b|\s+(?:and|&|und|et|y)\s+[A-Z][\w'-]+{year})"
        rf"|[A-Z][\w'-]+,?\s+(?:and|&|und|et|y)\s+{p}{year}"
    )


def _code_name(word: str, sample: str) -> bool:
    """Whether the word stands mostly inside program code in the material."""
    found = list(re.finditer(rf"(?<![\w-]){re.escape(word)}(?![\w-])", sample, re.IGNORECASE))
    near = sum(bool(_CODE_NEAR.search(sample, max(0, f.start() - 25), f.end() + 25)) for f in found)
    return bool(found) and near >= 0.5 * len(found)


# Characters of program code (braces, statement ends, assignments, scopes, comments).
_CODE_NEAR = re.compile(r"[{};=<>]|::|//")


def _well_formed(phrase: str, stop: frozenset[str], lang: str, sample: str) -> bool:
    """A phrase of the shape of a term: no function word or generic word at its edges, no
    abbreviation, an elided word (French) or, in German, no inflected or lower-case end."""
    words = phrase.split()
    if not words or len(phrase) < 3 or len(phrase) > 40 or not PHRASE_OK.match(phrase):
        return False
    folded = [w.casefold() for w in words]
    if folded[0] in stop or folded[-1] in stop or any(w in GENERIC for w in folded):
        return False
    if len(words[0]) < 3 and not phrase.isupper():
        return False
    if len(words) == 1 and len(phrase) < 4 and not phrase.isupper():
        return False  # an abbreviation ("Bsp") or a keyword of code ("int")
    if lang == "fr" and re.search(r"(?<!\w)\w['’]", phrase):
        return False  # an elided article or preposition ("d'une image"): the noun is the term
    # A German noun phrase ends in a (capitalised) noun in its base form, and opens with a
    # noun or an adjective in its base form ("globale Umgebung", not "globalen Umgebung").
    return lang != "de" or (
        words[-1][:1].isupper()
        and not inflected(words[-1], sample)
        and not (len(words) > 1 and has_finite(words[0], lang))  # "enthält Dateien"
        and not capitalised_only_at_starts(words[0], sample)
        and not _inflected_adjective(words, sample)
    )


def _inflected_adjective(words: list[str], sample: str) -> bool:
    """A German adjective in "-en" before a singular noun ("textbasierten Konsole"): the
    phrase in a case of its sentence, not the term."""
    if len(words) < 2 or not words[0][:1].islower() or not words[0].endswith("en"):
        return False
    folded = set(re.findall(r"[^\W\d_]+", sample.casefold()))
    return german_number(words[-1], folded) == "sg"


def key_terms(
    text: str, *, top: int = 60, names: set[str] | frozenset[str] = frozenset(), lang: str = "en"
) -> list[KeyTerm]:
    """The material's key terms, most salient first (yake in the material's language, one or
    two words), without author names, function words, generic words, numbers or words that
    appear mostly in capitals (headers)."""
    import yake  # deferred: only the offline path needs it

    sample = clean_text(text)[:40_000]
    if len(sample) < 40:
        return []
    stop = lang_.stopwords(lang) | STOP_EDGE
    # Most of yake's German candidates are no noun phrase (a German one ends in a capitalised
    # noun; verbs and adjectives are dropped below): look at more of them.
    wanted = top * (8 if lang == "de" else 3)
    extractor = yake.KeywordExtractor(
        lan=lang if lang in lang_.SUPPORTED else "en", n=2, dedup_lim=0.8, top=wanted
    )
    folded_names = {n.casefold() for n in names}
    terms: list[KeyTerm] = []
    seen: set[str] = set()
    for phrase, _score in extractor.extract_keywords(sample):
        phrase = phrase.strip()
        if lang == "es":  # "Consulte" opening a sentence is "consulte"
            phrase = lower_case_form(phrase, sample)
        words = phrase.split()
        if not _well_formed(phrase, stop, lang, sample):
            continue
        folded = [w.casefold() for w in words]
        if any(w in folded_names for w in folded) and phrase[:1].isupper():
            continue
        key = phrase.casefold()
        if key in seen or (
            lang != "de"
            and not noun_like(words[-1], sample, lang)
            and not noun_like(phrase, sample, lang)
        ):
            continue  # a phrase asked about ends in a noun ("trace tree", not "trace exits")
        if len(words) > 1 and lang == "en" and _verb_like(words[0], sample):
            continue  # "record traces", "generate LIR": an action, not a concept
        if lang == "en" and _no_english_noun(phrase, sample, stop):
            continue
        if lang == "es" and no_spanish_term(phrase, sample):
            continue  # "ejecuta", "estable", "múltiples paquetes": a verb or an adjective
        seen.add(key)
        if not _used_as_term(phrase, sample, stop, lang):
            continue
        found = re.findall(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", sample, re.IGNORECASE)
        if len(words) > 1 and len(found) < 2 and len(sample) >= RECURRING_SAMPLE:
            continue  # a phrase a long material writes once is no term of it ("TAM make")
        terms.append(KeyTerm(phrase, len(terms), max(1, len(found)), _kind(phrase, sample, lang)))
        if len(terms) >= top:
            break
    return terms
