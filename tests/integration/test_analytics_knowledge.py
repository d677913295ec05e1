"""Schedule-based charts, coverage, readiness, quality and exports against a seeded database,
with expected values computed by hand (predicted recall from the `fsrs` package itself), and
isolation: nothing of another learner reaches any chart or export."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sqlite3
import tempfile
import zipfile

import pandas as pd
import pytest
from fsrs import Card, Scheduler, State
from sqlalchemy import update

from engine import analytics
from engine.analytics import anki, export, knowledge
from engine.db.models import Attempt, Flag
from engine.errors import InvalidInput, NotFound
from engine.practice.submit import submit_answer
from tests.support.analytics import (
    add_attempt,
    add_material,
    add_state,
    add_usage,
    set_profile,
    utc,
)
from tests.support.practice import add_question, token

NOW = utc(2026, 6, 15, 12)
DAY = dt.timedelta(days=1)


def recall(days: int, stability: float) -> float:
    """The fsrs package's own retrievability after whole `days` (an independent oracle)."""
    card = Card(
        card_id=1,
        state=State.Review,
        stability=stability,
        difficulty=5.0,
        due=NOW,
        last_review=NOW - days * DAY,
    )
    return float(Scheduler().get_card_retrievability(card, NOW))


@pytest.fixture
def learner(runtime, make_user):
    rt = runtime
    sf = rt.session_factory
    uid = make_user()
    mid = add_material(sf, uid, "Cell <b>Biology</b>", pages=3)
    common = {"material_id": mid, "material_title": "Cell <b>Biology</b>"}
    q = {
        1: add_question(
            sf, uid, page_start=1, page_end=1, quality_score=0.3, topic="atp", **common
        ),
        2: add_question(sf, uid, page_start=1, page_end=2, topic="atp", **common),
        3: add_question(
            sf,
            uid,
            page_start=2,
            page_end=2,
            quality_score=0.8,
            type="cloze",
            options=None,
            correct_index=None,
            stem="ATP is made in the _____.",
            answer="mitochondrion",
            topic="cells",
            **common,
        ),
        4: add_question(sf, uid, page_start=3, page_end=3, status="flagged", **common),
        5: add_question(sf, uid, page_start=3, page_end=3, status="retired", **common),
    }
    add_state(
        sf,
        uid,
        q[1],
        last=NOW - 2 * DAY,
        due=NOW + 3 * DAY,
        stability=10,
        difficulty=4.2,
        easiness=2.5,
    )
    add_state(
        sf,
        uid,
        q[2],
        last=NOW - 30 * DAY,
        due=NOW - DAY,
        stability=40,
        difficulty=7.9,
        easiness=2.36,
    )
    add_state(
        sf, uid, q[4], last=NOW - DAY, due=NOW + 5 * DAY, stability=5, difficulty=3, suspended=True
    )
    with rt.session_factory.begin() as s:
        s.add(Flag(user_id=uid, question_id=q[4], reason="unclear", note="?"))
    add_attempt(sf, uid, q[1], NOW - 2 * DAY)
    add_usage(sf, uid, NOW - DAY, "openai/gpt-4o-mini", 0.01)
    scope = analytics.make_scope(rt, user_id=uid, now=NOW)
    return rt, scope, q, mid


@pytest.fixture
def other(runtime, make_user):
    """Another learner with data in every table."""
    rt = runtime
    sf = rt.session_factory
    uid = make_user()
    mid = add_material(sf, uid, "Other's secret", pages=7)
    qid = add_question(
        sf,
        uid,
        material_id=mid,
        material_title="Other's secret",
        stem="Secret question?",
        topic="atp",
        quality_score=0.1,
    )
    add_state(sf, uid, qid, last=NOW - DAY, due=NOW, stability=2, difficulty=5)
    for i in range(5):
        add_attempt(
            sf, uid, qid, NOW - (i + 1) * DAY, number=i + 1, prev=NOW - (i + 2) * DAY if i else None
        )
    add_usage(sf, uid, NOW - DAY, "secret/model", 9.0)
    return uid, qid, mid


def test_card_counts_future_due_and_intervals(learner):
    rt, scope, _, _ = learner
    counts = knowledge.card_counts(rt, scope)
    assert dict(zip(counts["kind"], counts["questions"])) == {
        "new": 1,
        "learning": 0,
        "young": 1,
        "mature": 1,
        "flagged": 1,
        "retired": 1,
    }
    due = knowledge.future_due(rt, scope)
    # The overdue question counts on today; the other in 3 days. Suspended ones are left out.
    assert list(zip(due["day"], due["due"])) == [
        (dt.date(2026, 6, 15), 1),
        (dt.date(2026, 6, 18), 1),
    ]
    assert list(due["cumulative"]) == [1, 2]
    assert due["daily_load"].iloc[0] == pytest.approx(1 / 5 + 1 / 29)
    iv = knowledge.intervals(rt, scope)
    assert list(zip(iv["interval_days"], iv["questions"])) == [(5, 1), (29, 1)]
    assert list(iv["cumulative_share"]) == [0.5, 1.0]


def test_scheduler_distributions_and_knowledge(learner, runtime):
    rt, scope, _, _ = learner
    sm2 = knowledge.scheduler_distribution(rt, scope)
    assert list(zip(sm2["metric"], sm2["value"], sm2["questions"])) == [
        ("easiness", 2.4, 1),
        ("easiness", 2.5, 1),
    ]
    set_profile(rt.session_factory, scope.user_id, scheduler="fsrs")
    fsrs_scope = analytics.make_scope(rt, user_id=scope.user_id, now=NOW)
    got = knowledge.scheduler_distribution(rt, fsrs_scope)
    rows = {(m, v): n for m, v, n in zip(got["metric"], got["value"], got["questions"])}
    r1, r2 = recall(2, 10), recall(30, 40)
    assert rows == {
        ("difficulty", 4.0): 1,
        ("difficulty", 7.0): 1,
        ("stability", 8.0): 1,
        ("stability", 32.0): 1,
        ("retrievability", min(int(r1 * 20) / 20, 0.95)): 1,
        ("retrievability", min(int(r2 * 20) / 20, 0.95)): 1,
    }
    kn = knowledge.knowledge(rt, scope).iloc[0]
    assert kn["reviewed"] == 2
    assert kn["knowledge"] == pytest.approx(r1 + r2, rel=1e-9)
    assert kn["mean_recall"] == pytest.approx((r1 + r2) / 2, rel=1e-9)


def test_coverage_and_page_questions(learner):
    rt, scope, q, mid = learner
    cov = knowledge.coverage(rt, scope)
    assert list(cov["page"]) == [1, 2, 3]
    assert list(cov["questions"]) == [2, 2, 1]  # the retired question is left out
    assert list(cov["reviewed"]) == [2, 1, 1]
    r1, r2, r4 = recall(2, 10), recall(30, 40), recall(1, 5)
    assert list(cov["mastery"]) == pytest.approx([(r1 + r2) / 2, r2, r4])
    listed = knowledge.page_questions(rt, scope, material_id=mid, page=2)
    assert list(listed["question_id"]) == [q[3], q[2]]  # never reviewed first
    assert pd.isna(listed["recall"].iloc[0])


def test_readiness_projection(learner, runtime):
    rt, scope, _, _ = learner
    assert knowledge.readiness(rt, scope).empty  # no exam date
    set_profile(rt.session_factory, scope.user_id, exam_date=dt.date(2026, 6, 25))
    scope = analytics.make_scope(rt, user_id=scope.user_id, now=NOW)
    got = knowledge.readiness(rt, scope).iloc[0]
    exam = utc(2026, 6, 25, 9)  # 09:00 on the exam day (UTC learner)
    # q1: due in 3 days, interval 5 days: reviewed on the 18th and the 23rd, then 2 d 21 h.
    since1 = (exam - (NOW + 3 * DAY)) % (5 * DAY)
    # q2: overdue, treated as due now with its 30-day interval: not due again before the exam.
    since2 = exam - NOW
    decay, factor = scope.decay, scope.factor
    expected = sum(
        (1 + factor * (s / DAY) / stab) ** decay for s, stab in ((since1, 10), (since2, 40))
    )
    assert (got["questions"], got["reviewed"]) == (3, 2)  # active only; q3 never answered
    assert got["expected_recalled"] == pytest.approx(expected)
    assert got["readiness"] == pytest.approx(expected / 3)


def test_question_quality_lists_weakest_then_flagged_and_retired(learner):
    rt, scope, q, _ = learner
    got = knowledge.question_quality(rt, scope)
    assert list(got["question_id"]) == [q[1], q[3], q[4], q[5]]
    assert list(got["status"]) == ["active", "active", "flagged", "retired"]
    assert list(got["open_flags"]) == [0, 0, 1, 0]


def test_csv_exports_round_trip(learner):
    rt, scope, q, _ = learner
    uid = scope.user_id
    for what, count in (("attempts", 1), ("review_states", 3), ("questions", 5)):
        data = export.csv_bytes(rt, user_id=uid, what=what)
        back = pd.read_csv(io.BytesIO(data))
        direct = export.EXPORTS[what](rt, user_id=uid)
        assert len(back) == count and list(back.columns) == list(direct.columns)
    back = pd.read_csv(io.BytesIO(export.csv_bytes(rt, user_id=uid, what="questions")))
    assert list(back["id"]) == sorted(q.values())
    assert json.loads(back.loc[back["id"] == q[1], "options"].iloc[0])[1] == "Mitochondrion"
    assert back.loc[back["id"] == q[1], "material_title"].iloc[0] == "Cell <b>Biology</b>"
    states = pd.read_csv(
        io.BytesIO(export.csv_bytes(rt, user_id=uid, what="review_states")),
        parse_dates=["last_reviewed_at"],
    )
    assert states["last_reviewed_at"].min() == pd.Timestamp(NOW - 30 * DAY)


def test_csv_exports_write_formula_like_text_as_text(runtime, make_user):
    """A stem, title or answer that starts a spreadsheet formula is exported with a leading
    quote; numbers stay numbers."""
    rt, uid = runtime, make_user()
    mid = add_material(rt.session_factory, uid, '=HYPERLINK("http://evil.example")', pages=2)
    qid = add_question(
        rt.session_factory,
        uid,
        stem="=2+5",
        topic="@SUM(A1)",
        material_id=mid,
        material_title='=HYPERLINK("http://evil.example")',
        answer="-2+3",
        type="short",
        options=[],
        correct_index=None,
    )
    submit_answer(
        rt,
        user_id=uid,
        question_id=qid,
        token=token(),
        response="+1+cmd",
        confidence=3,
        seconds=10,
        expected_reviews=0,
    )
    with rt.session_factory.begin() as s:
        s.execute(update(Attempt).where(Attempt.user_id == uid).values(dispute_note="\t=1"))
    questions = pd.read_csv(io.BytesIO(export.csv_bytes(rt, user_id=uid, what="questions")))
    assert questions.loc[0, "stem"] == "'=2+5" and questions.loc[0, "topic"] == "'@SUM(A1)"
    assert questions.loc[0, "answer"] == "'-2+3"
    assert questions.loc[0, "material_title"] == '\'=HYPERLINK("http://evil.example")'
    assert questions.loc[0, "difficulty"] == 3  # a number, written as one
    attempts = pd.read_csv(io.BytesIO(export.csv_bytes(rt, user_id=uid, what="attempts")))
    assert attempts.loc[0, "response"] == "'+1+cmd"
    assert attempts.loc[0, "dispute_note"] == "'\t=1"


def read_apkg(data: bytes) -> tuple[dict, list[tuple]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert "collection.anki2" in z.namelist() and "media" in z.namelist()
        raw = z.read("collection.anki2")
    with tempfile.NamedTemporaryFile(suffix=".anki2", delete=False) as f:
        f.write(raw)
    con = sqlite3.connect(f.name)
    try:
        models = json.loads(con.execute("SELECT models FROM col").fetchone()[0])
        notes = con.execute("SELECT guid, mid, flds, tags FROM notes ORDER BY id").fetchall()
        assert con.execute("SELECT count(*) FROM cards").fetchone()[0] == len(notes)
    finally:
        con.close()
        os.unlink(f.name)
    return models, notes


def test_apkg_is_a_valid_anki_package_with_stable_guids(learner):
    rt, scope, q, mid = learner
    uid = scope.user_id
    data, n = anki.export_apkg(rt, user_id=uid, selection=anki.Selection())
    assert n == 4  # retired left out
    models, notes = read_apkg(data)
    names = {m["name"]: m for m in models.values()}
    assert set(names) == {"Groundwork Q&A", "Groundwork Cloze"}
    assert names["Groundwork Cloze"]["type"] == 1
    by_id = {
        int(flds.split("\x1f")[-1]): (guid, mid_, flds.split("\x1f"), tags)
        for guid, mid_, flds, tags in notes
    }
    assert set(by_id) == {q[1], q[2], q[3], q[4]}
    _guid, model_id, fields, tags = by_id[q[3]]
    assert str(model_id) == str(names["Groundwork Cloze"]["id"])
    assert fields[0] == "ATP is made in the {{c1::mitochondrion}}."
    assert "material::Cell_b_Biology_b" in tags.split() and "topic::cells" in tags.split()
    guid1, _, fields1, _ = by_id[q[1]]
    assert "Mitochondrion" in fields1[1]
    assert fields1[3] == "The mitochondrion is the site of aerobic respiration."
    assert fields1[4] == "Cell &lt;b&gt;Biology&lt;/b&gt;, p. 1"  # escaped: Anki shows HTML
    assert guid1 == anki.note_guid(uid, q[1])
    # A re-export (here of one topic) keeps each question's guid.
    again, n2 = anki.export_apkg(rt, user_id=uid, selection=anki.Selection(topic="atp"))
    _, notes2 = read_apkg(again)
    assert n2 == 2 and {g for g, *_ in notes2} == {by_id[q[1]][0], by_id[q[2]][0]}
    _per_material, n3 = anki.export_apkg(rt, user_id=uid, selection=anki.Selection(material_id=mid))
    assert n3 == 4
    with pytest.raises(InvalidInput):
        anki.export_apkg(rt, user_id=uid, selection=anki.Selection(topic="nothing"))


def test_apkg_list_cloze_has_one_deletion_per_blank(runtime, make_user):
    rt = runtime
    uid = make_user()
    qid = add_question(
        rt.session_factory,
        uid,
        type="cloze",
        form="list",
        options=None,
        correct_index=None,
        answer="JavaScript; Python; Ruby",
        stem="Scripting languages such as _____, _____, and _____ are interpreted.",
    )
    data, n = anki.export_apkg(rt, user_id=uid, selection=anki.Selection())
    assert n == 1
    with zipfile.ZipFile(io.BytesIO(data)) as z, tempfile.TemporaryDirectory() as d:
        con = sqlite3.connect(z.extract("collection.anki2", d))
        try:
            (flds,) = con.execute("SELECT flds FROM notes").fetchone()
            # Anki makes one card per deletion: one per blank.
            cards = con.execute("SELECT ord FROM cards ORDER BY ord").fetchall()
        finally:
            con.close()
    fields = flds.split("\x1f")
    assert int(fields[-1]) == qid
    assert fields[0] == (
        "Scripting languages such as {{c1::JavaScript}}, {{c2::Python}}, "
        "and {{c3::Ruby}} are interpreted."
    )
    assert cards == [(0,), (1,), (2,)]


def test_cloze_answers_pair_blanks_in_order():
    assert anki.cloze_answers("a _____ b", "x; y") == ["x; y"]
    assert anki.cloze_answers("_____ and _____", "x; y; z") == ["x", "y; z"]
    assert anki.cloze_answers("_____ and _____", "x") == ["x"]


def test_nothing_of_another_learner_in_any_chart_or_export(learner, other, runtime):
    rt, scope, q, mid = learner
    _other_uid, other_qid, other_mid = other
    data = analytics.page_data(rt, scope)
    assert set(data) == set(analytics.CHARTS)
    assert int(data["card_counts"]["questions"].sum()) == 5
    assert set(data["coverage"]["material_id"]) == {mid}
    assert int(data["calendar"]["answers"].sum()) == 1
    assert int(data["hourly"]["answers"].sum()) == 1
    assert int(data["calibration"]["answers"].sum()) == 1
    assert int(data["time_per_question"]["answers"].sum()) == 1
    assert int(data["outcomes_by_type"]["answers"].sum()) == 1
    assert int(data["xp_progress"]["xp"].sum()) == 10
    assert int(data["streak"]["active_days"].iloc[0]) == 1
    assert int(data["true_retention"]["total"].max()) == 0
    assert int(data["future_due"]["due"].sum()) == 2
    assert int(data["intervals"]["questions"].sum()) == 2
    assert int(data["knowledge"]["reviewed"].iloc[0]) == 2
    assert other_qid not in set(data["question_quality"]["question_id"])
    assert set(data["model_usage"]["model"]) == {"openai/gpt-4o-mini"}
    for frame in data.values():
        assert "Other's secret" not in frame.to_csv()
    for what in export.EXPORTS:
        text = export.csv_bytes(rt, user_id=scope.user_id, what=what).decode()
        assert "Secret question?" not in text and "Other's secret" not in text
    apkg, _ = anki.export_apkg(rt, user_id=scope.user_id, selection=anki.Selection(topic="atp"))
    _, notes = read_apkg(apkg)
    assert {int(f.split("\x1f")[-1]) for _, _, f, _ in notes} == {q[1], q[2]}
    assert other_qid not in {int(f.split("\x1f")[-1]) for _, _, f, _ in notes}
    assert knowledge.page_questions(rt, scope, material_id=other_mid, page=1).empty
    with pytest.raises(NotFound):
        analytics.make_scope(rt, user_id=scope.user_id, material_id=other_mid)
    with pytest.raises(InvalidInput):
        anki.export_apkg(rt, user_id=scope.user_id, selection=anki.Selection(material_id=other_mid))


def test_date_range_must_be_ordered(learner, runtime):
    rt, scope, _, _ = learner
    with pytest.raises(InvalidInput, match="ends before it starts"):
        analytics.make_scope(
            rt, user_id=scope.user_id, start=dt.date(2026, 6, 2), end=dt.date(2026, 6, 1)
        )
