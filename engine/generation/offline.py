"""The offline generator: extractive cloze and multiple-choice questions, no model needed.

Key terms come from yake over the material's text; a key sentence containing one becomes the
question with that term blanked. Distractors are other key terms of the same material. Every
question quotes its sentence verbatim, so it is grounded by construction (and still checked).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from engine.generation.drafts import BLANK, Draft, Passage
from engine.generation.validation import EXCERPT_MAX, clean_text, content_words, normalise

OFFLINE_VERSION = "offline-yake-v1"
OFFLINE_TYPES = ("mcq", "cloze")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_PHRASE_OK = re.compile(r"^[^\W\d_][\w' -]*[^\W_]$|^[^\W\d_]$", re.UNICODE)
_STOP_EDGE = frozenset("""a an and are as at be by for from has have in is it its of on or that
the their this to was were which with not but into than then they also such these those our we
you your can may will one two""".split())
SENTENCE_MIN, SENTENCE_MAX = 40, 320


@dataclass(frozen=True)
class KeyTerm:
    text: str
    rank: int


def key_terms(text: str, *, top: int = 60) -> list[KeyTerm]:
    """The material's key terms, most salient first (yake, one to three words)."""
    import yake  # deferred: only the offline path needs it

    sample = clean_text(text)[:40_000]
    if len(sample) < 40:
        return []
    extractor = yake.KeywordExtractor(lan="en", n=2, dedup_lim=0.8, top=top * 2)
    terms: list[KeyTerm] = []
    seen: set[str] = set()
    for phrase, _score in extractor.extract_keywords(sample):
        phrase = phrase.strip()
        words = phrase.split()
        if not words or len(phrase) < 3 or len(phrase) > 60:
            continue
        if words[0].casefold() in _STOP_EDGE or words[-1].casefold() in _STOP_EDGE:
            continue
        if not _PHRASE_OK.match(phrase):
            continue
        key = phrase.casefold()
        if key in seen:
            continue
        seen.add(key)
        terms.append(KeyTerm(phrase, len(terms)))
        if len(terms) >= top:
            break
    return terms


def sentences(text: str) -> list[str]:
    """Sentences of a passage fit to become a question (clean, whole, mostly words)."""
    out = []
    for s in _SENTENCE_END.split(clean_text(text)):
        s = s.strip()
        if not SENTENCE_MIN <= len(s) <= min(SENTENCE_MAX, EXCERPT_MAX):
            continue
        if len(s.split()) < 6 or s[-1] not in ".!?":
            continue
        letters = sum(c.isalpha() for c in s)
        if letters / len(s) < 0.65:
            continue
        words = s.split()
        # Title blocks and author lists ("Trace-Based Compilation ... David R.") are not prose.
        if sum(w[:1].isupper() for w in words) > 0.4 * len(words):
            continue
        if len(words[-1].rstrip(".!?")) <= 1:
            continue
        out.append(s)
    return out


def _find(term: str, sentence: str) -> re.Match[str] | None:
    return re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", sentence, re.IGNORECASE)


def _distractors(answer: str, sentence: str, terms: Sequence[KeyTerm]) -> list[str] | None:
    answer_words = content_words(answer)
    sentence_n = normalise(sentence)
    n_words = len(answer.split())
    candidates = []
    for t in terms:
        tn = normalise(t.text)
        if tn in sentence_n or content_words(t.text) & answer_words:
            continue
        if fuzz.ratio(tn, normalise(answer)) >= 70:
            continue
        candidates.append(t)
    # Prefer terms shaped like the answer (same number of words), then salience.
    candidates.sort(key=lambda t: (abs(len(t.text.split()) - n_words), t.rank))
    chosen: list[str] = []
    for t in candidates[:12]:
        if all(fuzz.ratio(normalise(t.text), normalise(c)) < 70 for c in chosen):
            chosen.append(t.text)
        if len(chosen) == 3:
            break
    if len(chosen) < 3:
        return None
    return chosen


def _match_case(term: str, like: str) -> str:
    """Give a distractor the answer's leading case, unless it is an acronym or a proper name."""
    if like[:1].isupper() == term[:1].isupper() or any(c.isupper() for c in term[1:]):
        return term
    return term[:1].upper() + term[1:] if like[:1].isupper() else term[:1].lower() + term[1:]


def generate(
    passages: Sequence[Passage],
    terms_by_material: dict[int, list[KeyTerm]],
    *,
    count: int,
    types: Sequence[str],
    difficulty: int,
    topic: str | None = None,
    used_sentences: set[str] | None = None,
) -> Iterator[Draft]:
    """Yield up to `count` drafts, spreading over the passages in order.

    Args:
        passages: context passages, most wanted first.
        terms_by_material: key terms per material id (see `key_terms`).
        count: how many drafts at most.
        types: allowed types, used in turn ('mcq' and/or 'cloze').
        difficulty: 1-5; easier picks the most salient terms, harder less salient ones.
        topic: recorded on the drafts.
        used_sentences: normalised sentences not to ask about again (updated).
    """
    types = [t for t in types if t in OFFLINE_TYPES] or ["cloze"]
    used = used_sentences if used_sentences is not None else set()
    # Candidate (passage, sentence, term) per passage, in salience order for the difficulty.
    per_passage: list[list[tuple[Passage, str, re.Match[str]]]] = []
    for p in passages:
        terms = terms_by_material.get(p.material_id, [])
        if not terms:
            continue
        ordered = sorted(terms, key=lambda t: abs(t.rank - (difficulty - 1) * len(terms) / 6))
        found = []
        for s in sentences(p.text):
            if normalise(s) in used:
                continue
            for t in ordered:
                m = _find(t.text, s)
                # The blank must leave enough of the sentence to be answerable.
                if m and len(m.group(0)) <= len(s) / 3:
                    found.append((p, s, m))
                    break
        per_passage.append(found)
    made = 0
    turn = 0
    while made < count and any(per_passage):
        for queue in per_passage:
            if made >= count:
                break
            while queue:
                p, s, m = queue.pop(0)
                key = normalise(s)
                if key in used:
                    continue
                qtype = types[turn % len(types)]
                draft = _build(p, s, m, qtype, types, terms_by_material[p.material_id],
                               difficulty, topic)
                if draft is None:
                    continue
                used.add(key)
                turn += 1
                made += 1
                yield draft
                break


def _build(p: Passage, sentence: str, m: re.Match[str], qtype: str, types: Sequence[str],
           terms: Sequence[KeyTerm], difficulty: int, topic: str | None) -> Draft | None:
    answer = m.group(0)
    blanked = f"{sentence[:m.start()]}{BLANK}{sentence[m.end():]}"
    pages = f"p. {p.page_start}" if p.page_start == p.page_end else (
        f"pp. {p.page_start}-{p.page_end}")
    common = dict(
        answer=answer, difficulty=difficulty, excerpt=sentence, chunk_ids=[p.chunk_id],
        source_chunk_id=p.chunk_id, material_id=p.material_id, material_title=p.material_title,
        page_start=p.page_start, page_end=p.page_end, topic=topic, generator="offline",
        prompt_version=OFFLINE_VERSION,
    )
    if qtype == "mcq":
        rng = random.Random(f"{p.chunk_id}:{normalise(sentence)}")
        distractors = _distractors(answer, sentence, terms)
        if distractors is None:
            if "cloze" not in types:
                return None
            qtype = "cloze"
        else:
            options = [answer, *(_match_case(d, answer) for d in distractors)]
            rng.shuffle(options)
            correct = options.index(answer)
            wrong = ", ".join(f"'{o}'" for o in options if o != answer)
            return Draft(
                type="mcq",
                stem=f"Which term completes this sentence from the source? \u201c{blanked}\u201d",
                options=options, correct_index=correct,
                explanation=(f"The source ({pages}) reads: \u201c{sentence}\u201d, so the missing "
                             f"term is '{answer}'. {wrong} are other key terms of the same "
                             "material that do not appear in this sentence."),
                **common,
            )
    return Draft(
        type="cloze",
        stem=f"Fill in the blank: {blanked}",
        explanation=f"The source ({pages}) reads: \u201c{sentence}\u201d",
        **common,
    )
