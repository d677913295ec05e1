"""The litellm adapter end to end over HTTP against the local OpenAI-compatible stub."""

from __future__ import annotations

import pytest

from engine import llm
from engine.config import Settings
from engine.errors import (
    LLMAuthFailed,
    LLMNotConfigured,
    LLMUnavailable,
    ProviderRateLimited,
)
from tests.support.llm_stub import Reply, embedding_vector, rate_limited, server_error, unauthorized

MESSAGES = [{"role": "user", "content": "Say ok"}]


@pytest.fixture
def base_settings(tmp_path) -> Settings:
    # The adapter needs no database; plain settings keep these tests fast.
    return Settings(data_dir=tmp_path)


def test_complete_returns_text_usage_and_uses_configured_model(llm_stub, base_settings):
    llm_stub.script(Reply(content="hello there", prompt_tokens=11, completion_tokens=3))
    s = llm_stub.settings_for(base_settings, llm_generation_model="openai/my-gen-model")
    result = llm.complete(MESSAGES, task="generation", settings=s)
    assert result.text == "hello there"
    assert (result.tokens_in, result.tokens_out) == (11, 3)
    assert result.model == "openai/my-gen-model"
    assert result.cost_usd == 0.0  # an unknown model has no price; never an error
    assert result.attempts == 1
    req = llm_stub.chat_requests[-1]
    assert req["body"]["model"] == "my-gen-model"
    assert req["authorization"] == "Bearer sk-stub"


def test_each_task_uses_its_own_model_with_fallback(llm_stub, base_settings):
    s = llm_stub.settings_for(base_settings, llm_grading_model="openai/grader")
    llm.complete(MESSAGES, task="grading", settings=s)
    llm.complete(MESSAGES, task="tutoring", settings=s)
    models = [r["body"]["model"] for r in llm_stub.chat_requests]
    assert models == ["grader", "stub-model"]


def test_no_model_configured_is_a_clear_error(base_settings):
    with pytest.raises(LLMNotConfigured, match="GROUNDWORK_LLM_GENERATION_MODEL"):
        llm.complete(MESSAGES, task="generation", settings=base_settings)
    assert not llm.is_configured("tutoring", base_settings)


def test_json_schema_is_requested_when_configured(llm_stub, base_settings):
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    s = llm_stub.settings_for(base_settings, llm_structured_output="json_schema")
    llm.complete(MESSAGES, task="generation", settings=s, json_schema=schema, schema_name="qs")
    fmt = llm_stub.chat_requests[-1]["body"]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "qs"
    assert fmt["json_schema"]["schema"] == schema
    s_off = llm_stub.settings_for(base_settings, llm_structured_output="off")
    llm.complete(MESSAGES, task="generation", settings=s_off, json_schema=schema)
    assert "response_format" not in llm_stub.chat_requests[-1]["body"]


def test_429_is_retried_then_succeeds(llm_stub, base_settings):
    llm_stub.script(rate_limited(), rate_limited(), Reply(content="finally"))
    s = llm_stub.settings_for(base_settings, llm_max_retries=2)
    result = llm.complete(MESSAGES, task="generation", settings=s)
    assert result.text == "finally"
    assert result.attempts == 3
    assert len(llm_stub.chat_requests) == 3


def test_429_beyond_retries_is_provider_rate_limited(llm_stub, base_settings):
    llm_stub.script(rate_limited(7), rate_limited(7))
    s = llm_stub.settings_for(base_settings, llm_max_retries=1)
    with pytest.raises(ProviderRateLimited) as info:
        llm.complete(MESSAGES, task="generation", settings=s)
    assert info.value.retry_after_s == 7
    assert isinstance(info.value.__cause__, Exception)
    assert len(llm_stub.chat_requests) == 2


def test_server_errors_are_retried(llm_stub, base_settings):
    llm_stub.script(server_error(), Reply(content="recovered"))
    s = llm_stub.settings_for(base_settings)
    assert llm.complete(MESSAGES, task="generation", settings=s).text == "recovered"


def test_401_is_auth_failure_without_retry(llm_stub, base_settings):
    llm_stub.script(unauthorized(), Reply(content="should not be reached"))
    s = llm_stub.settings_for(base_settings)
    with pytest.raises(LLMAuthFailed) as info:
        llm.complete(MESSAGES, task="generation", settings=s)
    assert "API key" in info.value.user_message
    assert len(llm_stub.chat_requests) == 1


def test_timeout_is_unavailable(llm_stub, base_settings):
    llm_stub.script(Reply(content="late", delay_s=3))
    s = llm_stub.settings_for(base_settings, llm_timeout_s=0.5, llm_max_retries=0)
    with pytest.raises(LLMUnavailable, match="did not answer in time"):
        llm.complete(MESSAGES, task="generation", settings=s)


def test_unreachable_provider_is_unavailable(base_settings):
    s = base_settings.replace(
        llm_generation_model="openai/stub-model",
        llm_api_base="http://127.0.0.1:9/v1",
        llm_api_key=None,
        llm_max_retries=0,
        llm_timeout_s=2.0,
    )
    with pytest.raises(LLMUnavailable) as info:
        llm.complete(MESSAGES, task="generation", settings=s)
    assert not isinstance(info.value, LLMAuthFailed)


def test_stream_yields_deltas_and_usage(llm_stub, base_settings):
    llm_stub.script(Reply(content="one two three", prompt_tokens=9, completion_tokens=4))
    s = llm_stub.settings_for(base_settings)
    st = llm.stream(MESSAGES, task="tutoring", settings=s)
    pieces = list(st)
    assert "".join(pieces) == "one two three"
    assert len(pieces) == 3
    assert st.done and st.text == "one two three"
    assert (st.tokens_in, st.tokens_out) == (9, 4)
    assert llm_stub.chat_requests[-1]["body"]["stream"] is True


def test_stream_auth_failure_is_translated(llm_stub, base_settings):
    llm_stub.script(unauthorized())
    s = llm_stub.settings_for(base_settings)
    with pytest.raises(LLMAuthFailed):
        list(llm.stream(MESSAGES, task="tutoring", settings=s))


def test_embed_returns_vectors_in_order(llm_stub, base_settings):
    s = llm_stub.settings_for(base_settings)
    texts = [f"passage {i}" for i in range(5)]
    vectors = llm.embed(texts, model="openai/stub-embed", settings=s, batch_size=2)
    assert vectors == [pytest.approx(embedding_vector(t)) for t in texts]
    assert len([r for r in llm_stub.requests if r["path"].endswith("/embeddings")]) == 3
    assert llm.embed([], model="openai/stub-embed", settings=s) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
        ('Here you go:\n{"a": 1,}\nThanks', {"a": 1}),
        ('[{"b": 2},]', [{"b": 2}]),
    ],
)
def test_parse_json_is_lenient(text, expected):
    assert llm.parse_json(text) == expected


@pytest.mark.parametrize("text", ["no json here", '{"a": ', "{broken: yes}"])
def test_parse_json_rejects_garbage(text):
    with pytest.raises(ValueError):
        llm.parse_json(text)
