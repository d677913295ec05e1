"""One page-range label for every citation: 'p. 3' for one page, 'pp. 3–5' (en dash) for more."""

from __future__ import annotations

from engine.domain.passage import Passage, page_range_label
from engine.generation.offline_parts import pages_label
from engine.tutor.sources import Source


def test_one_page_and_a_range():
    assert page_range_label(3, 3) == "p. 3"
    assert page_range_label(3, 5) == "pp. 3\u20135"


def test_passages_and_tutor_sources_cite_pages_alike():
    passage = Passage(
        chunk_id=1, material_id=2, material_title="Soils", text="Clay.", page_start=4, page_end=6
    )
    source = Source(n=1, text="Clay.", page_start=4, page_end=6)
    assert passage.pages == source.pages == "pp. 4\u20136"


def test_offline_question_explanations_cite_pages_alike():
    passage = Passage(
        chunk_id=1, material_id=2, material_title="Soils", text="Clay.", page_start=4, page_end=6
    )
    assert pages_label(passage) == passage.pages == "pp. 4\u20136"
    assert pages_label(Passage(1, 2, "Soils", "Clay.", 7, 7)) == "p. 7"
