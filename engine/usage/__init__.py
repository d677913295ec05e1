"""Per-learner limits on language-model use, and the usage log they count from.

Every model call is reserved before it is made and settled (or released) after:

    with usage.reserved(rt, user_id=uid, task=usage.GRADING, units=1) as reservation:
        completion = llm.complete(...)
        usage.settle(rt, reservation, model=completion.model, outcome="ok",
                     tokens_in=completion.tokens_in, ...)

`reserve` writes a row to `llm_usage` (outcome 'reserved') while holding a per-learner
transaction lock, after counting what the learner has used and reserved in the limit windows;
so parallel requests are counted one after another and cannot together pass a limit. A
reservation counts against the limits until it is settled (it becomes the usage-log row),
released (the call never happened: the row is deleted) or it expires
(`llm_reservation_ttl_s`, for a process that died mid-call).

Limits (settings):
- per task, requests per hour: `generation_max_per_hour`, `grading_max_per_hour`,
  `tutor_max_per_hour` (one generation request may make several model calls; they share the
  reservation's request id and count once);
- generation, questions per day: `generation_max_questions_per_day` (`units` = questions);
- generation, grading and tutor together, requests per day: `llm_max_requests_per_day`;
- hosted embeddings, texts per day: `hosted_embedding_max_texts_per_day` (`units` = texts);
- every learner signed in from one client address together, requests per hour:
  `llm_max_requests_per_address_per_hour`;
- the whole installation, model calls in flight at once: `llm_max_concurrent_calls`. A call
  that finds every slot taken waits (up to `llm_call_wait_s`, then LLMBusy); the slots are the
  live reservations, counted under one transaction lock, so app replicas and workers share them.

A learner's usage is counted by user id or by `account_key`, a keyed hash (HMAC-SHA256 with a
key derived from the server's cookie key) of the normalised email without a "+tag". Deleting
the account (`forget_account`) keeps the rows of the last day without the user id, so signing
up again with the same email starts from the same counts; the email itself is never stored
here. The client address is likewise stored only as a keyed hash (`address_key`).

An admin's run-time overrides (engine/server_settings.py; global or per learner) win.

The package: `log` (task names, reservations, keys), `limits` (the checks), `metering`
(reserve, settle, release), `embedding` (hosted embedders metered per learner), `summary`
(what a learner sees of their use). Callers import the names below from `engine.usage`.
"""

from engine.usage.embedding import MeteredEmbedder, embedder_for
from engine.usage.log import (
    CHAT_TASKS,
    EMBEDDING,
    GENERATION,
    GRADING,
    RESERVED,
    TASKS,
    TUTOR,
    WINDOW,
    Reservation,
    account_key,
    address_key,
    fmt_wait,
)
from engine.usage.metering import (
    forget_account,
    is_settled,
    metered,
    outcome_of,
    prune_forgotten,
    release,
    reserve,
    reserved,
    settle,
    settle_calls,
)
from engine.usage.summary import UsageSummary, usage_summary

__all__ = [
    "CHAT_TASKS",
    "EMBEDDING",
    "GENERATION",
    "GRADING",
    "RESERVED",
    "TASKS",
    "TUTOR",
    "WINDOW",
    "MeteredEmbedder",
    "Reservation",
    "UsageSummary",
    "account_key",
    "address_key",
    "embedder_for",
    "fmt_wait",
    "forget_account",
    "is_settled",
    "metered",
    "outcome_of",
    "prune_forgotten",
    "release",
    "reserve",
    "reserved",
    "settle",
    "settle_calls",
    "usage_summary",
]
