"""Checks every draft passes before a learner sees it: shape, grounding, duplicates.

Each check returns a rejection reason (a short code counted in reports) or None. Pure code:
no database, no LLM.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz, process

from engine.domain.vocabulary import QuestionType
from engine.generation.drafts import BLANK, QUESTION_TYPES, Draft, Passage

STEM_MIN, STEM_MAX = 10, 1000
OPTION_MAX = 300
ANSWER_MAX = 1000
CLOZE_ANSWER_MAX = 120
EXPLANATION_MIN, EXPLANATION_MAX = 10, 3000
EXCERPT_MIN, EXCERPT_MAX = 15, 1200
KEY_POINTS_MAX = 8

# Human-readable labels for the rejection reasons, for the UI and reports.
REASONS = {
    "malformed_output": "the model's answer was not valid JSON",
    "bad_shape": "a required field was missing or of the wrong kind",
    "wrong_type": "not the question type asked for",
    "bad_length": "text too short or too long",
    "bad_options": "multiple choice without exactly 4 non-empty options",
    "duplicate_options": "multiple choice with repeated options",
    "bad_correct_index": "correct answer index outside the options",
    "answer_mismatch": "the marked answer is not the option it points to",
    "no_blank": "cloze without a blank",
    "missing_explanation": "no explanation",
    "bad_difficulty": "difficulty outside 1-5",
    "no_key_points": "short answer without key points",
    "uncited": "no cited passage from the given context",
    "excerpt_not_in_source": "the quoted excerpt is not in the cited passage",
    "excerpt_unsupportive": "the quoted excerpt does not support the answer",
    "duplicate_in_batch": "a duplicate of another new question",
    "duplicate_of_bank": "a duplicate of a question already in the bank",
    "rejected_before": "a question you rejected before",
    "over_count": "more questions than asked for",
    "lint_stem_not_sentence": "not a complete sentence of 8 or more words",
    "lint_marker": "a heading, figure, table, equation or citation marker",
    "lint_answer_leaked": "the answer could be guessed from the rest of the question",
    "lint_options_not_distinct": "options too alike",
    "lint_options_mixed_kind": "options of different kinds or lengths",
    "lint_author_name": "an author's name or affiliation as an option",
    "lint_excerpt_not_verbatim": "the excerpt is not word for word in the source",
    "lint_mangled_text": 'text the PDF mangled (an abbreviation such as "d-h-")',
    "ambiguous_blank": "another key term of the material would fill the blank as well",
    "common_word_blank": "a common word as a typed answer: a synonym would be as right",
    "ambiguous_option": "a term that fits as well was kept out of the options",
    "language_unsupported": "a material in a language offline questions are not made in",
}

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2032": "'",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00ad": None,
        "\u00a0": " ",
    }
)
_WS = re.compile(r"\s+")
_BLANK_RE = re.compile(r"_{3,}|\[blank\]|\{\{\s*blank\s*\}\}", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(
    """a an and are as at be by for from has have in is it its of on or that the
their there these this to was were which with not no but into than then they them he she his her
what when where who why how does do did can could would should will""".split()
)


def clean_text(text: str) -> str:
    """Typography and whitespace evened out, case kept (idempotent)."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    # Words hyphenated across a line break in the PDF ("exam-\nple") match "example".
    text = re.sub(r"(\w)-[ \t]*\n\s*(\w)", r"\1\2", text)
    return _WS.sub(" ", text).strip()


def normalise(text: str) -> str:
    """Whitespace-, case- and typography-insensitive form used for matching. A trailing hyphen
    is dropped: a quote may end where the PDF broke a word across lines ("oxy-")."""
    return clean_text(text).casefold().rstrip("-").rstrip()


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(normalise(text)) if len(w) > 2 and w not in _STOP} | {
        w for w in _WORD.findall(normalise(text)) if w.isdigit()
    }


def has_blank(stem: str) -> bool:
    return bool(_BLANK_RE.search(stem))


def canonical_blank(stem: str) -> str:
    return _BLANK_RE.sub(BLANK, stem)


def validate(draft: Draft, *, wanted_types: Iterable[str] = QUESTION_TYPES) -> str | None:
    """Shape rules: the reason a draft is unusable, or None.

    Options unique and non-empty, exactly one correct, index within the options, answer equal to
    the indexed option, length bounds, explanation present, difficulty 1-5.
    """
    if draft.type not in QUESTION_TYPES:
        return "bad_shape"
    if draft.type not in set(wanted_types):
        return "wrong_type"
    if not all(
        isinstance(x, str) for x in (draft.stem, draft.answer, draft.explanation, draft.excerpt)
    ):
        return "bad_shape"
    if isinstance(draft.difficulty, bool) or not isinstance(draft.difficulty, int):
        return "bad_difficulty"
    if not 1 <= draft.difficulty <= 5:
        return "bad_difficulty"
    stem = draft.stem.strip()
    if not STEM_MIN <= len(stem) <= STEM_MAX:
        return "bad_length"
    if not EXCERPT_MIN <= len(draft.excerpt.strip()) <= EXCERPT_MAX:
        return "bad_length"
    explanation = draft.explanation.strip()
    if len(explanation) < EXPLANATION_MIN:
        return "missing_explanation"
    if len(explanation) > EXPLANATION_MAX:
        return "bad_length"
    answer = draft.answer.strip()
    if not answer or len(answer) > ANSWER_MAX:
        return "bad_length"
    if draft.type == QuestionType.MCQ:
        options = draft.options
        if not isinstance(options, list) or len(options) != 4:
            return "bad_options"
        if not all(isinstance(o, str) and o.strip() and len(o) <= OPTION_MAX for o in options):
            return "bad_options"
        if len({normalise(o) for o in options}) != len(options):
            return "duplicate_options"
        idx = draft.correct_index
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < len(options):
            return "bad_correct_index"
        if normalise(options[idx]) != normalise(answer):
            return "answer_mismatch"
    elif draft.type == QuestionType.CLOZE:
        if not has_blank(stem):
            return "no_blank"
        if len(answer) > CLOZE_ANSWER_MAX:
            return "bad_length"
        if draft.options is not None or draft.correct_index is not None:
            return "bad_shape"
    else:
        if draft.options is not None or draft.correct_index is not None:
            return "bad_shape"
        points = draft.key_points
        if not isinstance(points, list) or not points or len(points) > KEY_POINTS_MAX:
            return "no_key_points"
        if not all(isinstance(p, str) and p.strip() and len(p) <= OPTION_MAX for p in points):
            return "no_key_points"
    return None


def _supports(draft: Draft, excerpt_n: str) -> bool:
    """Whether the excerpt plausibly supports the answer (lexical evidence, not a proof)."""
    if draft.type == QuestionType.CLOZE:
        # The missing term (each of them, with several blanks) must be in the source sentence.
        parts = draft.answer.split(";") if draft.stem.count(BLANK) > 1 else [draft.answer]
        return all(normalise(p) in excerpt_n for p in parts if p.strip())
    if draft.type == QuestionType.MCQ:
        target = draft.answer
    else:
        target = " ".join([draft.answer, *draft.key_points])
    words = content_words(target)
    if not words:
        return normalise(draft.answer) in excerpt_n
    excerpt_words = content_words(excerpt_n)
    shared = words & excerpt_words
    if draft.type == QuestionType.MCQ:
        # Short options ("1776", "Paris") must appear; longer ones need real overlap.
        return len(shared) >= max(1, min(2, len(words) // 2)) or (
            fuzz.partial_ratio(normalise(draft.answer), excerpt_n) >= 90
        )
    return len(shared) >= max(1, round(len(words) * 0.25))


def ground(draft: Draft, passages: Sequence[Passage]) -> str | None:
    """The grounding check. On success fills in the draft's source (chunk, material, title,
    pages) from the cited passage that contains the excerpt and returns None.

    The draft must cite at least one of the given passages; its excerpt must occur in a cited
    passage after whitespace/case normalisation and must support the answer.
    """
    by_id = {p.chunk_id: p for p in passages}
    cited = []
    for cid in draft.chunk_ids or []:
        if isinstance(cid, bool) or not isinstance(cid, int):
            continue
        if cid in by_id and by_id[cid] not in cited:
            cited.append(by_id[cid])
    if not cited:
        return "uncited"
    excerpt_n = normalise(draft.excerpt)
    if len(excerpt_n) < EXCERPT_MIN:
        return "excerpt_not_in_source"
    home = next((p for p in cited if excerpt_n in normalise(p.text)), None)
    if home is None:
        return "excerpt_not_in_source"
    if not _supports(draft, excerpt_n):
        return "excerpt_unsupportive"
    draft.source_chunk_id = home.chunk_id
    draft.material_id = home.material_id
    draft.material_title = home.material_title
    draft.page_start = home.page_start
    draft.page_end = home.page_end
    draft.chunk_ids = [p.chunk_id for p in cited]
    # Stored as matched: even whitespace and rejoined hyphenation, same normalised text.
    draft.excerpt = clean_text(draft.excerpt)
    return None


def dedupe_key(stem: str, answer: str) -> str:
    return normalise(f"{canonical_blank(stem)} {answer}")


class Deduper:
    """Rejects drafts too similar to the learner's bank, to questions they rejected, or to
    earlier drafts of the batch."""

    def __init__(
        self, bank_keys: Sequence[str], threshold: float, *, rejected: Sequence[str] = ()
    ) -> None:
        self.bank = list(bank_keys)
        self.rejected = list(rejected)
        self.batch: list[str] = []
        self.threshold = threshold

    def check(self, draft: Draft) -> str | None:
        key = dedupe_key(draft.stem, draft.answer)
        if self.batch and process.extractOne(
            key, self.batch, scorer=fuzz.token_sort_ratio, score_cutoff=self.threshold
        ):
            return "duplicate_in_batch"
        if self.bank and process.extractOne(
            key, self.bank, scorer=fuzz.token_sort_ratio, score_cutoff=self.threshold
        ):
            return "duplicate_of_bank"
        if self.rejected and process.extractOne(
            key, self.rejected, scorer=fuzz.token_sort_ratio, score_cutoff=self.threshold
        ):
            return "rejected_before"
        self.batch.append(key)
        return None
