"""`ui.text.escape_markdown`: untrusted text renders literally, with no link or image."""

from __future__ import annotations

import pytest

from tests.support.hostile import renders_link_or_image, shown_text
from ui.text import escape_markdown

HOSTILE = [
    "![x](http://127.0.0.1:8/pixel.png)",
    "[click](https://evil.example/login)",
    "<img src='http://127.0.0.1:8/p.png'>",
    "see http://127.0.0.1:8/p and www.evil.example",
    "mail admin@evil.example",
    "<https://evil.example>",
    "[ref]: http://evil.example\n[click][ref]",
    ":red[colour] $x^2$ **bold**",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_no_link_or_image(text):
    assert renders_link_or_image(text) or text.startswith(":red")  # the check sees the raw text
    escaped = escape_markdown(text)
    assert not renders_link_or_image(escaped)


@pytest.mark.parametrize("text", HOSTILE)
def test_the_reader_sees_the_text_as_written(text):
    seen = shown_text(escape_markdown(text)).replace("\u200b", "").strip()
    assert seen == " ".join(text.split()) or seen.replace("\n", " ") == " ".join(text.split())
