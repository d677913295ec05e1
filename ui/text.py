"""The one escaping helper for untrusted text (from PDFs, learners or a model).

Every such string shown by a page or widget goes through `escape_markdown` first, labels,
captions, toasts, option labels and headings included, so that text like
`![x](http://host/pixel.png)` or `[click](http://...)` is shown literally and never makes the
browser fetch or link anything.
"""

from __future__ import annotations

import re

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_markdown(text: str) -> str:
    """Text from a PDF, a learner or a model, shown literally: no markdown, links, HTML or LaTeX."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)
