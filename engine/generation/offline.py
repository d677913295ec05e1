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

from engine.domain.vocabulary import QuestionType
from engine.generation import lint as qlint
from engine.generation.drafts import BLANK, Draft, Passage
from engine.generation.validation import clean_text, content_words, normalise
from engine.ingestion.cleaning import is_heading_line

OFFLINE_VERSION = "offline-v2"
OFFLINE_TYPES = (QuestionType.MCQ, QuestionType.CLOZE)
FORMS_BY_TYPE = {QuestionType.MCQ: ("term", "definition", "statement"),
                 QuestionType.CLOZE: ("cloze", "list")}
MIX_ORDER = ("term", "cloze", "statement", "definition", "list")

Embed = Callable[[list[str]], np.ndarray]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z])")
_PHRASE_OK = re.compile(r"^[^\W\d_][\w' -]*[^\W_]$|^[^\W\d_]$", re.UNICODE)
_STOP_EDGE = frozenset("""a an and are as at be by for from has have in is it its of on or that
the their this to was were which with not but into than then also such these those our we
you your can may will one two""".split())
_GENERIC = frozenset("""paper section figure table example case number way result results work
approach use time part parts thing things data set first second third fact order kind
type types form""".split())
_BACK_REFERENCE = frozenset("""it this these they that those he she such its their here there
then also both each another other his her them we our""".split())
_CONNECTIVES = frozenset("""but and so yet however thus hence therefore moreover furthermore
instead still nevertheless otherwise consequently""".split())
_LAYOUT = re.compile(r"\b(above|below|as follows|following|shown in|see|cf\.|e\.g\.|i\.e\.)"
                     r"|:\s*$", re.IGNORECASE)
_REFERENCE = re.compile(r"\b(pp\.|vol\.|proceedings|journal of|conference on|press|isbn|doi)\b"
                        r"|\([A-Z][^()]{0,60}\d{4}[a-z]?\)|\b(19|20)\d{2}\b", re.IGNORECASE)
_CODE = re.compile(r"[{}\[\]=;<>_#\\|]")
_DEFINING = re.compile(r"^(?:An?|The)?\s*(?P<term>[\w' -]{2,60}?)\s+(?P<verb>is|are|refers to|"
                       r"means|denotes|is used|are used)\s+(?P<det>an?|the|one|to|for)\s+"
                       r"(?P<rest>.+)$", re.IGNORECASE)
_ITEM = r"[A-Za-z][\w-]*(?: [a-z][\w-]*){0,2}"
_LIST = re.compile(rf"(?<![\w-])(?P<a>{_ITEM}), (?P<b>{_ITEM}),? (?:and|or) (?P<c>{_ITEM})"
                   r"(?![\w-])")
_NOT_ITEM = frozenset("""if how when where why what whether only them us is are was were be been
being has have had do does did we you i""".split())
_NOUN_BEFORE = frozenset("""a an the this that these those each every its their our of
some any no""".split())
_BULLETS = re.compile("[\u2022\u25aa\u25cf\u25a0\u25e6\u2192\u27a2\uf0b7]")
WORDS_MIN, WORDS_MAX, CHARS_MAX = 8, 45, 280


@dataclass(frozen=True)
class KeyTerm:
    text: str
    rank: int
    count: int = 1
    kind: str = "phrase"  # 'acronym', 'proper' or 'phrase'


# --- sentences and terms -------------------------------------------------------------------------


def is_candidate(s: str) -> bool:
    """A complete, self-contained body sentence fit to ask about."""
    words = s.split()
    if not WORDS_MIN <= len(words) <= WORDS_MAX or len(s) > CHARS_MAX:
        return False
    if not s[:1].isupper() or s[-1] != "." or s.endswith(("et al.", "e.g.", "i.e.", "etc.")):
        return False
    if _points_back(words):
        return False
    if qlint.has_marker(s) or _LAYOUT.search(s) or _REFERENCE.search(s) or _CODE.search(s) \
            or _BULLETS.search(s):
        return False
    if sum(c.isalpha() or c.isspace() for c in s) / len(s) < 0.9:
        return False
    if sum(w[:1].isupper() for w in words[1:]) > 0.3 * len(words):
        return False
    if re.search(r"[.:]\s+[a-z]", s):  # a caption or a run-in heading glued to the sentence
        return False
    return s.count("(") == s.count(")") and s.count("\u201c") == s.count("\u201d")


def _points_back(words: list[str]) -> bool:
    """Whether the sentence opens by pointing at what came before ("This...", "But these...",
    "However, it..."): asked alone, it would make no sense."""
    first = [w.casefold().strip(",") for w in words[:2]]
    if first[0] in _BACK_REFERENCE:
        return True
    return first[0] in _CONNECTIVES and len(first) > 1 and first[1] in _BACK_REFERENCE


def sentences(text: str) -> list[str]:
    """Candidate sentences of a passage, headings and layout lines left out."""
    out = []
    for para in re.split(r"\n\s*\n", text):
        lines = [ln for ln in para.split("\n") if ln.strip()]
        body = [ln for i, ln in enumerate(lines)
                if not is_heading_line(ln, lines[i + 1] if i + 1 < len(lines) else None)]
        for s in _SENTENCE_END.split(clean_text(" ".join(body))):
            s = s.strip()
            if is_candidate(s):
                out.append(s)
    return out


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


def _kind(term: str, text: str) -> str:
    if len(term) <= 8 and " " not in term and term.isupper():
        return "acronym"
    found = re.findall(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text, re.IGNORECASE)
    capitalised = sum(1 for f in found if f[:1].isupper())
    return "proper" if found and capitalised >= 0.8 * len(found) and len(found) > 1 else "phrase"


def _noun_like(word: str, text: str) -> bool:
    """A single word used as a noun somewhere: after a determiner, or a name/acronym."""
    if word[:1].isupper() or word.endswith(("ly",)):
        return word[:1].isupper()
    before = re.findall(rf"(\w+)\s+{re.escape(word)}(?![\w-])", text, re.IGNORECASE)
    return any(b.casefold() in _NOUN_BEFORE for b in before)


def key_terms(text: str, *, top: int = 60, names: set[str] | frozenset[str] = frozenset()
              ) -> list[KeyTerm]:
    """The material's key terms, most salient first (yake, one or two words), without author
    names, generic words or numbers."""
    import yake  # deferred: only the offline path needs it

    sample = clean_text(text)[:40_000]
    if len(sample) < 40:
        return []
    extractor = yake.KeywordExtractor(lan="en", n=2, dedup_lim=0.8, top=top * 3)
    folded_names = {n.casefold() for n in names}
    terms: list[KeyTerm] = []
    seen: set[str] = set()
    for phrase, _score in extractor.extract_keywords(sample):
        phrase = phrase.strip()
        words = phrase.split()
        if not words or len(phrase) < 3 or len(phrase) > 40 or not _PHRASE_OK.match(phrase):
            continue
        folded = [w.casefold() for w in words]
        if folded[0] in _STOP_EDGE or folded[-1] in _STOP_EDGE or folded[-1] in _GENERIC:
            continue
        if any(w in folded_names for w in folded) and phrase[:1].isupper():
            continue
        key = phrase.casefold()
        if key in seen or (len(words) == 1 and not _noun_like(phrase, sample)):
            continue
        seen.add(key)
        count = len(re.findall(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", sample, re.IGNORECASE))
        terms.append(KeyTerm(phrase, len(terms), max(1, count), _kind(phrase, sample)))
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

    def index(self, term: str) -> int | None:
        key = term.casefold()
        return next((i for i, t in enumerate(self.terms) if t.text.casefold() == key), None)

    def similarities(self, i: int) -> np.ndarray:
        if self.vectors is None or not len(self.vectors):
            return np.array([1.0 - abs(t.rank - self.terms[i].rank) / 100 for t in self.terms])
        return self.vectors @ self.vectors[i]

    def neighbours(self, term: str, *, avoid: str = "", hard: bool = True) -> list[tuple[str, float]]:
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
            if _plural(t.text) != _plural(me.text):  # keep the sentence grammatical
                continue
            out.append((t.text, float(sims[j])))
        out.sort(key=lambda x: -x[1])
        return out if hard else out[3:] + out[:3]


def build_space(text: str, *, names: set[str], embed: Embed | None) -> TermSpace:
    """Terms, their vectors and definitions for a material's (sampled) text."""
    terms = key_terms(text, names=names)
    vectors = None
    if embed is not None and terms:
        vectors = np.asarray(embed([t.text for t in terms]), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms == 0, 1, norms)
    space = TermSpace(terms, vectors, frozenset(names), text=text)
    keys = {t.text.casefold(): t for t in terms}
    for s in sentences(text):
        subject = defined_term(s, text)
        if subject:
            space.definitions.setdefault(subject.casefold(), definition_of(s))
        for key in keys:
            if key not in space.sentences_with and _find(key, s):
                space.sentences_with[key] = s
    if embed is not None and len(space.definitions) > 1:
        subjects = list(space.definitions)
        vectors = np.asarray(embed(subjects), dtype=np.float32)
        vectors /= np.where(np.linalg.norm(vectors, axis=1, keepdims=True) == 0, 1,
                            np.linalg.norm(vectors, axis=1, keepdims=True))
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
        if any(w in _STOP_EDGE or w in _GENERIC or w in _BACK_REFERENCE or w in _NOT_ITEM
               for w in words) or not _noun_like(item.split()[-1], text):
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


def _candidates(passages: Sequence[Passage], spaces: dict[int, TermSpace], difficulty: int,
                used: set[str]) -> list[list[_Candidate]]:
    target = (difficulty - 1) / 4
    per_passage = []
    for p in passages:
        space = spaces.get(p.material_id)
        if space is None or not space.terms:
            continue
        max_count = max(t.count for t in space.terms)
        found = []
        for s in sentences(p.text):
            if normalise(s) in used:
                continue
            for t in space.terms:
                m = _find(t.text, s)
                if m and len(m.group(0)) <= len(s) / 3:
                    pre = difficulty_signal(count=t.count, max_count=max_count, closeness=0.4,
                                            words=len(s.split()))
                    found.append(_Candidate(p, s, t, pre))
        found.sort(key=lambda c: abs(c.pre_signal - target))
        per_passage.append(found)
    return per_passage


def generate(passages: Sequence[Passage], spaces: dict[int, TermSpace], *, count: int,
             types: Sequence[str], difficulty: int, topic: str | None = None,
             used_sentences: set[str] | None = None, forms: Sequence[str] | None = None,
             on_reject: Callable[[str], None] | None = None) -> Iterator[Draft]:
    """Yield up to `count` drafts that pass the lint, spreading over passages and forms.

    Args:
        passages: context passages, most wanted first.
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
    allowed = [f for f in MIX_ORDER if any(f in FORMS_BY_TYPE[t] for t in types)]
    order = [f for f in (forms or allowed) if f in allowed] or allowed
    used = used_sentences if used_sentences is not None else set()
    queues = _candidates(passages, spaces, difficulty, used)
    sources = {p.chunk_id: p.text for p in passages}
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
                for form in _rare_forms_first(rotation, c, space):
                    draft = build_draft(form, c, space, difficulty=difficulty, topic=topic)
                    if draft is None:
                        continue
                    broken = qlint.lint(draft, source=sources[c.passage.chunk_id],
                                        names=space.names)
                    if not broken:
                        break
                    if on_reject:
                        on_reject(f"lint_{broken[0]}")
                    draft = None
                if draft is None:
                    continue
                used.add(normalise(c.sentence))
                turn += 1
                made += 1
                progressed = True
                yield draft
                break
        if not progressed:
            break


def _rare_forms_first(rotation: list[str], c: _Candidate, space: TermSpace) -> list[str]:
    """Definitions and lists need a particular sentence: use one when it comes along."""
    rare = [f for f in ("definition", "list") if f in rotation and (
        defined_term(c.sentence, space.text) if f == "definition"
        else list_items(c.sentence, space.text))]
    return rare + [f for f in rotation if f not in rare]


def shuffled(options: list[str], answer: str, seed: str) -> tuple[list[str], int]:
    rng = random.Random(seed)
    rng.shuffle(options)
    return options, options.index(answer)
