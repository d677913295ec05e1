"""A material's key terms in embedding space (`TermSpace`): the terms (`key_terms`), their
neighbours of the same kind and form, the material's definitions, and where a term may be
blanked (`blankable`)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from engine.domain import language as lang_
from engine.generation.offline_collocations import (
    beside_counts,
    beside_words,
    fixed_with,
)
from engine.generation.offline_german import (
    DE_FEMININE,
    german_number,
    may_be_plural,
    nominalised_verb,
    verb_number,
)
from engine.generation.offline_keyterms import (
    TERMS_SAMPLE_CHARS,
    KeyTerm,
    cut_short,
    key_terms,
)
from engine.generation.offline_layout import prose_text
from engine.generation.offline_spanish import number_slip
from engine.generation.offline_text import (
    defined_term,
    definition_of,
    find_term,
    is_plural,
    sentences,
    verb_slot,
)
from engine.generation.references import without_references
from engine.generation.validation import content_words, normalise

Embed = Callable[[list[str]], np.ndarray]
GERMAN_TERMS = 90
# Definite articles: their form before a noun shows its gender and number.
_ARTICLES = {
    "de": "der|die|das|den|dem|des",
    "fr": "le|la|les|l'|du|au|aux",
    "es": "el|la|los|las|del|al|un|una|unos|unas|este|esta|estos|estas",
}
_AMBIGUOUS_NUMBER = frozenset({"die", "der", "den", "les", "l'"})
# Spanish articles and demonstratives by the gender and number they show ("del" is "de el").
_ES_ARTICLE = {
    **dict.fromkeys(("el", "del", "al", "un", "este"), "m"),
    **dict.fromkeys(("la", "una", "esta"), "f"),
    **dict.fromkeys(("los", "unos", "estos"), "mp"),
    **dict.fromkeys(("las", "unas", "estas"), "fp"),
}


@dataclass
class TermSpace:
    """One material's key terms in embedding space, its definitions and names."""

    terms: list[KeyTerm]
    vectors: np.ndarray | None
    names: frozenset[str]
    definitions: dict[str, str] = field(default_factory=dict)  # term key -> predicate
    sentences_with: dict[str, str] = field(default_factory=dict)  # term key -> a sentence
    definition_vectors: dict[str, np.ndarray] = field(default_factory=dict)
    text: str = ""
    usage: Counter[str] = field(default_factory=Counter)
    language: str = "en"
    contexts: dict[str, tuple[set[str], set[str]]] = field(default_factory=dict)
    # Per term key, the content words beside it over the whole material (`beside_counts`).
    beside: dict[str, Counter[str]] = field(default_factory=dict)
    cut_openings: frozenset[str] = frozenset()  # chunks opening mid-sentence (`cut_openings`)
    _articles: dict[str, Counter[str]] = field(default_factory=dict)
    nouns: dict[str, bool] = field(default_factory=dict)  # term -> used as a noun (offline_forms)
    # The material's words, folded (German numbers: "Datei" beside "Dateien"), from its
    # whole text when `build_space` was given it, else from `text` on first use.
    words: set[str] | None = None

    def index(self, term: str) -> int | None:
        key = term.casefold()
        return next((i for i, t in enumerate(self.terms) if t.text.casefold() == key), None)

    def similarities(self, i: int) -> np.ndarray:
        if self.vectors is None or not len(self.vectors):
            return np.array([1.0 - abs(t.rank - self.terms[i].rank) / 100 for t in self.terms])
        return self.vectors @ self.vectors[i]

    def articles(self, term: str) -> Counter[str]:
        """The articles seen right before the term in the material (gender and number in
        German, French and Spanish)."""
        key = term.casefold()
        if key not in self._articles:
            found: Counter[str] = Counter()
            pattern = rf"\b({_ARTICLES.get(self.language, 'a|an')})\s+{re.escape(term)}(?![\w-])"
            for m in re.finditer(pattern, self.text, re.IGNORECASE):
                found[m.group(1).casefold()] += 1
            self._articles[key] = found
        return self._articles[key]

    def number(self, term: str) -> str | None:
        """'sg' or 'pl' when the material tells a German term's number (see
        `german_number`); None in other languages or when it does not."""
        if self.language != "de":
            return None
        if self.words is None:
            self.words = {w.casefold() for w in re.findall(r"[^\W\d_]+", self.text)}
        return german_number(term, self.words)

    def slot_number(self, sentence: str, m: re.Match[str]) -> str | None:
        """The number a German blank at `m` must have: the verb after it decides
        ("_____ wurde" singular), else the answer's own number."""
        if self.language != "de":
            return None
        return verb_number(sentence, m) or self.number(m.group(0))

    def same_form(self, a: str, b: str) -> bool:
        """Whether `a` can stand where `b` stands: the same number (English), the same
        article seen in the material, or without one, the same ending (other languages)."""
        if self.language == "en" or self.language not in _ARTICLES:
            return is_plural(a) == is_plural(b)
        if self.language == "es":
            return self._same_spanish_form(a, b)
        if self.language == "de" and (
            a.casefold().endswith(DE_FEMININE) != b.casefold().endswith(DE_FEMININE)
        ):
            return False  # "Funktion" (singular) never stands where "Typen" (plural) does
        if self.language == "de" and a.endswith("us") != b.endswith("us"):
            return False  # "Algorithmus" (singular) never stands where "Templates" does
        if self.language == "de" and nominalised_verb(a, self.articles(a)) != nominalised_verb(
            b, self.articles(b)
        ):
            return False  # "das Hinzufügen" never stands where "ein Verzeichnis" does
        na, nb = self.number(a), self.number(b)
        if na and nb and na != nb:
            return False  # "Zahlen" never stands where "Wert" does
        if self.language == "de" and "pl" in (na, nb):
            unknown = a if na is None else b if nb is None else None
            if unknown is not None and not may_be_plural(unknown):
                return False  # "Daemon", whose number is not known, never stands for "Befehle"
        pa, pb = self.articles(a), self.articles(b)
        same_end = a.casefold()[-1:] == b.casefold()[-1:]
        if pa and pb:
            top = pa.most_common(1)[0][0]
            # German "die" and French/Spanish plural articles hide singular vs plural: the
            # ending must agree too ("die Reihenfolge" vs "die Speicherzellen").
            return top == pb.most_common(1)[0][0] and (top not in _AMBIGUOUS_NUMBER or same_end)
        return same_end

    def _same_spanish_form(self, a: str, b: str) -> bool:
        """A Spanish noun phrase opens with its noun ("paquetes Debian"): its gender and number
        are the noun's, seen in the article before the phrase or, without one, before the noun
        ("los paquetes"); without either, in the noun's plural "-s". A capitalised name
        ("Paquetes Instalados", a menu's label) never stands where a common noun does."""
        if a[:1].isupper() != b[:1].isupper():
            return False
        pa = self.articles(a) or self.articles(a.split()[0])
        pb = self.articles(b) or self.articles(b.split()[0])
        if pa and pb:
            ga, gb = (Counter(_ES_ARTICLE[x] for x in p.elements()) for p in (pa, pb))
            return ga.most_common(1)[0][0] == gb.most_common(1)[0][0]
        return is_plural(a.split()[0]) == is_plural(b.split()[0])

    def neighbours(
        self, term: str, *, avoid: str = "", hard: bool = True, number: str | None = None
    ) -> list[tuple[str, float]]:
        """Same-kind terms nearest to `term`, those that would also fit `avoid` left out;
        with `number` ('sg'/'pl', German), none known to have the other number."""
        i = self.index(term)
        if i is None:
            return []
        me = self.terms[i]
        sims = self.similarities(i)
        avoid_n, avoid_keys = normalise(avoid), {w.casefold()[:5] for w in avoid.split()}
        out = []
        for j, t in enumerate(self.terms):
            if j == i or t.kind != me.kind or abs(len(t.text.split()) - len(me.text.split())) > 1:
                continue
            if normalise(t.text) in avoid_n or content_words(t.text) & content_words(me.text):
                continue
            if {w.casefold()[:4] for w in t.text.split()} & {
                w.casefold()[:4] for w in me.text.split()
            }:
                continue  # "tracing" for "trace recording": the same word, as right
            if {w.casefold()[:5] for w in t.text.split()} & avoid_keys:
                continue
            if fuzz.ratio(t.text.casefold(), me.text.casefold()) >= 70 or sims[j] >= 0.92:
                continue
            if not self.same_form(t.text, me.text):  # keep the sentence grammatical
                continue
            if number and self.number(t.text) not in (None, number):
                continue  # a plural before "wurde": the verb would not agree
            if number == "pl" and self.number(t.text) is None and not may_be_plural(t.text):
                continue  # "Alle Daemon und Verzeichnisse"
            out.append((t.text, float(sims[j])))
        out.sort(key=lambda x: -x[1])
        return out if hard else out[3:] + out[:3]


def spread_sample(texts: Sequence[str], chars: int = TERMS_SAMPLE_CHARS) -> str:
    """An even spread of a material's chunks (in document order) up to about `chars`
    characters: key terms and their counts then stand for the whole document, not its
    first pages."""
    total = sum(len(t) for t in texts) or 1
    step = max(1, math.ceil(total / chars))
    return "\n\n".join(texts[::step])


def build_space(
    text: str,
    *,
    names: set[str],
    embed: Embed | None,
    lang: str = "en",
    whole: str | None = None,
) -> TermSpace:
    """Terms, their vectors and definitions for a material's (sampled) text in `lang`; the
    material's whole text (`whole`, default the sample) tells which phrases it fixes."""
    whole = text if whole is None else without_references(whole)
    text = without_references(text)  # its titles and authors are no terms of the material
    text = prose_text(text, lang)  # nor are the cells of its tables and figures
    # A German distractor must share the answer's article and number: a larger pool.
    terms = key_terms(text, names=names, lang=lang, top=GERMAN_TERMS if lang == "de" else 60)
    vectors: np.ndarray | None = None
    if embed is not None and terms:
        vectors = np.asarray(embed([t.text for t in terms]), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms == 0, 1, norms)
    space = TermSpace(terms, vectors, frozenset(names), text=text, language=lang)
    space.beside = beside_counts([t.text for t in terms], whole, lang_.stopwords(lang))
    if lang == "de":
        space.words = {w.casefold() for w in re.findall(r"[^\W\d_]+", whole)}
    keys = {t.text.casefold(): t for t in terms}
    for s in sentences(text, lang):
        subject = defined_term(s, text, lang)
        if subject:
            space.definitions.setdefault(subject.casefold(), definition_of(s, lang))
        for key in keys:
            if key not in space.sentences_with and find_term(key, s):
                space.sentences_with[key] = s
    if embed is not None and len(space.definitions) > 1:
        subjects = list(space.definitions)
        vectors = np.asarray(embed(subjects), dtype=np.float32)
        vectors /= np.where(
            np.linalg.norm(vectors, axis=1, keepdims=True) == 0,
            1,
            np.linalg.norm(vectors, axis=1, keepdims=True),
        )
        space.definition_vectors = dict(zip(subjects, vectors, strict=True))
    return space


def blankable(term: KeyTerm, sentence: str, m: re.Match[str], space: TermSpace, lang: str) -> bool:
    """Whether blanking this occurrence asks about the term itself: not a function word, not
    a piece of a longer key term or compound ("machine _____" for "machine code"), not glued
    to a hyphen or an apostrophe."""
    words = [w.casefold() for w in term.text.split()]
    stop = lang_.stopwords(lang)
    if all(w in stop for w in words) or words[-1] in stop or words[0] in stop:
        return False
    for other in space.terms:
        if other is term or len(other.text) <= len(term.text):
            continue
        om = find_term(other.text, sentence)
        if om and om.start() <= m.start() and m.end() <= om.end():
            return False
    before, after = sentence[: m.start()], sentence[m.end() :]
    if before.endswith(("-", "'", "/")) or after.startswith(("-", "/")):
        return False
    if verb_slot(sentence, m, lang):  # "and _____ the time": the blank would be a verb
        return False
    if lang == "es" and number_slip(sentence, (t.text for t in space.terms)):
        return False
    if spelled_out(sentence, m):  # "Technology Acceptance Model (_____)": given away
        return False
    # A collocation of the material ("covered work", "page layout"): the blank would be half
    # of a fixed phrase, asked as a modifier or a fragment.
    possessor = re.match(r"['\u2019]s\b", after) or (
        lang == "en" and is_plural(m.group(0)) and re.match(r"['\u2019](?!\w)", after)
    )
    if possessor and not (term.kind in ("acronym", "proper") or term.text.isupper()):
        # "a _____'s belief", "both _____' and authors' sake": any agent ("person", "user")
        # fits a possessor, and the only agent among the options gives itself away.
        return False
    nxt = re.findall(r"^\s*([^\W\d_]+)", after)
    # "_____ of use" where the material says "perceived ease of use": the blank would cut a
    # term that goes on past a function word.
    if nxt and nxt[0].casefold() in stop and cut_short(m.group(0), space.text, least=2):
        return False
    # Counted over the whole material (`beside_counts`; the sample when not given).
    prev_word, next_word = beside_words(before, after, stop)
    return not fixed_with(space.beside, term.text, before=prev_word, after=next_word)


def _initials(words: str) -> str:
    return "".join(w[0] for w in re.findall(r"[^\W\d_]+", words)).casefold()


def spelled_out(sentence: str, m: re.Match[str]) -> bool:
    """Whether the blank's acronym is spelled out beside it: "Technology Acceptance Model
    (_____)" gives away "TAM", "_____ (TAM)" gives away "Technology Acceptance Model"."""
    blank = m.group(0)
    before, after = sentence[: m.start()].rstrip(), sentence[m.end() :].lstrip()
    if blank.isupper() and before.endswith("(") and after.startswith(")"):
        words = re.findall(r"[^\W\d_]+", before)[-len(blank) :]
        return _initials(" ".join(words)) == blank.casefold()
    acronym = re.match(r"\(\s*([A-Z]{2,8})s?\s*\)", after)
    return acronym is not None and _initials(blank) == acronym.group(1).casefold()
