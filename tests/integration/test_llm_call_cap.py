"""The system-wide cap on concurrent model calls: at most `llm_max_concurrent_calls` calls are
at the provider at once, across threads and processes; the rest wait their turn, and one that
finds no free slot within `llm_call_wait_s` gets a clear "busy" error with nothing sent."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine import llm, usage
from engine.errors import LLMBusy
from engine.practice.submit import submit_answer
from tests.support.llm_stub import Reply
from tests.support.practice import add_question, token

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = [{"role": "user", "content": "Is the mitochondrion the powerhouse of the cell?"}]


def _parallel(n: int, fn) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_five_calls_with_a_cap_of_two_reach_the_provider_two_at_a_time(
    llm_stub, runtime, make_user
):
    learners = [make_user() for _ in range(5)]
    s = llm_stub.settings_for(runtime.settings, llm_max_concurrent_calls=2, llm_call_wait_s=30)
    rt = runtime.with_settings(s)
    llm_stub.default = Reply(content="Yes.", delay_s=0.5)

    results = _parallel(
        5,
        lambda i: usage.metered(
            rt,
            user_id=learners[i],
            task=usage.GRADING,
            call=lambda: llm.complete(MESSAGES, task="grading", settings=s),
        ),
    )

    assert all(isinstance(r, llm.Completion) and r.text == "Yes." for r in results), results
    assert len(llm_stub.chat_requests) == 5
    assert llm_stub.max_in_flight == 2


def test_a_call_that_finds_no_free_slot_in_time_is_refused_as_busy(llm_stub, runtime, make_user):
    first, second = make_user(), make_user()
    s = llm_stub.settings_for(runtime.settings, llm_max_concurrent_calls=1, llm_call_wait_s=0.3)
    rt = runtime.with_settings(s)
    held = usage.reserve(rt, user_id=first, task=usage.TUTOR, units=1)
    with pytest.raises(LLMBusy, match="Many people are using the language model"):
        usage.reserve(rt, user_id=second, task=usage.TUTOR, units=1)

    # Grading falls back to the offline grader and says why; nothing reached the provider.
    qid = add_question(
        runtime.session_factory,
        second,
        type="short",
        options=None,
        correct_index=None,
        stem="What does the mitochondrion do?",
        answer="It makes ATP.",
        key_points=["makes ATP"],
    )
    result = submit_answer(
        rt,
        user_id=second,
        question_id=qid,
        token=token(),
        response="It makes ATP",
        confidence=4,
        seconds=20,
        expected_reviews=0,
    )
    assert result.grader == "keypoints" and "unavailable" in result.reason
    assert llm_stub.chat_requests == []

    usage.release(rt, held)
    usage.release(rt, usage.reserve(rt, user_id=second, task=usage.TUTOR, units=1))


_HOLDER = """
import sys
from engine import usage
from engine.bootstrap import create_runtime

rt = create_runtime(migrate=False)
r = usage.reserve(rt, user_id=int(sys.argv[1]), task=usage.TUTOR, units=1)
print("held", flush=True)
sys.stdin.read()
usage.release(rt, r)
rt.close()
"""


@pytest.mark.slow  # a second process holds the slot
def test_the_cap_holds_across_processes(runtime, make_user):
    """A call in flight in another process (an app replica, a worker) takes a slot here."""
    holder_user, here = make_user(), make_user()
    env = dict(os.environ, GROUNDWORK_LLM_MAX_CONCURRENT_CALLS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(holder_user)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "held", proc.stderr.read()
        rt = runtime.with_settings(
            runtime.settings.replace(llm_max_concurrent_calls=1, llm_call_wait_s=0.3)
        )
        with pytest.raises(LLMBusy):
            usage.reserve(rt, user_id=here, task=usage.TUTOR, units=1)
    finally:
        proc.communicate(input="", timeout=60)
    assert proc.returncode == 0
    usage.release(rt, usage.reserve(rt, user_id=here, task=usage.TUTOR, units=1))
