"""Hosted embedding models metered against a learner's limits like any model request."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol, cast

from engine.errors import EngineError
from engine.runtime import Runtime
from engine.usage.log import EMBEDDING
from engine.usage.metering import outcome_of, reserved, settle_calls

if TYPE_CHECKING:
    import numpy as np

    from engine.llm import Embeddings
    from engine.retrieval.embeddings import Embedder


class _HostedEmbedder(Protocol):
    """An embedder that reports each provider call's usage (`HostedEmbedder`)."""

    model_name: str

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_with_usage(self, texts: list[str]) -> tuple[np.ndarray, Embeddings | None]: ...


class MeteredEmbedder:
    """A hosted embedding model used for one learner: every call is reserved against their
    limits (and the system-wide cap) and logged in `llm_usage` as task 'embedding'. Not
    `limited`: logged with its tokens and cost, but its texts do not count (see `reserve`)."""

    def __init__(
        self, rt: Runtime, hosted: _HostedEmbedder, *, user_id: int, limited: bool = True
    ) -> None:
        self._rt, self._hosted, self._user_id = rt, hosted, user_id
        self._limited = limited
        self.model_name = hosted.model_name

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return self._hosted.embed_documents(texts)
        rt = self._rt
        units = len(texts) if self._limited else 0
        with reserved(
            rt, user_id=self._user_id, task=EMBEDDING, units=units, limited=self._limited
        ) as reservation:
            started = time.perf_counter()
            try:
                vectors, used = self._hosted.embed_with_usage(texts)
            except EngineError as e:
                settle_calls(
                    rt,
                    reservation,
                    [
                        dict(
                            model=self.model_name,
                            outcome=outcome_of(e),
                            units=units,
                            latency_ms=int((time.perf_counter() - started) * 1000),
                        )
                    ],
                )
                raise
            settle_calls(
                rt,
                reservation,
                [
                    dict(
                        model=used.model if used else self.model_name,
                        outcome="ok",
                        units=units,
                        tokens_in=used.tokens_in if used else 0,
                        cost_usd=used.cost_usd if used else 0.0,
                        latency_ms=used.latency_ms if used else 0,
                    )
                ],
            )
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def embedder_for(rt: Runtime, *, user_id: int, limited: bool = True) -> Embedder:
    """The runtime's embedder for work done for this learner: a hosted model (one that
    reports its calls' usage) is metered against the learner's limits (`limited` False: see
    `reserve`); the bundled local model is used as it is."""
    embedder = rt.embedder
    if hasattr(embedder, "embed_with_usage"):
        hosted = cast(_HostedEmbedder, embedder)  # what the check above established
        return MeteredEmbedder(rt, hosted, user_id=user_id, limited=limited)
    return embedder
