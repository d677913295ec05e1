"""Model-use limits on a real PostgreSQL: reservations are atomic per learner, so parallel
requests cannot pass a limit; grading is limited and logged; crashed reservations expire."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select, update

from engine import usage
from engine.db.models import LLMUsage
from engine.errors import RateLimited
from engine.generation import service as generation
from engine.practice.submit import submit_answer
from tests.support.generation_data import BIOLOGY, add_material, grounded_responder
from tests.support.llm_stub import Reply
from tests.support.practice import add_question, token

NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)


def _parallel(n: int, fn) -> list[object]:
    """Run `fn()` in n threads released together; each result or the exception raised."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as e:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _rows(session_factory, user_id, **where):
    with session_factory() as s:
        stmt = select(LLMUsage).where(LLMUsage.user_id == user_id)
        for k, v in where.items():
            stmt = stmt.where(getattr(LLMUsage, k) == v)
        return list(s.scalars(stmt.order_by(LLMUsage.id)))


def test_parallel_reservations_never_exceed_the_hourly_limit(runtime, make_user):
    uid = make_user()
    s = runtime.settings.replace(grading_max_per_hour=3)
    results = _parallel(
        10,
        lambda: usage.reserve(runtime.with_settings(s), user_id=uid, task=usage.GRADING, units=1),
    )
    kinds = Counter(type(r).__name__ for r in results)
    assert kinds == {"Reservation": 3, "RateLimited": 7}
    limited = next(r for r in results if isinstance(r, RateLimited))
    assert "3 model-graded answers for this hour" in limited.user_message
    assert 3500 < limited.retry_after_s <= 3600
    assert len(_rows(runtime.session_factory, uid, outcome="reserved")) == 3
    # Another learner has limits of their own.
    other = make_user()
    usage.reserve(runtime.with_settings(s), user_id=other, task=usage.GRADING, units=1)


def test_parallel_generation_cannot_exceed_the_daily_question_limit(llm_stub, runtime, make_user):
    uid = make_user()
    add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    llm_stub.responder = grounded_responder("mcq")
    s = llm_stub.settings_for(
        runtime.settings, generation_max_questions_per_day=4, generation_cache_ttl_h=0
    )

    def generate():
        return generation.generate_questions(
            runtime.with_settings(s), user_id=uid, count=2, question_type="mcq"
        )

    results = _parallel(6, generate)
    done = [r for r in results if isinstance(r, generation.GenerationResult)]
    limited = [r for r in results if isinstance(r, RateLimited)]
    assert len(done) == 2 and len(limited) == 4, results
    assert "up to 4 questions a day" in limited[0].user_message
    assert len(llm_stub.chat_requests) == 2  # refused requests never reached the model
    rows = _rows(runtime.session_factory, uid)
    assert {r.outcome for r in rows} == {"ok"} and len({r.request_id for r in rows}) == 2
    assert sum(r.questions_returned for r in rows) <= 4
    assert usage.usage_summary(runtime, user_id=uid).calls == 2


def test_parallel_generation_cannot_exceed_the_hourly_limit(llm_stub, runtime, make_user):
    uid = make_user()
    add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    llm_stub.responder = grounded_responder("mcq")
    s = llm_stub.settings_for(runtime.settings, generation_max_per_hour=2, generation_cache_ttl_h=0)
    results = _parallel(
        6,
        lambda: generation.generate_questions(
            runtime.with_settings(s), user_id=uid, count=1, question_type="mcq"
        ),
    )
    limited = [r for r in results if isinstance(r, RateLimited)]
    assert len(limited) == 4 and "generate again in" in limited[0].user_message
    assert len(llm_stub.chat_requests) == 2


def test_released_and_expired_reservations_stop_counting(runtime, make_user):
    uid = make_user()
    s = runtime.settings.replace(tutor_max_per_hour=1)
    first = usage.reserve(runtime.with_settings(s), user_id=uid, task=usage.TUTOR, units=1)
    with pytest.raises(RateLimited, match="asked the tutor 1 times"):
        usage.reserve(runtime.with_settings(s), user_id=uid, task=usage.TUTOR, units=1)
    usage.release(runtime, first)
    assert _rows(runtime.session_factory, uid) == []
    # A process that dies mid-call leaves its reservation; it lapses after the TTL.
    usage.reserve(runtime.with_settings(s), user_id=uid, task=usage.TUTOR, units=1)
    with pytest.raises(RateLimited):
        usage.reserve(runtime.with_settings(s), user_id=uid, task=usage.TUTOR, units=1)
    with runtime.session_factory.begin() as session:
        session.execute(
            update(LLMUsage)
            .where(LLMUsage.user_id == uid)
            .values(expires_at=func.now() - dt.timedelta(seconds=1))
        )
    usage.reserve(runtime.with_settings(s), user_id=uid, task=usage.TUTOR, units=1)
    assert len(_rows(runtime.session_factory, uid)) == 1  # the lapsed one was swept


def test_reserved_releases_on_error_and_keeps_a_settled_call(runtime, make_user):
    uid = make_user()
    s = runtime.settings

    with pytest.raises(KeyError):
        with usage.reserved(runtime.with_settings(s), user_id=uid, task=usage.GRADING, units=1):
            raise KeyError("the call never happened")
    assert _rows(runtime.session_factory, uid) == []

    with pytest.raises(KeyError):
        with usage.reserved(
            runtime.with_settings(s), user_id=uid, task=usage.GRADING, units=1
        ) as r:
            usage.settle(
                runtime,
                r,
                model="m",
                outcome="ok",
                tokens_in=7,
                tokens_out=3,
                cost_usd=0.0012,
                latency_ms=40,
            )
            raise KeyError("after the call")
    [row] = _rows(runtime.session_factory, uid)
    assert (
        row.outcome,
        row.task,
        row.model,
        row.tokens_in,
        row.tokens_out,
        row.units,
        row.expires_at,
    ) == ("ok", "grading", "m", 7, 3, 0, None)
    assert float(row.cost_usd) == pytest.approx(0.0012)
    with pytest.raises(ValueError):
        usage.reserve(runtime.with_settings(s), user_id=uid, task="chat", units=1)


def _short_question(runtime, uid):
    return add_question(
        runtime.session_factory,
        uid,
        type="short",
        options=None,
        correct_index=None,
        stem="What does the mitochondrion do?",
        answer="It makes ATP.",
        key_points=["makes ATP"],
    )


def test_grading_calls_are_limited_and_logged(llm_stub, runtime, make_user):
    uid = make_user()
    s = llm_stub.settings_for(runtime.settings, grading_max_per_hour=2)
    llm_stub.responder = lambda body: Reply(
        content='{"correct": true, "score": 1, "reason": "Names ATP production."}'
    )
    graders = []
    for day in range(3):
        qid = _short_question(runtime, uid)
        result = submit_answer(
            runtime.with_settings(s),
            user_id=uid,
            question_id=qid,
            token=token(),
            response="It makes ATP",
            confidence=4,
            seconds=20,
            expected_reviews=0,
            now=NOW + dt.timedelta(days=day),
        )
        graders.append((result.grader, result.reason))
    assert [g for g, _ in graders] == ["llm", "llm", "keypoints"]
    assert "limit of model-graded answers" in graders[2][1]
    assert len(llm_stub.chat_requests) == 2
    rows = _rows(runtime.session_factory, uid, task="grading")
    assert [r.outcome for r in rows] == ["ok", "ok"]
    assert all(r.tokens_in > 0 and r.model for r in rows)
    assert usage.usage_summary(runtime, user_id=uid).calls == 2


def test_grading_and_generation_share_the_daily_request_limit(llm_stub, runtime, make_user):
    uid = make_user()
    add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    s = llm_stub.settings_for(runtime.settings, llm_max_requests_per_day=2)
    llm_stub.script(Reply(content='{"correct": true, "score": 1, "reason": "Right."}'))
    for day in range(2):
        qid = _short_question(runtime, uid)
        submit_answer(
            runtime.with_settings(s),
            user_id=uid,
            question_id=qid,
            token=token(),
            response="It makes ATP",
            confidence=4,
            seconds=20,
            expected_reviews=0,
            now=NOW + dt.timedelta(days=day),
        )
    llm_stub.responder = grounded_responder("mcq")
    with pytest.raises(RateLimited, match="2 language-model requests for today"):
        generation.generate_questions(
            runtime.with_settings(s), user_id=uid, count=1, question_type="mcq"
        )
    assert len(llm_stub.chat_requests) == 2


def test_a_failed_grading_call_is_logged_with_its_outcome(llm_stub, runtime, make_user):
    from tests.support.llm_stub import server_error

    uid = make_user()
    s = llm_stub.settings_for(runtime.settings, llm_max_retries=0)
    llm_stub.script(server_error())
    qid = _short_question(runtime, uid)
    result = submit_answer(
        runtime.with_settings(s),
        user_id=uid,
        question_id=qid,
        token=token(),
        response="It makes ATP",
        confidence=4,
        seconds=20,
        expected_reviews=0,
        now=NOW,
    )
    assert result.grader == "keypoints"
    [row] = _rows(runtime.session_factory, uid)
    assert (row.task, row.outcome) == ("grading", "unavailable")
