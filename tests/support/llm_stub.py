"""A scripted OpenAI-compatible HTTP server on 127.0.0.1 for tests, so litellm's real client path
(HTTP, status codes, streaming, retries) is exercised without any provider.

    def test_x(llm_stub, settings):
        llm_stub.script(Reply(content='{"questions": []}'))
        s = llm_stub.settings_for(settings)          # generation model -> this server
        ...
        assert llm_stub.requests[-1]["body"]["model"] == "stub-model"

Replies are served from the scripted queue in order; when it is empty, `responder(body)` (if
set) decides, else `default`. `/v1/embeddings` answers with deterministic vectors (after
`embedding_delay_s`). `max_in_flight` is the most requests the server was answering at once.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

STUB_MODEL = "stub-model"


@dataclass
class Reply:
    """One scripted answer. `status` other than 200 sends an OpenAI-style error body."""

    content: str = "ok"
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    error_message: str = "scripted error"
    prompt_tokens: int = 120
    completion_tokens: int = 80
    # Streaming only: after this many words, send an error event instead of the rest.
    fail_after_words: int | None = None
    # Streaming only: pause between words (lets a test watch the answer arrive).
    word_delay_s: float = 0.0


def rate_limited(retry_after_s: float = 0) -> Reply:
    return Reply(
        status=429,
        error_message="Rate limit reached for requests",
        headers={"retry-after": str(retry_after_s)},
    )


def unauthorized() -> Reply:
    return Reply(status=401, error_message="Incorrect API key provided: sk-stub")


def fails_mid_stream(content: str, after_words: int = 3) -> Reply:
    """A streamed answer that breaks off with a provider error after `after_words` words."""
    return Reply(
        content=content,
        fail_after_words=after_words,
        error_message="The server had an error while processing your request",
    )


def server_error() -> Reply:
    return Reply(status=500, error_message="The server had an error")


def embedding_vector(text: str, dim: int = 16) -> list[float]:
    """The stub's vector for a text: deterministic, unit length."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    raw = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(dim)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


class LLMStub:
    """The server. Start with `start()`, stop with `stop()` (the `llm_stub` fixture does both)."""

    def __init__(self) -> None:
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self.default = Reply()
        self.requests: list[dict[str, Any]] = []
        self.embedding_delay_s = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- scripting --------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/embeddings")]

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            try:
                return self.responder(body)
            except Exception as e:  # noqa: BLE001 - a responder bug shows up as a 500 naming it
                return Reply(status=500, error_message=f"stub responder failed: {e!r}")
        return self.default

    def reset(self) -> None:
        """Forget the scripted replies, the responder and the recorded requests, as a new stub
        would (for a stub that several tests share)."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.max_in_flight = self.in_flight
        self.responder = None
        self.default = Reply()
        self.embedding_delay_s = 0.0

    # --- lifecycle --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "stub not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> LLMStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {}
                with stub._lock:
                    stub.requests.append(
                        {
                            "path": self.path,
                            "body": body,
                            "authorization": self.headers.get("authorization"),
                            "at": time.monotonic(),
                        }
                    )
                stub._enter()
                self._answered = False
                try:
                    if self.path.rstrip("/").endswith("/embeddings"):
                        self._embeddings(body)
                    elif self.path.rstrip("/").endswith("/chat/completions"):
                        self._chat(body, stub._next(body))
                    else:
                        self._send_json(
                            404,
                            {
                                "error": {
                                    "message": "no such route",
                                    "type": "invalid_request_error",
                                }
                            },
                        )
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (timeout test); nothing to answer.
                    return
                finally:
                    self._done()

            def _done(self) -> None:
                # Called before the last bytes go out: the client cannot start its next call
                # before this request stops counting as in flight.
                if not self._answered:
                    self._answered = True
                    stub._leave()

            def _send_json(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self._done()
                self.wfile.write(data)

            def _chat(self, body: dict[str, Any], reply: Reply) -> None:
                if reply.delay_s and stub._stop.wait(reply.delay_s):
                    return
                if reply.status != 200:
                    err_type = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(
                        reply.status, "server_error"
                    )
                    self._send_json(
                        reply.status,
                        {
                            "error": {
                                "message": reply.error_message,
                                "type": err_type,
                                "param": None,
                                "code": "invalid_api_key" if reply.status == 401 else None,
                            }
                        },
                        reply.headers,
                    )
                    return
                model = body.get("model", STUB_MODEL)
                created = int(time.time())
                usage = {
                    "prompt_tokens": reply.prompt_tokens,
                    "completion_tokens": reply.completion_tokens,
                    "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                }
                if body.get("stream"):
                    self._stream(model, created, reply, usage)
                    return
                self._send_json(
                    200,
                    {
                        "id": f"chatcmpl-stub-{len(stub.requests)}",
                        "object": "chat.completion",
                        "created": created,
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": reply.content},
                            }
                        ],
                        "usage": usage,
                    },
                    reply.headers,
                )

            def _stream(
                self, model: str, created: int, reply: Reply, usage: dict[str, int]
            ) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("connection", "close")
                self.end_headers()
                self.close_connection = True

                def event(
                    delta: dict[str, Any], finish: str | None, extra: dict[str, Any] | None = None
                ) -> bytes:
                    chunk = {
                        "id": "chatcmpl-stub-stream",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }
                    chunk.update(extra or {})
                    return f"data: {json.dumps(chunk)}\n\n".encode()

                self.wfile.write(event({"role": "assistant", "content": ""}, None))
                words = reply.content.split(" ")
                for i, word in enumerate(words):
                    if reply.fail_after_words is not None and i >= reply.fail_after_words:
                        error = {
                            "error": {
                                "message": reply.error_message,
                                "type": "server_error",
                                "code": "server_error",
                            }
                        }
                        self.wfile.write(f"data: {json.dumps(error)}\n\n".encode())
                        self.wfile.flush()
                        return
                    piece = word if i == len(words) - 1 else word + " "
                    self.wfile.write(event({"content": piece}, None))
                    self.wfile.flush()
                    if reply.word_delay_s and stub._stop.wait(reply.word_delay_s):
                        return
                self.wfile.write(event({}, "stop"))
                tail = {
                    "id": "chatcmpl-stub-stream",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
                self.wfile.write(f"data: {json.dumps(tail)}\n\n".encode())
                self._done()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _embeddings(self, body: dict[str, Any]) -> None:
                if stub.embedding_delay_s and stub._stop.wait(stub.embedding_delay_s):
                    return
                inputs = body.get("input", [])
                if isinstance(inputs, str):
                    inputs = [inputs]
                dim = int(body.get("dimensions") or 16)
                data = [
                    {"object": "embedding", "index": i, "embedding": embedding_vector(str(t), dim)}
                    for i, t in enumerate(inputs)
                ]
                tokens = sum(len(str(t).split()) for t in inputs)
                self._send_json(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body.get("model", "stub-embed"),
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                    },
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- settings ---------------------------------------------------------------------------
    def settings_for(self, settings: Any, **overrides: Any) -> Any:
        """A copy of `settings` whose every LLM task uses this server (fast retries)."""
        update: dict[str, Any] = {
            "llm_generation_model": f"openai/{STUB_MODEL}",
            "llm_api_base": self.url,
            "llm_api_key": SecretStr("sk-stub"),
            "llm_timeout_s": 5.0,
            "llm_max_retries": 2,
            "llm_retry_backoff_s": 0.01,
            "llm_retry_backoff_max_s": 0.05,
        }
        update.update(overrides)
        return settings.replace(**update)

    def env_for(self, **overrides: str) -> dict[str, str]:
        """Environment variables pointing a separate process (e.g. `streamlit run`) here."""
        env = {
            "GROUNDWORK_LLM_GENERATION_MODEL": f"openai/{STUB_MODEL}",
            "GROUNDWORK_LLM_API_BASE": self.url,
            "GROUNDWORK_LLM_API_KEY": "sk-stub",
            "GROUNDWORK_LLM_TIMEOUT_S": "10",
            "GROUNDWORK_LLM_RETRY_BACKOFF_S": "0.01",
        }
        env.update(overrides)
        return env


@pytest.fixture
def llm_stub() -> Iterator[LLMStub]:
    """A started stub server, stopped after the test."""
    stub = LLMStub().start()
    yield stub
    stub.stop()
