"""Turning a follow-up message into one standalone search query.

With a model configured the service asks it (template `tutor.rewrite`). Offline, and whenever
the model's answer is unusable, this heuristic decides:

1. A first message, or one that names its subject itself, is searched as written. A message
   "names its subject" when it has at least `MIN_OWN_TERMS` content terms (words left after
   stop-words and question words such as what, how, does) and does not start by referring back (it, this, that, these, those, they, its,
   their, there, he, she, what about, how about, and, so, then...).
2. Otherwise the previous turn's search query (what the conversation is about) is joined
   with the new message, so "what about its efficiency?" after "how does a ramjet work"
   searches "how does a ramjet work what about its efficiency?".
"""

from __future__ import annotations

import re

from engine.retrieval.lexical import lexical_tokens

MIN_OWN_TERMS = 4
MAX_QUERY_CHARS = 600
_REFERS_BACK = re.compile(
    r"^\s*(it|its|it's|this|that|these|those|they|them|their|there|he|she|his|her|and|but|"
    r"also|so|then|what about|how about|and what|what else|more|tell me more|"
    r"explain (that|this|it|more)|the same|same)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(
    r"\b(it|its|this|that|these|those|they|them|their|the former|the latter)"
    r"\b",
    re.IGNORECASE,
)


# Stemmed question and function words that say nothing about the subject.
_FUNCTION_TERMS = frozenset(
    {
        "what",
        "how",
        "when",
        "where",
        "why",
        "which",
        "who",
        "whom",
        "whose",
        "doe",
        "do",
        "did",
        "done",
        "is",
        "are",
        "was",
        "were",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "one",
        "them",
        "they",
        "it",
        "its",
        "that",
        "this",
        "these",
        "those",
        "there",
        "about",
        "tell",
        "explain",
        "mean",
        "happen",
        "work",
        "else",
        "more",
    }
)


def needs_context(message: str) -> bool:
    """Whether a message depends on the conversation before it (see the module rules)."""
    terms = [t for t in lexical_tokens(message) if t not in _FUNCTION_TERMS]
    if _REFERS_BACK.match(message):
        return True
    if len(terms) < MIN_OWN_TERMS and _PRONOUN.search(message):
        return True
    return len(terms) < 2


def heuristic_query(message: str, previous_query: str | None) -> str:
    """The standalone query for `message` given the previous turn's search query."""
    message = message.strip()
    if not previous_query or not needs_context(message):
        return message[:MAX_QUERY_CHARS]
    joined = f"{previous_query.strip()} {message}"
    return joined[-MAX_QUERY_CHARS:]


def clean_model_query(text: str, fallback: str) -> str:
    """The model's rewritten query, or `fallback` when it is empty or implausibly long."""
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(standalone )?(question|query)\s*:\s*", "", line, flags=re.IGNORECASE)
    line = line.strip().strip('"').strip()
    if not line or len(line) > MAX_QUERY_CHARS:
        return fallback
    return line
