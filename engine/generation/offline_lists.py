"""Lists inside a sentence ("JavaScript, Python, and Ruby"): the list question form asks for
one of their items."""

from __future__ import annotations

import re

from engine.generation.offline_text import BACK_REFERENCE, GENERIC, STOP_EDGE, noun_like

_ITEM = r"[A-Za-z][\w-]*(?: [a-z][\w-]*){0,2}"
_LIST = re.compile(
    rf"(?<![\w-])(?P<a>{_ITEM}), (?P<b>{_ITEM}),? (?:and|or) (?P<c>{_ITEM})"
    r"(?![\w-])"
)
_NOT_ITEM = frozenset(
    """if how when where why what whether only them us is are was were be been
being has have had do does did we you i""".split()
)


def list_items(sentence: str, text: str) -> list[tuple[int, int, str]] | None:
    """The three items of a list in the sentence ("JavaScript, Python, and Ruby"), or None."""
    m = _LIST.search(sentence)
    if not m or m.start() == 0:
        return None
    items = [(m.start(g), m.end(g), m.group(g)) for g in ("a", "b", "c")]
    for _, _, item in items:
        words = [w.casefold() for w in item.split()]
        if any(
            w in STOP_EDGE or w in GENERIC or w in BACK_REFERENCE or w in _NOT_ITEM for w in words
        ) or not noun_like(item.split()[-1], text):
            return None
    return items
