"""Practice services on a real PostgreSQL: queue, answering (idempotent, concurrent), grading,
disputes, flags and retirement, counts, scheduler choice, isolation."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from engine.db.models import Attempt, Flag, Profile, Question, ReviewState
from engine.errors import InvalidInput, NotFound, QuestionUnavailable
from engine.practice.dispute import dispute_attempt
from engine.practice.flags import flag_question, keep_question, needs_attention
from engine.practice.preferences import optimise_fsrs, scheduler_info, set_scheduler
from engine.practice.queue import build_queue, get_practice_question, review_counts
from engine.practice.replace import replace_question
from engine.practice.submit import submit_answer
from tests.support.llm_stub import Reply
from tests.support.practice import add_question, token

NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)


def answer(
    runtime,
    uid,
    qid,
    response=1,
    *,
    confidence=4,
    seconds=30,
    tok=None,
    expected=None,
    now=NOW,
    settings=None,
):
    return submit_answer(
        runtime.with_settings(settings) if settings else runtime,
        user_id=uid,
        question_id=qid,
        token=tok or token(),
        response=response,
        confidence=confidence,
        seconds=seconds,
        expected_reviews=expected if expected is not None else _reviews(runtime, qid),
        now=now,
    )


def _reviews(runtime, qid):
    with runtime.session_factory() as s:
        return s.scalar(select(ReviewState.reviews).where(ReviewState.question_id == qid)) or 0


def count(runtime, model, **where):
    with runtime.session_factory() as s:
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return s.scalar(stmt)


def profile(runtime, uid) -> Profile:
    with runtime.session_factory() as s:
        return s.get(Profile, uid)


def test_new_questions_fill_the_queue_up_to_the_daily_target(runtime, make_user):
    uid = make_user()
    with runtime.session_factory.begin() as s:
        s.get(Profile, uid).daily_target = 3
    qids = [add_question(runtime.session_factory, uid) for _ in range(5)]
    queue = build_queue(runtime, user_id=uid, now=NOW)
    assert [e.question_id for e in queue.entries] == qids[:3]
    assert {e.kind for e in queue.entries} == {"new"} and queue.due_now == 0
    answer(runtime, uid, qids[0])
    queue = build_queue(runtime, user_id=uid, now=NOW)
    assert [e.question_id for e in queue.entries] == qids[1:3]
    assert queue.answered_today == 1
    more = build_queue(runtime, user_id=uid, now=NOW, extra_new=5)
    assert [e.question_id for e in more.entries] == qids[1:]


def test_due_reviews_come_first_most_overdue_first(runtime, make_user):
    uid = make_user()
    a, b, c = (add_question(runtime.session_factory, uid) for _ in range(3))
    answer(runtime, uid, a, now=NOW - dt.timedelta(days=3))  # due NOW - 2d
    answer(runtime, uid, b, now=NOW - dt.timedelta(days=5))  # due NOW - 4d
    answer(runtime, uid, c, now=NOW)  # due tomorrow
    new = add_question(runtime.session_factory, uid)
    queue = build_queue(runtime, user_id=uid, now=NOW)
    assert [(e.question_id, e.kind) for e in queue.entries] == [
        (b, "review"),
        (a, "review"),
        (new, "new"),
    ]
    assert queue.entries[0].reviews == 1
    assert queue.next_due_at == NOW + dt.timedelta(days=1)


def test_answer_records_attempt_schedule_xp_and_streak(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid, difficulty=5)
    result = answer(runtime, uid, qid, response=1, confidence=5, seconds=25.4)
    assert result.correct and not result.duplicate
    assert result.correct_answer == "Mitochondrion"
    assert result.excerpt.startswith("The mitochondrion") and result.page_start == 4
    assert result.xp_earned == 35 and result.xp_total == 35
    assert result.next_due_at == NOW + dt.timedelta(days=1)  # SM-2 first interval
    p = profile(runtime, uid)
    assert (p.xp, p.level, p.streak, p.best_streak, p.last_activity_date) == (
        35,
        1,
        1,
        1,
        NOW.date(),
    )
    with runtime.session_factory() as s:
        att = s.scalars(select(Attempt)).one()
        rs = s.scalars(select(ReviewState)).one()
    assert (att.seconds, att.confidence, att.quality, att.rating, att.scheduler) == (
        25,
        5,
        5,
        4,
        "sm2",
    )
    assert att.state_before is None and att.state_after["sm2"]["interval_days"] == 1
    assert (rs.reviews, rs.sm2_repetitions, rs.sm2_easiness, rs.due_at) == (
        1,
        1,
        2.6,
        NOW + dt.timedelta(days=1),
    )
    # Next day: streak 2, SM-2 interval 6, attempt keeps the state before.
    r2 = answer(runtime, uid, qid, now=NOW + dt.timedelta(days=1), seconds=5000)
    assert r2.next_due_at == NOW + dt.timedelta(days=7)
    assert profile(runtime, uid).streak == 2
    with runtime.session_factory() as s:
        att2 = s.scalars(select(Attempt).order_by(Attempt.id.desc())).first()
    assert att2.seconds == 3600 and att2.state_before["sm2"]["interval_days"] == 1


def test_wrong_answer_confidently_is_quality_zero_and_earns_base_xp(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    result = answer(runtime, uid, qid, response=0, confidence=5)
    assert not result.correct and result.xp_earned == 10
    with runtime.session_factory() as s:
        att = s.scalars(select(Attempt)).one()
        rs = s.scalars(select(ReviewState)).one()
    assert (att.quality, att.rating, rs.lapses, rs.sm2_easiness) == (0, 1, 1, 1.7)


def test_double_submit_with_the_same_token_counts_once(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    tok = token()
    first = answer(runtime, uid, qid, tok=tok, expected=0)
    again = answer(runtime, uid, qid, tok=tok, expected=0)
    assert again.duplicate and again.attempt_id == first.attempt_id
    assert again.xp_total == first.xp_total
    assert count(runtime, Attempt) == 1 and profile(runtime, uid).xp == first.xp_total


def test_second_tab_answering_the_same_showing_counts_once(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    first = answer(runtime, uid, qid, tok=token(), expected=0)
    other_tab = answer(runtime, uid, qid, response=0, tok=token(), expected=0)
    assert other_tab.duplicate and other_tab.attempt_id == first.attempt_id
    assert other_tab.correct  # the recorded (first) answer's result
    assert count(runtime, Attempt) == 1 and _reviews(runtime, qid) == 1


@pytest.mark.parametrize("same_token", [True, False])
def test_simultaneous_submissions_record_one_attempt(runtime, make_user, same_token):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    barrier = threading.Barrier(4)
    shared = token()
    results, errors = [], []

    def go():
        try:
            barrier.wait()
            results.append(
                answer(runtime, uid, qid, tok=shared if same_token else token(), expected=0)
            )
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert count(runtime, Attempt) == 1 and _reviews(runtime, qid) == 1
    assert sum(not r.duplicate for r in results) == 1 and len(results) == 4
    assert len({r.attempt_id for r in results}) == 1
    assert profile(runtime, uid).xp == results[0].xp_earned


def test_two_tabs_answering_new_questions_at_once_both_count(runtime, make_user):
    """Separate answers (no shared showing) to a question nobody answered before, at the same
    moment: both are recorded, one after the other, and neither tab sees an error."""
    uid = make_user()
    qids = [add_question(runtime.session_factory, uid) for _ in range(8)]
    errors: list[Exception] = []
    for qid in qids:
        barrier = threading.Barrier(2)

        def go(q=qid, b=barrier):
            try:
                b.wait()
                submit_answer(  # no showing to compare with: two separate answers
                    runtime,
                    user_id=uid,
                    question_id=q,
                    token=token(),
                    response=1,
                    confidence=4,
                    seconds=30,
                    expected_reviews=None,
                    now=NOW,
                )
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                errors.append(e)

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert errors == []
    assert count(runtime, Attempt) == 2 * len(qids)
    assert all(_reviews(runtime, q) == 2 for q in qids)


def test_another_learners_question_is_not_found(runtime, make_user):
    me, other = make_user(), make_user()
    theirs = add_question(runtime.session_factory, other)
    with pytest.raises(NotFound):
        get_practice_question(runtime, user_id=me, question_id=theirs)
    with pytest.raises(NotFound):
        answer(runtime, me, theirs)
    with pytest.raises(NotFound):
        flag_question(runtime, user_id=me, question_id=theirs, reason="wrong")
    their_answer = answer(runtime, other, theirs, response=0)
    with pytest.raises(NotFound):
        dispute_attempt(runtime, user_id=me, attempt_id=their_answer.attempt_id)
    with pytest.raises(NotFound):
        keep_question(runtime, user_id=me, question_id=theirs)
    assert build_queue(runtime, user_id=me, now=NOW).entries == []
    assert review_counts(runtime, user_id=me, now=NOW).scheduled == 0
    assert needs_attention(runtime, user_id=me) == []
    assert count(runtime, Flag) == 0 and profile(runtime, me).xp == 0


def test_bad_answers_are_refused_and_change_nothing(runtime, make_user):
    uid = make_user()
    mcq = add_question(runtime.session_factory, uid)
    short = add_question(
        runtime.session_factory,
        uid,
        type="short",
        options=None,
        correct_index=None,
        answer="Respiration makes ATP",
        key_points=["respiration", "ATP"],
    )
    with pytest.raises(InvalidInput, match="options"):
        answer(runtime, uid, mcq, response=7)
    with pytest.raises(InvalidInput, match="Type your answer"):
        answer(runtime, uid, short, response="   ")
    with pytest.raises(InvalidInput, match="confident"):
        answer(runtime, uid, mcq, confidence=0)
    assert count(runtime, Attempt) == 0 and count(runtime, ReviewState) == 0
    assert profile(runtime, uid).xp == 0


def test_cloze_tolerates_case_and_a_typo_but_not_a_different_word(runtime, make_user):
    uid = make_user()
    q = add_question(
        runtime.session_factory,
        uid,
        type="cloze",
        options=None,
        correct_index=None,
        stem="ATP is made in the _____.",
        answer="mitochondrion",
    )
    assert answer(runtime, uid, q, response="  Mitochondrion. ").grader == "exact"
    typo = answer(runtime, uid, q, response="mitochondrian", now=NOW + dt.timedelta(days=1))
    assert typo.correct and typo.grader == "fuzzy"
    wrong = answer(runtime, uid, q, response="nucleus", now=NOW + dt.timedelta(days=8))
    assert not wrong.correct


def test_short_answer_offline_by_key_point_coverage(runtime, make_user):
    uid = make_user()
    q = add_question(
        runtime.session_factory,
        uid,
        type="short",
        options=None,
        correct_index=None,
        stem="What does the mitochondrion do?",
        answer="It makes ATP by aerobic respiration.",
        key_points=["makes ATP", "aerobic respiration", "inner membrane"],
    )
    good = answer(
        runtime, uid, q, response="It produces energy: makes ATP through aerobic respiration."
    )
    assert good.correct and good.grader == "keypoints"
    assert "2 of 3" in good.reason and "inner membrane" in good.reason
    poor = answer(runtime, uid, q, response="It stores DNA.", now=NOW + dt.timedelta(days=1))
    assert not poor.correct and "0 of 3" in poor.reason


def test_short_answer_graded_by_the_grading_model(runtime, make_user, llm_stub):
    uid = make_user()
    s = llm_stub.settings_for(runtime.settings)
    q = add_question(
        runtime.session_factory,
        uid,
        type="short",
        options=None,
        correct_index=None,
        stem="What does the mitochondrion do?",
        answer="It makes ATP.",
        key_points=["makes ATP"],
    )
    llm_stub.script(
        Reply(content='{"correct": true, "score": 0.9, "reason": "Names ATP production."}')
    )
    result = answer(runtime, uid, q, response="Energy currency synthesis", settings=s)
    assert result.correct and result.grader == "llm" and result.reason == "Names ATP production."
    body = llm_stub.chat_requests[-1]["body"]
    prompt = body["messages"][-1]["content"]
    assert "makes ATP" in prompt and "Energy currency synthesis" in prompt
    assert "aerobic respiration" in prompt  # the source excerpt
    # A model that answers nonsense: graded offline, and the reason says so.
    llm_stub.script(Reply(content="I think it is fine"))
    fallback = answer(
        runtime, uid, q, response="It makes ATP", settings=s, now=NOW + dt.timedelta(days=1)
    )
    assert fallback.grader == "keypoints" and fallback.correct
    assert "Graded offline" in fallback.reason


def test_dispute_rescores_the_attempt_xp_and_schedule(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    answer(runtime, uid, qid, response=1, confidence=4)
    wrong = answer(runtime, uid, qid, response=2, confidence=4, now=NOW + dt.timedelta(days=1))
    assert not wrong.correct and wrong.next_due_at == NOW + dt.timedelta(days=2)
    xp_before = profile(runtime, uid).xp
    fixed = dispute_attempt(
        runtime, user_id=uid, attempt_id=wrong.attempt_id, note="Golgi also counts"
    )
    assert fixed.correct and fixed.disputed and "disputed" in fixed.reason
    assert fixed.xp_earned == 25 and profile(runtime, uid).xp == xp_before + 15
    # Re-scored as a pass: second SM-2 repetition, 6 days from that review.
    assert fixed.next_due_at == NOW + dt.timedelta(days=7)
    with runtime.session_factory() as s:
        att = s.get(Attempt, wrong.attempt_id)
        rs = s.scalars(select(ReviewState)).one()
    assert (att.quality, att.rating, att.dispute_note) == (5, 4, "Golgi also counts")
    assert (rs.lapses, rs.sm2_repetitions) == (0, 2)
    with pytest.raises(InvalidInput, match="already"):
        dispute_attempt(runtime, user_id=uid, attempt_id=wrong.attempt_id)


def test_flag_wrong_takes_the_question_out_at_once_and_keep_brings_it_back(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    answer(runtime, uid, qid, now=NOW - dt.timedelta(days=2))
    assert build_queue(runtime, user_id=uid, now=NOW).due_now == 1
    out = flag_question(
        runtime, user_id=uid, question_id=qid, reason="wrong", note="Option B is also right"
    )
    assert out.status == "flagged"
    queue = build_queue(runtime, user_id=uid, now=NOW)
    assert queue.due_now == 0 and queue.entries == []
    with pytest.raises(QuestionUnavailable):
        answer(runtime, uid, qid)
    attention = needs_attention(runtime, user_id=uid)
    assert [(a.question_id, a.status, a.open_flags) for a in attention] == [
        (qid, "flagged", [("wrong", "Option B is also right")])
    ]
    keep_question(runtime, user_id=uid, question_id=qid)
    assert build_queue(runtime, user_id=uid, now=NOW).due_now == 1
    assert needs_attention(runtime, user_id=uid) == []


def test_other_flags_retire_a_question_past_ten_percent(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    for day in range(10):
        answer(
            runtime,
            uid,
            qid,
            response=day % 2,
            confidence=3,
            seconds=90,
            now=NOW + dt.timedelta(days=30 * day),
        )
    first = flag_question(runtime, user_id=uid, question_id=qid, reason="unclear")
    assert first.status == "active"  # 1 in 10 is not above 10%
    second = flag_question(runtime, user_id=uid, question_id=qid, reason="duplicate")
    assert second.status == "retired"
    assert [a.status for a in needs_attention(runtime, user_id=uid)] == ["retired"]


def test_quality_score_is_kept_up_to_date(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    for day in range(4):
        answer(runtime, uid, qid, now=NOW + dt.timedelta(days=30 * day))
    with runtime.session_factory() as s:
        assert s.get(Question, qid).quality_score is None  # unrated below 5 attempts
    # Everyone right, fast, confident: success 0, time 30/60, calibration 1, no flags.
    answer(runtime, uid, qid, now=NOW + dt.timedelta(days=200))
    with runtime.session_factory() as s:
        assert s.get(Question, qid).quality_score == pytest.approx(0.3 * 0.5 + 0.2 * 0.9375 + 0.1)


def test_low_quality_question_is_retired(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    for day in range(5):  # always wrong, instantly, with full confidence
        answer(
            runtime, uid, qid, response=0, confidence=5, seconds=1, now=NOW + dt.timedelta(days=day)
        )
    with runtime.session_factory() as s:
        q = s.get(Question, qid)
        assert q.status == "retired" and q.quality_score < 0.3
        assert s.scalars(select(ReviewState)).one().suspended


def test_counts_by_time_and_material(runtime, make_user):
    uid = make_user()
    a = add_question(runtime.session_factory, uid, material_title="Cells")
    b = add_question(runtime.session_factory, uid, material_title="Cells")
    c = add_question(runtime.session_factory, uid, material_title="Genes")
    add_question(runtime.session_factory, uid, material_title="Genes")
    answer(runtime, uid, a, now=NOW - dt.timedelta(days=2))  # due 1 day ago
    answer(runtime, uid, b, now=NOW - dt.timedelta(hours=20))  # due in 4 hours (today)
    answer(runtime, uid, c, now=NOW, confidence=4)  # due tomorrow (this week)
    counts = review_counts(runtime, user_id=uid, now=NOW)
    assert (
        counts.due_now,
        counts.due_today,
        counts.due_week,
        counts.scheduled,
        counts.new_available,
        counts.scheduler,
    ) == (1, 2, 3, 3, 1, "sm2")
    assert [(m.material_title, m.due_now, m.due_week, m.scheduled) for m in counts.by_material] == [
        ("Cells", 1, 2, 2),
        ("Genes", 0, 1, 1),
    ]
    assert counts.next_due_at == NOW + dt.timedelta(hours=4)


def test_switching_scheduler_moves_due_dates_and_keeps_both_states(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    answer(runtime, uid, qid, confidence=3)  # SM-2: 1 day; FSRS: a 10-minute learning step
    with runtime.session_factory() as s:
        rs = s.scalars(select(ReviewState)).one()
    assert rs.due_at == rs.sm2_due_at == NOW + dt.timedelta(days=1)
    assert rs.fsrs_due_at == NOW + dt.timedelta(minutes=10)
    set_scheduler(runtime, user_id=uid, scheduler="fsrs")
    counts = review_counts(runtime, user_id=uid, now=NOW + dt.timedelta(minutes=11))
    assert counts.scheduler == "fsrs" and counts.due_now == 1
    r = answer(runtime, uid, qid, confidence=3, now=NOW + dt.timedelta(minutes=11))
    with runtime.session_factory() as s:
        rs = s.scalars(select(ReviewState)).one()
        att = s.scalars(select(Attempt).order_by(Attempt.id.desc())).first()
    assert att.scheduler == "fsrs" and r.next_due_at == rs.fsrs_due_at == rs.due_at
    assert rs.fsrs_state == 2  # graduated to Review
    set_scheduler(runtime, user_id=uid, scheduler="sm2")
    with runtime.session_factory() as s:
        assert s.scalars(select(ReviewState)).one().due_at == rs.sm2_due_at
    with pytest.raises(InvalidInput):
        set_scheduler(runtime, user_id=uid, scheduler="leitner")


def test_streak_follows_the_learners_time_zone(runtime, make_user):
    uid = make_user()
    with runtime.session_factory.begin() as s:
        s.get(Profile, uid).timezone = "Asia/Tokyo"
    qid = add_question(runtime.session_factory, uid)
    # 23:00 and 16:00 UTC the next day are two Tokyo days apart by one (08:00 and 01:00 JST).
    answer(runtime, uid, qid, now=dt.datetime(2026, 5, 4, 23, 0, tzinfo=dt.UTC))
    answer(runtime, uid, qid, now=dt.datetime(2026, 5, 5, 16, 0, tzinfo=dt.UTC))
    p = profile(runtime, uid)
    assert (p.streak, p.last_activity_date) == (2, dt.date(2026, 5, 6))


def test_personal_fsrs_parameters_need_enough_history(runtime, make_user):
    from engine.errors import NotEnoughHistory

    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    answer(runtime, uid, qid)
    with pytest.raises(NotEnoughHistory, match="400"):
        optimise_fsrs(runtime, user_id=uid)
    info = scheduler_info(runtime, user_id=uid)
    assert (info.reviews, info.personal, info.min_reviews) == (1, False, 400)


def test_personal_fsrs_parameters_adopted_only_when_better_on_held_back_answers(runtime, make_user):
    from engine.db.models import SchedulerParameters
    from engine.scheduling import fsrs6

    uid = make_user()
    s = runtime.settings.replace(fsrs_optimise_min_reviews=50)
    qids = [add_question(runtime.session_factory, uid) for _ in range(16)]
    at = NOW
    for round_ in range(10):  # mostly remembered after 3 days
        for i, qid in enumerate(qids):
            answer(
                runtime,
                uid,
                qid,
                response=1 if (i + round_) % 10 else 0,
                settings=s,
                now=at + dt.timedelta(minutes=i),
            )
        at += dt.timedelta(days=3)
    a = fsrs6.DEFAULT_FSRS_PARAMETERS
    b = (0.01, 0.01, 0.01, 0.01, *fsrs6.DEFAULT_FSRS_PARAMETERS[4:])
    seen = []

    def run(current, candidate):
        with runtime.session_factory.begin() as session:
            row = session.get(SchedulerParameters, uid)
            if row is None:
                session.add(
                    SchedulerParameters(
                        user_id=uid, parameters=list(current), adopted=True, n_reviews=0
                    )
                )
            else:
                row.parameters, row.adopted = list(current), True
        return optimise_fsrs(
            runtime.with_settings(s),
            user_id=uid,
            fit=lambda train: seen.append(len(train)) or candidate,
        )

    first = run(a, b)
    second = run(b, a)
    assert seen == [128, 128]  # fitted on the earlier 80% of 160 answers only
    # The same two parameter sets, compared on the same held-back answers: exactly one way
    # round adopts the candidate, and it is the one with the lower log loss.
    assert first.current_log_loss == pytest.approx(second.candidate_log_loss)
    assert first.adopted != second.adopted
    winner = first if first.adopted else second
    assert winner.candidate_log_loss < winner.current_log_loss
    loser = second if first.adopted else first
    assert "kept the current parameters" in loser.message
    with runtime.session_factory() as session:
        stored = tuple(session.get(SchedulerParameters, uid).parameters)
    assert stored == (a if second.adopted else b)  # the last run's decision is what is used
    assert scheduler_info(runtime.with_settings(s), user_id=uid).personal


def test_replace_makes_a_new_question_from_the_same_passage_keeping_the_schedule(
    runtime, make_user
):
    from tests.support.generation_data import BIOLOGY, add_material

    uid = make_user()
    material_id, chunk_ids = add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    qid = add_question(
        runtime.session_factory,
        uid,
        source_chunk_id=chunk_ids[0],
        material_id=material_id,
        material_title="Biology notes",
    )
    answer(runtime, uid, qid, now=NOW - dt.timedelta(days=8))
    answer(runtime, uid, qid, now=NOW - dt.timedelta(days=7))  # SM-2: n=2, due in 6 days
    flag_question(runtime, user_id=uid, question_id=qid, reason="wrong")
    with runtime.session_factory() as s:
        before = s.scalars(select(ReviewState)).one()
    new_id = replace_question(runtime, user_id=uid, question_id=qid)
    with runtime.session_factory() as s:
        old, new = s.get(Question, qid), s.get(Question, new_id)
        after = s.scalars(select(ReviewState)).one()
        flag = s.scalars(select(Flag)).one()
    assert (old.status, new.status, new.replaces_question_id) == ("retired", "active", qid)
    assert new.source_chunk_id == chunk_ids[0] and new.stem != old.stem
    assert after.question_id == new_id and not after.suspended
    assert (after.reviews, after.sm2_repetitions, after.sm2_interval_days, after.due_at) == (
        before.reviews,
        before.sm2_repetitions,
        before.sm2_interval_days,
        before.due_at,
    )
    assert flag.resolution == "replaced"
    queue = build_queue(runtime, user_id=uid, now=NOW)
    assert [(e.question_id, e.kind, e.reviews) for e in queue.entries] == [(new_id, "review", 2)]
    right = new.correct_index if new.type == "mcq" else new.answer
    nxt = answer(runtime, uid, new_id, right, now=NOW)
    assert nxt.next_due_at == NOW + dt.timedelta(days=16)  # round(6 x 2.7): history kept
    assert needs_attention(runtime, user_id=uid) == []
    with pytest.raises(InvalidInput, match="already replaced"):
        replace_question(runtime, user_id=uid, question_id=qid)


def test_grading_model_down_falls_back_to_offline_grading(runtime, make_user, llm_stub):
    from tests.support.llm_stub import server_error

    uid = make_user()
    s = llm_stub.settings_for(runtime.settings)
    q = add_question(
        runtime.session_factory,
        uid,
        type="short",
        options=None,
        correct_index=None,
        stem="What does the mitochondrion do?",
        answer="It makes ATP.",
        key_points=["makes ATP"],
    )
    llm_stub.script(server_error(), server_error(), server_error())
    result = answer(runtime, uid, q, response="It makes ATP", settings=s)
    assert result.correct and result.grader == "keypoints"
    assert "Graded offline: the grading model was unavailable." in result.reason
    assert len(llm_stub.chat_requests) == 3  # the first try and the configured two retries
    assert count(runtime, Attempt) == 1


def test_a_reasked_question_shows_its_options_in_a_new_order_mapped_to_the_stored_answer(
    runtime, make_user
):
    uid = make_user()
    options = ["Nucleus", "Mitochondrion", "Ribosome", "Golgi body"]
    qid = add_question(runtime.session_factory, uid, options=options, correct_index=1)
    orders = []
    for day in range(6):
        shown = get_practice_question(runtime, user_id=uid, question_id=qid)
        # The same showing (a page rerun) keeps its order.
        assert get_practice_question(runtime, user_id=uid, question_id=qid) == shown
        assert sorted(shown.options) == sorted(options)
        orders.append(tuple(shown.options))
        right = shown.options.index("Mitochondrion")
        result = answer(
            runtime,
            uid,
            qid,
            response=shown.option_index(right),
            now=NOW + dt.timedelta(days=30 * day),
        )
        assert result.correct and result.your_answer == "Mitochondrion"
    assert len(set(orders)) > 1  # asked again, the options moved
