"""AppTest for the Reviews page (counts, queue by material, attention list) and the scheduler
choice in Profile & settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine.db.models import Profile, Question, ReviewState
from engine.practice.flags import flag_question, needs_attention
from engine.practice.submit import submit_answer
from tests.support.practice import add_question, token


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [i.value for i in at.info] + [s.value for s in at.success]
    return "\n".join(str(p) for p in parts)


def answer(runtime, uid, qid, *, response=1, now):
    return submit_answer(
        runtime,
        user_id=uid,
        question_id=qid,
        token=token(),
        response=response,
        confidence=4,
        seconds=20,
        expected_reviews=None,
        now=now,
    )


def test_counts_queue_by_material_and_scheduler(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    now = dt.datetime.now(dt.UTC)
    a = add_question(runtime.session_factory, uid, material_title="Cells")
    b = add_question(runtime.session_factory, uid, material_title="Genes")
    add_question(runtime.session_factory, uid, material_title="Genes")
    answer(runtime, uid, a, now=now - dt.timedelta(days=2))  # due a day ago
    answer(runtime, uid, b, now=now)  # due tomorrow
    at.switch_page("pages/reviews.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Due now"] == "1" and metrics["Due this week"] == "2"
    assert metrics["New, not yet seen"] == "1"
    table = at.dataframe[0].value
    assert list(table["Material"]) == ["Cells", "Genes"]
    assert list(table["Due now"]) == [1, 0]
    assert "Scheduler in use: **SM-2**" in texts(at)
    assert "No flagged or retired questions" in texts(at)


def test_attention_list_keep_and_retire(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    kept = add_question(runtime.session_factory, uid, stem="Keep me?")
    gone = add_question(runtime.session_factory, uid, stem="Retire me?")
    for qid in (kept, gone):
        flag_question(runtime, user_id=uid, question_id=qid, reason="wrong", note="Bad key")
    at.switch_page("pages/reviews.py").run()
    assert "Keep me?" in texts(at) and "Flagged as wrong: Bad key" in texts(at)
    next(b for b in at.button if b.key == f"keep_{kept}").click().run()
    next(b for b in at.button if b.key == f"retire_{gone}").click().run()
    assert not at.exception
    with runtime.session_factory() as s:
        assert s.get(Question, kept).status == "active"
        assert s.get(Question, gone).status == "retired"
    # A retired question stays listed (it can still be kept or replaced), without "Retire".
    assert "Retire me?" in texts(at) and "Keep me?" not in texts(at)
    assert not [b for b in at.button if b.key == f"retire_{gone}"]


def test_choosing_fsrs_in_settings_moves_due_dates(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    qid = add_question(runtime.session_factory, uid)
    answer(runtime, uid, qid, now=dt.datetime.now(dt.UTC))
    at.switch_page("pages/profile.py").run()
    at.radio(key="scheduler_choice").set_value("fsrs")
    next(b for b in at.button if b.label == "Save scheduler").click().run()
    assert not at.exception
    assert "now planned with FSRS-6" in texts(at)
    with runtime.session_factory() as s:
        assert s.get(Profile, uid).scheduler == "fsrs"
        rs = s.scalars(select(ReviewState)).one()
        assert rs.due_at == rs.fsrs_due_at != rs.sm2_due_at
    at.switch_page("pages/reviews.py").run()
    assert "Scheduler in use: **FSRS-6** (with its default parameters)" in texts(at)
    assert "Personal FSRS parameters" in [h.value for h in at.subheader]


def test_every_flag_reason_appears_in_the_attention_list(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    stems = {}
    for reason in ("unclear", "duplicate", "other"):
        qid = add_question(runtime.session_factory, uid, stem=f"Question flagged {reason}?")
        # enough answers that one flag does not retire it: it stays in the queue
        for _ in range(12):
            answer(runtime, uid, qid, now=dt.datetime.now(dt.UTC))
        flag_question(
            runtime,
            user_id=uid,
            question_id=qid,
            reason=reason,
            note="Why" if reason == "other" else "",
        )
        stems[reason] = qid
    other_user = add_question(runtime.session_factory, uid + 0, stem="Unflagged?")
    items = needs_attention(runtime, user_id=uid)
    assert {i.question_id for i in items} == set(stems.values())
    assert other_user not in {i.question_id for i in items}
    at.switch_page("pages/reviews.py").run()
    shown = texts(at)
    assert "Flagged as unclear" in shown and "Flagged as a duplicate" in shown
    assert "Flagged for another reason: Why" in shown
    assert "Question flagged unclear?" in shown and "still in your queue" in shown
    # Keeping it clears the flag and the list.
    next(b for b in at.button if b.key == f"keep_{stems['unclear']}").click().run()
    assert "Question flagged unclear?" not in texts(at)


def test_attention_list_is_per_learner(runtime, make_user):
    mine, theirs = make_user(), make_user()
    qid = add_question(runtime.session_factory, theirs, stem="Theirs?")
    flag_question(runtime, user_id=theirs, question_id=qid, reason="unclear")
    assert needs_attention(runtime, user_id=mine) == []
    assert [i.question_id for i in needs_attention(runtime, user_id=theirs)] == [qid]
