"""What ties an answer to the passages: the refusal rule, support scores with our own embeddings,
and the offline extractive answer (the best whole sentences of the top passages, each cited)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.retrieval.embeddings import Embedder
from engine.retrieval.lexical import lexical_tokens
from engine.search import question_terms
from engine.tutor import sentences as units
from engine.tutor.citations import Sentence, support_score

MIN_SENTENCE_WORDS = 5
MAX_SENTENCE_WORDS = 70
MAX_EMBEDDED = 8  # candidate sentences scored with embeddings per offline answer
# Weights of the lexical evidence beside the dense one in the refusal rule.
LIBRARY_COVERAGE_WEIGHT = 0.3
PASSAGE_COVERAGE_WEIGHT = 0.3
DEFINITION_BONUS = 0.3
FOCUS_BONUS = 0.5  # a follow-up's own words say what it asks now
# A sentence whose support beats the top passage's best by more than this leads the answer
# (chosen on half A of `bench.tutor`'s Cranfield queries with the evidence order below: the
# smallest margin of the best plateau; a clearly better answer is still read first).
LEAD_MARGIN = 0.2
# The top passages are reordered by their retrieval score plus this weight times their
# agreement with the other top passages (see `evidence_order`).
AGREEMENT_WEIGHT = 1.0
AGREEMENT_PASSAGES = 4  # the top passages whose mutual agreement is weighed
REORDERED = 2  # how many of the top passages may change places


@dataclass(frozen=True)
class Evidence:
    """What the retrieved passages say about whether the library covers a question.

    cosine: the best passage's cosine similarity to the question (our embeddings), or the
        best fused score when the vectors are unavailable;
    library_coverage: share of the question's terms (IDF-weighted) found in the library;
    passage_coverage: the same share in the best-covering top passage.
    """

    cosine: float
    library_coverage: float
    passage_coverage: float

    @property
    def score(self) -> float:
        """Dense and lexical evidence together: a question must be close in meaning and
        share its distinctive words with the material (an off-topic question usually has a
        term the library never uses, which weighs most)."""
        return (
            self.cosine
            + LIBRARY_COVERAGE_WEIGHT * self.library_coverage
            + PASSAGE_COVERAGE_WEIGHT * self.passage_coverage
        )


def should_refuse(evidence: Evidence | None, threshold: float) -> bool:
    """Refuse (no model call) when nothing was retrieved or the evidence is below the
    threshold."""
    return evidence is None or evidence.score < threshold


def support_scores(
    sentences: Sequence[str], passages: Sequence[str], embedder: Embedder
) -> list[list[float]]:
    """`scores[i][j]`: how well passage j supports sentence i (0.9 cosine + 0.1 term overlap)."""
    if not sentences or not passages:
        return [[] for _ in sentences]
    vectors = embedder.embed_documents([*sentences, *passages])
    s_vec, p_vec = vectors[: len(sentences)], vectors[len(sentences) :]
    cosines = np.asarray(s_vec @ p_vec.T, dtype=np.float64)
    p_terms = [set(lexical_tokens(p)) for p in passages]
    return [
        [
            support_score(float(cosines[i, j]), lexical_tokens(s), p_terms[j])
            for j in range(len(passages))
        ]
        for i, s in enumerate(sentences)
    ]


def pdf_sentences(text: str) -> list[str]:
    """Sentences of a passage of PDF text (line breaks and hyphenation undone; captions,
    labels and headings left out)."""
    return [u.text for u in units.split(text) if not u.caption]


# "What is X?", "What are X?", "Define X", "What does X mean?", German and French forms.
_DEFINITION_QUESTION = re.compile(
    r"^\s*(?:what\s+(?:is|are|was|were)\s+(?:meant\s+by\s+)?|define\s+|definition\s+of\s+|"
    r"what\s+does\s+|what\s+do\s+|was\s+(?:ist|sind|bedeutet|bezeichnet|versteht\s+man\s+"
    r"unter)\s+|was\s+hei(?:ß|ss)t\s+|definiere\s+|qu['\u2019]est[- ]ce\s+qu['\u2019]\s*(?:une|un|"
    r"les|le|la|l['\u2019])?\s*|qu['\u2019]est[- ]ce\s+que\s+|que\s+(?:signifie|veut\s+dire)\s+)"
    r"(?:(?:a|an|the|ein|eine|einen|einem|einer|der|die|das|un|une|le|la|les)\s+)?"
    r"(?P<term>[^?.!]{2,80}?)\s*(?:\s+mean|\s+bedeuten|\s+in\s+[A-Z][^?]*)?\s*[?.!]?\s*$",
    re.IGNORECASE,
)
# A copula followed by a determiner ("is a", "sind die", "est une") or a naming verb.
_COPULA = r"(?:is|are|ist|sind|est|sont)"
_DETERMINER = (
    r"(?:a|an|the|one|any|ein|eine|einer|eines|der|die|das|jede|jeder|un|une|le|la|"
    r"les|des|l['\u2019])"
)
_DEFINING = re.compile(
    rf"\b(?:{_COPULA}\s+(?:(?:simply|just|basically|essentially|also|einfach|genau|"
    rf"eigentlich|simplement)\s+)?{_DETERMINER}\b|means|denotes|refers\s+to|is\s+called|"
    rf"are\s+called|is\s+defined|we\s+call|known\s+as|hei(?:ß|ss)t|hei(?:ß|ss)en|"
    rf"nennt\s+man|nennen\s+wir|bezeichnet|versteht\s+man|definiert|désigne|appelle|"
    rf"appelée?s?|meint)\b",
    re.IGNORECASE,
)
# Naming verbs after which the defined term comes ("Knoten ohne Kinder heißen Blätter").
_NAMING = re.compile(
    r"\b(?:hei(?:ß|ss)en|hei(?:ß|ss)t|nennt\s+man|is\s+called|are\s+called|"
    r"known\s+as|bezeichnet\s+man\s+als|s['\u2019]appelle|appelle)\b",
    re.IGNORECASE,
)


# "Wie heißen Knoten ohne Kinder?", "What are nodes without children called?": the answer is a
# sentence that names X ("Knoten ohne Kinder heißen Blätter").
_NAME_QUESTION = re.compile(
    r"^\s*(?:wie\s+(?:hei(?:ß|ss)en|hei(?:ß|ss)t|nennt\s+man|bezeichnet\s+man)\s+(?P<de>[^?]{2,80}?)|"
    r"what\s+(?:is|are)\s+(?P<en>[^?]{2,80}?)\s+called|"
    r"comment\s+(?:s['\u2019]appellent|s['\u2019]appelle|appelle-t-on|nomme-t-on)\s+(?P<fr>[^?]{2,80}?))"
    r"\s*[?.!]?\s*$",
    re.IGNORECASE,
)


def naming_term(question: str) -> str | None:
    """X when the question asks what X is called ("Wie heißen Knoten ohne Kinder?"), else
    None."""
    m = _NAME_QUESTION.match(question.strip().splitlines()[-1] if question.strip() else "")
    if not m:
        return None
    return next(g for g in m.groups() if g).strip(" \"'\u201c\u201d")


def _naming_match(named: str, sentence: str) -> float:
    """1 when `sentence` names what the question describes: half its words (of four letters
    or more) or more come before a naming verb ("Knoten ohne Kinder heißen Blätter"), else 0."""
    naming = _NAMING.search(sentence)
    wanted = {w[:5] for w in _words(named) if len(w) >= 4}
    if not naming or not wanted:
        return 0.0
    before = set(_stems(sentence[: naming.start()]))
    return 1.0 if len(wanted & before) >= 0.5 * len(wanted) else 0.0


def definition_term(question: str) -> str | None:
    """X when the question asks what X is ("What is a trace tree?", "Was ist ein kompakter
    topologischer Raum?"), else None."""
    m = _DEFINITION_QUESTION.match(question.strip().splitlines()[-1] if question.strip() else "")
    if not m:
        return None
    term = m.group("term").strip(" \"'\u201c\u201d")
    return term if term and len(term.split()) <= 6 else None


def _words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[^\W\d_]{2,}", text)]


def _same_word(a: str, b: str) -> bool:
    """The same word up to a short inflection ("trace"/"traces", "kompakter"/"kompakt"),
    never a longer compound ("trace"/"tracemonkey")."""
    short, long = sorted((a, b), key=len)
    return len(short) >= 3 and long.startswith(short) and len(long) - len(short) <= 3


def _stems(text: str) -> list[str]:
    return [w[:5] for w in _words(text) if len(w) >= 3]


def _definition_match(term: str, sentence: str) -> float:
    """How much `sentence` reads as the definition of `term`: 1 when the term opens it (within
    its first words) and a defining construction follows ("A trace is a ...", "Ein
    topologischer Raum heißt kompakt, wenn ..."); partial credit for sharing the term."""
    wanted = [w for w in _words(term) if len(w) >= 3]
    if not wanted:
        return 0.0
    words = _words(sentence)
    naming = _NAMING.search(sentence)
    if naming:
        after = _words(sentence[naming.end() :])[: len(wanted) + 3]
        if all(any(_same_word(w, t) for w in after) for t in wanted):
            return 1.0
    places = [next((i for i, w in enumerate(words) if _same_word(w, t)), None) for t in wanted]
    found = [i for i in places if i is not None]
    share = len(found) / len(wanted)
    if share < 1 or min(found) > 4 or max(found) > 12:
        return share * 0.3
    m = _DEFINING.search(sentence)
    if not m:
        return share * 0.3
    verb_at = len(_words(sentence[: m.start()]))
    return 1.0 if min(found) < verb_at <= max(found) + 4 else share * 0.3


@dataclass(frozen=True)
class Extract:
    sentences: list[Sentence]
    text: str


@dataclass(frozen=True)
class _Candidate:
    n: int  # the passage's number (1-based)
    position: int  # where the sentence starts in its passage
    text: str
    rank: int = 0  # the passage's place in the answer's evidence order (0 = first)


@dataclass(frozen=True)
class _Wanted:
    """What the question asks for beyond its query's words: the term it wants defined, and
    the stems of what a follow-up asks about."""

    term: str | None
    focus: frozenset[str]
    named: str | None = None  # what the question asks the name of

    def bonus(self, sentence: str) -> float:
        extra = DEFINITION_BONUS * _definition_match(self.term, sentence) if self.term else 0.0
        if self.named:
            extra += DEFINITION_BONUS * _naming_match(self.named, sentence)
        if self.focus:
            extra += FOCUS_BONUS * len(self.focus & set(_stems(sentence))) / len(self.focus)
        return extra

    def reaches(self, sentence: str) -> bool:
        """Worth taking from beyond the top passages: the definition asked for, or a sentence
        on what a follow-up asks about."""
        return bool(
            (self.term and _definition_match(self.term, sentence) == 1.0)
            or (self.named and _naming_match(self.named, sentence) == 1.0)
            or (self.focus & set(_stems(sentence)))
        )

    def leads(self, sentence: str) -> bool:
        """Comes first in the answer: the definition or name asked for, or what a follow-up
        asks."""
        return self.bonus(sentence) >= DEFINITION_BONUS * 0.99


def _wanted(query: str, question: str | None, focus: str) -> _Wanted:
    stems = (
        frozenset(_stems(" ".join(t for t in lexical_tokens(focus) if t not in question_terms())))
        if focus
        else frozenset()
    )
    asked = question or query
    return _Wanted(definition_term(asked), stems, naming_term(asked))


def _candidates(
    passages: Sequence[str],
    around: tuple[Sequence[str | None] | None, Sequence[str | None] | None],
    wanted: _Wanted,
    order: Sequence[int],
    max_passages: int,
) -> list[_Candidate]:
    """Whole sentences of readable length from the top passages of `order` (and what
    `wanted` reaches for in the others)."""
    out: list[_Candidate] = []
    leads, trails = around
    rank = {i: r for r, i in enumerate(order)}
    for i, text in enumerate(passages):
        lead = leads[i] if leads is not None and i < len(leads) else None
        trail = trails[i] if trails is not None and i < len(trails) else None
        for u in units.split(text, lead=lead, trail=trail):
            if not (u.usable and MIN_SENTENCE_WORDS <= len(u.text.split()) <= MAX_SENTENCE_WORDS):
                continue
            if rank[i] < max_passages or wanted.reaches(u.text):
                out.append(_Candidate(i + 1, u.start, u.text, rank[i]))
    return out


def _scored(
    query: str, candidates: list[_Candidate], embedder: Embedder, wanted: _Wanted
) -> list[tuple[float, _Candidate]]:
    """Each candidate's support for the query (0.9 cosine + 0.1 share of the query's terms
    it contains) plus what `wanted` adds, best first."""
    q_terms = set(lexical_tokens(query))
    if len(candidates) > MAX_EMBEDDED:
        # Only the sentences sharing most query terms are embedded (the costly step).
        def shared(c: _Candidate) -> float:
            return (
                len(q_terms & set(lexical_tokens(c.text)))
                + 10 * wanted.bonus(c.text)
                - 0.01 * c.rank
            )

        candidates = sorted(candidates, key=lambda c: -shared(c))[:MAX_EMBEDDED]
    vectors = embedder.embed_documents([query, *(c.text for c in candidates)])
    cosines = vectors[1:] @ vectors[0]
    scored = [
        (
            support_score(float(cosine), sorted(q_terms), set(lexical_tokens(c.text)))
            + wanted.bonus(c.text),
            c,
        )
        for c, cosine in zip(candidates, cosines, strict=True)
    ]
    return sorted(scored, key=lambda x: (-x[0], x[1].rank, x[1].position))


def _best(
    scored: list[tuple[float, _Candidate]], max_sentences: int
) -> list[tuple[float, _Candidate]]:
    chosen: list[tuple[float, _Candidate]] = []
    seen: set[str] = set()
    for score, c in scored:
        if c.text.lower() not in seen:
            seen.add(c.text.lower())
            chosen.append((score, c))
        if len(chosen) == max_sentences:
            break
    return chosen


def _ordered(chosen: list[tuple[float, _Candidate]], wanted: _Wanted) -> list[_Candidate]:
    """The answer's order: the definition or name asked for, or what a follow-up asks about,
    first; then a sentence that answers clearly better than any of the top passage's
    (`LEAD_MARGIN`); then the passages' evidence order (`evidence_order`; reranking the top
    passages by sentence support, passage cosine, term or title coverage did worse on
    Cranfield than the retrieval order, their agreement with each other better)."""
    if not chosen:
        return []
    first = min(c.rank for _, c in chosen)
    top_of_first = max(score for score, c in chosen if c.rank == first)
    best_score, best = max(chosen, key=lambda x: (x[0], -x[1].rank))
    clearly = best if best_score - top_of_first > LEAD_MARGIN else None
    return [
        c
        for _, c in sorted(
            chosen,
            key=lambda x: (
                not wanted.leads(x[1].text),
                x[1] is not clearly,
                x[1].rank,
                x[1].position,
            ),
        )
    ]


def evidence_order(
    passages: Sequence[str], scores: Sequence[float] | None, embedder: Embedder
) -> list[int]:
    """Passage indices in the order the answer follows: the top `REORDERED` passages by their
    retrieval score (relative to the top one's) plus `AGREEMENT_WEIGHT` times how much more
    they agree with the top `AGREEMENT_PASSAGES` than the top one does (mean cosine, in
    standard deviations of that agreement); the rest as retrieved. Passages that answer a
    question tend to resemble one another, while a passage on top for sharing a rare word
    with the question stands apart from them.

    Args:
        passages: passage texts in retrieval order.
        scores: their retrieval scores (None: the retrieval order is kept).
        embedder: our embedding model.
    """
    n = min(len(passages), AGREEMENT_PASSAGES)
    if scores is None or len(scores) != len(passages) or n < 3 or scores[0] <= 0:
        return list(range(len(passages)))
    vectors = embedder.embed_documents(list(passages[:n]))
    cosines = np.asarray(vectors @ vectors.T, dtype=np.float64)
    agreement = (cosines.sum(axis=1) - np.diag(cosines)) / (n - 1)
    spread = float(agreement.std())
    if spread < 1e-9:
        return list(range(len(passages)))
    head = min(REORDERED, n)
    evidence = [
        float(scores[i]) / float(scores[0])
        + AGREEMENT_WEIGHT * float(agreement[i] - agreement[0]) / spread
        for i in range(head)
    ]
    return sorted(range(head), key=lambda i: (-evidence[i], i)) + list(range(head, len(passages)))


def extractive_answer(
    query: str,
    passages: Sequence[str],
    embedder: Embedder,
    *,
    leads: Sequence[str | None] | None = None,
    trails: Sequence[str | None] | None = None,
    question: str | None = None,
    focus: str = "",
    scores: Sequence[float] | None = None,
    max_sentences: int = 3,
    max_passages: int = 3,
) -> Extract:
    """The whole sentences of the top passages that best answer the query, each citing its
    passage. Captions, labels, headings, code and sentences cut by the passage's
    start or end are never used.

    Args:
        query: the standalone search query.
        passages: passage texts in prompt order (passage i is cited as [i + 1]).
        embedder: our embedding model.
        leads: per passage, the document text just before it (None = unknown).
        trails: per passage, the document text just after it (None = unknown).
        question: the learner's message: "what is X" prefers the sentence defining X.
        focus: what a follow-up asks about beyond the conversation's topic ("its limitations"):
            sentences with these words are preferred.
        scores: the passages' retrieval scores: the answer follows `evidence_order` (None:
            the passages' order).
        max_sentences: sentences in the answer.
        max_passages: how many of the top passages to draw from.

    Returns:
        The chosen sentences (a definition of the term asked about, or the sentence on what a
        follow-up asks, first; then in evidence order) and the answer text with markers.
    """
    wanted = _wanted(query, question, focus)
    order = evidence_order(passages, scores, embedder)
    candidates = _candidates(passages, (leads, trails), wanted, order, max_passages)
    if not candidates:
        return Extract([], "")
    chosen = _ordered(_best(_scored(query, candidates, embedder, wanted), max_sentences), wanted)
    sentences = [Sentence(c.text, (c.n,)) for c in chosen]
    text = " ".join(f"{s.text} [{s.refs[0]}]" for s in sentences)
    return Extract(sentences, text)
