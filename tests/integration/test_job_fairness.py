"""One learner's uploads cannot make another learner wait behind all of them: learners take
turns on a worker, and a long ingestion steps aside (keeping the passages it embedded) when
another learner's job is waiting."""

from __future__ import annotations

import io
import threading

from engine import jobs, library
from engine.jobs import tasks
from tests.support.jobs import running_worker, wait_for
from tests.support.library_pdfs import text_pdf

TIDES = (
    "Tides rise and fall twice a day because the Moon's gravity pulls the oceans into two "
    "bulges, one facing the Moon and one on the far side of the Earth. "
)


def _submit(rt, user_id, name, data=None):
    data = data or text_pdf([f"{name}: {TIDES}"])
    return jobs.submit_ingestion(rt, user_id=user_id, source=io.BytesIO(data), filename=name)


def _set(rt, **changes):
    rt.settings = rt.settings.replace(**changes)


def test_learners_take_turns_on_one_worker(runtime, make_user, monkeypatch):
    a, b = make_user(), make_user()
    started: list[str] = []
    real = library.ingest_pdf

    def record(rt, **kwargs):
        started.append(kwargs["filename"])
        return real(rt, **kwargs)

    monkeypatch.setattr(library, "ingest_pdf", record)
    mine = [_submit(runtime, a, f"a{i}.pdf") for i in range(3)]
    theirs = _submit(runtime, b, "b.pdf")  # queued after all of a's
    with running_worker(runtime, concurrency=1):
        for job_id in mine:
            assert wait_for(runtime, job_id, user_id=a).outcome == "done"
        assert wait_for(runtime, theirs, user_id=b).outcome == "done"
    assert started == ["a0.pdf", "b.pdf", "a1.pdf", "a2.pdf"]  # a's own order is kept


def _gated_big_upload(monkeypatch, name: str):
    """Ingestion of `name` stops after its first embedding step until `go` is set."""
    reached, go = threading.Event(), threading.Event()
    real = library.ingest_pdf

    def ingest(rt, **kwargs):
        if kwargs["filename"] == name:
            report = kwargs["progress"]

            def progress(p):
                report(p)
                if (
                    p.stage == library.IngestStage.EMBEDDING
                    and 0 < p.chunks_indexed < p.chunk_count
                    and not reached.is_set()
                ):
                    reached.set()
                    assert go.wait(60), "never released"

            kwargs["progress"] = progress
        return real(rt, **kwargs)

    monkeypatch.setattr(library, "ingest_pdf", ingest)
    return reached, go


def _count_embedded(monkeypatch, rt) -> list[int]:
    sizes: list[int] = []
    embedder = rt.embedder
    real = embedder.embed_documents

    def counting(texts):
        sizes.append(len(texts))
        return real(texts)

    monkeypatch.setattr(embedder, "embed_documents", counting)
    return sizes


def _count_requeues(monkeypatch) -> list[int]:
    """Ingestions queued again after stepping aside (by job id)."""
    calls: list[int] = []
    real = getattr(tasks, "requeue", None)
    if real is None:  # a worker without the stepping aside never queues a job again
        return calls

    def counting(rt, context, task, **kwargs):
        calls.append(kwargs["job_id"])
        return real(rt, context, task, **kwargs)

    monkeypatch.setattr(tasks, "requeue", counting)
    return calls


def _big() -> bytes:
    return text_pdf([f"Part {n}. " + TIDES * 12 for n in range(6)])


def test_a_long_ingestion_steps_aside_for_another_learner_and_keeps_its_work(
    runtime, make_user, monkeypatch
):
    _set(runtime, jobs_fair_slice_s=0, embedding_batch_size=1)  # steps of 4 passages
    a, b = make_user(), make_user()
    reached, go = _gated_big_upload(monkeypatch, "big.pdf")
    embedded = _count_embedded(monkeypatch, runtime)
    requeued = _count_requeues(monkeypatch)
    with running_worker(runtime, concurrency=1):
        big = _submit(runtime, a, "big.pdf", _big())
        assert reached.wait(60)
        small = _submit(runtime, b, "small.pdf")  # queued while a's upload is being embedded
        go.set()
        theirs = wait_for(runtime, small, user_id=b)
        mine = wait_for(runtime, big, user_id=a)
    assert theirs.outcome == "done" and mine.outcome == "done", (theirs, mine)
    assert theirs.finished_at < mine.finished_at  # b did not wait for all of a's passages
    assert requeued == [big]
    passages = mine.result.chunks
    assert passages > 8
    # Nothing embedded twice: a's passages once each, plus b's.
    assert sum(embedded) == passages + theirs.result.chunks
    assert library.vector_count(runtime, user_id=a) == passages
    hits = library.search_library(runtime, user_id=a, query="Moon gravity bulges oceans")
    assert hits and {h.material_id for h in hits} == {mine.result.material_id}
    spool = runtime.settings.storage.spool_path
    assert list(spool.iterdir()) == []  # the upload and its saved vectors are gone


def test_a_learner_does_not_step_aside_for_their_own_jobs(runtime, make_user, monkeypatch):
    _set(runtime, jobs_fair_slice_s=0, embedding_batch_size=1)
    a = make_user()
    reached, go = _gated_big_upload(monkeypatch, "big.pdf")
    requeued = _count_requeues(monkeypatch)
    with running_worker(runtime, concurrency=1):
        big = _submit(runtime, a, "big.pdf", _big())
        assert reached.wait(60)
        later = _submit(runtime, a, "later.pdf")
        go.set()
        mine = wait_for(runtime, big, user_id=a)
        assert wait_for(runtime, later, user_id=a).finished_at > mine.finished_at
    assert mine.outcome == "done" and requeued == []


def test_by_default_two_uploads_run_at_once_and_a_busy_learner_holds_only_one(
    runtime, make_user, monkeypatch
):
    a, b = make_user(), make_user()
    running: dict[str, int] = {}
    most_at_once = {"all": 0, "a": 0}
    a_done = {"count": 0, "when_b_started": -1}
    guard, both, b_done_event = threading.Lock(), threading.Event(), threading.Event()
    real = library.ingest_pdf

    def record(rt, **kwargs):
        name = kwargs["filename"]
        with guard:
            running[name] = kwargs["user_id"]
            if name == "b.pdf":
                a_done["when_b_started"] = a_done["count"]
            most_at_once["all"] = max(most_at_once["all"], len(running))
            if not b_done_event.is_set():  # a may run two of their own once b is served
                mine = sum(1 for uid in running.values() if uid == a)
                most_at_once["a"] = max(most_at_once["a"], mine)
            if len(running) >= 2:
                both.set()
        try:
            both.wait(20)  # the first upload waits a moment for a second one to start
            return real(rt, **kwargs)
        finally:
            with guard:
                running.pop(name)
                if name == "b.pdf":
                    b_done_event.set()
                else:
                    a_done["count"] += 1

    monkeypatch.setattr(library, "ingest_pdf", record)
    _set(runtime, upload_max_pending=10)
    mine = [_submit(runtime, a, f"a{i}.pdf") for i in range(10)]
    theirs = _submit(runtime, b, "b.pdf")  # queued after all ten of a's
    with running_worker(runtime, concurrency=runtime.settings.jobs.worker_concurrency):
        assert wait_for(runtime, theirs, user_id=b).outcome == "done"
        finished = [wait_for(runtime, job_id, user_id=a) for job_id in mine]
    assert all(j.outcome == "done" for j in finished)
    assert both.is_set() and most_at_once["all"] == 2  # two at once, by default
    assert most_at_once["a"] == 1  # a never held both while b waited
    # b started once at most one of a's uploads had finished (counted when b's began: how
    # many of a's finish while b runs depends on how long each one takes).
    assert 0 <= a_done["when_b_started"] <= 1
