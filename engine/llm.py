"""The one adapter to language-model providers: every chat completion and hosted embedding goes
through litellm here, and only here.

Models come from settings per task (generation, grading, tutoring); nothing names a model in
code. Provider failures arrive as litellm's OpenAI-style exception types and leave this module as
our own `EngineError`s. litellm is imported on first use: it takes seconds to import and the app
must start fast. The values it takes and returns (tasks, `Completion`, `Stream`, `Embeddings`,
`parse_json`) are defined in `engine.llm_values` and importable from here.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from engine.config import Settings
from engine.errors import (
    InvalidInput,
    LLMAuthFailed,
    LLMNotConfigured,
    LLMOutputInvalid,
    LLMUnavailable,
    ProviderRateLimited,
)
from engine.llm_values import (
    TASKS,
    Completion,
    Embeddings,
    Stream,
    Task,
    is_configured,
    model_for,
    not_configured_message,
    parse_json,
)

log = logging.getLogger(__name__)

_litellm: ModuleType | None = None


def _lib() -> ModuleType:
    """Import litellm once, configured never to reach the network for its price table."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        # Parameters a provider does not accept (e.g. response_format) are dropped, not fatal.
        litellm.drop_params = True
        _litellm = litellm
    return _litellm


def _common_kwargs(settings: Settings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"timeout": settings.llm.timeout_s, "num_retries": 0, "max_retries": 0}
    if settings.llm.api_base:
        kwargs["api_base"] = settings.llm.api_base
    if settings.llm.api_key is not None and settings.llm.api_key.get_secret_value():
        kwargs["api_key"] = settings.llm.api_key.get_secret_value()
    return kwargs


def _response_format(
    model: str, schema: dict[str, Any] | None, settings: Settings, name: str
) -> dict[str, Any] | None:
    if schema is None:
        return None
    mode = settings.llm.structured_output
    if mode == "auto":
        try:
            supported = bool(_lib().supports_response_schema(model=model))
        except Exception as e:  # noqa: BLE001 - unknown model names raise; treat as "not known to support it"
            log.debug("response schema support unknown", extra={"model": model, "err": repr(e)})
            supported = False
        mode = "json_schema" if supported else "off"
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": False},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def _translate(e: Exception, model: str) -> Exception:
    """Map litellm's exception types to our errors (callers `raise ... from e`)."""
    lib = _lib()
    if isinstance(e, lib.AuthenticationError | lib.PermissionDeniedError):
        return LLMAuthFailed(
            "The language-model provider refused the API key. Check GROUNDWORK_LLM_API_KEY "
            "(or the provider's own key variable) and that the key may use this model.",
            detail=f"{model}: {e}",
        )
    if isinstance(e, lib.RateLimitError):
        return ProviderRateLimited(
            "The language-model provider is limiting requests right now. Wait a minute and "
            "try again.",
            retry_after_s=math.ceil(_retry_after(e) or 60),
        )
    if isinstance(e, lib.Timeout):
        return LLMUnavailable(
            "The language-model provider did not answer in time. Try again, or ask for fewer "
            "questions at once.",
            detail=f"{model}: {e}",
        )
    if isinstance(e, lib.NotFoundError):
        return LLMUnavailable(
            f"The configured model '{model}' was not found at the provider. Check the model "
            "name in the settings.",
            detail=str(e),
        )
    if isinstance(e, lib.ContextWindowExceededError):
        return LLMOutputInvalid(
            "The request was too long for the model. Choose fewer materials or a narrower topic.",
            detail=str(e),
        )
    if isinstance(e, lib.ContentPolicyViolationError):
        return LLMOutputInvalid("The provider declined to answer this request.", detail=str(e))
    if isinstance(e, lib.BadRequestError | lib.UnsupportedParamsError):
        return LLMUnavailable(
            "The language-model provider rejected the request. Check the model settings.",
            detail=f"{model}: {e}",
        )
    if isinstance(
        e,
        lib.APIConnectionError
        | lib.ServiceUnavailableError
        | lib.InternalServerError
        | lib.BadGatewayError
        | lib.APIError,
    ):
        return LLMUnavailable(
            "The language-model provider cannot be reached right now. Check the connection "
            "and the provider settings, then try again.",
            detail=f"{model}: {e}",
        )
    return LLMUnavailable(
        "The language-model provider failed unexpectedly.", detail=f"{model}: {e!r}"
    )


def _is_provider_error(e: Exception) -> bool:
    lib = _lib()
    known = (
        *lib.exceptions.LITELLM_EXCEPTION_TYPES,
        lib.APIError,
        lib.Timeout,
        lib.APIConnectionError,
    )
    return isinstance(e, known)


def _retryable(e: Exception) -> bool:
    lib = _lib()
    return isinstance(
        e,
        lib.RateLimitError
        | lib.InternalServerError
        | lib.ServiceUnavailableError
        | lib.BadGatewayError
        | lib.APIConnectionError
        | lib.Timeout,
    )


def _retry_after(e: Exception) -> float | None:
    # litellm keeps the provider's headers apart from the (rebuilt) response object.
    value = None
    for headers in (
        getattr(e, "litellm_response_headers", None),
        getattr(getattr(e, "response", None), "headers", None),
    ):
        if headers and headers.get("retry-after") is not None:
            value = headers.get("retry-after")
            break
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _backoff(attempt: int, e: Exception, settings: Settings) -> float:
    hinted = _retry_after(e)
    if hinted is not None:
        return min(hinted, settings.llm.retry_backoff_max_s)
    base = settings.llm.retry_backoff_s * (2**attempt)
    return min(base * (0.75 + random.random() / 2), settings.llm.retry_backoff_max_s)


def _with_retries(call, *, model: str, settings: Settings) -> tuple[Any, int]:
    """Run `call()` with backoff on 429/5xx/connection errors; translate the final failure."""
    attempt = 0
    while True:
        try:
            return call(), attempt + 1
        except Exception as e:
            if not _is_provider_error(e):
                raise
            if _retryable(e) and attempt < settings.llm.max_retries:
                delay = _backoff(attempt, e, settings)
                log.info(
                    "llm retry",
                    extra={
                        "model": model,
                        "attempt": attempt + 1,
                        "delay_s": round(delay, 2),
                        "err": type(e).__name__,
                    },
                )
                time.sleep(delay)
                attempt += 1
                continue
            raise _translate(e, model) from e


def _cost(response: Any) -> float:
    try:
        return float(_lib().completion_cost(completion_response=response) or 0.0)
    except Exception as e:  # noqa: BLE001 - litellm raises for models missing from its price table
        log.debug("cost unknown", extra={"err": repr(e)})
        return 0.0


def complete(
    messages: list[dict[str, str]],
    *,
    task: Task,
    settings: Settings,
    json_schema: dict[str, Any] | None = None,
    schema_name: str = "response",
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> Completion:
    """One chat completion for a task, with the model, timeouts and retries from settings.

    Args:
        messages: OpenAI-style chat messages.
        task: which configured model to use ('generation', 'grading' or 'tutoring').
        settings: the application settings.
        json_schema: ask for output matching this JSON schema where the provider supports it
            (see `llm_structured_output`); the caller still validates what comes back.
        schema_name: the schema's name as the provider sees it.
        temperature: overrides `llm_temperature`.
        max_tokens: overrides `llm_max_output_tokens`.

    Returns:
        The text with token counts, cost in USD (0 when litellm has no price for the model),
        latency in milliseconds and the number of attempts made.

    Raises:
        LLMNotConfigured: no model is configured for the task.
        LLMAuthFailed: the provider refused the key.
        ProviderRateLimited: still rate limited after the configured retries.
        LLMUnavailable: unreachable, timed out, or a server error after the retries.
        LLMOutputInvalid: the provider answered with no text.
    """
    model, lib, kwargs = _prepare(task, settings, temperature, max_tokens)
    fmt = _response_format(model, json_schema, settings, schema_name)
    if fmt is not None:
        kwargs["response_format"] = fmt

    started = time.perf_counter()
    response, attempts = _with_retries(
        lambda: lib.completion(model=model, messages=messages, **kwargs),
        model=model,
        settings=settings,
    )
    latency_ms = int((time.perf_counter() - started) * 1000)
    return _completion(response, model=model, latency_ms=latency_ms, attempts=attempts)


def _completion(response: Any, *, model: str, latency_ms: int, attempts: int) -> Completion:
    """The `Completion` of a provider's response (LLMOutputInvalid when it has no text)."""
    choice = response.choices[0] if response.choices else None
    text = (choice.message.content if choice is not None else None) or ""
    if not text.strip():
        raise LLMOutputInvalid(
            "The model returned an empty answer. Try again.",
            detail=f"{model}: finish_reason={getattr(choice, 'finish_reason', None)}",
        )
    usage = getattr(response, "usage", None)
    return Completion(
        text=text,
        model=model,
        tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
        tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
        cost_usd=_cost(response),
        latency_ms=latency_ms,
        attempts=attempts,
        finish_reason=getattr(choice, "finish_reason", None),
    )


def _prepare(
    task: Task, settings: Settings, temperature: float | None, max_tokens: int | None
) -> tuple[str, Any, dict[str, Any]]:
    """The model for the task, the litellm module and the call's common arguments."""
    model = model_for(task, settings)
    if not model:
        raise LLMNotConfigured(not_configured_message(task))
    kwargs = _common_kwargs(settings)
    kwargs["temperature"] = settings.llm.temperature if temperature is None else temperature
    kwargs["max_tokens"] = max_tokens or settings.llm.max_output_tokens
    return model, _lib(), kwargs


def stream(
    messages: list[dict[str, str]],
    *,
    task: Task,
    settings: Settings,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> Stream:
    """A streaming chat completion: iterate the returned `Stream` for text deltas.

    Connecting is retried like `complete`; a failure while the answer is streaming is raised
    from the iteration as our error. Token counts and cost are set once iteration finishes
    (from the provider's final usage chunk, else estimated by litellm).

    Raises:
        The same errors as `complete`.
    """
    model, lib, kwargs = _prepare(task, settings, temperature, max_tokens)
    kwargs["stream"] = True
    kwargs["stream_options"] = {"include_usage": True}
    started = time.perf_counter()
    raw, _ = _with_retries(
        lambda: lib.completion(model=model, messages=messages, **kwargs),
        model=model,
        settings=settings,
    )
    result = Stream(model=model, _chunks=iter(()))

    def _deltas() -> Iterator[str]:
        chunks: list[Any] = []
        try:
            for chunk in raw:
                chunks.append(chunk)
                piece = _read_chunk(result, chunk)
                if piece:
                    result.text_parts.append(piece)
                    yield piece
        except Exception as e:
            if _is_provider_error(e):
                raise _translate(e, model) from e
            raise
        result.latency_ms = int((time.perf_counter() - started) * 1000)
        if chunks:
            _cost_of_stream(result, lib, chunks, messages)
        result.done = True

    result._chunks = _deltas()
    return result


def _read_chunk(result: Stream, chunk: Any) -> str | None:
    """The chunk's text delta; its usage (the provider's final chunk) is noted on `result`."""
    usage = getattr(chunk, "usage", None)
    if usage is not None and getattr(usage, "prompt_tokens", None):
        result.tokens_in = int(usage.prompt_tokens or 0)
        result.tokens_out = int(usage.completion_tokens or 0)
    if not chunk.choices:
        return None
    return getattr(chunk.choices[0].delta, "content", None)


def _cost_of_stream(
    result: Stream, lib: Any, chunks: list[Any], messages: list[dict[str, str]]
) -> None:
    """Rebuild the streamed response for its cost (and its token counts when the provider
    sent no usage chunk)."""
    try:
        built = lib.stream_chunk_builder(chunks, messages=messages)
    except Exception as e:  # noqa: BLE001 - an incomplete stream cannot be rebuilt; cost stays 0
        log.debug("stream rebuild failed", extra={"err": repr(e)})
        return
    if built is None:
        return
    if not result.tokens_in and getattr(built, "usage", None) is not None:
        result.tokens_in = int(built.usage.prompt_tokens or 0)
        result.tokens_out = int(built.usage.completion_tokens or 0)
    result.cost_usd = _cost(built)


def count_tokens(messages: list[dict[str, str]], *, task: Task, settings: Settings) -> int:
    """Prompt tokens of chat messages for the task's model, by litellm's token counting.

    Without a configured model (offline), litellm's default tokenizer is used so budgets
    still mean the same thing. Nothing is sent anywhere: the tokenizers ship with litellm.
    """
    model = model_for(task, settings) or "gpt-3.5-turbo"
    try:
        return int(_lib().token_counter(model=model, messages=messages))
    except Exception as e:  # noqa: BLE001 - an unknown tokenizer: fall back to the default one
        log.debug("token count fallback", extra={"model": model, "err": repr(e)})
        return int(_lib().token_counter(model="gpt-3.5-turbo", messages=messages))


def embed(
    texts: list[str], *, model: str, settings: Settings, batch_size: int = 128
) -> list[list[float]]:
    """The vectors of `embed_with_usage` (same arguments and errors)."""
    return embed_with_usage(texts, model=model, settings=settings, batch_size=batch_size).vectors


def embed_with_usage(
    texts: list[str], *, model: str, settings: Settings, batch_size: int = 128
) -> Embeddings:
    """Embed texts with a hosted embedding model (any litellm embedding model name).

    `llm_api_base` and `llm_api_key` from settings are used when set, with the same timeouts
    and retries as chat completions.

    Args:
        texts: the texts, in order.
        model: the litellm embedding model name (from the library's settings).
        settings: the application settings.
        batch_size: texts per request.

    Returns:
        One vector per text, in the same order; the prompt tokens the provider reported, the
        cost (0 when litellm has no price for the model), latency and the requests made.

    Raises:
        InvalidInput: no model name was given.
        LLMAuthFailed, ProviderRateLimited, LLMUnavailable: as for `complete`.
        LLMOutputInvalid: the provider returned the wrong number of vectors.
    """
    if not model:
        raise InvalidInput("No embedding model is configured.")
    if not texts:
        return Embeddings([], model, 0, 0.0, 0, 0)
    lib = _lib()
    kwargs = _common_kwargs(settings)
    kwargs.pop("num_retries", None)
    kwargs.pop("max_retries", None)
    vectors: list[list[float]] = []
    tokens, cost, requests = 0, 0.0, 0
    started = time.perf_counter()
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        response, _ = _with_retries(
            lambda b=batch: lib.embedding(model=model, input=b, **kwargs),
            model=model,
            settings=settings,
        )
        requests += 1
        usage = getattr(response, "usage", None)
        tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        cost += _cost(response)
        data = sorted(response.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
        if len(data) != len(batch):
            raise LLMOutputInvalid(
                "The embedding provider returned an unexpected answer.",
                detail=f"{model}: {len(data)} vectors for {len(batch)} texts",
            )
        for d in data:
            vec = d["embedding"] if isinstance(d, dict) else d.embedding
            vectors.append([float(x) for x in vec])
    return Embeddings(
        vectors, model, tokens, cost, int((time.perf_counter() - started) * 1000), requests
    )


__all__ = [
    "TASKS",
    "Completion",
    "Embeddings",
    "Stream",
    "Task",
    "complete",
    "count_tokens",
    "embed",
    "embed_with_usage",
    "is_configured",
    "model_for",
    "parse_json",
    "stream",
]
