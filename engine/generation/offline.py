"""The offline generator: questions from the material's own sentences, no model needed.

Key terms (yake) of a material are embedded with the library's embedding model. Questions
come from candidate sentences (complete, self-contained body sentences; see `sentences`):
- term (mcq): a key term blanked, with distractors of the same kind nearest in embedding space;
- cloze: the same blank, typed;
- definition (mcq): "What is X?" with the source's defining sentence among neighbours' ones;
- statement (mcq): which of four statements matches the source, the others each with one
  term swapped for its nearest neighbour;
- list (cloze): several blanks over the items of a list.
Difficulty comes from a signal in [0, 1]: term rarity, distractor closeness, sentence length.
Every draft goes through `engine.generation.lint`; broken ones are dropped.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from engine.domain import language as lang_
from engine.domain.vocabulary import QuestionType
from engine.generation import lint as qlint
from engine.generation.drafts import Draft, Passage
from engine.generation.validation import clean_text, content_words, normalise
from engine.ingestion.cleaning import is_heading_line

OFFLINE_VERSION = "offline-v2"
OFFLINE_TYPES = (QuestionType.MCQ, QuestionType.CLOZE)
FORMS_BY_TYPE = {
    QuestionType.MCQ: ("term", "definition", "statement"),
    QuestionType.CLOZE: ("cloze", "list"),
}
MIX_ORDER = ("term", "cloze", "statement", "definition", "list")

Embed = Callable[[list[str]], np.ndarray]

_PHRASE_OK = re.compile(r"^[^\W\d_][\w' -]*[^\W_]$|^[^\W\d_]$", re.UNICODE)
_STOP_EDGE = frozenset(
    """a an and are as at be by for from has have in is it its of on or that
the their this to was were which with not but into than then also such these those our we
you your can may will one two""".split()
)
_GENERIC = frozenset(
    """paper section figure table example case number way result results work
approach use time part parts thing things data set first second third fact order kind
type types form page chapter
beispiel beispiele abbildung tabelle kapitel abschnitt seite fall teil art weise zahl ergebnis
aufgabe folgenden beachte bsp bzw vorteile nachteile vorteil nachteil ziel ziele hinweis
exemple figure tableau chapitre section page cas partie façon nombre résultat
ejemplo figura tabla capítulo sección página caso parte forma número resultado""".split()
)
_BACK_REFERENCE = frozenset(
    """it this these they that those he she such its their here there
then also both each another other his her them we our
dies diese dieser dieses diesem diesen das er sie es hier dort dann dabei dazu damit daher
ebenso außerdem beide solche
ce cette ces cela ceci il elle ils elles celui celle ici alors
este esta estos estas eso esto ello él ella ellos ellas aquí entonces""".split()
)
_CONNECTIVES = frozenset(
    """but and so yet however thus hence therefore moreover furthermore
instead still nevertheless otherwise consequently
aber und also doch jedoch somit daher deshalb dennoch trotzdem außerdem
mais et donc pourtant cependant ainsi
pero y así sin embargo por lo tanto además""".split()
)
_LAYOUT = re.compile(
    r"\b(above|below|as follows|following|shown in|see|cf\.|e\.g\.|i\.e\."
    r"|siehe|folgende[nrs]?|unten|oben|abbildung|abb\.|vgl\."
    r"|ci-dessous|ci-dessus|suivante?s?|voir|véase|siguiente)"
    r"|:\s*$",
    re.IGNORECASE,
)
_CAPTION = re.compile(
    r"^(fig(ure)?|table|tab|abb(ildung)?|tabelle|tableau|figura|tabla|"
    r"listing|algorithm|algorithmus)\b\.?\s*\d*",
    re.IGNORECASE,
)
_SUBFIGURE = re.compile(r"\(\s*[a-h]\s*\)|\b[a-h]\)\s")
# Cues of a sentence that carries an idea: a definition, a cause, a contrast, a condition, a
# result ("X is/are/means", "because", "whereas", "if", "leads to"), per language.
_CONCEPT = {
    "en": r"\b(is|are) (an?|the|one|called|defined|known)\b|\b(means|refers to|denotes|consists of|"
    r"because|therefore|thus|hence|causes?|leads? to|results? in|whereas|unlike|instead of|"
    r"in contrast|if|unless|when|only if|so that|allows?|enables?|requires?|depends on)\b",
    "de": r"\b(ist|sind) (ein|eine|einer|der|die|das)\b|\b(bezeichnet|heißt|heißen|bedeutet|"
    r"versteht man|nennt man|besteht aus|weil|da|daher|deshalb|dadurch|führt zu|bewirkt|"
    r"während|im gegensatz|wenn|falls|sofern|damit|ermöglicht|erfordert|hängt .* ab)\b",
    "fr": r"\b(est|sont) (un|une|le|la|les|appelée?s?|défini)\b|\b(désigne|signifie|consiste|"
    r"parce que|car|donc|ainsi|entraîne|permet|alors que|tandis que|contrairement|si|"
    r"lorsque|quand|nécessite|dépend)\b",
    "es": r"\b(es|son) (un|una|el|la|los|las|llamad[oa]s?)\b|\b(significa|se llama|denota|"
    r"consiste|porque|por lo tanto|así|causa|provoca|permite|mientras que|a diferencia|"
    r"si|cuando|requiere|depende)\b",
}
_REFERENCE = re.compile(
    r"\b(pp\.|vol\.|proceedings|journal of|conference on|press|isbn|doi)\b"
    r"|\([A-Z][^()]{0,60}\d{4}[a-z]?\)|\b(19|20)\d{2}\b",
    re.IGNORECASE,
)
_CODE = re.compile(r"[{}\[\]=;<>_#\\|\u2217\u00b7]|(?:\b\w ){3}")  # also s p a c e d code
_DEFINING = re.compile(
    r"^(?:An?|The)?\s*(?P<term>[\w' -]{2,60}?)\s+(?P<verb>is|are|refers to|"
    r"means|denotes|is used|are used)\s+(?P<det>an?|the|one|to|for)\s+"
    r"(?P<rest>.+)$",
    re.IGNORECASE,
)
_ITEM = r"[A-Za-z][\w-]*(?: [a-z][\w-]*){0,2}"
_LIST = re.compile(
    rf"(?<![\w-])(?P<a>{_ITEM}), (?P<b>{_ITEM}),? (?:and|or) (?P<c>{_ITEM})"
    r"(?![\w-])"
)
_NOT_ITEM = frozenset(
    """if how when where why what whether only them us is are was were be been
being has have had do does did we you i""".split()
)
_NOUN_BEFORE = frozenset(
    """a an the this that these those each every its their our of
some any no""".split()
)
# Definite articles: their form before a noun shows its gender and number.
_ARTICLES = {
    "de": "der|die|das|den|dem|des",
    "fr": "le|la|les|l'|du|au|aux",
    "es": "el|la|los|las|del|al",
}
_AMBIGUOUS_NUMBER = frozenset({"die", "der", "den", "les", "l'"})
_FINITE = {
    "en": re.compile(
        r"\b(is|are|was|were|has|have|had|can|cannot|must|will|does|do|may|"
        r"should|would|could|becomes?|means|needs?|gives?|makes?)\b",
        re.I,
    ),
    "de": re.compile(
        r"\b(ist|sind|war|waren|wird|werden|wurde|wurden|hat|haben|kann|"
        r"können|muss|müssen|soll|sollen|darf|dürfen|gibt|gilt|bedeutet|heißt|"
        r"braucht|macht|enthält|liefert|erzeugt|hängt)\b",
        re.I,
    ),
    "fr": re.compile(
        r"\b(est|sont|était|a|ont|peut|peuvent|doit|doivent|sera|permet|"
        r"donne|fait|contient)\b",
        re.I,
    ),
    "es": re.compile(
        r"\b(es|son|era|está|están|ha|han|puede|pueden|debe|deben|será|permite|"
        r"da|hace|contiene)\b",
        re.I,
    ),
}
_ITEM_BREAK = re.compile(
    "[\u2022\u25aa\u25cf\u25a0\u25e6\u2192\u27a2\uf0b7\u21d2]|(?<=\\s)[-\u2013](?=\\s)"
)
_BULLETS = re.compile("[\u2022\u25aa\u25cf\u25a0\u25e6\u2192\u27a2\uf0b7]")
WORDS_MIN, WORDS_MAX, CHARS_MAX = 8, 45, 280


@dataclass(frozen=True)
class KeyTerm:
    text: str
    rank: int
    count: int = 1
    kind: str = "phrase"  # 'acronym', 'proper' or 'phrase'


# --- sentences and terms -------------------------------------------------------------------------


def is_candidate(s: str, lang: str = "en", *, item: bool = False) -> bool:
    """A complete, self-contained body sentence fit to ask about: not a caption, a label, a
    heading or a fragment. With `item`, a whole bullet item that is a clause with a finite
    verb also counts without its full stop (lecture notes rarely write one)."""
    words = s.split()
    if not WORDS_MIN <= len(words) <= WORDS_MAX or len(s) > CHARS_MAX:
        return False
    if item and s[-1:].isalpha():
        if ":" in s or "?" in s or not _FINITE[lang if lang in _FINITE else "en"].search(s):
            return False
        s = s + "."
    if not s[:1].isupper() or s[-1] != "." or s.endswith(("et al.", "e.g.", "i.e.", "etc.")):
        return False
    if _points_back(words):
        return False
    if (
        qlint.has_marker(s)
        or _LAYOUT.search(s)
        or _REFERENCE.search(s)
        or _CODE.search(s)
        or _BULLETS.search(s)
        or _CAPTION.match(s)
        or _SUBFIGURE.search(s)
    ):
        return False
    if sum(c.isalpha() or c.isspace() for c in s) / len(s) < 0.9:
        return False
    # Title Case runs are headings or captions; German capitalises every noun, so allow more.
    if sum(w[:1].isupper() for w in words[1:]) > (0.55 if lang == "de" else 0.3) * len(words):
        return False
    capitals = [w for w in words if w.isalpha() and w.isupper() and len(w) >= 4]
    if len(capitals) >= 3 or any(len(w) >= 9 for w in capitals):  # a header in capitals
        return False
    stop = lang_.stopwords(lang)
    if sum(w.casefold().strip(",;") in stop for w in words) < 0.15 * len(words):
        return False  # a label or list of terms, not prose
    for glued in re.finditer(r"[.:]\s+[a-z]", s):  # a caption or run-in heading glued on
        if not (
            glued.group(0)[0] == "." and lang_.ends_with_abbreviation(s[: glued.start() + 1], lang)
        ):
            return False
    return s.count("(") == s.count(")") and s.count("\u201c") == s.count("\u201d")


def _points_back(words: list[str]) -> bool:
    """Whether the sentence opens by pointing at what came before ("This...", "But these...",
    "However, it..."): asked alone, it would make no sense."""
    first = [w.casefold().strip(",") for w in words[:2]]
    if first[0] in _BACK_REFERENCE:
        return True
    return first[0] in _CONNECTIVES and len(first) > 1 and first[1] in _BACK_REFERENCE


def sentences(text: str, lang: str = "en") -> list[str]:
    """Candidate sentences of a passage, headings and layout lines left out; split by the
    language's rules (abbreviations such as "e.g." or "bzgl." do not end a sentence)."""
    out = []
    for para in re.split(r"\n\s*\n", text):
        lines = [ln for ln in para.split("\n") if ln.strip()]
        body = [
            ln
            for i, ln in enumerate(lines)
            if not is_heading_line(ln, lines[i + 1] if i + 1 < len(lines) else None)
        ]
        # Bullet items are units of their own: never glued to the text around them. In
        # lecture notes a bulleted item is often a clause without its full stop: it counts
        # when it is one whole clause (see `is_candidate`).
        joined = " ".join(body)
        items = _ITEM_BREAK.split(joined)
        for k, item in enumerate(items):
            pieces = lang_.split_sentences(clean_text(item), lang)
            bulleted = k > 0 or bool(_ITEM_BREAK.match(joined))
            for s in pieces:
                s = s.strip()
                whole_item = bulleted and len(pieces) == 1 and s[-1:].isalpha()
                if is_candidate(s, lang, item=whole_item):
                    out.append(s)
    return out


def as_sentence(text: str) -> str:
    """A candidate as a sentence to show: a bullet clause gets its full stop."""
    return text if text[-1:] in ".!?" else text + "."


def concept_score(sentence: str, lang: str = "en") -> float:
    """How much the sentence carries an idea (a definition, cause, contrast, condition or
    result) rather than reporting a detail: 0, 0.5 or 1."""
    cues = re.findall(_CONCEPT.get(lang, _CONCEPT["en"]), sentence, re.IGNORECASE)
    return min(1.0, 0.5 * len(cues))


def author_names(first_page: str) -> set[str]:
    """Capitalised words of the first page's header block (authors, affiliations), which must
    never become answers or options."""
    names: set[str] = set()
    for line in first_page.split("\n")[1:25]:
        if re.match(r"\s*(abstract|introduction|1\.?\s+introduction)\b", line, re.IGNORECASE):
            break
        if "," in line or "@" in line or qlint._AFFILIATION.search(line) or len(line) < 60:
            names.update(w for w in re.findall(r"\b[A-Z][a-z]{1,20}\b", line))
    return names


def _kind(term: str, text: str, lang: str = "en") -> str:
    if len(term) <= 8 and " " not in term and term.isupper():
        return "acronym"
    if lang == "de":  # every German noun is capitalised: capitals tell no name
        return "phrase"
    found = re.findall(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text, re.IGNORECASE)
    capitalised = sum(1 for f in found if f[:1].isupper())
    return "proper" if found and capitalised >= 0.8 * len(found) and len(found) > 1 else "phrase"


def _noun_like(word: str, text: str) -> bool:
    """A single word used as a noun somewhere: after a determiner, an acronym, or written
    with a capital in mid-sentence (a name; any noun in German)."""
    if word.isupper() and len(word) > 1:
        return True
    w = re.escape(word)
    if word[:1].isupper() and re.search(rf"\b[a-z\u00e0-\u00ff]+[,;]?\s+{w}(?![\w-])", text):
        return True
    if word.endswith("ly"):
        return False
    before = re.findall(rf"(\w+)\s+{w}(?![\w-])", text, re.IGNORECASE)
    return any(b.casefold() in _NOUN_BEFORE for b in before)


def _modifier(word: str, text: str, stop: frozenset[str]) -> bool:
    """A word that stands almost always before the same content word (a modifier of one
    phrase, as "outer" of "outer loop")."""
    after = [
        n.casefold()
        for n in re.findall(rf"(?<![\w-]){re.escape(word)}\s+([^\W\d_]+)", text, re.IGNORECASE)
    ]
    after = [n for n in after if n not in stop]
    total = len(re.findall(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE))
    return total >= 3 and bool(after) and Counter(after).most_common(1)[0][1] >= 0.7 * total


def _verb_like(word: str, text: str) -> bool:
    """An English word used as a verb ("to record") and never as a noun ("the record")."""
    w = re.escape(word)
    return bool(
        re.search(rf"\b(to|must|can|will|may|should|we|they) {w}\b", text, re.I)
    ) and not _noun_like(word, text)


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
    stop = lang_.stopwords(lang) | _STOP_EDGE
    extractor = yake.KeywordExtractor(
        lan=lang if lang in lang_.SUPPORTED else "en", n=2, dedup_lim=0.8, top=top * 3
    )
    folded_names = {n.casefold() for n in names}
    terms: list[KeyTerm] = []
    seen: set[str] = set()
    for phrase, _score in extractor.extract_keywords(sample):
        phrase = phrase.strip()
        words = phrase.split()
        if not words or len(phrase) < 3 or len(phrase) > 40 or not _PHRASE_OK.match(phrase):
            continue
        folded = [w.casefold() for w in words]
        if folded[0] in stop or folded[-1] in stop or folded[-1] in _GENERIC:
            continue
        if len(words[0]) < 3 and not phrase.isupper():
            continue
        if len(words) == 1 and len(phrase) < 4 and not phrase.isupper():
            continue  # an abbreviation ("Bsp") or a keyword of code ("int")
        if lang == "de" and not words[-1][:1].isupper():
            continue  # a German noun phrase ends in a (capitalised) noun: this is code or a verb
        if any(w in _GENERIC for w in folded):
            continue
        if any(w in folded_names for w in folded) and phrase[:1].isupper():
            continue
        key = phrase.casefold()
        if key in seen or (
            lang != "de" and not _noun_like(words[-1], sample) and not _noun_like(phrase, sample)
        ):
            continue  # a phrase asked about ends in a noun ("trace tree", not "trace exits")
        if len(words) > 1 and lang == "en" and _verb_like(words[0], sample):
            continue  # "record traces", "generate LIR": an action, not a concept
        seen.add(key)
        if len(words) == 1 and _modifier(phrase, sample, stop):
            continue  # "outer" of "outer loop": half of a phrase, not a term of its own
        found = re.findall(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", sample, re.IGNORECASE)
        if len(phrase) > 8 and found and sum(f.isupper() for f in found) > len(found) / 2:
            continue  # a running header or a heading in capitals
        terms.append(KeyTerm(phrase, len(terms), max(1, len(found)), _kind(phrase, sample, lang)))
        if len(terms) >= top:
            break
    return terms


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
    _articles: dict[str, Counter[str]] = field(default_factory=dict)

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

    def same_form(self, a: str, b: str) -> bool:
        """Whether `a` can stand where `b` stands: the same number (English), the same
        article seen in the material, or without one, the same ending (other languages)."""
        if self.language == "en" or self.language not in _ARTICLES:
            return _plural(a) == _plural(b)
        pa, pb = self.articles(a), self.articles(b)
        same_end = a.casefold()[-1:] == b.casefold()[-1:]
        if pa and pb:
            top = pa.most_common(1)[0][0]
            # German "die" and French/Spanish plural articles hide singular vs plural: the
            # ending must agree too ("die Reihenfolge" vs "die Speicherzellen").
            return top == pb.most_common(1)[0][0] and (top not in _AMBIGUOUS_NUMBER or same_end)
        return same_end

    def neighbours(
        self, term: str, *, avoid: str = "", hard: bool = True
    ) -> list[tuple[str, float]]:
        """Same-kind terms nearest to `term`, those that would also fit `avoid` left out."""
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
            if {w.casefold()[:5] for w in t.text.split()} & avoid_keys:
                continue
            if fuzz.ratio(t.text.casefold(), me.text.casefold()) >= 70 or sims[j] >= 0.92:
                continue
            if not self.same_form(t.text, me.text):  # keep the sentence grammatical
                continue
            out.append((t.text, float(sims[j])))
        out.sort(key=lambda x: -x[1])
        return out if hard else out[3:] + out[:3]


def build_space(text: str, *, names: set[str], embed: Embed | None, lang: str = "en") -> TermSpace:
    """Terms, their vectors and definitions for a material's (sampled) text in `lang`."""
    terms = key_terms(text, names=names, lang=lang)
    vectors: np.ndarray | None = None
    if embed is not None and terms:
        vectors = np.asarray(embed([t.text for t in terms]), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms == 0, 1, norms)
    space = TermSpace(terms, vectors, frozenset(names), text=text, language=lang)
    keys = {t.text.casefold(): t for t in terms}
    for s in sentences(text, lang):
        subject = defined_term(s, text)
        if subject:
            space.definitions.setdefault(subject.casefold(), definition_of(s))
        for key in keys:
            if key not in space.sentences_with and _find(key, s):
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


def defined_term(sentence: str, text: str) -> str | None:
    """The term a defining sentence ("A typed trace is a trace annotated ...") defines."""
    m = _DEFINING.match(sentence)
    if not m:
        return None
    subject = m.group("term").strip()
    words = subject.split()
    if not 1 <= len(words) <= 4 or words[0].casefold() in _GENERIC | _STOP_EDGE | {"every"}:
        return None
    if any(w.casefold() in _GENERIC | _BACK_REFERENCE | _STOP_EDGE for w in words):
        return None
    mentions = len(re.findall(rf"(?<![\w-]){re.escape(subject)}(?![\w-])", text, re.IGNORECASE))
    return subject if mentions >= 2 else None


def definition_of(sentence: str) -> str:
    m = _DEFINING.match(sentence)
    assert m is not None
    predicate = f"{m.group('det')} {m.group('rest')}"
    if m.group("verb").casefold().endswith("used"):
        predicate = f"Used {predicate}"
    return predicate[:1].upper() + predicate[1:]


def list_items(sentence: str, text: str) -> list[tuple[int, int, str]] | None:
    """The three items of a list in the sentence ("JavaScript, Python, and Ruby"), or None."""
    m = _LIST.search(sentence)
    if not m or m.start() == 0:
        return None
    items = [(m.start(g), m.end(g), m.group(g)) for g in ("a", "b", "c")]
    for _, _, item in items:
        words = [w.casefold() for w in item.split()]
        if any(
            w in _STOP_EDGE or w in _GENERIC or w in _BACK_REFERENCE or w in _NOT_ITEM
            for w in words
        ) or not _noun_like(item.split()[-1], text):
            return None
    return items


def _plural(term: str) -> bool:
    last = term.split()[-1].casefold()
    return last.endswith("s") and not last.endswith(("ss", "us", "is"))


def _find(term: str, sentence: str) -> re.Match[str] | None:
    return re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", sentence, re.IGNORECASE)


# --- difficulty ----------------------------------------------------------------------------------


def difficulty_signal(*, count: int, max_count: int, closeness: float, words: int) -> float:
    """In [0, 1]: rarer terms, closer distractors and longer sentences are harder."""
    rarity = 1 - math.log1p(count) / math.log1p(max(max_count, 2))
    close = min(1.0, max(0.0, (closeness - 0.1) / 0.6))
    length = min(1.0, max(0.0, (words - WORDS_MIN) / 30))
    return round(0.4 * rarity + 0.4 * close + 0.2 * length, 3)


def level(signal: float) -> int:
    return 1 + min(4, int(signal * 5))


from engine.generation.offline_forms import build_draft  # noqa: E402 - forms use the above


@dataclass(frozen=True)
class _Candidate:
    passage: Passage
    sentence: str
    term: KeyTerm
    pre_signal: float
    language: str = "en"


def passage_language(p: Passage, space: TermSpace) -> str:
    """The passage's own language where it differs from its material's (a page in another
    language), else its material's."""
    return lang_.page_language(p.text, space.language)


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
        om = _find(other.text, sentence)
        if om and om.start() <= m.start() and m.end() <= om.end():
            return False
    before, after = sentence[: m.start()], sentence[m.end() :]
    if before.endswith(("-", "'", "/")) or after.startswith(("-", "/")):
        return False
    # A collocation of the material ("covered work", "page layout"): the blank would be half
    # of a fixed phrase, asked as a modifier or a fragment.
    prev = re.findall(r"([^\W\d_]+)\s*$", before)
    nxt = re.findall(r"^\s*([^\W\d_]+)", after)
    for phrase in ([f"{m.group(0)} {nxt[0]}"] if nxt and nxt[0].casefold() not in stop else []) + (
        [f"{prev[0]} {m.group(0)}"] if prev and prev[0].casefold() not in stop else []
    ):
        if (
            len(re.findall(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", space.text, re.IGNORECASE))
            >= COLLOCATION
        ):
            return False
    return True


def _candidates(
    passages: Sequence[Passage], spaces: dict[int, TermSpace], difficulty: int, used: set[str]
) -> list[list[_Candidate]]:
    """Per passage, its candidate (sentence, key term) pairs, best first: sentences that carry
    an idea and terms the document emphasises, near the wanted difficulty."""
    target = (difficulty - 1) / 4
    per_passage = []
    for p in passages:
        space = spaces.get(p.material_id)
        if space is None or not space.terms:
            continue
        lang = passage_language(p, space)
        if not lang_.is_supported(lang):
            continue
        max_count = max(t.count for t in space.terms)
        found = []
        for s in sentences(p.text, lang):
            if normalise(s) in used:
                continue
            concept = concept_score(s, lang)
            for t in space.terms:
                m = _find(t.text, s)
                if m and len(m.group(0)) <= len(s) / 3 and blankable(t, s, m, space, lang):
                    pre = difficulty_signal(
                        count=t.count, max_count=max_count, closeness=0.4, words=len(s.split())
                    )
                    salience = 1 - t.rank / max(1, len(space.terms))
                    score = abs(pre - target) - 0.3 * concept - 0.2 * salience
                    found.append((score, _Candidate(p, s, t, pre, lang)))
        found.sort(key=lambda x: x[0])
        per_passage.append([c for _, c in found])
    return per_passage


def spread_order(n: int) -> list[int]:
    """0..n-1 in an order whose every prefix is spread evenly over the range (the van der
    Corput sequence: 0, n/2, n/4, 3n/4, n/8, ...), so the first questions of a batch come
    from all over a document."""
    order: list[int] = []
    seen: set[int] = set()
    m = 0
    while len(order) < n and m < 4 * n + 4:
        fraction, base, k = 0.0, 0.5, m
        while k:
            fraction += base * (k & 1)
            k >>= 1
            base /= 2
        i = int(fraction * n)
        if i not in seen:
            seen.add(i)
            order.append(i)
        m += 1
    return order + [i for i in range(n) if i not in seen]


RIVAL_SIM = 0.6  # embedding similarity above which a term seen in the same slot fits as well
CLOSE_SIM = 0.75  # so close in meaning that it fits any slot the answer fits (near-synonyms)
COLLOCATION = 2  # a blank and its neighbour seen together this often are one phrase
_CONTEXT = 3  # words either side of a term that count as its context


def _contexts(space: TermSpace, term: str) -> tuple[set[str], set[str]]:
    """The content words seen within `_CONTEXT` words before and after the term in the
    material (cached on the space)."""
    key = term.casefold()
    if key not in space.contexts:
        stop = lang_.stopwords(space.language)
        before: set[str] = set()
        after: set[str] = set()
        for m in re.finditer(rf"(?<![\w-]){re.escape(term)}(?![\w-])", space.text, re.IGNORECASE):
            left = re.findall(r"[^\W\d_]+", space.text[max(0, m.start() - 60) : m.start()])
            right = re.findall(r"[^\W\d_]+", space.text[m.end() : m.end() + 60])
            before |= {w.casefold() for w in left[-_CONTEXT:] if w.casefold() not in stop}
            after |= {w.casefold() for w in right[:_CONTEXT] if w.casefold() not in stop}
        space.contexts[key] = (before, after)
    return space.contexts[key]


def rivals(space: TermSpace, term: str, sentence: str, m: re.Match[str]) -> list[str]:
    """Other key terms that would fill this blank as well: seen in the material beside the
    same words as the blank's neighbours (both sides, or one side and close in meaning).

    This measures "another answer fits": a learner who writes or picks one of these has a
    defensible answer, so the blank is ambiguous.
    """
    i = space.index(term)
    if i is None:
        return []
    stop = lang_.stopwords(space.language)
    left = [
        w.casefold()
        for w in re.findall(r"[^\W\d_]+", sentence[: m.start()])
        if w.casefold() not in stop
    ][-1:]
    right = [
        w.casefold()
        for w in re.findall(r"[^\W\d_]+", sentence[m.end() :])
        if w.casefold() not in stop
    ][:1]
    sims = space.similarities(i)
    me = space.terms[i]
    out = []
    for j, t in enumerate(space.terms):
        if j == i or t.kind != me.kind or content_words(t.text) & content_words(me.text):
            continue
        if _plural(t.text) != _plural(me.text) or _find(t.text, sentence):
            continue
        before, after = _contexts(space, t.text)
        hit_left = bool(left) and left[0] in before
        hit_right = bool(right) and right[0] in after
        if (
            (hit_left and hit_right)
            or ((hit_left or hit_right) and sims[j] >= RIVAL_SIM)
            or (space.vectors is not None and sims[j] >= CLOSE_SIM)
        ):
            out.append(t.text)
    return out


def _spread(passages: Sequence[Passage]) -> list[Passage]:
    """The passages of each material in document order, visited in `spread_order`, the
    materials interleaved."""
    by_material: dict[int, list[Passage]] = {}
    for p in passages:
        by_material.setdefault(p.material_id, []).append(p)
    orders = []
    for group in by_material.values():
        group = sorted(group, key=lambda p: (p.page_start, p.chunk_id))
        orders.append([group[i] for i in spread_order(len(group))])
    out: list[Passage] = []
    for i in range(max((len(o) for o in orders), default=0)):
        out.extend(o[i] for o in orders if i < len(o))
    return out


def generate(
    passages: Sequence[Passage],
    spaces: dict[int, TermSpace],
    *,
    count: int,
    types: Sequence[str],
    difficulty: int,
    topic: str | None = None,
    used_sentences: set[str] | None = None,
    forms: Sequence[str] | None = None,
    on_reject: Callable[[str], None] | None = None,
) -> Iterator[Draft]:
    """Yield up to `count` drafts that pass the lint, spreading over the document and forms.

    Passages are visited so that any first part of the batch draws on the whole document
    (see `spread_order`), one question per passage per round. Within one call no wrong option
    or swapped-in statement is used twice.

    Args:
        passages: context passages.
        spaces: each material's `TermSpace` by material id.
        count: how many drafts at most.
        types: allowed types ('mcq' and/or 'cloze').
        difficulty: 1-5; picks candidates and distractor closeness to match.
        topic: recorded on the drafts.
        used_sentences: normalised sentences not to ask about again (updated).
        forms: the forms to use in turn (default: every form the types allow).
        on_reject: called with the reason of each dropped draft.
    """
    types = [t for t in types if t in OFFLINE_TYPES] or [QuestionType.CLOZE]
    allowed = [f for f in MIX_ORDER if any(f in FORMS_BY_TYPE[QuestionType(t)] for t in types)]
    order = [f for f in (forms or allowed) if f in allowed] or allowed
    used = used_sentences if used_sentences is not None else set()
    passages = _spread(passages)
    queues = _candidates(passages, spaces, difficulty, used)
    sources = {p.chunk_id: p.text for p in passages}
    batch = Batch()
    made_forms: Counter[str] = Counter()
    made = turn = 0
    while made < count and any(queues):
        progressed = False
        for queue in queues:
            if made >= count:
                break
            while queue:
                c = queue.pop(0)
                if normalise(c.sentence) in used:
                    continue
                space = spaces[c.passage.material_id]
                draft = None
                rotation = [order[(turn + k) % len(order)] for k in range(len(order))]
                # The forms made least so far first, so one that failed gets the next turn.
                rotation.sort(key=lambda f: made_forms[f])
                for form in _rare_forms_first(rotation, c, space):
                    draft = build_draft(
                        form, c, space, difficulty=difficulty, topic=topic, batch=batch
                    )
                    for reason in batch.take_rejections():
                        if on_reject:
                            on_reject(reason)
                    if draft is None:
                        continue
                    broken = qlint.lint(
                        draft, source=sources[c.passage.chunk_id], names=space.names
                    )
                    if not broken:
                        break
                    if on_reject:
                        on_reject(f"lint_{broken[0]}")
                    draft = None
                if draft is None:
                    continue
                batch.commit(draft)
                made_forms[form] += 1
                used.add(normalise(c.sentence))
                turn += 1
                made += 1
                progressed = True
                yield draft
                break
        if not progressed:
            break


@dataclass
class Batch:
    """What one generation call has used so far: wrong options and false statements are
    never reused within a batch. Forms propose (`propose`), `commit` records a kept draft."""

    used_options: set[str] = field(default_factory=set)
    used_sources: set[str] = field(default_factory=set)  # sentences behind false statements
    rejections: list[str] = field(default_factory=list)

    def free(self, option: str) -> bool:
        return normalise(option) not in self.used_options

    def commit(self, draft: Draft) -> None:
        if draft.options and draft.correct_index is not None:
            self.used_options |= {
                normalise(o) for i, o in enumerate(draft.options) if i != draft.correct_index
            }

    def reject(self, reason: str) -> None:
        self.rejections.append(reason)

    def take_rejections(self) -> list[str]:
        out, self.rejections = self.rejections, []
        return out


def _rare_forms_first(rotation: list[str], c: _Candidate, space: TermSpace) -> list[str]:
    """Definitions and lists need a particular sentence: use one when it comes along."""
    rare = [
        f
        for f in ("definition", "list")
        if f in rotation
        and (
            defined_term(c.sentence, space.text)
            if f == "definition"
            else list_items(c.sentence, space.text)
        )
    ]
    return rare + [f for f in rotation if f not in rare]


def shuffled(options: list[str], answer: str, seed: str) -> tuple[list[str], int]:
    rng = random.Random(seed)
    rng.shuffle(options)
    return options, options.index(answer)
