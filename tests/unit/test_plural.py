"""Counts read as people write them: "1 page", "2 pages", "0 days"."""

from __future__ import annotations

import pytest

from ui.text import plural


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "0 pages"), (1, "1 page"), (2, "2 pages"), (124, "124 pages")],
)
def test_one_is_singular_and_every_other_count_plural(n, expected):
    assert plural(n, "page") == expected


def test_irregular_plurals_are_given():
    assert plural(1, "passage") == "1 passage"
    assert plural(3, "more new question", "more new questions") == "3 more new questions"
    assert plural(2, "child", "children") == "2 children"
    assert plural(1, "day") == "1 day"
