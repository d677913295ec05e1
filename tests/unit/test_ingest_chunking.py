"""Chunking: page provenance, character offsets, token budget, whole words, overlap, headings."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from engine.ingestion.chunking import (
    chunk_pages,
    count_tokens,
    document_text,
    find_headings,
)

WORDS = [
    "aerodynamic",
    "lift",
    "the",
    "boundary-layer",
    "Reynolds",
    "number",
    "of",
    "flow.",
    "équation",
    "日本語",
    "x²",
    "https://example.org/a/very/long/path",
    "wing,",
    "drag",
]


def _check(pages: list[str], chunk_tokens: int, overlap: int) -> None:
    chunks = chunk_pages(pages, chunk_tokens=chunk_tokens, overlap_tokens=overlap)
    text, offsets = document_text(pages)
    all_words = re.findall(r"\S+", text)
    if not all_words:
        assert chunks == []
        return
    covered_end = 0
    for i, c in enumerate(chunks):
        assert c.ordinal == i
        # offsets point at exactly the chunk's text, which starts and ends on word boundaries
        assert text[c.char_start : c.char_end] == c.text
        assert c.char_start == 0 or text[c.char_start - 1].isspace()
        assert c.char_end == len(text) or text[c.char_end].isspace()
        # the page range is where those offsets fall
        assert offsets[c.page_start - 1] <= c.char_start
        assert c.page_end == len(offsets) or c.char_end <= offsets[c.page_end]
        assert 1 <= c.page_start <= c.page_end <= len(pages)
        # the budget holds unless a single word alone exceeds it
        if len(c.text.split()) > 1:
            assert c.token_count <= chunk_tokens
        assert c.token_count >= count_tokens(c.text)
        # consecutive chunks leave no word out (only whitespace may fall between them)
        assert text[covered_end : c.char_start].strip() == ""
        covered_end = max(covered_end, c.char_end)
    assert covered_end == len(text.rstrip())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pages=st.lists(
        st.lists(st.sampled_from(WORDS), max_size=120).map(" ".join), min_size=1, max_size=6
    ),
    chunk_tokens=st.integers(min_value=8, max_value=120),
    overlap_share=st.floats(min_value=0, max_value=0.5),
)
def test_chunks_cover_the_text_with_exact_provenance(pages, chunk_tokens, overlap_share):
    _check(pages, chunk_tokens, int(chunk_tokens * overlap_share))


def test_chunk_spanning_a_page_break_reports_both_pages():
    pages = ["alpha " * 20, "beta " * 60]
    chunks = chunk_pages(pages, chunk_tokens=50, overlap_tokens=0)
    assert any(c.page_start == 1 and c.page_end == 2 for c in chunks)
    assert chunks[0].page_start == 1 and chunks[-1].page_end == 2


def test_overlap_repeats_the_end_of_the_previous_chunk():
    text = " ".join(f"word{i}" for i in range(300))
    chunks = chunk_pages([text], chunk_tokens=60, overlap_tokens=15)
    assert len(chunks) > 2
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.char_start < a.char_end  # they share words
        shared = a.text[b.char_start - a.char_start :]
        assert b.text.startswith(shared)
        assert 0 < count_tokens(shared) <= 15


def test_token_count_is_the_model_tokenizer_count():
    chunks = chunk_pages(
        ["Photosynthesis converts light energy into chemical energy."],
        chunk_tokens=200,
        overlap_tokens=40,
    )
    assert chunks[0].token_count == count_tokens(chunks[0].text) > 7


def test_prefers_to_end_a_chunk_at_a_sentence():
    sentence = "The quick brown fox jumps over the lazy dog near the river bank today. "
    chunks = chunk_pages([sentence * 20], chunk_tokens=60, overlap_tokens=0)
    assert all(c.text.endswith(".") for c in chunks)


def test_headings_are_found_and_attached():
    page = (
        "2.1 Boundary Layers\nThe boundary layer is the thin region of fluid near a surface "
        "where viscosity matters, and it grows along the wing chord.\n"
        "RESULTS AND DISCUSSION\nMeasured drag agreed with the theory within five percent "
        "for every Reynolds number tested in the tunnel."
    )
    assert [h for _, h in find_headings(page)] == ["2.1 Boundary Layers", "RESULTS AND DISCUSSION"]
    chunks = chunk_pages([page], chunk_tokens=40, overlap_tokens=10)
    assert chunks[0].heading == "2.1 Boundary Layers"
    assert chunks[-1].heading == "RESULTS AND DISCUSSION"
    assert chunks[-1].text.startswith("RESULTS AND DISCUSSION")  # a section starts a chunk


def test_sentences_are_not_headings():
    assert (
        find_headings(
            "This is an ordinary sentence, which ends with a period.\n"
            "754 floating-point numbers are doubles"
        )
        == []
    )


@pytest.mark.parametrize(("size", "overlap"), [(4, 0), (100, 80), (100, -1)])
def test_bad_sizes_are_refused(size, overlap):
    with pytest.raises(ValueError):
        chunk_pages(["text"], chunk_tokens=size, overlap_tokens=overlap)
