"""Pictures of imported Anki notes against a real database: stored with their question and
side, only real images, per learner; bad media refused whole or left out and counted, never
half-imported; and the import as a background job with progress."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image
from sqlalchemy import func, select

from engine import jobs
from engine.bank.images import ShownImage, images_for
from engine.db.models import Attempt, JobProgress, Question, QuestionImage
from engine.errors import NotFound
from engine.interop.anki_import import import_anki
from engine.interop.anki_package import AnkiPackageRefused
from engine.jobs.results import AnkiImportResult
from tests.support import anki_decks as decks
from tests.support.jobs import running_worker, wait_for

PNG, JPEG, GIF = decks.image("PNG"), decks.image("JPEG"), decks.image("GIF")


def questions(rt, uid) -> dict[str, int]:
    with rt.session_factory() as s:
        rows = s.execute(select(Question.external_key, Question.id).where(Question.user_id == uid))
        return dict(rows.tuples().all())


def image_rows(rt, uid=None) -> int:
    q = select(func.count()).select_from(QuestionImage)
    if uid is not None:
        q = q.where(QuestionImage.user_id == uid)
    with rt.session_factory() as s:
        return s.scalar(q)


def _nothing_imported(rt, uid) -> None:
    assert questions(rt, uid) == {} and image_rows(rt, uid) == 0
    with rt.session_factory() as s:
        assert s.scalar(select(func.count()).where(Attempt.user_id == uid)) == 0


def test_legacy_pictures_are_stored_with_their_side(runtime, make_user):
    uid = make_user()
    package = decks.with_legacy_media(
        decks.legacy_deck(back=decks.BACK_HTML),  # the back shows wave.png
        [("wave.png", PNG), ("flag.gif", GIF), ("unused.jpg", JPEG)],
    )
    summary = import_anki(runtime, user_id=uid, data=package)
    assert summary.media == 1
    assert summary.skipped == {
        "media_file": 2,  # flag.gif and unused.jpg: no note shows them
        "media_reference": 1,  # the sound
        "review_not_imported": 1,
    }
    qid = questions(runtime, uid)["anki:basic-guid:0"]
    assert images_for(runtime, user_id=uid, question_ids=[qid]) == {
        qid: [ShownImage("answer", "image/png", PNG)]
    }


def test_current_format_pictures_are_unpacked_and_a_picture_only_side_is_kept(runtime, make_user):
    uid = make_user()
    package = decks.current_deck(
        basic_back='<img src="cell.jpg"><img src="cell.jpg">',
        media=[("cell.jpg", JPEG)],
    )
    summary = import_anki(runtime, user_id=uid, data=package)
    assert (summary.media, summary.skipped) == (2, {})
    qid = questions(runtime, uid)["anki:new-basic:0"]
    shown = images_for(runtime, user_id=uid, question_ids=[qid])[qid]
    assert shown == [ShownImage("answer", "image/jpeg", JPEG)] * 2
    with runtime.session_factory() as s:
        assert s.get(Question, qid).answer == "(picture)"


def _noise_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, format="PNG")
    return out.getvalue()


def test_files_that_are_not_real_pictures_or_too_large_are_left_out_and_counted(runtime, make_user):
    rt = runtime
    rt.settings = rt.settings.replace(anki_image_max_kb=2)
    uid = make_user()
    back = "".join(f'<img src="{n}">' for n in ("x.svg", "y.png", "big.png", "ok.gif", "gone.png"))
    package = decks.with_legacy_media(
        decks.legacy_deck(back="hello " + back),
        [
            ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
            ("y.png", b"<html><script>alert(1)</script></html>"),
            ("big.png", _noise_png(40)),  # a real PNG of about 5 kB
            ("ok.gif", GIF),
        ],
    )
    summary = import_anki(rt, user_id=uid, data=package)
    assert summary.media == 1 and summary.questions == 5
    assert summary.skipped == {
        "image_missing": 1,
        "image_too_large": 1,
        "not_an_image": 2,
        "review_not_imported": 1,
    }
    qid = questions(rt, uid)["anki:basic-guid:0"]
    assert images_for(rt, user_id=uid, question_ids=[qid])[qid] == [
        ShownImage("answer", "image/gif", GIF)
    ]


def test_a_media_bomb_is_refused_and_nothing_is_imported(runtime, make_user):
    rt = runtime
    rt.settings = rt.settings.replace(anki_max_unpacked_mb=1)
    uid = make_user()
    bomb = decks.current_deck(
        basic_back='<img src="a.png"><img src="b.png">',
        media=[("a.png", PNG + b"\x00" * 3_000_000), ("b.png", b"\x00" * 3_000_000)],
    )
    assert len(bomb) < 200_000  # megabytes of zeros squeezed by zstd
    with pytest.raises(AnkiPackageRefused, match="media in this Anki package unpack to more"):
        import_anki(rt, user_id=uid, data=bomb)
    _nothing_imported(rt, uid)


def test_a_failure_late_in_the_import_leaves_nothing(runtime, make_user):
    uid = make_user()
    package = decks.with_legacy_media(decks.legacy_deck(), [("wave.png", PNG)])

    def fail_at_the_end(done: int, total: int) -> None:
        if done == total:
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        import_anki(runtime, user_id=uid, data=package, progress=fail_at_the_end)
    _nothing_imported(runtime, uid)


def test_reimport_replaces_pictures_instead_of_adding_them(runtime, make_user):
    uid = make_user()
    package = decks.with_legacy_media(decks.legacy_deck(), [("wave.png", PNG)])
    import_anki(runtime, user_id=uid, data=package)
    changed = decks.with_legacy_media(decks.legacy_deck(), [("wave.png", JPEG)])
    import_anki(runtime, user_id=uid, data=changed)
    qid = questions(runtime, uid)["anki:basic-guid:0"]
    assert image_rows(runtime, uid) == 1
    assert images_for(runtime, user_id=uid, question_ids=[qid])[qid][0].data == JPEG


def test_one_learners_pictures_are_never_read_for_another(runtime, make_user):
    me, other = make_user(), make_user()
    import_anki(
        runtime,
        user_id=other,
        data=decks.with_legacy_media(decks.legacy_deck(), [("wave.png", PNG)]),
    )
    theirs = list(questions(runtime, other).values())
    assert images_for(runtime, user_id=me, question_ids=theirs) == {}
    import_anki(
        runtime, user_id=me, data=decks.with_legacy_media(decks.legacy_deck(), [("wave.png", GIF)])
    )
    mine = list(questions(runtime, me).values())
    assert [i.data for v in images_for(runtime, user_id=me, question_ids=mine).values() for i in v]
    assert images_for(runtime, user_id=me, question_ids=theirs) == {}
    (their_picture,) = images_for(runtime, user_id=other, question_ids=theirs).values()
    assert their_picture == [ShownImage("answer", "image/png", PNG)]  # my import left it


def test_progress_counts_notes_as_the_history_is_written(runtime, make_user):
    uid = make_user()
    package, _ = decks.simulated_package(1200, 2)
    calls: list[tuple[int, int]] = []
    import_anki(runtime, user_id=uid, data=package, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 1200) and calls[-1] == (1200, 1200)
    assert (500, 1200) in calls and (1000, 1200) in calls
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def _submit(rt, uid, data: bytes, name: str = "deck.apkg") -> int:
    return jobs.submit_anki_import(rt, user_id=uid, source=io.BytesIO(data), filename=name)


def _spooled(rt) -> list[str]:
    folder = rt.settings.storage.spool_path
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_the_import_runs_as_a_job_with_progress_and_its_summary(runtime, make_user):
    uid = make_user()
    package, reviews = decks.simulated_package(1200, 2)
    job_id = _submit(runtime, uid, package, "vocabulary.apkg")
    with pytest.raises(jobs.AlreadyQueued):  # one waiting import per learner
        _submit(runtime, uid, package)
    assert len(_spooled(runtime)) == 1  # the refused second file is not left behind
    with running_worker(runtime):
        done = wait_for(runtime, job_id, user_id=uid)
    assert done.outcome == "done", done.message
    assert (done.label, done.done, done.total) == ("vocabulary.apkg", 1200, 1200)
    assert done.result == AnkiImportResult(
        notes=1200, questions=1200, created=1200, updated=0, reviews=reviews, media=0, skipped={}
    )
    assert done.message == f"Imported 1200 questions from 1200 notes and {reviews} reviews."
    assert _spooled(runtime) == [] and len(questions(runtime, uid)) == 1200
    with pytest.raises(NotFound):  # another learner does not see it
        jobs.get_job(runtime, job_id, user_id=make_user())


def test_a_refused_package_fails_its_job_with_the_reason_and_imports_nothing(runtime, make_user):
    uid = make_user()
    job_id = _submit(runtime, uid, b"not a zip")
    with running_worker(runtime):
        done = wait_for(runtime, job_id, user_id=uid)
    assert done.outcome == "failed" and "it is not a zip file" in done.message
    assert done.attempts == 1  # bad input is not retried
    _nothing_imported(runtime, uid)
    assert _spooled(runtime) == []


def test_a_package_over_the_limit_is_refused_before_it_is_queued(runtime, make_user):
    rt = runtime
    rt.settings = rt.settings.replace(anki_max_mb=1)
    uid = make_user()
    with pytest.raises(AnkiPackageRefused, match="over 1 MB"):
        _submit(rt, uid, b"\x00" * 1_500_000)
    assert _spooled(rt) == []
    with rt.session_factory() as s:
        assert s.scalar(select(func.count()).where(JobProgress.user_id == uid)) == 0


def test_the_data_export_holds_the_learners_pictures_only(runtime, make_user):
    import zipfile

    from engine import account_data

    me, other = make_user(), make_user()
    mine_png = decks.image("PNG", (9, 9))
    for uid, picture in ((me, mine_png), (other, GIF)):
        package = decks.with_legacy_media(decks.legacy_deck(), [("wave.png", picture)])
        import_anki(runtime, user_id=uid, data=package)
    qid = questions(runtime, me)["anki:basic-guid:0"]
    data = account_data.export_account_bytes(runtime, user_id=me)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        pictures = [n for n in zf.namelist() if n.startswith("pictures/")]
        assert pictures == [f"pictures/{qid}-0.png"]
        assert zf.read(pictures[0]) == mine_png
        listed = zf.read("pictures.csv").decode().splitlines()
        assert listed == ["question_id,side,export_file", f"{qid},answer,pictures/{qid}-0.png"]
        assert not any(GIF in zf.read(n) for n in zf.namelist())
