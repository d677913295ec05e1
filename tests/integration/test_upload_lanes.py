"""A learner's uploads run two at once (a small file does not wait behind their big one),
while their other jobs still run alone and the page and OCR quotas stay exact."""

from __future__ import annotations

import io
import threading

from engine import jobs, library
from engine.errors import OcrQuotaExceeded
from engine.jobs import account_deletion, tasks
from engine.library import ingest as ingest_module, ocr_quota, quotas, store
from tests.support.jobs import running_worker, wait_for
from tests.support.library_pdfs import scanned_pdf, text_pdf

TIDES = (
    "Tides rise and fall twice a day because the Moon's gravity pulls the oceans into two "
    "bulges, one facing the Moon and one on the far side of the Earth. "
)


def _submit(rt, user_id, name, data=None):
    data = data or text_pdf([f"{name}: {TIDES}"])
    return jobs.submit_ingestion(rt, user_id=user_id, source=io.BytesIO(data), filename=name)


def _big(pages: int = 6, title: str = "Part") -> bytes:
    return text_pdf([f"{title} {n}. " + TIDES * 12 for n in range(pages)])


def _gates(
    monkeypatch,
    *names: str,
    ended: list[str] | None = None,
    started: threading.Event | None = None,
):
    """Ingestion of each of `names` stops at its first embedding step until its `go` is set;
    every ingestion's name goes to `ended` when it returns; `started` is set when any other
    ingestion begins."""
    gates = {n: (threading.Event(), threading.Event()) for n in names}
    real = library.ingest_pdf

    def ingest(rt, **kwargs):
        name = kwargs["filename"]
        if started is not None and name not in gates:
            started.set()
        if name in gates:
            reached, go = gates[name]
            report = kwargs["progress"]

            def progress(p):
                report(p)
                if p.stage == library.IngestStage.EMBEDDING and not reached.is_set():
                    reached.set()
                    assert go.wait(60), "never released"

            kwargs["progress"] = progress
        try:
            return real(rt, **kwargs)
        finally:
            if ended is not None:
                ended.append(name)

    monkeypatch.setattr(library, "ingest_pdf", ingest)
    return gates


def test_a_small_upload_finishes_while_the_same_learners_big_one_runs(
    runtime, make_user, monkeypatch
):
    a = make_user()
    gates = _gates(monkeypatch, "big.pdf")
    reached, go = gates["big.pdf"]
    with running_worker(runtime, concurrency=2):
        big = _submit(runtime, a, "big.pdf", _big())
        assert reached.wait(60)
        small = wait_for(runtime, _submit(runtime, a, "small.pdf"), user_id=a)
        assert small.outcome == "done"
        assert not wait_for(runtime, big, user_id=a, until="running").finished  # still held
        go.set()
        assert wait_for(runtime, big, user_id=a).outcome == "done"


def test_account_deletion_waits_for_both_running_uploads(runtime, make_user, monkeypatch):
    a = make_user()
    ended: list[str] = []
    gates = _gates(monkeypatch, "one.pdf", "two.pdf", ended=ended)
    deletion_started = threading.Event()
    seen_at_start: list[list[str]] = []
    real_body = tasks.delete_account_body

    def body(rt):
        run = real_body(rt)

        def recording(*args, **kwargs):
            seen_at_start.append(list(ended))
            deletion_started.set()
            return run(*args, **kwargs)

        return recording

    monkeypatch.setattr(tasks, "delete_account_body", body)
    with running_worker(runtime, concurrency=2):
        one = _submit(runtime, a, "one.pdf", _big(3))
        two = _submit(runtime, a, "two.pdf", _big(4))
        assert gates["one.pdf"][0].wait(60) and gates["two.pdf"][0].wait(60)  # both running
        account_deletion.start_account_deletion(runtime, user_id=a)
        gates["one.pdf"][1].set()
        wait_for(runtime, one, user_id=a)
        # A worker slot is free now, but "two.pdf" still runs: the deletion must not start.
        assert not deletion_started.wait(3)
        gates["two.pdf"][1].set()
        wait_for(runtime, two, user_id=a)
        assert deletion_started.wait(60)
    assert seen_at_start == [["one.pdf", "two.pdf"]]


def test_a_reindex_waits_for_the_running_upload_and_an_upload_queued_after_it_waits_too(
    runtime, make_user, monkeypatch
):
    a = make_user()
    order: list[str] = []
    started = threading.Event()
    gates = _gates(monkeypatch, "big.pdf", ended=order, started=started)
    real_body = tasks.reindex_body

    def body(rt):
        run = real_body(rt)

        def recording(*args, **kwargs):
            order.append("reindex")
            started.set()
            return run(*args, **kwargs)

        return recording

    monkeypatch.setattr(tasks, "reindex_body", body)
    with running_worker(runtime, concurrency=2):
        _submit(runtime, a, "big.pdf", _big())
        assert gates["big.pdf"][0].wait(60)
        reindex = jobs.submit_reindex(runtime, user_id=a)
        later = _submit(runtime, a, "later.pdf")  # a free worker and a free upload lane
        # Neither starts beside the running upload: the re-index runs alone, and the later
        # upload waits for the re-index queued before it.
        assert not started.wait(3)
        gates["big.pdf"][1].set()
        assert wait_for(runtime, reindex, user_id=a).outcome == "done"
        assert wait_for(runtime, later, user_id=a).outcome == "done"
    assert order == ["big.pdf", "reindex", "later.pdf"]


def test_page_quota_stays_exact_when_two_uploads_store_at_once(runtime, make_user, monkeypatch):
    runtime.settings = runtime.settings.replace(library_max_pages=5)
    a = make_user()
    # Generous: each thread reads its page by OCR first, slow on a loaded machine.
    both_here = threading.Barrier(2, timeout=300)
    real = store.store_document

    def meet_then_store(rt, **kwargs):
        both_here.wait()  # the two ingestions reach the storing step together
        return real(rt, **kwargs)

    monkeypatch.setattr(ingest_module, "store_document", meet_then_store)
    with running_worker(runtime, concurrency=2):
        first = _submit(runtime, a, "first.pdf", _big(3))
        second = _submit(runtime, a, "second.pdf", _big(3, "Section"))
        done = [wait_for(runtime, j, user_id=a) for j in (first, second)]
    assert sorted(j.outcome for j in done) == ["done", "failed"]
    refused = next(j for j in done if j.outcome == "failed")
    assert "library is full" in refused.message
    with runtime.session_factory() as session:
        assert quotas.page_usage(session, a).stored == 3


def test_ocr_allowance_stays_exact_when_two_uploads_store_at_once(runtime, make_user, monkeypatch):
    runtime.settings = runtime.settings.replace(ocr_pages_per_user=1)
    a = make_user()
    # Generous: each thread reads its page by OCR first, slow on a loaded machine.
    both_here = threading.Barrier(2, timeout=300)
    real = store.store_document

    def meet_then_store(rt, **kwargs):
        both_here.wait()  # both read their scanned page while the allowance had room for one
        return real(rt, **kwargs)

    monkeypatch.setattr(ingest_module, "store_document", meet_then_store)
    outcomes: dict[str, object] = {}

    def upload(name: str, data: bytes) -> None:
        try:
            outcomes[name] = library.ingest_pdf(
                runtime, user_id=a, data=data, filename=name
            ).material.ocr_pages
        except OcrQuotaExceeded as e:
            outcomes[name] = e.user_message

    # Made here, not in the threads: pdfium (which draws the scans) is not thread-safe.
    one, two = scanned_pdf([TIDES]), scanned_pdf(["Waves break on the shore. " * 6])
    threads = [
        threading.Thread(target=upload, args=("one.pdf", one)),
        threading.Thread(target=upload, args=("two.pdf", two)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(400)
    stored = [v for v in outcomes.values() if v == [1]]
    refused = [v for v in outcomes.values() if isinstance(v, str)]
    assert len(stored) == 1 and len(refused) == 1, outcomes
    assert "only 0 more OCR pages" in refused[0]
    assert ocr_quota.ocr_pages_used(runtime, user_id=a) == 1
