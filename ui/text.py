"""The one escaping helper for untrusted text (from PDFs, learners or a model).

Every such string shown by a page or widget goes through `escape_markdown` first, labels,
captions, toasts, option labels and headings included, so that text like
`![x](http://host/pixel.png)` or `[click](http://...)` is shown literally and never makes the
browser fetch or link anything.

Escaping the Markdown characters is not enough on its own: Streamlit's Markdown (GitHub
flavour) turns bare URLs (`http://...`, `www....`) and e-mail addresses into links after
escapes are resolved. An invisible zero-width space inside each such pattern keeps it text.
"""

from __future__ import annotations

import re

from engine.domain.wording import plural as plural  # the pages take it from here

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
_ZWSP = "\u200b"
# What GitHub-flavoured autolinking looks for: a scheme before "//", "www.", and the "@" of
# an e-mail address.
_SCHEME = re.compile(r"(?i)\b((?:https?|ftp|mailto|xmpp|file|data|javascript):)")
_WWW = re.compile(r"(?i)\b(www)(\.)")
_AT = re.compile(r"(?<=[\w.+-])@(?=[\w-])")


def escape_markdown(text: str) -> str:
    """Text from a PDF, a learner or a model, shown literally: no markdown, links, HTML or LaTeX."""
    text = _SCHEME.sub(r"\1" + _ZWSP, text)
    text = _WWW.sub(r"\1" + _ZWSP + r"\2", text)
    text = _AT.sub(_ZWSP + "@", text)
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)
